"""Figures for the files rnnkit writes, made without pyplot: no backend is switched for the whole
process (a notebook that plots inline keeps doing so), and no figure is left registered with
pyplot to close. Saving picks the renderer from the file's suffix."""

from __future__ import annotations

from pathlib import Path

from rnnkit._atomic import write_atomically


def subplots(rows: int = 1, cols: int = 1, **figure_options):
    """(figure, axes) as pyplot.subplots gives them (axes always 2-D: squeeze=False)."""
    from matplotlib.figure import Figure

    figure = Figure(**figure_options)
    return figure, figure.subplots(rows, cols, squeeze=False)


def colour_cycle() -> list[str]:
    """The colours matplotlib gives lines in turn."""
    import matplotlib

    return matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]


def save_figure(figure, path) -> None:
    """Save `figure` (the format from the suffix, PNG without one) whole or not at all."""
    path = Path(path)
    write_atomically(path, lambda tmp: figure.savefig(tmp, dpi=100, format=path.suffix[1:].lower() or "png"))
