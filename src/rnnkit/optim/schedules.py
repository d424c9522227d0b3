"""Learning-rate schedules: callables of the epoch index (0, 1, 2, ...) returning the lr.

An optimizer accepts one in place of a float ``lr`` and asks it for the rate of the epoch set by
``Optimizer.set_epoch``. Every schedule is pure (no state of its own) and JSON-configurable:
``schedule.config()`` round-trips through ``schedules.from_config``.

    StepDecay(0.1, drop_every=10, factor=0.5)      lr = 0.1 · 0.5^⌊epoch / 10⌋      (torch StepLR)
    StepDecay(0.1, milestones=[30, 80])            lr = 0.1 · 0.1^#{m ≤ epoch}      (MultiStepLR)
    Piecewise([30, 50, 70], [0.01, 0.008, 0.005, 0.002])   values[#{b ≤ epoch}]
    ExponentialDecay(0.1, rate=0.95)               lr = 0.1 · 0.95^epoch            (ExponentialLR)

A boundary or milestone m means "from epoch m on": the new rate is in force at epoch m itself,
as in torch's MultiStepLR. (Keras's PiecewiseConstantDecay counts optimizer steps and switches
after a boundary, ``step > boundary``: its boundary b is this boundary b + 1.) The rate is
constant within an epoch, like Keras's ExponentialDecay with staircase=True and decay_steps = the
steps of one epoch.
"""

from __future__ import annotations

import bisect
import numbers
from collections.abc import Iterable

__all__ = ["ExponentialDecay", "Piecewise", "Schedule", "StepDecay", "from_config"]


def _positive_float(name: str, value, *, allow_zero: bool = False) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok and (value > 0 or (allow_zero and value == 0)) and value < float("inf"):
        return float(value)
    bound = ">= 0" if allow_zero else "> 0"
    raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")


def _increasing_ints(name: str, values) -> list[int]:
    values = list(values) if isinstance(values, Iterable) else values  # a generator is read once
    try:
        out = [int(v) for v in values]
    except (TypeError, ValueError, OverflowError):  # OverflowError: int(inf)
        out = None
    if (
        not out
        or any(isinstance(v, bool) or int(v) != v for v in values)
        or any(v < 0 for v in out)
        or any(a >= b for a, b in zip(out, out[1:]))
    ):
        raise ValueError(
            f"{name} must be a non-empty, strictly increasing sequence of epoch indices >= 0, "
            f"got {values!r}"
        )
    return out


def _power(base: float, exponent: int) -> float:
    """base ** exponent, inf where that overflows (a rate > 1 for many epochs), so that the
    optimizer's check of the rate names the schedule and the epoch (Python raises OverflowError)."""
    try:
        return base**exponent
    except OverflowError:
        return float("inf")


class Schedule:
    """Base of the schedules: validates the epoch, serializes the constructor arguments."""

    def __call__(self, epoch: int) -> float:
        if isinstance(epoch, bool) or not isinstance(epoch, numbers.Integral) or epoch < 0:
            raise ValueError(f"epoch must be an integer >= 0, got {epoch!r}")
        return self._lr(int(epoch))

    def _lr(self, epoch: int) -> float:
        raise NotImplementedError

    def config(self) -> dict:
        """{"class_name": ..., "config": constructor arguments}, JSON-able; see from_config."""
        return {"class_name": type(self).__name__, "config": self._config()}

    def _config(self) -> dict:
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._config().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self._config() == other._config()


class StepDecay(Schedule):
    """Multiply the rate by ``factor`` every ``drop_every`` epochs, or at each of ``milestones``."""

    def __init__(self, initial: float, drop_every: int | None = None, milestones=None,
                 factor: float = 0.1):
        self.initial = _positive_float("initial", initial)
        self.factor = _positive_float("factor", factor)
        if (drop_every is None) == (milestones is None):
            raise ValueError("StepDecay needs exactly one of drop_every or milestones")
        if drop_every is not None and (
            isinstance(drop_every, bool) or not isinstance(drop_every, numbers.Integral)
            or drop_every < 1
        ):
            raise ValueError(f"drop_every must be an integer >= 1, got {drop_every!r}")
        self.drop_every = None if drop_every is None else int(drop_every)
        self.milestones = None if milestones is None else _increasing_ints("milestones", milestones)

    def _lr(self, epoch):
        if self.drop_every is not None:
            drops = epoch // self.drop_every
        else:
            drops = bisect.bisect_right(self.milestones, epoch)
        return self.initial * _power(self.factor, drops)

    def _config(self):
        return {"initial": self.initial, "drop_every": self.drop_every,
                "milestones": self.milestones, "factor": self.factor}


class Piecewise(Schedule):
    """Piecewise-constant rate: ``values[i]`` from epoch ``boundaries[i-1]`` up to ``boundaries[i]``."""

    def __init__(self, boundaries, values):
        self.boundaries = _increasing_ints("boundaries", boundaries)
        try:
            values = list(values)
        except TypeError:
            raise ValueError(f"values must be a sequence of learning rates, got {values!r}") from None
        if len(values) != len(self.boundaries) + 1:
            raise ValueError(
                f"values must hold len(boundaries) + 1 = {len(self.boundaries) + 1} rates, "
                f"got {len(values)}"
            )
        self.values = [_positive_float(f"values[{i}]", v, allow_zero=True) for i, v in enumerate(values)]

    def _lr(self, epoch):
        return self.values[bisect.bisect_right(self.boundaries, epoch)]

    def _config(self):
        return {"boundaries": self.boundaries, "values": self.values}


class ExponentialDecay(Schedule):
    """lr = initial · rate^epoch."""

    def __init__(self, initial: float, rate: float):
        self.initial = _positive_float("initial", initial)
        self.rate = _positive_float("rate", rate)

    def _lr(self, epoch):
        return self.initial * _power(self.rate, epoch)

    def _config(self):
        return {"initial": self.initial, "rate": self.rate}


_SCHEDULES = {cls.__name__: cls for cls in (StepDecay, Piecewise, ExponentialDecay)}


def from_config(config: dict) -> Schedule:
    """Rebuild a schedule from ``Schedule.config()``."""
    if not isinstance(config, dict) or config.get("class_name") not in _SCHEDULES:
        raise ValueError(
            f"config must be a dict with class_name one of {sorted(_SCHEDULES)}, got {config!r}"
        )
    return _SCHEDULES[config["class_name"]](**config.get("config", {}))
