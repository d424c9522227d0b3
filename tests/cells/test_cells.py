"""Each reference cell's backward against central differences at the cell contract itself
(x_proj, W_h, b_h, initial state), with and without padding, float64."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.cells import FAMILIES
from rnnkit.gradcheck import numerical_gradient, relative_error

CASES = [
    ("rnn", {"activation_name": "tanh"}), ("rnn", {"activation_name": "relu"}),
    ("rnn", {"activation_name": "sigmoid"}), ("lstm", {}),
    ("gru", {"reset_after": True}), ("gru", {"reset_after": False}),
]


@pytest.mark.parametrize("family,variant", CASES)
@pytest.mark.parametrize("with_bias", [False, True])
@pytest.mark.parametrize("lengths", [None, [5, 2, 1]])
@pytest.mark.parametrize("with_d_hs", [False, True])
def test_cell_backward(family, variant, with_bias, lengths, with_d_hs):
    cell = FAMILIES[family]
    rng = np.random.default_rng(0)
    B, T, H = 3, 5, 4
    G = cell.GATES * H
    x_proj = rng.normal(size=(B, T, G))
    W_h = rng.normal(size=(H, G)) * 0.5
    b_h = rng.normal(size=G) if with_bias else None
    state0 = tuple(rng.normal(size=(B, H)) for _ in range(cell.STATE_SIZE))
    d_hs = rng.normal(size=(B, T, H)) if with_d_hs else None
    d_state = tuple(rng.normal(size=(B, H)) for _ in range(cell.STATE_SIZE))

    def loss():
        hs, state_T, _ = cell.forward(x_proj, state0, W_h, b_h, lengths, **variant)
        value = sum(float((s * d).sum()) for s, d in zip(state_T, d_state))
        return value + (float((hs * d_hs).sum()) if with_d_hs else 0.0)

    hs, _, cache = cell.forward(x_proj, state0, W_h, b_h, lengths, **variant)
    g = cell.backward(d_hs, d_state, cache)
    checks = [(g.x_proj, x_proj), (g.W_h, W_h), *zip(g.state0, state0)]
    if with_bias:
        checks.append((g.b_h, b_h))
    else:
        assert g.b_h is None
    for analytic, array in checks:
        assert relative_error(analytic, numerical_gradient(loss, array)) <= 1e-6
    if lengths is not None:
        assert np.all(hs[1, 2:] == 0) and np.all(g.x_proj[2, 1:] == 0)


@pytest.mark.parametrize("family,variant", CASES)
def test_per_step_state_gradients_equal_finite_differences(family, variant):
    """CellGrads.steps[0][:, t] is ∂L/∂h_t: the gradient for a perturbation added to h_t, checked
    by perturbing the state at step t (running steps t+1.. from it)."""
    cell = FAMILIES[family]
    rng = np.random.default_rng(1)
    B, T, H = 2, 4, 3
    G = cell.GATES * H
    x_proj = rng.normal(size=(B, T, G))
    W_h = rng.normal(size=(H, G)) * 0.5
    state0 = tuple(rng.normal(size=(B, H)) for _ in range(cell.STATE_SIZE))
    d_hs = rng.normal(size=(B, T, H))
    hs, state_T, cache = cell.forward(x_proj, state0, W_h, None, None, **variant)
    g = cell.backward(d_hs, (None,) * cell.STATE_SIZE, cache)
    t = 1
    # the state after step t, as a starting state for the remaining steps
    _, state_t, _ = cell.forward(x_proj[:, : t + 1], state0, W_h, None, None, **variant)
    state_t = tuple(s.copy() for s in state_t)

    def loss():
        rest, _, _ = cell.forward(x_proj[:, t + 1 :], state_t, W_h, None, None, **variant)
        return float((state_t[0] * d_hs[:, t]).sum() + (rest * d_hs[:, t + 1 :]).sum())

    numeric = numerical_gradient(loss, state_t[0])
    assert relative_error(g.steps[0][:, t], numeric) <= 1e-6
    if family == "lstm":  # c_t is a node with two children, h_t = o_t ⊙ tanh(c_t) and c_{t+1}
        o_t = cache[2][t][:, 3 * H :]
        c_t = state_t[1]

        def loss_c():
            h_t = o_t * np.tanh(c_t)
            rest, _, _ = cell.forward(x_proj[:, t + 1 :], (h_t, c_t), W_h, None, None, **variant)
            return float((h_t * d_hs[:, t]).sum() + (rest * d_hs[:, t + 1 :]).sum())

        assert relative_error(g.steps[1][:, t], numerical_gradient(loss_c, c_t)) <= 1e-6
