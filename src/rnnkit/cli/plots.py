"""The PNG files of a run: learning curves and, for classifiers, the confusion matrix."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from rnnkit._figures import save_figure, subplots


def plot_curves(history: dict[str, list[float]], path: Path, title: str = "") -> None:
    """One panel per logged quantity (loss, accuracy, ...), training and validation together."""
    from matplotlib.ticker import MaxNLocator

    names = sorted({k.removeprefix("val_") for k in history}, key=lambda k: (k != "loss", k))
    cols = min(len(names), 3)
    rows = math.ceil(len(names) / cols)
    fig, axes = subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows))
    for ax, name in zip(axes.flat, names):
        for key, label in ((name, "train"), (f"val_{name}", "validation")):
            if key in history:
                values = history[key]
                ax.plot(np.arange(1, len(values) + 1), values, marker="." if len(values) < 40 else None, label=label)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend()
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path)


def plot_confusion(matrix: np.ndarray, classes: list[str], path: Path, title: str = "") -> None:
    """Rows = true class, columns = predicted; colour = share of the row, text = counts."""
    C = len(classes)
    rows = matrix.sum(axis=1, keepdims=True)
    share = matrix / np.maximum(rows, 1)
    size = max(4.0, 0.45 * C + 2.0)
    fig, axes = subplots(figsize=(size + 1, size))
    ax = axes[0, 0]
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(C), classes, rotation=60, ha="right")
    ax.set_yticks(range(C), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if C <= 20:
        for i in range(C):
            for j in range(C):
                if matrix[i, j]:
                    ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=7,
                            color="white" if share[i, j] > 0.5 else "black")
    fig.colorbar(image, ax=ax, fraction=0.046, label="share of the true class")
    ax.set_title(title or f"accuracy {np.trace(matrix) / max(matrix.sum(), 1):.3f}")
    fig.tight_layout()
    save_figure(fig, path)
