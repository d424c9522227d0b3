"""The dates task: the formats and their conventions, the held-out split, and a tiny run
through the command line."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from rnnkit import tasks
from rnnkit.cli import app
from rnnkit.tasks.dates import FORMATS, all_dates, normalise, ordinal

runner = CliRunner()


def test_formats_of_the_issue():
    day = dt.date(2021, 3, 3)
    written = {f(day) for f in FORMATS}
    assert {"3rd of March 2021", "03/03/21", "March 3, 2021"} <= written
    assert len(written) == len(FORMATS)
    assert FORMATS[1](dt.date(1965, 11, 4)) == "11/04/65"  # month first, two-digit year
    assert FORMATS[7](dt.date(1965, 11, 4)) == "04.11.1965"  # dots: day first
    assert FORMATS[6](day) == "Wednesday, March 3, 2021"
    assert [ordinal(d) for d in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 31)] == \
        ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "31st"]
    assert normalise("  MARCH 3,   2021 ") == "march 3, 2021"
    assert len(all_dates()) == 36525


def test_held_out_dates_are_never_trained_on():
    task = tasks.get("dates")
    data = task.load(task.parse_options({}))
    train = set(data.train.extra["targets"])
    assert len(data.test) == 2000 and len(data.val) == 1000 and len(data.train) == 33525
    assert not train & set(data.test.extra["targets"]) and not train & set(data.val.extra["targets"])
    alphabet = set(task.source_alphabet)
    assert all(set(s) <= alphabet for s in data.train.extra["sources"])


def test_tiny_run_trains_and_translates(tmp_path):
    folder = tmp_path / "dates"
    result = runner.invoke(app, ["train", "dates", "-o", "train=1200", "-o", "attention=16", "--hidden", "16",
                                 "--embedding", "12", "--epochs", "4", "--lr", "0.03", "--batch-size", "48",
                                 "--out", str(folder), "-v", "0"])
    assert result.exit_code == 0, result.output
    test = json.loads((folder / "results.json").read_text())["test"]
    assert test["token_accuracy"] > 0.5  # well above the 1/14 of chance after four short epochs on 1,200 dates
    out = runner.invoke(app, ["translate", str(folder), "3rd of March 2021", "03/03/21", "--beam", "2"])
    assert out.exit_code == 0, out.output
    assert out.stdout.startswith("3rd of March 2021:") and "03/03/21:" in out.stdout
    plain = runner.invoke(app, ["translate", str(folder), "March 3, 2021"])
    assert plain.exit_code == 0 and plain.stdout.startswith("March 3, 2021 -> ")
    assert len(plain.stdout.split(" -> ")[1].strip()) <= 20


@pytest.mark.parametrize("text", ["3 März 2021", "3rd of March 2021 ☃"])
def test_unreadable_input_is_a_one_line_error(text):
    task = tasks.get("dates")
    meta = {"source_vocabulary": ["<pad>", *task.source_alphabet]}
    with pytest.raises(ValueError, match="cannot read"):
        task.encode_sources([text], meta)
