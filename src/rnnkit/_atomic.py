"""The files rnnkit writes beside a model (a run's history, plots and JSON, the diagnostics'
plots) written whole or not at all: a Ctrl-C or a full disk mid-write leaves the previous file
(or none), never a truncated one. (Model files have their own, fsync'ed, writer in rnnkit.io.)"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Call write(tmp) on a temporary sibling of `path`, then rename it into place."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
