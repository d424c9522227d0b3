"""The README's library example runs as written."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs(tmp_path, monkeypatch):
    code = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)[0]
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, str(README), "exec"), namespace)  # noqa: S102 — it is our own README
    assert (tmp_path / "model.safetensors").exists()
    assert namespace["model"].evaluate(namespace["x"], namespace["y"], lengths=namespace["lengths"])["accuracy"] > 0.9
