"""Gradient flow through time: ‖∂L/∂h_t‖ (and ‖∂L/∂c_t‖ for LSTM) at every step, per recurrent
layer and direction, plus every parameter's gradient norm — vanishing and exploding gradients
made visible (seed 000, 004).

    flow = rnnkit.diagnostics.gradient_flow(model, x, y)
    print(flow.summary())
    # simplernn (SimpleRNN, forward) ‖∂L/∂h‖: the gradient at t=0 is 2.6e-09 of the gradient
    #   at t=199 (T = 200; 1.1e+00 → 3.0e-09): vanishing
    flow.states[0].norms["h"]      # (T,) in time order

The norm at step t is the Frobenius norm over the batch and the H units of ∂L/∂h_t, where L is
the model's (mean) loss on the batch and h_t the state after step t; padded steps count zero.
For LSTM, ∂L/∂c_t is the total gradient reaching the cell value c_t, through c_{t+1} and through
h_t = o_t ⊙ tanh(c_t), as the BPTT of rnnkit.cells.lstm defines it.
The verdict reads the ratio of the norm at the first read step to that at the last read step:
below `vanishing` (1e-3) "vanishing", above `exploding` (1e3) "exploding", else "stable"; "zero"
when both are 0, "undefined" when only the last is 0 (the loss enters that unit elsewhere).
With a loss at every step, ∂L/∂h_t also holds step t's own loss term, so the ratio says little
about how far gradients travel; ``loss_at="last"`` then differentiates only the last step's term
(for many-to-one models both are the same).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from rnnkit.diagnostics import _walk
from rnnkit.diagnostics.gates import GateStats, check_margin, unit_gate_stats

VANISHING = 1e-3  # first/last ratio below this: "vanishing" (the summary prints this rule)
EXPLODING = 1e3  # above this: "exploding"; in between: "stable"
STATE_NAMES = {"rnn": ("h",), "gru": ("h",), "lstm": ("h", "c")}


@dataclass
class StateFlow:
    """One recurrent layer in one direction: the state-gradient norm at every time step."""

    label: str  # layer name, plus "/forward" or "/backward" inside a Bidirectional, ".i" in a Stack
    cell: str  # "SimpleRNN", "LSTM", "GRU"
    direction: str  # reading order: "forward" (t = 0 first) or "backward" (t = T-1 first)
    norms: dict[str, np.ndarray]  # "h" (and "c") -> (T,) float64, time order
    first: dict[str, float]  # norm over the batch at each sequence's first read step
    last: dict[str, float]  # ... and at its last read step (where the loss enters)
    variable_lengths: bool = False  # sequences of different lengths: "last step" is each one's own

    def ratio(self, state: str = "h") -> float:
        """‖∂L/∂state‖ at the first read step divided by that at the last read step."""
        first, last = self.first[state], self.last[state]
        if not (math.isfinite(first) and math.isfinite(last)):
            return math.nan
        if last == 0.0:
            return math.inf if first > 0 else math.nan
        return first / last

    def verdict(self, state: str = "h", vanishing: float = VANISHING, exploding: float = EXPLODING) -> str:
        """'vanishing' (ratio < vanishing), 'exploding' (> exploding), 'stable' (in between),
        'zero' (none at the first and last read steps), 'undefined' (none at the last read step
        but some at the first: the loss enters elsewhere, so there is no ratio) or 'non-finite'."""
        values = self.norms[state]
        if not np.all(np.isfinite(values)):
            return "non-finite"
        r = self.ratio(state)
        if math.isnan(r):  # finite norms: 0 at both ends
            return "zero"
        if self.last[state] == 0.0:
            # Nothing enters where the ratio's denominator is measured (e.g. a Bidirectional layer's
            # backward reader under loss_at="last": the loss meets it at its first read step). An
            # infinite ratio here says nothing about growth through time: not "exploding".
            return "undefined"
        if r < vanishing:
            return "vanishing"
        if r > exploding:
            return "exploding"
        return "stable"

    def describe(self, state: str = "h", vanishing: float = VANISHING, exploding: float = EXPLODING) -> str:
        """One sentence: the first/last ratio of ‖∂L/∂state‖ and its verdict (see `verdict`)."""
        T = len(self.norms[state])
        end = "the last real step" if self.variable_lengths else f"t={T - 1}"
        first_t, last_t = ("t=0", end) if self.direction == "forward" else (end, "t=0")
        verdict = self.verdict(state, vanishing, exploding)
        head = f"{self.label} ({self.cell}, {self.direction}) ‖∂L/∂{state}‖"
        if verdict == "non-finite":
            return f"{head}: not finite — the backward pass overflowed: exploding"
        if verdict == "zero":
            return (f"{head}: zero at {first_t} and at {last_t} — no gradient flows (dead units, saturated "
                    "outputs, or a loss already at its minimum)")
        if verdict == "undefined":
            return (f"{head}: zero at {last_t} (its last read step) but {self.first[state]:.1e} at {first_t} — "
                    f"the loss does not enter at {last_t} (e.g. the backward reader of a Bidirectional layer "
                    "with loss_at='last'), so there is no first/last ratio")
        return (f"{head}: the gradient at {first_t} is {self.ratio(state):.1e} of the gradient at "
                f"{last_t} (T = {T}; {self.last[state]:.1e} → {self.first[state]:.1e}): {verdict}")


@dataclass
class GradientFlow:
    """What `gradient_flow` measured on one batch."""

    loss: float
    states: list[StateFlow]
    params: dict[str, float]  # parameter name -> ‖∂L/∂param‖
    global_norm: float  # √Σ‖∂L/∂param‖², what clipnorm compares with
    clipnorm: float | None = None  # the model's compiled clipping (None: off or not compiled)
    clipvalue: float | None = None
    gates: list[GateStats] = field(default_factory=list)
    vanishing: float = VANISHING
    exploding: float = EXPLODING
    per_step_loss: bool = False  # the differentiated loss has a term at every step
    last_step_only: bool = False  # an output at every step, but only the last step's term differentiated

    def verdicts(self) -> dict[str, str]:
        """'label:state' -> 'vanishing' | 'exploding' | 'stable' | 'zero' | 'undefined' | 'non-finite'."""
        return {f"{s.label}:{k}": s.verdict(k, self.vanishing, self.exploding) for s in self.states for k in s.norms}

    @property
    def vanishing_found(self) -> bool:
        return "vanishing" in self.verdicts().values()

    @property
    def exploding_found(self) -> bool:
        return any(v in ("exploding", "non-finite") for v in self.verdicts().values()) or \
            not math.isfinite(self.global_norm)

    def ratio(self, label: str | None = None, state: str = "h") -> float:
        """First/last-step ratio of one unit (the first recurrent unit when label is None)."""
        return self._state(label).ratio(state)

    def _state(self, label: str | None) -> StateFlow:
        if not self.states:
            raise ValueError("the model has no recurrent layer")
        if label is None:
            return self.states[0]
        for s in self.states:
            if s.label == label:
                return s
        raise KeyError(f"no recurrent unit {label!r}; units: {[s.label for s in self.states]}")

    def summary(self) -> str:
        """The loss, the global gradient norm and one line per recurrent unit (see StateFlow.describe)."""
        lines = [f"loss {self.loss:.4g}; global gradient norm {self.global_norm:.3g}"]
        if self.states:  # the rule behind every verdict below: a student should not have to guess it
            lines.append(f"ratio = ‖∂L/∂state‖ at the first read step / at the last read step (where a "
                         f"last-step loss enters); vanishing below {self.vanishing:.0e}, exploding above "
                         f"{self.exploding:.0e}, else stable (a steady decay that stays above "
                         f"{self.vanishing:.0e} is still called stable)")
        for s in self.states:
            lines.extend(s.describe(k, self.vanishing, self.exploding) for k in s.norms)
        if self.per_step_loss:
            lines.append("note: the loss has a term at every step, so each ‖∂L/∂h_t‖ holds its own step's term "
                         "and the ratio says little about long-range flow; use loss_at='last' (--loss-at last)")
        if self.last_step_only:
            lines.append("note: loss_at='last' differentiates only the last step's loss term (the loss shown is "
                         "the whole loss), so the gradient norms and the clipping scale below are not training's")
        lines.append(self._clipping_line())
        biggest = sorted(self.params.items(), key=lambda kv: -kv[1] if math.isfinite(kv[1]) else -math.inf)
        lines.append("parameter gradient norms: " + ", ".join(f"{k} {v:.2e}" for k, v in biggest))
        lines.extend(g.summary() for g in self.gates)
        return "\n".join(lines)

    def _clipping_line(self) -> str:
        parts = []
        if self.clipnorm is not None:
            scale = min(1.0, self.clipnorm / self.global_norm) if self.global_norm > 0 else 1.0
            parts.append(f"clipnorm {self.clipnorm:g} (this batch's gradient would be scaled by {scale:.2g})")
        if self.clipvalue is not None:
            parts.append(f"clipvalue {self.clipvalue:g}")
        if parts:
            return "clipping: " + ", ".join(parts)
        if self.exploding_found:
            return ("clipping: off — EXPLODING gradients reach the optimizer unclipped; compile with "
                    "clipnorm=... (or train with --clipnorm)")
        return "clipping: off"


def gradient_flow(model, x, y, lengths=None, *, loss=None, loss_at: str = "all", margin: float = 0.1,
                  float64: bool = True, vanishing: float = VANISHING, exploding: float = EXPLODING) -> GradientFlow:
    """Per-step state-gradient norms of every recurrent layer and direction for the batch (x, y).

    x (B, T, F) (or ids (B, T)), y the loss's targets, lengths (B,) or None, as model.fit takes
    them. Returns a GradientFlow (``.summary()``, ``.verdicts()``, per-unit ``.states``).
    model: a Sequential model (built or not); loss: a loss name or instance, default the one the
    model was compiled with; loss_at: "all" (the whole loss) or "last" (with an output at every
    step: only the last real step's loss term); margin: gate saturation margin (see
    rnnkit.diagnostics.gates);
    float64: compute on a float64 copy of the model, so that a vanishing gradient is measured
    down to 1e-300 instead of underflowing to 0 below float32's 1e-45.
    Runs on the reference cells (only they report per-step gradients); nothing is updated.
    """
    if loss_at not in ("all", "last"):
        raise ValueError(f"loss_at must be 'all' or 'last', got {loss_at!r}")
    check_margin(margin)
    loss = _walk.loss_function(model, loss)
    _walk.ensure_built(model, x)
    measured = model
    if float64:
        measured, x = _walk.float64_copy(model), np.asarray(x)
        x = x.astype(np.float64) if x.dtype.kind == "f" else x
    result = _walk.run(measured, x, y, lengths, loss, last_step_only=loss_at == "last")
    states = [_state_flow(unit) for unit in result.units]
    with np.errstate(over="ignore", invalid="ignore"):
        params = {k: float(np.linalg.norm(g)) for k, g in result.grads.items()}
    global_norm = math.sqrt(sum(v * v for v in params.values()))
    compiled = getattr(model, "compiled", None)
    gates = [unit_gate_stats(unit, margin) for unit in result.units]
    return GradientFlow(result.loss, states, params, global_norm,
                        None if compiled is None else compiled.clipnorm,
                        None if compiled is None else compiled.clipvalue,
                        gates, vanishing, exploding, per_step_loss=np.ndim(result.y) == 3 and loss_at == "all",
                        last_step_only=np.ndim(result.y) == 3 and loss_at == "last")


def _state_flow(unit: _walk.Unit) -> StateFlow:
    if unit.steps is None:
        raise RuntimeError(f"{unit.label}: the cell reported no per-step gradients")
    names = STATE_NAMES[unit.family]
    B, T, _ = unit.steps[0].shape
    lengths = np.full(B, T) if unit.lengths is None else np.asarray(unit.lengths)
    first_t, last_t = (np.zeros(B, int), lengths - 1)
    if unit.direction == "backward":
        first_t, last_t = last_t, first_t
    rows = np.arange(B)
    norms, first, last = {}, {}, {}
    for name, d in zip(names, unit.steps):
        d = np.asarray(d, dtype=np.float64)
        with np.errstate(over="ignore", invalid="ignore"):
            norms[name] = np.sqrt(np.einsum("bth,bth->t", d, d))
            first[name] = float(np.linalg.norm(d[rows, first_t]))
            last[name] = float(np.linalg.norm(d[rows, last_t]))
    return StateFlow(unit.label, unit.cell, unit.direction, norms, first, last, bool(np.any(lengths != T)))
