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

The folder is created only once the task's data are loaded and its model built, so a bad task
option leaves nothing behind. Ctrl-C during training keeps the best checkpoint so far, writes
history.csv and curves.png of the epochs run and raises ``Interrupted`` saying so (no
results.json: the run has no test score); so does Ctrl-C after training, while the test set is
scored. Every file is written whole or not at all (through a temporary file).
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import typer

import rnnkit
from rnnkit import tasks as task_registry
from rnnkit._atomic import write_atomically
from rnnkit.cli.app import Interrupted
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


def refuse_a_run(folder: Path) -> None:
    """OSError if `folder` already holds a run (never overwrite one)."""
    if (folder / CONFIG_FILE).exists():
        raise OSError(f"output folder {folder} already holds a run; choose another --out")


def prepare_folder(folder: Path) -> Path:
    """Create `folder` and check that it can be written; OSError with a one-line reason if not."""
    refuse_a_run(folder)
    return writable_folder(folder)


def writable_folder(folder: Path) -> Path:
    """Create `folder` (and its parents) and check that it can be written; OSError with a
    one-line reason if not (mkdir's "[Errno 17] File exists: 'x'" would not say which path is a file)."""
    for candidate in (*reversed(folder.parents), folder):
        if candidate.exists() and not candidate.is_dir():
            raise OSError(f"cannot write to the output folder {folder}: {candidate} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".rnnkit-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise OSError(f"cannot write to the output folder {folder}: {e.strerror or e}") from None
    return folder


def folder_option(value: str | None, option: str = "--out") -> Path | None:
    """The Path of a folder option, refusing an empty one: Path("") is ".", so `--out "$UNSET"`
    would drop a run's files among whatever the working directory holds."""
    if value is None:
        return None
    if not value.strip():
        raise typer.BadParameter("is empty; name a folder (e.g. runs/my-run)", param_hint=f"'{option}'")
    return Path(value)


def write_json(path: Path, obj) -> None:
    """Atomically; a non-finite number is written as null (standard JSON has no NaN or Infinity,
    which Python's json would write and jq or JavaScript's JSON.parse reject)."""
    text = json.dumps(_finite_or_null(obj), indent=2, default=_jsonable, allow_nan=False) + "\n"
    write_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _finite_or_null(value):
    if isinstance(value, dict):
        return {k: _finite_or_null(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_finite_or_null(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


# The entries of config.json that load_run reads (results.json: that summary reads), and their JSON types.
CONFIG_ENTRIES = {"task": str, "options": dict, "hparams": dict, "meta": dict}
RESULTS_ENTRIES = {"test": dict, "best_epoch": (int, type(None)), "epochs_run": int, "monitor": str}
_JSON_TYPES = {dict: "an object", list: "an array", str: "a string", int: "a number", float: "a number",
               bool: "true or false", type(None): "null"}


def _json_type(value) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def read_json_object(path: Path, entries: dict) -> dict:
    """The JSON object in `path` with `entries` ({key: type(s)}); ValueError naming the file and
    what is wrong otherwise (a KeyError deep in a command would say neither)."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as e:  # JSONDecodeError, UnicodeDecodeError
        raise ValueError(f"{path} is damaged: not valid JSON ({e})") from None
    if not isinstance(value, dict):
        raise ValueError(f"{path} is damaged: expected a JSON object, got {_json_type(value)}")
    for key, kind in entries.items():
        if key not in value:
            raise ValueError(f"{path} is damaged: it has no {key!r} entry")
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if not isinstance(value[key], kinds) or isinstance(value[key], bool) and bool not in kinds:
            wanted = " or ".join(_json_type(k()) for k in kinds)
            raise ValueError(f"{path} is damaged: {key!r} must be {wanted}, got {_json_type(value[key])}")
    return value


def names_a_run(run_or_task: str) -> bool:
    """Whether a RUN_OR_TASK argument is a run folder rather than a task name: an existing folder,
    unless it is named like a task and holds no run (a folder `text/` or `names/` in the working
    directory must not hide the task of that name)."""
    path = Path(run_or_task)
    if not path.is_dir():
        return False
    return run_or_task not in task_registry.TASKS or (path / CONFIG_FILE).is_file()


def task_of_argument(run_or_task: str) -> Task:
    """The task named by a RUN_OR_TASK argument that is not an existing path. A missing run
    folder (a typo in `runs/names-...`) is reported as such, not as an unknown task name."""
    if run_or_task not in task_registry.TASKS and ("/" in run_or_task or os.sep in run_or_task):
        raise ValueError(f"{run_or_task} does not exist: expected a run folder written by `rnnkit train` "
                         f"or a task name (see `rnnkit tasks`)")
    return task_registry.get(run_or_task)


def read_run(folder: str | os.PathLike) -> tuple[Path, dict]:
    """(folder, config) of a run folder; ValueError if it is not one or its config.json is damaged."""
    folder = Path(folder)
    config_path = folder / CONFIG_FILE
    if not folder.exists():
        raise ValueError(f"{folder} is not a run folder (it does not exist); pass the folder `rnnkit train` wrote")
    if not config_path.is_file():
        raise ValueError(f"{folder} is not a run folder (no {CONFIG_FILE}); pass the folder `rnnkit train` wrote")
    config = read_json_object(config_path, CONFIG_ENTRIES)
    if not (folder / MODEL_FILE).is_file():
        raise ValueError(f"{folder} holds no {MODEL_FILE} (was the run interrupted before its first epoch?)")
    return folder, config


def load_run(folder: str | os.PathLike):
    """(task, options, hparams, meta, model) of a run (the best checkpoint, even of an interrupted run)."""
    folder, config = read_run(folder)
    try:
        task = task_registry.get(config["task"])
        options = task.parse_options(config["options"])
        hp = HParams().replace(**config["hparams"])
    except (ValueError, TypeError) as e:
        raise ValueError(f"{folder / CONFIG_FILE}: {e}") from None
    model = rnnkit.load(folder / MODEL_FILE)
    _check_model_matches_config(folder, task, hp, config["meta"], model)
    return task, options, hp, config["meta"], model


def _check_model_matches_config(folder: Path, task: Task, hp: HParams, meta, model) -> None:
    """The model file must be the model config.json describes: one copied in from another run
    would otherwise fail deep inside the task's encoding ("x must have 29 features ...")."""
    try:
        expected = {k: v.shape for k, v in task.build_model(hp, meta).params.items()}
    except (ValueError, TypeError, KeyError) as e:
        raise ValueError(f"{folder / CONFIG_FILE}: cannot build the model it describes ({e})") from None
    held = {k: v.shape for k, v in model.params.items()}
    if held != expected:
        differ = sorted(set(held) ^ set(expected)) or sorted(k for k in held if held[k] != expected[k])
        raise ValueError(f"{folder / MODEL_FILE} is not the {task.name} model that {CONFIG_FILE} describes "
                         f"(weights differ first at {differ[0]!r}); was it copied from another run?")


def read_results(folder: Path) -> dict | None:
    """results.json of a run, None if it has none (training did not finish); ValueError if damaged."""
    path = folder / RESULTS_FILE
    return read_json_object(path, RESULTS_ENTRIES) if path.is_file() else None


def _curves_title(task: Task, hp: HParams) -> str:
    direction = "bidirectional " if hp.bidirectional else ""
    return f"{task.name}: {hp.layers} x {direction}{hp.cell.upper()}({hp.hidden})"


def _write_history(model, task: Task, hp: HParams, folder: Path) -> None:
    """history.csv and, once an epoch has run, curves.png; each through a temporary file, so that
    a Ctrl-C while writing leaves the whole file or none."""
    history = model.history
    write_atomically(folder / HISTORY_FILE, history.write_csv)
    if history.epochs:
        from rnnkit.cli.plots import plot_curves

        plot_curves(history.history, folder / CURVES_FILE, _curves_title(task, hp))


def _logs_in(folder: Path) -> list[str]:
    """The history files that `folder` holds (after Ctrl-C: those that were written in time)."""
    return [name for name in (HISTORY_FILE, CURVES_FILE) if (folder / name).is_file()]


def _interrupted(model, task: Task, hp: HParams, folder: Path, checkpoint: ModelCheckpoint) -> Interrupted:
    """After Ctrl-C in training: write the history of the epochs run, and say what the folder
    holds, so it is not mistaken for a finished run (it has no results.json). A second Ctrl-C
    (plotting takes a moment) skips what is left to write, but the message still comes."""
    done = len(model.history.epochs)
    try:
        _write_history(model, task, hp, folder)
    except KeyboardInterrupt:
        pass
    logs = _logs_in(folder)
    if checkpoint.best_epoch is None:
        return Interrupted(f"training interrupted after {done} of {hp.epochs} epochs, before any checkpoint; "
                           f"{folder} holds no model, only {' and '.join([CONFIG_FILE, *logs])}")
    return Interrupted(f"training interrupted after {done} of {hp.epochs} epochs; {folder} holds the best "
                       f"checkpoint so far (epoch {checkpoint.best_epoch + 1}, {task.monitor} {checkpoint.best:.4g})"
                       + (f" with {' and '.join(logs)} of the epochs run" if logs else "")
                       + f", but no test results ({RESULTS_FILE})")


def _interrupted_after_training(model, hp: HParams, folder: Path) -> Interrupted:
    """Ctrl-C once training is over, while the test set is scored and the plots drawn (minutes for
    a large test set): the model file is complete (saves are atomic), only results.json is missing."""
    done = f"{len(model.history.epochs)} of {hp.epochs} epochs"
    if not (folder / MODEL_FILE).is_file():
        return Interrupted(f"interrupted after training ({done}), before the model was saved; {folder} holds no model")
    logs = _logs_in(folder)
    return Interrupted(f"interrupted after training ({done}), while scoring the test set; {folder} holds the best "
                       f"checkpoint" + (f" and {' and '.join(logs)}" if logs else "")
                       + f" but no test results ({RESULTS_FILE}); "
                       f"`rnnkit evaluate {shlex.quote(str(folder))}` scores it")


def train_run(task: Task, options: dict, hp: HParams, folder: Path, *, verbose: int = 1, log=print,
              headline: str = "") -> dict:
    """Train `task` with `hp`, write every artifact into `folder`, return the results dict.

    The folder is created, and `headline` logged, after the data are loaded and the model built:
    those steps check the task options, and a failed check must neither leave an empty run folder
    behind nor follow a line announcing the training."""
    started = time.perf_counter()
    refuse_a_run(folder)  # before loading data for nothing
    data = task.load(options, seed=hp.seed)
    model = task.build_model(hp, data.meta)
    prepare_folder(folder)
    if headline:
        log(headline)
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
    # the run folder is a name, not a template: braces in --out are the folder's own characters
    literal = str(model_path).replace("{", "{{").replace("}", "}}")
    checkpoint = ModelCheckpoint(literal, monitor=task.monitor, include_optimizer=True)
    callbacks = [checkpoint]
    if hp.patience is not None:
        callbacks.append(EarlyStopping(task.monitor, patience=hp.patience))
    fit_started = time.perf_counter()
    try:
        task.fit(model, data, hp, callbacks=callbacks, verbose=verbose)
    except KeyboardInterrupt:
        raise _interrupted(model, task, hp, folder, checkpoint) from None
    train_seconds = time.perf_counter() - fit_started
    try:
        return _finish(task, data, hp, model, checkpoint, folder, train_seconds, started)
    except KeyboardInterrupt:
        raise _interrupted_after_training(model, hp, folder) from None


def _finish(task: Task, data, hp: HParams, model, checkpoint: ModelCheckpoint, folder: Path, train_seconds: float,
            started: float) -> dict:
    """After training: the best checkpoint scored on the test set, the plots and results.json."""
    model_path = folder / MODEL_FILE
    if checkpoint.best_epoch is None:  # no epoch run (or the monitored value never finite)
        model.save(model_path)
    best = rnnkit.load(model_path)

    history = model.history
    _write_history(model, task, hp, folder)
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
