"""Models: Sequential (and the encoder–decoder), summaries and model files."""

from rnnkit.models.base import Model
from rnnkit.models.files import load
from rnnkit.models.seq2seq import EncoderDecoder
from rnnkit.models.sequential import Sequential

__all__ = ["EncoderDecoder", "Model", "Sequential", "load"]
