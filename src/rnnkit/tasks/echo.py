"""Echo detection (notes seed 002): a 2-step many-to-one regression, output the first input.

Data: the ai-edu files shipped in the package (200 training, 50 test samples); 200 more samples
generated with the task seed (``rnnkit.datasets.echo.generate``) are the validation set.
Model: SimpleRNN -> Dense(1), mean squared error. Metric: R² on the test file (the notes'
"acc" is the same 1 - MSE/var(y)).
"""

from __future__ import annotations

import math

import numpy as np

from rnnkit import Sequential
from rnnkit.datasets import echo as echo_data
from rnnkit.layers import Dense
from rnnkit.tasks.base import HParams, Split, Task, TaskData, sequential_layers


def _parse_pair(text: str) -> list[float]:
    parts = text.replace(";", ",").split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 2 or not all(math.isfinite(v) for v in values):  # float() reads 'nan' and 'inf'
        raise ValueError(f"echo input must be two finite numbers 'a,b' (the two steps), got {text!r}")
    return values


class Echo(Task):
    name = "echo"
    pattern = "many-to-one regression, 2 steps"
    data = "ai-edu ch19 echo files (uniform random stream)"
    size = "200 train / 50 test (+200 generated for validation); T = 2, F = 1"
    kind = "regression"
    reference = "notes: R² 0.9526 (1 hidden unit, SGD, 100 epochs)"
    predict_example = ("0.3,0.7",)
    monitor = "val_loss"

    def defaults(self, options):
        return dict(cell="rnn", hidden=8, epochs=100, batch_size=8, lr=1e-2, clipnorm=None)

    def load(self, options, seed=0):
        x, y = echo_data.load("train")
        xv, yv = echo_data.generate(200, np.random.default_rng([seed, 11]))
        xt, yt = echo_data.load("test")
        as_split = lambda a, b: Split(a.astype(np.float32), b[:, None].astype(np.float32))  # noqa: E731
        return TaskData(as_split(x, y), as_split(xv, yv), as_split(xt, yt), {"input_shape": [2, 1]})

    def build_model(self, hp: HParams, meta):
        model = Sequential(sequential_layers(hp, Dense(1), return_sequences=False), seed=hp.seed,
                           dtype=np.float32, input_shape=tuple(meta["input_shape"]))
        return self.compile(model, hp, "mse", ["r2"])

    def encode_inputs(self, inputs, meta):
        return np.array([_parse_pair(s) for s in inputs], dtype=np.float32)[:, :, None], None

    def decode_outputs(self, outputs, inputs, meta, top_k=3):
        return [f"{s}  ->  {float(o[0]):.4f}  (the first step was {_parse_pair(s)[0]:g})"
                for s, o in zip(inputs, outputs)]
