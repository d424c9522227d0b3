"""The optimizer base: all the bookkeeping, so that each subclass is only its update rule.

An optimizer is not bound to a model. Each call

    opt.step(params, grads)

updates the arrays of ``params`` (a flat ``dict[str, np.ndarray]``) in place from ``grads`` (a
dict with the same keys; a parameter with no entry in ``grads`` is left alone and its state
does not advance, like a PyTorch parameter whose ``.grad`` is None).

What the base keeps:
    lr          a float, or a schedule (a callable of the epoch index, see ``schedules``);
                ``set_epoch(e)`` picks the epoch, ``current_lr`` is the rate in force.
    iterations  the number of ``step`` calls; ``epoch`` the last epoch set.
    state       per parameter key: ``"step"`` (how many updates it received, an int64 0-d
                array) and the buffers named by ``slots()``, zeros of the parameter's shape and
                dtype until the first update.

``state_dict()`` flattens all of it into ``dict[str, np.ndarray]`` (``"iterations"``,
``"epoch"``, ``"state/<param key>/<slot>"``), ready for ``safetensors.numpy.save_file``;
``config()`` holds the hyperparameters as JSON. ``from_config(config())`` followed by
``load_state_dict(state_dict())`` continues a run bit for bit.

Weight averaging (``ema``, the counterpart of Keras's ``use_ema`` / ``ema_momentum``): with ``ema=β`` every
update also advances ``a ← β a + (1 − β) p`` (slot ``"average"``, from zeros), and
``averaged_weights(params)`` returns the bias-corrected average ``a / (1 − βᵗ)`` (t: the
parameter's step count), an exponentially weighted mean of the iterates after each update
(Polyak and Juditsky 1992). The training loop validates and checkpoints these averages.
Keras (use_ema) and torch.optim.swa_utils.AveragedModel with get_ema_multi_avg_fn(β) instead start
the average at the first iterate, a₁ = p₁, and do not correct it: the two weight the early
iterates differently (β^(t−1) on p₁ there, (1 − β) β^(t−1) / (1 − βᵗ) here), so the averages
differ while βᵗ is not small, and agree once it is.

Weight decay is applied here too: ``g ← g + weight_decay · p`` (L2, as torch's SGD, RMSprop and
Adam do) or, for subclasses with ``decoupled_weight_decay`` (AdamW), ``p ← p · (1 − lr ·
weight_decay)`` before the update rule runs.
"""

from __future__ import annotations

import inspect
import math
import numbers
from typing import Callable, ClassVar

import numpy as np

from rnnkit.optim import schedules

__all__ = ["Optimizer"]


