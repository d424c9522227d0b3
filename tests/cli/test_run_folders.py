"""What `rnnkit train` leaves in a run folder when things go wrong, and how later commands read
it: Ctrl-C, a failed task-option check, damaged config.json, relative file options; plus
gradcheck of a seq2seq task and the small output details of train and tasks."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys

import pytest

from tests.cli.cli_helpers import assert_one_line_error, invoke


@pytest.fixture(scope="module")
def echo_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs") / "echo"
    result = invoke("train", "echo", "--epochs", 1, "--out", folder, "-v", 0)
    assert result.exit_code == 0, result.output
    return folder


def test_ctrl_c_during_training_says_what_the_folder_holds_and_keeps_the_history(tmp_path):
    folder = tmp_path / "interrupted"
    command = [sys.executable, "-m", "rnnkit", "train", "names", "-e", "500", "-H", "8", "--out", str(folder),
               "-v", "2"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        for line in proc.stderr:  # -v 2: a line per epoch on stderr
            if line.startswith("epoch 3/"):
                break
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("Aborted: training interrupted after") and str(folder) in last, last
    assert "best checkpoint so far" in last and "results.json" in last
    assert (folder / "model.safetensors").is_file() and (folder / "curves.png").is_file()
    # header + at least 2 epochs: the loop prints "epoch 3/..." before the history records epoch 3,
    # so a Ctrl-C right after that line may find epoch 3 unrecorded
    assert len((folder / "history.csv").read_text().splitlines()) >= 3
    assert not (folder / "results.json").exists()
    summary = invoke("summary", folder)
    assert summary.exit_code == 0 and "training did not finish" in summary.stdout


@pytest.mark.parametrize("args", [["adding", "-o", "length=1"], ["copy", "-o", "symbols=0"],
                                  ["numbers", "-o", "max=5"]])
def test_a_failed_option_check_leaves_no_run_folder(tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    result = invoke("train", *args, "-v", 0)
    assert_one_line_error(result)
    assert list(tmp_path.iterdir()) == []  # not even runs/


def test_a_failed_option_check_keeps_a_folder_the_user_made(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    assert_one_line_error(invoke("train", "adding", "-o", "length=1", "--out", folder, "-v", 0), "length")
    assert folder.is_dir()


def test_gradcheck_of_a_seq2seq_task_packs_its_batch():
    result = invoke("gradcheck", "dates", "-H", 4, "-o", "train=50", "--entries", 3)
    assert result.exit_code == 0, result.output
    assert "gradient check passed" in result.stdout and "decoder.0.W_h" in result.stdout


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("{}", "no 'task' entry"),
        ("[1, 2]", "expected a JSON object, got an array"),
        ('{"task": 3, "options": {}, "hparams": {}, "meta": {}}', "'task' must be a string"),
        ('{"task": "echo", "options": [], "hparams": {}, "meta": {}}', "'options' must be an object"),
        ("{not json", "not valid JSON"),
        ('{"task": "echo", "options": {}, "hparams": {"hidden": "x"}, "meta": {}}', "hidden"),
    ],
)
def test_a_damaged_config_is_one_line_naming_the_file(echo_run, content, fragment):
    config = echo_run / "config.json"
    kept = config.read_text()
    try:
        config.write_text(content)
        for command in (["predict", echo_run, "0.1,0.2"], ["evaluate", echo_run], ["summary", echo_run]):
            assert_one_line_error(invoke(*command), str(config), fragment)
    finally:
        config.write_text(kept)


def test_a_damaged_results_file_is_one_line_naming_the_file(echo_run):
    results = echo_run / "results.json"
    kept = results.read_text()
    try:
        results.write_text('{"test": 1}')
        assert_one_line_error(invoke("summary", echo_run), str(results), "'test' must be an object")
    finally:
        results.write_text(kept)


def test_file_options_are_stored_absolute_so_the_run_works_from_anywhere(tmp_path, monkeypatch):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n\n".join(f"paragraph {i}: " + " ".join(f"w{(i * 7 + k) % 50}" for k in range(12))
                                  for i in range(700)), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = invoke("train", "text", "-o", "corpus=corpus.txt", "-o", "steps=20", "-o", "order=2", "-H", 8,
                    "--layers", 1, "--embedding", 4, "-e", 1, "--out", "run", "-v", 0)
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["options"]["corpus"] == str(corpus.resolve())
    monkeypatch.chdir(os.sep)
    result = invoke("evaluate", tmp_path / "run")
    assert result.exit_code == 0, result.output


def test_tasks_piped_into_a_closed_reader_exits_quietly():
    read, write = os.pipe()
    os.close(read)  # every write to stdout now fails with EPIPE, as in `rnnkit tasks | head -1`
    try:
        done = subprocess.run([sys.executable, "-m", "rnnkit", "tasks"], stdout=write, stderr=subprocess.PIPE,
                              text=True, timeout=120)
    finally:
        os.close(write)
    assert done.returncode == 0 and done.stderr == ""


def test_train_without_task_options_or_epochs_says_so_plainly(tmp_path):
    result = invoke("train", "echo", "-e", 0, "--out", tmp_path / "e0")
    assert result.exit_code == 0, result.output
    assert "training echo with rnn" in result.stdout and "echo ()" not in result.stdout
    assert "no epoch run" in result.stdout and "best epoch None" not in result.stdout


def test_run_json_files_are_standard_json_with_null_for_non_finite_numbers(tmp_path):
    import numpy as np

    from rnnkit.cli.runs import write_json

    def refuse(constant):  # what jq or JavaScript's JSON.parse do with NaN / Infinity
        raise ValueError(f"non-standard JSON constant {constant}")

    path = tmp_path / "results.json"
    write_json(path, {"r2": float("nan"), "ratio": np.float32(np.inf), "norms": np.array([1.5, -np.inf]),
                      "steps": (np.int64(3), 0.25), "name": "x"})
    assert json.loads(path.read_text(), parse_constant=refuse) == {
        "r2": None, "ratio": None, "norms": [1.5, None], "steps": [3, 0.25], "name": "x"}


def test_a_model_file_from_another_tasks_run_is_named_as_such(tmp_path):
    # the echo folder with names' model file failed inside the encoding: "x must have 29 features"
    for task in ("echo", "hello"):
        assert invoke("train", task, "-e", 1, "--out", tmp_path / task, "-v", 0).exit_code == 0
    shutil.copyfile(tmp_path / "hello" / "model.safetensors", tmp_path / "echo" / "model.safetensors")
    for command in (["predict", tmp_path / "echo", "0.5,0.1"], ["evaluate", tmp_path / "echo"]):
        assert_one_line_error(invoke(*command), "model.safetensors is not the echo model that config.json "
                                                "describes", "copied from another run")
