"""Sequential: a stack of layers, each one's output the next one's input; `lengths` flow along
(an Embedding with mask_zero creates them, a recurrent layer returning only its last step ends
them)."""

from __future__ import annotations

import re

import numpy as np

from rnnkit import _checks as checks
from rnnkit.layers import Layer, deserialize, serialize
from rnnkit.layers.base import as_generator, set_dtype
from rnnkit.models import stepping
from rnnkit.models.base import Model


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z][a-z])", "_", re.sub(r"[^A-Za-z0-9]", "", name)).lower()


class Sequential(Model):
    """A stack of layers, each one's output the next one's input, as Keras's Sequential:
    Sequential([Bidirectional(LSTM(16)), Dense(2)], seed=0, input_shape=(T, F) or None, dtype=None
    (each layer's own) or one dtype for all of them)."""

    kind = "Sequential"

    def __init__(self, layers=(), *, input_shape=None, seed: int | None = None, dtype=None, name=None):
        super().__init__(seed=seed, name=name)
        self.layers: list[Layer] = []
        self.dtype = None if dtype is None else np.dtype(dtype)
        for layer in layers:
            self.add(layer)
        if input_shape is not None:
            self.build(input_shape)

    def add(self, layer: Layer) -> None:
        """Append a layer on top of the stack (before the model is built)."""
        if not isinstance(layer, Layer):
            raise TypeError(f"layer must be an rnnkit layer, got {type(layer).__name__}")
        if self.built:
            raise RuntimeError("cannot add layers to a model that is already built")
        if not layer.single_output:
            raise ValueError(
                f"{getattr(layer, 'display_name', layer.kind)} returns several arrays (return_state=True "
                "or merge_mode=None), and a Sequential passes one from layer to layer; use it in an "
                "rnnkit.Model subclass (examples/custom_model.py)")
        taken = {existing.name for existing in self.layers}
        if layer.name is None:
            base = _snake(layer.display_name if layer.kind == "Recurrent" else layer.kind)
            layer.name = base
            k = 1
            while layer.name in taken:
                layer.name, k = f"{base}_{k}", k + 1
        elif layer.name in taken:
            raise ValueError(f"layer name {layer.name!r} is used twice")
        if self.dtype is not None:
            set_dtype(layer, self.dtype)
        self.layers.append(layer)

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """The layer called `name`, or at `index` (as Keras: exactly one of the two)."""
        if (name is None) == (index is None):
            raise ValueError("get_layer needs exactly one of name or index")
        if index is not None:
            checks.integer("index", index, least=0)
            if index >= len(self.layers):
                raise ValueError(f"index {index} is out of range: the model has {len(self.layers)} layers")
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"no layer named {name!r}; the layers are {[layer.name for layer in self.layers]}")

    def build(self, input_shape) -> None:
        if not self.layers:
            raise ValueError("a Sequential model needs at least one layer")
        rng = np.random.default_rng([self.seed, 0])
        shape = tuple(input_shape)
        self.input_shape = shape
        for layer in self.layers:
            layer.build(shape, rng)
            shape = layer.output_shape(shape)

    @property
    def params(self) -> dict[str, np.ndarray]:
        return {f"{layer.name}.{k}": v for layer in self.layers for k, v in layer.params.items()}

    def output_shapes(self) -> list[tuple]:
        """Each layer's output shape for one sample (no batch axis), bottom to top."""
        shapes, shape = [], self.input_shape
        for layer in self.layers:
            shape = layer.output_shape(shape)
            shapes.append(shape)
        return shapes

    def forward(self, x, lengths=None, training: bool = False, rng=None):
        if rng is not None:  # one stream for all layers: an int seed per layer would repeat the same masks
            rng = as_generator(rng)
        caches = []
        for layer in self.layers:
            next_lengths = layer.output_lengths(x, lengths)
            x, cache = layer.forward(x, lengths=lengths, training=training, rng=rng)
            caches.append(cache)
            lengths = next_lengths
        return x, lengths, caches

    def backward(self, dy, cache) -> dict[str, np.ndarray]:
        grads = {}
        for layer, layer_cache in zip(reversed(self.layers), reversed(cache)):
            g = layer.backward(dy, layer_cache)
            grads.update({f"{layer.name}.{k}": v for k, v in g.params.items()})
            dy = g.dx
        return grads

    # -- step by step (rnnkit.models.stepping) ----------------------------------------------
    def initial_state(self, batch_size: int) -> list:
        """The state before the first step, one entry per layer (see rnnkit.models.stepping)."""
        return stepping.initial_state(self, batch_size)

    def step(self, x_t, state=None):
        """One time step: x_t (B, F) or ids (B,) -> (y_t, new_state); O(1) work per step."""
        return stepping.step(self, x_t, state)

    def output_lengths(self, x, lengths):
        # Only a first-layer Embedding (mask_zero) reads x; later layers just pass lengths on.
        for layer in self.layers:
            lengths = layer.output_lengths(x, lengths)
        return lengths

    def get_config(self) -> dict:
        return {"layers": [serialize(layer) for layer in self.layers], "name": self.name,
                "dtype": None if self.dtype is None else self.dtype.name}

    @classmethod
    def from_config(cls, config: dict, seed: int) -> "Sequential":
        """The model get_config() describes, unbuilt, with `seed`."""
        return cls([deserialize(spec) for spec in config["layers"]], seed=seed, name=config.get("name"),
                   dtype=config.get("dtype"))