def check_float(name: str, value, lo: float, hi: float = math.inf, *, hi_open: bool = False) -> float:
    """``value`` as a float in [lo, hi] (or [lo, hi) with ``hi_open``), else a ValueError naming it."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        v = float(value)
        if lo <= v and (v < hi if hi_open else v <= hi) and math.isfinite(v):
            return v
    interval = f"[{lo}, {hi})" if hi_open else f"[{lo}, {hi}]"
    raise ValueError(f"{name} must be a finite number in {interval}, got {value!r}")


def _check_lr(lr):
    if callable(lr):
        return lr
    return check_float("lr", lr, 0.0)


def _as_int(name: str, value) -> int:
    arr = np.asarray(value)
    if arr.shape != () or arr.dtype.kind not in "iu" or int(arr) < 0:
        raise ValueError(f"{name} must be a non-negative integer scalar, got {value!r}")
    return int(arr)


class Optimizer:
    """Base class; subclasses set ``name``, define ``slots()`` and ``_update``."""

    name: ClassVar[str] = ""
    decoupled_weight_decay: ClassVar[bool] = False

    def __init__(self, lr: float | Callable[[int], float], weight_decay: float = 0.0, ema: float | None = None):
        self.lr = _check_lr(lr)
        self.weight_decay = check_float("weight_decay", weight_decay, 0.0)
        self.ema = None if ema is None else check_float("ema", ema, 0.0, 1.0, hi_open=True)
        self.iterations = 0
        self.epoch = 0
        self.state: dict[str, dict[str, np.ndarray]] = {}

    # --- what a subclass provides -------------------------------------------------------
    def slots(self) -> tuple[str, ...]:
        """Names of the per-parameter buffers this configuration needs."""
        return ()

    def _update(self, p: np.ndarray, g: np.ndarray, s: dict[str, np.ndarray], lr: float) -> None:
        """Update ``p`` and the buffers ``s`` in place; ``s["step"]`` already counts this update."""
        raise NotImplementedError

    def _slots(self) -> tuple[str, ...]:
        return self.slots() + ("average",) * (self.ema is not None)

    # --- learning rate ------------------------------------------------------------------
    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose rate a schedule gives (saved in ``state_dict``)."""
        if isinstance(epoch, bool) or not isinstance(epoch, numbers.Integral) or epoch < 0:
            raise ValueError(f"epoch must be an integer >= 0, got {epoch!r}")
        self.epoch = int(epoch)

    @property
    def current_lr(self) -> float:
        if not callable(self.lr):
            return self.lr
        return check_float(f"lr schedule value at epoch {self.epoch}", self.lr(self.epoch), 0.0)

    # --- the step -----------------------------------------------------------------------
    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        """Update every parameter that has a gradient, in place."""
        self._check_step_args(params, grads)
        lr = self.current_lr
        states = {key: self._state_for(key, params[key]) for key in grads}  # all checked first
        for key, g in grads.items():
            p, s = params[key], states[key]
            s["step"] += 1
            if self.weight_decay != 0:
                if self.decoupled_weight_decay:
                    p *= 1 - lr * self.weight_decay
                else:
                    g = g + self.weight_decay * p
            self._update(p, g, s, lr)
            if self.ema is not None:
                a = s["average"]
                a += (1 - self.ema) * (p - a)
        self.iterations += 1

    def averaged_weights(self, params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """New arrays: the bias-corrected running average of every parameter (a parameter that
        has had no update yet: a copy of its value). Needs ``ema``."""
        if self.ema is None:
            raise ValueError("averaged_weights() needs an optimizer created with ema=<decay>, e.g. ema=0.999")
        averaged = {}
        for key, p in params.items():
            s = self.state.get(key)
            t = 0 if s is None else int(s["step"])
            if t == 0:
                averaged[key] = p.copy()
            else:
                averaged[key] = (s["average"] / (1 - self.ema**t)).astype(p.dtype, copy=False)
        return averaged

    def _state_for(self, key: str, p: np.ndarray) -> dict[str, np.ndarray]:
        s = self.state.get(key)
        if s is None:
            s = {"step": np.zeros((), dtype=np.int64)}
            s.update({slot: np.zeros_like(p) for slot in self._slots()})
            self.state[key] = s
        for slot in self._slots():
            if s[slot].shape != p.shape:
                raise ValueError(
                    f"params[{key!r}] has shape {p.shape} but the optimizer state {slot!r} has "
                    f"shape {s[slot].shape} (a state_dict loaded from another model?)"
                )
        return s

    @staticmethod
    def _check_step_args(params, grads) -> None:
        for name, d in (("params", params), ("grads", grads)):
            if not isinstance(d, dict):
                raise TypeError(f"{name} must be a dict[str, np.ndarray], got {type(d).__name__}")
        unknown = sorted(set(grads) - set(params))
        if unknown:
            raise ValueError(f"grads has keys that are not in params: {unknown}")
        for key, g in grads.items():
            p = params[key]
            if not isinstance(p, np.ndarray) or p.dtype.kind != "f" or not p.flags.writeable:
                raise ValueError(
                    f"params[{key!r}] must be a writeable floating-point np.ndarray (updated in "
                    f"place), got {type(p).__name__} {getattr(p, 'dtype', '')}"
                )
            if not isinstance(g, np.ndarray) or g.dtype.kind != "f" or g.shape != p.shape:
                raise ValueError(
                    f"grads[{key!r}] must be a floating-point np.ndarray of shape {p.shape} "
                    f"(the shape of params[{key!r}]), got {type(g).__name__} "
                    f"{getattr(g, 'dtype', '')} {getattr(g, 'shape', '')}"
                )

    # --- saving and resuming ------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """A flat copy of the whole state: ``iterations``, ``epoch``, ``state/<key>/<slot>``."""
        d = {
            "iterations": np.array(self.iterations, dtype=np.int64),
            "epoch": np.array(self.epoch, dtype=np.int64),
        }
        for key, s in self.state.items():
            for slot, arr in s.items():
                d[f"state/{key}/{slot}"] = arr.copy()
        return d

    def load_state_dict(self, d: dict[str, np.ndarray]) -> None:
        """Replace the state with a (copied) ``state_dict()`` of an optimizer with this config."""
        if not isinstance(d, dict):
            raise TypeError(f"state_dict must be a dict[str, np.ndarray], got {type(d).__name__}")
        missing = [k for k in ("iterations", "epoch") if k not in d]
        if missing:
            raise ValueError(f"state_dict lacks {missing}; expected the output of state_dict()")
        known = ("step", *self._slots())
        state: dict[str, dict[str, np.ndarray]] = {}
        for name, arr in d.items():
            if name in ("iterations", "epoch"):
                continue
            key, _, slot = name.removeprefix("state/").rpartition("/")
            if not name.startswith("state/") or not key or slot not in known:
                raise ValueError(
                    f"state_dict has an unexpected entry {name!r}; {type(self).__name__} with "
                    f"this config keeps 'state/<param key>/<slot>' with slot in {list(known)}"
                )
            state.setdefault(key, {})[slot] = np.array(arr, copy=True)
        for key, s in state.items():
            lacking = [slot for slot in known if slot not in s]
            if lacking:
                raise ValueError(
                    f"state_dict lacks {lacking} for parameter {key!r} (saved by an optimizer "
                    f"with other options? this one needs {list(known)})"
                )
            s["step"] = np.array(_as_int(f"state_dict['state/{key}/step']", s["step"]), dtype=np.int64)
        self.iterations = _as_int("state_dict['iterations']", d["iterations"])
        self.epoch = _as_int("state_dict['epoch']", d["epoch"])
        self.state = state

    def config(self) -> dict:
        """The constructor arguments as JSON-able values, plus ``"name"``."""
        cfg = {"name": self.name}
        for arg in inspect.signature(type(self).__init__).parameters:
            if arg == "self":
                continue
            value = getattr(self, arg)
            if arg == "lr" and callable(value):
                if not isinstance(value, schedules.Schedule):
                    raise ValueError(
                        "lr is a plain callable, which cannot be saved; use a class from "
                        "rnnkit.optim.schedules"
                    )
                value = value.config()
            cfg[arg] = list(value) if isinstance(value, tuple) else value
        return cfg

    @classmethod
    def from_config(cls, config: dict) -> "Optimizer":
        """Rebuild from ``config()``; ``rnnkit.optim.from_config`` picks the class by name."""
        if not isinstance(config, dict):
            raise TypeError(f"config must be a dict, got {type(config).__name__}")
        kwargs = dict(config)
        name = kwargs.pop("name", cls.name)
        if name != cls.name:
            raise ValueError(f"config is for optimizer {name!r}, not {cls.name!r}")
        if isinstance(kwargs.get("lr"), dict):
            kwargs["lr"] = schedules.from_config(kwargs["lr"])
        return cls(**kwargs)

    def __repr__(self) -> str:
        names = [a for a in inspect.signature(type(self).__init__).parameters if a != "self"]
        args = ", ".join(f"{a}={getattr(self, a)!r}" for a in names)
        return f"{type(self).__name__}({args})"
