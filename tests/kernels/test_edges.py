"""Fast equals reference outside the seeded matrix of equivalence.py: long sequences, H past the
16-lane vector width (remainder loops), saturated and non-finite pre-activations, odd memory
layouts, the activations at the float edges, and the layers' options (go_backwards, bias
layouts) end to end. Each check compares against the reference cells, with the tolerances of
equivalence.py (float32: relative to the array's largest magnitude)."""

from __future__ import annotations

import numpy as np
import pytest

import rnnkit
from rnnkit.cells import FAMILIES
from tests.kernels.equivalence import apply_activation, as_float64, compared_arrays, fast_module, run

VARIANTS = [("rnn", {"activation_name": "tanh"}), ("rnn", {"activation_name": "relu"}),
            ("rnn", {"activation_name": "sigmoid"}), ("lstm", {}),
            ("gru", {"reset_after": True}), ("gru", {"reset_after": False})]
IDS = ["rnn_tanh", "rnn_relu", "rnn_sigmoid", "lstm", "gru_after", "gru_before"]


def cell_inputs(family, B, T, H, dtype, *, seed=0, lengths=None, bias=True, w_scale=1.0):
    cell = FAMILIES[family]
    G = cell.GATES * H
    rng = np.random.default_rng(seed)

    def normal(*shape, scale=1.0):
        return (rng.standard_normal(shape) * scale).astype(dtype)

    return {"x_proj": normal(B, T, G), "state0": tuple(normal(B, H) for _ in range(cell.STATE_SIZE)),
            "W_h": normal(H, G, scale=w_scale / np.sqrt(H)), "b_h": normal(G) if bias else None,
            "lengths": lengths, "d_hs": normal(B, T, H),
            "d_state_T": tuple(normal(B, H) for _ in range(cell.STATE_SIZE))}


def assert_close(reference, fast, dtype, *, rel32=1e-5, finite=True):
    """float64: max abs ≤ 1e-10; float32: ≤ rel32 of the array's largest magnitude, or 1e-36
    absolute (the kernels' float32 σ bottoms out at 6e-39 where the reference's reaches 0, so a
    fully saturated gate's derivative is ~1e-38 rather than 0). NaN and ±inf must sit in the
    same places in both (finite=True: there must be none)."""
    for name, r, f in compared_arrays(reference, fast):
        assert f.shape == r.shape and f.dtype == r.dtype, name
        r64, f64 = r.astype(np.float64), f.astype(np.float64)
        if finite:
            assert np.isfinite(r64).all() and np.isfinite(f64).all(), name
        assert np.array_equal(np.isnan(r64), np.isnan(f64)), f"{name}: NaN in different places"
        assert np.array_equal(r64[np.isinf(r64)], f64[np.isinf(r64)]), f"{name}: inf differs"
        ok = np.isfinite(r64)
        diff = np.max(np.abs(r64[ok] - f64[ok]), initial=0.0)
        if np.dtype(dtype) == np.float64:
            assert diff <= 1e-10, f"{name}: max abs diff {diff:.3e}"
        else:
            scale = max(np.max(np.abs(r64[ok]), initial=0.0), np.finfo(np.float32).tiny)
            assert diff <= max(rel32 * scale, 1e-36), f"{name}: relative diff {diff / scale:.3e}"


def both(family, inputs, variant):
    with np.errstate(all="ignore"):
        return run(FAMILIES[family], inputs, variant), run(fast_module(family), inputs, variant)


