"""Fixtures for the data-set tests: the project's shared/data folder (beside the repository in CI)
holds the originals the shipped copies came from; tests that need it skip when it is absent."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} is absent (the cross-checks against the originals need shared/ beside the repo)")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _strict_numpy():
    with np.errstate(all="raise"):
        yield
