"""Compiled LSTM (rnnkit.kernels.lstm) against the reference cell over the whole config matrix."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tests.kernels.equivalence import assert_equivalent

SEEDS = (3, 23, 34, 9, 2)  # (B, T, H): (8, 1, 2), (1, 7, 4), (1, 1, 2), (4, 8, 9), (8, 3, 1)
D_STATE = list(itertools.product([False, True], repeat=2))  # which of (dh_T, dc_T) are given


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("bias", [True, False], ids=["b_h", "no_b_h"])
@pytest.mark.parametrize("lengths", [None, "variable"])
@pytest.mark.parametrize("initial_state", ["random", "zeros"])
@pytest.mark.parametrize("d_hs", [True, False], ids=["d_hs", "no_d_hs"])
@pytest.mark.parametrize("d_state", D_STATE, ids=lambda d: "d_state_" + "".join("1" if g else "0" for g in d))
def test_equals_reference(dtype, bias, lengths, initial_state, d_hs, d_state):
    for seed in SEEDS:
        assert_equivalent("lstm", {}, seed, dtype, bias=bias, lengths=lengths,
                          initial_state=initial_state, d_hs=d_hs, d_state=d_state)
