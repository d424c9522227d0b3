"""A deep RNN (seed 002): recurrent layers stacked so that each layer's output sequence is the
next layer's input, with dropout between layers only — at the same time step, never on the
recurrent path (seed 003). Equivalent to torch.nn.RNN/LSTM/GRU with num_layers and dropout."""

from __future__ import annotations

import numpy as np

from rnnkit import _checks as checks
from rnnkit.layers.base import Gradients, Layer, as_generator, prefixed, set_dtype
from rnnkit.layers.bidirectional import Bidirectional
from rnnkit.layers.cell_spec import CellSpec
from rnnkit.layers.dropout import Dropout
from rnnkit.layers.options import refuse_unknown
from rnnkit.layers.recurrent import Recurrent


class Stack(Layer):
    """Recurrent (or Bidirectional) layers, each reading the previous one's output sequence, with
    Dropout(`dropout`) between them only: x (B, T, F) -> what the last layer returns. Every layer
    but the last needs return_sequences=True; `stacked(...)` builds one from a cell name."""
    kind = "Stack"

    def __init__(self, layers: list[Layer], *, dropout: float = 0.0, **base):
        if not layers:
            raise ValueError("layers must hold at least one recurrent layer")
        for i, layer in enumerate(layers):
            if not isinstance(layer, (Recurrent, Bidirectional)):
                raise TypeError(f"layers[{i}] must be a recurrent or Bidirectional layer, got {type(layer).__name__}")
            if i < len(layers) - 1 and not layer.return_sequences:
                raise ValueError(f"layers[{i}] must have return_sequences=True to feed the next layer")
            if i < len(layers) - 1 and getattr(layer, "merge_mode", "") is None:
                raise ValueError(f"layers[{i}] must merge its two directions (merge_mode other than None) "
                                 "to feed the next layer")
            if layer.return_state != layers[-1].return_state:
                raise ValueError("every layer of a Stack must share the same return_state")
        base.setdefault("dtype", layers[0].dtype)
        super().__init__(**base)
        self.layers = list(layers)
        self.dropout = Dropout(dropout, dtype=self.dtype, seed=self.seed)
        set_dtype(self, self.dtype)  # Stack([...], dtype="float64"): every layer in it float64
        self.return_sequences = layers[-1].return_sequences
        self.return_state = layers[-1].return_state

    def _children(self):
        return {str(i): layer for i, layer in enumerate(self.layers)}

    def sublayers(self):
        return [*self.layers, self.dropout]

    def build(self, input_shape, rng=None):
        # with no seed or generator of its own, each layer builds from its own seed (LSTM(8, seed=3))
        own_seeds = rng is None and self.seed is None
        rng = None if own_seeds else as_generator(self.seed if rng is None else rng)
        self.input_shape = tuple(input_shape)
        shape = self.input_shape
        for layer in self.layers:
            layer.build(shape, rng)
            shape = layer.output_shape(shape)
        self.params = prefixed(self._children())

    def output_shape(self, input_shape):
        for layer in self.layers:
            input_shape = layer.output_shape(input_shape)
        return input_shape

    def output_lengths(self, x, lengths):
        return self.layers[-1].output_lengths(x, lengths)

    @property
    def single_output(self) -> bool:
        return self.layers[-1].single_output

    def _state_count(self, layer) -> int:
        n = layer.forward_layer.cell.state_size if isinstance(layer, Bidirectional) else layer.cell.state_size
        return 2 * n if isinstance(layer, Bidirectional) else n

    def _per_layer(self, initial_state) -> list:
        """initial_state as one entry per layer: given so, or as the flat list return_state gives
        ([*layer 0's final states, *layer 1's, ...]), which is regrouped. A torch-style
        (L·D, B, H) array is neither, and is refused rather than read row by row."""
        count = len(self.layers)
        if initial_state is None:
            return [None] * count
        sizes = [self._state_count(layer) for layer in self.layers]
        listed = isinstance(initial_state, (tuple, list))
        if listed and not any(isinstance(s, np.ndarray) and s.ndim == 3 for s in initial_state):
            if len(initial_state) == count:
                return list(initial_state)
            if len(initial_state) == sum(sizes):
                flat, grouped = list(initial_state), []
                for n in sizes:
                    grouped.append(flat[0] if n == 1 else tuple(flat[:n]))
                    flat = flat[n:]
                return grouped
        got = f"{len(initial_state)} entries" if listed else type(initial_state).__name__
        shapes = [s.shape for s in initial_state if isinstance(s, np.ndarray)] if listed else []
        if any(len(shape) == 3 for shape in shapes):
            got += f" of shapes {shapes} (PyTorch's (layers·directions, B, H) layout: give layer l's states, " \
                   "h0[l] (and c0[l]), or h0[2l], h0[2l+1] forward and backward, as that layer's entry)"
        raise ValueError(f"initial_state must hold one entry per layer ({count}), each what that layer takes "
                         f"(or None), or the flat list of {sum(sizes)} arrays that return_state gives; got {got}")

    def forward(self, x, *, lengths=None, initial_state=None, training=False, rng=None):
        """x (B, T, F) -> what the last layer returns; with return_state, followed by the final
        states of every layer, bottom to top, each layer's as it returns them ((h, c) for an LSTM;
        forward then backward for a Bidirectional). initial_state: one entry per layer, each what
        that layer takes (or None), or that flat list of final states."""
        states = self._per_layer(initial_state)
        # one stream for every dropout between layers (an int rng would repeat one mask); without an
        # rng the Dropout draws from its own seed's stream
        rng = as_generator(rng) if training and self.dropout.rate and rng is not None else None
        caches, finals = [], []
        for i, layer in enumerate(self.layers):
            drop_cache = None
            if i > 0:
                x, drop_cache = self.dropout.forward(x, training=training, rng=rng)
            out, cache = layer.forward(x, lengths=lengths, initial_state=states[i])
            if self.return_state:
                x, *final = out
                finals.extend(final)
            else:
                x = out
            caches.append((drop_cache, cache))
        return ((x, *finals) if self.return_state else x), caches

    def zero_state(self, batch_size: int) -> list:
        """One entry per layer: that layer's zero state."""
        return [layer.zero_state(batch_size) for layer in self.layers]

    def step(self, x_t, state=None):
        """One time step through every layer (inference: no dropout): x_t (B, F) and one state per
        layer (None: zeros) -> (the top layer's h_t (B, H), the new states, one per layer)."""
        if state is not None and len(state) != len(self.layers):
            raise ValueError(f"state must hold one entry per layer ({len(self.layers)}), got {len(state)}")
        states = state or [None] * len(self.layers)
        new_states = []
        for layer, s in zip(self.layers, states):
            x_t, s = layer.step(x_t, s)
            new_states.append(s)
        return x_t, new_states

    def backward(self, dy, cache) -> Gradients:
        end = sum(self._state_count(layer) for layer in self.layers)
        if self.return_state:
            if not isinstance(dy, (tuple, list)) or not 1 <= len(dy) <= 1 + end:
                got = f"{len(dy)} entries" if isinstance(dy, (tuple, list)) else type(dy).__name__
                raise ValueError(f"dy must hold the output's gradient and up to {end} for the layers' final "
                                 "states, as forward returned them (return_state=True; None for an unused one), "
                                 f"got {got}")
            dy, *d_finals = dy
        grads, d_states, steps = {}, [None] * len(self.layers), [None] * len(self.layers)
        for i in reversed(range(len(self.layers))):
            layer = self.layers[i]
            drop_cache, layer_cache = cache[i]
            if self.return_state:
                start = end - self._state_count(layer)
                dy = (dy, *[d_finals[k] if k < len(d_finals) else None for k in range(start, end)])
                end = start
            g = layer.backward(dy, layer_cache)
            grads.update({f"{i}.{k}": v for k, v in g.params.items()})
            d_states[i] = g.initial_state
            steps[i] = g.state_steps
            dy = g.dx if i == 0 else self.dropout.backward(g.dx, drop_cache).dx
        initial = d_states if any(s is not None for s in d_states) else None
        return Gradients(dy, grads, initial, steps)

    def count_params(self) -> int:
        return sum(layer.count_params() for layer in self.layers)

    def param_formula(self) -> str:
        return " + ".join(f"[{layer.param_formula()}]" for layer in self.layers)

    def get_config(self):
        from rnnkit.layers.registry import serialize

        return {"layers": [serialize(layer) for layer in self.layers], "dropout": self.dropout.rate,
                **super().get_config()}


