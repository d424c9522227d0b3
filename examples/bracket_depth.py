"""Many-to-many with equal lengths: tag every step. The input is a string of brackets such as
"(()(()", and the tag of each step is the nesting depth after it: 1 2 1 2 3 2. Strings have
different lengths; id 0 pads them, and Embedding(mask_zero=True) turns the padding into each
string's length, so the loss and the accuracy count real steps only.

    python examples/bracket_depth.py               # prints the share of steps tagged right on
                                                   # 200 unseen strings, and one of them:
                                                   # held-out steps right: 1.000
                                                   # (((())  ->  1 2 3 4 3 2
"""

from __future__ import annotations

import sys

import numpy as np

from rnnkit import Sequential
from rnnkit.layers import GRU, Dense, Embedding

SYMBOLS = "()"  # id 1 is "(", id 2 is ")"; id 0 is padding
MAX_DEPTH = 4


def bracket_strings(n: int, rng: np.random.Generator) -> list[str]:
    """Random strings of 4..20 brackets whose depth stays within 0..MAX_DEPTH."""
    out = []
    for _ in range(n):
        depth, s = 0, ""
        for _ in range(rng.integers(4, 21)):
            opens = depth == 0 or (depth < MAX_DEPTH and rng.random() < 0.5)
            depth += 1 if opens else -1
            s += "(" if opens else ")"
        out.append(s)
    return out


def encode(strings: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Strings -> ids x (B, T), padded with 0, and depth tags y (B, T), 0 on padding (not counted)."""
    T = max(len(s) for s in strings)
    x, y = np.zeros((len(strings), T), np.int64), np.zeros((len(strings), T), np.int64)
    for b, s in enumerate(strings):
        steps = np.array([1 if c == "(" else -1 for c in s])
        x[b, : len(s)] = np.where(steps > 0, 1, 2)
        y[b, : len(s)] = np.cumsum(steps)
    return x, y


def main(epochs: int = 10) -> float:
    rng = np.random.default_rng(0)
    x_train, y_train = encode(bracket_strings(600, rng))
    test_strings = bracket_strings(200, rng)
    x_test, y_test = encode(test_strings)

    model = Sequential([
        Embedding(len(SYMBOLS) + 1, 8, mask_zero=True),  # (B, T) ids -> (B, T, 8), and the lengths
        GRU(16, return_sequences=True),                  # (B, T, H): one state per step
        Dense(MAX_DEPTH + 1),                            # (B, T, depths): logits per step
    ], seed=0)
    model.compile("adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"], lr=0.02)
    model.fit(x_train, y_train, epochs=epochs, batch_size=32, verbose=0)

    acc = model.evaluate(x_test, y_test)["accuracy"]  # over real steps only
    print(f"held-out steps right: {acc:.3f}")
    s = test_strings[0]
    tags = model.predict(x_test[:1])[0, : len(s)].argmax(axis=-1)
    print(f"{s}  ->  {' '.join(map(str, tags))}")
    return acc


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
