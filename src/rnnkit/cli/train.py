"""Commands: tasks, train TASK, evaluate RUN, predict RUN INPUT..., summary RUN_OR_TASK."""

from __future__ import annotations

import os
import re
import shlex
import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from rnnkit import tasks as task_registry
from rnnkit.cli import runs
from rnnkit.cli.app import app
from rnnkit.tasks import UnknownTaskOption


class Cell(str, Enum):
    rnn = "rnn"
    lstm = "lstm"
    gru = "gru"


class OptimizerName(str, Enum):
    sgd = "sgd"
    rmsprop = "rmsprop"
    adam = "adam"
    adamw = "adamw"


class Batching(str, Enum):
    padded = "padded"
    bucket = "bucket"


class SplitName(str, Enum):
    train = "train"
    val = "val"
    test = "test"


def _value(choice):
    return None if choice is None else choice.value


def _console() -> Console:
    return Console(highlight=False, soft_wrap=True)


def _task_options(option: list[str] | None, **named) -> dict:
    """--subset etc. plus `-o KEY=VALUE` pairs -> {name: value} (None values dropped)."""
    given = {k: v for k, v in named.items() if v is not None}
    for item in option or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="'--option' / '-o'")
        given[key.strip().lstrip("-").replace("-", "_")] = value
    return given


