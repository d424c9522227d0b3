"""Compiled simple RNN (rnnkit.kernels.rnn) against the reference cell over the whole config
matrix, for each activation."""

from __future__ import annotations

import numpy as np
import pytest

from tests.kernels.equivalence import assert_equivalent

SEEDS = (3, 23, 34, 9, 2)  # (B, T, H): (8, 1, 2), (1, 7, 4), (1, 1, 2), (4, 8, 9), (8, 3, 1)


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("bias", [True, False], ids=["b_h", "no_b_h"])
@pytest.mark.parametrize("lengths", [None, "variable"])
@pytest.mark.parametrize("initial_state", ["random", "zeros"])
@pytest.mark.parametrize("d_hs", [True, False], ids=["d_hs", "no_d_hs"])
@pytest.mark.parametrize("d_state", [(True,), (False,)], ids=["d_state", "no_d_state"])
def test_equals_reference(activation, dtype, bias, lengths, initial_state, d_hs, d_state):
    for seed in SEEDS:
        assert_equivalent("rnn", {"activation_name": activation}, seed, dtype, bias=bias,
                          lengths=lengths, initial_state=initial_state, d_hs=d_hs, d_state=d_state)


def test_unknown_activation_is_rejected_like_the_reference():
    from rnnkit.kernels import rnn

    x = np.zeros((1, 1, 2))
    with pytest.raises(ValueError, match="activation must be one of"):
        rnn.forward(x, (np.zeros((1, 2)),), np.zeros((2, 2)), None, None, activation_name="gelu")
