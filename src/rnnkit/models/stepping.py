"""Running a model one time step at a time (stateful inference), for generation and decoding.

    state = model.initial_state(B)            # one entry per layer (None for stateless layers)
    y_t, state = model.step(x_t, state)       # x_t (B, F) floats or (B,) ids -> y_t (B, C)

Each layer's ``step(x_t, state) -> (y_t, new_state)`` does O(1) work per step: a recurrent
layer runs its cell's own forward over a single step (T = 1) from the state it is given, so
feeding a sequence step by step gives the outputs of ``model.forward`` on the whole sequence
(tests/models/test_stepping.py checks it to 1e-12 in float64 for every cell, stacked). A
recurrent layer that returns only its last step still yields its h_t at every step, which is
what the model would output if the sequence ended there. Stepping is inference: dropout is off.
Layers that must see the whole sequence (Bidirectional, go_backwards) raise a ValueError, and
so does an Embedding with mask_zero given its padding id 0 (forward would skip that step).
"""

from __future__ import annotations

import numpy as np

from rnnkit import _checks as checks


def initial_state(model, batch_size: int) -> list:
    """The state before the first step: one entry per layer (zeros, or None when stateless)."""
    if not model.built:
        raise RuntimeError("the model is not built yet: give input_shape, or fit/predict once, before stepping")
    checks.integer("batch_size", batch_size)
    return [layer.zero_state(int(batch_size)) for layer in model.layers]


def step(model, x_t, state=None):
    """One time step of every layer: x_t (B, F) or ids (B,) -> (y_t, new state per layer)."""
    x_t = np.asarray(x_t)
    if state is None:
        state = initial_state(model, x_t.shape[0])
    if len(state) != len(model.layers):
        raise ValueError(f"state must hold one entry per layer ({len(model.layers)}), got {len(state)}")
    new_state = []
    for layer, s in zip(model.layers, state):
        x_t, s = layer.step(x_t, s)
        new_state.append(s)
    return x_t, new_state


def run_steps(model, x, state=None):
    """Feed x (B, T, F) or ids (B, T) step by step; returns (outputs (B, T, ...), final state)."""
    x = np.asarray(x)
    outputs = []
    for t in range(x.shape[1]):
        y_t, state = step(model, x[:, t], state)
        outputs.append(y_t)
    return np.stack(outputs, axis=1), state
