"""Checks of the scalar arguments of the public API, so that every "must be ..." error reads the
same and names its argument. A bool is not accepted as a number (LSTM(True) is a mistake, not
one unit); NumPy's integer and float scalars are."""

from __future__ import annotations

import numpy as np

_INTEGER = {0: "a non-negative integer", 1: "a positive integer"}


def integer(name: str, value, least: int = 1) -> int:
    """value as an int when it is an integer of at least `least`, else a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
        raise ValueError(f"{name} must be {_INTEGER.get(least, f'an integer >= {least}')}, got {value!r}")
    return int(value)


def real(name: str, value) -> float:
    """value as a float when it is a real number, else a ValueError naming it (ranges are the
    caller's to check, on the float this returns)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    return float(value)
