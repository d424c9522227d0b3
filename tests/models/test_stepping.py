"""Step-by-step (stateful) runs equal full-sequence runs, float64, to 1e-12: every cell variant,
one and two stacked layers, ids or vectors in, both backends; layers that need the whole
sequence refuse to step."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import rnnkit
from tests.cell_variants import VARIANTS
from rnnkit import Sequential
from rnnkit.layers import LSTM, Bidirectional, Dense, Dropout, Embedding, Recurrent, SimpleRNN, stacked
from rnnkit.models.stepping import run_steps

B, T, F, H, V = 3, 7, 4, 5, 6


def randomise(model, rng):
    for p in model.params.values():  # non-zero biases: every path of the cell is exercised
        p[...] = rng.uniform(-0.7, 0.7, size=p.shape)


@pytest.mark.parametrize("variant,num_layers,ids,backend",
                         list(itertools.product(VARIANTS, [1, 2], [False, True], ["reference", "auto"])))
def test_step_by_step_equals_full_sequence(variant, num_layers, ids, backend):
    rng = np.random.default_rng(len(variant) * 10 + num_layers + 100 * ids)
    head = [Embedding(V, F)] if ids else []
    model = Sequential([*head, stacked(VARIANTS[variant], H, num_layers, dropout=0.3), Dropout(0.2), Dense(V)],
                       seed=1, dtype=np.float64, input_shape=(None,) if ids else (None, F))
    randomise(model, rng)
    x = rng.integers(0, V, size=(B, T)) if ids else rng.normal(size=(B, T, F))
    with rnnkit.backend(backend):
        full, _, _ = model.forward(x)
        stepped, state = run_steps(model, x)
    assert stepped.shape == full.shape == (B, T, V)
    np.testing.assert_allclose(stepped, full, rtol=0, atol=1e-12)
    # the state is all a step needs: the last step from the carried state equals the full run
    again, _ = model.step(x[:, -1], run_steps(model, x[:, :-1])[1])
    np.testing.assert_allclose(again, full[:, -1], rtol=0, atol=1e-12)


@pytest.mark.parametrize("variant", VARIANTS)
def test_step_continues_from_a_forward_final_state(variant):
    """Layer level: forward over a prefix (return_state), then steps, equals forward over all."""
    rng = np.random.default_rng(7)
    layer = Recurrent(VARIANTS[variant], H, return_sequences=True, return_state=True, dtype=np.float64)
    layer.build((None, F), rng=rng)
    randomise(layer, rng)
    x = rng.normal(size=(B, T, F))
    h0 = tuple(rng.normal(size=(B, H)) for _ in range(layer.cell.state_size))
    (full, *final), _ = layer.forward(x, initial_state=h0)
    (prefix, *state), _ = layer.forward(x[:, :3], initial_state=h0)
    state = tuple(state)
    for t in range(3, T):
        y_t, state = layer.step(x[:, t], state)
        np.testing.assert_allclose(y_t, full[:, t], rtol=0, atol=1e-12)
    for a, b in zip(state, final):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


def test_many_to_one_model_steps_to_its_output():
    rng = np.random.default_rng(3)
    model = Sequential([LSTM(H), Dense(2)], seed=0, dtype=np.float64, input_shape=(None, F))
    randomise(model, rng)
    x = rng.normal(size=(B, T, F))
    last, _, _ = model.forward(x)
    stepped, _ = run_steps(model, x)
    np.testing.assert_allclose(stepped[:, -1], last, rtol=0, atol=1e-12)
    prefix, _, _ = model.forward(x[:, :4])  # the output at step t is the model's on the prefix
    np.testing.assert_allclose(stepped[:, 3], prefix, rtol=0, atol=1e-12)


def test_state_shapes_and_zero_state():
    model = Sequential([Embedding(V, F), stacked("lstm", H, 2), Dense(V)], seed=0, input_shape=(None,))
    state = model.initial_state(B)
    assert state[0] is None and state[2] is None
    assert [tuple(s.shape for s in layer_state) for layer_state in state[1]] == [((B, H), (B, H))] * 2
    y, new = model.step(np.zeros(B, dtype=np.int64), state)
    assert y.shape == (B, V) and y.dtype == np.float32
    assert [tuple(s.shape for s in layer_state) for layer_state in new[1]] == [((B, H), (B, H))] * 2
    assert all(np.all(s == 0) for layer_state in state[1] for s in layer_state)  # the input state is untouched


def test_layers_that_need_the_whole_sequence_refuse_to_step():
    bi = Sequential([Bidirectional(SimpleRNN(H)), Dense(2)], seed=0, input_shape=(None, F))
    with pytest.raises(ValueError, match="Bidirectional.*cannot be run step by step"):
        bi.step(np.zeros((B, F)))
    deep_bi = Sequential([stacked("gru", H, 2, bidirectional=True), Dense(2)], seed=0, input_shape=(None, F))
    with pytest.raises(ValueError, match="Bidirectional.*cannot be run step by step"):
        deep_bi.step(np.zeros((B, F)))
    backwards = Sequential([SimpleRNN(H, go_backwards=True)], seed=0, input_shape=(None, F))
    with pytest.raises(ValueError, match="go_backwards.*cannot be run step by step"):
        backwards.step(np.zeros((B, F)))
    with pytest.raises(ValueError, match="one entry per layer"):
        bi.step(np.zeros((B, F)), [None])


def test_stepping_refuses_the_padding_id_of_a_mask_zero_embedding():
    # forward keeps a sequence's state over its padding; a step would run the state over id 0
    model = Sequential([Embedding(5, 3, mask_zero=True), SimpleRNN(4), Dense(2)], input_shape=(None,), seed=0)
    y, _ = model.step(np.array([1, 2]))
    assert y.shape == (2, 2)
    with pytest.raises(ValueError, match=r"x_t: id 0 is padding for this Embedding \(mask_zero=True\)"):
        model.step(np.array([1, 0]))
    Sequential([Embedding(5, 3), SimpleRNN(4)], input_shape=(None,), seed=0).step(np.array([0, 1]))  # a token there
