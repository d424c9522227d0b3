"""Re-initialise the recurrent layers of a model in place, for experiments on gradient flow:
another initialiser, a forget-gate bias, a scaled recurrent matrix W_h (a scale > 1 makes the
gradient explode, seed 000/004).

    reinitialize(model, init="torch", forget_bias=1.0, recurrent_scale=3.0, seed=0)
"""

from __future__ import annotations

import numpy as np

from rnnkit.layers import Bidirectional, Recurrent, Stack


def recurrent_layers(layer) -> list[Recurrent]:
    """Every Recurrent layer inside `layer` (a model, a Stack, a Bidirectional, ...), in order."""
    if isinstance(layer, Recurrent):
        return [layer]
    if isinstance(layer, (Stack, Bidirectional)):
        return [r for inner in layer.sublayers() for r in recurrent_layers(inner)]
    return [r for inner in getattr(layer, "layers", []) for r in recurrent_layers(inner)]


def reinitialize(model, *, init: str | None = None, forget_bias: float | None = None,
                 recurrent_scale: float = 1.0, seed: int = 0):
    """Change the recurrent layers' weights in place (arrays stay the same objects, so wrappers
    and optimizers keep pointing at them); returns the model.

    init: "keras" or "torch" draws fresh weights with that scheme (None keeps the current ones);
    forget_bias: LSTM forget-gate bias value (seed 001: 1 is the usual choice);
    recurrent_scale: multiplies every W_h after the above; seed: the draws of `init`.
    """
    if not 0 < recurrent_scale < float("inf"):
        raise ValueError(f"recurrent_scale must be a finite number > 0, got {recurrent_scale!r}")
    layers = recurrent_layers(model)
    if not layers:
        raise ValueError("the model has no recurrent layer to re-initialise")
    rng = np.random.default_rng(seed)
    for layer in layers:
        p = layer.params
        H = layer.units
        if init is not None:
            fresh = layer.cell.init_params(p["W_x"].shape[0], H, init, rng, p["W_x"].dtype)
            for k, v in fresh.items():
                np.copyto(p[k], v)
            layer.init = init
        if forget_bias is not None and layer.cell.family == "lstm":
            if "b" in p:
                p["b"][H : 2 * H] = forget_bias
            else:
                p["b_x"][H : 2 * H] = forget_bias
                p["b_h"][H : 2 * H] = 0.0
        if recurrent_scale != 1.0:
            largest = float(np.finfo(p["W_h"].dtype).max)
            if float(np.abs(p["W_h"]).max(initial=0.0)) * recurrent_scale > largest:  # checked in scalars
                raise ValueError(f"recurrent_scale={recurrent_scale:g} takes W_h past the largest {p['W_h'].dtype} "
                                 f"({largest:.3g}); a scale of a few (2-10) already explodes")
            p["W_h"] *= recurrent_scale
    return model
