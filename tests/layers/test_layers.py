"""The non-recurrent layers, the bidirectional merges, variable-length batching and seed 001's
GRU-as-RNN check, all in float64."""

from __future__ import annotations

import numpy as np
import pytest

import rnnkit
from rnnkit.gradcheck import numerical_gradient, relative_error
from rnnkit.layers import (GRU, LSTM, Activation, Bidirectional, Dense, Dropout, Embedding, SimpleRNN,
                           reverse_within_lengths, stacked)

F64 = {"dtype": np.float64}


def check_layer_gradients(layer, x, lengths=None, tol=1e-6, **forward_kwargs):
    y, cache = layer.forward(x, lengths=lengths, **forward_kwargs)
    R = np.random.default_rng(1).normal(size=np.shape(y))

    def loss():
        return float((layer.forward(x, lengths=lengths, **forward_kwargs)[0] * R).sum())

    g = layer.backward(R, cache)
    for name, p in layer.params.items():
        assert relative_error(g.params[name], numerical_gradient(loss, p)) <= tol, name
    if g.dx is not None:
        assert relative_error(g.dx, numerical_gradient(loss, x)) <= tol, "x"
    return g


@pytest.mark.parametrize("activation", ["linear", "tanh", "relu", "sigmoid", "softmax"])
@pytest.mark.parametrize("shape", [(4, 3), (2, 5, 3)])
def test_dense_gradients(activation, shape):
    rng = np.random.default_rng(0)
    layer = Dense(4, activation, **F64)
    layer.build(shape[1:], rng)
    layer.params["b"][:] = rng.normal(size=4)
    check_layer_gradients(layer, rng.normal(size=shape))


def test_dense_parameter_count_and_per_step_output():
    layer = Dense(10)
    layer.build((28, 40))
    assert layer.count_params() == 40 * 10 + 10
    assert layer(np.ones((2, 28, 40))).shape == (2, 28, 10)


def test_embedding_gradient_accumulates_repeated_ids():
    layer = Embedding(6, 3, **F64)
    layer.build((4,), 0)
    ids = np.array([[1, 2, 1, 0], [5, 5, 5, 5]])
    check_layer_gradients(layer, ids)


def test_embedding_counts_keras_example():
    layer = Embedding(10000, 32)
    layer.build((None,))
    assert layer.count_params() == 320000


def test_embedding_mask_zero_feeds_lengths():
    layer = Embedding(10, 2, mask_zero=True)
    ids = np.array([[3, 4, 0, 0], [1, 2, 3, 4]])
    assert layer.output_lengths(ids, None).tolist() == [2, 4]
    with pytest.raises(ValueError, match="only appear as padding at the end"):
        layer.output_lengths(np.array([[0, 4, 0, 0]]), None)
    with pytest.raises(ValueError, match="x ids must lie in 0..9"):
        layer.build((4,))
        layer.forward(np.array([[10, 1]]))


def test_dropout_scales_kept_units_and_is_identity_at_inference():
    layer = Dropout(0.5, **F64)
    x = np.ones((100, 10, 8))
    y, mask = layer.forward(x, training=True, rng=np.random.default_rng(0))
    assert set(np.unique(y)) <= {0.0, 2.0} and 0.4 < (y > 0).mean() < 0.6
    assert np.array_equal(layer.forward(x)[0], x)
    assert np.array_equal(layer.backward(np.ones_like(x), mask).dx, mask)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
def test_activation_layer_gradients(activation):
    check_layer_gradients(Activation(activation, **F64), np.random.default_rng(3).normal(size=(3, 4, 5)))


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave"])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_bidirectional_merges(merge_mode, return_sequences):
    rng = np.random.default_rng(2)
    layer = Bidirectional(GRU(3, return_sequences=return_sequences, **F64), merge_mode)
    layer.build((5, 2), rng)
    with rnnkit.backend("reference"):
        check_layer_gradients(layer, rng.normal(size=(3, 5, 2)), lengths=np.array([5, 1, 3]))


def test_bidirectional_backward_direction_starts_at_each_sequence_end():
    """The backward reader's last output for a padded sequence equals running it on the unpadded one."""
    rng = np.random.default_rng(4)
    layer = Bidirectional(LSTM(4, return_sequences=True, **F64), merge_mode=None)
    layer.build((6, 3), rng)
    x = rng.normal(size=(2, 6, 3))
    x[1, 2:] = 99.0  # padding garbage must not leak in
    (y_f, y_b) = layer(x, lengths=[6, 2])
    (y_f1, y_b1) = layer(x[1:2, :2])
    np.testing.assert_allclose(y_b[1, :2], y_b1[0], atol=1e-12)
    np.testing.assert_allclose(y_f[1, :2], y_f1[0], atol=1e-12)
    assert np.all(y_b[1, 2:] == 0) and np.all(y_f[1, 2:] == 0)


