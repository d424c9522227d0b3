"""Compiled LSTM (rnnkit.kernels.lstm) against the reference cell over the whole config matrix."""

from __future__ import annotations

from tests.kernels.equivalence import SEEDS, assert_equivalent, config_matrix


@config_matrix(state_size=2)
def test_equals_reference(dtype, bias, lengths, initial_state, d_hs, d_state):
    for seed in SEEDS:
        assert_equivalent("lstm", {}, seed, dtype, bias=bias, lengths=lengths,
                          initial_state=initial_state, d_hs=d_hs, d_state=d_state)
