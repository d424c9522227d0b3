"""Writing rnnkit's plots leaves matplotlib as the user had it: pyplot forced the Agg backend on
the whole process (a notebook's inline plots stopped showing)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import sys
    import matplotlib
    import numpy as np

    matplotlib.use("svg")
    from rnnkit.cli.plots import plot_confusion, plot_curves
    from rnnkit.diagnostics import gradient_flow
    from rnnkit.diagnostics.plots import plot_gate_saturation, plot_gradient_flow
    import rnnkit
    from rnnkit.layers import LSTM, Dense

    folder = sys.argv[1]
    plot_curves({"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}, f"{folder}/curves.png")
    plot_confusion(np.array([[3, 1], [0, 4]]), ["a", "b"], f"{folder}/confusion.png")
    model = rnnkit.Sequential([LSTM(3), Dense(2)], seed=0, input_shape=(4, 2))
    model.compile("sgd", loss="sparse_categorical_crossentropy")
    flow = gradient_flow(model, np.ones((2, 4, 2), np.float32), np.array([0, 1]))
    plot_gradient_flow({"lstm": flow}, f"{folder}/flow.png")
    plot_gate_saturation({"lstm": flow.gates}, f"{folder}/gates.png")
    assert matplotlib.get_backend() == "svg", matplotlib.get_backend()
    assert "matplotlib.pyplot" not in sys.modules
""")


def test_plots_neither_switch_the_backend_nor_use_pyplot(tmp_path):
    subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], check=True, timeout=300)
    for name in ("curves", "confusion", "flow", "gates"):
        assert (tmp_path / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
