"""Helpers of rnnkit.kernels._common beside the activations (test_activations.py)."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.kernels._common import transposed


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (5, 1), (16, 16), (17, 33), (128, 512), (40, 3)])
def test_transposed_is_an_exact_c_ordered_copy_of_the_transpose(shape, dtype):
    W = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    out = transposed(W)
    assert out.flags.c_contiguous and out.dtype == dtype
    assert np.array_equal(out, W.T)
    assert not np.shares_memory(out, W)


def test_transposed_reads_strided_views():
    W = np.arange(60.0).reshape(6, 10)[::2, 1::3]
    assert np.array_equal(transposed(W), W.T)

