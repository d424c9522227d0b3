"""PNG plots of the diagnostics (matplotlib through rnnkit._figures: pyplot is never used).

    plot_gradient_flow({"rnn": flow_rnn, "lstm": flow_lstm}, "gradient_flow.png")
    plot_gate_saturation({"lstm": flow_lstm.gates}, "gate_saturation.png")
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnkit._figures import colour_cycle, save_figure, subplots
from rnnkit.diagnostics.flow import GradientFlow
from rnnkit.diagnostics.gates import GateStats

__all__ = ["plot_gate_saturation", "plot_gradient_flow"]


def _positive(values: np.ndarray) -> np.ndarray:
    """Values a log axis can show: zero, negative and non-finite entries become gaps."""
    values = np.asarray(values, np.float64)
    return np.where(np.isfinite(values) & (values > 0), values, np.nan)


def plot_gradient_flow(flows: dict[str, GradientFlow], path: str | Path, title: str = "") -> None:
    """‖∂L/∂h_t‖ (solid) and ‖∂L/∂c_t‖ (dashed) against t on a log axis: one colour per model
    (e.g. per cell type when comparing), one line per recurrent layer and direction."""
    fig, axes = subplots(figsize=(8, 4.5))
    ax = axes[0, 0]
    colours = colour_cycle()
    for k, (name, flow) in enumerate(flows.items()):
        colour = colours[k % len(colours)]
        single = len(flow.states) == 1
        for j, s in enumerate(flow.states):
            for state, values in s.norms.items():
                label = name if single else f"{name} {s.label}"
                label += "" if state == "h" else f" ({state})"
                ax.plot(np.arange(len(values)), _positive(values), color=colour, alpha=1.0 - 0.25 * (j % 3),
                        linestyle="-" if state == "h" else "--", label=f"{label}: ratio {s.ratio(state):.0e}")
    ax.set_yscale("log")
    ax.set_xlabel("time step t")
    ax.set_ylabel("‖∂L/∂h_t‖ (batch)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    ax.set_title(title or "gradient flow through time (ratio = first step / last step)")
    fig.tight_layout()
    save_figure(fig, path)


def plot_gate_saturation(gates: dict[str, list[GateStats]], path: str | Path, title: str = "") -> None:
    """One row per model and recurrent unit: saturated share (left) and mean (right) of each gate."""
    rows = [(name, g) for name, stats in gates.items() for g in stats]
    if not rows:
        raise ValueError("no recurrent layer to plot gates of")
    fig, axes = subplots(len(rows), 2, figsize=(10, 2.6 * len(rows) + 0.6))
    for (name, g), (left, right) in zip(rows, axes):
        label = name if g.label == name else f"{name} {g.label}"
        for gate in g.gates:
            t = np.arange(len(g.saturation[gate]))
            left.plot(t, g.saturation[gate], label=gate)
            right.plot(t, g.mean[gate], label=gate)
        left.set_ylim(-0.02, 1.02)
        left.set_title(f"{label} ({g.cell}): saturated share (margin {g.margin:g})", fontsize=9)
        right.set_title(f"{label} ({g.cell}): mean activation", fontsize=9)
        for ax in (left, right):
            ax.set_xlabel("time step t")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path)
