"""Callbacks: hooks at the start and end of training and of each epoch, and after each batch.
History records, ModelCheckpoint keeps the best weights on disk (seed 002: "the weights of the
best point in time"), EarlyStopping stops and can restore the best weights in memory,
ReduceLROnPlateau lowers the learning rate when progress stalls, CSVLogger writes each epoch's
logs as it ends."""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

import numpy as np

from rnnkit import _checks as checks
from rnnkit.metrics import LOWER_IS_BETTER


class Callback:
    """Base of the fit callbacks: override any hook (the others do nothing). `epoch` is the
    0-based epoch index, counted across fits (a model's first fit starts at 0, the next at
    model.epochs_trained); logs: {"loss": ..., metric names, "val_" ones with validation data}."""

    def on_train_begin(self, model) -> None:
        """Once, when fit starts, before the first epoch."""

    def on_epoch_begin(self, model, epoch: int) -> None:
        """Before the epoch's first batch; the optimizer is already set to this epoch."""

    def on_batch_end(self, model, batch: int, logs: dict[str, float]) -> None:
        """After batch `batch` (0-based, within the epoch) has updated the weights. logs: the
        epoch's running loss and metrics so far (what the progress bar shows; Keras's batch
        logs); the dict is fresh for each batch. Only observes: training cannot be stopped
        from here (a non-finite loss already stops it, see TrainingError)."""

    def on_epoch_end(self, model, epoch: int, logs: dict[str, float]) -> bool:
        """Return True to stop training after this epoch."""
        return False

    def on_train_end(self, model) -> None:
        """Once, when fit ends after its last epoch or an early stop (not when it raises, e.g. a
        TrainingError)."""


def overrides(callback: Callback, hook: str) -> bool:
    """Whether the callback's class defines its own `hook`: the fit loop calls a per-batch hook
    only on the callbacks that do, so that the default no-ops cost nothing per batch."""
    return getattr(type(callback), hook) is not getattr(Callback, hook)


class History(Callback):
    """Per-epoch logs: history["loss"][k] is the training loss of the k-th epoch run."""

    def __init__(self, history: dict[str, list[float]] | None = None, epochs: list[int] | None = None):
        self.history: dict[str, list[float]] = {k: list(v) for k, v in (history or {}).items()}
        self.epochs: list[int] = list(epochs or [])

    def on_epoch_end(self, model, epoch, logs):
        self.epochs.append(epoch)
        # Known keys first, then new ones in the order logged (loss, metrics, val_...): a set here
        # would order history.history by string hashes, differently in every process.
        for key in [*self.history, *(k for k in logs if k not in self.history)]:
            self.history.setdefault(key, [math.nan] * (len(self.epochs) - 1)).append(logs.get(key, math.nan))
        return False

    def to_dict(self) -> dict:
        """{"epochs": [...], "history": {...}}, JSON-able (stored in model files)."""
        return {"epochs": self.epochs, "history": self.history}

    @classmethod
    def from_dict(cls, d: dict) -> "History":
        """The History that to_dict described."""
        return cls(d.get("history"), d.get("epochs"))

    def write_csv(self, path: str | os.PathLike) -> None:
        """One row per epoch: "epoch" (counted from 1), then every logged name, sorted."""
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
        self._reset_best()

    def _reset_best(self) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch: int | None = None

    def _value(self, logs) -> float:
        if self.monitor not in logs:
            hint = (" (val_ values need validation_data or validation_split in fit)"
                    if self.monitor.startswith("val_") and not any(k.startswith("val_") for k in logs) else "")
            raise ValueError(f"{type(self).__name__}: monitor {self.monitor!r} is not among the logged values "
                             f"{sorted(logs)}{hint}")
        return logs[self.monitor]

    def _check(self, epoch, logs) -> bool:
        value = self._value(logs)
        if _improves(self.mode, value, self.best, self.min_delta):
            self.best, self.best_epoch = value, epoch
            return True
        return False


class ModelCheckpoint(_Monitor):
    """Save the model to `path` when the monitored value improves (or every epoch). As in Keras,
    `path` may name the epoch (from 1) and any logged value: "ck-{epoch:02d}-{val_loss:.3f}.safetensors"
    keeps one file per save.

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
        self._check_template(str(path))
        self.save_best_only = save_best_only
        self.include_optimizer = include_optimizer

    @staticmethod
    def _check_template(path: str) -> None:
        """A bad template fails here, not after the first epoch's training."""
        try:
            path.format_map(_AnyValue(epoch=1))
        except (ValueError, IndexError, TypeError, AttributeError) as e:
            raise ValueError(f"path {path!r}: not a valid name template ({e}); write '{{{{' for a literal brace")

    def filepath(self, epoch: int, logs) -> Path:
        """The file of a save at `epoch` (0-based), the template filled in."""
        template = str(self.path)
        if "{" not in template:
            return self.path
        try:
            return Path(template.format(epoch=epoch + 1, **logs))
        except KeyError as e:
            raise ValueError(f"ModelCheckpoint path {template!r} names {e.args[0]!r}, which is not among the "
                             f"logged values {sorted(logs)} (nor 'epoch')") from None

    def on_epoch_end(self, model, epoch, logs):
        if self._check(epoch, logs) or not self.save_best_only:
            model.save(self.filepath(epoch, logs), include_optimizer=self.include_optimizer)
        return False


