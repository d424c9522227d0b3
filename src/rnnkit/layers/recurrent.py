"""The one generic recurrent layer: runs any cell over batch-first input (B, T, F).

Options, as in Keras: return_sequences (every step's h, else the last real step's), return_state
(also return the final state tuple), go_backwards (read each sequence from its own last real
step to its first; the output sequence is then in reading order, as in Keras, and its padding
stays at the end, where `lengths` says it is: Keras, which reverses the padding too, puts a
padded sequence's real outputs last instead), an initial_state, and `lengths` (B,) for
variable-length batches padded at the end; padded steps output zeros, as in PyTorch. Padded steps
change no output and no state, but their x values still meet a zero gradient in ∂L/∂W_x = xᵀ d,
and NaN · 0 = NaN: fit, evaluate and predict replace a non-finite filler with zeros; a layer
called directly needs finite padding (zeros). NaN in a real step propagates through
that sequence only. backward checks dy against the shapes forward returned.

With gradients enabled, the compiled kernels hand back the output sequence read-only: their
backward pass reads each step's h_{t-1} from it instead of keeping a copy
(rnnkit.kernels._previous_state). Copy it before writing into it.
"""

from __future__ import annotations

import numpy as np

from rnnkit import _checks as checks
from rnnkit import grad_mode, kernels
from rnnkit.layers.base import (
    Gradients, Layer, check_array, check_lengths, real_array, reverse_within_lengths,
)
from rnnkit.layers.cell_spec import CellSpec


# Inference projects the inputs about this many bytes of x_proj at a time: a chunk about the
# size of a core's L2 is still in cache when the cell reads it, and at least _CHUNK_ROWS rows
# keep the projection GEMM efficient. Measured here (BENCHMARKS.md): LSTM inference at
# (64, 100, 64, 128) 13.3 ms against 14.3 for one projection of all T steps; at
# (64, 100, 128, 256) 39.3 against 41.1. Training keeps one whole projection: the kernels'
# caches are written for all T steps in one call.
_CHUNK_BYTES = 1 << 20
_CHUNK_ROWS = 512


def _project(x, W_x, b_x):
    """x (B, T, F) @ W_x + b_x -> (B, T, G), every step in one 2-D GEMM; the bias added in place
    (no second (B, T, G) array). (NumPy runs a 3-D @ 2-D product as B small GEMMs.)"""
    B, T, F = x.shape
    x_proj = (x.reshape(B * T, F) @ W_x).reshape(B, T, W_x.shape[1])  # -1 fails for B = 0
    x_proj += b_x
    return x_proj


