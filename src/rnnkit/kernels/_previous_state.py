"""h_{t-1} read back from the outputs instead of a copy in the backward cache.

On every real step the state a step starts from is the previous output, h_{t-1} = hs[:, t-1]
(h_0 at t = 0), and a padded step gets no gradient, so whatever hs holds there is never used.
The compiled cells therefore keep hs itself, and h_0, for their backward pass instead of writing
a (B, T, H) copy of the states in the forward loop: one T-long array less in a training step's
memory (two for the simple RNN, whose activations are hs as well) and one write stream less per
step. What that asks of the caller: hs must not change before the backward pass, which
saved_for_backward enforces.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from rnnkit.kernels._blas import matmul
from rnnkit.kernels._common import JIT, copy_flat


def saved_for_backward(hs: np.ndarray) -> np.ndarray:
    """hs made read-only: a write into it would silently change the gradients; NumPy refuses
    it instead (an inference pass, which keeps no cache, leaves its hs writeable)."""
    hs.flags.writeable = False
    return hs


@njit(**JIT)
def load_previous(hs, h0, t, out):
    """out[b] = h_{t-1} of row b as the outputs hold it: hs[b, t−1], or h0[b] at t = 0 (zeros on
    a padded step, where the carried state would be: callers discard those rows)."""
    if t == 0:
        copy_flat(h0, out)
        return
    B, H = out.shape
    for b in range(B):
        for j in range(H):
            out[b, j] = hs[b, t - 1, j]


def recurrent_weight_grad(h0, hs, d, out) -> np.ndarray:
    """out (H, N) = Σ_{b,t} h_{t-1}[b]ᵀ d[b, t] for hs (B, T, H) and d (B, T, N), both
    batch-major, d zero on padded steps (d may be a column slice: its rows merge without a
    copy). d[:, 0] is changed during the call and restored before it returns."""
    B, T, H = hs.shape
    if B * T == 0:
        out[...] = 0.0
        return out
    if T > 1 and B > 1 and not np.isfinite(hs[:-1, T - 1]).all():
        # the one-GEMM pairing below multiplies these last outputs by zeroed rows of d, and
        # 0 · inf is NaN where the reference never touches them: pair each sequence alone
        out[...] = h0.T @ d[:, 0] + sum(hs[b, :-1].T @ d[b, 1:] for b in range(B))
        return out
    _weight_grad(h0, hs.reshape(B * T, H), d.reshape(B * T, d.shape[2]), T, out)
    return out


@njit(**JIT)
def _weight_grad(h0, h_rows, d_rows, T, out):
    """Over the flattened rows, (b, t−1) and (b, t) are neighbours: one GEMM of h_rows against
    d_rows one row further covers every step at once. The pairs that straddle two sequences,
    (b, T−1) with (b+1, 0), are cancelled by zeroing each sequence's first row of d for that
    product; those rows then meet h_0 in a second product, accumulated (BLAS beta = 1)."""
    if T == 1:
        matmul(h0, d_rows, out, transpose_a=True)
        return
    B, N = h0.shape[0], d_rows.shape[1]
    first = np.empty((B, N), dtype=d_rows.dtype)
    for b in range(B):
        first[b] = d_rows[b * T]
        d_rows[b * T] = 0.0
    matmul(h_rows[:-1], d_rows[1:], out, transpose_a=True)
    for b in range(B):
        d_rows[b * T] = first[b]
    matmul(h0, first, out, beta=1.0, transpose_a=True)
