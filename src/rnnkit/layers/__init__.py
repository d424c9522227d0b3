"""Layers: parameters plus pure forward/backward pairs (see rnnkit.layers.base)."""

from rnnkit.layers.activation import Activation
from rnnkit.layers.attention import AdditiveAttention
from rnnkit.layers.base import Gradients, Layer, reverse_within_lengths
from rnnkit.layers.bidirectional import Bidirectional
from rnnkit.layers.cell_spec import CellSpec
from rnnkit.layers.dense import Dense
from rnnkit.layers.dropout import Dropout
from rnnkit.layers.embedding import Embedding
from rnnkit.layers.recurrent import GRU, LSTM, Recurrent, SimpleRNN
from rnnkit.layers.registry import deserialize, serialize
from rnnkit.layers.stack import Stack, stacked

__all__ = [
    "GRU", "LSTM", "Activation", "AdditiveAttention", "Bidirectional", "CellSpec", "Dense", "Dropout", "Embedding",
    "Gradients", "Layer", "Recurrent", "SimpleRNN", "Stack", "deserialize", "reverse_within_lengths",
    "serialize", "stacked",
]
