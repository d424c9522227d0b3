"""The buffer pool reuses only arrays that nothing references any more."""

from __future__ import annotations

import numpy as np

from rnnkit.kernels import _buffers


def address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def test_an_idle_array_is_reused_and_a_referenced_one_never():
    shape = (512, 1024)  # 2 MiB of float32: pooled
    first = _buffers.empty(shape, np.float32)
    where = address(first)
    del first
    second = _buffers.empty((1024, 512), np.float32)  # same size, another shape
    assert address(second) == where
    held = (second[7],)  # any view keeps it alive
    del second
    third = _buffers.empty(shape, np.float32)
    assert address(third) != where
    assert held[0].base is not None


def test_small_arrays_are_plain_and_the_pool_is_bounded(monkeypatch):
    assert _buffers.empty((3, 4), np.float64).base is None
    monkeypatch.setattr(_buffers, "MAX_BYTES", 3 << 20)
    for _ in range(5):
        _buffers.empty((1 << 20,), np.float32)  # 4 MiB each, dropped at once
    assert sum(a.nbytes for a in _buffers._pool) <= 4 << 20
    _buffers.clear()
    assert not _buffers._pool
