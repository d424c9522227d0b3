"""Compiled GRU (rnnkit.kernels.gru), both forms, against the reference cell over the whole
config matrix."""

from __future__ import annotations

import pytest

from tests.kernels.equivalence import SEEDS, assert_equivalent, config_matrix


@pytest.mark.parametrize("reset_after", [True, False], ids=["reset_after", "reset_before"])
@config_matrix(state_size=1)
def test_equals_reference(reset_after, dtype, bias, lengths, initial_state, d_hs, d_state):
    for seed in SEEDS:
        assert_equivalent("gru", {"reset_after": reset_after}, seed, dtype, bias=bias,
                          lengths=lengths, initial_state=initial_state, d_hs=d_hs, d_state=d_state)
