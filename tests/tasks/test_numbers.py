"""The numbers task: the words, the held-out split, and a tiny run through the command line
(train, evaluate, translate greedily and with a beam, the attention plot)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from rnnkit import tasks
from rnnkit.cli import app
from rnnkit.tasks.numbers import draw_numbers, join_tokens, number_words, tokens

runner = CliRunner()


@pytest.mark.parametrize("n,words", [
    (0, "zero"), (7, "seven"), (13, "thirteen"), (20, "twenty"), (21, "twenty-one"), (100, "one hundred"),
    (105, "one hundred five"), (1000, "one thousand"), (1234, "one thousand two hundred thirty-four"),
    (10_001, "ten thousand one"), (120_034, "one hundred twenty thousand thirty-four"),
    (999_999, "nine hundred ninety-nine thousand nine hundred ninety-nine"), (2_000_000, "two million"),
    (1_002_003_004, "one billion two million three thousand four"),
])
def test_number_words(n, words):
    assert number_words(n) == words
    assert join_tokens(tokens(words)) == words


def test_held_out_numbers_are_never_trained_on():
    task = tasks.get("numbers")
    data = task.load(task.parse_options({"train": 3000}))
    train = set(data.train.extra["sources"])
    assert len(train) == 3000 and len(data.test) == 2000 and len(data.val) == 1000
    assert not train & set(data.test.extra["sources"]) and not train & set(data.val.extra["sources"])
    numbers = draw_numbers(500, 999_999, np.random.default_rng(0))
    assert len(set(numbers)) == 500 and {len(str(n)) for n in numbers} == set(range(1, 7))
    assert task.normalise_source(" 1,234 ") == "1234"
    with pytest.raises(ValueError, match="whole number"):
        task.normalise_source("12a")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs") / "numbers"
    result = runner.invoke(app, ["train", "numbers", "-o", "max=999", "-o", "train=600", "-o", "test=100",
                                 "-o", "attention=16",
                                 "--hidden", "24", "--embedding", "12", "--epochs", "6", "--lr", "0.02",
                                 "--batch-size", "32", "--out", str(folder), "-v", "0"])
    assert result.exit_code == 0, result.output
    return folder


def test_tiny_run_learns_and_translates(tiny_run, tmp_path):
    test = json.loads((tiny_run / "results.json").read_text())["test"]
    assert test["token_accuracy"] > 0.5 and 0.0 <= test["accuracy"] <= 1.0
    greedy = runner.invoke(app, ["translate", str(tiny_run), "123", "45"])
    assert greedy.exit_code == 0, greedy.output
    lines = greedy.stdout.splitlines()
    assert lines[0].startswith("123 -> ") and lines[1].startswith("45 -> ")
    plot = tmp_path / "attention.png"
    beam = runner.invoke(app, ["translate", str(tiny_run), "123", "--beam", "3", "--attention-plot", str(plot)])
    assert beam.exit_code == 0, beam.output
    ranked = [line for line in beam.stdout.splitlines() if line.startswith("  ")]
    assert 1 <= len(ranked) <= 3 and all("log p = " in line and "score = " in line for line in ranked)
    scores = [float(line.split("score = ")[1].split()[0]) for line in ranked]
    assert scores == sorted(scores, reverse=True)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = runner.invoke(app, ["translate", str(tiny_run), "12x"])
    assert bad.exit_code == 1 and bad.stderr.startswith("Error: ") and "whole number" in bad.stderr
    too_big = runner.invoke(app, ["translate", str(tiny_run), "1000"])
    assert too_big.exit_code == 1 and "beyond the largest number" in too_big.stderr