class Recurrent(Layer):
    """Runs the cell `cell` (a CellSpec) with `units` = H over x (B, T, F) and returns the last real
    step's h (B, H), or every step's (B, T, H) with return_sequences; with return_state the tuple
    (y, h_T), or (y, h_T, c_T) for LSTM. forward also takes `lengths` (B,) and `initial_state`
    ((B, H), or (h0, c0) for LSTM). SimpleRNN, LSTM and GRU build one; init is "keras" or "torch".
    The module docstring covers padding and go_backwards."""
    kind = "Recurrent"

    def __init__(
        self,
        cell: CellSpec,
        units: int,
        *,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        init: str = "keras",
        **base,
    ):
        self.cell = cell  # first: display_name reads it, for the error on an unknown option
        super().__init__(**base)
        self.units = checks.integer("units", units)
        self.return_sequences = return_sequences
        self.return_state = return_state
        self.go_backwards = go_backwards
        self.init = init
        cell.init_params(1, 1, init, np.random.default_rng(0), np.float64)  # validates `init` now

    @property
    def display_name(self) -> str:
        return self.cell.display_name

    def make_params(self, input_shape, rng):
        if len(input_shape) != 2:
            # x of shape (N, T) reaches here as samples of shape (T,): say what is missing
            hint = (": its samples have no feature axis; give x[..., None] for one feature per step, or "
                    "put an Embedding first for token ids" if len(input_shape) == 1 else "")
            raise ValueError(
                f"{self.display_name} builds from input_shape (T, F), one sample's shape without the "
                f"batch axis (T may be None); got {input_shape}{hint}"
            )
        return self.cell.init_params(input_shape[-1], self.units, self.init, rng, self.dtype)

    def output_shape(self, input_shape):
        T = input_shape[0]
        out = (T, self.units) if self.return_sequences else (self.units,)
        return out

    def output_lengths(self, x, lengths):
        return lengths if self.return_sequences else None

    @property
    def single_output(self) -> bool:
        return not self.return_state

    def check_initial_state(self, initial_state, B: int, name: str = "initial_state"):
        """(the state tuple, each (B, H) in the layer's dtype, zeros for None; how it was given),
        or a ValueError naming `name` for a wrong count or shape."""
        H, n = self.units, self.cell.state_size
        if initial_state is None:
            return tuple(np.zeros((B, H), dtype=self.dtype) for _ in range(n)), None
        if not isinstance(initial_state, (np.ndarray, tuple, list)):
            raise ValueError(
                f"{name} must be {n} array(s) of shape (B, H) = ({B}, {H}) for {self.display_name} "
                f"(a tuple or list; one array alone for a one-state cell), got {type(initial_state).__name__}"
            )
        states = (initial_state,) if isinstance(initial_state, np.ndarray) else tuple(initial_state)
        if len(states) != n:
            raise ValueError(
                f"{name} must hold {n} array(s) of shape (B, H) = ({B}, {H}) for "
                f"{self.display_name}, got {len(states)}"
            )
        checked = []
        for s in states:
            s = real_array(s, name, self.dtype)
            if s.shape != (B, H):
                raise ValueError(f"{name} arrays must have shape (B, H) = ({B}, {H}), got {s.shape}")
            checked.append(s)
        # remember the form it came in, so its gradient can be handed back in the same form
        return tuple(checked), ("array" if isinstance(initial_state, np.ndarray) else "tuple")

    def forward(self, x, *, lengths=None, initial_state=None, training=False, rng=None):
        self.require_built()
        p = self.params
        x = check_array(x, "x", 3, p["W_x"].shape[0], dtype=self.dtype)
        B, T, _ = x.shape
        if T == 0:
            raise ValueError(f"x must hold at least one time step (T >= 1), got shape {x.shape}")
        lengths = check_lengths(lengths, B, T)
        state0, given_as = self.check_initial_state(initial_state, B)
        if self.go_backwards:
            x = reverse_within_lengths(x, lengths)
        b_x, b_h = (p["b"], None) if "b" in p else (p["b_x"], p["b_h"])
        impl = kernels.select(self.cell.family)
        if grad_mode.is_grad_enabled():
            x_proj = _project(x, p["W_x"], b_x)
            hs, state_T, cell_cache = impl.forward(x_proj, state0, p["W_h"], b_h, lengths, **self.cell.variant)
        else:
            hs, state_T = self._infer_in_chunks(impl, x, state0, b_x, b_h, lengths)
            cell_cache = None
        y = hs if self.return_sequences else state_T[0]
        out = (y, *state_T) if self.return_state else y
        return out, (impl, cell_cache, x, lengths, given_as)

    def _infer_in_chunks(self, impl, x, state0, b_x, b_h, lengths):
        """Forward without a backward cache, projecting the inputs a chunk of steps at a time:
        the whole (B, T, G) projection never exists, and each chunk is still in cache when the
        cell reads it. The state carries over between chunks, and every element goes through the
        same arithmetic as in one pass over all T steps (the same bits with NumPy's OpenBLAS:
        tests/layers/test_recurrent.py checks it)."""
        B, T, _ = x.shape
        G = self.params["W_h"].shape[1]
        chunk = min(T, max(-(-_CHUNK_ROWS // max(1, B)), _CHUNK_BYTES // max(1, B * G * x.itemsize)))
        if chunk == T:  # one pass, no copy
            return impl.forward(_project(x, self.params["W_x"], b_x), state0, self.params["W_h"], b_h,
                                lengths, keep_cache=False, **self.cell.variant)[:2]
        hs = np.empty((B, T, self.units), dtype=x.dtype)
        state = state0
        for t0 in range(0, T, chunk):
            t1 = min(T, t0 + chunk)
            steps = None if lengths is None else np.clip(lengths - t0, 0, t1 - t0)
            hs[:, t0:t1], state, _ = impl.forward(_project(x[:, t0:t1], self.params["W_x"], b_x), state,
                                                  self.params["W_h"], b_h, steps, keep_cache=False,
                                                  **self.cell.variant)
        return hs, state

    # -- step by step ----------------------------------------------------------------------
    def zero_state(self, batch_size: int) -> tuple[np.ndarray, ...]:
        """Zeros, one (B, H) array per state: (h,) or, for LSTM, (h, c)."""
        return self.check_initial_state(None, batch_size)[0]

    def step(self, x_t, state=None):
        """One time step: x_t (B, F) and the state after the previous step (None: zeros) ->
        (h_t (B, H), new state tuple). It runs the very cell code of `forward` with T = 1, so a
        sequence fed step by step gives forward's outputs, with O(1) work per step."""
        if self.go_backwards:
            raise ValueError(f"{self.display_name} with go_backwards=True reads each sequence from its end: "
                             "it needs the whole sequence and cannot be run step by step")
        p = self.params
        x_t = check_array(x_t, "x_t", 2, p["W_x"].shape[0], dtype=self.dtype)
        state0, _ = self.check_initial_state(state, x_t.shape[0], "state")
        b_x, b_h = (p["b"], None) if "b" in p else (p["b_x"], p["b_h"])
        x_proj = _project(x_t[:, None], p["W_x"], b_x)  # (B, 1, G)
        impl = kernels.select(self.cell.family)
        hs, state_t, _ = impl.forward(x_proj, state0, p["W_h"], b_h, None, keep_cache=False, **self.cell.variant)
        return hs[:, 0], tuple(state_t)

    def backward(self, dy, cache) -> Gradients:
        impl, cell_cache, x, lengths, given_as = cache
        if cell_cache is None:
            raise RuntimeError(f"{self.display_name}: its forward pass ran under rnnkit.no_grad(), which keeps "
                               "nothing for backward; run the forward outside no_grad() to get gradients")
        B, T, F = x.shape
        dy, *d_states = self._check_dy(dy, B, T)
        if self.return_sequences:
            d_hs = dy
        else:
            d_hs = None
            if dy is not None:
                d_states[0] = dy if d_states[0] is None else d_states[0] + dy
        g = impl.backward(d_hs, tuple(d_states), cell_cache)
        G = g.x_proj.shape[-1]
        d_x_proj = g.x_proj.reshape(B * T, G)
        grads = {
            "W_x": x.reshape(B * T, F).T @ d_x_proj,
            "W_h": g.W_h,
        }
        db_x = d_x_proj.sum(axis=0)
        if "b" in self.params:
            grads["b"] = db_x
        else:
            grads["b_x"] = db_x
            grads["b_h"] = g.b_h if g.b_h is not None else np.zeros_like(self.params["b_h"])
        # one 2-D GEMM: NumPy runs a 3-D @ 2-D product as B small ones
        dx = (d_x_proj @ self.params["W_x"].T).reshape(B, T, F)
        if self.go_backwards:
            dx = reverse_within_lengths(dx, lengths)
        d_state0 = {None: None, "array": g.state0[0], "tuple": g.state0}[given_as]
        steps = g.steps
        if steps is not None and self.go_backwards:
            steps = tuple(reverse_within_lengths(s, lengths) for s in steps)
        return Gradients(dx, grads, d_state0, steps)

    def _check_dy(self, dy, B: int, T: int) -> list:
        """[d_output, *d_states] from backward's dy, each None (that output was not used) or a
        real array of exactly its output's shape, else a ValueError naming it: the compiled
        kernels index dy without bounds checks, so a wrong shape must never reach them."""
        H, n = self.units, self.cell.state_size
        out_shape, out_letters = ((B, T, H), "(B, T, H)") if self.return_sequences else ((B, H), "(B, H)")
        if self.return_state:
            if not isinstance(dy, (tuple, list)) or len(dy) != 1 + n:
                got = f"{len(dy)} entries" if isinstance(dy, (tuple, list)) else type(dy).__name__
                raise ValueError(f"dy must hold {1 + n} gradients, for the output and each final state as "
                                 f"forward returned them (return_state=True; None for an unused one), got {got}")
            parts = [("dy[0]", dy[0], out_shape, out_letters)]
            parts += [(f"dy[{k}]", d, (B, H), "(B, H)") for k, d in enumerate(dy[1:], 1)]
        else:
            parts = [("dy", dy, out_shape, out_letters)]
        checked = []
        for name, d, shape, letters in parts:
            if d is not None:
                d = real_array(d, name, self.dtype)
                if d.shape != shape:
                    raise ValueError(f"{name} must have the shape of its output {letters} = {shape}, got {d.shape}")
            checked.append(d)
        if not self.return_state:
            checked += [None] * n
        return checked

    def param_formula(self) -> str:
        return self.cell.formula()

    def get_config(self) -> dict:
        return {
            "cell": self.cell.get_config(),
            "units": self.units,
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "init": self.init,
            **super().get_config(),
        }

    @classmethod
    def from_config(cls, config: dict) -> "Recurrent":
        """The (unbuilt) layer that get_config described, its cell given as a dict."""
        config = dict(config)
        cell = CellSpec(**config.pop("cell"))
        return cls(cell, **config)


def SimpleRNN(units: int, activation: str = "tanh", *, bias: str = "one", **options) -> Recurrent:
    """h_t = φ(x_t W_x + h_{t-1} W_h + b); Keras' SimpleRNN (bias='two' for PyTorch's nn.RNN).

    A Recurrent layer (this is a function, not a class) with `units` = H: x (B, T, F) -> h (B, H),
    or (B, T, H) with return_sequences. options: Recurrent's (return_sequences, return_state,
    go_backwards, init) and Layer's (name, seed, dtype)."""
    return Recurrent(CellSpec("rnn", bias=bias, activation=activation), units, **options)


def LSTM(units: int, *, bias: str = "one", unit_forget_bias: bool | None = None, **options) -> Recurrent:
    """LSTM, gates i, f, g, o; bias='one' as in Keras, 'two' as in seed 001 and PyTorch.

    A Recurrent layer (this is a function, not a class) with `units` = H: x (B, T, F) -> h (B, H),
    or (B, T, H) with return_sequences. options: Recurrent's (return_sequences, return_state,
    go_backwards, init) and Layer's (name, seed, dtype)."""
    return Recurrent(CellSpec("lstm", bias=bias, unit_forget_bias=unit_forget_bias), units, **options)


def GRU(units: int, *, reset_after: bool = True, bias: str | None = None, **options) -> Recurrent:
    """GRU, gates r, z, n; reset_after=True as in PyTorch/Keras, False as in Cho 2014 / seed 001.

    A Recurrent layer (this is a function, not a class) with `units` = H: x (B, T, F) -> h (B, H),
    or (B, T, H) with return_sequences. options: Recurrent's (return_sequences, return_state,
    go_backwards, init) and Layer's (name, seed, dtype)."""
    return Recurrent(CellSpec("gru", bias=bias, reset_after=reset_after), units, **options)
