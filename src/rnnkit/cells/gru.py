"""GRU over a whole sequence, both forms. Gate order r, z, n (PyTorch's): G = 3H.

    r = σ(x_t W_xr + b_xr + h_{t-1} W_hr + b_hr)
    z = σ(x_t W_xz + b_xz + h_{t-1} W_hz + b_hz)
    reset after  (PyTorch, cuDNN, Keras default; arXiv 1406.1078v1):
        n = tanh(x_t W_xn + b_xn + r ⊙ (h_{t-1} W_hn + b_hn))
    reset before (Cho et al. 2014 as in seed 001, Keras reset_after=False):
        n = tanh(x_t W_xn + b_xn + (r ⊙ h_{t-1}) W_hn + b_hn)
    h_t = z ⊙ h_{t-1} + (1 − z) ⊙ n

The recurrent n-bias b_hn sits inside r ⊙ (…) in the reset-after form and outside it in the
reset-before form. Without b_h (one bias per gate, Keras' reset_after=False) the terms b_h*
vanish; the reset-after form given no b_h uses zeros. Keras stores its gates as z, r, h: permute
the blocks when copying Keras weights. With r = 1 and z = 0 the reset-before form is a plain tanh
RNN (seed 001). On a padded step h carries over unchanged and the output is 0. The cache: h_prev
(T, B, H) the state each step starts from, the gates r, z, n (T, B, 3H), hn (T, B, H) =
h_{t-1} W_hn + b_hn (reset after) or r ⊙ h_{t-1} (reset before), W_h, whether b_h was given,
the step masks (T, B, 1) or None, and reset_after. Backward, with dh the total gradient
reaching h_t:

    dn = dh ⊙ (1 − z)      dz = dh ⊙ (h_{t-1} − n)      da_n = dn ⊙ (1 − n²)
    after:  dr = da_n ⊙ (h_{t-1} W_hn + b_hn),  the recurrent n-block receives da_n ⊙ r
    before: d(r⊙h) = da_n W_hnᵀ,  dr = d(r⊙h) ⊙ h_{t-1},  h_{t-1} also receives d(r⊙h) ⊙ r
    da_r = dr ⊙ r(1−r)      da_z = dz ⊙ z(1−z)
    ∂L/∂h_{t-1} = dh ⊙ z + [da_r da_z] W_h[:, :2H]ᵀ + (n-block path above)
"""

from __future__ import annotations

import numpy as np

from rnnkit.cells._common import CellGrads, keep_dead, sigmoid, step_masks, upstream, zero_dead

__all__ = ["backward", "forward"]

GATES = 3
STATE_SIZE = 1  # (h,)


def forward(x_proj, state0, W_h, b_h, lengths, keep_cache: bool = True, *, reset_after: bool = True):
    """Run the cell over x_proj (B, T, 3H); returns hs (B, T, H), (h_T,), cache."""
    B, T, G = x_proj.shape
    H = G // 3
    alive = step_masks(lengths, B, T)
    (h,) = state0
    dtype = x_proj.dtype
    has_bias = b_h is not None
    if not has_bias and reset_after:  # the n-block's recurrent product still needs a place to live
        b_h = np.zeros(G, dtype=dtype)
    h_prev = np.empty((T, B, H), dtype=dtype)
    gates = np.empty((T, B, G), dtype=dtype)  # r, z, n after their nonlinearities
    hn = np.empty((T, B, H), dtype=dtype)  # reset after: h W_hn + b_hn;  before: (r ⊙ h)
    hs = np.empty((B, T, H), dtype=dtype)
    for t in range(T):
        xp = x_proj[:, t]
        rz = xp[:, : 2 * H] + h @ W_h[:, : 2 * H]
        if has_bias:
            rz += b_h[: 2 * H]
        r = sigmoid(rz[:, :H])
        z = sigmoid(rz[:, H:])
        if reset_after:
            hn[t] = h @ W_h[:, 2 * H :] + b_h[2 * H :]
            n = np.tanh(xp[:, 2 * H :] + r * hn[t])
        else:
            hn[t] = r * h
            a_n = xp[:, 2 * H :] + hn[t] @ W_h[:, 2 * H :]
            if has_bias:
                a_n += b_h[2 * H :]
            n = np.tanh(a_n)
        h_new = z * h + (1.0 - z) * n
        h_prev[t] = h
        gates[t] = np.concatenate([r, z, n], axis=1)
        m = None if alive is None else alive[t]
        hs[:, t] = zero_dead(m, h_new)
        h = keep_dead(m, h_new, h)
    cache = (h_prev, gates, hn, W_h, has_bias, alive, reset_after)
    return hs, (h,), cache if keep_cache else None  # None: inference only


def backward(d_hs, d_state_T, cache) -> CellGrads:
    """Backpropagation through time from d_hs (B, T, H) or None and d_state_T (dh_T,) (entries
    (B, H) or None); returns CellGrads with x_proj (B, T, 3H), W_h, b_h, state0 and every step's
    ∂L/∂state (the contract in rnnkit.cells)."""
    h_prev, gates, hn, W_h, has_bias, alive, reset_after = cache
    T, B, H = h_prev.shape
    dtype = h_prev.dtype
    d_x_proj = np.empty((B, T, 3 * H), dtype=dtype)
    d_W_h = np.zeros_like(W_h)
    d_b_h = np.zeros(3 * H, dtype=dtype)
    dh = upstream(d_state_T[0], h_prev)
    dh_steps = np.empty((B, T, H), dtype=dtype)
    for t in reversed(range(T)):
        m = None if alive is None else alive[t]
        if d_hs is not None:
            dh = dh + zero_dead(m, d_hs[:, t])
        dh_steps[:, t] = zero_dead(m, dh)
        r, z, n = (gates[t][:, k * H : (k + 1) * H] for k in range(3))
        hp = h_prev[t]
        da_n = dh * (1.0 - z) * (1.0 - n * n)
        da_z = dh * (hp - n) * z * (1.0 - z)
        dh_prev = dh * z
        if reset_after:
            dr = da_n * hn[t]
            d_rec_n = da_n * r  # gradient reaching h W_hn + b_hn
            dh_prev = dh_prev + d_rec_n @ W_h[:, 2 * H :].T
            d_W_hn = hp.T @ zero_dead(m, d_rec_n)
        else:
            d_rh = da_n @ W_h[:, 2 * H :].T
            dr = d_rh * hp
            d_rec_n = da_n
            dh_prev = dh_prev + d_rh * r
            # r ⊙ h of a padded row holds whatever that row's input made of r (NaN · 0 = NaN)
            d_W_hn = zero_dead(m, hn[t]).T @ zero_dead(m, da_n)
        da_r = dr * r * (1.0 - r)
        d_rz = zero_dead(m, np.concatenate([da_r, da_z], axis=1))
        dh_prev = dh_prev + d_rz @ W_h[:, : 2 * H].T
        d_x_proj[:, t, : 2 * H] = d_rz
        d_x_proj[:, t, 2 * H :] = zero_dead(m, da_n)
        d_W_h[:, : 2 * H] += hp.T @ d_rz
        d_W_h[:, 2 * H :] += d_W_hn
        d_b_h[: 2 * H] += d_rz.sum(axis=0)
        d_b_h[2 * H :] += zero_dead(m, d_rec_n).sum(axis=0)
        dh = keep_dead(m, dh_prev, dh)
    return CellGrads(d_x_proj, d_W_h, d_b_h if has_bias else None, (dh,), (dh_steps,))
