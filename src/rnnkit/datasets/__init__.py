"""Data sets for the tasks, as plain NumPy arrays. Everything is read from files shipped in the
package (``rnnkit/data/<name>/``, each with its SOURCE.md: origin, license, counts) or generated;
nothing is downloaded. Randomness only through an explicit seed or ``np.random.Generator``.

One module per data set:

=====================  ==========================================================  ==================
module                 what                                                        x shape
=====================  ==========================================================  ==================
echo                   output the previous input (ai-edu ch19 files + generator)   (N, 2, 1)
binary_subtraction     a - b on 4-bit numbers, LSB first, all 136 pairs             (136, 4, 2)
hello                  "hell" -> "ello" next-character data                         (1, 4, V)
pm25                   Beijing PM2.5 windows from the raw UCI CSV                   (N, T, 6)
names                  surname -> language, 18 or ai-edu's 10 languages            (B, T, V) one-hot
mnist                  digits as 28 rows of 28 pixels (5k train, 10k test)          (N, 28, 28)
sentiment              UCI labelled sentences, word indices                         (B, T)
polyphonic             JSB Chorales / Nottingham piano rolls                        (B, T, 88)
=====================  ==========================================================  ==================

Shape letters: B batch, T time steps, F features, C classes, V vocabulary.
"""

from rnnkit.datasets import binary_subtraction, echo, hello, mnist, names, pm25, polyphonic, sentiment

__all__ = ["binary_subtraction", "echo", "hello", "mnist", "names", "pm25", "polyphonic", "sentiment"]
