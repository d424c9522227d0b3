"""Sequential.forward: what it hands its layers; the Keras verbs on weights and layers."""

from __future__ import annotations

import numpy as np
import pytest

import rnnkit
from rnnkit.layers import LSTM, Bidirectional, Dense, Dropout, Embedding


def test_an_int_seed_gives_the_layers_one_stream_not_one_seed_each():
    # with the seed handed on as an int, both Dropout layers drew the same mask: half kept, not a quarter
    model = rnnkit.Sequential([Dropout(0.5), Dropout(0.5)], input_shape=(40, 50), seed=0)
    y, _, _ = model.forward(np.ones((4, 40, 50), np.float32), training=True, rng=3)
    assert abs(np.mean(y != 0) - 0.25) < 0.02  # 8,000 draws: the standard error is 0.005
    again, _, _ = model.forward(np.ones((4, 40, 50), np.float32), training=True, rng=3)
    assert np.array_equal(y, again)


# -- weights and layers, as Keras users reach for them ----------------------------------------

def _tagger(seed):
    return rnnkit.Sequential([Embedding(10, 3), Bidirectional(LSTM(4)), Dense(2)], input_shape=(None,), seed=seed)


def test_get_weights_are_copies_of_params_in_their_order():
    model = _tagger(0)
    weights = model.get_weights()
    assert [(w.shape, w.dtype) for w in weights] == [(p.shape, p.dtype) for p in model.params.values()]
    assert [w.shape for w in weights] == [(10, 3), (3, 16), (4, 16), (16,), (3, 16), (4, 16), (16,), (8, 2), (2,)]
    weights[0][:] = 7
    assert not np.any(model.params["embedding.E"] == 7)


def test_set_weights_round_trips_in_place():
    source, target = _tagger(0), _tagger(1)
    ids = np.random.default_rng(0).integers(0, 10, size=(5, 6))
    arrays = {k: id(v) for k, v in target.params.items()}
    target.set_weights(source.get_weights())
    np.testing.assert_array_equal(target.predict(ids), source.predict(ids))
    assert {k: id(v) for k, v in target.params.items()} == arrays  # the layers' own arrays, written into


@pytest.mark.parametrize("edit,message", [
    (lambda w: w[:-1], "expects 9 arrays .* got 8"),
    (lambda w: w[:2] + [w[2].T] + w[3:], r"array 2 \('bidirectional.forward.W_h'\) is float32 of shape \(16, 4\), "
                                         r"expected float32 of shape \(4, 16\)"),
    (lambda w: w[:-1] + [w[-1].astype(np.float64)], r"array 8 \('dense.b'\) is float64"),
])
def test_set_weights_checks_everything_before_writing_anything(edit, message):
    model = _tagger(0)
    before = model.get_weights()
    wrong = [w + 1 for w in _tagger(1).get_weights()]
    with pytest.raises(ValueError, match=message):
        model.set_weights(edit(wrong))
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), before))


def test_weights_of_an_unbuilt_model_are_refused_clearly():
    model = rnnkit.Sequential([Dense(2)])
    for call in (model.get_weights, lambda: model.set_weights([])):
        with pytest.raises(RuntimeError, match="not built yet"):
            call()


def test_get_layer_by_name_or_index():
    model = _tagger(0)
    assert model.get_layer("dense") is model.layers[2] and model.get_layer(index=1) is model.layers[1]
    known = r"\['embedding', 'bidirectional', 'dense'\]"
    with pytest.raises(ValueError, match=rf"no layer named 'lstm'; the layers are {known}"):
        model.get_layer("lstm")
    with pytest.raises(ValueError, match="out of range"):
        model.get_layer(index=3)
    with pytest.raises(ValueError, match="exactly one of name or index"):
        model.get_layer("dense", index=2)
