"""Behaviour every compiled kernel shares with the reference beyond equal numbers: calls can be
interleaved (pooled buffers never alias live results), inputs are never modified, any strides
are accepted, dtypes the kernels do not handle run the reference, and dispatch finds them."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit import kernels
from rnnkit.cells import FAMILIES
from tests.kernels.equivalence import compared_arrays, fast_module, make_inputs, run

CASES = [("rnn", {"activation_name": "tanh"}), ("lstm", {}),
         ("gru", {"reset_after": True}), ("gru", {"reset_after": False})]
IDS = ["rnn", "lstm", "gru_after", "gru_before"]


def assert_same(reference, fast, tol=1e-10):
    for name, r, f in compared_arrays(reference, fast):
        assert f.shape == r.shape and f.dtype == r.dtype, name
        assert np.max(np.abs(f - r), initial=0.0) <= tol, name


def big_inputs(family, seed, dtype=np.float64, **overrides):
    """Inputs large enough for the pooled buffers (≥ 1 MiB) to come into play."""
    cell = FAMILIES[family]
    rng = np.random.default_rng(seed)
    B, T, H = 64, 40, 64
    G = cell.GATES * H
    inputs = {
        "x_proj": rng.standard_normal((B, T, G)).astype(dtype),
        "state0": tuple(rng.standard_normal((B, H)).astype(dtype) for _ in range(cell.STATE_SIZE)),
        "W_h": (rng.standard_normal((H, G)) * 0.2).astype(dtype),
        "b_h": rng.standard_normal(G).astype(dtype),
        "lengths": rng.integers(1, T + 1, size=B),
        "d_hs": rng.standard_normal((B, T, H)).astype(dtype),
        "d_state_T": tuple(rng.standard_normal((B, H)).astype(dtype) for _ in range(cell.STATE_SIZE)),
    }
    inputs.update(overrides)
    return inputs


def forward(module, inputs, variant):
    return module.forward(inputs["x_proj"], inputs["state0"], inputs["W_h"], inputs["b_h"],
                          inputs["lengths"], **variant)


@pytest.mark.parametrize("family,variant", CASES, ids=IDS)
def test_outputs_kept_for_backward_are_read_only(family, variant):
    """The backward pass reads h_{t-1} from hs: a write into it must fail, not change gradients."""
    fast = fast_module(family)
    inputs = big_inputs(family, 4)
    hs, _, cache = forward(fast, inputs, variant)
    with pytest.raises(ValueError, match="read-only"):
        hs[0, 0, 0] = 1.0
    assert cache is not None
    inference = fast.forward(inputs["x_proj"], inputs["state0"], inputs["W_h"], inputs["b_h"],
                             inputs["lengths"], keep_cache=False, **variant)[0]
    inference[0, 0, 0] = 1.0  # nothing keeps an inference output


@pytest.mark.parametrize("family", ["rnn", "lstm", "gru"])
def test_upstream_gradients_of_the_wrong_shape_are_refused(family):
    # the compiled loops index d_hs and d_state_T without bounds checks: a smaller batch was read
    # past its end
    fast = fast_module(family)
    inputs = big_inputs(family, 5)
    _, _, cache = forward(fast, inputs, {})
    d_hs, d_state = inputs["d_hs"], inputs["d_state_T"]
    with pytest.raises(ValueError, match=r"d_hs must have the shape of hs \(B, T, H\) = \(64, 40, 64\), got \(63, 40, 64\)"):
        fast.backward(d_hs[:63], d_state, cache)
    with pytest.raises(ValueError, match=r"d_state_T must have the shape of the final state \(B, H\) = \(64, 64\)"):
        fast.backward(d_hs, (d_state[0][:, :63], *d_state[1:]), cache)


@pytest.mark.parametrize("family,variant", CASES, ids=IDS)
def test_interleaved_calls_and_repeated_backward(family, variant):
    fast, reference = fast_module(family), FAMILIES[family]
    a, b = big_inputs(family, 1), big_inputs(family, 2)
    hs_a, state_a, cache_a = forward(fast, a, variant)
    hs_b, state_b, cache_b = forward(fast, b, variant)  # while a's results are alive
    grads_b = fast.backward(b["d_hs"], b["d_state_T"], cache_b)
    del hs_b, state_b, cache_b, grads_b  # b's buffers become reusable ...
    for _ in range(2):  # ... and the next calls may take them, never a's
        c = big_inputs(family, 3)
        fast.backward(c["d_hs"], c["d_state_T"], forward(fast, c, variant)[2])
    first = fast.backward(a["d_hs"], a["d_state_T"], cache_a)
    second = fast.backward(a["d_hs"], a["d_state_T"], cache_a)  # the cache is not consumed
    expected = run(reference, a, variant)
    assert_same(expected, ((hs_a, state_a, first)))
    assert_same(expected, ((hs_a, state_a, second)))


@pytest.mark.parametrize("family,variant", CASES, ids=IDS)
def test_inputs_are_not_modified(family, variant):
    inputs = make_inputs(family, 9, np.float32, bias=True, lengths="variable",
                         initial_state="random", d_hs=True, d_state=(True,) * FAMILIES[family].STATE_SIZE)
    def arrays(v):
        return v if isinstance(v, tuple) else (v,)

    copies = {k: [x.copy() for x in arrays(v)] for k, v in inputs.items()}
    run(fast_module(family), inputs, variant)
    for k, v in inputs.items():
        for got, kept in zip(arrays(v), copies[k], strict=True):
            assert np.array_equal(got, kept), k


@pytest.mark.parametrize("family,variant", CASES, ids=IDS)
def test_any_strides(family, variant):
    base = big_inputs(family, 4)
    strided = dict(base)
    strided["x_proj"] = np.asfortranarray(base["x_proj"])
    strided["W_h"] = np.ascontiguousarray(base["W_h"].T).T  # a transposed view
    strided["state0"] = tuple(np.asfortranarray(s) for s in base["state0"])
    strided["d_hs"] = base["d_hs"][:, ::-1][:, ::-1]  # negative strides
    strided["lengths"] = list(base["lengths"])
    assert_same(run(FAMILIES[family], base, variant), run(fast_module(family), strided, variant))


@pytest.mark.parametrize("family,variant", CASES, ids=IDS)
@pytest.mark.parametrize("dtype", [np.float16, "mixed"])
def test_other_dtypes_run_the_reference(family, variant, dtype):
    inputs = make_inputs(family, 0, np.float32 if dtype == "mixed" else dtype, bias=True, lengths=None,
                         initial_state="random", d_hs=True, d_state=(True,) * FAMILIES[family].STATE_SIZE)
    if dtype == "mixed":
        inputs["W_h"] = inputs["W_h"].astype(np.float64)
    assert_same(run(FAMILIES[family], inputs, variant), run(fast_module(family), inputs, variant), tol=0.0)


@pytest.mark.parametrize("family", ["rnn", "lstm", "gru"])
def test_dispatch_selects_the_compiled_kernels(family):
    with kernels.backend("fast"):
        assert kernels.select(family) is fast_module(family)
    with kernels.backend("reference"):
        assert kernels.select(family) is FAMILIES[family]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("family,variant", CASES, ids=IDS)
def test_without_cache_the_outputs_are_the_same_bits(family, variant, dtype):
    """keep_cache=False (inference) runs the same arithmetic into one step's scratch: hs and the
    final state equal the caching pass's exactly, and there is no cache."""
    for module in (fast_module(family), FAMILIES[family]):
        for inputs in (big_inputs(family, 4, dtype),
                       *(make_inputs(family, seed, dtype, bias=seed % 2 == 0, lengths="variable",
                                     initial_state="random", d_hs=True, d_state=(True,) * FAMILIES[family].STATE_SIZE)
                         for seed in (3, 23, 9))):
            hs, state, cache = forward(module, inputs, variant)
            hs_i, state_i, cache_i = forward(module, inputs, {**variant, "keep_cache": False})
            assert cache is not None and cache_i is None
            assert np.array_equal(hs, hs_i)
            assert all(np.array_equal(s, s_i) for s, s_i in zip(state, state_i, strict=True))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("family,variant", CASES, ids=IDS)
