"""Pieces shared by the compiled kernels: activations that vectorise, argument preparation,
and the loops over the batch that every family's time loop is made of.

Compilation options (JIT, used by every kernel): cache=True keeps the compiled code between
processes; error_model="numpy" lets float division produce inf/nan instead of a Python
exception, without which Numba guards each division with a branch and LLVM vectorises nothing
that divides; fastmath={"contract"} only allows fused multiply-adds. Numba's cache checks only
each function's own source file: after editing this file or _blas.py, delete
kernels/__pycache__ so that the family kernels, which compile these helpers in, are rebuilt.

Activations. The C library's tanh/exp are scalar calls (~40x slower per element than vector
arithmetic) and stop a loop from vectorising. For float32 data the kernels use

    exp(x)     = 2^n · e^r,  n = rint(x·log2 e), r = x − n·ln 2 (two-part ln 2), e^r a
                 degree-6 polynomial; 2^n built from its exponent bits (pow2 below)
    sigmoid(x) = 1 / (1 + exp(−x))
    tanh(x)    = x + x³·R(x²) for |x| < 0.55, else sign(x)·(1 − e)/(1 + e) with e = exp(−2|x|)

all in float32, so that 16 lanes run per instruction. Measured over 4.4 million float32
arguments against float64 references: tanh within 1.5 ulp (relative error ≤ 1.6e-7; NumPy's own
float32 tanh: 1.35 ulp), sigmoid within 3 ulp (≤ 1.9e-7). That is more accurate than the
float32 reference cell's sigmoid, 0.5·(1 + tanh(x/2)), whose cancellation costs up to 6e-4
relative error at x ≈ −10 and returns exactly 0 below x ≈ −17; the two agree to ~1e-7 absolute.
For float64 data the kernels use the C library's tanh (within an ulp of NumPy's) in the
reference's formulas, so float64 results equal the reference to round-off (~1e-15).

The polynomial coefficients were fitted here for least relative error (weighted least squares
on Chebyshev nodes): e^r on [−ln2/2, ln2/2], error 3e-9; (tanh(x) − x)/x³ on |x| ≤ 0.55, 1e-9.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic, overload

JIT = {"cache": True, "error_model": "numpy", "fastmath": {"contract"}}

_f = np.float32
_EXP = tuple(map(_f, (0.4999999345184524, 0.16666520686728054, 0.041668387312060774,
                      0.008368710147748207, 0.0013814616976674811)))
_TANH = tuple(map(_f, (-0.33333317559081993, 0.13332586120431172, -0.0538523081194112,
                       0.021071671921114907, -0.006274229629464361)))
_LOG2E = _f(1.4426950408889634)
_LN2_HI = _f(0.693359375)  # 9 significant bits: n · _LN2_HI is exact for |n| < 2^15
_LN2_LO = _f(np.log(2.0) - 0.693359375)
_ONE, _TWO, _SMALL = _f(1.0), _f(2.0), _f(0.55)
_EXP_MIN, _EXP_MAX = _f(-87.0), _f(88.0)  # 2^n stays a normal float32


@intrinsic
def pow2(typingctx, n):
    """2.0**n as float32 for an int32 n in [−126, 127]: the biased exponent shifted into place."""

    def codegen(context, builder, signature, args):
        i32 = ir.IntType(32)
        bits = builder.shl(builder.add(args[0], ir.Constant(i32, 127)), ir.Constant(i32, 23))
        return builder.bitcast(bits, ir.FloatType())

    return types.float32(types.int32), codegen


@njit(**JIT, inline="always")
def exp_f32(x):
    x = min(max(x, _EXP_MIN), _EXP_MAX)
    n = np.rint(x * _LOG2E)
    r = (x - n * _LN2_HI) - n * _LN2_LO
    p = _EXP[0] + r * (_EXP[1] + r * (_EXP[2] + r * (_EXP[3] + r * _EXP[4])))
    return (_ONE + r + r * r * p) * pow2(np.int32(n))


@njit(**JIT, inline="always")
def sigmoid_f32(x):
    return _ONE / (_ONE + exp_f32(-x))


@njit(**JIT, inline="always")
def tanh_f32(x):
    a = abs(x)
    s = x * x
    small = x + x * s * (_TANH[0] + s * (_TANH[1] + s * (_TANH[2] + s * (_TANH[3] + s * _TANH[4]))))
    e = exp_f32(-_TWO * a)
    large = np.copysign((_ONE - e) / (_ONE + e), x)
    return small if a < _SMALL else large


def tanh(x):
    """tanh of one element inside a compiled loop, chosen by the element's type (pass values of
    the data's dtype: float32 loads, or results rounded with dtype.type(...))."""
    return np.tanh(x)


