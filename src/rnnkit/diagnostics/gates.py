"""Gate statistics: the mean activation and the saturated share of every gate at every step.

A saturated gate passes almost no gradient: σ' = σ(1 − σ) and tanh' = 1 − tanh² are near zero
at the ends of the range. "Saturated" means within `margin` (default 0.1) of an end:
σ ∈ [0, 0.1) ∪ (0.9, 1], tanh ∈ [−1, −0.9) ∪ (0.9, 1]; for a ReLU RNN, exactly 0 (dead).

    LSTM  i, f (σ), g (tanh), o (σ)      GRU  r, z (σ), n (tanh)      SimpleRNN  h = φ(a)

The values come from the reference cells' forward caches (rnnkit.cells.{rnn,lstm,gru}), whose
layout is fixed there: rnn (h_prev, y, ...), lstm (h_prev, c_prev, gates, ...), gru (h_prev,
gates, ...), gates (T, B, G) in PyTorch's block order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.diagnostics import _walk

GATES = {"lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n"), "rnn": ("h",)}
TANH_GATES = {"g", "n"}
CACHE_INDEX = {"rnn": 1, "lstm": 2, "gru": 1}  # where (T, B, G) activations sit in the cache


@dataclass
class GateStats:
    """One recurrent layer in one direction: per gate, (T,) arrays in time order."""

    label: str
    cell: str
    direction: str
    mean: dict[str, np.ndarray]  # gate -> mean activation over the real (sequence, unit) entries
    saturation: dict[str, np.ndarray]  # gate -> share of those entries that are saturated
    margin: float

    @property
    def gates(self) -> tuple[str, ...]:
        return tuple(self.mean)

    def overall(self) -> dict[str, tuple[float, float]]:
        """gate -> (mean activation, saturated share), averaged over the steps."""
        return {g: (_mean_of_present(self.mean[g]), _mean_of_present(self.saturation[g])) for g in self.gates}

    def summary(self) -> str:
        """One line: each gate's mean activation and saturated share, averaged over the steps."""
        parts = ", ".join(f"{g} mean {m:.2f} saturated {100 * s:.0f} %" for g, (m, s) in self.overall().items())
        return f"{self.label} ({self.cell}, {self.direction}) gates: {parts}"


def _kind(family: str, gate: str, activation: str) -> str:
    if family == "rnn":
        return activation
    return "tanh" if gate in TANH_GATES else "sigmoid"


def _saturated(values: np.ndarray, kind: str, margin: float) -> np.ndarray:
    if kind == "sigmoid":
        return (values < margin) | (values > 1.0 - margin)
    if kind == "tanh":
        return np.abs(values) > 1.0 - margin
    return values == 0.0  # relu: a dead unit passes no gradient


def unit_gate_stats(unit: _walk.Unit, margin: float = 0.1) -> GateStats:
    family = unit.family
    values = unit.cell_cache[CACHE_INDEX[family]]  # (T, B, G), reading order
    values = unit.in_time_order(np.swapaxes(values, 0, 1)).astype(np.float64)  # (B, T, G)
    B, T, G = values.shape
    names = GATES[family]
    H = G // len(names)
    real = np.ones((B, T))
    if unit.lengths is not None:
        real = (np.arange(T)[None, :] < unit.lengths[:, None]).astype(np.float64)
    count = np.maximum(real.sum(axis=0) * H, 1)  # (T,)
    empty = real.sum(axis=0) == 0
    activation = unit.layer.cell.activation
    mean, saturation = {}, {}
    for k, name in enumerate(names):
        v = values[:, :, k * H : (k + 1) * H]
        sat = _saturated(v, _kind(family, name, activation), margin)
        mean[name] = np.where(empty, np.nan, np.einsum("bth,bt->t", v, real) / count)
        saturation[name] = np.where(empty, np.nan, np.einsum("bth,bt->t", sat.astype(np.float64), real) / count)
    return GateStats(unit.label, unit.cell, unit.direction, mean, saturation, margin)


def check_margin(margin: float) -> None:
    if not 0.0 < margin < 0.5:
        raise ValueError(f"margin must lie in (0, 0.5), got {margin!r}")


def gate_statistics(model, x, lengths=None, *, margin: float = 0.1) -> list[GateStats]:
    """Gate statistics of every recurrent layer and direction of a Sequential model on batch x
    (B, T, F) (or ids (B, T)), lengths (B,) or None: one GateStats per layer and direction, each
    gate's mean and saturated share per step, (T,) arrays. A gate counts as saturated within
    `margin` of its activation's bounds."""
    check_margin(margin)
    result = _walk.run(model, x, None, lengths)
    return [unit_gate_stats(unit, margin) for unit in result.units]


def _mean_of_present(values: np.ndarray) -> float:
    """Mean over the steps that have a value; NaN (not nanmean's "Mean of empty slice" warning)
    when none has, e.g. when the forward pass overflowed."""
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else float("nan")
