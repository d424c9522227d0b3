"""gradient_flow: vanishing (tanh RNN vs LSTM on the adding problem), exploding (large W_h, no
clipping), and its per-step norms against finite differences of the loss in the state."""

from __future__ import annotations

import numpy as np
import pytest

import rnnkit
from rnnkit import tasks
from rnnkit.diagnostics import gate_statistics, gradient_flow
from rnnkit.diagnostics.reinit import reinitialize
from rnnkit.gradcheck import numerical_gradient, relative_error
from rnnkit.layers import GRU, Bidirectional, CellSpec, Dense, LSTM, Recurrent, SimpleRNN
from rnnkit.losses import MeanSquaredError


def adding_batch(T: int, n: int = 16):
    task = tasks.get("adding")
    data = task.load(task.parse_options({"length": T, "samples": n}), seed=0)
    return data.train.x, data.train.y


def test_tanh_rnn_vanishes_orders_of_magnitude_more_than_lstm_with_forget_bias_1():
    """Fresh weights drawn as PyTorch does (uniform ±1/√H). With Keras' orthogonal W_h the plain
    RNN keeps its gradient much better (see RESULTS.md); that is the initialiser, not the cell."""
    x, y = adding_batch(200)
    for seed in range(3):
        flows = {}
        cells = {"rnn": SimpleRNN(32, init="torch"), "lstm": LSTM(32, init="torch", unit_forget_bias=True)}
        for name, layer in cells.items():
            model = rnnkit.Sequential([layer, Dense(1)], seed=seed, input_shape=(None, 2))
            flows[name] = gradient_flow(model, x, y, loss="mse")
        rnn, lstm = flows["rnn"].ratio(), flows["lstm"].ratio()
        assert rnn < 1e-6 * lstm, f"seed {seed}: tanh RNN ratio {rnn:.1e}, LSTM ratio {lstm:.1e}"
        assert flows["rnn"].states[0].verdict() == "vanishing"
        assert "vanishing" in flows["rnn"].summary()
        f_bias = flows["lstm"].gates[0].mean["f"]
        assert 0.65 < np.mean(f_bias) < 0.8  # σ(1 + small): the forget bias is in place


def test_large_recurrent_scale_without_clipping_is_flagged_exploding():
    task = tasks.get("adding")
    options = task.parse_options({"length": 50, "samples": 16})
    data = task.load(options, seed=0)
    x, y = data.val.x[:16], data.val.y[:16]
    hp = task.hparams(options, cell="rnn").replace(clipnorm=None, clipvalue=None)

    fresh = gradient_flow(task.build_model(hp, data.meta), x, y)
    assert not fresh.exploding_found

    model = reinitialize(task.build_model(hp, data.meta), recurrent_scale=3.0)
    flow = gradient_flow(model, x, y)
    assert flow.exploding_found
    assert flow.states[0].verdict() in ("exploding", "non-finite")
    assert flow.ratio() > 1e3
    text = flow.summary()
    assert "exploding" in text and "EXPLODING gradients reach the optimizer unclipped" in text

    clipped = task.build_model(hp.replace(clipnorm=1.0), data.meta)
    reinitialize(clipped, recurrent_scale=3.0)
    assert "clipnorm 1" in gradient_flow(clipped, x, y).summary()


B, T, F, H = 3, 5, 2, 3


