"""rnnkit.load(path, custom_objects=...): a model compiled with a loss or metric of the user's own
loads whole, optimizer state included, and resumes as if never interrupted (Keras's answer)."""

from __future__ import annotations

import numpy as np
import pytest

import rnnkit
from rnnkit import Sequential, losses
from rnnkit.io import ModelFileError
from rnnkit.layers import LSTM, Dense


class Scaled(losses.SparseCategoricalCrossentropy):
    """A loss of the user's own, with an argument the file does not record."""

    def __init__(self, factor: float = 1.0):
        self.factor = factor

    def _terms(self, z, y):
        value, grad = super()._terms(z, y)
        return self.factor * value, self.factor * grad


def top1(pred, target, lengths=None):
    return float(np.mean(np.argmax(pred, axis=-1) == target))


def data(n=40):
    rng = np.random.default_rng(3)
    lengths = rng.integers(2, 6, size=n)
    x = rng.normal(size=(n, 5, 2)).astype(np.float32)
    return x, (x[np.arange(n), lengths - 1, 0] > 0).astype(int), lengths


def model():
    m = Sequential([LSTM(4), Dense(2)], seed=5)
    return m.compile("adam", loss=Scaled(3.0), metrics=["accuracy", top1], lr=0.02)


def fit(m, epochs):
    x, y, lengths = data()
    m.fit(x, y, lengths=lengths, epochs=epochs, batch_size=8, validation_split=0.25, verbose=0)


def test_a_checkpoint_with_a_loss_and_metric_of_the_users_own_resumes_exactly(tmp_path):
    straight = model()
    fit(straight, 4)
    first = model()
    fit(first, 2)
    first.save(tmp_path / "m.safetensors")
    with pytest.raises(ModelFileError, match=r"the loss 'Scaled', which is not one of rnnkit's.*"
                                             r"custom_objects=\{'Scaled': \.\.\.\}.*load_weights"):
        rnnkit.load(tmp_path / "m.safetensors")
    with pytest.raises(ModelFileError, match=r"the metric 'top1'.*custom_objects=\{'top1': \.\.\.\}"):
        rnnkit.load(tmp_path / "m.safetensors", custom_objects={"Scaled": Scaled(3.0)})

    resumed = rnnkit.load(tmp_path / "m.safetensors", custom_objects={"Scaled": Scaled(3.0), "top1": top1})
    assert resumed.compiled.loss.factor == 3.0 and resumed.compiled.metrics["top1"] is top1
    fit(resumed, 2)
    for k, v in straight.params.items():
        assert np.array_equal(v, resumed.params[k]), k
    assert straight.history.history == resumed.history.history


def test_custom_objects_come_before_rnnkit_names_and_keep_the_files_metric_names(tmp_path):
    first = model()
    fit(first, 1)
    first.save(tmp_path / "m.safetensors")

    def constant(pred, target, lengths=None):  # logged as 'accuracy', the file's name, not 'constant'
        return 0.25

    given = {"Scaled": Scaled, "top1": top1, "accuracy": constant}
    again = rnnkit.load(tmp_path / "m.safetensors", custom_objects=given)
    assert type(again.compiled.loss) is Scaled and again.compiled.loss.factor == 1.0  # a class: instantiated
    x, y, lengths = data()
    scores = again.evaluate(x, y, lengths=lengths)
    assert scores["accuracy"] == 0.25 and list(again.compiled.metrics) == ["accuracy", "top1"]
    fit(again, 1)
    assert again.history.history["accuracy"][-1] == 0.25 and len(again.history.history["top1"]) == 2


def test_custom_objects_of_the_wrong_kind_are_the_callers_error(tmp_path):
    first = model()
    fit(first, 1)
    first.save(tmp_path / "m.safetensors")
    with pytest.raises(TypeError, match=r"custom_objects\['Scaled'\] is the file's loss, so it must be an "
                                        r"rnnkit.losses.Loss instance or subclass, got function"):
        rnnkit.load(tmp_path / "m.safetensors", custom_objects={"Scaled": top1, "top1": top1})
    with pytest.raises(TypeError, match=r"custom_objects\['top1'\] is one of the file's metrics.*got float"):
        rnnkit.load(tmp_path / "m.safetensors", custom_objects={"Scaled": Scaled(), "top1": 1.0})
    with pytest.raises(TypeError, match="custom_objects must be a dict of name -> "):
        rnnkit.load(tmp_path / "m.safetensors", custom_objects=[top1])
