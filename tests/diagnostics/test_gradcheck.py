"""rnnkit.gradcheck: passes on the real backward, fails loudly on a deliberately broken one."""

from __future__ import annotations

import numpy as np
import pytest

import rnnkit
from rnnkit.cells import CellGrads, lstm, rnn
from rnnkit.diagnostics import GradcheckError
from rnnkit.layers import GRU, Bidirectional, Dense, Embedding, LSTM, SimpleRNN, stacked
from rnnkit.losses import MeanSquaredError

rng = np.random.default_rng(0)
X = rng.normal(size=(3, 5, 2)).astype(np.float32)
Y = rng.normal(size=(3, 1)).astype(np.float32)
LENGTHS = np.array([5, 2, 3])


def small(layer):
    return rnnkit.Sequential([layer, Dense(1)], seed=0, input_shape=(None, 2)).compile("adam", loss="mse")


def test_passes_on_the_hand_written_gradients_and_leaves_the_model_alone():
    model = small(stacked("lstm", 3, 2, bidirectional=True, return_sequences=False))
    before = {k: v.copy() for k, v in model.params.items()}
    report = rnnkit.gradcheck(model, X, Y, LENGTHS)
    assert report.ok and set(report.errors()) == set(model.params)
    assert max(report.errors().values()) < 1e-6
    assert all(v.dtype == np.float32 and np.array_equal(v, before[k]) for k, v in model.params.items())
    assert "gradient check passed" in report.summary()


def test_token_model_per_step_loss_and_sampled_entries():
    ids = rng.integers(1, 9, size=(3, 4))
    ids[1, 2:] = 0
    model = rnnkit.Sequential([Embedding(9, 3, mask_zero=True), GRU(4, return_sequences=True), Dense(5)], seed=1)
    model.build((None,))
    report = rnnkit.gradcheck(model, ids, rng.integers(0, 5, size=(3, 4)), loss="sparse_categorical_crossentropy",
                              max_entries=6)
    assert report.ok
    assert all(c.checked == min(6, int(np.prod(c.shape))) for c in report.checks)


def test_fails_loudly_on_a_broken_recurrent_weight_gradient(monkeypatch):
    def broken(d_hs, d_state_T, cache):
        g = real_backward(d_hs, d_state_T, cache)
        return g._replace(W_h=1.01 * g.W_h)  # 1 % off

    real_backward = rnn.backward
    monkeypatch.setattr(rnn, "backward", broken)
    model = small(SimpleRNN(4))
    with rnnkit.backend("reference"), pytest.raises(GradcheckError, match="FAILED for 1 of 5 parameters") as caught:
        rnnkit.gradcheck(model, X, Y)
    name = f"{model.layers[0].name}.W_h"
    assert [c.name for c in caught.value.report.failed] == [name]
    assert caught.value.report.worst.error > 1e-3
    assert f"{name} relative error" in str(caught.value)


def test_fails_on_a_broken_gate_derivative_and_can_report_without_raising(monkeypatch):
    def broken(d_hs, d_state_T, cache):  # forget the forget gate's derivative
        g = real_backward(d_hs, d_state_T, cache)
        H = g.W_h.shape[0]
        d = g.x_proj.copy()
        d[..., H : 2 * H] = 0.0
        return CellGrads(d, g.W_h, g.b_h, g.state0, g.steps)

    real_backward = lstm.backward
    monkeypatch.setattr(lstm, "backward", broken)
    model = small(Bidirectional(LSTM(3)))
    with rnnkit.backend("reference"):
        report = rnnkit.gradcheck(model, X, Y, LENGTHS, raise_on_failure=False)
    assert not report.ok
    failed = {c.name for c in report.failed}
    assert {"bidirectional.forward.W_x", "bidirectional.backward.b"} <= failed
    assert "FAIL" in report.summary()
    with pytest.raises(AssertionError):  # GradcheckError is an AssertionError: a test using it fails
        report.raise_if_failed()


def test_needs_a_loss_and_keeps_the_helpers_importable():
    model = rnnkit.Sequential([SimpleRNN(2), Dense(1)], seed=0, input_shape=(None, 2))
    with pytest.raises(ValueError, match="not compiled"):
        rnnkit.gradcheck(model, X, Y)
    from rnnkit.gradcheck import numerical_gradient, relative_error

    assert callable(rnnkit.gradcheck) and callable(numerical_gradient) and callable(relative_error)


