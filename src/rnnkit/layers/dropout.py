"""Inverted dropout. In a recurrent network it sits between layers at the same time step,
never on the recurrent h_{t-1} -> h_t path (seed 003; Zaremba et al. 2014)."""

from __future__ import annotations

import numpy as np

from rnnkit import _checks as checks
from rnnkit.layers.base import Gradients, Layer, as_generator


class Dropout(Layer):
    kind = "Dropout"

    def __init__(self, rate: float, **base):
        super().__init__(**base)
        if not 0.0 <= checks.real("rate", rate) < 1.0:
            raise ValueError(f"rate must lie in [0, 1), got {rate!r}")
        self.rate = float(rate)

    def forward(self, x, *, lengths=None, training=False, rng=None):
        x = np.asarray(x, dtype=self.dtype)
        if not training or self.rate == 0.0:
            return x, None
        keep = as_generator(rng).random(x.shape) >= self.rate
        mask = keep.astype(self.dtype) / self.dtype.type(1.0 - self.rate)
        return x * mask, mask

    def step(self, x_t, state=None):
        """One time step at inference: the identity."""
        return np.asarray(x_t, dtype=self.dtype), None

    def backward(self, dy, cache) -> Gradients:
        return Gradients(dy if cache is None else dy * cache, {})

    def get_config(self):
        return {"rate": self.rate, **super().get_config()}
