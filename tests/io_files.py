"""Shared by the model-file tests: a small set of tensors with metadata, and a file of them."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.io import save_file

METADATA = {"arch": {"cell": "lstm", "sizes": [3, 5, 2], "bidirectional": False}, "train": {"loss": 0.25, "epochs": 3}}


def _tensors(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "cell.Wx": rng.standard_normal((3, 20)).astype(np.float32),
        "cell.b": rng.standard_normal(20),  # float64
        "vocab": rng.integers(-(2**40), 2**40, size=7),  # int64
    }


def _assert_same(loaded: dict[str, np.ndarray], original: dict[str, np.ndarray]) -> None:
    assert loaded.keys() == original.keys()
    for name, array in original.items():
        assert loaded[name].dtype == array.dtype, name
        np.testing.assert_array_equal(loaded[name], array, err_msg=name)


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "model.safetensors"
    save_file(path, _tensors(), METADATA)
    return path


def _header_end(data: bytes) -> int:
    return 8 + int.from_bytes(data[:8], "little")
