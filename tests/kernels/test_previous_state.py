"""rnnkit.kernels._previous_state: h_{t-1} read back from the outputs."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.kernels._previous_state import load_previous, recurrent_weight_grad, saved_for_backward

def _previous_states(h0, hs, lengths):
    """h_{t-1} of every row and step as the cell carries it (padded steps keep the last state)."""
    B, T, H = hs.shape
    prev = np.empty_like(hs)
    for b in range(B):
        state = h0[b]
        for t in range(T):
            prev[b, t] = state
            if t < lengths[b]:
                state = hs[b, t]
    return prev


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("B, T, lengths", [(3, 5, [5, 5, 5]), (4, 6, [6, 2, 0, 4]), (1, 7, [7]), (3, 1, [1, 0, 1])])
def test_recurrent_weight_grad_pairs_each_step_with_the_state_it_started_from(B, T, lengths, dtype):
    rng = np.random.default_rng(B * 10 + T)
    H, N = 4, 6
    lengths = np.array(lengths)
    real = np.arange(T)[None, :] < lengths[:, None]
    hs = rng.standard_normal((B, T, H)) * real[..., None]  # the cell writes zeros on padding
    d = rng.standard_normal((B, T, N)) * real[..., None]  # and passes no gradient there
    h0 = rng.standard_normal((B, H))
    hs, d, h0 = hs.astype(dtype), d.astype(dtype), h0.astype(dtype)
    d_before = d.copy()
    expected = np.einsum("bti,btj->ij", _previous_states(h0, hs, lengths).astype(np.float64), d)
    got = recurrent_weight_grad(h0, hs, d, np.empty((H, N), dtype=dtype))
    np.testing.assert_allclose(got, expected, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-6)
    assert np.array_equal(d, d_before)  # d[:, 0], zeroed for the product, is put back


def test_recurrent_weight_grad_takes_a_column_slice_of_d():
    rng = np.random.default_rng(1)
    B, T, H = 3, 4, 2
    hs, h0 = rng.standard_normal((B, T, H)), rng.standard_normal((B, H))
    d_full = rng.standard_normal((B, T, 9))
    out = np.zeros((H, 9))
    recurrent_weight_grad(h0, hs, d_full[:, :, 3:7], out[:, 3:7])
    expected = np.einsum("bti,btj->ij", _previous_states(h0, hs, [T] * B), d_full[:, :, 3:7])
    np.testing.assert_allclose(out[:, 3:7], expected, rtol=1e-12)
    assert not out[:, :3].any() and not out[:, 7:].any()


def test_load_previous_reads_the_outputs_one_step_back():
    rng = np.random.default_rng(2)
    hs, h0 = rng.standard_normal((3, 4, 5)), rng.standard_normal((3, 5))
    out = np.empty((3, 5))
    load_previous(hs, h0, 0, out)
    assert np.array_equal(out, h0)
    load_previous(hs, h0, 3, out)
    assert np.array_equal(out, hs[:, 2])



def test_saved_for_backward_makes_the_outputs_read_only():
    hs = np.zeros((2, 3, 4))
    assert saved_for_backward(hs) is hs
    with pytest.raises(ValueError, match="read-only"):
        hs[0, 0, 0] = 1.0


def test_recurrent_weight_grad_of_an_empty_batch_is_zero():
    out = np.full((4, 6), np.nan)
    recurrent_weight_grad(np.zeros((0, 4)), np.zeros((0, 5, 4)), np.zeros((0, 5, 6)), out)
    assert np.array_equal(out, np.zeros((4, 6)))
