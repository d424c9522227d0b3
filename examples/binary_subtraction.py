"""Seed 002's binary subtraction, 13 − 6 = 7: a many-to-many RNN reading the bits of a and b
least significant first and emitting one bit of a − b per step.

    python examples/binary_subtraction.py          # prints: bits right: 544/544 (100.0 %)
"""

from __future__ import annotations

import sys

import numpy as np

from rnnkit import Sequential
from rnnkit.layers import Dense, SimpleRNN


def data():
    a, b = np.meshgrid(np.arange(16), np.arange(16), indexing="ij")
    a, b = a[b <= a], b[b <= a]  # all 136 pairs with a ≥ b
    bits = lambda v: (v[:, None] >> np.arange(4)) & 1  # noqa: E731  LSB first: time step t = bit t
    return np.stack([bits(a), bits(b)], axis=-1).astype(np.float32), bits(a - b)[..., None]


def main(epochs: int = 60) -> float:
    x, y = data()
    model = Sequential([SimpleRNN(8, return_sequences=True), Dense(1)], seed=0)
    model.compile("adam", loss="binary_crossentropy", metrics=["accuracy"], lr=0.05)
    model.fit(x, y, epochs=epochs, batch_size=8, verbose=0)
    right = int(((model.predict(x) > 0) == y).sum())
    print(f"bits right: {right}/{y.size} ({100 * right / y.size:.1f} %)")
    return right / y.size


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
