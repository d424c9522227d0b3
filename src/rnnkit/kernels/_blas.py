"""Matrix products from compiled code, through the BLAS that NumPy itself uses.

The recurrent product h_{t-1} @ W_h has to run once per step inside the compiled time loop.
Calling it from Python costs a few microseconds per step; Numba's own ``np.dot`` goes through
SciPy's separate copy of OpenBLAS, whose thread pool then competes with NumPy's (both spin on
the same cores after a call; measured 10–40 % slower when the layer's NumPy GEMMs and the per-step
products alternate). So this module finds the CBLAS ``?gemm``/``?gemv`` entry points of the
library NumPy has already loaded and registers them with LLVM under fixed names: compiled code
calls them by name, which keeps ``cache=True`` working (a raw address could not be cached).

Importing this module raises KernelUnavailable when no such library is found (NumPy built on
Accelerate, or no /proc/self/maps); the dispatcher then falls back to the reference cells.
"""

from __future__ import annotations

import ctypes
import os

import llvmlite.binding as llvm
import numpy as np  # noqa: F401  (loads NumPy's BLAS, which is what we look for)
from numba import njit, types
from numba.extending import overload

from rnnkit.kernels import KernelUnavailable
from rnnkit.kernels._common import JIT

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112  # CBLAS enum values

# (symbol pattern, integer type): NumPy's own wheels (scipy-openblas, 64-bit integers), the
# 32-bit-integer scipy-openblas, then a plain CBLAS (system OpenBLAS, MKL's mkl_rt).
_SCHEMES = (
    ("scipy_cblas_{}64_", types.int64, "ilp64"),
    ("scipy_cblas_{}", types.int32, "lp64"),
    ("cblas_{}", types.int32, "lp64"),
)


def _loaded_blas_libraries() -> list[str]:
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "/" in line}
    except OSError:
        return []
    return sorted(p for p in paths if "blas" in os.path.basename(p) or "mkl_rt" in p)


def _register() -> tuple[types.Integer, str]:
    for path in _loaded_blas_libraries():
        lib = ctypes.CDLL(path)
        for pattern, int_type, abi in _SCHEMES:
            names = {f: pattern.format(f) for f in ("sgemm", "dgemm", "sgemv", "dgemv")}
            if all(hasattr(lib, name) for name in names.values()):
                for f, name in names.items():
                    address = ctypes.cast(getattr(lib, name), ctypes.c_void_p).value
                    llvm.add_symbol(f"rnnkit_cblas_{f}_{abi}", address)
                return int_type, abi
    raise KernelUnavailable("no CBLAS library loaded by NumPy was found")


_INT, _ABI = _register()
_e, _p = types.int32, types.voidptr  # an enum argument, an array argument


def _external(name: str, real: types.Float, gemm: bool):
    i = _INT
    if gemm:  # order, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc
        sig = types.void(_e, _e, _e, i, i, i, real, _p, i, _p, i, real, _p, i)
    else:  # order, trans, m, n, alpha, a, lda, x, incx, beta, y, incy
        sig = types.void(_e, _e, i, i, real, _p, i, _p, i, real, _p, i)
    return types.ExternalFunction(f"rnnkit_cblas_{name}_{_ABI}", sig)


_sgemm = _external("sgemm", types.float32, True)
_dgemm = _external("dgemm", types.float64, True)
_sgemv = _external("sgemv", types.float32, False)
_dgemv = _external("dgemv", types.float64, False)


def _xgemm(trans_a, trans_b, M, N, K, A, lda, B, ldb, beta, C, ldc):
    """cblas_?gemm on row-major operands, the precision chosen from the arrays' dtype."""


@overload(_xgemm)
def _xgemm_typed(trans_a, trans_b, M, N, K, A, lda, B, ldb, beta, C, ldc):
    gemm = _sgemm if A.dtype == types.float32 else _dgemm

    def impl(trans_a, trans_b, M, N, K, A, lda, B, ldb, beta, C, ldc):
        gemm(ROW_MAJOR, trans_a, trans_b, M, N, K, 1.0, A.ctypes, lda, B.ctypes, ldb, beta,
             C.ctypes, ldc)

    return impl


def _xgemv(trans, M, N, A, lda, x, incx, beta, y, incy):
    """cblas_?gemv on a row-major matrix."""


@overload(_xgemv)
def _xgemv_typed(trans, M, N, A, lda, x, incx, beta, y, incy):
    gemv = _sgemv if A.dtype == types.float32 else _dgemv

    def impl(trans, M, N, A, lda, x, incx, beta, y, incy):
        gemv(ROW_MAJOR, trans, M, N, 1.0, A.ctypes, lda, x.ctypes, incx, beta, y.ctypes, incy)

    return impl


@njit(**JIT, inline="always")
def _rows_contiguous(X):
    return X.strides[1] == X.itemsize or X.shape[1] <= 1  # a length-1 axis may have any stride


@njit(**JIT, inline="always")
def _leading(X):
    """The leading dimension BLAS wants: the row stride in elements, at least the row width (a
    length-1 axis may carry any stride)."""
    ld = X.strides[0] // X.itemsize
    return max(ld, X.shape[1]) if X.shape[0] == 1 else ld


@njit(**JIT)
def matmul(A, B, C, transpose_b=False, beta=0.0, transpose_a=False):
    """C = op(A) @ op(B) + beta·C for row-major 2-D views whose rows may be strided, op(X) = X
    or Xᵀ.

    A (M, K), or (K, M) when transposed; B (K, N), or (N, K) when transposed; C (M, N). Every
    operand's last axis must be contiguous; rows may sit anywhere (x_proj[:, t] is a (B, G)
    view with row stride T·G). One row (batch 1) goes to ?gemv, which is about twice as fast
    as a one-row ?gemm.
    """
    M, N = C.shape
    K = A.shape[0] if transpose_a else A.shape[1]
    if M == 0 or N == 0:  # nothing to write (an empty operand's strides can be anything)
        return
    if not (_rows_contiguous(A) and _rows_contiguous(B) and _rows_contiguous(C)):
        raise ValueError("matmul needs each operand's last axis contiguous")
    lda, ldb = _leading(A), _leading(B)
    if M == 1 and not transpose_a:  # C's row = op(B)ᵀ times the single row of A
        if transpose_b:  # B is (N, K): y = B a
            _xgemv(NO_TRANS, N, K, B, ldb, A, 1, beta, C, 1)
        else:  # B is (K, N): y = Bᵀ a
            _xgemv(TRANS, K, N, B, ldb, A, 1, beta, C, 1)
    else:
        _xgemm(TRANS if transpose_a else NO_TRANS, TRANS if transpose_b else NO_TRANS,
               M, N, K, A, lda, B, ldb, beta, C, _leading(C))
