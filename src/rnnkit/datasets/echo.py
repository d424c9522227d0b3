"""Echo detection (notes seed 002; ai-edu ch19 Level1): a 2-step sequence, output the first input.

Sample i of a set of N is two consecutive draws of one uniform stream S of length N + 1:
``x[i, :, 0] = [S[i], S[i+1]]`` and the target at step 2 is ``y[i] = S[i]`` (the previous input:
the network must remember it for one step). The step-1 target of the ai-edu files is always 0
and unused, so only the step-2 value is returned.

Shapes: x (N, T=2, F=1) float64, y (N,) float64.
"""

from __future__ import annotations

import numpy as np

from rnnkit.datasets._files import load_npz

__all__ = ["generate", "load"]

_FILES = {"train": "ch19.train_echo.npz", "test": "ch19.test_echo.npz"}


def load(split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """The ai-edu echo data shipped with the package (200 train, 50 test samples).

    Returns x (N, 2, 1) float64 and y (N,) float64, y = the step-2 label (= x[:, 0, 0]).
    """
    if split not in _FILES:
        raise ValueError(f"split must be one of {sorted(_FILES)}, got {split!r}")
    arrays = load_npz("echo", _FILES[split])
    return arrays["data"], arrays["label"][:, 1].copy()


def generate(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n fresh samples made the way the ai-edu files were made (S ~ U(0, 1), length n + 1).

    Returns x (n, 2, 1) float64 and y (n,) float64 with y[i] = x[i, 0, 0].
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    s = rng.random(n + 1)
    x = np.stack([s[:-1], s[1:]], axis=1)[:, :, None]  # (n, 2, 1)
    return x, s[:-1].copy()
