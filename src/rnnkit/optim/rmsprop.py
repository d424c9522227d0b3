"""RMSprop, as ``torch.optim.RMSprop`` (ε added outside the square root).

    g ← g + λ p                                   (weight_decay λ)
    v ← α v + (1 − α) g²
    centered:  ḡ ← α ḡ + (1 − α) g,   d = √(v − ḡ²) + ε       else  d = √v + ε
    momentum μ > 0:  b ← μ b + g / d,  p ← p − lr · b       else  p ← p − lr · g / d
"""

from __future__ import annotations

import numpy as np

from rnnkit.optim.base import Optimizer, check_float

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop (optionally centered, with momentum), as torch.optim.RMSprop, whose default lr of
    0.01 it keeps (the module docstring has the update). lr: a float or a schedule of the epoch;
    ema: see Optimizer. ``step(params, grads)`` updates the arrays of params in place."""
    name = "rmsprop"

    def __init__(self, lr=1e-2, alpha: float = 0.99, eps: float = 1e-8, momentum: float = 0.0,
                 centered: bool = False, weight_decay: float = 0.0, ema: float | None = None):
        super().__init__(lr, weight_decay, ema)
        self.alpha = check_float("alpha", alpha, 0.0, 1.0)
        self.eps = check_float("eps", eps, 0.0)
        self.momentum = check_float("momentum", momentum, 0.0)
        if not isinstance(centered, bool):
            raise ValueError(f"centered must be a bool, got {centered!r}")
        self.centered = centered

    def slots(self):
        return (("square_avg",) + ("grad_avg",) * self.centered
                + ("momentum_buffer",) * (self.momentum > 0))

    def _update(self, p, g, s, lr):
        v = s["square_avg"]
        v *= self.alpha
        v += (1 - self.alpha) * (g * g)
        if self.centered:
            m = s["grad_avg"]
            m += (1 - self.alpha) * (g - m)
            # v − ḡ² ≥ 0 in exact arithmetic; rounding can dip below zero after many equal grads.
            d = np.sqrt(np.maximum(v - m * m, 0.0))
        else:
            d = np.sqrt(v)
        d += self.eps
        if self.momentum > 0:
            b = s["momentum_buffer"]
            b *= self.momentum
            b += g / d
            p -= lr * b
        else:
            p -= lr * (g / d)
