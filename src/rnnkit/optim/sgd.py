"""Stochastic gradient descent with optional (Nesterov) momentum, as ``torch.optim.SGD``.

    g ← g + λ p                       (weight_decay λ)
    b ← μ b + g                       (momentum μ > 0; b starts at 0, so b₁ = g₁)
    g ← g + μ b   if nesterov  else  g ← b
    p ← p − lr · g

torch's ``dampening`` (b ← μ b + (1 − dampening) g) and ``maximize`` are not offered: this is
torch.optim.SGD with their defaults (0 and False).
"""

from __future__ import annotations

from rnnkit.optim.base import Optimizer, check_float

__all__ = ["SGD"]


class SGD(Optimizer):
    """SGD with optional (Nesterov) momentum and L2 weight_decay, as torch.optim.SGD (the module
    docstring has the update). lr: a float or a schedule of the epoch; ema: see Optimizer.
    ``step(params, grads)`` updates the arrays of params in place."""
    name = "sgd"

    def __init__(self, lr=1e-3, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0, ema: float | None = None):
        super().__init__(lr, weight_decay, ema)
        self.momentum = check_float("momentum", momentum, 0.0)
        if not isinstance(nesterov, bool):
            raise ValueError(f"nesterov must be a bool, got {nesterov!r}")
        if nesterov and self.momentum == 0:
            raise ValueError("nesterov=True needs momentum > 0")
        self.nesterov = nesterov

    def slots(self):
        return ("momentum_buffer",) if self.momentum else ()

    def _update(self, p, g, s, lr):
        if self.momentum:
            b = s["momentum_buffer"]
            b *= self.momentum
            b += g
            g = g + self.momentum * b if self.nesterov else b
        p -= lr * g
