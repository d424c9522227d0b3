import numpy as np
import pytest

from rnnkit.datasets import hello


def test_hell_to_ello():
    x, y, vocabulary = hello.make()
    assert vocabulary == ("e", "h", "l", "o")
    assert x.shape == (1, 4, 4) and y.shape == (1, 4) and y.dtype == np.int64
    np.testing.assert_array_equal(x.sum(axis=-1), 1.0)
    assert "".join(vocabulary[k] for k in x[0].argmax(axis=-1)) == "hell"
    assert "".join(vocabulary[k] for k in y[0]) == "ello"


def test_other_word_and_error():
    x, y, vocabulary = hello.make("banana")
    assert x.shape == (1, 5, 3) and "".join(vocabulary[k] for k in y[0]) == "anana"
    with pytest.raises(ValueError):
        hello.make("a")
