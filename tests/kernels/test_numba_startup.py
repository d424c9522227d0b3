"""The first use of the kernels does not import scipy.linalg, and Numba works as before."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

FIRST_STEP = (
    "import sys\n"
    "import numpy as np\n"
    "from rnnkit.layers import LSTM\n"
    "layer = LSTM(4, return_sequences=True)\n"
    "x = np.zeros((2, 3, 5), dtype=np.float32)\n"
    "layer.build(x.shape[1:], rng=0)\n"
    "out, cache = layer.forward(x, training=True)\n"
    "layer.backward(np.ones_like(out), cache)\n"
)


def run(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.skipif(importlib.util.find_spec("scipy") is None, reason="scipy is not installed")
def test_first_step_does_not_import_scipy_linalg():
    out = run(FIRST_STEP + "print('numba' in sys.modules, 'scipy.linalg' in sys.modules)")
    assert out.split() == ["True", "False"]


def test_numba_keeps_its_blas_answer_and_its_own_dot():
    # the flag Numba's probe would have set, and Numba's np.dot still compiling afterwards
    code = FIRST_STEP + (
        "import importlib.util\n"
        "from numba import njit\n"
        "from numba.np import arraymath, linalg\n"
        "expected = importlib.util.find_spec('scipy') is not None\n"
        "assert arraymath._HAVE_BLAS is expected, arraymath._HAVE_BLAS\n"
        "assert arraymath.ensure_blas is linalg.ensure_blas\n"
        "if expected:\n"
        "    dot = njit(lambda a, b: np.dot(a, b))\n"
        "    print(dot(np.arange(3.0), np.arange(3.0)))\n"
    )
    out = run(code)
    if importlib.util.find_spec("scipy") is not None:
        assert out.split() == ["5.0"]
