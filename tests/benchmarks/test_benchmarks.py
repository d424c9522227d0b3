"""The benchmark scripts run end to end at their smallest settings, so that the numbers in
BENCHMARKS.md can always be re-measured. No time is checked here: the scripts report times,
they do not judge them."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"

pytestmark = pytest.mark.torch


def run_script(name: str, *args: str) -> str:
    pytest.importorskip("torch", reason="the benchmarks time rnnkit against PyTorch")
    done = subprocess.run([sys.executable, str(BENCHMARKS / f"{name}.py"), *args],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def load_bench_cells():
    pytest.importorskip("torch", reason="the benchmarks time rnnkit against PyTorch")
    spec = importlib.util.spec_from_file_location("bench_cells", BENCHMARKS / "bench_cells.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench


def table_rows(text: str, first_cell: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip("|").split("|")]
            for line in text.splitlines() if line.startswith(f"| {first_cell}")]


def test_bench_cells_times_every_cell_and_mode_against_torch(monkeypatch, capsys):
    bench = load_bench_cells()
    monkeypatch.setattr(bench, "PAUSE_S", 0.0)  # the pauses only matter for the numbers
    monkeypatch.setattr(bench, "BURST_S", 0.0)
    bench.main(["--configs", "tiny", "--budget", "0"])
    out = capsys.readouterr().out
    header = table_rows(out, "config")[0]
    rows = table_rows(out, "tiny")
    assert [(r[1], r[2]) for r in rows] == [(c, m) for c in ("rnn", "lstm", "gru")
                                            for m in ("inference", "training")]
    def column(name):
        return [float(r[header.index(name)].strip("*")) for r in rows]

    for name in ("torch ms", "fast ms", "reference ms", "layer ms", "GEMM floor ms"):
        assert all(t > 0 for t in column(name)), name
    # a ratio is printed with two decimals: on a loaded machine floor/torch can read 0.00
    for ratio, (top, bottom) in {"fast/torch": ("fast ms", "torch ms"),
                                 "floor/torch": ("GEMM floor ms", "torch ms")}.items():
        for printed, a, b in zip(column(ratio), column(top), column(bottom)):
            # two decimals printed (±0.005), and the times themselves rounded to 3 decimals of a ms
            assert printed == pytest.approx(a / b, rel=0.02, abs=0.01), ratio
    by_round = header.index("by round")
    for r in rows:  # quartiles of the per-round ratios (min_calls gives five rounds here)
        low, high = map(float, r[by_round].split("–"))
        assert 0 < low <= high


def test_bench_memory_reports_training_peaks():
    rows = table_rows(run_script("bench_memory", "--configs", "tiny", "--cells", "lstm"), "tiny")
    assert len(rows) == 1
    rnnkit_mib, torch_mib = float(rows[0][2]), float(rows[0][3])
    assert rnnkit_mib > 0 and torch_mib > 0


def test_bench_names_trains_both_libraries():
    rows = {r[0]: r for r in table_rows(run_script("bench_names", "--epochs", "1"), "")}
    for library in ("rnnkit", "PyTorch"):
        assert 0.0 < float(rows[library][3]) <= 1.0  # a test accuracy


def test_bench_cells_rejects_unknown_names(capsys):
    """A misspelt mode used to be timed as inference under the misspelt name."""
    bench = load_bench_cells()
    for option, bad in (("--modes", "train"), ("--cells", "lsmt"), ("--configs", "huge")):
        with pytest.raises(SystemExit):
            bench.main([option, bad])
        assert f"{option}: unknown {bad}" in capsys.readouterr().err
