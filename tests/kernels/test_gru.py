"""Compiled GRU (rnnkit.kernels.gru), both forms, against the reference cell over the whole
config matrix."""

from __future__ import annotations

import numpy as np
import pytest

from tests.kernels.equivalence import assert_equivalent

SEEDS = (3, 23, 34, 9, 2)  # (B, T, H): (8, 1, 2), (1, 7, 4), (1, 1, 2), (4, 8, 9), (8, 3, 1)


@pytest.mark.parametrize("reset_after", [True, False], ids=["reset_after", "reset_before"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("bias", [True, False], ids=["b_h", "no_b_h"])
@pytest.mark.parametrize("lengths", [None, "variable"])
@pytest.mark.parametrize("initial_state", ["random", "zeros"])
@pytest.mark.parametrize("d_hs", [True, False], ids=["d_hs", "no_d_hs"])
@pytest.mark.parametrize("d_state", [(True,), (False,)], ids=["d_state", "no_d_state"])
def test_equals_reference(reset_after, dtype, bias, lengths, initial_state, d_hs, d_state):
    for seed in SEEDS:
        assert_equivalent("gru", {"reset_after": reset_after}, seed, dtype, bias=bias,
                          lengths=lengths, initial_state=initial_state, d_hs=d_hs, d_state=d_state)
