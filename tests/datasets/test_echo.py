import numpy as np
import pytest

from rnnkit.datasets import echo


@pytest.mark.parametrize(("split", "n"), [("train", 200), ("test", 50)])
def test_shipped_files_have_the_source_md_counts_and_construction(split, n):
    x, y = echo.load(split)
    assert x.shape == (n, 2, 1) and y.shape == (n,)
    assert x.dtype == y.dtype == np.float64
    np.testing.assert_array_equal(y, x[:, 0, 0])  # step-2 target = the previous input
    np.testing.assert_array_equal(x[1:, 0, 0], x[:-1, 1, 0])  # one uniform stream, shifted by one
    assert 0.0 <= x.min() and x.max() < 1.0


def test_generate_is_deterministic_and_has_the_same_construction():
    x, y = echo.generate(7, np.random.default_rng(3))
    x2, y2 = echo.generate(7, np.random.default_rng(3))
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(x, echo.generate(7, np.random.default_rng(4))[0])
    assert x.shape == (7, 2, 1) and y.shape == (7,)
    np.testing.assert_array_equal(y, x[:, 0, 0])
    np.testing.assert_array_equal(x[1:, 0, 0], x[:-1, 1, 0])


def test_errors():
    with pytest.raises(ValueError, match="split"):
        echo.load("valid")
    with pytest.raises(ValueError):
        echo.generate(0, np.random.default_rng(0))
