"""predict and evaluate over many examples hold the whole data set's outputs once at most:
predict writes each batch into one (N, ...) array (not the batches and their concatenation),
evaluate scores the loss and the mean metrics batch by batch (not over the whole prediction),
validation_split takes views of the data. The results must be those of the whole-prediction
formulas they replace: predict's bit for bit, evaluate's to rounding."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit import Sequential, losses
from rnnkit import metrics as metric_functions
from rnnkit.layers import GRU, LSTM, Dense
from rnnkit.training.data import SequenceData, _finite_padding
from rnnkit.training.loop import batch_indices, no_grad, zero_padded_steps

N, T, F, C = 23, 9, 3, 4
LENGTHS = np.random.default_rng(7).integers(1, T, size=N)  # every sequence padded


def whole_prediction(model, x, lengths, batch_size):
    """predict as it was: the batches' outputs padded back to T one by one, then concatenated."""
    data = SequenceData.from_user(x, None, lengths)
    outputs = []
    for index in batch_indices(data, batch_size, "padded", rng=None):
        batch = data.take(index)
        with no_grad():
            y, y_lengths, _ = model.forward(batch.x, lengths=batch.lengths, training=False, rng=None)
        outputs.append(zero_padded_steps(y, y_lengths))
    if outputs[0].ndim >= 3 and data.lengths is not None:
        outputs = [np.pad(y, [(0, 0), (0, T - y.shape[1])] + [(0, 0)] * (y.ndim - 2)) for y in outputs]
    return np.concatenate(outputs, axis=0)


def top2(pred, target, lengths=None):
    """A metric of the user's: scored on the whole prediction at once."""
    top = np.argsort(pred, axis=-1)[..., -2:]
    hit = (top == np.asarray(target)[..., None]).any(axis=-1)
    if pred.ndim == 3 and lengths is not None:
        hit = hit[np.arange(pred.shape[1])[None, :] < np.asarray(lengths)[:, None]]
    return float(hit.mean())


def setup(per_step: bool, with_lengths: bool):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, T, F))
    y = rng.integers(0, C, size=(N, T) if per_step else N)
    m = Sequential([LSTM(6, return_sequences=per_step), Dense(C)], seed=1, dtype=np.float64)
    m.compile("adam", loss="sparse_categorical_crossentropy", metrics=["accuracy", top2])
    m.build((None, F))
    return m, x, y, (LENGTHS if with_lengths else None)


CASES = [(False, True), (True, True), (True, False), (False, False)]
IDS = ["last-step lengths", "per-step lengths", "per-step full", "last-step full"]


@pytest.mark.parametrize("per_step, with_lengths", CASES, ids=IDS)
@pytest.mark.parametrize("batch_size", [1, 5, 256])
def test_predict_is_bit_for_bit_the_concatenated_batches(per_step, with_lengths, batch_size):
    m, x, _, lengths = setup(per_step, with_lengths)
    got = m.predict(x, lengths=lengths, batch_size=batch_size)
    want = whole_prediction(m, x, lengths, batch_size)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("per_step, with_lengths", CASES, ids=IDS)
@pytest.mark.parametrize("batch_size", [1, 5, 256])
def test_evaluate_scored_by_batch_equals_the_whole_prediction_scored_at_once(per_step, with_lengths, batch_size):
    m, x, y, lengths = setup(per_step, with_lengths)
    pred = whole_prediction(m, x, lengths, 256)
    steps = lengths if per_step else None
    want = {"loss": losses.SparseCategoricalCrossentropy()(pred, y, steps)[0],
            "accuracy": metric_functions.accuracy(pred, y, steps), "top2": top2(pred, y, steps)}
    got = m.evaluate(x, y, lengths=lengths, batch_size=batch_size)
    assert list(got) == ["loss", "accuracy", "top2"]
    for key in want:
        assert got[key] == pytest.approx(want[key], rel=1e-12, abs=1e-15), key


@pytest.mark.parametrize("metric", ["r2_score", "bernoulli_nll"])
def test_evaluate_of_the_other_built_in_metrics_equals_the_whole_prediction_scored_at_once(metric):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(N, T, F))
    y = (rng.random(size=(N, T, C)) > 0.5).astype(np.float64)
    loss = "mse" if metric == "r2_score" else "binary_crossentropy"
    m = Sequential([GRU(5, return_sequences=True), Dense(C)], seed=0, dtype=np.float64)
    m.compile("sgd", loss=loss, metrics=[metric])
    m.build((None, F))
    pred = whole_prediction(m, x, LENGTHS, 256)
    got = m.evaluate(x, y, lengths=LENGTHS, batch_size=4)
    assert got["loss"] == pytest.approx(losses.get(loss)(pred, y, LENGTHS)[0], rel=1e-12)
    assert got[metric] == pytest.approx(metric_functions.get(metric)(pred, y, LENGTHS), rel=1e-12)


def test_evaluate_gives_a_metric_of_the_users_the_whole_prediction_and_the_mean_metrics_batches():
    m, x, y, lengths = setup(True, True)
    seen = {}

    def shapes(name, function):
        def metric(pred, target, lengths=None):
            seen.setdefault(name, []).append(pred.shape)
            return function(pred, target, lengths)
        metric.__name__ = name
        return metric

    m.compile("adam", loss="sparse_categorical_crossentropy",
              metrics=[metric_functions.accuracy, shapes("mine", top2)])
    m.evaluate(x, y, lengths=lengths, batch_size=10)
    assert seen == {"mine": [(N, T, C)]}  # once, on all N examples padded to T


def test_a_nan_prediction_in_one_batch_makes_the_evaluated_loss_and_accuracy_nan():
    m, x, y, lengths = setup(False, True)
    m.get_layer(index=1).params["b"][0] = np.nan
    logs = m.evaluate(x, y, lengths=lengths, batch_size=5)
    assert np.isnan(logs["loss"]) and np.isnan(logs["accuracy"])


def test_validation_split_takes_views_of_the_data_with_the_same_examples():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, T, F))
    data = SequenceData.from_user(x, rng.integers(0, C, N), LENGTHS)
    train, val = data.split(0.25)
    for part, index in ((train, np.arange(17)), (val, np.arange(17, N))):
        assert np.shares_memory(part.x, x)
        copy = data.take(index, trim=False)
        for a, b in ((part.x, copy.x), (part.y, copy.y), (part.lengths, copy.lengths)):
            np.testing.assert_array_equal(a, b)


def test_finite_padding_keeps_finite_data_as_is_and_zeroes_a_non_finite_filler():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, T, F)).astype(np.float32)
    assert _finite_padding(x, LENGTHS) is x
    huge = x.copy()
    huge[0, LENGTHS[0]:] = 3e38  # finite, but their sum overflows float32
    with np.errstate(all="raise"):
        assert _finite_padding(huge, LENGTHS) is huge
    for filler in (np.nan, np.inf, -np.inf):
        bad = x.copy()
        bad[3, LENGTHS[3]:] = filler
        bad[4, LENGTHS[4]:, 0] = -filler
        with np.errstate(all="raise"):
            fixed = _finite_padding(bad, LENGTHS)
        padded = np.arange(T)[None, :] >= LENGTHS[:, None]
        assert np.all(fixed[padded] == 0) and np.array_equal(fixed[~padded], x[~padded])