def test_empty_batch(family, variant, dtype):
    """B = 0 gives empty outputs and zero parameter gradients, as in the reference. (The simple
    RNN's backward once took its per-step bias sum as a view into a (2, B, H) scratch, which for
    B = 0 pointed past the end of the array; test_bounds.py runs this test bounds-checked.)"""
    full = big_inputs(family, 6, dtype)
    no_batch = {k: v[:0] if k in ("x_proj", "lengths", "d_hs") else v for k, v in full.items()}
    no_batch["state0"] = tuple(s[:0] for s in full["state0"])
    no_batch["d_state_T"] = tuple(s[:0] for s in full["d_state_T"])
    for inputs in (no_batch, {**no_batch, "b_h": None, "lengths": None, "d_hs": None}):
        reference, fast = run(FAMILIES[family], inputs, variant), run(fast_module(family), inputs, variant)
        assert_same(reference, fast, tol=0.0)
        hs, _, grads = fast
        assert hs.shape == (0, *full["d_hs"].shape[1:]) and not grads.W_h.any()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("family,variant", CASES, ids=IDS)
def test_no_steps(family, variant, dtype):
    """T = 0 is zero steps of the recurrence: the state passes through unchanged, forwards and
    backwards, and the parameters get zero gradients, in both implementations (the reference's
    backward once indexed step 0 for the shape of its zero upstream gradient)."""
    full = big_inputs(family, 7, dtype)
    no_steps = {**full, "x_proj": full["x_proj"][:, :0], "d_hs": full["d_hs"][:, :0],
                "lengths": None}
    for inputs in (no_steps, {**no_steps, "d_state_T": (None,) * len(full["d_state_T"])}):
        reference, fast = run(FAMILIES[family], inputs, variant), run(fast_module(family), inputs, variant)
        assert_same(reference, fast, tol=0.0)
        hs, state, grads = reference
        assert hs.shape[1] == 0 and not grads.W_h.any()
        assert all(np.array_equal(s, s0) for s, s0 in zip(state, full["state0"], strict=True))
        passed = inputs["d_state_T"]
        assert all(np.array_equal(g, np.zeros_like(s0) if d is None else d)
                   for g, d, s0 in zip(grads.state0, passed, full["state0"], strict=True))
