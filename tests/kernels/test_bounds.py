"""The compiled kernels index arrays without bounds checks (Numba's default, and needed for
speed): an index past the end reads or overwrites memory silently, and the damage shows up, if
at all, as a crash somewhere else later. So the kernel tests run once more in a fresh process
with NUMBA_BOUNDSCHECK=1, where every such index raises IndexError instead.

float64 only: the float32 specialisations index exactly the same way (only the activations
differ), and each dtype costs a full compile of every kernel. The bounds-checked code is
compiled into a cache directory of its own, so it never replaces the fast code in the real
cache (and a cached unchecked build is never picked up here).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECKED = ["test_rnn.py", "test_lstm.py", "test_gru.py", "test_contract.py",
           "test_previous_state.py", "test_blas.py"]
SELECTION = "not float32 and not inputs_are_not_modified"  # the tests that would compile float32


def test_kernel_tests_pass_with_bounds_checking(tmp_path):
    env = {**os.environ, "NUMBA_BOUNDSCHECK": "1", "NUMBA_CACHE_DIR": str(tmp_path)}
    files = [str(Path(__file__).with_name(name)) for name in CHECKED]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-k", SELECTION, *files],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200, check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout.splitlines()[-1]
