"""Compiled GRU, both forms: the same contract and results as rnnkit.cells.gru (gate order
r, z, n; reset_after True or False). The equations and their derivation live in that file; this
one only makes them fast, with the pieces described in kernels._common and
kernels._previous_state:

  * One compiled loop over time; per step BLAS does the recurrent products and a few
    vectorised passes over the batch do the gate math, writing the cache, hs and the state
    (padded rows keep theirs). Python does nothing per step.
      reset after:  one product h_{t-1} @ W_h (B, 3H); its n block plus b_hn is exactly the
                    cached h W_hn + b_hn that n and the backward pass need; r, z, n and h_t
                    then come from one pass (_step_rows_after).
      reset before: h_{t-1} @ W_h[:, :2H] for r and z, then r ⊙ h_{t-1} is written into the
                    cache and multiplied by W_h[:, 2H:] straight from there (BLAS reads
                    strided rows).
  * Cache layout: gates (T, 3, B, H), one contiguous (B, H) block per gate and step. h_{t-1}
    is not copied: it is hs[:, t-1] (h_0 at t = 0), read-only from then on; r ⊙ h_{t-1}
    (reset before) is kept batch-major (B, T, H), the row order of d_x_proj. So ∂L/∂W_h takes
    two GEMMs over all B·T rows after the backward loop: h_{t-1} with the r, z blocks, and
    h_{t-1} or r ⊙ h_{t-1} with the n block.
  * Backward keeps only the recurrence in its loop. Reset after: the gate derivatives give
    [da_r, da_z, da_n] for d_x_proj; what reaches h W_h + b_h is [da_r, da_z, da_n ⊙ r], of
    which only the n block differs, so that block alone is kept over all steps (B, T, H) for
    ∂L/∂W_hn, and the whole row goes to a one-step scratch for the single BLAS call that
    gives every product in ∂L/∂h_{t-1} (rather than a T-long copy of all three blocks, as
    large as d_x_proj). Reset before: da_n W_hnᵀ first (it feeds dr), then [da_r, da_z] W_hrzᵀ.
  * keep_cache=False (inference: rnnkit.no_grad(), predict) runs the same loop, the same
    arithmetic, into a scratch that holds one step and is overwritten every step: no T-long
    cache is written, so the outputs are bit-for-bit those of the caching pass at a fraction of
    the memory traffic.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from rnnkit.cells import gru as reference
from rnnkit.cells._common import CellGrads
from rnnkit.kernels._blas import matmul
from rnnkit.kernels._buffers import empty
from rnnkit.kernels._common import (
    JIT, SIGMOID, TANH, ReferenceCache, add_rows, common_float_dtype,
    contiguous, fresh_state, gate_pass, scatter_blocks, sigmoid, step_counts, sum_rows, tanh,
    transposed, update_rows_sum, upstream_outputs, upstream_state,
)
from rnnkit.kernels._previous_state import load_previous, recurrent_weight_grad, saved_for_backward

GATES = reference.GATES
STATE_SIZE = reference.STATE_SIZE


def forward(x_proj, state0, W_h, b_h, lengths, keep_cache=True, *, reset_after: bool = True):
    """Run the cell over x_proj (B, T, 3H); returns hs (B, T, H), (h_T,), cache."""
    dtype = common_float_dtype(x_proj, W_h, b_h, *state0)
    if dtype is None:
        hs, state_T, cache = reference.forward(x_proj, state0, W_h, b_h, lengths,
                                               reset_after=reset_after)
        return hs, state_T, ReferenceCache(cache) if keep_cache else None
    x_proj = contiguous(x_proj, dtype)
    B, T, G = x_proj.shape
    H = G // 3
    W_h = contiguous(W_h, dtype)
    has_bias = b_h is not None
    b_h = contiguous(b_h, dtype) if has_bias else np.zeros(G, dtype=dtype)  # + 0 is exact
    steps = step_counts(lengths, B, T)
    h = fresh_state(state0[0], dtype)
    h0 = fresh_state(state0[0], dtype) if keep_cache else None
    hs = empty((B, T, H), dtype=dtype)
    kept = T if keep_cache else 1  # without a cache, one step's worth, overwritten every step
    gates = empty((kept, 3, B, H), dtype=dtype)  # r, z, n after their nonlinearities
    a = np.empty((B, G), dtype=dtype)
    if reset_after:
        hn = empty((kept, B, H), dtype=dtype)  # h_{t-1} W_hn + b_hn
        _forward_after(x_proj, h, W_h, b_h, steps, hs, gates, hn, a, keep_cache)
    else:
        hn = empty((B, kept, H), dtype=dtype)  # r ⊙ h_{t-1}, batch-major: a GEMM operand
        _forward_before(x_proj, h, W_h, b_h, steps, hs, gates, hn, a, keep_cache)
    if not keep_cache:
        return hs, (h,), None
    return saved_for_backward(hs), (h,), (hs, h0, gates, hn, W_h, has_bias, steps, reset_after)


@njit(**JIT)
def _forward_after(x_proj, h, W_h, b_h, steps, hs, gates, hn, a, keep):
    """keep: fill the whole cache; else gates and hn hold one step."""
    for t in range(x_proj.shape[1]):
        k = t if keep else 0
        matmul(h, W_h, a)  # h_{t-1} W_h, all three blocks
        _step_rows_after(a, x_proj, t, b_h, gates[k], hn[k], steps, h, hs)


@njit(**JIT)
def _step_rows_after(a, x_proj, t, b_h, z, hn, steps, h, hs):
    """One step on every row, in one pass: r and z = σ((x_proj + a) + b_h), hn = a_n + b_hn
    (cached), n = tanh(x_proj_n + r ⊙ hn), h_t = z ⊙ h_{t-1} + (1 − z) ⊙ n written straight
    into h and hs where step t is real (hs = 0 on padding, where h keeps its value). One pass
    instead of one per gate and one to commit h_t: the pre-activations are read once and the
    gates stay in registers."""
    B, H = h.shape
    m = np.uint64(H)
    one, zero = h.dtype.type(1.0), h.dtype.type(0.0)
    for b in range(B):
        alive = t < steps[b]
        out = hs[b, t]
        for j in range(m):
            r = sigmoid((a[b, j] + x_proj[b, t, j]) + b_h[j])
            u = sigmoid((a[b, m + j] + x_proj[b, t, m + j]) + b_h[m + j])
            hn_t = a[b, 2 * m + j] + b_h[2 * m + j]
            n = tanh(x_proj[b, t, 2 * m + j] + r * hn_t)
            z[0, b, j] = r
            z[1, b, j] = u
            z[2, b, j] = n
            hn[b, j] = hn_t
            h_t = u * h[b, j] + (one - u) * n
            if alive:
                h[b, j] = h_t
                out[j] = h_t
            else:
                out[j] = zero


@njit(**JIT)
def _mix_rows(z, n, t, steps, h, hs):
    """h[b] = hs[b, t] = z ⊙ h_{t-1} + (1 − z) ⊙ n where step t is real; hs[b, t] = 0 on
    padding, where h keeps its value."""
    B, H = h.shape
    m = np.uint64(H)
    one, zero = h.dtype.type(1.0), h.dtype.type(0.0)
    for b in range(B):
        out = hs[b, t]
        if t < steps[b]:
            for j in range(m):
                h_t = z[b, j] * h[b, j] + (one - z[b, j]) * n[b, j]
                h[b, j] = h_t
                out[j] = h_t
        else:
            for j in range(m):
                out[j] = zero


@njit(**JIT)
def _forward_before(x_proj, h, W_h, b_h, steps, hs, gates, hn, a, keep):
    B, G = a.shape
    H = G // 3
    W_rz, W_n = W_h[:, : 2 * H], W_h[:, 2 * H :]
    for t in range(x_proj.shape[1]):
        k = t if keep else 0
        matmul(h, W_rz, a[:, : 2 * H])  # h_{t-1} W_hrz
        z = gates[k]
        gate_pass(a, x_proj, t, b_h, z[:2], 0, SIGMOID)  # r, z
        for b in range(B):  # r ⊙ h, zero on padding: it feeds the ∂L/∂W_hn GEMM
            alive = t < steps[b]
            for j in range(H):
                hn[b, k, j] = z[0, b, j] * h[b, j] if alive else 0.0
        matmul(hn[:, k], W_n, a[:, 2 * H :])  # (r ⊙ h_{t-1}) W_hn
        gate_pass(a, x_proj, t, b_h, z[2:], 2, TANH)  # n
        _mix_rows(z[1], z[2], t, steps, h, hs)


def backward(d_hs, d_state_T, cache) -> CellGrads:
    if isinstance(cache, ReferenceCache):
        return reference.backward(d_hs, d_state_T, cache.cache)
    hs, h0, gates, hn, W_h, has_bias, steps, reset_after = cache
    B, T, H = hs.shape
    G = 3 * H
    dtype = hs.dtype
    d_hs = upstream_outputs(d_hs, (B, T, H), dtype)
    dh = upstream_state(d_state_T[0], (B, H), dtype)
    d_x_proj = empty((B, T, G), dtype=dtype)
    d_b_h = np.zeros((3, H), dtype=np.float64)
    work = np.empty((6, B, H), dtype=dtype)
    W_hT = transposed(W_h)  # (3H, H); products with it run faster than transposed
    d_W_h = np.empty((H, G), dtype=dtype)
    if reset_after:
        d_hn = empty((B, T, H), dtype=dtype)  # da_n ⊙ r: the gradient reaching h_{t-1} W_hn + b_hn
        _backward_after(d_hs, dh, W_hT, steps, hs, h0, gates, hn, d_x_proj, d_hn, d_b_h,
                        has_bias, work, np.empty((B, G), dtype=dtype))
        recurrent_weight_grad(h0, hs, d_hn, d_W_h[:, 2 * H :])  # the n block's rows: h_{t-1} ...
    else:
        _backward_before(d_hs, dh, W_hT, steps, hs, h0, gates, d_x_proj, d_b_h, has_bias, work)
        np.matmul(hn.reshape(B * T, H).T, d_x_proj.reshape(B * T, G)[:, 2 * H :],
                  out=d_W_h[:, 2 * H :])  # ... or with r ⊙ h_{t-1}
    recurrent_weight_grad(h0, hs, d_x_proj[:, :, : 2 * H], d_W_h[:, : 2 * H])
    return CellGrads(d_x_proj, d_W_h, d_b_h.reshape(G).astype(dtype) if has_bias else None, (dh,))


@njit(**JIT)
def _backward_after(d_hs, dh, W_hT, steps, hs, h0, gates, hn, d_x_proj, d_hn, d_b_h, has_bias,
                    work, d_rec):
    """d_rec: one step of [da_r, da_z, da_n ⊙ r], the gradient reaching h_{t-1} W_h + b_h."""
    da, hp, dh_z, dh_rec = work[0:3], work[3], work[4], work[5]  # da = [da_r, da_z, da_n]
    for t in range(d_x_proj.shape[1] - 1, -1, -1):
        if d_hs.size:  # empty: no loss on hs
            add_rows(dh, d_hs, t, steps)
        z = gates[t]
        load_previous(hs, h0, t, hp)
        _gates_backward(z[0].reshape(-1), z[1].reshape(-1), z[2].reshape(-1), hp.reshape(-1),
                        dh.reshape(-1), da[0].reshape(-1), da[1].reshape(-1), da[2].reshape(-1))
        _reset_after_backward(z[0].reshape(-1), hn[t].reshape(-1), da[0].reshape(-1),
                              da[2].reshape(-1))
        scatter_blocks(da, d_x_proj, t, steps, 0)
        _times(da[2].reshape(-1), z[0].reshape(-1), da[2].reshape(-1))  # now da_n ⊙ r
        _recurrent_rows(da, d_rec, d_hn, t, steps)
        if has_bias:
            sum_rows(da, d_b_h, t, steps)
        _times(dh.reshape(-1), z[1].reshape(-1), dh_z.reshape(-1))
        matmul(d_rec, W_hT, dh_rec)  # all three blocks at once
        update_rows_sum(dh_z, dh_rec, dh, t, steps)


@njit(**JIT)
def _recurrent_rows(da, d_rec, d_hn, t, steps):
    """d_rec[b] = [da_r, da_z, da_n ⊙ r] on every row (padded rows are discarded by the state
    update), and d_hn[b, t] = da_n ⊙ r where step t is real, zeros on padding (the ∂L/∂W_hn
    GEMM's rows)."""
    n, B, H = da.shape
    for b in range(B):
        alive = t < steps[b]
        for q in range(n):
            lo = np.uint64(q * H)
            for j in range(np.uint64(H)):
                d_rec[b, lo + j] = da[q, b, j]
        for j in range(H):
            d_hn[b, t, j] = da[n - 1, b, j] if alive else 0.0


@njit(**JIT, inline="always")
def _gates_backward(r, z, n, hp, dh, da_r, da_z, da_n):
    """da_n = dh (1 − z)(1 − n²), da_z = dh (h_{t-1} − n) z (1 − z), as in the reference;
    da_r is left for the variant."""
    one = dh.dtype.type(1.0)
    for k in range(dh.size):
        da_n[k] = dh[k] * (one - z[k]) * (one - n[k] * n[k])
    for k in range(dh.size):
        da_z[k] = dh[k] * (hp[k] - n[k]) * z[k] * (one - z[k])


@njit(**JIT, inline="always")
def _reset_after_backward(r, hn, da_r, da_n):
    """dr = da_n ⊙ (h W_hn + b_hn);  da_r = dr ⊙ r(1 − r)."""
    one = r.dtype.type(1.0)
    for k in range(r.size):
        da_r[k] = da_n[k] * hn[k] * r[k] * (one - r[k])


@njit(**JIT, inline="always")
def _times(x, y, out):
    for k in range(x.size):
        out[k] = x[k] * y[k]


@njit(**JIT)
def _backward_before(d_hs, dh, W_hT, steps, hs, h0, gates, d_x_proj, d_b_h, has_bias, work):
    B, T, G = d_x_proj.shape
    H = G // 3
    W_rzT, W_nT = W_hT[: 2 * H], W_hT[2 * H :]
    da, hp, dh_new, d_rh = work[0:3], work[3], work[4], work[5]
    for t in range(T - 1, -1, -1):
        if d_hs.size:  # empty: no loss on hs
            add_rows(dh, d_hs, t, steps)
        z = gates[t]
        load_previous(hs, h0, t, hp)
        _gates_backward(z[0].reshape(-1), z[1].reshape(-1), z[2].reshape(-1), hp.reshape(-1),
                        dh.reshape(-1), da[0].reshape(-1), da[1].reshape(-1), da[2].reshape(-1))
        scatter_blocks(da[1:], d_x_proj, t, steps, 1)
        matmul(d_x_proj[:, t, 2 * H :], W_nT, d_rh)  # d(r ⊙ h) = da_n W_hnᵀ
        _reset_before_backward(z[0].reshape(-1), z[1].reshape(-1), hp.reshape(-1),
                               dh.reshape(-1), d_rh.reshape(-1), da[0].reshape(-1),
                               dh_new.reshape(-1))
        scatter_blocks(da[:1], d_x_proj, t, steps, 0)
        if has_bias:
            sum_rows(da, d_b_h, t, steps)
        matmul(d_x_proj[:, t, : 2 * H], W_rzT, d_rh)  # [da_r da_z] W_hrzᵀ
        update_rows_sum(dh_new, d_rh, dh, t, steps)


@njit(**JIT, inline="always")
def _reset_before_backward(r, z, hp, dh, d_rh, da_r, dh_new):
    """dr = d(r⊙h) ⊙ h_{t-1}, da_r = dr ⊙ r(1 − r); h_{t-1} collects dh ⊙ z + d(r⊙h) ⊙ r."""
    one = dh.dtype.type(1.0)
    for k in range(dh.size):
        da_r[k] = d_rh[k] * hp[k] * r[k] * (one - r[k])
    for k in range(dh.size):
        dh_new[k] = dh[k] * z[k] + d_rh[k] * r[k]
