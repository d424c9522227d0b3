"""Bad input to the recurrent layers gets a ValueError that names the argument and the expected
shape or range, the same on both backends: the compiled kernels index their arrays without
bounds checks, so a wrong shape must be stopped before it reaches them."""

from __future__ import annotations

import numpy as np
import pytest

import rnnkit
from rnnkit.layers import GRU, LSTM, Bidirectional, CellSpec, Dense, SimpleRNN, stacked

B, T, F, H = 2, 3, 4, 5
X = np.random.default_rng(0).normal(size=(B, T, F)).astype(np.float32)
FACTORIES = {"rnn": SimpleRNN, "lstm": LSTM, "gru": GRU}


def built(layer):
    layer.build((None, F), rng=0)
    return layer


def bad_dy_cases(n):
    """(layer options, dy from forward's output, expected message) for a layer with n states."""
    seq, last = r"\(B, T, H\) = \(2, 3, 5\)", r"\(B, H\) = \(2, 5\)"
    return [
        ({"return_sequences": True}, lambda y: np.ones((B, T - 1, H)), f"dy must have the shape of its output {seq}"),
        ({"return_sequences": True}, lambda y: np.ones((B, T, H - 1)), f"dy must have the shape of its output {seq}"),
        ({"return_sequences": True}, lambda y: np.ones((1, T, H)), f"dy must have the shape of its output {seq}"),
        ({"return_sequences": True}, lambda y: np.ones((T, H)), f"dy must have the shape of its output {seq}"),
        ({}, lambda y: np.ones((B, H - 1)), f"dy must have the shape of its output {last}"),
        ({}, lambda y: np.ones((B, T, H)), f"dy must have the shape of its output {last}"),
        ({}, lambda y: 1.0, f"dy must have the shape of its output {last}"),
        ({}, lambda y: np.ones((B, H), complex), "dy must hold real numbers, got dtype complex128"),
        ({"return_state": True}, lambda y: y[0], f"dy must hold {1 + n} gradients"),
        ({"return_state": True}, lambda y: (*y, y[1]), f"dy must hold {1 + n} gradients.*got {2 + n} entries"),
        ({"return_state": True}, lambda y: (y[0], np.ones((B, H + 1)), *y[2:]),
         f"dy\\[1\\] must have the shape of its output {last}"),
    ]


@pytest.mark.parametrize("backend", ["reference", "fast"])
@pytest.mark.parametrize("family", sorted(FACTORIES))
def test_backward_refuses_dy_of_the_wrong_shape(family, backend):
    n = 2 if family == "lstm" else 1
    for options, make_dy, message in bad_dy_cases(n):
        layer = built(FACTORIES[family](H, **options))
        with rnnkit.backend(backend):
            y, cache = layer.forward(X)
            with pytest.raises(ValueError, match=message):
                layer.backward(make_dy(y), cache)
            # the right shape, as a nested list, an integer array or None entries, still goes through
            dy = (np.ones((B, H), int).tolist(), *[None] * n) if options.get("return_state") else np.ones(y.shape, int)
            assert layer.backward(dy, cache).dx.shape == X.shape


@pytest.mark.parametrize("backend", ["reference", "fast"])
@pytest.mark.parametrize(
    "call,message",
    [
        (lambda l: l.forward(X.astype(complex)), "x must hold real numbers, got dtype complex128"),
        (lambda l: l.forward(np.full((B, T, F), "a")), "x must hold real numbers, got dtype <U1"),
        (lambda l: l.forward([[[1.0] * F], [[1.0] * F] * 2]), "x must be an array of real numbers"),
        (lambda l: l.forward(X, initial_state=0.0), r"initial_state must be 2 array\(s\) of shape \(B, H\)"),
        (lambda l: l.forward(X, initial_state=(np.zeros((B, H), complex),) * 2),
         "initial_state must hold real numbers"),
        (lambda l: l.step(X[:, 0], (np.zeros((B, H + 1)),) * 2), r"^state arrays must have shape \(B, H\)"),
        (lambda l: Dense(3)(X.astype(complex)), "x must hold real numbers"),
    ],
)
def test_inputs_that_are_not_real_arrays_get_a_clear_error(call, message, backend):
    with rnnkit.backend(backend), pytest.raises(ValueError, match=message):
        call(built(LSTM(H)))


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_bidirectional_backward_names_the_merged_shape(merge_mode, return_sequences):
    layer = built(Bidirectional(GRU(H, return_sequences=return_sequences), merge_mode=merge_mode))
    y, cache = layer.forward(X)
    shape = np.shape(y[0]) if merge_mode is None else y.shape
    wrong = np.ones((*shape[:-1], shape[-1] + 1))
    with pytest.raises(ValueError, match=f"dy must .*{tuple(shape)}, got {tuple(wrong.shape)}".replace("(", r"\(")
                       .replace(")", r"\)")):
        layer.backward([wrong, wrong] if merge_mode is None else wrong, cache)
    if merge_mode is None:
        with pytest.raises(ValueError, match=r"dy must be a pair \(forward, backward\)"):
            layer.backward(np.ones(shape), cache)


def test_wrappers_refuse_states_and_dy_tuples_of_the_wrong_form():
    bi = built(Bidirectional(LSTM(H, return_state=True)))
    with pytest.raises(ValueError, match="initial_state must be .*state_forward, state_backward.*got float"):
        bi.forward(X, initial_state=0.0)
    out, cache = bi.forward(X)
    with pytest.raises(ValueError, match="dy must hold the output's gradient and up to 4 .*got 6 entries"):
        bi.backward((*out, out[1]), cache)
    stack = built(stacked("gru", H, 2, return_state=True))
    for state in (0, np.zeros((B, H)), [None]):
        with pytest.raises(ValueError, match=r"initial_state must hold one entry per layer \(2\)"):
            stack.forward(X, initial_state=state)
    out, cache = stack.forward(X)
    with pytest.raises(ValueError, match="dy must hold the output's gradient and up to 2 .*got 4 entries"):
        stack.backward((*out, out[1]), cache)


@pytest.mark.parametrize("family,option", [("lstm", {"activation": "relu"}), ("gru", {"activation": "relu"}),
                                           ("rnn", {"reset_after": False}), ("lstm", {"reset_after": False}),
                                           ("gru", {"unit_forget_bias": True}), ("rnn", {"unit_forget_bias": False})])
def test_an_option_of_another_cell_family_is_refused_not_ignored(family, option):
    (name, value), = option.items()
    with pytest.raises(ValueError, match=f"{name} applies to .* cells only, got {name}={value!r} for '{family}'"):
        CellSpec(family, **option)
    with pytest.raises(ValueError, match=f"{name} applies to"):
        stacked(family, 3, **option)
