"""Metrics on small hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit import metrics


def test_accuracy_sparse_and_one_hot_last_step():
    pred = np.array([[2.0, 1.0, 0.0], [0.0, 0.0, 5.0], [1.0, 3.0, 2.0], [9.0, 0.0, 0.0]])
    labels = np.array([0, 2, 0, 1])  # right, right, wrong, wrong
    assert metrics.accuracy(pred, labels) == 0.5
    assert metrics.accuracy(pred, np.eye(3)[labels]) == 0.5


def test_accuracy_per_step_masked():
    pred = np.zeros((2, 3, 2))
    pred[..., 1] = [[1.0, -1.0, 1.0], [1.0, 1.0, -1.0]]  # argmax: [[1, 0, 1], [1, 1, 0]]
    labels = np.array([[1, 1, 99], [1, 0, 0]])  # 99: padding, never read
    # Real steps: (0,0) ok, (0,1) wrong, (1,0) ok, (1,1) wrong, (1,2) ok -> 3 / 5.
    assert metrics.accuracy(pred, labels, np.array([2, 3])) == 0.6
    assert metrics.accuracy(pred[:, :2], labels[:, :2]) == 0.5


def test_accuracy_binary():
    logits = np.array([[3.0], [-1.0], [0.5], [-2.0]])
    y = np.array([[1.0], [1.0], [0.0], [0.0]])
    assert metrics.accuracy(logits, y) == 0.5
    assert metrics.accuracy(logits, y[:, 0]) == 0.5  # (B,) labels for a single logit
    # Multi-label (e.g. piano-roll notes): every unit of every real frame counts.
    z = np.array([[[1.0, -1.0], [1.0, 1.0]], [[-1.0, -1.0], [5.0, 5.0]]])
    t = np.array([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [0.0, 0.0]]])
    assert metrics.accuracy(z, t, np.array([2, 1]), binary=True) == pytest.approx(4 / 6)


def test_r2_score():
    y = np.array([[1.0], [2.0], [3.0], [4.0]])
    z = np.array([[1.0], [2.0], [3.0], [5.0]])
    # SSE = 1, SST = 5 (mean 2.5)
    assert metrics.r2_score(z, y) == pytest.approx(0.8)
    assert metrics.r2_score(y, y) == 1.0
    # Two units averaged: unit 0 as above (0.8); unit 1 predicts its mean (0.0).
    y2 = np.hstack([y, [[0.0], [2.0], [0.0], [2.0]]])
    z2 = np.hstack([z, np.ones((4, 1))])
    assert metrics.r2_score(z2, y2) == pytest.approx(0.4)
    # Constant target: 1 if hit exactly, else 0 (no division by zero).
    assert metrics.r2_score(np.ones((3, 1)), np.ones((3, 1))) == 1.0
    assert metrics.r2_score(np.zeros((3, 1)), np.ones((3, 1))) == 0.0


def test_r2_score_per_step_masked():
    y = np.array([[[1.0], [2.0], [np.nan]], [[3.0], [4.0], [np.nan]]])
    z = np.array([[[1.0], [2.0], [np.nan]], [[3.0], [5.0], [np.nan]]])
    assert metrics.r2_score(z, y, np.array([2, 2])) == pytest.approx(0.8)


def test_bernoulli_nll_per_frame():
    logits = np.zeros((1, 3, 4))  # every note has probability 1/2
    target = np.zeros((1, 3, 4))
    assert metrics.bernoulli_nll_per_frame(logits, target) == pytest.approx(4 * np.log(2))
    # Frame 2 is padding; frame 0 is predicted perfectly-ish, frame 1 at 1/2 per note.
    logits[0, 0] = [50.0, -50.0, -50.0, 50.0]
    target[0, 0] = [1.0, 0.0, 0.0, 1.0]
    logits[0, 2] = np.nan
    expected = (4 * np.log1p(np.exp(-50.0)) + 4 * np.log(2)) / 2
    assert metrics.bernoulli_nll_per_frame(logits, target, np.array([2])) == pytest.approx(expected)


def test_confusion_matrix():
    cm = metrics.confusion_matrix(np.array([0, 1, 2, 2, 1]), np.array([0, 2, 2, 1, 1]), 3)
    np.testing.assert_array_equal(cm, [[1, 0, 0], [0, 1, 1], [0, 1, 1]])
    assert cm.dtype == np.int64
    np.testing.assert_array_equal(metrics.confusion_matrix(np.array([], dtype=int), np.array([], dtype=int), 2),
                                  np.zeros((2, 2)))
    unsigned = metrics.confusion_matrix(np.array([0, 1], np.uint64), np.array([1, 1], np.uint64), 2)
    np.testing.assert_array_equal(unsigned, [[0, 1], [0, 1]])


def test_get():
    assert metrics.get("accuracy") is metrics.accuracy
    assert metrics.get("R2") is metrics.r2_score
    assert metrics.get(len) is len
    with pytest.raises(ValueError, match=r"unknown metric 'f1'; known: \['accuracy', 'bernoulli_nll',"):
        metrics.get("f1")


@pytest.mark.parametrize("call, match", [
    (lambda: metrics.accuracy(np.zeros((2, 3)), np.array([0, 3])), r"target labels must lie in \[0, C\) = \[0, 3\)"),
    (lambda: metrics.accuracy(np.zeros((2, 3)), np.zeros((2, 4, 3))), r"target must hold one-hot rows of shape \(B, C\) = \(2, 3\) or integer labels of shape \(B\) = \(2,\)"),
    (lambda: metrics.accuracy(np.zeros((2, 4, 3)), np.zeros(2, dtype=int)), r"shape \(B, T, C\) = \(2, 4, 3\) or integer labels of shape \(B, T\) = \(2, 4\)"),
    (lambda: metrics.accuracy(np.zeros((2, 4, 3)), np.zeros((2, 4), dtype=int), np.array([0, 0])), "at least one real step"),
    (lambda: metrics.r2_score(np.zeros((2, 1)), np.zeros((2, 2))), r"shape \(B, C\) = \(2, 1\)"),
    (lambda: metrics.bernoulli_nll_per_frame(np.zeros((1, 2, 3)), np.full((1, 2, 3), 3.0)), r"target must lie in \[0, 1\]"),
    (lambda: metrics.confusion_matrix(np.array([0, 1]), np.array([0]), 2), "same shape"),
    (lambda: metrics.confusion_matrix(np.array([0, 2]), np.array([0, 1]), 2), r"y_true labels must lie in \[0, num_classes\) = \[0, 2\)"),
    (lambda: metrics.confusion_matrix(np.array([0, 1]), np.array([0.0, 1.0]), 2), "y_pred must hold integer class labels"),
    (lambda: metrics.confusion_matrix(np.array([0]), np.array([0]), 0), "num_classes must be an integer >= 1"),
])
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_accuracy_of_a_diverged_model_is_nan_not_the_share_of_class_zero():
    nan = np.full((4, 3), np.nan, dtype=np.float32)
    assert np.isnan(metrics.accuracy(nan, np.zeros(4, dtype=int)))  # argmax would say 1.0
    assert np.isnan(metrics.accuracy(nan[:, :1], np.zeros(4)))  # nan > 0 is False, as the truth
    # NaN on padded steps is filler, never read
    pred = np.zeros((2, 3, 2), dtype=np.float32)
    pred[0, 2] = np.nan
    assert metrics.accuracy(pred, np.zeros((2, 3), dtype=int), np.array([2, 3])) == 1.0


def test_r2_of_a_diverged_model_is_nan_even_on_a_constant_target():
    # SST = 0 on a constant target: the "1 if hit exactly, else 0" rule would score NaN as 0.0,
    # which beats a fair negative r2 when a checkpoint or early stop maximises val_r2
    y = np.ones((3, 2))
    z = np.array([[np.nan, 1.0], [1.0, 1.0], [1.0, 1.0]])
    assert np.isnan(metrics.r2_score(z, y))
    assert np.isnan(metrics.r2_score(z[::-1], np.hstack([y[:, :1], [[0.0], [1.0], [2.0]]])))
    # NaN on a padded step is filler, never read
    pred = np.zeros((2, 3, 1))
    pred[0, 2] = np.nan
    assert metrics.r2_score(pred, np.zeros((2, 3, 1)), np.array([2, 3])) == 1.0