@pytest.mark.parametrize("family,go_backwards", [("rnn", False), ("lstm", False), ("gru", False), ("lstm", True)])
def test_state_gradient_norms_equal_finite_differences(family, go_backwards):
    """∂L/∂state_t by central differences: run the rest of the sequence from a perturbed state.
    For LSTM, c_t is perturbed inside the step, so h_t = o_t ⊙ tanh(c_t) moves with it (the
    total gradient reaching c_t, as BPTT defines it); h_t is perturbed with c_t fixed."""
    rng = np.random.default_rng(7)
    spec = CellSpec(family)
    layer = Recurrent(spec, H, go_backwards=go_backwards, dtype=np.float64)
    model = rnnkit.Sequential([layer, Dense(1)], seed=1, input_shape=(None, F), dtype=np.float64)
    for p in model.params.values():  # non-zero biases so every path is exercised
        p[...] = rng.uniform(-0.8, 0.8, size=p.shape)
    x = rng.normal(size=(B, T, F))
    y = rng.normal(size=(B, 1))
    flow = gradient_flow(model, x, y, loss="mse")
    (state_flow,) = flow.states

    twin = Recurrent(spec, H, go_backwards=go_backwards, return_state=True, dtype=np.float64)
    twin.params, twin.input_shape = layer.params, layer.input_shape
    dense = model.layers[1]

    def loss_from(state, rest):
        h_last = state[0] if rest.shape[1] == 0 else twin.forward(rest, initial_state=state)[0][0]
        return MeanSquaredError()(dense.forward(h_last)[0], y)[0]

    with rnnkit.backend("reference"):
        for t in range(T):
            # read so far / still to read, in this layer's reading order
            done, rest = (x[:, t:], x[:, :t]) if go_backwards else (x[:, : t + 1], x[:, t + 1 :])
            out, cache = twin.forward(done)
            state = [np.array(s) for s in out[1:]]
            numeric = {"h": numerical_gradient(lambda: loss_from(tuple(state), rest), state[0])}
            if family == "lstm":
                o = cache[1][2][-1][:, 3 * H :]  # the reference cell's gates (T, B, 4H) at this step
                c = state[1]
                numeric["c"] = numerical_gradient(lambda: loss_from((o * np.tanh(c), c), rest), c)
            for name, grad in numeric.items():
                assert relative_error(state_flow.norms[name][t], np.linalg.norm(grad)) < 1e-7, (name, t)
    first, last = (T - 1, 0) if go_backwards else (0, T - 1)
    assert np.isclose(state_flow.ratio("h"), state_flow.norms["h"][first] / state_flow.norms["h"][last])


def test_gate_statistics_read_the_gates_and_skip_padding():
    rng = np.random.default_rng(3)
    layer = LSTM(4, return_sequences=True, dtype=np.float64)
    model = rnnkit.Sequential([layer], seed=0, input_shape=(None, 2), dtype=np.float64)
    x = rng.normal(size=(2, 3, 2))
    (stats,) = gate_statistics(model, x, lengths=np.array([3, 1]))
    p = layer.params
    a = x[:, 0] @ p["W_x"] + p["b"]  # step 0 starts from h = 0
    f = 1 / (1 + np.exp(-a[:, 4:8]))
    assert np.isclose(stats.mean["f"][0], f.mean())
    assert np.isclose(stats.saturation["f"][0], np.mean((f < 0.1) | (f > 0.9)))
    (alone,) = gate_statistics(model, x[:1])  # steps 1, 2 are padding for the second sequence
    for g in "ifgo":
        assert np.allclose(stats.mean[g][1:], alone.mean[g][1:])


def test_loss_at_last_step_equals_the_many_to_one_model():
    """With an output at every step, loss_at='last' keeps only the last step's loss term: the same
    flow as the many-to-one twin (up to the mean's 1/T)."""
    rng = np.random.default_rng(5)
    per_step = rnnkit.Sequential([SimpleRNN(3, return_sequences=True), Dense(1)], seed=0, input_shape=(None, 2))
    last_only = rnnkit.Sequential([SimpleRNN(3), Dense(1)], seed=0, input_shape=(None, 2))
    for name, p in last_only.params.items():
        p[...] = per_step.params[name]
    x, y = rng.normal(size=(4, 6, 2)), rng.normal(size=(4, 6, 1))
    flow = gradient_flow(per_step, x, y, loss="mse", loss_at="last")
    twin = gradient_flow(last_only, x, y[:, -1], loss="mse")
    assert np.allclose(6 * flow.states[0].norms["h"], twin.states[0].norms["h"], rtol=1e-10)
    assert "term at every step" in gradient_flow(per_step, x, y, loss="mse").summary()
    assert "term at every step" not in flow.summary()


def test_a_gradient_that_is_zero_everywhere_is_zero_not_exploding():
    # targets equal to the model's own outputs: the loss is at its minimum, every gradient is 0
    x = np.random.default_rng(0).normal(size=(3, 5, 2))
    model = rnnkit.Sequential([LSTM(4), Dense(1)], seed=0, dtype=np.float64, input_shape=(None, 2))
    with rnnkit.backend("reference"):  # the cells gradient_flow measures on
        y = model.predict(x)
    flow = gradient_flow(model, x, y, loss="mse")
    assert set(flow.verdicts().values()) == {"zero"}
    assert not flow.exploding_found and not flow.vanishing_found
    assert "no gradient flows" in flow.summary() and "EXPLODING" not in flow.summary()


def test_diagnostics_run_their_own_backward_inside_no_grad():
    x, y = adding_batch(6)
    model = rnnkit.Sequential([LSTM(4), Dense(1)], seed=0, input_shape=(None, 2))
    outside = (gate_statistics(model, x)[0].mean["f"], gradient_flow(model, x, y, loss="mse").ratio())
    with rnnkit.no_grad():
        inside = (gate_statistics(model, x)[0].mean["f"], gradient_flow(model, x, y, loss="mse").ratio())
        assert rnnkit.gradcheck(model, x, y, loss="mse").ok
    assert np.array_equal(inside[0], outside[0]) and inside[1] == outside[1]