def stacked(cell: CellSpec | str, units: int, num_layers: int = 1, *, bidirectional: bool = False,
            dropout: float = 0.0, return_sequences: bool = True, return_state: bool = False,
            init: str = "keras", dtype=None, seed=None, **cell_options) -> Stack:
    """The PyTorch-style recurrent block: `num_layers` layers of `cell`, optionally bidirectional
    (concat), dropout between layers. `cell` is a CellSpec or 'rnn' | 'lstm' | 'gru' (then
    cell_options: bias, activation, reset_after, unit_forget_bias). The weights are Keras's layout
    by default (one bias per gate, init="keras"); bias="two", init="torch" give nn.LSTM/GRU/RNN's
    (b_x = bias_ih, b_h = bias_hh, W_x = weight_ih.T, W_h = weight_hh.T, the same gate order). Returns a Stack: x (B, T, F) ->
    (B, T, H), 2H wide if bidirectional; (B, H) or (B, 2H) with return_sequences=False."""
    num_layers = checks.integer("num_layers", num_layers)
    refuse_unknown("stacked", {k: v for k, v in cell_options.items()
                               if k not in ("bias", "activation", "reset_after", "unit_forget_bias")})
    spec = cell if isinstance(cell, CellSpec) else CellSpec(cell, **cell_options)
    extra = {} if dtype is None else {"dtype": dtype}
    layers = []
    for i in range(num_layers):
        last = i == num_layers - 1
        layer = Recurrent(spec, units, return_sequences=return_sequences or not last,
                          return_state=return_state, init=init, **extra)
        layers.append(Bidirectional(layer) if bidirectional else layer)
    return Stack(layers, dropout=dropout, seed=seed, **extra)
