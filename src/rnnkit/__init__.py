"""rnnkit: recurrent neural networks with hand-written backpropagation through time."""

__version__ = "0.1.0"

from rnnkit import layers
from rnnkit.grad_mode import is_grad_enabled, no_grad
from rnnkit.kernels import backend, get_backend, set_backend
from rnnkit.layers.activation import sigmoid, softmax  # probabilities from predict's logits
from rnnkit.models import EncoderDecoder, Model, Sequential, load
from rnnkit import diagnostics
from rnnkit.diagnostics import gradcheck  # the function; the module rnnkit/gradcheck.py keeps the helpers

__all__ = [
    "EncoderDecoder", "Model", "Sequential", "__version__", "backend", "diagnostics",
    "get_backend", "gradcheck", "is_grad_enabled", "layers", "load", "no_grad", "set_backend",
    "sigmoid", "softmax",
]
