"""Callbacks: hooks at the end of each epoch. History records, ModelCheckpoint keeps the best
weights on disk (seed 002: "the weights of the best point in time"), EarlyStopping stops and can
restore the best weights in memory."""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

import numpy as np

from rnnkit import _checks as checks
from rnnkit.metrics import LOWER_IS_BETTER


class Callback:
    def on_train_begin(self, model) -> None: ...

    def on_epoch_end(self, model, epoch: int, logs: dict[str, float]) -> bool:
        """Return True to stop training after this epoch."""
        return False

    def on_train_end(self, model) -> None: ...


class History(Callback):
    """Per-epoch logs: history["loss"][k] is the training loss of the k-th epoch run."""

    def __init__(self, history: dict[str, list[float]] | None = None, epochs: list[int] | None = None):
        self.history: dict[str, list[float]] = {k: list(v) for k, v in (history or {}).items()}
        self.epochs: list[int] = list(epochs or [])

    def on_epoch_end(self, model, epoch, logs):
        self.epochs.append(epoch)
        for key in set(self.history) | set(logs):
            self.history.setdefault(key, [math.nan] * (len(self.epochs) - 1)).append(logs.get(key, math.nan))
        return False

    def to_dict(self) -> dict:
        return {"epochs": self.epochs, "history": self.history}

    @classmethod
    def from_dict(cls, d: dict) -> "History":
        return cls(d.get("history"), d.get("epochs"))

    def write_csv(self, path: str | os.PathLike) -> None:
        keys = sorted(self.history)
        with open(path, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["epoch", *keys])
            for row, epoch in enumerate(self.epochs):
                writer.writerow([epoch + 1, *(self.history[k][row] for k in keys)])


def _improves(mode: str, value: float, best: float, min_delta: float) -> bool:
    return value < best - min_delta if mode == "min" else value > best + min_delta


def _mode_for(monitor: str, mode: str) -> str:
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return mode
    name = monitor.removeprefix("val_")
    return "min" if name.endswith("loss") or name in LOWER_IS_BETTER else "max"


class _Monitor(Callback):
    def __init__(self, monitor: str, mode: str, min_delta: float = 0.0):
        self.monitor = monitor
        self.mode = _mode_for(monitor, mode)
        self.min_delta = min_delta
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch: int | None = None

    def _value(self, logs) -> float:
        if self.monitor not in logs:
            raise KeyError(f"monitor {self.monitor!r} is not among the logged values {sorted(logs)}")
        return logs[self.monitor]

    def _check(self, epoch, logs) -> bool:
        value = self._value(logs)
        if _improves(self.mode, value, self.best, self.min_delta):
            self.best, self.best_epoch = value, epoch
            return True
        return False


class ModelCheckpoint(_Monitor):
    """Save the model to `path` when the monitored value improves (or every epoch).

    initial_value_threshold (Keras's name): the value the first save must beat. A resumed run
    passes the best value its checkpoint was saved at, so that its first epoch does not overwrite
    a better checkpoint (the callback itself starts afresh with every fit)."""

    def __init__(self, path, monitor: str = "val_loss", mode: str = "auto", save_best_only: bool = True,
                 include_optimizer: bool = True, initial_value_threshold: float | None = None):
        super().__init__(monitor, mode)
        if initial_value_threshold is not None:
            if math.isnan(checks.real("initial_value_threshold", initial_value_threshold)):
                raise ValueError("initial_value_threshold must be a number, got nan")
            self.best = float(initial_value_threshold)
        self.path = Path(path)
        self.save_best_only = save_best_only
        self.include_optimizer = include_optimizer

    def on_epoch_end(self, model, epoch, logs):
        if self._check(epoch, logs) or not self.save_best_only:
            model.save(self.path, include_optimizer=self.include_optimizer)
        return False


class EarlyStopping(_Monitor):
    """Stop when the monitored value has not improved for `patience` epochs in a row (Keras's
    count: patience=2 stops after the second epoch without improvement; 0 after the first)."""

    def __init__(self, monitor: str = "val_loss", patience: int = 5, mode: str = "auto", min_delta: float = 0.0,
                 restore_best_weights: bool = False):
        super().__init__(monitor, mode, min_delta)
        if patience < 0:
            raise ValueError(f"patience must be >= 0, got {patience}")
        self.patience = patience
        self.restore_best_weights = restore_best_weights
        self.best_params: dict[str, np.ndarray] | None = None
        self.wait = 0
        self.stopped_epoch: int | None = None

    def on_epoch_end(self, model, epoch, logs):
        if self._check(epoch, logs):
            self.wait = 0
            if self.restore_best_weights:
                self.best_params = {k: v.copy() for k, v in model.params.items()}
            return False
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            return True
        return False

    def on_train_end(self, model):
        if self.restore_best_weights and self.best_params is not None:
            for k, v in model.params.items():
                np.copyto(v, self.best_params[k])
