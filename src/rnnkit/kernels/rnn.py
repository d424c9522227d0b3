"""Compiled simple RNN: the same contract and results as rnnkit.cells.rnn (φ = tanh, relu or
sigmoid). The equations and their derivation live in that file; this one only makes them fast,
with the pieces described in kernels._common and kernels._previous_state:

  * One compiled loop over time. A step is one BLAS call, h_{t-1} @ W_h, then one pass
    (_step_rows) adds x_proj and b_h, applies φ and writes the result into hs and the state
    (padded rows keep theirs). Python does nothing per step.
  * The cache is the outputs themselves: on every real step y = φ(a_t) is hs[:, t] and the
    h_{t-1} it started from is hs[:, t-1] (h_0 at t = 0); padded steps get no gradient. So the
    forward pass writes nothing besides hs (read-only from then on), and ∂L/∂W_h =
    Σ_t h_{t-1}ᵀ da_t is one GEMM over all B·T rows after the backward loop.
  * Backward keeps only the recurrence in its loop: da_t = dh ⊙ φ'(y) written straight into
    d_x_proj in one pass (_da_rows), then BLAS for ∂L/∂h_{t-1} = da_t W_hᵀ. ∂L/∂b_h is summed
    per step while da_t is in cache.
  * keep_cache=False (inference: rnnkit.no_grad(), predict) runs the very same loop and only
    leaves hs writeable.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from rnnkit.cells import rnn as reference
from rnnkit.cells._common import CellGrads, activation
from rnnkit.kernels._blas import matmul
from rnnkit.kernels._buffers import empty
from rnnkit.kernels._common import (
    JIT, SIGMOID, TANH, ReferenceCache, add_rows, common_float_dtype, contiguous,
    fresh_state, sigmoid, step_counts, tanh, transposed, update_rows, upstream_outputs, upstream_state,
)
from rnnkit.kernels._previous_state import recurrent_weight_grad, saved_for_backward

GATES = reference.GATES
STATE_SIZE = reference.STATE_SIZE
RELU = 3  # beside _common's SIGMOID, TANH
_CODES = {"tanh": TANH, "relu": RELU, "sigmoid": SIGMOID}


def forward(x_proj, state0, W_h, b_h, lengths, keep_cache=True, *, activation_name: str = "tanh"):
    """Run the cell over x_proj (B, T, H); returns hs (B, T, H), (h_T,), cache."""
    activation(activation_name)  # the reference's error for unknown names
    dtype = common_float_dtype(x_proj, W_h, b_h, *state0)
    if dtype is None:
        hs, state_T, cache = reference.forward(x_proj, state0, W_h, b_h, lengths,
                                               activation_name=activation_name)
        return hs, state_T, ReferenceCache(cache) if keep_cache else None
    x_proj = contiguous(x_proj, dtype)
    B, T, H = x_proj.shape
    W_h = contiguous(W_h, dtype)
    has_bias = b_h is not None
    b_h = contiguous(b_h, dtype) if has_bias else np.zeros(H, dtype=dtype)  # + 0 is exact
    steps = step_counts(lengths, B, T)
    act = _CODES[activation_name]
    h0 = fresh_state(state0[0], dtype) if keep_cache else None
    h = fresh_state(state0[0], dtype)
    hs = empty((B, T, H), dtype=dtype)
    _forward_loop(x_proj, h, W_h, b_h, steps, act, hs, np.empty((B, H), dtype=dtype))
    if not keep_cache:
        return hs, (h,), None
    return saved_for_backward(hs), (h,), (hs, h0, W_h, has_bias, steps, act)


@njit(**JIT)
def _forward_loop(x_proj, h, W_h, b_h, steps, act, hs, a):
    for t in range(x_proj.shape[1]):
        matmul(h, W_h, a)  # h_{t-1} W_h
        _step_rows(a, x_proj, t, b_h, act, steps, h, hs)


@njit(**JIT)
def _step_rows(a, x_proj, t, b_h, act, steps, h, hs):
    """h[b] = hs[b, t] = φ((a[b] + x_proj[b, t]) + b_h) for every row whose step t is real (the
    reference's order of summation, rounded before φ); hs[b, t] = 0 on padding, where h keeps
    its value. Written straight into both, a row at a time while it is in cache: a pass into a
    scratch and a second one copying it out made the loop 6–30 % slower (one thread, tiny to
    large)."""
    B, H = h.shape
    n = np.uint64(H)
    zero = h.dtype.type(0.0)
    for b in range(B):
        out = hs[b, t]
        if t >= steps[b]:
            for j in range(n):
                out[j] = zero
        elif act == TANH:
            for j in range(n):
                v = tanh((a[b, j] + x_proj[b, t, j]) + b_h[j])
                out[j] = v
                h[b, j] = v
        elif act == SIGMOID:
            for j in range(n):
                v = sigmoid((a[b, j] + x_proj[b, t, j]) + b_h[j])
                out[j] = v
                h[b, j] = v
        else:  # RELU
            for j in range(n):
                v = max((a[b, j] + x_proj[b, t, j]) + b_h[j], zero)
                out[j] = v
                h[b, j] = v


def backward(d_hs, d_state_T, cache) -> CellGrads:
    if isinstance(cache, ReferenceCache):
        return reference.backward(d_hs, d_state_T, cache.cache)
    hs, h0, W_h, has_bias, steps, act = cache
    B, T, H = hs.shape
    dtype = hs.dtype
    d_hs = upstream_outputs(d_hs, (B, T, H), dtype)
    dh = upstream_state(d_state_T[0], (B, H), dtype)
    d_x_proj = empty((B, T, H), dtype=dtype)
    d_b_h = np.zeros((1, H), dtype=np.float64)
    W_hT = transposed(W_h)  # (H, H); products with it run faster than transposed
    _backward_loop(d_hs, dh, W_hT, steps, act, hs, d_x_proj, d_b_h, has_bias,
                   np.empty((B, H), dtype=dtype), np.empty(H, dtype=dtype))
    d_W_h = recurrent_weight_grad(h0, hs, d_x_proj, np.empty((H, H), dtype=dtype))
    return CellGrads(d_x_proj, d_W_h, d_b_h[0].astype(dtype) if has_bias else None, (dh,))


@njit(**JIT)
def _backward_loop(d_hs, dh, W_hT, steps, act, hs, d_x_proj, d_b_h, has_bias, dh_new, step_sum):
    for t in range(d_x_proj.shape[1] - 1, -1, -1):
        if d_hs.size:  # empty: no loss on hs
            add_rows(dh, d_hs, t, steps)
        _da_rows(dh, hs, d_x_proj, t, steps, act)
        if has_bias:
            _sum_step(d_x_proj, t, steps, step_sum)
            for j in range(step_sum.size):  # each step's sum in the data's dtype, the total in float64
                d_b_h[0, j] += step_sum[j]
        matmul(d_x_proj[:, t], W_hT, dh_new)  # da_t W_hᵀ
        update_rows(dh_new, dh, t, steps)


@njit(**JIT)
def _da_rows(dh, hs, d_x_proj, t, steps, act):
    """d_x_proj[b, t] = da = dh ⊙ φ'(a) for every row whose step t is real (zeros on
    padding), φ' written in terms of the output y = hs[b, t] as in the reference. Rows are
    taken one at a time (hs[b, t] is contiguous, hs[:, t] is not, and LLVM vectorises only
    the former)."""
    B, H = dh.shape
    n = np.uint64(H)
    zero, one = dh.dtype.type(0.0), dh.dtype.type(1.0)
    for b in range(B):
        out = d_x_proj[b, t]
        y = hs[b, t]
        if t >= steps[b]:
            for j in range(n):
                out[j] = zero
        elif act == TANH:
            for j in range(n):
                out[j] = dh[b, j] * (one - y[j] * y[j])
        elif act == RELU:
            for j in range(n):
                out[j] = dh[b, j] if y[j] > zero else zero
        else:
            for j in range(n):
                out[j] = dh[b, j] * (y[j] * (one - y[j]))


@njit(**JIT)
def _sum_step(d, t, steps, total):
    """total = Σ_b d[b, t] over the rows whose step t is real, in d's dtype."""
    total[:] = 0.0
    for b in range(d.shape[0]):
        if t < steps[b]:
            row = d[b, t]
            for j in range(np.uint64(row.size)):
                total[j] += row[j]
