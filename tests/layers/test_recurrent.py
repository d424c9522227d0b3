"""The recurrent layer's inference pass (rnnkit.no_grad()): projected a chunk of steps at a
time, with the same outputs and final state as the training pass, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

import rnnkit
import rnnkit.layers.recurrent as recurrent
from rnnkit.layers import GRU, LSTM, SimpleRNN

CELLS = [SimpleRNN, LSTM, lambda H, **kw: GRU(H, reset_after=False, **kw), GRU]


@pytest.mark.parametrize("chunk_steps", [1, 3, 7, 100])
@pytest.mark.parametrize("cell", CELLS, ids=["rnn", "lstm", "gru_before", "gru_after"])
@pytest.mark.parametrize("backend", ["fast", "reference"])
def test_chunked_inference_equals_the_training_pass(cell, backend, chunk_steps, monkeypatch):
    B, T, F, H = 5, 11, 3, 4
    layer = cell(H, return_sequences=True, return_state=True, go_backwards=chunk_steps == 3)
    layer.build((T, F), rng=1)
    G = layer.params["W_h"].shape[1]
    monkeypatch.setattr(recurrent, "_CHUNK_BYTES", chunk_steps * B * G * 4)
    monkeypatch.setattr(recurrent, "_CHUNK_ROWS", 1)
    rng = np.random.default_rng(chunk_steps)
    x = rng.standard_normal((B, T, F)).astype(np.float32)
    state0 = tuple(rng.standard_normal((B, H)).astype(np.float32) for _ in range(layer.cell.state_size))
    for lengths in (None, np.array([11, 2, 4, 7, 1])):
        with rnnkit.backend(backend):
            expected, _ = layer.forward(x, lengths=lengths, initial_state=state0)
            with rnnkit.no_grad():
                got, cache = layer.forward(x, lengths=lengths, initial_state=state0)
        assert cache[1] is None  # no cell cache kept
        for e, g in zip(expected, got, strict=True):
            assert g.dtype == e.dtype and np.array_equal(g, e)


def test_chunks_are_actually_taken(monkeypatch):
    """The test above compares chunked passes: make sure the layer does cut T into chunks."""
    calls = []
    layer = LSTM(4, return_sequences=True)
    layer.build((11, 3), rng=0)
    real = rnnkit.kernels.select("lstm").forward

    def counting(x_proj, *args, **kwargs):
        calls.append(x_proj.shape[1])
        return real(x_proj, *args, **kwargs)

    monkeypatch.setattr(recurrent, "_CHUNK_BYTES", 3 * 5 * 16 * 4)
    monkeypatch.setattr(recurrent, "_CHUNK_ROWS", 1)
    monkeypatch.setattr(rnnkit.kernels.select("lstm"), "forward", counting)
    with rnnkit.no_grad():
        layer.forward(np.zeros((5, 11, 3), np.float32))
    assert calls == [3, 3, 3, 2]


@pytest.mark.parametrize("cell", CELLS, ids=["rnn", "lstm", "gru_before", "gru_after"])
@pytest.mark.parametrize("backend", ["fast", "reference"])
def test_empty_batch(cell, backend):
    """A batch of no sequences goes through training and inference passes: empty outputs, zero
    gradients, both backends alike."""
    T, F, H = 6, 3, 4
    for return_sequences in (True, False):
        layer = cell(H, return_sequences=return_sequences, return_state=True)
        layer.build((T, F), rng=0)
        x = np.zeros((0, T, F), np.float32)
        with rnnkit.backend(backend):
            (y, *state), cache = layer.forward(x, training=True)
            dx, grads = layer.backward((np.zeros_like(y), *map(np.zeros_like, state)), cache)[:2]
            with rnnkit.no_grad():
                y_inference = layer.forward(x)[0][0]
        assert y.shape == y_inference.shape == ((0, T, H) if return_sequences else (0, H))
        assert all(s.shape == (0, H) for s in state) and dx.shape == x.shape
        assert set(grads) == set(layer.params) and not any(g.any() for g in grads.values())
