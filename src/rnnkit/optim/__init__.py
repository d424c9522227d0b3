"""Optimizers (kept apart from the layers), learning-rate schedules and gradient clipping.

    from rnnkit import optim
    opt = optim.get("adam", lr=1e-3)            # or optim.Adam(lr=optim.schedules.StepDecay(...))
    total = optim.clip_by_global_norm(grads, max_norm=5.0)
    opt.set_epoch(epoch)
    opt.step(params, grads)                     # in place on the arrays of params
    saved = (opt.config(), opt.state_dict())    # JSON + flat dict of arrays (safetensors)
    opt = optim.from_config(saved[0]); opt.load_state_dict(saved[1])
    averaging = optim.get("adam", ema=0.999)    # also keeps a running average of the weights:
    averaging.averaged_weights(params)          # new arrays, bias-corrected
"""

from __future__ import annotations

from rnnkit.optim import schedules
from rnnkit.optim.adam import Adam, AdamW
from rnnkit.optim.base import Optimizer
from rnnkit.optim.clipping import clip_by_global_norm, clip_by_value
from rnnkit.optim.rmsprop import RMSprop
from rnnkit.optim.schedules import ExponentialDecay, Piecewise, StepDecay
from rnnkit.optim.sgd import SGD

__all__ = [
    "SGD", "Adam", "AdamW", "ExponentialDecay", "OPTIMIZERS", "Optimizer", "Piecewise", "RMSprop",
    "StepDecay", "clip_by_global_norm", "clip_by_value", "from_config", "get", "schedules",
]

OPTIMIZERS: dict[str, type[Optimizer]] = {cls.name: cls for cls in (SGD, RMSprop, Adam, AdamW)}


def _lookup(name: str) -> type[Optimizer]:
    try:
        return OPTIMIZERS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown optimizer {name!r}; known: {sorted(OPTIMIZERS)}") from None


def get(name_or_instance, **kwargs) -> Optimizer:
    """An optimizer from a name (``"sgd"``, ``"rmsprop"``, ``"adam"``, ``"adamw"``; any case) and
    constructor kwargs, from a ``config()`` dict, or an existing instance passed through."""
    if isinstance(name_or_instance, Optimizer):
        if kwargs:
            raise ValueError("kwargs can only be given with an optimizer name, not an instance")
        return name_or_instance
    if isinstance(name_or_instance, dict):
        return from_config({**name_or_instance, **kwargs})
    if isinstance(name_or_instance, str):
        return _lookup(name_or_instance)(**kwargs)
    raise ValueError(
        f"optimizer must be a name ({sorted(OPTIMIZERS)}), a config dict or an Optimizer, "
        f"got {type(name_or_instance).__name__}"
    )


def from_config(config: dict) -> Optimizer:
    """Rebuild any optimizer from its ``config()``."""
    if not isinstance(config, dict) or not isinstance(config.get("name"), str):
        raise ValueError(f"config must be a dict with a 'name' entry, got {config!r}")
    return _lookup(config["name"]).from_config(config)
