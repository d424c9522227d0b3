"""One-to-many: generation. A character-level model (Embedding → LSTM → Dense) learns to predict
the next character of a short rhyme; rnnkit.generation then runs it step by step from a prefix,
feeding every character it picks back in as its next input. Greedy picking (temperature 0)
recites the rhyme it memorised; sampling (temperature > 0, with a seed) varies it.

    python examples/char_generation.py             # prints the greedy continuation of "Twinkle,"
                                                   # (the whole rhyme), a sampled one (seed 1: it
                                                   # skips the second "twinkle,"), and
                                                   # greedy reproduces 105/105 characters
"""

from __future__ import annotations

import sys

import numpy as np

from rnnkit import Sequential
from rnnkit.generation import generate
from rnnkit.layers import LSTM, Dense, Embedding

TEXT = ("Twinkle, twinkle, little star,\nhow I wonder what you are.\n"
        "Up above the world so high,\nlike a diamond in the sky.\n")
CHARS = sorted(set(TEXT))  # V symbols; id = position
WINDOW = 24  # T: characters of context the model trains on


def windows(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every window of WINDOW ids (N, T), and as its target the same window one step later (N, T)."""
    starts = np.arange(len(ids) - WINDOW)
    x = np.stack([ids[s : s + WINDOW] for s in starts])
    y = np.stack([ids[s + 1 : s + WINDOW + 1] for s in starts])
    return x, y


def main(epochs: int = 40) -> float:
    ids = np.array([CHARS.index(c) for c in TEXT])
    x, y = windows(ids)

    model = Sequential([
        Embedding(len(CHARS), 16),           # (B, T) ids -> (B, T, 16)
        LSTM(64, return_sequences=True),     # (B, T, H)
        Dense(len(CHARS)),                   # (B, T, V): logits of the next character
    ], seed=0)
    model.compile("adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"], lr=0.01, clipnorm=1.0)
    model.fit(x, y, epochs=epochs, batch_size=16, verbose=0)

    prefix = "Twinkle,"
    rest = len(TEXT) - len(prefix)
    greedy = generate(model, ids[: len(prefix)], rest, temperature=0)  # argmax at every step
    sampled = generate(model, ids[: len(prefix)], rest, temperature=0.8, rng=np.random.default_rng(1))
    as_text = lambda out: prefix + "".join(CHARS[i] for i in out)  # noqa: E731
    print(f"greedy:\n{as_text(greedy)}\nsampled (temperature 0.8):\n{as_text(sampled)}")

    right = int((greedy == ids[len(prefix) :]).sum())
    print(f"greedy reproduces {right}/{rest} characters")
    return right / rest


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
