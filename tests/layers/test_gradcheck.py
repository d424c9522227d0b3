"""Central-difference gradient checks (float64) of every cell variant × {uni, bidirectional} ×
{1, 2 layers} × {equal, variable lengths} × {last output, full sequence} × {zero, given initial
state}: every parameter, input and initial-state gradient, max relative error ≤ 1e-6."""

from __future__ import annotations

import itertools
import zlib

import numpy as np
import pytest

import rnnkit
from tests.cell_variants import VARIANTS
from rnnkit.gradcheck import numerical_gradient, relative_error
from rnnkit.layers import stacked

MATRIX = list(itertools.product(VARIANTS, [False, True], [1, 2], [False, True], [False, True], [False, True]))
B, T, F, H = 3, 4, 2, 3


def initial_states(rng, spec, num_layers, bidirectional):
    def one():
        states = tuple(rng.normal(size=(B, H)) for _ in range(spec.state_size))
        return states[0] if len(states) == 1 else states

    return [(one(), one()) if bidirectional else one() for _ in range(num_layers)]


def leaves(state):
    """The arrays inside a nested initial-state structure, in order."""
    if isinstance(state, np.ndarray):
        return [state]
    return [a for s in state for a in leaves(s)]


@pytest.fixture(autouse=True)
def reference_cells():
    """These checks prove the reference cells; the fast path is tested equal to them elsewhere."""
    with rnnkit.backend("reference"):
        yield


@pytest.mark.parametrize("variant,bidirectional,num_layers,variable,sequences,given_state", MATRIX)
def test_gradients_match_central_differences(variant, bidirectional, num_layers, variable, sequences, given_state):
    spec = VARIANTS[variant]
    rng = np.random.default_rng(zlib.crc32(repr((variant, bidirectional, num_layers, variable, sequences,
                                                  given_state)).encode()))
    layer = stacked(spec, H, num_layers, bidirectional=bidirectional, return_sequences=sequences,
                    dtype=np.float64, init="torch")
    layer.build((None, F), rng=rng)
    for p in layer.params.values():  # non-zero biases so every bias path is exercised
        p[...] = rng.uniform(-0.8, 0.8, size=p.shape)
    x = rng.normal(size=(B, T, F))
    lengths = np.array([T, 1, 2]) if variable else None
    initial = initial_states(rng, spec, num_layers, bidirectional) if given_state else None
    y, cache = layer.forward(x, lengths=lengths, initial_state=initial)
    R = rng.normal(size=y.shape)

    def loss():
        return float((layer.forward(x, lengths=lengths, initial_state=initial)[0] * R).sum())

    g = layer.backward(R, cache)
    errors = {name: relative_error(g.params[name], numerical_gradient(loss, p)) for name, p in layer.params.items()}
    errors["x"] = relative_error(g.dx, numerical_gradient(loss, x))
    if given_state:
        for k, (analytic, array) in enumerate(zip(leaves(g.initial_state), leaves(initial))):
            errors[f"initial_state[{k}]"] = relative_error(analytic, numerical_gradient(loss, array))
    worst = max(errors, key=errors.get)
    assert errors[worst] <= 1e-6, f"{worst}: relative error {errors[worst]:.2e}"
    if variable:  # padded steps receive exactly zero gradient
        assert np.all(g.dx[1, 1:] == 0) and np.all(g.dx[2, 2:] == 0)
