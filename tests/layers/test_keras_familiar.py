"""What a user coming from Keras writes: Keras' constructor options that rnnkit does not take get
an error naming the layer and rnnkit's way; a layer's own seed makes wrapped layers
reproducible; ids, lengths and attention inputs of the wrong kind get a ValueError naming them."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from rnnkit.layers import (GRU, LSTM, Activation, AdditiveAttention, Bidirectional, Dense, Dropout, Embedding,
                           SimpleRNN, Stack, stacked)


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda: LSTM(8, dropout=0.2),
         r"^LSTM does not take Keras' dropout=: .*never on the recurrent .*Dropout layer"),
        (lambda: GRU(8, recurrent_dropout=0.2), r"^GRU does not take Keras' recurrent_dropout=: .*stacked\(\.\.\., "
                                                r"dropout=p\)"),
        (lambda: LSTM(8, activation="tanh"), r"^LSTM does not take Keras' activation=: LSTM and GRU always use tanh"),
        (lambda: GRU(8, recurrent_activation="sigmoid"), r"^GRU does not take Keras' recurrent_activation=: .*sigmoid"),
        (lambda: SimpleRNN(8, use_bias=False), r"^SimpleRNN does not take Keras' use_bias=: layers always have biases"),
        (lambda: LSTM(8, stateful=True), r"^LSTM does not take Keras' stateful=: .*initial_state"),
        (lambda: LSTM(8, kernel_initializer="he_normal"), r"^LSTM does not take Keras' kernel_initializer=: .*init="),
        (lambda: LSTM(8, input_shape=(10, 3)), r"^LSTM does not take Keras' input_shape=: .*Sequential\(\[\.\.\.\], "
                                               r"input_shape=\(T, F\)\)"),
        (lambda: Dense(8, input_dim=4), r"^Dense does not take Keras' input_dim=:"),
        (lambda: Dense(8, kernel_regularizer="l2"), r"^Dense does not take Keras' kernel_regularizer=: .*no per-layer"),
        (lambda: Embedding(100, 8, input_length=20), r"^Embedding does not take Keras' input_length=:"),
        (lambda: Dropout(0.5, noise_shape=(None, 1, 8)), r"^Dropout does not take Keras' noise_shape=:"),
        (lambda: Bidirectional(LSTM(8), backward_layer=LSTM(8, go_backwards=True)),
         r"^Bidirectional\(LSTM\) does not take Keras' backward_layer=: .*go_backwards flipped"),
        (lambda: stacked("lstm", 8, 2, recurrent_dropout=0.1), r"^stacked does not take Keras' recurrent_dropout=:"),
        (lambda: LSTM(8, retrun_sequences=True), r"^LSTM got an unexpected option 'retrun_sequences'$"),
        (lambda: stacked("gru", 8, 2, unroll=True), r"^stacked does not take Keras' unroll=: nothing to choose"),
    ],
)
def test_a_keras_option_rnnkit_does_not_take_names_the_layer_and_what_to_do(make, message):
    # Python's own error read "Layer.__init__() got an unexpected keyword argument 'dropout'"
    with pytest.raises(TypeError, match=message):
        make()


def test_the_options_rnnkit_does_take_still_go_through():
    layer = SimpleRNN(4, "relu", return_sequences=True, return_state=True, go_backwards=True, init="torch",
                      name="rnn", seed=1, dtype=np.float64)
    assert (layer.name, layer.seed, layer.dtype, layer.cell.activation) == ("rnn", 1, np.float64, "relu")
    assert Bidirectional(GRU(3), merge_mode="sum", name="bi").name == "bi"


def params_of(make):
    layer = make()
    layer.build((None, 2))
    return layer.params


@pytest.mark.parametrize("make", [
    lambda: Bidirectional(LSTM(3, seed=7)),
    lambda: Stack([GRU(3, seed=1, return_sequences=True), Bidirectional(LSTM(2, seed=2))]),
])
def test_wrappers_build_reproducibly_from_their_layers_seeds(make):
    # as LSTM(3, seed=7) alone does: the wrapper, given no seed of its own, ignored its layers' seeds
    a, b = params_of(make), params_of(make)
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_a_wrappers_own_seed_or_generator_still_decides():
    a = params_of(lambda: Bidirectional(LSTM(3, seed=7), seed=8))
    assert not np.array_equal(a["forward.W_x"], params_of(lambda: Bidirectional(LSTM(3, seed=7)))["forward.W_x"])
    assert not np.array_equal(a["forward.W_x"], a["backward.W_x"])  # two directions, two draws
    one, two = Stack([LSTM(3, seed=1)]), Stack([LSTM(3, seed=1)])
    one.build((None, 2), rng=5)
    two.build((None, 2), rng=5)
    assert np.array_equal(one.params["0.W_x"], two.params["0.W_x"])


@pytest.mark.parametrize(
    "ids,message",
    [
        (np.array([["a", "b"]]), r"x must hold integer ids, got dtype <U1"),
        (np.array([[1 + 0j, 2]]), r"x must hold integer ids, got dtype complex128"),
        (np.array([[1, None]], dtype=object), r"x must hold integer ids"),
        (np.array([[1, "a"]], dtype=object), r"x must hold integer ids, got an object array that does not"),
        (np.array([[np.inf, 2.0]]), r"x must hold integer ids, got dtype float64 with a fractional or non-finite"),
        (np.array([[1.5, 2.0]]), r"x must hold integer ids, got dtype float64 with a fractional"),
        (np.array([[1e20, 2.0]]), r"x ids must lie in 0\.\.9, got 2\.0\.\.1e\+20"),  # not a wrapped negative id
        (np.array([[2**64 - 1, 2]], dtype=np.uint64), r"x ids must lie in 0\.\.9, got 2\.\.18446744073709551615"),
    ],
)
def test_embedding_refuses_ids_that_are_not_integers_in_range(ids, message):
    layer = Embedding(10, 3)
    layer.build((None,))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and says so without a NumPy RuntimeWarning on the way
        with pytest.raises(ValueError, match=message):
            layer.forward(ids)


def test_embedding_takes_whole_floats_bools_and_nested_lists_as_ids():
    layer = Embedding(10, 3)
    layer.build((None,))
    expected = layer.params["E"][[[1, 0]]]
    for ids in (np.array([[1.0, 0.0]]), np.array([[True, False]]), [[1, 0]], np.array([[1, 0]], dtype=object)):
        y, cache = layer.forward(ids)
        assert np.array_equal(y, expected) and cache.dtype == np.int64


@pytest.mark.parametrize("lengths,message", [
    (np.array([2**64 - 1, 3], dtype=np.uint64), "got min 3 and max 18446744073709551615"),  # not "min -1"
    (np.array([1e30, 3.0]), r"got min 3\.0 and max 1e\+30"),
])
def test_lengths_too_large_for_int64_are_reported_as_given(lengths, message):
    layer = LSTM(5)
    layer.build((None, 4))
    with pytest.raises(ValueError, match=r"lengths must lie in 1\.\.T = 1\.\.3, " + message):
        layer.forward(np.ones((2, 3, 4)), lengths=lengths)


def built_attention():
    layer = AdditiveAttention(5)
    layer.build((3, 4))  # query width Q = 3, key width K = 4
    return layer


Q, K = np.ones((2, 6, 3)), np.ones((2, 7, 4))


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda a: a.forward(np.ones((2, 3)), K), r"query must have 3 dimensions \(B, T, Q\), got shape \(2, 3\)"),
        (lambda a: a.forward(Q, np.ones((2, 4))), r"keys must have 3 dimensions \(B, S, K\)"),
        (lambda a: a.forward(np.ones((2, 6, 5)), K), "query must have 3 features on its last axis"),
        (lambda a: a.forward(Q, np.ones((2, 7, 5))), "keys must have 4 features on its last axis"),
        (lambda a: a.forward(np.ones((3, 6, 3)), K), r"query and keys must hold the same batch B, got shapes "
                                                     r"\(3, 6, 3\) and \(2, 7, 4\)"),
        (lambda a: a.forward(Q, K, projected_keys=np.ones((2, 7, 4))),
         r"projected_keys must be project_keys\(keys\), of shape \(B, S, A\) = \(2, 7, 5\), got \(2, 7, 4\)"),
        (lambda a: AdditiveAttention(3).build((None, 4)), r"input_shape \(Q, K\).*got \(None, 4\)"),
    ],
)
def test_attention_names_a_wrong_shape(call, message):
    # NumPy said "matmul: Input operand 1 has a mismatch…", an IndexError, or a broadcast error
    with pytest.raises(ValueError, match=message):
        call(built_attention())


def test_attention_called_before_build_builds_from_the_query_and_key_widths():
    layer = AdditiveAttention(5)
    context, weights = layer(Q, K, key_lengths=np.array([7, 2]))  # the base class read (T, Q) = (6, 3) as (Q, K)
    assert layer.params["W_q"].shape == (3, 5) and layer.params["W_k"].shape == (4, 5)
    assert context.shape == (2, 6, 4) and weights.shape == (2, 6, 7)
    np.testing.assert_allclose(weights[1, :, :2], 0.5)  # equal keys, two real ones
    assert np.all(weights[1, :, 2:] == 0)


@pytest.mark.parametrize("layer", [Dropout(0.5), Activation("tanh")], ids=["Dropout", "Activation"])
def test_elementwise_layers_refuse_complex_input(layer):
    # np.asarray(x, float32) dropped the imaginary part with only a ComplexWarning
    x = np.ones((2, 3, 4), complex)
    for call in (lambda: layer.forward(x, training=True, rng=0), lambda: layer.step(x[:, 0])):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(ValueError, match="must hold real numbers, got dtype complex128"):
                call()


def test_dropout_without_an_rng_draws_reproducibly_from_its_own_seed():
    # rng=None drew fresh OS entropy: a custom Model that did not pass rng trained differently every run
    from rnnkit.layers import Dropout, stacked

    x = np.ones((4, 6), np.float32)
    first, second = Dropout(0.5, seed=3), Dropout(0.5, seed=3)
    masks = [first.forward(x, training=True)[1] for _ in range(2)]
    assert not np.array_equal(*masks)  # one stream: each call its own mask
    assert all(np.array_equal(m, second.forward(x, training=True)[1]) for m in masks)
    xs = np.ones((3, 5, 2), np.float32)
    outs = []
    for _ in range(2):
        block = stacked("gru", 4, num_layers=2, dropout=0.5, seed=7)
        block.build((5, 2))
        outs.append(block.forward(xs, training=True)[0])
    np.testing.assert_array_equal(*outs)


def test_embedding_reads_padded_steps_as_filler_like_the_losses_do():
    # an out-of-vocabulary filler (999, NaN) at padded steps was refused as a bad id
    import rnnkit

    rng = np.random.default_rng(0)
    lengths = np.array([3, 5, 1, 4])
    ids = rng.integers(1, 10, size=(4, 5))
    padded = np.arange(5)[None, :] >= lengths[:, None]
    y = rng.integers(0, 2, size=4)
    fits = []
    for filler in (0, 999, np.nan):
        x = np.where(padded, filler, ids)
        model = rnnkit.Sequential([Embedding(10, 3), LSTM(4), Dense(2)], seed=0)
        model.compile("adam", loss="sparse_categorical_crossentropy")
        model.fit(x, y, lengths=lengths, epochs=2, batch_size=2, verbose=0)
        fits.append(model.predict(x, lengths=lengths))
    for other in fits[1:]:
        np.testing.assert_array_equal(other, fits[0])
    with pytest.raises(ValueError, match="ids must lie in 0..9"):
        Embedding(10, 3, seed=0)(np.where(padded, 999, ids))  # without lengths every step is real


def test_a_wrappers_dtype_is_its_layers_dtype():
    # Bidirectional(GRU(3), dtype="float64") built float32 weights
    wrapped = Bidirectional(GRU(3), dtype="float64")
    block = Stack([LSTM(3, return_sequences=True), LSTM(2)], dtype="float64")
    for layer in (wrapped, block):
        layer.build((5, 1))
        assert {v.dtype for v in layer.params.values()} == {np.dtype(np.float64)}
        y = layer.forward(np.ones((2, 5, 1)))[0]
        assert y.dtype == np.float64


def test_torch_shaped_states_are_refused_not_read_row_by_row():
    # (h0, c0) of PyTorch's (layers·directions, B, H) layout passed to a 2-layer bidirectional
    # LSTM stack was split per layer and then row by row: silently wrong states
    rng = np.random.default_rng(0)
    block = stacked("lstm", 3, num_layers=2, bidirectional=True, seed=0)
    block.build((5, 2))
    x = rng.normal(size=(4, 5, 2)).astype(np.float32)
    h0, c0 = rng.normal(size=(2, 4, 4, 3)).astype(np.float32)
    with pytest.raises(ValueError, match=r"PyTorch's \(layers·directions, B, H\) layout"):
        block.forward(x, initial_state=(h0, c0))
    with pytest.raises(ValueError, match=r"as a tuple or list, got one array of shape \(4, 4, 3\)"):
        Bidirectional(LSTM(3), seed=0)(x, initial_state=h0)


def test_a_stacks_final_states_go_back_in_as_its_initial_state():
    # return_state's flat list was refused as initial_state ("one entry per layer"): running a
    # sequence in two chunks needed the states regrouped by hand
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 6, 2)).astype(np.float32)
    for bidirectional in (False, True):
        for cell in ("lstm", "gru"):
            block = stacked(cell, 4, num_layers=2, bidirectional=bidirectional, return_state=True, seed=0)
            block.build((None, 2))
            whole, *final = block.forward(x)[0]
            first, *carried = block.forward(x[:, :4])[0]
            if bidirectional:  # the backward reader needs the whole sequence: only the flat round trip
                again = block.forward(x, initial_state=final)[0]
                assert len(again) == len(final) + 1
                continue
            second, *last = block.forward(x[:, 4:], initial_state=carried)[0]
            np.testing.assert_allclose(np.concatenate([first, second], axis=1), whole, atol=1e-6)
            for a, b in zip(last, final):
                np.testing.assert_allclose(a, b, atol=1e-6)


@pytest.mark.parametrize("make,message", [
    (lambda: stacked("lstm", 8, 2, batch_first=True), r"^stacked does not take PyTorch's batch_first=: .*batch first"),
    (lambda: SimpleRNN(8, nonlinearity="relu"), r"^SimpleRNN does not take PyTorch's nonlinearity=: .*activation="),
    (lambda: stacked("lstm", 8, bias=True), r"bias must be 'one' or 'two' \(PyTorch's bias=True, b_ih and b_hh, is 'two'\)"),
])
def test_pytorch_names_get_rnnkits_name(make, message):
    with pytest.raises((TypeError, ValueError), match=message):
        make()


def test_cell_names_are_case_insensitive_as_loss_names_are():
    assert stacked("LSTM", 4).layers[0].cell.family == "lstm"


def test_a_stacks_state_error_names_the_count_for_any_wrong_list():
    block = stacked("lstm", 3, num_layers=3, seed=0)
    block.build((5, 2))
    x = np.ones((2, 5, 2), np.float32)
    h = np.zeros((2, 3), np.float32)
    for wrong in ([(h, None)] * 2, [(h, h, h, h)] * 2):
        with pytest.raises(ValueError, match=r"one entry per layer \(3\).*got 2 entries$"):
            block.forward(x, initial_state=wrong)
