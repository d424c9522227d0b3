"""Start-up costs: `import rnnkit`, and the first training step of a fresh process once Numba's
compile cache is warm.

Run from the repository root:

    python benchmarks/bench_startup.py            # 5 fresh processes per row, median

Each measurement is a fresh interpreter. "first step" is the layer's first forward + backward on
a (8, 20, 16) batch, i.e. Numba's import, its loading of the cached machine code and the step
itself. Numba's cache lives next to the kernel sources (`__pycache__`), so the very first run
after installing compiles instead (~10-20 s per cell family); the script does that run first and
does not count it. Rows "hidden" hide scipy from the process: Numba's start-up imports
`scipy.linalg` when scipy is installed (to find a BLAS for its own np.dot), which rnnkit
avoids (rnnkit.kernels._numba_startup); the two rows show what is left of the difference.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys

CHILD = r"""
import sys, time
if {hide_scipy}:
    sys.modules["scipy"] = None
t0 = time.perf_counter()
import numpy as np
import rnnkit
from rnnkit.layers import GRU, LSTM, SimpleRNN
t1 = time.perf_counter()
layer = dict(rnn=SimpleRNN, lstm=LSTM, gru=GRU)["{cell}"](32, return_sequences=True)
x = np.random.default_rng(0).standard_normal((8, 20, 16)).astype(np.float32)
layer.build(x.shape[1:], rng=0)
t2 = time.perf_counter()
out, cache = layer.forward(x, training=True)
layer.backward(np.ones_like(out), cache)
t3 = time.perf_counter()
print(t1 - t0, t3 - t2)
"""


def fresh_process(cell: str, hide_scipy: bool) -> tuple[float, float]:
    code = CHILD.format(cell=cell, hide_scipy=hide_scipy)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    import_s, step_s = map(float, out.split())
    return import_s, step_s


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    scipy_rows = (False, True) if importlib.util.find_spec("scipy") else (True,)
    print("| cell | scipy | import rnnkit s | first step s |")
    print("|---|---|---|---|")
    for cell in ("rnn", "lstm", "gru"):
        fresh_process(cell, False)  # fills the compile cache if it is cold
        for hide in scipy_rows:
            runs = [fresh_process(cell, hide) for _ in range(args.repeats)]
            imports, steps = zip(*runs)
            print(f"| {cell} | {'hidden' if hide else 'installed'} | {statistics.median(imports):.3f} | "
                  f"{statistics.median(steps):.3f} |", flush=True)


if __name__ == "__main__":
    main()
