"""What a user meets at the edges of the command line (from an audit): Ctrl-C after training and
a second Ctrl-C while the interrupted run is written, the paths the commands are given (an
empty --out, a folder named like a task, --attention-plot), and float options that must be
finite numbers."""

from __future__ import annotations

import pytest

from rnnkit import tasks
from tests.cli.cli_helpers import assert_one_line_error, invoke


def _one_line_abort(result) -> str:
    assert result.exit_code == 130, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Aborted: "), result.stderr
    return lines[0]


def test_ctrl_c_while_the_test_set_is_scored_says_the_trained_model_is_kept(tmp_path, monkeypatch):
    # scoring a large test set (nottingham, mnist-rows) takes a while after the last epoch; a
    # bare "Aborted." would let the user think the finished training was lost
    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(tasks.get("echo"), "evaluate", ctrl_c)
    folder = tmp_path / "run"
    line = _one_line_abort(invoke("train", "echo", "-e", 1, "--out", folder, "-v", 0))
    assert line.startswith("Aborted: interrupted after training (1 of 1 epochs), while scoring the test set")
    assert str(folder) in line and "results.json" in line and "rnnkit evaluate" in line
    assert (folder / "model.safetensors").is_file() and not (folder / "results.json").exists()


def test_a_second_ctrl_c_while_writing_the_interrupted_run_still_says_what_it_holds(tmp_path, monkeypatch):
    echo = tasks.get("echo")
    fit = echo.fit

    def fit_then_ctrl_c(model, data, hp, callbacks=(), verbose=1):
        fit(model, data, hp, callbacks=callbacks, verbose=verbose)
        raise KeyboardInterrupt  # the first Ctrl-C, once an epoch has run

    def second_ctrl_c_mid_write(self, fname, *args, **kwargs):
        with open(fname, "wb") as f:  # half a PNG is on disk when the second Ctrl-C comes
            f.write(b"\x89PNG partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(echo, "fit", fit_then_ctrl_c)
    monkeypatch.setattr("matplotlib.figure.Figure.savefig", second_ctrl_c_mid_write)
    folder = tmp_path / "run"
    line = _one_line_abort(invoke("train", "echo", "-e", 1, "--out", folder, "-v", 0))
    assert line.startswith("Aborted: training interrupted after 1 of 1 epochs") and str(folder) in line
    assert "best checkpoint so far" in line and "history.csv" in line and "curves.png" not in line
    # the plot was skipped whole: no truncated curves.png, no temporary file left behind
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "history.csv", "model.safetensors"]


@pytest.mark.parametrize("command", [["train", "echo", "-e", 1], ["diagnose", "echo"]])
def test_an_empty_out_is_refused_not_read_as_the_working_folder(tmp_path, monkeypatch, command):
    # `--out "$OUT"` with OUT unset: Path("") is ".", and the run's files would land among the user's
    monkeypatch.chdir(tmp_path)
    assert_one_line_error(invoke(*command, "--out", "", "-v", 0)
                          if command[0] == "train" else invoke(*command, "--out", ""), "--out", "empty")
    assert list(tmp_path.iterdir()) == []


def test_diagnose_out_under_a_file_names_the_file(tmp_path):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("mine")
    result = invoke("diagnose", "echo", "--out", blocker / "diag")
    assert_one_line_error(result, "cannot write to the output folder", f"{blocker} is a file, not a folder")


@pytest.mark.parametrize(("command", "expected"), [
    (["summary", "echo"], "task echo: default model"),
    (["gradcheck", "echo", "--entries", 1], "gradient check passed"),
    (["diagnose", "echo", "--out", "diag"], "wrote gradient_flow.png"),
])
def test_a_folder_named_like_a_task_does_not_hide_the_task(tmp_path, monkeypatch, command, expected):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "echo").mkdir()  # e.g. the user's own notes about the echo task, not a run
    result = invoke(*command)
    assert result.exit_code == 0, result.output
    assert expected in result.stdout


@pytest.mark.parametrize(("args", "option"), [
    (["gradcheck", "echo", "--tolerance", "inf"], "--tolerance"),
    (["gradcheck", "echo", "--tolerance", "nan"], "--tolerance"),
    (["gradcheck", "echo", "--tolerance", "-1"], "--tolerance"),
    (["diagnose", "echo", "--recurrent-scale", "inf"], "--recurrent-scale"),
    (["diagnose", "echo", "--cell", "lstm", "--forget-bias", "nan"], "--forget-bias"),
])
def test_float_options_without_a_range_must_be_finite(tmp_path, monkeypatch, args, option):
    monkeypatch.chdir(tmp_path)
    assert_one_line_error(invoke(*args), option)
    assert list(tmp_path.iterdir()) == []  # refused before anything is written


@pytest.fixture(scope="module")
def numbers_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs") / "numbers"
    result = invoke("train", "numbers", "-e", 1, "-H", 8, "-o", "train=200", "-o", "test=50", "--out", folder, "-v", 0)
    assert result.exit_code == 0, result.output
    return folder


def test_attention_plot_without_a_suffix_names_the_png_it_wrote(numbers_run, tmp_path):
    result = invoke("translate", numbers_run, "12", "--attention-plot", tmp_path / "attention")
    assert result.exit_code == 0, result.output
    written = tmp_path / "attention.png"
    assert written.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"attention plot: {written}" in result.stdout


@pytest.mark.parametrize(("name", "fragment"), [("a-folder", "is a folder"), ("plot.xyz", "cannot write a .xyz image")])
def test_a_bad_attention_plot_path_is_refused_before_decoding(numbers_run, tmp_path, name, fragment):
    (tmp_path / "a-folder").mkdir()
    result = invoke("translate", numbers_run, "12", "--attention-plot", tmp_path / name)
    assert_one_line_error(result, "--attention-plot", fragment)
    assert result.stdout == ""  # nothing decoded, then refused
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-folder"]


def test_version_prints_the_package_version():
    import rnnkit

    result = invoke("--version")
    assert result.exit_code == 0 and result.stdout.strip() == f"rnnkit {rnnkit.__version__}"


def test_a_negative_number_as_input_says_to_put_it_after_double_dash(tmp_path):
    # click reads `-0.3,0.5` as the short option -0; the user needs to know about `--`
    result = invoke("predict", tmp_path, "-0.3,0.5")
    assert_one_line_error(result, "No such option: -0", "after `--`")
    assert result.exit_code == 2


def test_braces_in_out_are_part_of_the_folder_name_not_a_template(tmp_path):
    # the checkpoint path took them as a ModelCheckpoint template and stopped after one epoch
    folder = tmp_path / "exp{a}{1}"
    result = invoke("train", "echo", "-e", 2, "--out", folder, "-v", 0)
    assert result.exit_code == 0, result.output
    assert (folder / "model.safetensors").is_file() and (folder / "results.json").is_file()
