"""Keeps Numba's start-up from importing scipy.linalg, which rnnkit never uses.

When Numba sets up its CPU target (the first compile, or the first load of cached machine
code), it imports numba.np.arraymath, and that module asks at import time whether a BLAS is
available for Numba's own np.dot: its probe imports scipy.linalg.cython_blas. With SciPy
installed that one import costs ~0.14 s of a ~0.5 s first call (measured with
``python -X importtime``), for a BLAS rnnkit does not use (kernels._blas calls NumPy's).

``arraymath`` keeps the probe's answer in one flag, read only when Numba compiles its own
np.correlate-style inner products. ``prepare()`` imports arraymath with a probe that answers the
same question without the import (is scipy.linalg installed?), then puts Numba's own probe
back, so Numba behaves as before and still imports cython_blas when it really compiles
something that needs it. On any Numba whose internals differ, it does nothing.
"""

from __future__ import annotations

import importlib.util
import sys
import threading

_lock = threading.Lock()  # two threads patching at once could leave the probe in place


def _scipy_linalg_installed() -> None:
    """Numba's probe answered from the installed packages: raises ImportError like the original
    when scipy.linalg is missing, and imports nothing beyond the scipy package itself."""
    if importlib.util.find_spec("scipy") is None or importlib.util.find_spec("scipy.linalg") is None:
        raise ImportError("scipy 0.16+ is required for linear algebra")


def prepare() -> None:
    if "numba.np.arraymath" in sys.modules:  # done, or Numba set itself up: nothing to do
        return
    with _lock:
        _import_arraymath_without_scipy_linalg()


def _import_arraymath_without_scipy_linalg() -> None:
    if "numba.np.arraymath" in sys.modules:
        return
    try:
        from numba.np import linalg
    except ImportError:
        return
    original = getattr(linalg, "ensure_blas", None)
    if original is None:
        return
    linalg.ensure_blas = _scipy_linalg_installed
    try:
        from numba.np import arraymath
    finally:
        linalg.ensure_blas = original
    if getattr(arraymath, "ensure_blas", None) is _scipy_linalg_installed:
        arraymath.ensure_blas = original
