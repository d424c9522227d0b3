"""Commands: diagnose RUN_OR_TASK (gradient flow through time, gate saturation), gradcheck TASK_OR_RUN.

    rnnkit diagnose adding --length 200 --compare          # fresh rnn / lstm / gru side by side
    rnnkit diagnose adding --cell rnn --recurrent-scale 3 --no-clip    # exploding
    rnnkit diagnose runs/adding-20250101-120000             # a trained run
    rnnkit gradcheck names --hidden 8
"""

from __future__ import annotations

import math
from enum import Enum
from pathlib import Path
from typing import Optional

import numpy as np
import typer

from rnnkit import Sequential, diagnostics
from rnnkit.cli import runs
from rnnkit.cli.app import app
from rnnkit.cli.train import Cell, SplitName, _console, _parse_task_options, _task_options, _value
from rnnkit.diagnostics.reinit import reinitialize
from rnnkit.tasks import Split


class Init(str, Enum):
    keras = "keras"
    torch = "torch"


class LossAt(str, Enum):
    all = "all"
    last = "last"


class BackendName(str, Enum):
    auto = "auto"
    fast = "fast"
    reference = "reference"


def _finite(value: float | None) -> float | None:
    """A float option that has no range still needs a number: `inf` scales every W_h to inf and
    NaN weights, and a gradcheck --tolerance of inf (or NaN, which no range check catches) passes anything."""
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"must be a finite number, got {value}")
    return value


def _batch(part, size: int):
    n = min(size, len(part))
    lengths = None if part.lengths is None else np.asarray(part.lengths)[:n]
    if lengths is not None:  # trim padding that no sequence of this batch uses
        return part.x[:n, : lengths.max()], _trim_y(part.y[:n], lengths.max()), lengths
    return part.x[:n], part.y[:n], None


def _model_batch(task, model, part, size: int):
    """(x, y, lengths) of the first `size` examples as `model` reads them: a seq2seq task packs
    source and target ids for its EncoderDecoder (which reads the lengths from the padding),
    as its fit and evaluate do; every other task's split is the model input as it stands."""
    if not hasattr(task, "packed"):
        return _batch(part, size)
    n = min(size, len(part))
    extra = {key: part.extra[key][:n] for key in ("source_ids", "target_ids")}
    x, y = task.packed(model, Split(part.x[:n], part.y[:n], None, extra))
    return x, y, None


def _trim_y(y, T):
    y = np.asarray(y)
    return y[:, :T] if y.ndim >= 2 and y.shape[1] > T else y


def _task_models(task_name, cells, hidden, length, option, seed, no_clip, batch):
    """(task, data, {label: model}) of freshly initialised task models, one per cell."""
    task = runs.task_of_argument(task_name)
    given = _task_options(option)
    if length is not None:
        given["length"] = length
    if "samples" in {o.name for o in task.options} and "samples" not in given:
        given["samples"] = batch  # no need to generate a whole training set
    options = _parse_task_options(task, given)
    data = task.load(options, seed=seed)
    models = {}
    for cell in cells or [task.hparams(options).cell]:
        hp = task.hparams(options, cell=cell, hidden=hidden, seed=seed)
        if no_clip:
            hp = hp.replace(clipnorm=None, clipvalue=None)
        models[cell] = task.build_model(hp, data.meta)
    return task, data, models


# The gate whose opening carries the gradient back through time in each gated cell: the LSTM's
# c_t = f ⊙ c_{t-1} + …, the GRU's h_t = z ⊙ h_{t-1} + (1 − z) ⊙ n.
MEMORY_GATES = {"f": "forget gate f", "z": "update gate z"}


def _untrained_note(flows: dict[str, diagnostics.GradientFlow]) -> str:
    """What the verdicts of fresh models do not say: untrained gates sit mid-range, so a fresh
    LSTM or GRU can lose more gradient per step than a fresh tanh RNN (with orthogonal W_h); the
    gated cells' remedy is that training can open those gates."""
    means = [f"{name} {MEMORY_GATES[gate]} {mean:.2f}"
             for name, flow in flows.items() for stats in flow.gates[:1]
             for gate, (mean, _) in stats.overall().items() if gate in MEMORY_GATES]
    note = "note: fresh, untrained weights — a verdict describes this initialisation, not what the cell can learn."
    if means:
        note += (f" Untrained gates sit mid-range (mean {', '.join(means)}), so the gated memory path keeps "
                 "only about that share of the gradient per step. LSTM and GRU remedy vanishing gradients "
                 "because training can open these gates (f, z → 1); a tanh RNN has no such gate. "
                 "Diagnose a trained run (rnnkit diagnose RUN_FOLDER) to see it.")
    return note