@pytest.mark.parametrize("margin", [0.0, 0.5, 0.7, -1.0])
def test_gate_margin_is_checked_by_both_entry_points(margin):
    x, y = adding_batch(6)
    model = rnnkit.Sequential([LSTM(4), Dense(1)], seed=0, input_shape=(None, 2))
    for call in (lambda: gate_statistics(model, x, margin=margin),
                 lambda: gradient_flow(model, x, y, loss="mse", margin=margin)):
        with pytest.raises(ValueError, match=r"margin must lie in \(0, 0.5\)"):
            call()


def test_a_direction_the_last_step_loss_never_reaches_is_not_called_exploding():
    """With loss_at='last' the loss enters a Bidirectional layer's backward reader at its *first*
    read step (t = T-1), so its gradient at its last read step (t = 0) is exactly 0: there is no
    first/last ratio, and the direction must not be reported as exploding (ratio inf)."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(4, 6, 2)), rng.normal(size=(4, 6, 1))
    model = rnnkit.Sequential([Bidirectional(GRU(3, return_sequences=True)), Dense(1)], seed=0,
                              input_shape=(None, 2))
    flow = gradient_flow(model, x, y, loss="mse", loss_at="last")
    backward = flow.states[1]
    assert backward.direction == "backward" and backward.last["h"] == 0.0 < backward.first["h"]
    assert backward.verdict() == "undefined"
    assert not flow.exploding_found
    text = flow.summary()
    assert "EXPLODING" not in text and ": exploding" not in text
    assert "the loss does not enter at t=0" in text


def test_summary_states_the_verdict_rule_and_what_a_last_step_gradient_is():
    x, y = adding_batch(8, n=4)
    model = rnnkit.Sequential([SimpleRNN(3), Dense(1)], seed=0, input_shape=(None, 2))
    text = gradient_flow(model, x, y, loss="mse", vanishing=1e-2, exploding=1e4).summary()
    assert "vanishing below 1e-02, exploding above 1e+04, else stable" in text
    per_step = rnnkit.Sequential([SimpleRNN(3, return_sequences=True), Dense(1)], seed=0, input_shape=(None, 2))
    y_steps = np.zeros((4, 8, 1))
    assert "only the last step's loss term" in gradient_flow(per_step, x, y_steps, loss="mse", loss_at="last").summary()
    assert "only the last step's loss term" not in gradient_flow(per_step, x, y_steps, loss="mse").summary()


def test_a_recurrent_scale_that_overflows_the_weights_is_refused_and_leaves_them():
    model = rnnkit.Sequential([SimpleRNN(4), Dense(1)], seed=0, input_shape=(3, 2))
    W_h = next(v for k, v in model.params.items() if k.endswith("W_h"))
    before = W_h.copy()
    with pytest.raises(ValueError, match="recurrent_scale=1e\\+300 takes W_h past the largest float32"):
        reinitialize(model, recurrent_scale=1e300)
    np.testing.assert_array_equal(W_h, before)


def test_gate_statistics_of_an_overflowed_pass_are_nan_without_a_warning():
    import warnings

    model = rnnkit.Sequential([SimpleRNN(3), Dense(1)], seed=0, input_shape=(4, 2))
    next(v for k, v in model.params.items() if k.endswith("W_h"))[:] = np.inf  # inf - inf: NaN from step 2
    x = np.random.default_rng(0).normal(size=(2, 4, 2)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="ignore"):
            stats = gate_statistics(model, x)
        overall = [v for s in stats for v in s.overall().values()]
    assert overall and all(np.isnan(m) for m, _ in overall)


def test_recurrent_scale_multiplies_in_the_weights_dtype_and_refuses_non_finite_scales():
    # a float64 product rounded back changed a quarter of the entries at scale 1.1
    model = rnnkit.Sequential([SimpleRNN(8), Dense(1)], seed=0, input_shape=(3, 2))
    W_h = next(v for k, v in model.params.items() if k.endswith("W_h"))
    expected = W_h * np.float32(1.1)
    reinitialize(model, recurrent_scale=1.1)
    np.testing.assert_array_equal(W_h, expected)
    for bad in (float("inf"), float("nan"), 0.0):
        with pytest.raises(ValueError, match="recurrent_scale must be a finite number > 0"):
            reinitialize(model, recurrent_scale=bad)
