"""Bidirectional wrapper: two independent recurrent layers, one reading each sequence forwards
and one reading it backwards from its own last real step (seed 002–004); no connection between
them. Their outputs are merged per step (or at the end) by concat, sum, mul, ave, or returned
as a pair (merge_mode=None)."""

from __future__ import annotations

import numpy as np

from rnnkit.layers.base import (
    Gradients, Layer, as_generator, prefixed, real_array, reverse_within_lengths, set_dtype,
)
from rnnkit.layers.recurrent import Recurrent

MERGE_MODES = ("concat", "sum", "mul", "ave", None)


class Bidirectional(Layer):
    """`layer` (a SimpleRNN, LSTM or GRU) next to a copy of it that reads each sequence backwards
    from its own last real step, the two outputs merged: x (B, T, F) -> (B, T, 2H) or (B, 2H) with
    merge_mode="concat"; H wide with "sum", "mul" or "ave"; the pair [forward, backward] with None.
    With return_state the forward layer's states follow y, then the backward one's; forward's
    initial_state takes that flat list or a (state_forward, state_backward) pair."""
    kind = "Bidirectional"

    def __init__(self, layer: Recurrent, merge_mode: str | None = "concat", **base):
        if not isinstance(layer, Recurrent):
            raise TypeError(f"layer must be a recurrent layer (SimpleRNN, LSTM, GRU), got {type(layer).__name__}")
        if merge_mode not in MERGE_MODES:
            raise ValueError(f"merge_mode must be one of {MERGE_MODES}, got {merge_mode!r}")
        base.setdefault("dtype", layer.dtype)
        # Bidirectional(LSTM(8, seed=3)) builds the same weights every time, as LSTM(8, seed=3) does
        base.setdefault("seed", layer.seed)
        self.forward_layer = layer  # first: display_name reads it, for the error on an unknown option
        super().__init__(**base)
        self.merge_mode = merge_mode
        config = layer.get_config()
        config["go_backwards"] = not config["go_backwards"]
        self.backward_layer = Recurrent.from_config(config)
        set_dtype(self, self.dtype)  # Bidirectional(GRU(3), dtype="float64"): both directions float64
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.units = layer.units

    @property
    def display_name(self) -> str:
        return f"Bidirectional({self.forward_layer.display_name})"

    def sublayers(self):
        return [self.forward_layer, self.backward_layer]

    def build(self, input_shape, rng=None):
        rng = as_generator(self.seed if rng is None else rng)
        self.input_shape = tuple(input_shape)
        self.forward_layer.build(input_shape, rng)
        self.backward_layer.build(input_shape, rng)
        self.params = prefixed({"forward": self.forward_layer, "backward": self.backward_layer})

    def output_shape(self, input_shape):
        inner = self.forward_layer.output_shape(input_shape)
        if self.merge_mode == "concat":
            return (*inner[:-1], 2 * inner[-1])
        return inner

    def output_lengths(self, x, lengths):
        return self.forward_layer.output_lengths(x, lengths)

    @property
    def single_output(self) -> bool:
        return not self.return_state and self.merge_mode is not None

    def _split_state(self, initial_state):
        """(state_forward, state_backward) and whether they came flat: as a pair, or as the flat
        list [*state_forward, *state_backward] that return_state gives (and Keras takes)."""
        if initial_state is None:
            return (None, None), False
        n = self.forward_layer.cell.state_size
        if isinstance(initial_state, np.ndarray):  # rows of a torch-style (2, B, H) array, or of anything
            raise ValueError(f"initial_state must be (state_forward, state_backward) or the flat list of {2 * n} "
                             f"arrays that return_state gives, as a tuple or list, got one array of shape "
                             f"{initial_state.shape}")
        if not isinstance(initial_state, (tuple, list)):
            raise ValueError(f"initial_state must be (state_forward, state_backward) or the flat list of "
                             f"{2 * n} arrays that return_state gives, got {type(initial_state).__name__}")
        states = list(initial_state)
        if n > 1 and len(states) == 2 * n:
            return (tuple(states[:n]), tuple(states[n:])), True
        if len(states) != 2:
            raise ValueError(f"initial_state must be (state_forward, state_backward) or the flat list of "
                             f"{2 * n} arrays that return_state gives, got {len(states)} entries")
        return (states[0], states[1]), False

    def forward(self, x, *, lengths=None, initial_state=None, training=False, rng=None):
        (state_f, state_b), flat = self._split_state(initial_state)
        out_f, cache_f = self.forward_layer.forward(x, lengths=lengths, initial_state=state_f)
        out_b, cache_b = self.backward_layer.forward(x, lengths=lengths, initial_state=state_b)
        (y_f, *st_f), (y_b, *st_b) = (out_f, out_b) if self.return_state else ((out_f,), (out_b,))
        lengths = cache_f[3]  # validated by the inner layer
        if self.return_sequences:  # put the backward reader's outputs back in time order
            y_b = reverse_within_lengths(y_b, lengths)
        y = self._merge(y_f, y_b)
        out = (y, *st_f, *st_b) if self.return_state else y
        return out, (cache_f, cache_b, y_f, y_b, lengths, flat)

    def step(self, x_t, state=None):
        raise ValueError("a Bidirectional layer reads each sequence from its end too, so it needs the whole "
                         "sequence: it cannot be run step by step (use forward, or a unidirectional layer)")

    def _merge(self, y_f, y_b):
        if self.merge_mode == "concat":
            return np.concatenate([y_f, y_b], axis=-1)
        if self.merge_mode == "sum":
            return y_f + y_b
        if self.merge_mode == "mul":
            return y_f * y_b
        if self.merge_mode == "ave":
            return (y_f + y_b) / 2
        return [y_f, y_b]

    def _check_dy(self, dy, y_f, name: str):
        """dy as the merged output's shape (a pair of per-direction shapes for merge_mode=None),
        else a ValueError naming it and that shape."""
        if dy is None:
            return None
        shape = y_f.shape
        letters = "(B, T, H)" if len(shape) == 3 else "(B, H)"
        if self.merge_mode is None:
            if not isinstance(dy, (tuple, list)) or len(dy) != 2:
                raise ValueError(f"{name} must be a pair (forward, backward) of gradients of shape {letters} = "
                                 f"{shape}, as merge_mode=None returns them, got {type(dy).__name__}")
            parts = [real_array(d, name, self.dtype) if d is not None else None for d in dy]
            for d in parts:
                if d is not None and d.shape != shape:
                    raise ValueError(f"{name} must hold two gradients of shape {letters} = {shape}, got {d.shape}")
            return parts
        if self.merge_mode == "concat":
            shape, letters = (*shape[:-1], 2 * shape[-1]), letters.replace("H)", "2H)")
        dy = real_array(dy, name, self.dtype)
        if dy.shape != shape:
            raise ValueError(f"{name} must have the shape of the merged output {letters} = {shape}, got {dy.shape}")
        return dy

    def _unmerge(self, dy, y_f, y_b):
        if dy is None:
            return None, None
        if self.merge_mode == "concat":
            H = y_f.shape[-1]
            return dy[..., :H], dy[..., H:]
        if self.merge_mode == "sum":
            return dy, dy
        if self.merge_mode == "mul":
            return dy * y_b, dy * y_f
        if self.merge_mode == "ave":
            return dy / 2, dy / 2
        return dy[0], dy[1]

    def backward(self, dy, cache) -> Gradients:
        cache_f, cache_b, y_f, y_b, lengths, flat = cache
        n = self.forward_layer.cell.state_size
        if self.return_state:
            if not isinstance(dy, (tuple, list)) or not 1 <= len(dy) <= 1 + 2 * n:
                got = f"{len(dy)} entries" if isinstance(dy, (tuple, list)) else type(dy).__name__
                raise ValueError(f"dy must hold the output's gradient and up to {2 * n} for the final states, "
                                 f"as forward returned them (return_state=True; None for an unused one), got {got}")
            dy, *d_states = dy
            d_states = [*d_states, *[None] * (2 * n - len(d_states))]
        dy = self._check_dy(dy, y_f, "dy[0]" if self.return_state else "dy")
        dy_f, dy_b = self._unmerge(dy, y_f, y_b)
        if self.return_sequences and dy_b is not None:
            dy_b = reverse_within_lengths(dy_b, lengths)
        if self.return_state:
            dy_f, dy_b = (dy_f, *d_states[:n]), (dy_b, *d_states[n:])
        g_f = self.forward_layer.backward(dy_f, cache_f)
        g_b = self.backward_layer.backward(dy_b, cache_b)
        grads = {**{f"forward.{k}": v for k, v in g_f.params.items()},
                 **{f"backward.{k}": v for k, v in g_b.params.items()}}
        d_state0 = None
        if g_f.initial_state is not None or g_b.initial_state is not None:
            d_state0 = (g_f.initial_state, g_b.initial_state)
            if flat:  # as it was given
                d_state0 = (*d_state0[0], *d_state0[1])
        steps = None
        if g_f.state_steps is not None and g_b.state_steps is not None:
            steps = {"forward": g_f.state_steps, "backward": g_b.state_steps}
        return Gradients(g_f.dx + g_b.dx, grads, d_state0, steps)

    def count_params(self) -> int:
        return self.forward_layer.count_params() + self.backward_layer.count_params()

    def param_formula(self) -> str:
        return "2 × " + self.forward_layer.param_formula()

    def get_config(self):
        return {
            "layer": {"type": "Recurrent", "config": self.forward_layer.get_config()},
            "merge_mode": self.merge_mode,
            **super().get_config(),
        }
