"""Layer configs to and from plain JSON-able dicts (for model files): {"type": kind, "config": {...}}."""

from __future__ import annotations

from rnnkit.layers.activation import Activation
from rnnkit.layers.base import Layer
from rnnkit.layers.bidirectional import Bidirectional
from rnnkit.layers.dense import Dense
from rnnkit.layers.dropout import Dropout
from rnnkit.layers.embedding import Embedding
from rnnkit.layers.recurrent import Recurrent
from rnnkit.layers.stack import Stack

TYPES: dict[str, type[Layer]] = {
    cls.kind: cls for cls in (Activation, Bidirectional, Dense, Dropout, Embedding, Recurrent, Stack)
}


def serialize(layer: Layer) -> dict:
    """A layer as a JSON-able dict ``{"type": layer.kind, "config": layer.get_config()}``."""
    return {"type": layer.kind, "config": layer.get_config()}


def deserialize(spec: dict) -> Layer:
    """The (unbuilt) layer that `serialize` described; ValueError for an unknown type."""
    try:
        kind, config = spec["type"], dict(spec["config"])
    except (KeyError, TypeError):
        raise ValueError(f"a layer spec needs 'type' and 'config', got {spec!r}") from None
    if kind not in TYPES:
        raise ValueError(f"unknown layer type {kind!r}; known: {sorted(TYPES)}")
    if kind == "Recurrent":
        return Recurrent.from_config(config)
    if kind == "Bidirectional":
        return Bidirectional(deserialize(config.pop("layer")), **config)
    if kind == "Stack":
        return Stack([deserialize(s) for s in config.pop("layers")], **config)
    return TYPES[kind](**config)
