"""Access to the data files shipped inside the package (``rnnkit/data/<name>/``).

Nothing is downloaded: every file is read from the installed package through
``importlib.resources``, so the loaders work from a wheel, an editable install or a checkout.
"""

from __future__ import annotations

import io
from importlib import resources
from importlib.resources.abc import Traversable

import numpy as np


def data_file(*parts: str) -> Traversable:
    """The shipped file ``rnnkit/data/<parts...>``; FileNotFoundError names it if it is missing."""
    path = resources.files("rnnkit").joinpath("data", *parts)
    if not path.is_file():
        where = "/".join(parts)
        raise FileNotFoundError(f"rnnkit data file not found: data/{where} (is the package installed with its data?)")
    return path


def read_bytes(*parts: str) -> bytes:
    return data_file(*parts).read_bytes()


def read_text(*parts: str) -> str:
    """The file decoded as UTF-8. Newlines are NOT translated (callers split on "\\n" themselves)."""
    return read_bytes(*parts).decode("utf-8")


def load_npz(*parts: str) -> dict[str, np.ndarray]:
    """All arrays of a shipped .npz, read eagerly, never unpickling."""
    with np.load(io.BytesIO(read_bytes(*parts)), allow_pickle=False) as z:
        return {key: z[key] for key in z.files}
