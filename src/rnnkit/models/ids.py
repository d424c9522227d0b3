"""Id sequences as the encoder–decoder takes them: 0 is padding, at the end of a row only;
lists of sequences are padded into (B, T) int64 arrays with their lengths (B,)."""

from __future__ import annotations

import numpy as np

from rnnkit.models.decoding import PAD


def lengths_from_padding(ids: np.ndarray, what: str) -> np.ndarray:
    real = ids != PAD
    n = real.sum(axis=1)
    if np.any(real & (np.arange(ids.shape[1])[None, :] >= n[:, None])):
        raise ValueError(f"x: the {what} may hold id 0 only as padding at its end")
    if np.any(n == 0):
        raise ValueError(f"x: every {what} needs at least one non-padding id")
    return n.astype(np.int64)


def as_ids(a, what: str) -> np.ndarray:
    """a as int64 ids; a ValueError rather than truncating a non-integer value."""
    a = np.asarray(a)
    if a.size and not np.issubdtype(a.dtype, np.integer):
        if not (np.issubdtype(a.dtype, np.number) and np.all(np.mod(a, 1) == 0)):
            raise ValueError(f"{what} must hold integer ids, got {a.dtype} values")
    return a.astype(np.int64)


def pad_ids(seqs, what: str, least: int = 1) -> tuple[np.ndarray, np.ndarray]:
    seqs = [as_ids(s, f"every {what}") for s in seqs]
    if any(s.ndim != 1 for s in seqs):
        # flattening would read a flat list [1, 2, 3] as three one-token sequences
        raise ValueError(f"every {what} must be one sequence of ids, and {what}s a list of them "
                         f"(for a single {what}, write [{what}])")
    if not seqs:
        raise ValueError(f"no {what} given")
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    if lengths.min() < least:
        raise ValueError(f"every {what} needs at least one token")
    out = np.zeros((len(seqs), lengths.max()), dtype=np.int64)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = s
    return out, lengths


def check_ids(ids: np.ndarray, lengths: np.ndarray, least: int, vocab: int, what: str) -> None:
    """The real (unpadded) ids of each row must lie in least..vocab − 1."""
    real = ids[np.arange(ids.shape[1])[None] < lengths[:, None]]
    if real.size and (real.min() < least or real.max() >= vocab):
        raise ValueError(f"{what} ids must lie in {least}..{vocab - 1}, got {real.min()}..{real.max()}")
