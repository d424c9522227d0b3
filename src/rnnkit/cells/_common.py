"""Pieces shared by the cell families: activations with derivatives, masks, state handling."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class CellGrads(NamedTuple):
    """Gradients of a cell's forward with respect to each of its inputs."""

    x_proj: np.ndarray  # (B, T, G)
    W_h: np.ndarray  # (H, G)
    b_h: np.ndarray | None  # (G,) or None when the forward had no recurrent bias
    state0: tuple[np.ndarray, ...]  # each (B, H)
    # ∂L/∂h_t (and ∂L/∂c_t) at every step, each (B, T, H), zero on padding: the gradient flow
    # through time that diagnostics plot. Kernels may leave it None.
    steps: tuple[np.ndarray, ...] | None = None


def sigmoid(x: np.ndarray) -> np.ndarray:
    # The tanh form never overflows, unlike 1 / (1 + exp(-x)) at large negative x.
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


# Each activation's derivative is written in terms of its output y, which the cache already holds.
ACTIVATIONS = {
    "tanh": (np.tanh, lambda y: 1.0 - y * y),
    "sigmoid": (sigmoid, lambda y: y * (1.0 - y)),
    "relu": (relu, lambda y: (y > 0).astype(y.dtype)),
}


def activation(name: str):
    """Return (function, derivative-from-output) for an activation name."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(
            f"activation must be one of {sorted(ACTIVATIONS)}, got {name!r}"
        ) from None




def keep_dead(alive: np.ndarray | None, new: np.ndarray, old: np.ndarray) -> np.ndarray:
    """Take `new` on rows whose step is real and `old` (the carried value) on padded rows."""
    return new if alive is None else np.where(alive, new, old)


def zero_dead(alive: np.ndarray | None, value: np.ndarray) -> np.ndarray:
    """Zero the rows of `value` whose step is padding."""
    return value if alive is None else np.where(alive, value, 0.0)


def step_masks(lengths, B: int, T: int):
    """(T, B, 1) boolean masks, True where step t is a real step of sequence b; None if all real."""
    if lengths is None:
        return None
    return (np.arange(T)[:, None] < np.asarray(lengths)[None, :])[:, :, None]


def upstream(d, per_step: np.ndarray) -> np.ndarray:
    """An upstream gradient for one step's state, or zeros shaped as a step of `per_step`
    (T, B, H) when the output it belongs to was not used (also for T = 0)."""
    return np.zeros(per_step.shape[1:], dtype=per_step.dtype) if d is None else d