class _AnyValue(dict):
    """format_map filler: every name is a number, so only the template's syntax is checked."""

    def __missing__(self, key):
        return 0.0


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


class ReduceLROnPlateau(_Monitor):
    """Multiply the optimizer's learning rate by `factor` (not below `min_lr`) when the monitored
    value has not improved by more than `min_delta` for `patience` epochs in a row; Keras's
    arguments and defaults. Counting as EarlyStopping's: patience=2 reduces after the second epoch
    without improvement, 0 after every such epoch. The `cooldown` epochs after a reduction count
    as no bad epochs (an improvement still sets the best), as Keras documents it and torch's
    ReduceLROnPlateau does; Keras's code counts the last cooldown epoch already (cooldown=1 acts
    as 0 there).

    The new rate is the optimizer's own `lr`, so later epochs train with it and a model saved
    afterwards keeps it (rnnkit.load resumes at the reduced rate; this callback's counters, like
    EarlyStopping's, start afresh with every fit). List it before a ModelCheckpoint for the file
    of an epoch to hold the rate that the next epoch trains with. An optimizer whose lr is a
    schedule is refused when fit starts: the schedule fixes every epoch's rate (Keras refuses the
    same)."""

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10, mode: str = "auto",
                 min_delta: float = 1e-4, cooldown: int = 0, min_lr: float = 0.0):
        if not 0 <= checks.real("min_delta", min_delta) < math.inf:
            raise ValueError(f"min_delta must be a number >= 0, got {min_delta!r}")
        super().__init__(monitor, mode, float(min_delta))
        if not 0 < checks.real("factor", factor) < 1:
            raise ValueError(f"factor must lie in (0, 1): the new rate is lr · factor; got {factor!r}")
        if not 0 <= checks.real("min_lr", min_lr) < math.inf:
            raise ValueError(f"min_lr must be a number >= 0, got {min_lr!r}")
        self.factor, self.min_lr = float(factor), float(min_lr)
        self.patience = checks.integer("patience", patience, least=0)
        self.cooldown = checks.integer("cooldown", cooldown, least=0)
        self.wait = self.cooldown_counter = 0

    def on_train_begin(self, model):
        optimizer = _optimizer_of(model)
        if callable(optimizer.lr):
            raise ValueError(
                f"ReduceLROnPlateau sets the learning rate, but this optimizer's lr is the schedule "
                f"{optimizer.lr!r}, which fixes the rate of every epoch; compile with a number as lr, "
                "or keep the schedule and leave this callback out")
        self._reset_best()
        self.wait = self.cooldown_counter = 0

    def on_epoch_end(self, model, epoch, logs):
        cooling = self.cooldown_counter > 0
        if cooling:
            self.cooldown_counter -= 1
        if self._check(epoch, logs):
            self.wait = 0
        elif not cooling:
            self.wait += 1
            if self.wait >= self.patience:
                self._reduce(_optimizer_of(model))
        return False

    def _reduce(self, optimizer) -> None:
        if optimizer.lr <= self.min_lr:  # at the floor: no reduction, so no cooldown (as Keras)
            return
        optimizer.lr = max(optimizer.lr * self.factor, self.min_lr)
        self.wait, self.cooldown_counter = 0, self.cooldown


def _optimizer_of(model):
    compiled = getattr(model, "compiled", None)
    if compiled is None:
        raise RuntimeError("ReduceLROnPlateau needs a compiled model: call compile(...) first")
    return compiled.optimizer


class CSVLogger(Callback):
    """Write each epoch's logs to a CSV file as the epoch ends (so the file can be watched, and
    holds every finished epoch if training dies): the columns of History.write_csv, i.e. epoch
    (counted from 1) and the logged names, sorted. append=False starts the file afresh with every
    fit; append=True adds to it (a resumed run), refusing logs whose columns differ from the file's."""

    def __init__(self, path: str | os.PathLike, separator: str = ",", append: bool = False):
        self.path = Path(path)
        self.separator = separator
        self.append = append
        self.header: list[str] | None = None  # the file's first row, once known
        self._header_written = False

    def on_train_begin(self, model):
        self.header, self._header_written = None, False
        if self.append and self.path.exists() and self.path.stat().st_size > 0:
            with open(self.path, newline="") as f:
                self.header, self._header_written = next(csv.reader(f, delimiter=self.separator)), True
        else:
            self.path.write_text("")

    def on_epoch_end(self, model, epoch, logs):
        header = ["epoch", *sorted(logs)]
        if self.header is None:
            self.header = header
        elif header != self.header:
            raise ValueError(f"CSVLogger: this epoch logs the columns {header}, but {os.fspath(self.path)!r} "
                             f"has {self.header}; log to another file, or pass append=False")
        # opened per epoch: every finished row is on disk, and no handle outlives a failed fit
        with open(self.path, "a", newline="") as f:
            writer = csv.writer(f, delimiter=self.separator)
            if not self._header_written:
                writer.writerow(self.header)
                self._header_written = True
            writer.writerow([epoch + 1, *(logs[k] for k in self.header[1:])])
        return False