@overload(tanh, inline="always")
def _tanh_typed(x):
    if x == types.float32:
        return lambda x: tanh_f32(x)
    return lambda x: np.tanh(x)


def sigmoid(x):
    """σ(x) of one element: tanh form exactly as the reference for float64, exp form for float32."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


@overload(sigmoid, inline="always")
def _sigmoid_typed(x):
    if x == types.float32:
        return lambda x: sigmoid_f32(x)
    return lambda x: 0.5 * (1.0 + np.tanh(0.5 * x))


# --- arguments -------------------------------------------------------------------------------


class ReferenceCache(NamedTuple):
    """Marks a cache made by the reference cell, which ran because the dtypes were unsupported."""

    cache: tuple


FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def common_float_dtype(*arrays) -> np.dtype | None:
    """The one dtype shared by all arrays (None entries skipped) if it is float32/64, else None.

    Mixed or other dtypes go to the reference cell, whose NumPy promotion rules then apply.
    """
    dtypes = {a.dtype if isinstance(a, np.ndarray) else np.asarray(a).dtype
              for a in arrays if a is not None}
    if len(dtypes) == 1 and (dtype := dtypes.pop()) in FLOATS:
        return dtype
    return None


def contiguous(a, dtype) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=dtype)


def fresh_state(s, dtype) -> np.ndarray:
    """A private C-ordered copy: the kernel updates the state in place and returns it."""
    return np.array(s, dtype=dtype, order="C", copy=True)


def step_counts(lengths, B: int, T: int) -> np.ndarray:
    """lengths as (B,) int64; None means every sequence runs all T steps. Step t of sequence b
    is real iff t < lengths[b], exactly as rnnkit.cells._common.step_masks decides."""
    if lengths is None:
        counts = np.empty(B, dtype=np.int64)
        counts.fill(T)
        return counts
    counts = np.asarray(lengths)
    if counts.shape != (B,):
        raise ValueError(f"lengths must have shape (B,) = ({B},), got {counts.shape}")
    if not np.issubdtype(counts.dtype, np.integer):
        counts = np.ceil(counts)  # t < L  ⇔  t < ceil(L) for integer t
    return np.clip(counts, 0, T).astype(np.int64)


def absent(dtype, ndim: int) -> np.ndarray:
    """An empty array standing for an optional argument that is None (b_h, d_hs): the compiled
    loops test .size, so one compiled version serves both cases (half the compile time)."""
    return np.empty((0,) * ndim, dtype=dtype)


def upstream_outputs(d_hs, shape: tuple[int, int, int], dtype) -> np.ndarray:
    """The upstream gradient of hs, C-ordered (empty when hs was unused). Its shape is checked
    here because the compiled loops index it without bounds checks."""
    if d_hs is None:
        return absent(dtype, 3)
    return _shaped(contiguous(d_hs, dtype), shape, "d_hs", "hs (B, T, H)")


def upstream_state(d, shape: tuple[int, int], dtype) -> np.ndarray:
    """A private copy of an upstream state gradient (zeros when that output was unused), its
    shape checked as upstream_outputs checks d_hs's."""
    if d is None:
        return np.zeros(shape, dtype=dtype)
    return _shaped(fresh_state(d, dtype), shape, "d_state_T", "the final state (B, H)")


def _shaped(a: np.ndarray, shape: tuple, name: str, of: str) -> np.ndarray:
    if a.shape != shape:
        raise ValueError(f"{name} must have the shape of {of} = {shape}, got {a.shape}")
    return a


# --- passes shared by the kernels ------------------------------------------------------------
# Every loop here and in the families is written so that LLVM vectorises it (checked in the
# generated assembly; a scalar loop was ~5x slower per activation): indices provably
# non-negative (Numba wraps negative indices around, and that select blocks vectorisation, so
# offsets inside a row are unsigned), few arrays per loop (each pair costs a run-time aliasing
# check, and past ~8 checks LLVM gives up), no division guards (error_model above). The caches
# keep each gate of a step as one contiguous (B, H) block (gate-major), so the cell arithmetic
# runs as flat loops over whole blocks; only x_proj, hs and d_x_proj are in the contract's
# batch-major layout, and gate_pass / scatter_blocks move between the two.


