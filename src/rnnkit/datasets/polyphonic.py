"""Polyphonic music (Chung et al. 2014, cited by notes seed 003): next-frame prediction, 88 Bernoulli outputs.

Boulanger-Lewandowski et al. (2012) splits of JSB Chorales and Nottingham, shipped as
data/polyphonic/<name>.npz (see its SOURCE.md). A sequence is a piano roll (T_i, 88) uint8 of
0/1, one row per time step (a quarter note for JSB), column c = MIDI pitch 21 + c (A0..C8).

Task: from frames 0..t predict frame t + 1, so a sequence of T_i frames gives T_i - 1 steps
with x = frames[:-1], y = frames[1:]; the loss is the Bernoulli negative log-likelihood summed
over the 88 keys and averaged over the frames.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rnnkit.datasets._files import load_npz

__all__ = ["DATASETS", "NUM_KEYS", "SPLITS", "load", "next_frame_pairs"]

DATASETS = {"jsb_chorales": "JSB_Chorales.npz", "nottingham": "Nottingham.npz"}
SPLITS = ("train", "valid", "test")
NUM_KEYS = 88
LOWEST_PITCH = 21  # MIDI number of column 0


def load(name: str = "jsb_chorales") -> dict[str, list[np.ndarray]]:
    """{"train": [...], "valid": [...], "test": [...]}, each a list of (T_i, 88) uint8 piano rolls.

    JSB Chorales: 229 / 76 / 77 sequences; Nottingham: 694 / 173 / 170.
    """
    if name not in DATASETS:
        raise ValueError(f"name must be one of {sorted(DATASETS)}, got {name!r}")
    arrays = load_npz("polyphonic", DATASETS[name])
    out = {}
    for split in SPLITS:
        rolls, lengths = arrays[f"{split}_rolls"], arrays[f"{split}_lengths"]
        if rolls.shape != (int(lengths.sum()), NUM_KEYS):
            raise ValueError(f"{DATASETS[name]}: {split}_rolls {rolls.shape} does not match the lengths")
        out[split] = np.split(rolls, np.cumsum(lengths)[:-1])
    return out


def next_frame_pairs(
    rolls: Sequence[np.ndarray], dtype: type = np.float64
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sequences (T_i, 88) -> x (B, T, 88), y (B, T, 88), lengths (B,) int64 with T = max(T_i) - 1.

    x[b, t] = frame t and y[b, t] = frame t + 1 of sequence b for t < lengths[b] = T_b - 1;
    both are zero past that (use the lengths as the mask).
    """
    lengths = np.array([len(r) - 1 for r in rolls], dtype=np.int64)
    if lengths.size and lengths.min() < 1:
        raise ValueError("every sequence needs at least 2 frames")
    width = int(lengths.max(initial=0))
    x = np.zeros((len(rolls), width, NUM_KEYS), dtype=dtype)
    y = np.zeros_like(x)
    for b, roll in enumerate(rolls):
        x[b, : lengths[b]] = roll[:-1]
        y[b, : lengths[b]] = roll[1:]
    return x, y, lengths
