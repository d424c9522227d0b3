"""Whether forward passes keep what backward needs.

Training keeps, for every step, the gates and states that backpropagation through time reads
(for an LSTM 7·H values per row and step). A pass whose outputs are only looked at (predict,
evaluate, generation) can skip writing them, which is faster and needs memory for one step
instead of T. ``with rnnkit.no_grad():`` marks such passes, as ``torch.no_grad()`` does; a
backward through a layer run inside it raises an error instead of returning wrong gradients.
The flag is a context variable, so threads and async tasks each see their own.
"""

from __future__ import annotations

import contextlib
import contextvars

__all__ = ["enable_grad", "is_grad_enabled", "no_grad"]

_enabled: contextvars.ContextVar[bool] = contextvars.ContextVar("rnnkit_grad_enabled", default=True)


def is_grad_enabled() -> bool:
    """True unless inside ``no_grad()`` (and not inside an ``enable_grad()`` within it)."""
    return _enabled.get()


@contextlib.contextmanager
def no_grad():
    """Run forward passes inside the with-block without keeping the backward caches."""
    token = _enabled.set(False)
    try:
        yield
    finally:
        _enabled.reset(token)


@contextlib.contextmanager
def enable_grad():
    """Keep the backward caches inside the with-block, even within no_grad(): for code that runs
    its own backward pass, as the diagnostics do, whatever its caller's mode."""
    token = _enabled.set(True)
    try:
        yield
    finally:
        _enabled.reset(token)
