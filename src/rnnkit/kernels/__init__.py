"""Choosing between the reference cells (rnnkit.cells) and the compiled fast path.

Both follow the same contract (see rnnkit.cells). The backend is "auto" (compiled where a
kernel exists for the family), "fast" (compiled, error if unavailable) or "reference".
set_backend(name) sets the process-wide choice; ``with backend(name):`` overrides it inside the
block for the running thread (or async task) only, as ``no_grad()`` does, so a diagnostic that
switches to the reference cells never changes the backend under another thread's training.

The compiled kernels (Numba, imported on first use): rnn.py, lstm.py, gru.py, one per family,
each equal to its reference cell (tests/kernels check every variant); _common.py holds what
they share and explains the optimisations, _blas.py calls NumPy's own BLAS from compiled code,
_buffers.py reuses large arrays between calls, _numba_startup.py keeps Numba's start-up from
importing scipy.linalg. Speed against PyTorch: BENCHMARKS.md.
"""

from __future__ import annotations

import contextvars
import importlib
from types import ModuleType

from rnnkit import cells
from rnnkit.kernels import _numba_startup

__all__ = ["BACKENDS", "KernelUnavailable", "backend", "get_backend", "select", "set_backend"]

BACKENDS = ("auto", "fast", "reference")
_default = "auto"  # set_backend's process-wide choice
_override: contextvars.ContextVar[str | None] = contextvars.ContextVar("rnnkit_backend", default=None)


class KernelUnavailable(ImportError):
    """Raised on importing a compiled kernel that cannot run here (e.g. no usable BLAS found)."""


def _checked(name: str) -> str:
    if name not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {name!r}")
    return name


def get_backend() -> str:
    """The backend in force here: the innermost ``with backend(...)`` of this thread, else
    set_backend's choice."""
    override = _override.get()
    return _default if override is None else override


def set_backend(name: str) -> None:
    """Select the cell implementation used by every recurrent layer from now on, in every thread
    (a ``with backend(...)`` block still overrides it inside the block)."""
    global _default
    _default = _checked(name)


class backend:
    """``with rnnkit.backend("reference"): ...`` runs the block's recurrent layers on that backend
    (this thread only); the name is checked at once. To switch for good, call set_backend."""

    def __init__(self, name: str):
        self.name = _checked(name)
        self._tokens: list[contextvars.Token] = []

    def __enter__(self) -> "backend":
        self._tokens.append(_override.set(self.name))
        return self

    def __exit__(self, *exc) -> None:
        _override.reset(self._tokens.pop())


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
    chosen = get_backend()
    if chosen == "reference":
        return reference
    compiled = _compiled(family)
    if compiled is None:
        if chosen == "fast":
            raise RuntimeError(f"no compiled kernel is available for the {family!r} cell")
        return reference
    return compiled
