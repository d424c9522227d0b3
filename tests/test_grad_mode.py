"""rnnkit.no_grad(): forward passes that keep no backward cache."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import rnnkit
from rnnkit import layers


def _model(cell):
    model = rnnkit.Sequential([layers.Bidirectional(cell(6, return_sequences=True)), layers.Dense(3)], seed=0,
                              input_shape=(None, 4))
    return model.compile("adam", loss="mse")


def test_flag_nests_and_restores():
    assert rnnkit.is_grad_enabled()
    with rnnkit.no_grad():
        assert not rnnkit.is_grad_enabled()
        with rnnkit.no_grad():
            assert not rnnkit.is_grad_enabled()
        assert not rnnkit.is_grad_enabled()
    assert rnnkit.is_grad_enabled()
    with pytest.raises(KeyError), rnnkit.no_grad():
        raise KeyError("inside")
    assert rnnkit.is_grad_enabled()


def test_flag_is_per_thread():
    seen = []
    with rnnkit.no_grad():
        worker = threading.Thread(target=lambda: seen.append(rnnkit.is_grad_enabled()))
        worker.start()
        worker.join()
    assert seen == [True]


@pytest.mark.parametrize("cell", [layers.SimpleRNN, layers.LSTM, layers.GRU])
@pytest.mark.parametrize("backend", ["fast", "reference"])
def test_same_outputs_and_backward_refused(cell, backend):
    model = _model(cell)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 7, 4)).astype(np.float32)
    lengths = np.array([7, 3, 5, 1, 6])
    with rnnkit.backend(backend):
        y, _, cache = model.forward(x, lengths=lengths, training=False, rng=None)
        with rnnkit.no_grad():
            y_i, _, cache_i = model.forward(x, lengths=lengths, training=False, rng=None)
        assert np.array_equal(y, y_i)
        model.backward(np.ones_like(y), cache)  # the caching pass still backpropagates
        with pytest.raises(RuntimeError, match="no_grad"):
            model.backward(np.ones_like(y_i), cache_i)


def test_predict_runs_without_caches_and_matches_forward():
    model = _model(layers.LSTM)
    x = np.random.default_rng(2).standard_normal((9, 6, 4)).astype(np.float32)
    y, _, _ = model.forward(x, lengths=None, training=False, rng=None)
    assert np.array_equal(model.predict(x), y)
