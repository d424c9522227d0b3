"""Character prediction "hell" -> "ello" (notes seed 002): many-to-many, one output per step.

The input is a word without its last character and the target the word without its first one,
so at each step the network predicts the next character. Characters are one-hot over the
vocabulary of the word's distinct characters, sorted ("hello": e, h, l, o; V = 4).
"""

from __future__ import annotations

import numpy as np

__all__ = ["make"]


def make(word: str = "hello") -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """One training pair built from ``word``.

    Returns x (1, T, V) float64 one-hot of word[:-1], y (1, T) int64 indices of word[1:],
    and the vocabulary (V characters, index -> character); T = len(word) - 1.
    """
    if len(word) < 2:
        raise ValueError(f"need a word of at least 2 characters, got {word!r}")
    vocabulary = tuple(sorted(set(word)))
    index = np.array([vocabulary.index(c) for c in word], dtype=np.int64)
    x = np.eye(len(vocabulary))[index[:-1]][None]  # (1, T, V)
    return x, index[None, 1:], vocabulary
