"""Binary subtraction a - b (notes seed 002, "13 - 6 = 7"): many-to-many, one output bit per step.

Data: all 136 pairs 0 <= b <= a <= 15, bits least significant first (``rnnkit.datasets.
binary_subtraction``). The task IS the whole table (the notes train and test on the same 136
pairs and ask for every bit right), so train, validation and test are all 136 pairs.
Model: SimpleRNN / LSTM / GRU (4 hidden units in the notes) -> Dense(1) per step, binary
cross-entropy. Metrics: bit accuracy and ``numbers`` (share of pairs with all 4 bits right).
"""

from __future__ import annotations

import re

import numpy as np

from rnnkit import Sequential
from rnnkit.datasets import binary_subtraction as bs
from rnnkit.layers import Dense
from rnnkit.tasks.base import HParams, Split, Task, TaskData, sequential_layers

_PAIR = re.compile(r"^\s*(\d+)\s*[-, ]\s*(\d+)\s*$")


def _parse(text: str) -> tuple[int, int]:
    m = _PAIR.match(text)
    if not m or not (0 <= int(m[2]) <= int(m[1]) <= 15):
        raise ValueError(f"binary-subtraction input must be 'a-b' with 0 <= b <= a <= 15, got {text!r}")
    return int(m[1]), int(m[2])


class BinarySubtraction(Task):
    name = "binary-subtraction"
    pattern = "many-to-many binary, 4 steps, LSB first"
    data = "generated: all pairs of 4-bit numbers"
    size = "136 pairs (train = test, as in the notes); T = 4, F = 2"
    kind = "binary"
    reference = "notes: 100 % of bits right (4 hidden units)"
    predict_example = ("13-6",)
    monitor = "val_loss"

    def defaults(self, options):
        return dict(cell="rnn", hidden=8, epochs=150, batch_size=8, lr=2e-2, clipnorm=None)

    def load(self, options, seed=0):
        x, y = bs.generate(4)
        split = Split(x.astype(np.float32), y[..., None].astype(np.float32))
        return TaskData(split, split, split, {"input_shape": [4, 2]})

    def build_model(self, hp: HParams, meta):
        model = Sequential(sequential_layers(hp, Dense(1), return_sequences=True), seed=hp.seed,
                           dtype=np.float32, input_shape=tuple(meta["input_shape"]))
        return self.compile(model, hp, "binary_crossentropy", ["accuracy"])

    def evaluate(self, model, data, split="test"):
        part = self.split(data, split)
        logs = model.evaluate(part.x, part.y)
        right = (model.predict(part.x) > 0) == (part.y > 0.5)  # (N, 4, 1)
        logs["numbers"] = float(right.all(axis=(1, 2)).mean())
        return logs

    def encode_inputs(self, inputs, meta):
        pairs = np.array([_parse(s) for s in inputs])
        x = np.stack([bs.bits(pairs[:, 0]), bs.bits(pairs[:, 1])], axis=-1).astype(np.float32)
        return x, None

    def decode_outputs(self, outputs, inputs, meta, top_k=3):
        lines = []
        for s, out in zip(inputs, outputs):
            a, b = _parse(s)
            bits = (np.asarray(out)[:, 0] > 0).astype(int)
            value = int(bs.from_bits(bits))
            mark = "right" if value == a - b else f"wrong, {a - b} expected"
            lines.append(f"{a} - {b} = {value}  (bits LSB first {''.join(map(str, bits))}; {mark})")
        return lines
