"""Accuracy of the float32 activations the kernels use instead of the C library's tanh/exp."""

from __future__ import annotations

import numpy as np

from tests.kernels.equivalence import apply_activation


def ulps(got: np.ndarray, exact: np.ndarray) -> np.ndarray:
    return np.abs(got - exact) / np.spacing(np.abs(exact).astype(np.float32)).astype(np.float64)


def arguments() -> np.ndarray:
    x = np.concatenate([np.linspace(-40, 40, 400_001), np.logspace(-30, 1.5, 50_001)])
    x = np.concatenate([x, -x]).astype(np.float32)
    return x[x != 0]


def test_float32_tanh_within_two_ulp():
    x = arguments()
    exact = np.tanh(x.astype(np.float64))
    assert ulps(apply_activation(x, 0), exact).max() <= 2.0


def test_float32_sigmoid_within_four_ulp():
    x = arguments()
    exact = 1.0 / (1.0 + np.exp(-x.astype(np.float64)))
    keep = exact > np.finfo(np.float32).tiny  # below that float32 has no relative precision left
    assert ulps(apply_activation(x, 1), exact)[keep].max() <= 4.0


def test_float64_activations_are_the_references_formulas():
    # the C library's tanh, which may differ from NumPy's in the last bit
    x = np.linspace(-30, 30, 10_001)
    np.testing.assert_allclose(apply_activation(x, 0), np.tanh(x), rtol=4e-16, atol=0)
    # 1 + tanh cancels for very negative x: compare absolutely there
    np.testing.assert_allclose(apply_activation(x, 1), 0.5 * (1.0 + np.tanh(0.5 * x)), rtol=0, atol=2.3e-16)