def test_go_backwards_reverses_within_lengths():
    x = np.arange(2 * 4).reshape(2, 4, 1).astype(float)
    r = reverse_within_lengths(x, np.array([4, 2]))
    assert r[:, :, 0].tolist() == [[3, 2, 1, 0], [5, 4, 6, 7]]
    assert np.array_equal(reverse_within_lengths(r, np.array([4, 2])), x)


@pytest.mark.parametrize("factory", [SimpleRNN, LSTM, GRU])
def test_return_state_gradients(factory):
    rng = np.random.default_rng(5)
    layer = factory(3, return_sequences=True, return_state=True, **F64)
    layer.build((4, 2), rng)
    x = rng.normal(size=(2, 4, 2))
    out, cache = layer.forward(x, lengths=[4, 2])
    Rs = [rng.normal(size=o.shape) for o in out]

    def loss():
        return sum(float((o * r).sum()) for o, r in zip(layer.forward(x, lengths=[4, 2])[0], Rs))

    with rnnkit.backend("reference"):
        g = layer.backward(tuple(Rs), cache)
        assert relative_error(g.dx, numerical_gradient(loss, x)) <= 1e-6
        for name, p in layer.params.items():
            assert relative_error(g.params[name], numerical_gradient(loss, p)) <= 1e-6


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_padded_bucketed_and_one_at_a_time_agree(cell):
    """Loss and gradients of a padded batch with lengths, of batches bucketed by length, and of
    the sequences fed one at a time are the same (seed 002, 2.1.5)."""
    rng = np.random.default_rng(6)
    layer = stacked(cell, 4, 2, bidirectional=True, return_sequences=False, dtype=np.float64)
    layer.build((None, 3), rng)
    lengths = np.array([5, 2, 5, 3, 2, 1])
    seqs = [rng.normal(size=(n, 3)) for n in lengths]
    targets = rng.normal(size=(len(seqs), 8))

    def loss_and_grads(batch_seqs, batch_targets, with_lengths):
        T = max(len(s) for s in batch_seqs)
        x = np.zeros((len(batch_seqs), T, 3))
        for i, s in enumerate(batch_seqs):
            x[i, : len(s)] = s
        lens = np.array([len(s) for s in batch_seqs]) if with_lengths else None
        y, cache = layer.forward(x, lengths=lens)
        loss = 0.5 * float(((y - batch_targets) ** 2).sum())
        return loss, layer.backward(y - batch_targets, cache).params

    def total(parts):
        loss = sum(p[0] for p in parts)
        grads = {k: sum(p[1][k] for p in parts) for k in layer.params}
        return loss, grads

    padded = loss_and_grads(seqs, targets, True)
    one_by_one = total([loss_and_grads([s], targets[i : i + 1], False) for i, s in enumerate(seqs)])
    buckets = total([
        loss_and_grads([seqs[i] for i in np.flatnonzero(lengths == n)], targets[lengths == n], False)
        for n in np.unique(lengths)
    ])
    for other in (one_by_one, buckets):
        assert abs(padded[0] - other[0]) < 1e-12
        for k in layer.params:
            np.testing.assert_allclose(padded[1][k], other[1][k], atol=1e-12)


def test_gru_with_r_one_and_z_zero_is_a_plain_rnn():
    """Seed 001: a reset-before GRU whose reset gate is forced to 1 and update gate to 0 computes
    h_t = tanh(x_t W_xn + h_{t-1} W_hn + b_n): a plain tanh RNN."""
    rng = np.random.default_rng(7)
    F, H = 3, 4
    gru = GRU(H, reset_after=False, return_sequences=True, **F64)
    rnn = SimpleRNN(H, return_sequences=True, **F64)
    gru.build((None, F), rng)
    rnn.build((None, F), rng)
    p = gru.params
    p["W_x"][:, : 2 * H] = 0.0
    p["W_h"][:, : 2 * H] = 0.0
    p["b"][:H] = 1e3  # σ(1e3) == 1.0 exactly in float64
    p["b"][H : 2 * H] = -1e3  # σ(−1e3) == 0.0 exactly
    rnn.params["W_x"][:] = p["W_x"][:, 2 * H :]
    rnn.params["W_h"][:] = p["W_h"][:, 2 * H :]
    rnn.params["b"][:] = p["b"][2 * H :]
    x = rng.normal(size=(2, 7, F))
    np.testing.assert_allclose(gru(x), rnn(x), atol=1e-14, rtol=0)


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda l: l.forward(np.ones((2, 3))), r"x must have 3 dimensions \(B, T, F\)"),
        (lambda l: l.forward(np.ones((2, 3, 5))), "x must have 4 features"),
        (lambda l: l.forward(np.ones((2, 0, 4))), r"x must hold at least one time step \(T >= 1\)"),
        (lambda l: l.forward(np.ones((2, 3, 4)), lengths=[3]), r"lengths must have shape \(B,\) = \(2,\)"),
        (lambda l: l.forward(np.ones((2, 3, 4)), lengths=[3, 0]), "lengths must lie in 1..T = 1..3"),
        (lambda l: l.forward(np.ones((2, 3, 4)), lengths=[4, 1]), "lengths must lie in 1..T = 1..3"),
        (lambda l: l.forward(np.ones((2, 3, 4)), initial_state=(np.zeros((3, 5)),) * 2),
         r"initial_state arrays must have shape \(B, H\) = \(2, 5\)"),
        (lambda l: l.forward(np.ones((2, 3, 4)), initial_state=[np.zeros((2, 5))] * 3),
         r"initial_state must hold 2 array\(s\)"),
    ],
)
def test_bad_input_gets_a_clear_error(call, message):
    layer = LSTM(5)
    layer.build((None, 4))
    with pytest.raises(ValueError, match=message):
        call(layer)


