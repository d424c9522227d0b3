"""Element-wise activations as a layer, and the functions Dense uses; softmax and sigmoid are
also rnnkit.softmax / rnnkit.sigmoid, which turn predict's logits into probabilities."""

from __future__ import annotations

import numpy as np

from rnnkit.cells._common import ACTIVATIONS as CELL_ACTIVATIONS
from rnnkit.layers.base import Gradients, Layer, real_array


def softmax(logits) -> np.ndarray:
    """Probabilities over the last axis from logits (what the cross-entropy losses apply, and
    predict leaves to the caller); shifted by the row maximum, so large logits do not overflow."""
    a = np.asarray(logits)
    e = np.exp(a - a.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def sigmoid(logits) -> np.ndarray:
    """1 / (1 + e^(−z)) element-wise: binary_crossentropy's probabilities from its logits."""
    return CELL_ACTIVATIONS["sigmoid"][0](np.asarray(logits))


NAMES = ("linear", "softmax", *sorted(CELL_ACTIVATIONS))


def check_name(name: str | None) -> str:
    name = "linear" if name is None else name
    if name not in NAMES:
        raise ValueError(f"activation must be one of {NAMES}, got {name!r}")
    return name


def apply(name: str, a: np.ndarray) -> np.ndarray:
    if name == "linear":
        return a
    if name == "softmax":
        return softmax(a)
    return CELL_ACTIVATIONS[name][0](a)


def grad(name: str, y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """∂L/∂a given the activation's output y = f(a) and ∂L/∂y."""
    if name == "linear":
        return dy
    if name == "softmax":  # Jacobian-vector product: y ⊙ (dy − Σ dy ⊙ y)
        return y * (dy - (dy * y).sum(axis=-1, keepdims=True))
    return dy * CELL_ACTIVATIONS[name][1](y)


class Activation(Layer):
    """An element-wise activation (a Dense activation name: "tanh", "relu", "sigmoid", "softmax",
    ...) as a layer: x (B, F) or (B, T, F) -> y of the same shape; no parameters."""
    kind = "Activation"

    def __init__(self, activation: str, **base):
        super().__init__(**base)
        self.activation = check_name(activation)

    def forward(self, x, *, lengths=None, training=False, rng=None):
        y = apply(self.activation, real_array(x, "x", self.dtype))  # complex x: an error, not a warning
        return y, y

    def step(self, x_t, state=None):
        return self.forward(x_t)[0], None

    def backward(self, dy, cache) -> Gradients:
        return Gradients(grad(self.activation, cache, dy), {})

    def get_config(self):
        return {"activation": self.activation, **super().get_config()}
