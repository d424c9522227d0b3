"""Binary subtraction a - b (notes seed 002, "13 - 6 = 7"; ai-edu ch19 Level2): a 4-step many-to-many task.

All pairs of 4-bit numbers with 0 <= b <= a <= 15 (136 pairs), ordered by a, then b. Bits run
least significant first, so the borrow travels forward in time: time step t holds bit t.
``x[i, t] = [bit_t(a), bit_t(b)]`` and ``y[i, t] = bit_t(a - b)``.
Example: 13 - 6 = 7 -> a = [1, 0, 1, 1], b = [0, 1, 1, 0], y = [1, 1, 1, 0].

Equal to ai-edu's ch19.train_minus.npz (which is also its test set) element for element.
"""

from __future__ import annotations

import numpy as np

__all__ = ["bits", "from_bits", "generate"]


def bits(values: np.ndarray, num_bits: int = 4) -> np.ndarray:
    """Integers (...,) -> their bits (..., num_bits) uint8, least significant bit first."""
    values = np.asarray(values)
    return ((values[..., None] >> np.arange(num_bits)) & 1).astype(np.uint8)


def from_bits(b: np.ndarray) -> np.ndarray:
    """Bits (..., num_bits), least significant first -> integers (...,) int64."""
    b = np.asarray(b).astype(np.int64)
    return (b << np.arange(b.shape[-1])).sum(axis=-1)


def generate(num_bits: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Every pair 0 <= b <= a < 2**num_bits.

    Returns x (B, T, 2) uint8 and y (B, T) uint8 with T = num_bits and B = 2**num_bits * (2**num_bits + 1) / 2
    (136 for 4 bits). Also handy: ``from_bits(x[..., 0]) - from_bits(x[..., 1]) == from_bits(y)``.
    """
    a, b = np.tril_indices(2**num_bits)  # row-major: a ascending, then b ascending, b <= a
    x = np.stack([bits(a, num_bits), bits(b, num_bits)], axis=-1)  # (B, T, 2)
    return x, bits(a - b, num_bits)
