"""Models: Sequential (and the encoder–decoder), summaries and model files."""

from rnnkit.models.base import Model
from rnnkit.models.files import load
from rnnkit.models.sequential import Sequential

__all__ = ["Model", "Sequential", "load"]
