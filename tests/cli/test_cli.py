"""The command line through typer's CliRunner (and once through `python -m rnnkit`): the task
list, a tiny training run writing every artifact, evaluate / predict / summary on it, and the
one-line errors a user meets."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest

from rnnkit import tasks
from tests.cli.cli_helpers import assert_one_line_error, invoke


@pytest.fixture(scope="module")
def names_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs") / "names-tiny"
    result = invoke("train", "names", "--epochs", 2, "--hidden", 16, "--out", folder, "-v", 0)
    assert result.exit_code == 0, result.output
    return folder, result


def test_tasks_lists_every_task_with_its_pattern():
    result = invoke("tasks")
    assert result.exit_code == 0
    for task in tasks.TASKS.values():
        assert re.search(rf"^{re.escape(task.name)}\s+{re.escape(task.pattern)}", result.stdout, re.M)
    assert "--subset aiedu10|all18" in result.stdout
    # every option is shown as train takes it: a flag of its own, or -o KEY=VALUE
    train_help = invoke("train", "--help").stdout
    flags = re.findall(r"--([a-z][a-z-]*) \S+", "".join(re.findall(r"options:\s+(.*)", result.stdout)))
    assert flags and all(f"--{flag}" in train_help for flag in flags), flags
    assert "-o split-seed=0" in result.stdout


def test_train_writes_every_artifact_and_prints_test_accuracy(names_run):
    folder, result = names_run
    for name in ("model.safetensors", "config.json", "history.csv", "curves.png", "confusion_matrix.png", "results.json"):
        assert (folder / name).is_file(), name
    assert (folder / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    results = json.loads((folder / "results.json").read_text())
    assert 0.0 <= results["test"]["accuracy"] <= 1.0 and results["epochs_run"] == 2
    assert len(results["confusion_matrix"]["counts"]) == 10
    config = json.loads((folder / "config.json").read_text())
    assert config["task"] == "names" and config["options"]["subset"] == "aiedu10"
    assert config["hparams"]["hidden"] == 16 and config["hparams"]["epochs"] == 2
    history = (folder / "history.csv").read_text().splitlines()
    assert history[0].split(",") == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"] and len(history) == 3
    assert re.search(r"test accuracy: \d+\.\d\d %", result.stdout)


def test_regression_run_has_no_confusion_matrix(tmp_path):
    result = invoke("train", "echo", "--epochs", 2, "--ema", 0.9, "--out", tmp_path / "echo", "-v", 0)
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "echo" / "config.json").read_text())["hparams"]["ema"] == 0.9
    assert (tmp_path / "echo" / "results.json").is_file()
    assert not (tmp_path / "echo" / "confusion_matrix.png").exists()
    assert "test R²" in result.stdout


def test_predict_prints_top3_languages_with_probabilities(names_run):
    folder, _ = names_run
    result = invoke("predict", folder, "Nakamura", "Schmidt")
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert [line.split()[0] for line in lines] == ["Nakamura", "Schmidt"]
    classes = json.loads((folder / "config.json").read_text())["meta"]["classes"]
    for line in lines:
        pairs = re.findall(r"(\w+) (\d\.\d\d)", line.split(None, 1)[1])
        assert len(pairs) == 3 and all(lang in classes for lang, _ in pairs)
        probs = [float(p) for _, p in pairs]
        assert probs == sorted(probs, reverse=True) and sum(probs) <= 1.02


def test_evaluate_and_summary_of_a_run(names_run):
    folder, _ = names_run
    saved = json.loads((folder / "results.json").read_text())["test"]["accuracy"]
    result = invoke("evaluate", folder)
    assert result.exit_code == 0, result.output
    assert f"test accuracy: {100 * saved:.2f} %" in result.stdout
    result = invoke("summary", folder)
    assert result.exit_code == 0 and "Total params" in result.stdout


def test_summary_of_a_task_default_model():
    result = invoke("summary", "binary-subtraction", "--cell", "lstm")
    assert result.exit_code == 0, result.output
    assert "LSTM" in result.stdout


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["train", "nosuchtask"], ["unknown task 'nosuchtask'", "names", "mnist-rows"]),
        (["train", "names", "--cell", "transformer"], ["--cell", "transformer"]),
        (["train", "names", "--epochs", "many"], ["--epochs", "integer"]),
        (["train", "names", "--dropout", "1.5"], ["--dropout"]),
        (["train", "names", "--ema", "1"], ["--ema"]),
        (["train", "names", "--subset", "all99"], ["subset", "all99", "aiedu10"]),
        (["train", "mnist-rows", "--horizon", "4"], ["mnist-rows", "horizon"]),
        (["train", "names", "-o", "nonsense"], ["KEY=VALUE"]),
        (["predict", "no/such/run", "Smith"], ["not a run folder"]),
        (["summary", "nosuchtask"], ["unknown task"]),
    ],
)
def test_bad_input_gives_a_one_line_error(args, fragments):
    assert_one_line_error(invoke(*args), *fragments)


def test_unwritable_output_folder_is_a_one_line_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = invoke("train", "echo", "--epochs", 1, "--out", blocker / "run", "-v", 0)
    assert_one_line_error(result, "cannot write to the output folder")


def test_predict_rejects_bad_input_in_one_line(names_run):
    folder, _ = names_run
    assert_one_line_error(invoke("predict", folder, "R2D2"), "R2D2")


def test_python_dash_m_rnnkit_and_its_one_line_error():
    ok = subprocess.run([sys.executable, "-m", "rnnkit", "tasks"], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and "binary-subtraction" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "rnnkit", "train", "nope"], capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().splitlines() == [bad.stderr.strip()] and "unknown task 'nope'" in bad.stderr


# -- what a user following the README meets (journey audit) ------------------------------------


def test_predict_with_a_second_run_folder_as_input_says_the_glob_matched_several_runs(names_run):
    """`rnnkit predict runs/names-* Nakamura` after training names twice: the shell expands the
    glob to two run folders, and the second must not be classified as a surname."""
    folder, _ = names_run
    assert_one_line_error(invoke("predict", folder, folder, "Nakamura"), "one run folder", str(folder), "runs/names-*")


def test_unknown_task_option_lists_the_options_as_train_takes_them():
    # split-seed has no flag of its own: it is `-o split-seed=N`, not `--split-seed`
    result = invoke("train", "names", "-o", "foo=1")
    assert_one_line_error(result, "task names has no option foo", "--subset", "-o split-seed=")
    assert "--split-seed" not in result.stderr


def test_text_run_headline_is_bits_per_character(tmp_path):
    corpus = tmp_path / "corpus.txt"
    words = ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog"]
    rng = np.random.default_rng(0)  # varied text: the task drops repeated blocks
    paragraphs = [" ".join(rng.choice(words, size=40)) for _ in range(300)]
    corpus.write_text("\n\n".join(paragraphs), encoding="utf-8")
    result = invoke("train", "text", "-o", f"corpus={corpus}", "--steps", 10, "-H", 8, "-e", 1,
                    "--out", tmp_path / "text", "-v", 0)
    assert result.exit_code == 0, result.output
    assert re.search(r"test bits per character: \d+\.\d{3}", result.stdout), result.stdout


def test_copy_headline_says_its_accuracy_counts_recalled_symbols(tmp_path):
    # training logs accuracy over every step; the held-out score counts only the recall
    result = invoke("train", "copy", "-o", "samples=64", "-o", "length=5", "-H", 8, "-e", 1,
                    "--out", tmp_path / "copy", "-v", 0)
    assert result.exit_code == 0, result.output
    assert re.search(r"test accuracy \(recalled symbols\): \d+\.\d\d %", result.stdout), result.stdout


def test_no_training_line_is_printed_before_an_error_that_stops_the_run(tmp_path):
    # the copy task checks its options when it generates data; a run folder already holding a
    # run is refused: neither may follow a line announcing the training
    bad_option = invoke("train", "copy", "-o", "symbols=0", "--out", tmp_path / "copy")
    assert_one_line_error(bad_option, "symbols >= 1")
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "config.json").write_text("{}")
    refused = invoke("train", "echo", "--out", taken)
    assert_one_line_error(refused, "already holds a run")
    for result in (bad_option, refused):
        assert "training" not in result.stdout, result.stdout


def test_embedding_is_refused_for_a_task_without_an_embedding_layer(tmp_path):
    result = invoke("train", "echo", "--embedding", 8, "--out", tmp_path / "echo")
    assert_one_line_error(result, "embedding does not apply to task echo")
    assert not (tmp_path / "echo").exists()


@pytest.mark.parametrize("command", ["diagnose", "gradcheck", "summary"])
def test_a_missing_run_folder_is_not_called_an_unknown_task(command, tmp_path):
    missing = tmp_path / "runs" / "names-typo"
    result = invoke(command, missing)
    assert_one_line_error(result, str(missing), "does not exist")
    assert "unknown task" not in result.stderr


def test_predict_on_a_missing_folder_says_it_does_not_exist(tmp_path):
    assert_one_line_error(invoke("predict", tmp_path / "nope", "Smith"), "not a run folder", "does not exist")


def test_summary_of_a_run_of_a_task_without_options_has_no_dangling_comma(tmp_path):
    assert invoke("train", "echo", "-e", 1, "--out", tmp_path / "echo", "-v", 0).exit_code == 0
    result = invoke("summary", tmp_path / "echo")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == f"run {tmp_path / 'echo'}: task echo"
