"""Choosing between the reference cells (rnnkit.cells) and the compiled fast path.

Both follow the same contract (see rnnkit.cells). The backend is "auto" (compiled where a
kernel exists for the family), "fast" (compiled, error if unavailable) or "reference".

The compiled kernels (Numba, imported on first use): rnn.py, lstm.py, gru.py, one per family,
each equal to its reference cell (tests/kernels check every variant); _common.py holds what
they share and explains the optimisations, _blas.py calls NumPy's own BLAS from compiled code,
_buffers.py reuses large arrays between calls, _numba_startup.py keeps Numba's start-up from
importing scipy.linalg. Speed against PyTorch: BENCHMARKS.md.
"""

from __future__ import annotations

import contextlib
import importlib
from types import ModuleType

from rnnkit import cells
from rnnkit.kernels import _numba_startup

BACKENDS = ("auto", "fast", "reference")
_backend = "auto"


class KernelUnavailable(ImportError):
    """Raised on importing a compiled kernel that cannot run here (e.g. no usable BLAS found)."""


def get_backend() -> str:
    return _backend


def set_backend(name: str) -> None:
    """Select the cell implementation used by every recurrent layer from now on."""
    global _backend
    if name not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {name!r}")
    _backend = name


@contextlib.contextmanager
def backend(name: str):
    """Use backend `name` inside a with-block, e.g. ``with rnnkit.backend("reference"): ...``."""
    previous = get_backend()
    set_backend(name)
    try:
        yield
    finally:
        set_backend(previous)


def _compiled(family: str) -> ModuleType | None:
    # Imported on first use so that `import rnnkit` never pays for Numba.
    try:
        _numba_startup.prepare()
        return importlib.import_module(f"rnnkit.kernels.{family}")
    except ModuleNotFoundError as err:
        if err.name in (f"rnnkit.kernels.{family}", "numba", "llvmlite"):
            return None
        raise
    except KernelUnavailable:
        return None


def select(family: str) -> ModuleType:
    """The module whose forward/backward run the given cell family under the current backend."""
    reference = cells.FAMILIES[family]
    if _backend == "reference":
        return reference
    compiled = _compiled(family)
    if compiled is None:
        if _backend == "fast":
            raise RuntimeError(f"no compiled kernel is available for the {family!r} cell")
        return reference
    return compiled