# --- long sequences ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("family,variant", VARIANTS, ids=IDS)
def test_long_sequences(family, variant, dtype):
    """T = 1000 (variable lengths): float32 round-off does not build up with T. Measured at
    T = 1000 and 5000, B 3, H 5: fast against the float32 reference ≤ 5e-6 relative, fast against
    the float64 reference ≤ 5e-6 (the float32 reference's own error: ≤ 3e-6); float64 ≤ 4e-13.
    Also checked against the float64 reference, so a drift shared by both float32 runs fails too."""
    T = 1000
    inputs = cell_inputs(family, 3, T, 5, dtype, seed=T, lengths=np.array([T, T // 2, 1]), w_scale=0.9)
    reference, fast = both(family, inputs, variant)
    assert_close(reference, fast, dtype)
    if np.dtype(dtype) == np.float32:
        exact = run(FAMILIES[family], as_float64(inputs), variant)
        for (name, e, _), (_, _, f) in zip(compared_arrays(exact, exact), compared_arrays(exact, fast)):
            assert np.max(np.abs(f - e)) <= 2e-5 * np.max(np.abs(e)), name


# --- shapes past the vector width -------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("family,variant", VARIANTS, ids=IDS)
def test_vector_remainders_and_small_shapes(family, variant, dtype):
    """H = 17 and 33 (16 float32 lanes plus a remainder; equivalence.py draws H ≤ 9), one row
    (the ?gemv path), one step, lengths all zero or all equal."""
    cases = [(1, 1, 17, None), (1, 5, 33, None), (3, 4, 17, "zeros"), (3, 4, 33, "equal"),
             (4, 6, 17, "variable"), (2, 3, 3, "variable")]
    for B, T, H, lengths in cases:
        steps = {None: None, "zeros": np.zeros(B, int), "equal": np.full(B, T - 1),
                 "variable": np.arange(B) % (T + 1)}[lengths]
        for bias in (True, False):
            inputs = cell_inputs(family, B, T, H, dtype, seed=B * T * H, lengths=steps, bias=bias, w_scale=1.2)
            assert_close(*both(family, inputs, variant), dtype, rel32=5e-5)


# --- saturation and non-finite values ---------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("family,variant", VARIANTS, ids=IDS)
def test_saturated_and_non_finite_pre_activations(family, variant, dtype):
    """Gates pushed to saturation (|a| up to 1e30, the largest finite value), exactly zero,
    subnormal, and ±inf / NaN in x_proj on real steps (also a sequence's last one, whose output
    the kernel's one-GEMM ∂L/∂W_h must not pair with the next sequence) and on padded steps (the
    reference reset-before GRU once let NaN there into ∂L/∂W_hn through r ⊙ h_{t-1} · 0): the
    same numbers, NaN and inf in the same places."""
    B, T, H = 3, 6, 5
    fi = np.finfo(dtype)
    for case in ("1e4", "1e30", "max", "zeros", "subnormal", "inf", "-inf", "nan",
                 "last_inf", "last_nan", "pad_inf", "pad_-inf", "pad_nan"):
        inputs = cell_inputs(family, B, T, H, dtype, seed=7, lengths=np.array([6, 3, 0]))
        x = inputs["x_proj"]
        if case in ("1e4", "1e30"):
            x *= dtype(float(case))
        elif case == "max":
            x[0, 1] = fi.max
            x[1, 0, ::2] = -fi.max
        elif case == "zeros":
            x[:] = 0
            inputs.update(W_h=np.zeros_like(inputs["W_h"]), b_h=np.zeros_like(inputs["b_h"]),
                          state0=tuple(np.zeros_like(s) for s in inputs["state0"]))
        elif case == "subnormal":
            x[:] = np.sign(x) * fi.smallest_subnormal * 3
            inputs["W_h"] = (inputs["W_h"] * fi.tiny).astype(dtype)
        elif case.startswith("last_"):
            x[0, T - 1] = dtype(case[5:])  # the last step of the first sequence, a full-length one
        elif case.startswith("pad_"):
            value = dtype(case[4:])
            x[1, 4] = value  # padded steps only
            x[2, 0] = value
        else:
            value = dtype(case)
            x[0, 2] = value  # a whole step
            x[1, 1, 1] = value  # one gate element
        assert_close(*both(family, inputs, variant), dtype, finite=False)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("family,variant", VARIANTS, ids=IDS)
def test_non_finite_padding_is_ignored(family, variant, dtype):
    """Whatever x_proj holds on padded steps, the kernel's results are those of zero padding,
    bit for bit."""
    inputs = cell_inputs(family, 3, 6, 5, dtype, seed=8, lengths=np.array([6, 3, 0]))
    inputs["x_proj"][1, 3:] = 0
    inputs["x_proj"][2] = 0
    clean = run(fast_module(family), inputs, variant)
    for value in (np.nan, np.inf, -np.inf):
        dirty = dict(inputs, x_proj=inputs["x_proj"].copy())
        dirty["x_proj"][1, 3:] = value
        dirty["x_proj"][2] = value
        for name, c, d in compared_arrays(clean, run(fast_module(family), dirty, variant)):
            assert np.array_equal(c, d), f"{name} changed by {value} on padding"


# --- layouts and argument forms ---------------------------------------------------------------

def _misaligned(a):
    buffer = bytearray(a.nbytes + 8)
    out = np.frombuffer(buffer, dtype=a.dtype, count=a.size, offset=a.itemsize // 2).reshape(a.shape)
    out[...] = a
    assert not out.flags.aligned
    return out


def _read_only(a):
    a = a.copy()
    a.flags.writeable = False
    return a


def _negative_strides(a):
    out = np.ascontiguousarray(a[..., ::-1])[..., ::-1]
    assert out.strides[-1] < 0
    return out


def _every_other(a):
    wide = np.zeros((*a.shape[:-1], 2 * a.shape[-1]), a.dtype)
    wide[..., ::2] = a
    return wide[..., ::2]


LAYOUTS = {"read_only": _read_only, "misaligned": _misaligned, "negative_strides": _negative_strides,
           "every_other": _every_other, "fortran": np.asfortranarray}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("family,variant", VARIANTS, ids=IDS)
def test_any_layout_gives_the_same_bits(family, variant, dtype):
    """Every array argument read-only, misaligned (offset by half an element), with negative
    strides, non-contiguous or Fortran-ordered: the kernel's results are exactly those of
    C-contiguous arguments (and so equal the reference); lengths as a list, a tuple, int32,
    floats (ceil) or out of range (clipped) too."""
    base = cell_inputs(family, 3, 5, 17, dtype, seed=3, lengths=np.array([5, 2, 0]))
    fast = fast_module(family)
    expected = run(fast, base, variant)
    assert_close(run(FAMILIES[family], base, variant), expected, dtype)
    for layout, change in LAYOUTS.items():
        odd = {k: change(base[k]) for k in ("x_proj", "W_h", "b_h", "d_hs")}
        odd["state0"] = tuple(change(s) for s in base["state0"])
        odd["d_state_T"] = tuple(change(s) for s in base["d_state_T"])
        odd["lengths"] = base["lengths"]
        for name, e, got in compared_arrays(expected, run(fast, odd, variant)):
            assert np.array_equal(e, got), f"{layout}: {name}"
    for lengths in ([5, 2, 0], (5, 2, 0), np.array([5, 2, 0], np.int32), np.array([4.5, 1.2, 0.0]),
                    np.array([7, 2, -1]), _read_only(np.array([5, 2, 0]))):
        for name, e, got in compared_arrays(expected, run(fast, {**base, "lengths": lengths}, variant)):
            assert np.array_equal(e, got), f"lengths {lengths!r}: {name}"


# --- the activations at the float edges -------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_activations_at_the_float_edges(dtype):
    fi = np.finfo(dtype)
    x = np.array([0.0, fi.smallest_subnormal, -fi.smallest_subnormal, fi.tiny, -fi.tiny, 1e4, -1e4,
                  fi.max, -fi.max, np.inf, -np.inf, np.nan], dtype=dtype)
    t, s = apply_activation(x, 0), apply_activation(x, 1)
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(t, np.tanh(x))  # exact: tanh(x) = x for tiny x, ±1 beyond
        assert (s[:5] == 0.5).all() and s[5] == 1 and s[7] == 1 and s[9] == 1 and np.isnan(s[11])
        # the reference's 0.5 (1 + tanh(x/2)) is 0 below −17 (float32) or −37 (float64): the
        # kernels' σ is never further from it than float32's / float64's smallest normal
        for k in (6, 8, 10):
            assert 0.0 <= s[k] <= fi.tiny
    assert dtype == np.float32 or np.signbit(apply_activation(np.array([-0.0]), 0)[0])


# --- the layers' options ----------------------------------------------------------------------

LAYERS = {
    "rnn_tanh": lambda **o: rnnkit.layers.SimpleRNN(17, "tanh", **o),
    "rnn_relu_two": lambda **o: rnnkit.layers.SimpleRNN(17, "relu", bias="two", **o),
    "rnn_sigmoid": lambda **o: rnnkit.layers.SimpleRNN(17, "sigmoid", **o),
    "lstm_one": lambda **o: rnnkit.layers.LSTM(17, bias="one", **o),
    "lstm_two": lambda **o: rnnkit.layers.LSTM(17, bias="two", **o),
    "gru_after": lambda **o: rnnkit.layers.GRU(17, reset_after=True, **o),
    "gru_before": lambda **o: rnnkit.layers.GRU(17, reset_after=False, **o),
    "gru_before_two": lambda **o: rnnkit.layers.GRU(17, reset_after=False, bias="two", **o),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("layer", list(LAYERS))
def test_layer_options_equal_across_backends(layer, dtype):
    """Through the layer API (go_backwards, return_sequences/state, both bias layouts, both GRU
    forms, every simple-RNN activation): outputs, dx, every parameter gradient and the
    initial state's gradient agree."""
    B, T, F = 4, 7, 3
    rng = np.random.default_rng(0)
    x = rng.standard_normal((B, T, F)).astype(dtype)
    lengths = np.array([7, 4, 1, 7])
    for go_backwards, return_sequences in ((True, True), (True, False), (False, True)):
        built = LAYERS[layer](go_backwards=go_backwards, return_sequences=return_sequences,
                              return_state=True, dtype=dtype, seed=1)
        built.build((T, F))
        results = []
        for name in ("reference", "fast"):
            with rnnkit.backend(name):
                state0 = tuple(np.random.default_rng(6).standard_normal((B, 17)).astype(dtype)
                               for _ in range(built.cell.state_size))
                out, cache = built.forward(x, lengths=lengths, initial_state=state0)
                dy = tuple(np.random.default_rng(5).standard_normal(o.shape).astype(dtype) for o in out)
                g = built.backward(dy, cache)
                results.append([*out, g.dx, *(g.params[k] for k in sorted(g.params)),
                                *g.initial_state])
        for r, f in zip(*results, strict=True):
            assert r.dtype == f.dtype and r.shape == f.shape
            tol = 1e-10 if dtype == np.float64 else 1e-5 * np.max(np.abs(r))
            assert np.max(np.abs(r - f)) <= tol, (go_backwards, return_sequences)
