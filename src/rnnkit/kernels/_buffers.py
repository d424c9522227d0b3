"""Reusing large arrays between calls, without changing what any call returns.

A training step allocates the same big arrays every time (the cache, d_x_proj: for the
128×100×512 LSTM each is ~105 MB). Arrays above glibc's mmap threshold come back from the
kernel as fresh pages that fault on first write; for those the faulting costs several times the
writing (15 ms per 105 MB measured here, ~7 % of a large training step).

``empty(shape, dtype)`` hands out a view of a pooled array that nothing else references any
more: while a caller still holds anything that came from it (the array, a view, a cache tuple),
the pool's reference count check sees it and allocates a new one instead. So reuse never
aliases live data; it only trades memory (at most MAX_BYTES of idle arrays) for page faults.
Arrays under MIN_BYTES, which malloc recycles cheaply, are plain np.empty.
"""

from __future__ import annotations

import math
import sys
import threading

import numpy as np

MIN_BYTES = 1 << 20
MAX_BYTES = 1 << 30  # idle arrays kept for reuse, in all

_pool: list[np.ndarray] = []  # 1-D arrays, oldest first
_lock = threading.Lock()


def _refcount(arrays: list, i: int) -> int:
    return sys.getrefcount(arrays[i])


_FREE_REFS = _refcount([np.empty(1)], 0)  # the count when only the pool's list holds it


def _idle(i: int) -> bool:
    return _refcount(_pool, i) <= _FREE_REFS


def empty(shape, dtype) -> np.ndarray:
    """np.empty(shape, dtype), reusing an idle pooled array of the same size when there is one."""
    dtype = np.dtype(dtype)
    size = math.prod(shape)
    if size * dtype.itemsize < MIN_BYTES:
        return np.empty(shape, dtype)
    with _lock:
        for i in range(len(_pool)):
            if _idle(i) and _pool[i].size == size and _pool[i].dtype == dtype:
                array = _pool.pop(i)
                _pool.append(array)  # most recently used last
                return array.reshape(shape)
        idle = [i for i in range(len(_pool)) if _idle(i)]  # oldest first
        excess = sum(_pool[i].nbytes for i in idle) + size * dtype.itemsize - MAX_BYTES
        evict = []
        while excess > 0 and len(evict) < len(idle):
            evict.append(idle[len(evict)])
            excess -= _pool[evict[-1]].nbytes
        for i in reversed(evict):
            del _pool[i]
        array = np.empty(size, dtype)
        _pool.append(array)
        return array.reshape(shape)


def clear() -> None:
    """Forget every pooled array (memory held by callers stays theirs)."""
    with _lock:
        _pool.clear()