def _jsonable_flow(flow: diagnostics.GradientFlow) -> dict:
    return {
        "loss": flow.loss, "global_norm": flow.global_norm, "params": flow.params,
        "clipnorm": flow.clipnorm, "clipvalue": flow.clipvalue, "verdicts": flow.verdicts(),
        "states": [{"label": s.label, "cell": s.cell, "direction": s.direction,
                    "ratio": {k: s.ratio(k) for k in s.norms}, "norms": {k: v.tolist() for k, v in s.norms.items()}}
                   for s in flow.states],
        "gates": [{"label": g.label, "cell": g.cell, "direction": g.direction,
                   "mean": {k: v.tolist() for k, v in g.mean.items()},
                   "saturation": {k: v.tolist() for k, v in g.saturation.items()}} for g in flow.gates],
    }


@app.command()
def diagnose(
    run_or_task: str = typer.Argument(..., help="a run folder written by `rnnkit train`, or a task name"),
    cell: Optional[list[Cell]] = typer.Option(None, "--cell", help="with a task: the cell; repeat to compare"),
    compare: bool = typer.Option(False, "--compare", help="with a task: compare rnn, lstm and gru"),
    hidden: Optional[int] = typer.Option(None, "--hidden", "-H", min=1, help="with a task: hidden units"),
    length: Optional[int] = typer.Option(None, "--length", "-T", min=2, help="adding / copy: time steps T"),
    init: Optional[Init] = typer.Option(None, help="re-initialise the recurrent layers: keras (orthogonal "
                                        "W_h) or torch (uniform ±1/√H)"),
    forget_bias: Optional[float] = typer.Option(None, callback=_finite, help="LSTM forget-gate bias (e.g. 1)"),
    recurrent_scale: float = typer.Option(1.0, min=1e-6, callback=_finite,
                                          help="multiply every W_h by this (> 1: exploding)"),
    no_clip: bool = typer.Option(False, "--no-clip", help="with a task: compile without gradient clipping"),
    batch: int = typer.Option(32, "--batch", "-b", min=1, help="examples in the diagnosed batch"),
    split: SplitName = typer.Option(SplitName.val, help="which split the batch comes from"),
    seed: int = typer.Option(0, min=0, help="seed of the data and of the fresh weights"),
    margin: float = typer.Option(0.1, min=0.001, max=0.499, help="gate saturation margin"),
    loss_at: LossAt = typer.Option(LossAt.all, help="all: the whole loss; last: only the last step's loss "
                                   "term (models with an output at every step)"),
    out: Optional[str] = typer.Option(None, "--out", metavar="<path>", help="folder for the PNGs (default "
                                      "RUN/diagnostics or runs/diagnose-<task>-<time>)"),
    option: Optional[list[str]] = typer.Option(None, "--option", "-o", help="task option KEY=VALUE"),
) -> None:
    """Plot ‖∂L/∂h_t‖ against t (log scale) and the gate saturation of a trained run or of fresh
    task models, and say whether the gradient vanishes or explodes through time."""
    path = Path(run_or_task)
    out = runs.folder_option(out)
    trained = runs.names_a_run(run_or_task)
    if trained:
        task, options, hp, meta, model = runs.load_run(path)
        data = task.load(options, seed=hp.seed)
        models = {f"{hp.cell} (trained)": model}
        folder = out if out is not None else path / "diagnostics"
    else:
        cells = ["rnn", "lstm", "gru"] if compare else [c.value for c in cell or []]
        task, data, models = _task_models(run_or_task, cells, hidden, length, option, seed, no_clip, batch)
        folder = out if out is not None else runs.default_folder(f"diagnose-{task.name}")
    for model in models.values():
        if not isinstance(model, Sequential):
            raise ValueError(f"diagnose walks the layers of a Sequential model; {task.name} builds a "
                             f"{type(model).__name__} (`rnnkit gradcheck` works with it)")
    if init is not None or forget_bias is not None or recurrent_scale != 1.0:
        for model in models.values():
            reinitialize(model, init=_value(init), forget_bias=forget_bias, recurrent_scale=recurrent_scale,
                         seed=seed)
    runs.writable_folder(folder)
    x, y, lengths = _batch(task.split(data, split.value), batch)
    flows = {name: diagnostics.gradient_flow(model, x, y, lengths, margin=margin, loss_at=loss_at.value)
             for name, model in models.items()}

    from rnnkit.diagnostics.plots import plot_gate_saturation, plot_gradient_flow

    T = x.shape[1]
    plot_gradient_flow(flows, folder / "gradient_flow.png",
                       f"{task.name}: gradient flow through time (T = {T}; ratio = first / last read step)")
    plot_gate_saturation({k: f.gates for k, f in flows.items()}, folder / "gate_saturation.png",
                         f"{task.name}: gates (T = {T})")
    text = "\n\n".join(f"== {name} ==\n{flow.summary()}" for name, flow in flows.items())
    if len(flows) > 1:
        rows = [f"{name:<16} ‖∂L/∂h‖ first/last {flow.ratio():.1e}  {flow.states[0].verdict()}"
                for name, flow in flows.items()]
        rule = next(iter(flows.values()))
        text += (f"\n\ncomparison (first recurrent unit of each model; vanishing below {rule.vanishing:.0e}, "
                 f"exploding above {rule.exploding:.0e}, else stable):\n" + "\n".join(rows))
    if not trained:
        text += "\n\n" + _untrained_note(flows)
    (folder / "summary.txt").write_text(text + "\n", encoding="utf-8")
    runs.write_json(folder / "gradient_flow.json", {k: _jsonable_flow(f) for k, f in flows.items()})
    console = _console()
    console.print(f"{task.name}: batch of {len(x)} from {split.value}, T = {T}")
    console.print(text)
    console.print(f"wrote gradient_flow.png, gate_saturation.png, summary.txt, gradient_flow.json to {folder}")


