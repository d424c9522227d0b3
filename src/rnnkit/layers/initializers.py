"""Weight initialisers. Every one takes an explicit np.random.Generator."""

from __future__ import annotations

import numpy as np


def glorot_uniform(rng: np.random.Generator, shape: tuple[int, int], dtype) -> np.ndarray:
    """U(±√(6 / (fan_in + fan_out))): Keras' default for input kernels."""
    limit = np.sqrt(6.0 / (shape[0] + shape[1]))
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def orthogonal(rng: np.random.Generator, shape: tuple[int, int], dtype) -> np.ndarray:
    """A (semi-)orthogonal matrix: Keras' default for recurrent kernels (Saxe et al. 2014)."""
    rows, cols = shape
    a = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))  # makes the distribution uniform over orthogonal matrices
    return np.ascontiguousarray(q if rows >= cols else q.T, dtype=dtype)


def uniform_fan(rng: np.random.Generator, shape: tuple[int, ...], hidden: int, dtype) -> np.ndarray:
    """U(±1/√H): PyTorch's default for every weight and bias of its recurrent layers."""
    bound = 1.0 / np.sqrt(hidden)
    return rng.uniform(-bound, bound, size=shape).astype(dtype)
