"""Adam and AdamW, as ``torch.optim.Adam`` / ``torch.optim.AdamW`` (ε added after the bias
correction of the root, per-parameter step count t).

    Adam:   g ← g + λ p                       (L2 weight_decay λ)
    AdamW:  p ← p (1 − lr λ)                  (decoupled weight_decay λ)
    m ← β₁ m + (1 − β₁) g,     v ← β₂ v + (1 − β₂) g²
    amsgrad: v̂ ← max(v̂, v), and v̂ replaces v below
    p ← p − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
"""

from __future__ import annotations

import math

import numpy as np

from rnnkit.optim.base import Optimizer, check_float

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam with L2 weight_decay (added to the gradient) and optional amsgrad, as torch.optim.Adam
    (the module docstring has the update). lr: a float or a schedule of the epoch; ema: see
    Optimizer. ``step(params, grads)`` updates the arrays of params in place."""
    name = "adam"

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, ema: float | None = None):
        super().__init__(lr, weight_decay, ema)
        try:
            b1, b2 = betas
        except (TypeError, ValueError):
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}") from None
        self.betas = (check_float("betas[0]", b1, 0.0, 1.0, hi_open=True),
                      check_float("betas[1]", b2, 0.0, 1.0, hi_open=True))
        self.eps = check_float("eps", eps, 0.0)
        if not isinstance(amsgrad, bool):
            raise ValueError(f"amsgrad must be a bool, got {amsgrad!r}")
        self.amsgrad = amsgrad

    def slots(self):
        return ("exp_avg", "exp_avg_sq") + ("max_exp_avg_sq",) * self.amsgrad

    def _update(self, p, g, s, lr):
        b1, b2 = self.betas
        t = int(s["step"])
        m, v = s["exp_avg"], s["exp_avg_sq"]
        # the formulas below in their order of operations, through one scratch array instead of
        # five temporaries (a 200k x 64 embedding's step held 3x its size in them); the same bits
        # where g has p's dtype (rnnkit's gradients always do)
        scratch = np.subtract(g, m)
        scratch *= 1 - b1
        m += scratch  # m + (1 − β₁)(g − m)
        np.multiply(g, g, out=scratch)
        scratch *= 1 - b2
        v *= b2
        v += scratch  # β₂ v + (1 − β₂) g²
        if self.amsgrad:
            np.maximum(s["max_exp_avg_sq"], v, out=s["max_exp_avg_sq"])
            v = s["max_exp_avg_sq"]
        np.sqrt(v, out=scratch)
        scratch /= math.sqrt(1 - b2**t)
        scratch += self.eps  # the denominator
        np.divide(m, scratch, out=scratch)
        scratch *= lr / (1 - b1**t)
        p -= scratch


class AdamW(Adam):
    """Adam with decoupled weight decay p ← p (1 − lr · weight_decay), as torch.optim.AdamW
    (weight_decay defaults to 0.01, as there)."""
    name = "adamw"
    decoupled_weight_decay = True

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, ema: float | None = None):
        super().__init__(lr, betas, eps, weight_decay, amsgrad, ema)
