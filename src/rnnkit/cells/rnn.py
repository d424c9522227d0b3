"""Simple (Elman) RNN over a whole sequence.

    a_t = x_t W_x + b_x + h_{t-1} W_h + b_h        (x_t W_x + b_x arrives precomputed as x_proj)
    h_t = φ(a_t),   φ ∈ {tanh, relu, sigmoid}

One gate block: G = H. Backward through time (the weights are shared, so their gradients
accumulate over all steps; the last step receives no error from beyond the sequence):

    da_t      = (∂L/∂h_t) ⊙ φ'(a_t)
    ∂L/∂h_t-1 = da_t W_hᵀ    (+ the loss at step t-1, added when the loop gets there)
    ∂L/∂W_h   = Σ_t h_{t-1}ᵀ da_t,   ∂L/∂b_h = Σ_t Σ_b da_t

On a padded step (t ≥ length) h carries over unchanged and the step's output is 0; its da_t is
0, so ∂L/∂h passes through it untouched. The cache: h_prev (T, B, H) the state each step starts
from, y (T, B, H) = φ(a_t) before padding is applied (φ' is written in terms of it), W_h, whether
b_h was given, the step masks (T, B, 1) or None, and the activation's name.
"""

from __future__ import annotations

import numpy as np

from rnnkit.cells._common import CellGrads, activation, keep_dead, step_masks, upstream, zero_dead

__all__ = ["backward", "forward"]

GATES = 1
STATE_SIZE = 1  # (h,)


def forward(x_proj, state0, W_h, b_h, lengths, keep_cache: bool = True, *, activation_name: str = "tanh"):
    """Run the cell over x_proj (B, T, H); returns hs (B, T, H), (h_T,), cache."""
    B, T, H = x_proj.shape
    phi, _ = activation(activation_name)
    alive = step_masks(lengths, B, T)
    (h,) = state0
    h_prev = np.empty((T, B, H), dtype=x_proj.dtype)  # the state each step starts from
    y = np.empty((T, B, H), dtype=x_proj.dtype)  # φ(a_t), before padding is applied
    hs = np.empty((B, T, H), dtype=x_proj.dtype)
    for t in range(T):
        a_t = x_proj[:, t] + h @ W_h
        if b_h is not None:
            a_t += b_h
        m = None if alive is None else alive[t]
        h_prev[t] = h
        y[t] = phi(a_t)
        hs[:, t] = zero_dead(m, y[t])
        h = keep_dead(m, y[t], h)
    cache = (h_prev, y, W_h, b_h is not None, alive, activation_name)
    return hs, (h,), cache if keep_cache else None  # None: inference only


def backward(d_hs, d_state_T, cache) -> CellGrads:
    """Backpropagation through time from d_hs (B, T, H) or None and d_state_T (dh_T,) (entries
    (B, H) or None); returns CellGrads with x_proj (B, T, H), W_h, b_h, state0 and every step's
    ∂L/∂state (the contract in rnnkit.cells)."""
    h_prev, y, W_h, has_bias, alive, activation_name = cache
    T, B, H = y.shape
    _, dphi = activation(activation_name)
    d_x_proj = np.empty((B, T, H), dtype=y.dtype)
    d_W_h = np.zeros_like(W_h)
    dh = upstream(d_state_T[0], h_prev)
    dh_steps = np.empty((B, T, H), dtype=y.dtype)
    for t in reversed(range(T)):
        m = None if alive is None else alive[t]
        if d_hs is not None:
            dh = dh + zero_dead(m, d_hs[:, t])
        dh_steps[:, t] = zero_dead(m, dh)
        da = zero_dead(m, dh * dphi(y[t]))
        d_x_proj[:, t] = da
        d_W_h += h_prev[t].T @ da
        dh = keep_dead(m, da @ W_h.T, dh)
    d_b_h = d_x_proj.sum(axis=(0, 1)) if has_bias else None
    return CellGrads(d_x_proj, d_W_h, d_b_h, (dh,), (dh_steps,))
