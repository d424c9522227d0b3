"""The layer contract: parameters plus a pure forward/backward pair.

    forward(x, *, lengths=None, training=False, rng=None, ...) -> (y, cache)
    backward(dy, cache) -> Gradients(dx, params, initial_state)

A layer holds its parameters (a dict of arrays, updated in place by optimizers) and nothing
about a particular call: everything backward needs travels in `cache`, so calls can be
interleaved and backward never depends on call order. Input shapes exclude the batch axis:
(T, F) for sequences (T may be None: any length), (F,) for vectors.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from rnnkit.layers.options import refuse_unknown

SeedLike = int | np.random.Generator | None


class Gradients(NamedTuple):
    """What a layer's backward returns: ∂L/∂x (dx, the shape of x), ∂L/∂ each parameter (params,
    the keys of Layer.params), and for recurrent layers the initial state's gradient and the
    per-step state gradients (see the fields)."""

    dx: Any  # gradient for the input (None for integer inputs)
    params: dict[str, np.ndarray]  # one entry per parameter, same keys as Layer.params
    initial_state: Any = None  # recurrent layers given an initial state: its gradient
    # recurrent layers: ∂L/∂state at every step in time order (Recurrent: a tuple of (B, T, H)
    # arrays, h then c; Bidirectional: {"forward": …, "backward": …}; Stack: a list per layer);
    # None where the cell implementation does not report it
    state_steps: Any = None


def as_generator(seed: SeedLike) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


class Layer:
    """Base class; subclasses define build/forward/backward/output_shape/get_config."""

    #: short Keras-like type name shown by summaries and stored in model files
    kind = "Layer"

    def __init__(self, *, name: str | None = None, seed: SeedLike = None, dtype=np.float32, **unknown):
        # a Keras option (LSTM(32, dropout=0.2)) gets an error naming this layer and rnnkit's way
        refuse_unknown(getattr(self, "display_name", self.kind), unknown)
        self.name = name
        self.seed = seed
        self.dtype = np.dtype(dtype)
        self.params: dict[str, np.ndarray] = {}
        self.input_shape: tuple | None = None

    # -- building -------------------------------------------------------------------------
    @property
    def built(self) -> bool:
        return self.input_shape is not None

    def build(self, input_shape: tuple, rng: SeedLike = None) -> None:
        """Create the parameters for inputs of `input_shape` (batch axis excluded)."""
        self.input_shape = tuple(input_shape)
        self.params = self.make_params(self.input_shape, as_generator(self.seed if rng is None else rng))

    def make_params(self, input_shape: tuple, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """The fresh parameters for inputs of `input_shape`, drawn from `rng`: name -> array."""
        return {}

    def require_built(self) -> None:
        """For forward passes that read parameters: a clear error before build, not a KeyError."""
        if not self.built:
            what = getattr(self, "display_name", self.kind) + (f" {self.name!r}" if self.name else "")
            raise RuntimeError(f"{what} is not built: call build(input_shape) first, or use it in a model, "
                               "which builds its layers")

    def output_shape(self, input_shape: tuple) -> tuple:
        """The shape of one output for one input of `input_shape`, both without the batch axis:
        (T, F) -> (T, U) or (U,), say; T may be None."""
        return tuple(input_shape)

    @property
    def single_output(self) -> bool:
        """Whether forward returns one array that a next layer can take (not so with
        return_state, or a Bidirectional's merge_mode=None)."""
        return True

    def sublayers(self) -> list["Layer"]:
        """The layers this one is made of (for wrappers and stacks)."""
        return []

    def output_lengths(self, x, lengths):
        """The lengths that describe this layer's output (None once time is reduced away)."""
        return lengths

    # -- math -----------------------------------------------------------------------------
    def forward(self, x, *, lengths=None, training: bool = False, rng=None):
        """x (B, T, F), or (B, F) for layers that take vectors -> (y, cache): the output and what
        backward needs. lengths (B,): the real length of each padded sequence (None: all T);
        training: dropout on; rng: a np.random.Generator or int seed for dropout's masks."""
        raise NotImplementedError

    def backward(self, dy, cache) -> Gradients:
        """dy (∂L/∂y, the shape forward returned) and forward's cache -> Gradients(dx, params, ...).
        Reads the cache only, so it may run any number of times on one."""
        raise NotImplementedError

    # -- step by step (rnnkit.models.stepping) ----------------------------------------------
    def zero_state(self, batch_size: int):
        """The state before the first step: None for layers that keep no state across steps."""
        return None

    def step(self, x_t, state=None):
        """One time step: x_t (B, ...) and the state after the previous step -> (y_t, new_state)."""
        raise ValueError(f"a {self.kind} layer cannot be run step by step")

    def __call__(self, x, **kwargs):
        """Forward only, building from the input's shape on first use (Keras style)."""
        if not self.built:
            self.build(np.shape(x)[1:])
        y, _ = self.forward(x, **kwargs)
        return y

    # -- description ----------------------------------------------------------------------
    def count_params(self) -> int:
        """How many numbers the parameters hold (0 before build)."""
        return int(sum(p.size for p in self.params.values()))

    def param_formula(self) -> str:
        """How count_params() follows from the sizes, e.g. 'F·U + U'; '' if no parameters."""
        return ""

    def get_config(self) -> dict:
        """The constructor arguments as a JSON-able dict: ``type(layer)(**config)`` rebuilds the
        layer, unbuilt (rnnkit.layers.serialize stores it in model files)."""
        return {"name": self.name, "dtype": self.dtype.name}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if v is not None)
        return f"{type(self).__name__}({args})"


