"""The long-dependency tasks `adding` and `copy`: generated data, lengths from the option, metrics."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit import tasks
from rnnkit.tasks import adding, copy


def test_adding_marks_one_number_in_each_half_and_sums_them():
    x, y = adding.generate(200, 30, np.random.default_rng(0))
    assert x.shape == (200, 30, 2) and y.shape == (200, 1) and x.dtype == y.dtype == np.float32
    marks = x[:, :, 1]
    assert np.all(marks.sum(axis=1) == 2)
    assert np.all(marks[:, :15].sum(axis=1) == 1) and np.all(marks[:, 15:].sum(axis=1) == 1)
    assert np.allclose((x[:, :, 0] * marks).sum(axis=1), y[:, 0])
    assert np.all((x[:, :, 0] >= 0) & (x[:, :, 0] < 1))


def test_adding_task_length_option_splits_and_accuracy():
    task = tasks.get("adding")
    options = task.parse_options({"length": "12", "samples": "40"})
    data = task.load(options, seed=3)
    assert (len(data.train), len(data.val), len(data.test)) == (40, 1000, 1000)
    assert data.train.x.shape[1:] == (12, 2) and data.meta["input_shape"] == [12, 2]
    assert not np.array_equal(data.train.x[:40], data.val.x[:40])
    again = task.load(options, seed=3)
    assert np.array_equal(again.test.x, data.test.x)  # every split from the seed
    always_one = np.ones_like(data.test.y)
    assert abs(adding.accuracy(always_one, data.test.y) - 0.078) < 0.03  # the stated baseline
    assert adding.accuracy(data.test.y, data.test.y) == 1.0
    with pytest.raises(ValueError, match="length"):
        task.load(task.parse_options({"length": 1}))


def test_copy_layout():
    T, K, A = 6, 3, 4
    x, y = copy.generate(50, T, K, A, np.random.default_rng(1))
    assert x.shape == (50, T + 2 * K, A + 2) and y.shape == (50, T + 2 * K)
    ids = x.argmax(-1)
    assert np.all(x.sum(-1) == 1)
    assert np.all(ids[:, :K] < A)  # the symbols
    assert np.all(ids[:, K : T + K - 1] == A) and np.all(ids[:, T + K - 1] == A + 1)  # gap, go
    assert np.all(ids[:, T + K :] == A)
    assert np.all(y[:, : T + K] == A) and np.array_equal(y[:, T + K :], ids[:, :K])  # recall


def test_copy_task_recall_accuracy():
    task = tasks.get("copy")
    options = task.parse_options({"length": 4, "symbols": 2, "alphabet": 3, "samples": 8})
    data = task.load(options, seed=0)
    assert data.meta["input_shape"] == [8, 5] and data.meta["classes"] == ["0", "1", "2", "blank"]

    class Oracle:  # predicts the test targets exactly: logits peaked at the right class
        def predict(self, x):
            assert x is data.test.x
            return np.eye(4)[data.test.y] * 10.0

        def evaluate(self, x, y):
            return {"loss": 0.0, "accuracy": 1.0}

    logs = task.evaluate(Oracle(), data, "test")
    assert logs["accuracy"] == 1.0 and logs["step_accuracy"] == 1.0
