"""The adding problem (Hochreiter & Schmidhuber 1997; the variant of Le et al. 2015): a long
dependency that a plain RNN cannot learn once T is large — the demo for vanishing gradients.

Data (generated here, every split from the task seed): each step carries two features, a random
number in [0, 1] and a marker; exactly two steps are marked, one in the first half of the
sequence and one in the second. The target is the sum of the two marked numbers. The first
marked number lies at least T/2 steps before the output, so the gradient must reach back that far.

    x (N, T, 2) float32,  y (N, 1) float32,  T = `-o length=T`

Model: recurrent block -> Dense(1) on the last step, mean squared error. Predicting 1 always
gives MSE 1/6 ≈ 0.167 (the variance of the sum); "accuracy" is the share of sequences whose
prediction is within 0.04 of the target (Hochreiter & Schmidhuber's criterion).
"""

from __future__ import annotations

import re

import numpy as np

from rnnkit import Sequential
from rnnkit.layers import Dense
from rnnkit.tasks.base import HParams, Option, Split, Task, TaskData, sequential_layers

TOLERANCE = 0.04  # |prediction − target| below this counts as right
BASELINE_MSE = 1.0 / 6.0


def generate(n: int, T: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n adding-problem sequences of length T >= 2: x (n, T, 2) float32, y (n, 1) float32."""
    if T < 2:
        raise ValueError(f"the adding problem needs length >= 2, got {T}")
    x = np.zeros((n, T, 2), np.float32)
    x[:, :, 0] = rng.random((n, T))
    rows = np.arange(n)
    first = rng.integers(0, T // 2, n)
    second = rng.integers(T // 2, T, n)
    x[rows, first, 1] = 1.0
    x[rows, second, 1] = 1.0
    y = (x[rows, first, 0] + x[rows, second, 0])[:, None]
    return x, y.astype(np.float32)


def accuracy(pred: np.ndarray, y: np.ndarray) -> float:
    """Share of sequences predicted within TOLERANCE of their target."""
    return float(np.mean(np.abs(np.asarray(pred, np.float64) - y) < TOLERANCE))


class Adding(Task):
    name = "adding"
    pattern = "many-to-one regression, long dependency (vanishing gradients)"
    data = "generated: T numbers in [0, 1], two of them marked; target = their sum"
    size = "-o samples train / 1,000 val / 1,000 test; T = -o length, F = 2"
    kind = "regression"
    reference = "always predicting 1: MSE 0.167, accuracy (|error| < 0.04) 7.8 %; solved: MSE < 0.01"
    predict_example = ("0.3+0.5",)
    accuracy_counts = f"|error| < {TOLERANCE}"
    monitor = "val_loss"
    options = (
        Option("length", 50, "time steps T (the dependency reaches back at least T/2 steps)", type=int),
        Option("samples", 10_000, "training sequences", type=int),
    )

    def defaults(self, options):
        return dict(cell="lstm", hidden=32, epochs=10, batch_size=32, lr=3e-3, clipnorm=1.0)

    def load(self, options, seed=0):
        T, n = options["length"], options["samples"]
        if T < 2 or n < 1:
            raise ValueError(f"adding needs length >= 2 and samples >= 1, got length {T}, samples {n}")
        parts = [Split(*generate(size, T, np.random.default_rng([seed, 21, k]))) for k, size in
                 enumerate((n, 1000, 1000))]
        return TaskData(*parts, meta={"input_shape": [T, 2], "length": T})

    def build_model(self, hp: HParams, meta):
        model = Sequential(sequential_layers(hp, Dense(1), return_sequences=False), seed=hp.seed,
                           dtype=np.float32, input_shape=tuple(meta["input_shape"]))
        return self.compile(model, hp, "mse", ["r2"])

    def evaluate(self, model, data, split="test"):
        part = self.split(data, split)
        logs = model.evaluate(part.x, part.y)
        logs["accuracy"] = accuracy(model.predict(part.x), part.y)
        return logs

    # "0.3+0.5": a random sequence of the task's length with 0.3 and 0.5 at two marked steps
    def encode_inputs(self, inputs, meta):
        T = int(meta["length"])
        rng = np.random.default_rng(0)
        x, _ = generate(len(inputs), T, rng)
        for row, text in zip(x, inputs):
            a, b = _parse(text)
            marked = np.flatnonzero(row[:, 1])
            row[marked, 0] = (a, b)
        return x, None

    def decode_outputs(self, outputs, inputs, meta, top_k=3):
        lines = []
        for text, out in zip(inputs, outputs):
            a, b = _parse(text)
            lines.append(f"{a:g} + {b:g} = {a + b:.3f}; the model says {float(out[0]):.3f} "
                         f"(after {meta['length']} steps)")
        return lines


_PAIR = re.compile(r"^\s*([0-9.]+)\s*[+, ]\s*([0-9.]+)\s*$")


def _parse(text: str) -> tuple[float, float]:
    m = _PAIR.match(text)
    try:
        a, b = float(m[1]), float(m[2])
    except (TypeError, ValueError):
        a = b = -1.0
    if not (0 <= a <= 1 and 0 <= b <= 1):
        raise ValueError(f"adding input must be 'a+b' with two numbers in [0, 1], got {text!r}")
    return a, b