def set_dtype(layer: Layer, dtype) -> None:
    """The dtype of `layer` and of every layer inside it (a wrapper's dtype is its children's)."""
    layer.dtype = np.dtype(dtype)
    for child in layer.sublayers():
        set_dtype(child, dtype)


def real_array(x, name: str, dtype=None) -> np.ndarray:
    """x as an array of real numbers (cast to `dtype` if given), else a ValueError naming it:
    NumPy would drop a complex array's imaginary part with only a warning. Bool, integer, float
    and object arrays of real numbers pass; the check reads the dtype only, never the values."""
    try:
        x = np.asarray(x)
    except ValueError as err:  # ragged nested lists
        raise ValueError(f"{name} must be an array of real numbers: {err}") from None
    if x.dtype.kind not in "biufO":
        raise ValueError(f"{name} must hold real numbers, got dtype {x.dtype}")
    if dtype is not None:
        try:
            x = x.astype(dtype, copy=False)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must hold real numbers, got an object array that does not") from None
    return x


def check_array(x, name: str, ndim: int, last: int | None = None, *, dtype=None, letters=None) -> np.ndarray:
    """x as an array of real numbers with `ndim` dimensions (and last axis `last`), else a
    ValueError naming it (and its axes, `letters`: by default (B, F) or (B, T, F))."""
    x = real_array(x, name, dtype)
    letters = letters or {2: "(B, F)", 3: "(B, T, F)"}.get(ndim, f"{ndim} dimensions")
    if x.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions {letters}, got shape {x.shape}")
    if last is not None and x.shape[-1] != last:
        raise ValueError(f"{name} must have {last} features on its last axis, got shape {x.shape}")
    return x


def check_lengths(lengths, B: int, T: int) -> np.ndarray | None:
    """Validate `lengths` (B,) ints in 1..T; None stays None (every sequence is T long)."""
    if lengths is None:
        return None
    arr = np.asarray(lengths)
    if arr.shape != (B,):
        raise ValueError(f"lengths must have shape (B,) = ({B},), got {arr.shape}")
    whole = np.issubdtype(arr.dtype, np.integer) or (
        np.issubdtype(arr.dtype, np.floating) and bool(np.all(np.mod(arr, 1) == 0)))  # NaN fails
    if arr.size and not whole:
        raise ValueError(f"lengths must be integers, got dtype {arr.dtype}")
    # the range check before the cast: 2**64 - 1 (uint64) or 1e30 would wrap to a negative int64
    if arr.size and (arr.min() < 1 or arr.max() > T):
        raise ValueError(f"lengths must lie in 1..T = 1..{T}, got min {arr.min()} and max {arr.max()}")
    return arr.astype(np.int64)


def reverse_within_lengths(x: np.ndarray, lengths: np.ndarray | None) -> np.ndarray:
    """Reverse each sequence of x (B, T, ...) within its own length; padding stays in place."""
    if lengths is None:
        return x[:, ::-1]
    B, T = x.shape[:2]
    t = np.arange(T)[None, :]
    L = lengths[:, None]
    index = np.where(t < L, L - 1 - t, t)  # (B, T); its own inverse
    return np.take_along_axis(x, index.reshape(B, T, *([1] * (x.ndim - 2))), axis=1)


def prefixed(children: dict[str, Layer]) -> dict[str, np.ndarray]:
    """One flat parameter dict over child layers: 'child.param' -> the child's own array."""
    return {f"{name}.{k}": v for name, layer in children.items() for k, v in layer.params.items()}


def split_prefixed(grads: dict[str, np.ndarray], name: str) -> dict[str, np.ndarray]:
    head = name + "."
    return {k[len(head) :]: v for k, v in grads.items() if k.startswith(head)}
