"""rnnkit.kernels._blas.matmul: NumPy's own BLAS called from compiled code."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.kernels._blas import matmul


def _operand(rng, rows, cols, dtype, row_stride):
    """A (rows, cols) view whose rows sit row_stride elements apart (last axis contiguous)."""
    base = rng.standard_normal((rows, row_stride)).astype(dtype)
    return base[:, :cols]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("transpose_a", [False, True])
@pytest.mark.parametrize("transpose_b", [False, True])
@pytest.mark.parametrize("M", [1, 5])
def test_matmul_equals_numpy(M, transpose_a, transpose_b, dtype):
    rng = np.random.default_rng(M)
    K, N = 7, 6
    A = _operand(rng, *((K, M) if transpose_a else (M, K)), dtype, 11)
    B = _operand(rng, *((N, K) if transpose_b else (K, N)), dtype, 9)
    C0 = _operand(rng, M, N, dtype, 8)
    expected = (A.T if transpose_a else A) @ (B.T if transpose_b else B)
    for beta in (0.0, 1.0):
        C = C0.copy()
        matmul(A, B, C, transpose_b=transpose_b, beta=beta, transpose_a=transpose_a)
        tol = 1e-5 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(C, expected + beta * C0, rtol=tol, atol=tol)


def test_matmul_refuses_a_strided_last_axis():
    A = np.ones((3, 8))[:, ::2]
    with pytest.raises(ValueError, match="last axis contiguous"):
        matmul(A, np.ones((4, 2)), np.empty((3, 2)))
