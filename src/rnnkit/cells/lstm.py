"""LSTM over a whole sequence. Gate order i, f, g, o (PyTorch's), each block H wide: G = 4H.

    [a_i a_f a_g a_o] = x_t W_x + b_x + h_{t-1} W_h + b_h
    i = σ(a_i)   f = σ(a_f)   g = tanh(a_g)   o = σ(a_o)
    c_t = f ⊙ c_{t-1} + i ⊙ g
    h_t = o ⊙ tanh(c_t)

Bias layouts: two biases per gate (seed 001, PyTorch: b_x and b_h) or one (Keras: b_h is None,
b_x carries it). A forget-gate bias of 1 (Keras' unit_forget_bias, the default with Keras
initialisation) is a choice of initial values made by the layer (rnnkit.layers.cell_spec), not
part of the cell. Keras stores its gates in the same order i, f, c, o. The state is (h, c); on a
padded step both carry over unchanged and the output is 0. The cache: h_prev and c_prev
(T, B, H) the states each step starts from, the gates (T, B, 4H) after their nonlinearities,
tanh(c_t) (T, B, H), W_h, whether b_h was given, and the step masks (T, B, 1) or None. Backward through time, with dh and dc the total gradients reaching h_t, c_t:

    do = dh ⊙ tanh(c_t)             dc += dh ⊙ o ⊙ (1 − tanh²(c_t))
    di = dc ⊙ g    df = dc ⊙ c_{t-1}    dg = dc ⊙ i
    da = [di·i(1−i), df·f(1−f), dg·(1−g²), do·o(1−o)]
    ∂L/∂h_{t-1} = da W_hᵀ,   ∂L/∂c_{t-1} = dc ⊙ f
"""

from __future__ import annotations

import numpy as np

from rnnkit.cells._common import CellGrads, keep_dead, sigmoid, step_masks, upstream, zero_dead

__all__ = ["backward", "forward"]

GATES = 4
STATE_SIZE = 2  # (h, c)


def forward(x_proj, state0, W_h, b_h, lengths, keep_cache: bool = True):
    """Run the cell over x_proj (B, T, 4H); returns hs (B, T, H), (h_T, c_T), cache."""
    B, T, G = x_proj.shape
    H = G // 4
    alive = step_masks(lengths, B, T)
    h, c = state0
    dtype = x_proj.dtype
    h_prev = np.empty((T, B, H), dtype=dtype)
    c_prev = np.empty((T, B, H), dtype=dtype)
    gates = np.empty((T, B, G), dtype=dtype)  # i, f, g, o after their nonlinearities
    tanh_c = np.empty((T, B, H), dtype=dtype)
    hs = np.empty((B, T, H), dtype=dtype)
    for t in range(T):
        a_t = x_proj[:, t] + h @ W_h
        if b_h is not None:
            a_t += b_h
        i = sigmoid(a_t[:, :H])
        f = sigmoid(a_t[:, H : 2 * H])
        g = np.tanh(a_t[:, 2 * H : 3 * H])
        o = sigmoid(a_t[:, 3 * H :])
        c_new = f * c + i * g
        tanh_c[t] = np.tanh(c_new)
        h_new = o * tanh_c[t]
        h_prev[t], c_prev[t] = h, c
        gates[t] = np.concatenate([i, f, g, o], axis=1)
        m = None if alive is None else alive[t]
        hs[:, t] = zero_dead(m, h_new)
        h = keep_dead(m, h_new, h)
        c = keep_dead(m, c_new, c)
    cache = (h_prev, c_prev, gates, tanh_c, W_h, b_h is not None, alive)
    return hs, (h, c), cache if keep_cache else None  # None: inference only


def backward(d_hs, d_state_T, cache) -> CellGrads:
    """Backpropagation through time from d_hs (B, T, H) or None and d_state_T (dh_T, dc_T) (entries
    (B, H) or None); returns CellGrads with x_proj (B, T, 4H), W_h, b_h, state0 and every step's
    ∂L/∂state (the contract in rnnkit.cells)."""
    h_prev, c_prev, gates, tanh_c, W_h, has_bias, alive = cache
    T, B, H = h_prev.shape
    d_x_proj = np.empty((B, T, 4 * H), dtype=h_prev.dtype)
    d_W_h = np.zeros_like(W_h)
    dh = upstream(d_state_T[0], h_prev)
    dc = upstream(d_state_T[1], c_prev)
    dh_steps = np.empty((B, T, H), dtype=h_prev.dtype)
    dc_steps = np.empty((B, T, H), dtype=h_prev.dtype)
    for t in reversed(range(T)):
        m = None if alive is None else alive[t]
        if d_hs is not None:
            dh = dh + zero_dead(m, d_hs[:, t])
        dh_steps[:, t] = zero_dead(m, dh)
        i, f, g, o = (gates[t][:, k * H : (k + 1) * H] for k in range(4))
        do = dh * tanh_c[t]
        dc_t = dc + dh * o * (1.0 - tanh_c[t] ** 2)
        dc_steps[:, t] = zero_dead(m, dc_t)
        da = np.concatenate(
            [
                dc_t * g * i * (1.0 - i),
                dc_t * c_prev[t] * f * (1.0 - f),
                dc_t * i * (1.0 - g * g),
                do * o * (1.0 - o),
            ],
            axis=1,
        )
        da = zero_dead(m, da)
        d_x_proj[:, t] = da
        d_W_h += h_prev[t].T @ da
        dh = keep_dead(m, da @ W_h.T, dh)
        dc = keep_dead(m, dc_t * f, dc)
    d_b_h = d_x_proj.sum(axis=(0, 1)) if has_bias else None
    return CellGrads(d_x_proj, d_W_h, d_b_h, (dh, dc), (dh_steps, dc_steps))
