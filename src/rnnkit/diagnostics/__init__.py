"""Diagnostics: make vanishing and exploding gradients visible, and check gradients.

    from rnnkit import diagnostics
    flow = diagnostics.gradient_flow(model, x, y)      # ‖∂L/∂h_t‖ (and ‖∂L/∂c_t‖) per step
    print(flow.summary())                              # "... at t=0 is 3e-12 of ... t=199: vanishing"
    gates = diagnostics.gate_statistics(model, x)      # LSTM/GRU gate means and saturation per step
    report = rnnkit.gradcheck(model, x, y)             # float64 central differences, loud on failure
    diagnostics.reinitialize(model, init="torch", recurrent_scale=3.0)   # experiments on the flow

Plots (matplotlib, imported only when called): rnnkit.diagnostics.plots.
"""

from rnnkit.diagnostics.check import GradcheckError, GradcheckReport, ParamCheck, gradcheck
from rnnkit.diagnostics.flow import EXPLODING, VANISHING, GradientFlow, StateFlow, gradient_flow
from rnnkit.diagnostics.gates import GateStats, gate_statistics
from rnnkit.diagnostics.reinit import reinitialize

__all__ = [
    "EXPLODING", "VANISHING", "GateStats", "GradcheckError", "GradcheckReport", "GradientFlow", "ParamCheck",
    "StateFlow", "gate_statistics", "gradcheck", "gradient_flow", "reinitialize",
]