def _format(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def _metrics_line(metrics: dict) -> str:
    return "  ".join(f"{k} {_format(v)}" for k, v in metrics.items())


def _headline(task, metrics: dict) -> str:
    """The one number a user looks for first."""
    accuracy = f"test accuracy ({task.accuracy_counts})" if task.accuracy_counts else "test accuracy"
    for key, label, percent in (("accuracy", accuracy, True), ("r2", "test R²", False), ("nll", "test NLL", False),
                                ("bits_per_char", "test bits per character", False)):
        if key in metrics:
            value = metrics[key]
            shown = f"{100 * value:.2f} %" if percent else f"{value:.4f}"
            extra = {"nll": " nats per frame"}
            for name, baseline in metrics.items():  # the text task's n-gram baseline, beside its score
                order = re.fullmatch(r"ngram(\d+)_bits_per_char", name)
                if order:
                    extra["bits_per_char"] = f" (order-{order[1]} n-gram: {baseline:.4f})"
            return f"{label}: {shown}" + extra.get(key, "")
    return f"test loss: {metrics.get('loss', float('nan')):.4f}"


# task options that `rnnkit train` has a flag of their own for; every other one is `-o KEY=VALUE`
TASK_FLAGS = ("subset", "horizon", "mode", "steps", "data")


def _task_option_text(option) -> str:
    value = "|".join(map(str, option.choices)) if option.choices else option.default
    name = option.name.replace("_", "-")
    return f"--{name} {value}" if option.name in TASK_FLAGS else f"-o {name}={value}"


def _parse_task_options(task, given: dict) -> dict:
    """task.parse_options(given), an unknown option reported with the options spelled as
    `rnnkit train` takes them (`--subset`, `-o split-seed=0`)."""
    try:
        return task.parse_options(given)
    except UnknownTaskOption as error:
        have = ", ".join(_task_option_text(o) for o in task.options) or "none"
        raise ValueError(f"task {task.name} has no option {', '.join(error.unknown)} (its options: {have})") from None


def _task_list() -> list[str]:
    lines = []
    for task in task_registry.TASKS.values():
        opts = ", ".join(_task_option_text(o) for o in task.options)
        predict = f"rnnkit predict RUN {shlex.join(task.predict_example)}" if task.predict_example else ""
        lines.append(f"{task.name:<20}{task.pattern}")
        for label, text in (("data", task.data), ("size", task.size), ("options", opts), ("predict", predict),
                            ("reference", task.reference)):
            if text:
                lines.append(f"{'':<4}{label + ':':<11}{text}")
    return lines


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so that flushing it at exit cannot raise EPIPE again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _best_epoch_text(results: dict) -> str:
    """'best epoch 7 of 10', or what was kept when no epoch was best (results.json's best_epoch is None)."""
    if results["best_epoch"] is not None:
        return f"best epoch {results['best_epoch']} of {results['epochs_run']}"
    if results["epochs_run"] == 0:
        return "no epoch run, the untrained model kept"
    return f"{results['monitor']} never finite in {results['epochs_run']} epochs, the last weights kept"


@app.command("tasks")
def list_tasks() -> None:
    """List the built-in tasks: pattern, data, size, task options, a `predict` example and the
    reference result."""
    try:
        typer.echo("\n".join(_task_list()))
        sys.stdout.flush()
    except BrokenPipeError:  # `rnnkit tasks | head`: the reader has what it wanted; not an error
        _quiet_stdout()


@app.command()
def train(
    task: str = typer.Argument(..., help="task name (see `rnnkit tasks`)"),
    cell: Optional[Cell] = typer.Option(None, help="recurrent cell: rnn, lstm or gru"),
    hidden: Optional[int] = typer.Option(None, "--hidden", "-H", min=1, help="hidden units per layer and direction"),
    layers: Optional[int] = typer.Option(None, min=1, help="stacked recurrent layers"),
    bidirectional: Optional[bool] = typer.Option(None, "--bidirectional/--unidirectional", help="read both ways"),
    dropout: Optional[float] = typer.Option(None, min=0.0, max=0.99, help="dropout between layers and before the output"),
    input_dropout: Optional[float] = typer.Option(None, min=0.0, max=0.99, help="dropout on every step's inputs"),
    epochs: Optional[int] = typer.Option(None, "--epochs", "-e", min=0, help="training epochs"),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", "-b", min=1, help="examples per batch"),
    lr: Optional[float] = typer.Option(None, "--lr", help="learning rate"),
    lr_decay: Optional[float] = typer.Option(None, min=0.0, max=1.0, help="multiply the learning rate by this every epoch"),
    optimizer: Optional[OptimizerName] = typer.Option(None, help="sgd, rmsprop, adam or adamw"),
    weight_decay: Optional[float] = typer.Option(None, min=0.0, help="weight decay: decoupled for adamw, L2 for the other optimizers"),
    clipnorm: Optional[float] = typer.Option(None, help="clip gradients to this global norm"),
    clipvalue: Optional[float] = typer.Option(None, help="clip each gradient entry to ±value"),
    no_clip: bool = typer.Option(False, "--no-clip", help="no gradient clipping at all"),
    weight_noise: Optional[float] = typer.Option(None, min=0.0, help="std of Gaussian noise on the weights while training"),
    ema: Optional[float] = typer.Option(None, min=0.0, max=0.999999,
                                        help="average the weights, decaying by this per update (e.g. 0.999; 0: off); "
                                             "validation, checkpoints and the final model use the average"),
    seed: Optional[int] = typer.Option(None, min=0, help="seed of initialisation, shuffling, validation split"),
    out: Optional[str] = typer.Option(None, "--out", metavar="<path>", help="run folder (default runs/<task>-<time>)"),
    batching: Optional[Batching] = typer.Option(None, help="padded (with lengths) or bucket (by length)"),
    patience: Optional[int] = typer.Option(None, min=0, help="early stopping: epochs without improvement"),
    embedding: Optional[int] = typer.Option(None, min=1, help="embedding width: sentiment, text, numbers, dates"),
    subset: Optional[str] = typer.Option(None, help="names: aiedu10 or all18"),
    horizon: Optional[int] = typer.Option(None, help="pm25: hours ahead"),
    mode: Optional[str] = typer.Option(None, help="pm25: regression or classification"),
    steps: Optional[int] = typer.Option(None, help="pm25: hours per input window; text: characters per window"),
    data: Optional[str] = typer.Option(None, help="pm25: CSV path; mnist-rows: folder with the full MNIST files"),
    option: Optional[list[str]] = typer.Option(None, "--option", "-o", help="other task option KEY=VALUE"),
    verbose: int = typer.Option(1, "--verbose", "-v", min=0, max=2,
                                help="0 only the result lines, 1 progress bar, 2 a line per epoch"),
) -> None:
    """Train TASK with its defaults (override any of them), keep the best validation checkpoint,
    and report its held-out test metrics."""
    the_task = task_registry.get(task)
    options = _parse_task_options(
        the_task, _task_options(option, subset=subset, horizon=horizon, mode=mode, steps=steps, data=data)
    )
    overrides = dict(cell=_value(cell), hidden=hidden, layers=layers, bidirectional=bidirectional, dropout=dropout,
                     input_dropout=input_dropout, epochs=epochs, batch_size=batch_size, lr=lr,
                     lr_decay=lr_decay, optimizer=_value(optimizer), weight_decay=weight_decay,
                     clipnorm=clipnorm, clipvalue=clipvalue, weight_noise=weight_noise, ema=ema, seed=seed,
                     batching=_value(batching), patience=patience, embedding=embedding)
    hp = the_task.hparams(options, **overrides)
    if no_clip:
        hp = hp.replace(clipnorm=None, clipvalue=None)
    out = runs.folder_option(out)
    folder = out if out is not None else runs.default_folder(the_task.name)  # created by train_run
    console = _console()
    say = (lambda text: console.print(text)) if verbose else (lambda text: None)
    shown = _metrics_line({k: v for k, v in options.items() if v is not None})
    headline = (f"training {the_task.name}{f' ({shown})' if shown else ''} "
                f"with {hp.cell} hidden={hp.hidden} layers={hp.layers} bidirectional={hp.bidirectional} "
                f"dropout={hp.dropout} epochs={hp.epochs} batch={hp.batch_size} lr={hp.lr} {hp.optimizer} "
                f"clipnorm={hp.clipnorm}"
                + (f" weight_decay={hp.weight_decay}" if hp.optimizer.lower() == "adamw" or hp.weight_decay else "")
                + (f" ema={hp.ema}" if hp.ema is not None else ""))
    results = runs.train_run(the_task, options, hp, folder, verbose=verbose, log=say, headline=headline)
    console.print(f"{_best_epoch_text(results)} ({results['train_seconds']:.0f} s); "
                  f"test: {_metrics_line(results['test'])}")
    console.print(f"{_headline(the_task, results['test'])}   (run folder: {folder})")


@app.command()
def evaluate(
    run: Path = typer.Argument(..., help="a run folder written by `rnnkit train`"),
    split: SplitName = typer.Option(SplitName.test, help="which split to score"),
) -> None:
    """Score a trained run on its task's held-out test set (or another split)."""
    split = split.value
    task, options, hp, meta, model = runs.load_run(run)
    data = task.load(options, seed=hp.seed)
    metrics = task.evaluate(model, data, split)
    console = _console()
    console.print(f"{task.name} ({split}, {len(task.split(data, split))} examples): {_metrics_line(metrics)}")
    if split == "test":
        console.print(_headline(task, metrics))


@app.command()
def predict(
    run: Path = typer.Argument(..., help="a run folder written by `rnnkit train`"),
    inputs: list[str] = typer.Argument(..., help="inputs, e.g. surnames for names; `rnnkit tasks` shows an example per task"),
    top: int = typer.Option(3, "--top", "-k", min=1, help="how many classes to show"),
) -> None:
    """Run a trained model on inputs typed on the command line (one output line per input)."""
    for text in inputs:
        # `rnnkit predict runs/names-* Nakamura` once names was trained twice: the shell hands
        # over two run folders, and the second would be read as a name
        if (Path(text) / runs.CONFIG_FILE).is_file():
            raise typer.BadParameter(f"{text} is a run folder too; predict reads one run folder (a pattern such as "
                                     f"runs/names-* matches every run of the task: name one)", param_hint="'RUN'")
    task, options, hp, meta, model = runs.load_run(run)
    for line in task.predict(model, inputs, meta, top_k=top):
        typer.echo(line)


@app.command()
def summary(
    run_or_task: str = typer.Argument(..., help="a run folder, a model file or a task name"),
    cell: Optional[Cell] = typer.Option(None, help="with a task name: the cell"),
    hidden: Optional[int] = typer.Option(None, "--hidden", "-H", min=1, help="with a task name: hidden units"),
    layers: Optional[int] = typer.Option(None, min=1, help="with a task name: layers"),
    bidirectional: Optional[bool] = typer.Option(None, "--bidirectional/--unidirectional"),
    option: Optional[list[str]] = typer.Option(None, "--option", "-o", help="task option KEY=VALUE"),
) -> None:
    """Layers, output shapes and parameter counts of a trained run or of a task's default model."""
    import rnnkit

    path = Path(run_or_task)
    console = _console()
    if runs.names_a_run(run_or_task):
        task, options, hp, meta, model = runs.load_run(path)
        console.print(", ".join([f"run {path}: task {task.name}", *filter(None, [_metrics_line(options)])]))
        model.summary(print_fn=console.print)
        results = runs.read_results(path)
        if results is None:
            console.print(f"no {runs.RESULTS_FILE}: training did not finish (the model is its best checkpoint)")
        else:
            console.print(f"{_best_epoch_text(results)}; test: {_metrics_line(results['test'])}")
        return
    if path.is_file():
        rnnkit.load(path).summary(print_fn=console.print)
        return
    task = runs.task_of_argument(run_or_task)
    options = _parse_task_options(task, _task_options(option))
    hp = task.hparams(options, cell=_value(cell), hidden=hidden, layers=layers, bidirectional=bidirectional)
    data = task.load(options, seed=hp.seed)
    model = task.build_model(hp, data.meta)
    console.print(f"task {task.name}: default model ({task.pattern})")
    model.summary(print_fn=console.print)
