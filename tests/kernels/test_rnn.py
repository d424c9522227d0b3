"""Compiled simple RNN (rnnkit.kernels.rnn) against the reference cell over the whole config
matrix, for each activation."""

from __future__ import annotations

import numpy as np
import pytest

from tests.kernels.equivalence import SEEDS, assert_equivalent, config_matrix


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
@config_matrix(state_size=1)
def test_equals_reference(activation, dtype, bias, lengths, initial_state, d_hs, d_state):
    for seed in SEEDS:
        assert_equivalent("rnn", {"activation_name": activation}, seed, dtype, bias=bias,
                          lengths=lengths, initial_state=initial_state, d_hs=d_hs, d_state=d_state)


def test_unknown_activation_is_rejected_like_the_reference():
    from rnnkit.kernels import rnn

    x = np.zeros((1, 1, 2))
    with pytest.raises(ValueError, match="activation must be one of"):
        rnn.forward(x, (np.zeros((1, 2)),), np.zeros((2, 2)), None, None, activation_name="gelu")
