"""Fully connected layer: y = f(x W + b), applied to every step when x is (B, T, F)."""

from __future__ import annotations

import numpy as np

from rnnkit import _checks as checks
from rnnkit.layers import activation as act
from rnnkit.layers.base import Gradients, Layer, check_array, real_array
from rnnkit.layers.initializers import glorot_uniform


class Dense(Layer):
    """y = activation(x W + b) with `units` = U outputs: x (B, F) -> (B, U), or (B, T, F) ->
    (B, T, U) with the same weights at every step. activation=None leaves logits, which is what the
    losses take (compile refuses a last softmax/sigmoid that its cross-entropy applies again)."""
    kind = "Dense"

    def __init__(self, units: int, activation: str | None = None, **base):
        super().__init__(**base)
        self.units = checks.integer("units", units)
        self.activation = act.check_name(activation)

    def make_params(self, input_shape, rng):
        F = input_shape[-1] if input_shape else None
        if F is None:
            raise ValueError(f"Dense needs the size of its inputs' last axis, got input_shape {input_shape} (a "
                             "model given x of shape (N, T) reads it as token ids: start it with an Embedding)")
        return {"W": glorot_uniform(rng, (F, self.units), self.dtype), "b": np.zeros(self.units, self.dtype)}

    def output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def forward(self, x, *, lengths=None, training=False, rng=None):
        self.require_built()
        x = real_array(x, "x", self.dtype)
        if x.ndim not in (2, 3):
            raise ValueError(f"x must have shape (B, F) or (B, T, F), got {x.shape}")
        x = check_array(x, "x", x.ndim, self.params["W"].shape[0])
        F = x.shape[-1]
        # 2-D GEMMs throughout: NumPy runs a 3-D @ 2-D product as one small GEMM per sequence
        a = x.reshape(-1, F) @ self.params["W"]
        a += self.params["b"]
        y = act.apply(self.activation, a.reshape(*x.shape[:-1], self.units))
        return y, (x, y)

    def step(self, x_t, state=None):
        """One time step: x_t (B, F) -> (y_t (B, U), None); a Dense layer keeps no state."""
        return self.forward(x_t)[0], None

    def backward(self, dy, cache) -> Gradients:
        x, y = cache
        da = act.grad(self.activation, y, dy)
        F = x.shape[-1]
        da2 = da.reshape(-1, self.units)
        grads = {"W": x.reshape(-1, F).T @ da2, "b": da2.sum(axis=0)}
        return Gradients((da2 @ self.params["W"].T).reshape(x.shape), grads)

    def param_formula(self) -> str:
        return "F·U + U"

    def get_config(self):
        return {"units": self.units, "activation": self.activation, **super().get_config()}
