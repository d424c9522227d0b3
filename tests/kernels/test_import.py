"""`import rnnkit` must not pay for Numba: the kernels are imported on first use."""

from __future__ import annotations

import subprocess
import sys


def test_import_rnnkit_does_not_import_numba():
    code = "import sys, rnnkit; sys.exit(3 if 'numba' in sys.modules else 0)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr or "numba was imported by `import rnnkit`"


def test_kernels_import_numba_only_when_selected():
    code = (
        "import sys, rnnkit\n"
        "from rnnkit import kernels\n"
        "assert 'numba' not in sys.modules\n"
        "with kernels.backend('fast'):\n"
        "    kernels.select('lstm')\n"
        "sys.exit(0 if 'numba' in sys.modules else 3)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
