"""The check every compiled kernel must pass: the same results as the reference cell.

One case draws its shapes B, T, H from 1..9 under a fixed seed, builds every input of the cell
contract, runs the reference (rnnkit.cells) and the compiled kernel (rnnkit.kernels) forward and
backward, and compares hs, every entry of the final state and every gradient. Dtypes, shapes and
the None-ness of the bias gradient must match, and

  float64: max |fast − reference| ≤ 1e-10.
  float32: relative to the array's largest magnitude, |fast − reference| ≤ 1e-5 and
           |fast − exact| ≤ 1e-5, "exact" being the float64 reference on the same inputs.
           Where an output is a sum with cancellation, float32 round-off alone moves any float32
           result further than that (H = 1 makes ∂L/∂W_h a single sum of B·T terms: the float32
           reference lands 1.9e-5 from exact, the kernel's one GEMM 5.8e-5). So the bound is
           1e-5 plus four times the float32 reference's own measured error: a kernel may round
           differently, never be less accurate than float32 arithmetic allows.
"""

from __future__ import annotations

import importlib
import itertools

import numpy as np
import pytest
from numba import njit

from rnnkit.cells import FAMILIES
from rnnkit.kernels._common import JIT, sigmoid, tanh

F64_ABS = 1e-10
F32_REL = 1e-5



SEEDS = (3, 23, 34, 9, 2)  # (B, T, H): (8, 1, 2), (1, 7, 4), (1, 1, 2), (4, 8, 9), (8, 3, 1)


def config_matrix(state_size: int):
    """The case parameters every family is checked over: dtype, b_h or none, equal or variable
    lengths, random or zero initial state, a loss on hs or not, and which final-state gradients
    are given (one flag per state array)."""
    d_state = list(itertools.product([True, False], repeat=state_size))
    marks = [
        pytest.mark.parametrize("dtype", [np.float64, np.float32]),
        pytest.mark.parametrize("bias", [True, False], ids=["b_h", "no_b_h"]),
        pytest.mark.parametrize("lengths", [None, "variable"]),
        pytest.mark.parametrize("initial_state", ["random", "zeros"]),
        pytest.mark.parametrize("d_hs", [True, False], ids=["d_hs", "no_d_hs"]),
        pytest.mark.parametrize("d_state", d_state, ids=_d_state_ids(state_size)),
    ]

    def decorate(test):
        for mark in reversed(marks):
            test = mark(test)
        return test

    return decorate


def _d_state_ids(state_size: int):
    if state_size == 1:
        return lambda d: "d_state" if d[0] else "no_d_state"
    return lambda d: "d_state_" + "".join("1" if g else "0" for g in d)

def fast_module(family: str):
    """The compiled kernel module (importing it compiles or loads the cached code)."""
    return importlib.import_module(f"rnnkit.kernels.{family}")


def draw_shapes(seed: int) -> tuple[int, int, int]:
    return tuple(int(v) for v in np.random.default_rng(seed).integers(1, 10, size=3))


def make_inputs(family, seed, dtype, *, bias, lengths, initial_state, d_hs, d_state):
    """Every argument of forward and backward for one case, drawn under `seed`.

    lengths: None or "variable" (each in 0..T+1: empty sequences and lengths past T included);
    initial_state: "random" or "zeros"; d_hs: bool; d_state: which final-state gradients are
    given, a tuple of bools (one per state entry).
    """
    cell = FAMILIES[family]
    B, T, H = draw_shapes(seed)
    G = cell.GATES * H
    rng = np.random.default_rng(1000 + seed)

    def normal(*shape, scale=1.0):
        return (rng.standard_normal(shape) * scale).astype(dtype)

    state0 = tuple(normal(B, H) if initial_state == "random" else np.zeros((B, H), dtype)
                   for _ in range(cell.STATE_SIZE))
    return {
        "x_proj": normal(B, T, G),
        "state0": state0,
        "W_h": normal(H, G, scale=0.6),
        "b_h": normal(G) if bias else None,
        "lengths": None if lengths is None else rng.integers(0, T + 2, size=B),
        "d_hs": normal(B, T, H) if d_hs else None,
        "d_state_T": tuple(normal(B, H) if given else None for given in d_state),
    }


def run(module, inputs, variant):
    hs, state_T, cache = module.forward(inputs["x_proj"], inputs["state0"], inputs["W_h"],
                                        inputs["b_h"], inputs["lengths"], **variant)
    grads = module.backward(inputs["d_hs"], inputs["d_state_T"], cache)
    return hs, state_T, grads


def compared_arrays(reference, fast):
    """(name, reference array, fast array) for hs, the final state and every gradient."""
    (hs_r, st_r, g_r), (hs_f, st_f, g_f) = reference, fast
    pairs = [("hs", hs_r, hs_f)]
    pairs += [(f"state_T[{i}]", r, f) for i, (r, f) in enumerate(zip(st_r, st_f, strict=True))]
    pairs += [("d_x_proj", g_r.x_proj, g_f.x_proj), ("d_W_h", g_r.W_h, g_f.W_h)]
    pairs += [(f"d_state0[{i}]", r, f) for i, (r, f) in enumerate(zip(g_r.state0, g_f.state0, strict=True))]
    assert (g_r.b_h is None) == (g_f.b_h is None), "bias gradient present in one result only"
    if g_r.b_h is not None:
        pairs.append(("d_b_h", g_r.b_h, g_f.b_h))
    return pairs


def as_float64(inputs: dict) -> dict:
    def up(v):
        if isinstance(v, tuple):
            return tuple(up(x) for x in v)
        return v.astype(np.float64) if isinstance(v, np.ndarray) and v.dtype.kind == "f" else v

    return {k: up(v) for k, v in inputs.items()}


def max_abs(a, b) -> float:
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))


def assert_equivalent(family, variant, seed, dtype, **case):
    inputs = make_inputs(family, seed, dtype, **case)
    reference = run(FAMILIES[family], inputs, variant)
    fast = run(fast_module(family), inputs, variant)
    compared = compared_arrays(reference, fast)
    if np.dtype(dtype) == np.float32:
        truth = run(FAMILIES[family], as_float64(inputs), variant)
        exact = [t for _, t, _ in compared_arrays(truth, truth)]
    for k, (name, r, f) in enumerate(compared):
        where = (f"{family} {variant} {np.dtype(dtype).name} seed={seed} "
                 f"shapes={draw_shapes(seed)} {case}: {name}")
        assert f.shape == r.shape and f.dtype == r.dtype, (
            f"{where}: {f.shape} {f.dtype} vs {r.shape} {r.dtype}")
        if r.size == 0:
            continue
        if np.dtype(dtype) == np.float64:
            assert max_abs(f, r) <= F64_ABS, f"{where}: max abs diff {max_abs(f, r):.3e}"
            continue
        scale = max(float(np.max(np.abs(exact[k]))), np.finfo(np.float32).tiny)
        reference_error = max_abs(r, exact[k]) / scale
        tolerance = F32_REL + 4 * reference_error
        for label, error in (("the float32 reference", max_abs(f, r) / scale),
                             ("the exact answer", max_abs(f, exact[k]) / scale)):
            assert error <= tolerance, (
                f"{where}: {error:.3e} from {label}, tolerance {tolerance:.3e} "
                f"(the float32 reference is {reference_error:.3e} from exact)"
            )


@njit(**JIT)
def apply_activation(x, which):
    """The kernels' own tanh (which = 0) or sigmoid (1) over a flat array, as the cells call them."""
    out = np.empty_like(x)
    for k in range(x.size):
        out[k] = tanh(x[k]) if which == 0 else sigmoid(x[k])
    return out

