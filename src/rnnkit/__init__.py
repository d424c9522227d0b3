"""rnnkit: recurrent neural networks with hand-written backpropagation through time."""

__version__ = "0.1.0"

from rnnkit import layers
from rnnkit.kernels import backend, get_backend, set_backend

__all__ = ["__version__", "backend", "get_backend", "layers", "set_backend"]