SIGMOID, TANH = 1, 2


@njit(**JIT)
def gate_pass(a, x_proj, t, b_h, z, first, kind):
    """z[q, b] = φ(a[b, k] + x_proj[b, t, k] + b_h[k]) over block k = first + q of every row:
    the gates, gate-major, with the pre-activation summed in the reference's order
    (x_proj + h W_h) + b_h and rounded to the dtype before φ (SIGMOID or TANH; a cell without
    b_h passes zeros: + 0 is exact). Offsets are unsigned so that Numba's negative-index
    wraparound cannot stop vectorising."""
    n, B, H = z.shape
    for q in range(n):
        lo = np.uint64((first + q) * H)
        for b in range(B):
            for j in range(np.uint64(H)):
                z[q, b, j] = (a[b, lo + j] + x_proj[b, t, lo + j]) + b_h[lo + j]
            if kind == SIGMOID:
                for j in range(H):
                    z[q, b, j] = sigmoid(z[q, b, j])
            else:
                for j in range(H):
                    z[q, b, j] = tanh(z[q, b, j])


@njit(**JIT)
def scatter_blocks(z, out, t, steps, first):
    """out[b, t, block first + q] = z[q, b] where step t is real, zeros on padding: gate-major
    blocks back into the contract's (B, T, G) layout."""
    n, B, H = z.shape
    for b in range(B):
        alive = t < steps[b]
        for q in range(n):
            lo = np.uint64((first + q) * H)
            for j in range(np.uint64(H)):
                out[b, t, lo + j] = z[q, b, j] if alive else 0.0


@njit(**JIT)
def update_rows(new, state, t, steps):
    """state[b] = new[b] where step t is real (padding keeps the carried value)."""
    B, H = new.shape
    for b in range(B):
        if t < steps[b]:
            for j in range(H):
                state[b, j] = new[b, j]


@njit(**JIT)
def update_rows_sum(new, extra, state, t, steps):
    """state[b] = new[b] + extra[b] where step t is real (padding keeps the carried value)."""
    B, H = new.shape
    for b in range(B):
        if t < steps[b]:
            for j in range(H):
                state[b, j] = new[b, j] + extra[b, j]


@njit(**JIT)
def add_rows(acc, x, t, steps):
    """acc[b] += x[b, t] where step t is real (the loss's gradient at step t)."""
    B, H = acc.shape
    for b in range(B):
        if t < steps[b]:
            for j in range(H):
                acc[b, j] += x[b, t, j]


@njit(**JIT)
def sum_rows(z, acc, t, steps):
    """acc[q] += Σ_b z[q, b] over the rows whose step t is real (bias gradients): each step's
    sum in the data's dtype, the running total over steps in float64."""
    n, B, H = z.shape
    step = np.zeros(H, dtype=z.dtype)
    for q in range(n):
        step[:] = 0.0
        for b in range(B):
            if t < steps[b]:
                for j in range(H):
                    step[j] += z[q, b, j]
        for j in range(H):
            acc[q, j] += step[j]


@njit(**JIT)
def copy_flat(src, dst):
    s, d = src.reshape(-1), dst.reshape(-1)
    for k in range(s.size):
        d[k] = s[k]


def transposed(W: np.ndarray) -> np.ndarray:
    """A C-ordered copy of Wᵀ. NumPy's own copy of a transposed view walks one array with a
    large power-of-two stride (4H floats for an LSTM's W_h), which thrashes the cache: for a
    128 × 512 W_h it takes 147 µs against 49 µs tile by tile (512 × 2048: 3.0 against 1.6 ms)."""
    out = np.empty(W.shape[::-1], dtype=W.dtype)
    _transpose_tiles(W, out)
    return out


@njit(**JIT)
def _transpose_tiles(W, out):
    M, N = W.shape
    for i0 in range(0, M, 16):
        for j0 in range(0, N, 16):
            for j in range(j0, min(j0 + 16, N)):
                for i in range(i0, min(i0 + 16, M)):
                    out[j, i] = W[i, j]
