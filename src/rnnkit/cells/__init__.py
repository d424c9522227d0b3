"""The math of the recurrent cells: pure NumPy functions, one module per cell family.

Shape letters, used in every docstring and comment of the package:
    B batch, T time steps, F input features, H hidden units,
    G = gates * H (H for the simple RNN, 4H for LSTM, 3H for GRU), C classes, V vocabulary.

Row-vector convention: a step computes ``x_t @ W_x + h_{t-1} @ W_h``, so ``W_x`` is (F, G) and
``W_h`` is (H, G). Gate blocks sit side by side along G in PyTorch's order (LSTM i, f, g, o;
GRU r, z, n), which makes copying weights to and from PyTorch a transpose.

The cell contract, written once (every family module and the compiled kernels follow it):

    forward(x_proj, state0, W_h, b_h, lengths, keep_cache=True, **variant) -> (hs, state_T, cache)
        x_proj  (B, T, G)   the input projection x @ W_x + b_x for all steps, computed by the
                            layer in one matrix multiply.
        state0  tuple       the initial state: (h0,) or, for LSTM, (h0, c0); each (B, H).
        W_h     (H, G)      recurrent weights.
        b_h     (G,) | None the recurrent bias (PyTorch's second bias); None for one-bias layouts.
        lengths (B,) | None real length of each sequence, 0..T; None means every sequence is T
                            long. Past its length a sequence keeps its state, outputs zeros and
                            receives exactly zero gradient; a length of 0 hands state0 through
                            unchanged (the layers ask for 1..T, but their chunked inference
                            gives a chunk that starts past a sequence's end length 0).
        hs      (B, T, H)   the hidden state at every step (zeros past each length).
        state_T tuple       the state at each sequence's own last real step.
        cache               what backward needs (each family module lists it); None when
                            keep_cache is False (inference: the compiled kernels then keep one
                            step's gates instead of T). It holds W_h itself, not a copy: update
                            the weights after backward, not between forward and backward.

    backward(d_hs, d_state_T, cache) -> CellGrads(x_proj, W_h, b_h, state0, steps)
        d_hs (B, T, H) or None, d_state_T a tuple (entries may be None): the upstream gradients,
        of exactly those shapes: nothing here checks them (the layers do), and the compiled
        kernels read them without bounds checks. backward only reads the cache, so it may run
        any number of times on one. steps: ∂L/∂h_t (and ∂L/∂c_t) for every t, each (B, T, H);
        the compiled kernels leave it None.
"""

from rnnkit.cells import gru, lstm, rnn
from rnnkit.cells._common import CellGrads

FAMILIES = {"rnn": rnn, "lstm": lstm, "gru": gru}

__all__ = ["CellGrads", "FAMILIES", "gru", "lstm", "rnn"]
