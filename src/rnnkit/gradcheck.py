"""Central-difference gradient checking: the helpers. The model-level check is the function
``rnnkit.gradcheck(model, x, y)`` (rnnkit.diagnostics.check), which uses them; ``from
rnnkit.gradcheck import numerical_gradient, relative_error`` keeps working beside it.

rnnkit.gradcheck runs in float64: a model whose weights are all float64 is checked in place;
any other is checked on a float64 twin (rnnkit.diagnostics._walk.float64_copy), rebuilt from
get_config() with dtype float64 (Sequential, EncoderDecoder) or, for a Model subclass without
one (examples/custom_model.py), a copy whose layers are set to float64 and built again. Where
that cannot give every weight in float64 (a weight of its own outside any layer), a TypeError
says what to do: build the model with float64 weights, or implement get_config() with a
'dtype' entry and from_config(config, seed)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def central_differences(loss: Callable[[], float], array: np.ndarray, entries, eps: float = 1e-5) -> np.ndarray:
    """∂loss/∂array[e] for each index tuple e in `entries`, perturbing `array` in place (restored
    afterwards, also when `loss` raises); indexing `array` itself works whatever its memory layout."""
    entries = list(entries)
    out = np.empty(len(entries))
    for k, at in enumerate(entries):
        saved = array[at]
        try:
            array[at] = saved + eps
            up = loss()
            array[at] = saved - eps
            down = loss()
        finally:  # a loss that raises (or Ctrl-C) must not leave the weight off by eps
            array[at] = saved
        out[k] = (up - down) / (2 * eps)
    return out


def numerical_gradient(loss: Callable[[], float], array: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """∂loss/∂array by central differences, every entry."""
    return central_differences(loss, array, np.ndindex(array.shape), eps).reshape(array.shape)


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """max |a − n| over the array, divided by the array's largest gradient magnitude.

    Scaling each element by its own magnitude would report round-off on entries that are
    almost zero as large errors; scaling by the largest entry keeps the measure scale-free.
    """
    analytic = np.asarray(analytic, dtype=np.float64)
    numeric = np.asarray(numeric, dtype=np.float64)
    if analytic.shape != numeric.shape:
        raise ValueError(f"shapes differ: analytic {analytic.shape} vs numeric {numeric.shape}")
    if analytic.size == 0:
        return 0.0
    scale = max(np.abs(analytic).max(), np.abs(numeric).max(), 1e-12)
    return float(np.abs(analytic - numeric).max() / scale)
