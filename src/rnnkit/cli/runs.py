"""A training run and its folder.

``train_run`` loads a task's data, builds its model, trains it while ModelCheckpoint keeps the
weights of the best validation epoch, reloads those best weights, scores them on the held-out
test set and writes the folder::

    model.safetensors      the best checkpoint (weights, architecture, optimizer, history)
    config.json            task, task options, hyperparameters, task meta, command, versions
    history.csv            one row per epoch: loss, metrics, val_loss, val_metrics
    curves.png             loss / metric curves, training and validation
    confusion_matrix.png   classifiers only: the test set's confusion matrix
    results.json           held-out (test) metrics of the best checkpoint, best epoch, timing
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

import rnnkit
from rnnkit import tasks as task_registry
from rnnkit.metrics import confusion_matrix
from rnnkit.tasks import HParams, Task
from rnnkit.training import EarlyStopping, ModelCheckpoint

MODEL_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
HISTORY_FILE = "history.csv"
CURVES_FILE = "curves.png"
CONFUSION_FILE = "confusion_matrix.png"
RESULTS_FILE = "results.json"


def default_folder(task_name: str, root: Path = Path("runs")) -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    folder, k = root / f"{task_name}-{stamp}", 1
    while folder.exists():
        folder, k = root / f"{task_name}-{stamp}-{k}", k + 1
    return folder


def prepare_folder(folder: Path) -> Path:
    """Create `folder` and check that it can be written; OSError with a one-line reason if not."""
    if (folder / CONFIG_FILE).exists():
        raise OSError(f"output folder {folder} already holds a run; choose another --out")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".rnnkit-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise OSError(f"cannot write to the output folder {folder}: {e.strerror or e}") from None
    return folder


def write_json(path: Path, obj) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, default=_jsonable) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def read_run(folder: str | os.PathLike) -> tuple[Path, dict]:
    """(folder, config) of a run folder; ValueError if it is not one."""
    folder = Path(folder)
    config_path = folder / CONFIG_FILE
    if not config_path.is_file():
        raise ValueError(f"{folder} is not a run folder (no {CONFIG_FILE}); pass the folder `rnnkit train` wrote")
    config = json.loads(config_path.read_text(encoding="utf-8"))
    if not (folder / MODEL_FILE).is_file():
        raise ValueError(f"{folder} holds no {MODEL_FILE} (was the run interrupted before its first epoch?)")
    return folder, config


def load_run(folder: str | os.PathLike):
    """(task, options, hparams, meta, model) of a finished run."""
    folder, config = read_run(folder)
    task = task_registry.get(config["task"])
    options = task.parse_options(config["options"])
    hp = HParams().replace(**config["hparams"])
    model = rnnkit.load(folder / MODEL_FILE)
    return task, options, hp, config["meta"], model


def _curves_title(task: Task, hp: HParams) -> str:
    direction = "bidirectional " if hp.bidirectional else ""
    return f"{task.name}: {hp.layers} x {direction}{hp.cell.upper()}({hp.hidden})"


def train_run(task: Task, options: dict, hp: HParams, folder: Path, *, verbose: int = 1, log=print) -> dict:
    """Train `task` with `hp`, write every artifact into `folder`, return the results dict."""
    started = time.perf_counter()
    data = task.load(options, seed=hp.seed)
    model = task.build_model(hp, data.meta)
    config = {
        "task": task.name, "options": options, "hparams": hp.to_dict(), "monitor": task.monitor,
        "meta": data.meta, "rnnkit_version": rnnkit.__version__, "command": ["rnnkit", *sys.argv[1:]],
        "created": _dt.datetime.now().isoformat(timespec="seconds"),
        "sizes": {"train": len(data.train), "val": len(data.val), "test": len(data.test)},
        "params": model.count_params(),
    }
    write_json(folder / CONFIG_FILE, config)
    log(f"{task.name}: {len(data.train)} train / {len(data.val)} validation / {len(data.test)} test; "
        f"{model.count_params():,} parameters; run folder {folder}")

    model_path = folder / MODEL_FILE
    checkpoint = ModelCheckpoint(model_path, monitor=task.monitor, include_optimizer=True)
    callbacks = [checkpoint]
    if hp.patience is not None:
        callbacks.append(EarlyStopping(task.monitor, patience=hp.patience))
    fit_started = time.perf_counter()
    task.fit(model, data, hp, callbacks=callbacks, verbose=verbose)
    train_seconds = time.perf_counter() - fit_started
    if checkpoint.best_epoch is None:  # no epoch run (or the monitored value never finite)
        model.save(model_path)
    best = rnnkit.load(model_path)

    history = model.history
    history.write_csv(folder / HISTORY_FILE)
    if history.epochs:
        from rnnkit.cli.plots import plot_curves

        plot_curves(history.history, folder / CURVES_FILE, _curves_title(task, hp))
    test = task.evaluate(best, data, "test")
    results = {
        "task": task.name,
        "test": test,
        "best_epoch": None if checkpoint.best_epoch is None else checkpoint.best_epoch + 1,
        "monitor": task.monitor,
        "best_monitor_value": None if checkpoint.best_epoch is None else checkpoint.best,
        "epochs_run": len(history.epochs),
        "train_seconds": round(train_seconds, 1),
        "total_seconds": None,
        "params": model.count_params(),
    }
    classes = task.class_names(data.meta)
    if classes is not None:
        pair = task.predicted_classes(best, data, "test")
        if pair is not None:
            from rnnkit.cli.plots import plot_confusion

            matrix = confusion_matrix(np.asarray(pair[0], np.int64), np.asarray(pair[1], np.int64), len(classes))
            results["confusion_matrix"] = {"classes": list(classes), "counts": matrix.tolist()}
            plot_confusion(matrix, list(classes), folder / CONFUSION_FILE,
                           f"{task.name} test set: accuracy {np.trace(matrix) / max(matrix.sum(), 1):.3f}")
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    write_json(folder / RESULTS_FILE, results)
    return results
