"""Commands: generate RUN (sample text from a language-model run), translate RUN INPUT... (decode
with a seq2seq run: greedy, or the N best of a beam search with their scores; optionally the
attention matrix as a PNG)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import typer

from rnnkit.cli import runs
from rnnkit.cli.app import app


def _load(run: Path, verb: str, method: str):
    task, options, hp, meta, model = runs.load_run(run)
    if not hasattr(task, method):
        raise ValueError(f"`rnnkit {verb}` needs a run of a task that supports it (text for generate; "
                         f"numbers or dates for translate), got a {task.name} run")
    return task, meta, model


@app.command()
def generate(
    run: Path = typer.Argument(..., help="a run folder of the text task"),
    prefix: str = typer.Option("The ", "--prefix", "-p", help="text to continue"),
    length: int = typer.Option(300, "--length", "-n", min=0, help="characters to generate"),
    temperature: float = typer.Option(0.8, "--temperature", "-t", min=0.0,
                                      help="softmax temperature; 0 picks the most likely character"),
    top_k: Optional[int] = typer.Option(None, "--top-k", "-k", min=1, help="sample among the k most likely only"),
    seed: int = typer.Option(0, "--seed", min=0, help="seed of the sampling"),
) -> None:
    """Continue PREFIX with a trained character-level language model, each generated character
    fed back as the next input."""
    task, meta, model = _load(run, "generate", "generate")
    text = task.generate(model, meta, prefix, length, temperature=temperature, top_k=top_k, seed=seed)
    typer.echo(prefix + text)


@app.command()
def translate(
    run: Path = typer.Argument(..., help="a run folder of a seq2seq task (numbers, dates)"),
    inputs: list[str] = typer.Argument(..., help='inputs, e.g. "1234" or "3rd of March 2021"'),
    beam: int = typer.Option(0, "--beam", "-b", min=0, help="beam width N: print the N best with scores (0: greedy)"),
    length_penalty: float = typer.Option(0.0, "--length-penalty", min=0.0,
                                         help="rank by log-probability / length**this"),
    attention_plot: Optional[Path] = typer.Option(None, "--attention-plot",
                                                  help="write the first input's attention weights as a PNG "
                                                       "(or .pdf, .svg, ...: by the file's suffix)"),
) -> None:
    """Decode each input with a trained encoder-decoder."""
    if attention_plot is not None:
        attention_plot = _plot_path(attention_plot)
    task, meta, model = _load(run, "translate", "translate")
    if attention_plot is not None and model.attention is None:
        raise ValueError("--attention-plot needs a model trained with attention (this run has attention=0)")
    plotted = False
    for text in inputs:
        results = task.translate(model, text, meta, beam=beam, length_penalty=length_penalty)
        if beam:
            typer.echo(f"{text}:")
            for rank, (out, h) in enumerate(results, 1):
                end = "" if h.finished else "  (no end: max length)"
                typer.echo(f"  {rank}. {out}   log p = {h.log_prob:.4f}   score = {h.score:.4f}{end}")
        else:
            typer.echo(f"{text} -> {results[0][0]}")
        if attention_plot is not None and not plotted:
            h = results[0][1]
            outputs = task.target_symbols_of(h.tokens, meta) + (["<eos>"] if h.finished else [])
            plot_attention(h.attention, task.source_symbols(text), outputs, attention_plot,
                           f"{text} -> {results[0][0]}")
            plotted = True
    if plotted:
        typer.echo(f"attention plot: {attention_plot}")


def _plot_path(path: Path) -> Path:
    """--attention-plot as the file that will be written, checked before any decoding: matplotlib
    would save FOLDER as FOLDER.png and NAME as NAME.png, and the command would name the wrong file."""
    from matplotlib.backend_bases import FigureCanvasBase

    if path.is_dir():
        raise typer.BadParameter(f"{path} is a folder; name a file, e.g. {path / 'attention.png'}",
                                 param_hint="'--attention-plot'")
    if not path.suffix:
        path = path.with_name(path.name + ".png")
    formats = FigureCanvasBase.get_supported_filetypes()
    if path.suffix[1:].lower() not in formats:
        raise typer.BadParameter(f"{path}: cannot write a {path.suffix} image (use one of "
                                 f"{', '.join('.' + f for f in sorted(formats))})", param_hint="'--attention-plot'")
    return path


def plot_attention(weights: np.ndarray, source: list[str], output: list[str], path: Path, title: str = "") -> None:
    """Rows: output steps; columns: source characters; colour: attention weight."""
    from rnnkit._figures import save_figure, subplots

    L, S = weights.shape
    fig, axes = subplots(figsize=(max(3.0, 0.32 * S + 1.8), max(2.5, 0.3 * L + 1.4)))
    ax = axes[0, 0]
    image = ax.imshow(weights, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(S), ["␣" if c == " " else c for c in source])
    ax.set_yticks(range(L), output)
    ax.set_xlabel("source")
    ax.set_ylabel("output")
    fig.colorbar(image, ax=ax, fraction=0.046, label="attention weight")
    if title:
        import textwrap

        ax.set_title(textwrap.fill(title, width=max(30, int(6 * fig.get_figwidth()))), fontsize=9)
    fig.tight_layout()
    try:
        save_figure(fig, path)
    except OSError as e:
        raise OSError(f"cannot write the attention plot {path}: {e.strerror or e}") from None