def test_bad_options_get_clear_errors():
    with pytest.raises(ValueError, match="activation must be one of"):
        SimpleRNN(3, activation="swish")
    with pytest.raises(ValueError, match="merge_mode must be one of"):
        Bidirectional(LSTM(3), merge_mode="max")
    with pytest.raises(ValueError, match="units must be a positive integer"):
        GRU(0)
    with pytest.raises(ValueError, match="units must be a positive integer, got True"):
        LSTM(True)
    with pytest.raises(ValueError, match="rate must be a number, got '0.5'"):
        Dropout("0.5")
    assert len(stacked("gru", 3, np.int64(2)).layers) == 2
    with pytest.raises(ValueError, match="init must be one of"):
        LSTM(3, init="xavier")
    with pytest.raises(ValueError, match="bias='one' needs reset_after=False"):
        GRU(3, bias="one")


@pytest.mark.parametrize(
    "layer,count",
    [(SimpleRNN(32), 2080), (LSTM(32), 8320), (LSTM(32, bias="two"), 8448), (GRU(32, reset_after=False), 6240),
     (GRU(32), 6336)],
)
def test_keras_parameter_counts(layer, count):
    layer.build((None, 32))
    assert layer.count_params() == count


def test_forward_before_build_says_so():
    with pytest.raises(RuntimeError, match="LSTM 'enc' is not built"):
        LSTM(4, name="enc").forward(np.ones((2, 3, 1)))
    with pytest.raises(RuntimeError, match="Dense is not built"):
        Dense(2).forward(np.ones((2, 3)))


def test_build_with_the_batch_axis_says_build_takes_one_sample():
    # Keras' model.build takes the batch axis; rnnkit's takes one sample's shape
    with pytest.raises(ValueError, match=r"input_shape \(T, F\), one sample's shape without the batch axis.*"
                                         r"got \(None, 7, 3\)"):
        rnnkit.Sequential([LSTM(4), Dense(5)]).build((None, 7, 3))


@pytest.mark.parametrize("factory, family", [(LSTM, "lstm"), (GRU, "gru"), (SimpleRNN, "rnn")])
def test_stacked_given_a_layer_factory_names_the_family_string(factory, family):
    with pytest.raises(ValueError, match=f"for {factory.__name__} layers write '{family}'"):
        stacked(factory, 4, num_layers=2)


def test_bidirectional_takes_the_flat_state_return_state_gives():
    rng = np.random.default_rng(0)
    layer = Bidirectional(LSTM(3, return_sequences=True, return_state=True, **F64))
    layer.build((None, 2), rng)
    x = rng.normal(size=(2, 4, 2))
    h_f, c_f, h_b, c_b = (rng.normal(size=(2, 3)) for _ in range(4))
    (y_pair, *_), cache_pair = layer.forward(x, initial_state=((h_f, c_f), (h_b, c_b)))
    (y_flat, *states), cache_flat = layer.forward(x, initial_state=[h_f, c_f, h_b, c_b])
    assert np.array_equal(y_flat, y_pair) and len(states) == 4
    dy = (rng.normal(size=y_flat.shape), None, None, None, None)
    g_pair = layer.backward(dy, cache_pair).initial_state
    g_flat = layer.backward(dy, cache_flat).initial_state  # in the layout it was given
    assert all(np.array_equal(a, b) for a, b in zip(g_flat, (*g_pair[0], *g_pair[1])))
    with pytest.raises(ValueError, match="flat list of 4 arrays"):
        layer.forward(x, initial_state=[h_f, c_f, h_b])


def test_same_seed_same_weights():
    a, b = LSTM(8, seed=3), LSTM(8, seed=3)
    a.build((None, 4))
    b.build((None, 4))
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)


def test_softmax_and_sigmoid_give_probabilities_from_logits():
    # predict returns logits (the losses take them): these turn them into probabilities
    z = np.array([[1000.0, 999.0, -1000.0], [0.0, 0.0, 0.0]])
    p = rnnkit.softmax(z)
    np.testing.assert_allclose(p, [[1 / (1 + np.exp(-1)), 1 / (1 + np.e), 0.0], [1 / 3] * 3], rtol=1e-12)
    np.testing.assert_allclose(rnnkit.sigmoid(np.array([-800.0, 0.0, 2.0])), [0.0, 0.5, 1 / (1 + np.exp(-2))],
                               rtol=1e-12, atol=1e-300)
