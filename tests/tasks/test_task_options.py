"""The training options every task must honour: --dropout / --input-dropout reach the model (or
are refused in one line), file options are kept as absolute paths, and a pm25 run predicts from
the CSV it was trained on."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit import tasks
from rnnkit.datasets._files import read_text
from rnnkit.layers import Dropout

SMALL = {"adding": {"samples": 2, "length": 4}, "copy": {"samples": 2, "length": 3}}


def layer_kinds(name, **hp):
    task = tasks.get(name)
    options = task.parse_options(SMALL.get(name, {}))
    data = task.load(options, seed=0)
    model = task.build_model(task.hparams(options, hidden=2, **hp), data.meta)
    return model, [type(layer).__name__ for layer in model.layers]


@pytest.mark.parametrize("name", ["echo", "adding", "copy", "hello", "binary-subtraction", "pm25"])
def test_dropout_options_reach_the_model_and_default_models_are_unchanged(name):
    _, plain = layer_kinds(name)
    assert "Dropout" not in plain  # a default model keeps the layers (and saved weights) it always had
    model, kinds = layer_kinds(name, dropout=0.25, input_dropout=0.125)
    assert kinds == ["Dropout", *plain[:-1], "Dropout", plain[-1]]
    rates = [layer.rate for layer in model.layers if isinstance(layer, Dropout)]
    assert rates == [0.125, 0.25]


def test_text_honours_input_dropout():
    task = tasks.get("text")
    hp = task.hparams({}, hidden=2, layers=1, dropout=0.0, input_dropout=0.2)
    model = task.build_model(hp, {"classes": list("abc")})
    assert [type(layer).__name__ for layer in model.layers] == ["Embedding", "Dropout", "Stack", "Dense"]


@pytest.mark.parametrize("name", ["numbers", "dates"])
def test_seq2seq_refuses_dropout_it_cannot_apply(name):
    task = tasks.get(name)
    options = task.parse_options({})
    with pytest.raises(ValueError, match="--input-dropout"):
        task.hparams(options, input_dropout=0.1)
    with pytest.raises(ValueError, match="--dropout"):
        task.hparams(options, dropout=0.1)
    assert task.hparams(options, dropout=0.1, layers=2).dropout == 0.1  # between the stacked layers
    assert task.hparams(options).dropout == 0.0


def test_path_options_are_made_absolute_but_defaults_are_kept(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert tasks.get("pm25").parse_options({"data": "pm.csv"})["data"] == str(tmp_path / "pm.csv")
    assert tasks.get("pm25").parse_options({})["data"] is None
    assert tasks.get("mnist-rows").parse_options({"data": "mnist"})["data"] == str(tmp_path / "mnist")
    assert tasks.get("text").parse_options({})["corpus"] == "pydoc"
    assert tasks.get("text").parse_options({"corpus": "a.txt"})["corpus"] == str(tmp_path / "a.txt")


def test_pm25_predictions_read_the_csv_the_run_was_trained_on(tmp_path):
    rows = read_text("pm25", "PM25_data.csv").splitlines()
    column = rows[0].split(",").index("pm2.5")

    def doubled(line):
        cells = line.split(",")
        if cells[column] != "NA":
            cells[column] = str(2 * float(cells[column]))
        return ",".join(cells)

    csv = tmp_path / "pm25_doubled.csv"
    csv.write_text("\n".join([rows[0], *map(doubled, rows[1:])]) + "\n", encoding="utf-8")
    task = tasks.get("pm25")
    actual = {}
    for label, given in (("shipped", {}), ("doubled", {"data": str(csv)})):
        options = task.parse_options({**given, "steps": 8})
        data = task.load(options)
        assert data.meta["data"] == options["data"]  # kept with the run, for predict
        model = task.build_model(task.hparams(options, hidden=2), data.meta)
        (line,) = task.predict(model, ["test:5"], data.meta)
        actual[label] = float(line.split("(actual ")[1].rstrip(")"))
    assert actual["shipped"] > 0
    assert np.isclose(actual["doubled"], 2 * actual["shipped"], rtol=1e-3)


def test_a_bad_polyphonic_input_shows_the_frame_format():
    """`rnnkit predict runs/jsb-chorales-... hello`: the error says how frames are written."""
    from rnnkit.tasks.polyphonic import _parse_frames

    with pytest.raises(ValueError, match=r"'60,64,67 62,65'.*got 'hello'"):
        _parse_frames("hello")


@pytest.mark.parametrize("optimizer", ["sgd", "rmsprop", "adam", "adamw"])
def test_weight_decay_reaches_every_optimizer(optimizer):
    # it was passed to adamw only: `--weight-decay 0.1` with adam trained without any
    task = tasks.get("echo")
    options = task.parse_options({})
    hp = task.hparams(options, optimizer=optimizer, weight_decay=0.1)
    model = task.build_model(hp, task.load(options).meta)
    assert type(model.compiled.optimizer).__name__.lower() == optimizer
    assert model.compiled.optimizer.weight_decay == 0.1