@app.command("gradcheck")
def gradcheck_command(
    task_or_run: str = typer.Argument(..., help="a task name, or a run folder written by `rnnkit train`"),
    cell: Optional[Cell] = typer.Option(None, help="with a task: the cell"),
    hidden: Optional[int] = typer.Option(None, "--hidden", "-H", min=1, help="with a task: hidden units"),
    length: Optional[int] = typer.Option(None, "--length", "-T", min=2, help="adding / copy: time steps T"),
    batch: int = typer.Option(4, "--batch", "-b", min=1, help="examples in the checked batch"),
    entries: int = typer.Option(20, min=1, help="entries checked per parameter (chosen at random)"),
    tolerance: float = typer.Option(1e-5, min=0.0, callback=_finite,
                                    help="largest relative error that passes (so does an absolute "
                                         "error <= 1e-9: a gradient that is zero up to round-off)"),
    backend: BackendName = typer.Option(BackendName.auto, help="cell implementation to check"),
    seed: int = typer.Option(0, min=0, help="seed of the data, the weights and the checked entries"),
    option: Optional[list[str]] = typer.Option(None, "--option", "-o", help="task option KEY=VALUE"),
) -> None:
    """Check the hand-written gradients of a task's model (or a trained run) against central
    differences in float64; worst relative error per parameter; exit status 1 on failure."""
    path = Path(task_or_run)
    if runs.names_a_run(task_or_run):
        task, options, hp, meta, model = runs.load_run(path)
        data = task.load(options, seed=hp.seed)
    else:
        task, data, models = _task_models(task_or_run, [_value(cell)] if cell else [], hidden, length, option,
                                          seed, False, batch)
        (model,) = models.values()
    x, y, lengths = _model_batch(task, model, task.split(data, "val"), batch)
    report = diagnostics.gradcheck(model, x, y, lengths, max_entries=entries, tolerance=tolerance,
                                   backend=backend.value, seed=seed, raise_on_failure=False)
    typer.echo(f"{task.name}: {model.count_params():,} parameters, batch of {len(x)}, T = {np.shape(x)[1]}")
    typer.echo(report.summary())
    if not report.ok:
        typer.echo(f"Error: {report.failure_message()}", err=True)
        raise typer.Exit(1)
