"""Embedding: integer ids (B, T) -> vectors (B, T, D). With mask_zero, id 0 is padding and the
layer reports each sequence's length (the count of ids before its padding) to later layers."""

from __future__ import annotations

import numpy as np

from rnnkit import _checks as checks
from rnnkit.layers.base import Gradients, Layer, check_lengths


class Embedding(Layer):
    """A table of `input_dim` = V vectors of `output_dim` = D: ids (B, T) -> vectors (B, T, D).
    mask_zero=True: id 0 is padding, each sequence ends before its first 0, and the layer hands
    those lengths (B,) to the layers after it."""
    kind = "Embedding"

    def __init__(self, input_dim: int, output_dim: int, *, mask_zero: bool = False, **base):
        super().__init__(**base)
        self.input_dim = checks.integer("input_dim", input_dim)
        self.output_dim = checks.integer("output_dim", output_dim)
        self.mask_zero = mask_zero

    def make_params(self, input_shape, rng):
        E = rng.uniform(-0.05, 0.05, size=(self.input_dim, self.output_dim))  # Keras' default
        return {"E": E.astype(self.dtype)}

    def output_shape(self, input_shape):
        return (*input_shape, self.output_dim)

    def _ids(self, x, lengths=None) -> np.ndarray:
        """x as int64 ids, checked on the real steps; padded steps (t >= lengths[b]) may hold any
        filler, as the losses' targets may, and read as id 0 (their gradient is zero)."""
        x = np.asarray(x)
        if x.ndim != 2:
            raise ValueError(f"x must be integer ids of shape (B, T), got shape {x.shape}")
        if x.dtype.kind == "O":  # nested lists of Python numbers; anything else is refused below
            try:
                x = x.astype(np.float64)
            except (TypeError, ValueError):
                raise ValueError("x must hold integer ids, got an object array that does not") from None
        # strings or complex numbers would reach np.mod's own TypeError, which names neither x nor ids
        if x.dtype.kind not in "biuf":
            raise ValueError(f"x must hold integer ids, got dtype {x.dtype}")
        lengths = check_lengths(lengths, *x.shape)
        if lengths is not None:
            x = np.where(np.arange(x.shape[1])[None, :] < lengths[:, None], x, 0)
        if x.size and x.dtype.kind == "f" and not (np.all(np.isfinite(x)) and np.all(np.mod(x, 1) == 0)):
            raise ValueError(f"x must hold integer ids, got dtype {x.dtype} with a fractional or non-finite value")
        # the range check before the cast: 1e20 cast to int64 wraps to a negative id
        if x.size and (x.min() < 0 or x.max() >= self.input_dim):
            raise ValueError(f"x ids must lie in 0..{self.input_dim - 1}, got {x.min()}..{x.max()}")
        return x.astype(np.int64, copy=False) if x.dtype.kind in "bf" else x

    def output_lengths(self, x, lengths):
        if not self.mask_zero:
            return lengths
        ids = self._ids(x, lengths)
        real = ids != 0
        counted = real.sum(axis=1)
        if np.any(real[np.arange(ids.shape[1])[None, :] >= counted[:, None]]):
            raise ValueError("x: with mask_zero, id 0 may only appear as padding at the end of a sequence")
        if np.any(counted == 0):
            raise ValueError("x: with mask_zero, every sequence needs at least one non-zero id")
        return counted if lengths is None else np.minimum(counted, lengths)

    def forward(self, x, *, lengths=None, training=False, rng=None):
        self.require_built()
        ids = self._ids(x, lengths)
        return self.params["E"][ids], ids

    def step(self, x_t, state=None):
        """One time step: ids x_t (B,) -> (vectors (B, D), None). With mask_zero, id 0 is refused:
        forward skips padded steps, keeping each sequence's state, which one step cannot do."""
        ids = self._ids(np.asarray(x_t).reshape(-1, 1))[:, 0]
        if self.mask_zero and np.any(ids == 0):
            raise ValueError("x_t: id 0 is padding for this Embedding (mask_zero=True), not a token; step "
                             "each sequence through its real ids only")
        return self.params["E"][ids], None

    def backward(self, dy, cache) -> Gradients:
        dE = np.zeros_like(self.params["E"])
        np.add.at(dE, cache.reshape(-1), dy.reshape(-1, self.output_dim))
        return Gradients(None, {"E": dE})

    def param_formula(self) -> str:
        return "V·D"

    def get_config(self):
        return {
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "mask_zero": self.mask_zero,
            **super().get_config(),
        }
