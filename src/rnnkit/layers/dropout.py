"""Inverted dropout. In a recurrent network it sits between layers at the same time step,
never on the recurrent h_{t-1} -> h_t path (seed 003; Zaremba et al. 2014)."""

from __future__ import annotations

import numpy as np

from rnnkit import _checks as checks
from rnnkit.layers.base import Gradients, Layer, as_generator, real_array


class Dropout(Layer):
    """Inverted dropout: with training=True each entry of x (any shape) is zeroed with probability
    `rate` and the others scaled by 1/(1 − rate); otherwise the identity. Masks come from forward's
    `rng`, else from one stream drawn from the layer's own `seed`."""
    kind = "Dropout"

    def __init__(self, rate: float, **base):
        super().__init__(**base)
        if not 0.0 <= checks.real("rate", rate) < 1.0:
            raise ValueError(f"rate must lie in [0, 1), got {rate!r}")
        self.rate = float(rate)
        self._own_rng = None

    def forward(self, x, *, lengths=None, training=False, rng=None):
        x = real_array(x, "x", self.dtype)  # a complex x would lose its imaginary part with only a warning
        if not training or self.rate == 0.0:
            return x, None
        keep = self._generator(rng).random(x.shape) >= self.rate
        mask = keep.astype(self.dtype) / self.dtype.type(1.0 - self.rate)
        return x * mask, mask

    def _generator(self, rng) -> np.random.Generator:
        """The caller's rng, else one stream of the layer's own, drawn from its seed once, as Keras's
        Dropout(seed=) does: with rng=None the masks are then reproducible and still differ per call."""
        if rng is not None:
            return as_generator(rng)
        if self._own_rng is None:
            self._own_rng = as_generator(self.seed)
        return self._own_rng

    def step(self, x_t, state=None):
        """One time step at inference: the identity."""
        return real_array(x_t, "x_t", self.dtype), None

    def backward(self, dy, cache) -> Gradients:
        return Gradients(dy if cache is None else dy * cache, {})

    def get_config(self):
        return {"rate": self.rate, **super().get_config()}
