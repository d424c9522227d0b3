"""What fit prints: a live bar only on an interactive terminal, and every epoch's whole line."""

from __future__ import annotations

import io

import numpy as np
from rich.console import Console

import rnnkit
from rnnkit.layers import Dense, SimpleRNN
from rnnkit.training.progress import EpochProgress

LOGS = {"loss": 0.123456, "accuracy": 0.5, "val_loss": 0.25, "val_accuracy": 0.75}


def _console(width: int, interactive: bool) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=width, force_terminal=True, force_interactive=interactive), out


def test_a_terminal_that_is_not_interactive_gets_one_line_per_epoch():
    # TERM=dumb is a terminal but not an interactive one: a live bar there repeats itself
    console, _ = _console(80, interactive=False)
    assert EpochProgress(1, 3, console=console).verbose == 2


def test_a_narrow_terminal_still_gets_the_epochs_whole_line():
    # the bar's last frame was left as the epoch's line, cut at the terminal's width
    console, out = _console(40, interactive=True)
    progress = EpochProgress(1, 3, console=console)
    progress.start_epoch(0, 2)
    progress.update(LOGS)
    progress.update(LOGS)
    progress.end_epoch(0, LOGS, 1.0)
    progress.close()
    text = out.getvalue()
    assert "epoch 1/3  loss 0.1235  accuracy 0.5000  val_loss 0.2500  val_accuracy 0.7500  1.0s" in text
    assert "…" not in text.split("epoch 1/3  loss")[-1]


def test_the_epoch_line_comes_once_history_holds_the_epoch(monkeypatch):
    # a Ctrl-C right after the line reported one epoch fewer than the line showed
    seen = []
    end_epoch = EpochProgress.end_epoch

    def record(self, epoch, logs, seconds):
        seen.append((epoch, list(model.history.epochs)))
        end_epoch(self, epoch, logs, seconds)

    monkeypatch.setattr(EpochProgress, "end_epoch", record)
    rng = np.random.default_rng(0)
    model = rnnkit.Sequential([SimpleRNN(3), Dense(1)], seed=0)
    model.compile("sgd", loss="mse")
    model.fit(rng.normal(size=(8, 4, 2)), rng.normal(size=(8, 1)), epochs=2, verbose=2)
    assert seen == [(0, [0]), (1, [0, 1])]