def test_an_interrupted_check_leaves_a_float64_model_exactly_as_it_was(monkeypatch):
    """A float64 model is checked in place (no copy needed): a weight perturbed by ±eps must be
    put back even when a forward pass raises (here: on the 4th loss evaluation, as Ctrl-C might)."""
    model = rnnkit.Sequential([SimpleRNN(3), Dense(1)], seed=0, input_shape=(None, 2), dtype=np.float64)
    before = {k: v.copy() for k, v in model.params.items()}
    calls = []
    real_call = MeanSquaredError.__call__

    def interrupted(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 4:  # 1: the analytic pass, 2-3: the first entry, 4: the second entry's +eps
            raise KeyboardInterrupt
        return real_call(self, *args, **kwargs)

    monkeypatch.setattr(MeanSquaredError, "__call__", interrupted)
    with pytest.raises(KeyboardInterrupt):
        rnnkit.gradcheck(model, X.astype(np.float64), Y, loss="mse")
    assert all(np.array_equal(model.params[k], before[k]) for k in before)


class _MeanPooled(rnnkit.Model):
    """A Model subclass as in examples/custom_model.py: no get_config; `scale` (optional) is a
    weight of its own, outside any layer, kept in the dtype it is given."""

    kind = "MeanPooled"

    def __init__(self, dtype=np.float32, scale_dtype=None):
        super().__init__(seed=0)
        self.layers_used = [GRU(3, return_sequences=True, dtype=dtype), Dense(1, dtype=dtype)]
        self.scale = None if scale_dtype is None else np.full(1, 0.5, dtype=scale_dtype)

    def build(self, input_shape):
        rng = np.random.default_rng(0)
        self.input_shape = tuple(input_shape)
        self.layers_used[0].build(self.input_shape, rng)
        self.layers_used[1].build((3,), rng)

    @property
    def params(self):
        gru, head = self.layers_used
        own = {} if self.scale is None else {"scale": self.scale}
        return {**{f"gru.{k}": v for k, v in gru.params.items()},
                **{f"head.{k}": v for k, v in head.params.items()}, **own}

    def output_lengths(self, x, lengths):
        return None

    def forward(self, x, lengths=None, training=False, rng=None):
        gru, head = self.layers_used
        hs, c_gru = gru.forward(x, lengths=lengths)
        y, c_head = head.forward(hs.mean(axis=1))
        return y, None, (c_gru, c_head, hs.shape)

    def backward(self, dy, cache):
        gru, head = self.layers_used
        c_gru, c_head, shape = cache
        g_head = head.backward(dy, c_head)
        d_hs = np.ascontiguousarray(np.broadcast_to(g_head.dx[:, None, :] / shape[1], shape))
        g_gru = gru.backward(d_hs, c_gru)
        return {**{f"gru.{k}": v for k, v in g_gru.params.items()},
                **{f"head.{k}": v for k, v in g_head.params.items()}}


def test_a_model_subclass_is_checked_without_get_config():
    # was: a bare NotImplementedError from Model.get_config
    model = _MeanPooled().compile("adam", loss="mse")
    model.build((None, 2))
    before = {k: v.copy() for k, v in model.params.items()}
    report = rnnkit.gradcheck(model, X, Y, LENGTHS)  # on a float64 copy: its layers set to float64, built again
    assert report.ok and set(report.errors()) == set(model.params) and max(report.errors().values()) < 1e-6
    assert all(v.dtype == np.float32 and np.array_equal(v, before[k]) for k, v in model.params.items())
    wide = _MeanPooled(dtype=np.float64).compile("adam", loss="mse")  # float64 already: checked in place
    wide.build((None, 2))
    assert rnnkit.gradcheck(wide, X, Y, LENGTHS).ok


def test_a_model_subclass_that_cannot_be_copied_to_float64_says_what_to_do():
    model = _MeanPooled(scale_dtype=np.float32).compile("adam", loss="mse")  # scale is in no layer
    model.build((None, 2))
    with pytest.raises(TypeError, match=r"'scale' stays float32 .*build the model with float64 weights .*"
                                        r"get_config\(\) with a 'dtype' entry and from_config"):
        rnnkit.gradcheck(model, X, Y)
