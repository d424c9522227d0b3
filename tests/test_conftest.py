"""--require-torch (CI) fails a run in which a PyTorch comparison was skipped, however it skipped."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

CONFTEST = Path(__file__).with_name("conftest.py")


@pytest.mark.parametrize("test_file", [
    # skipped while running: the test carries the 'torch' marker
    "import pytest\n\n@pytest.mark.torch\ndef test_x():\n    pytest.importorskip('no_torch_here', reason='torch is the reference')\n",
    # skipped while collecting: no test report carries a marker then
    "import pytest\n\npytest.importorskip('no_torch_here', reason='PyTorch is the reference')\n\ndef test_x():\n    pass\n",
])
def test_a_skipped_torch_comparison_fails_a_require_torch_run(tmp_path, test_file):
    (tmp_path / "conftest.py").write_text(CONFTEST.read_text())
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    torch: compares against PyTorch\n")
    (tmp_path / "test_skips.py").write_text(test_file)

    def run(*args):
        return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
                              cwd=tmp_path, capture_output=True, text=True, timeout=120)

    assert run().returncode in (0, pytest.ExitCode.NO_TESTS_COLLECTED)  # a module skipped whole collects none
    required = run("--require-torch")
    assert required.returncode == 1 and "PyTorch comparison test(s) were skipped" in required.stdout, required.stdout
