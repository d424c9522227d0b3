"""`rnnkit diagnose` and `rnnkit gradcheck` end to end on tiny settings."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from rnnkit.cells import rnn
from rnnkit.cli import app

runner = CliRunner()


def test_diagnose_compares_cells_and_writes_pngs(tmp_path):
    out = tmp_path / "d"
    result = runner.invoke(app, ["diagnose", "adding", "-T", "40", "--compare", "--hidden", "8", "--batch", "8",
                                 "--init", "torch", "--forget-bias", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    for name in ("gradient_flow.png", "gate_saturation.png", "summary.txt", "gradient_flow.json"):
        assert (out / name).stat().st_size > 0
    assert "comparison (" in result.output and "of the gradient at t=39" in result.output
    # the verdict rule, and why fresh gated cells may look worse than a fresh tanh RNN
    assert "vanishing below 1e-03, exploding above 1e+03, else stable" in result.output
    assert "fresh, untrained weights" in result.output
    assert "lstm forget gate f 0.7" in result.output and "gru update gate z 0." in result.output
    saved = json.loads((out / "gradient_flow.json").read_text())
    assert set(saved) == {"rnn", "lstm", "gru"}
    assert len(saved["lstm"]["states"][0]["norms"]["c"]) == 40


def test_diagnose_flags_exploding(tmp_path):
    result = runner.invoke(app, ["diagnose", "adding", "-T", "30", "--cell", "rnn", "--recurrent-scale", "4",
                                 "--no-clip", "--batch", "8", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "exploding" in result.output and "unclipped" in result.output


def test_gradcheck_command_passes_then_fails_on_a_broken_cell(monkeypatch):
    ok = runner.invoke(app, ["gradcheck", "copy", "-T", "3", "-o", "symbols=2", "--hidden", "3", "--entries", "5"])
    assert ok.exit_code == 0, ok.output
    assert "gradient check passed" in ok.output

    def broken(*args):  # halves the gradient reaching every pre-activation
        g = real_backward(*args)
        return g._replace(x_proj=0.5 * g.x_proj)

    real_backward = rnn.backward
    monkeypatch.setattr(rnn, "backward", broken)
    bad = runner.invoke(app, ["gradcheck", "adding", "-T", "5", "--cell", "rnn", "--hidden", "3",
                              "--backend", "reference", "--entries", "5"])
    assert bad.exit_code == 1
    assert "FAILED" in bad.output


def test_diagnose_a_trained_run_does_not_call_it_untrained(tmp_path, monkeypatch):
    from rnnkit import tasks
    from rnnkit.cli import diagnose as diagnose_module

    task = tasks.get("adding")
    options = task.parse_options({"length": 6, "samples": 8})
    hp = task.hparams(options, cell="gru", hidden=3)
    data = task.load(options, seed=hp.seed)
    model = task.build_model(hp, data.meta)  # stands in for a trained model: no training needed here
    monkeypatch.setattr(diagnose_module.runs, "load_run", lambda path: (task, options, hp, data.meta, model))
    result = runner.invoke(app, ["diagnose", str(tmp_path), "--batch", "4", "--out", str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    assert "gru (trained)" in result.output and "untrained" not in result.output
