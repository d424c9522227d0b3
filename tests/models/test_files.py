"""Model files: identical predictions after a round trip, resume bit for bit, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

import rnnkit
from rnnkit import Sequential
from rnnkit.io import ModelFileError
from rnnkit.layers import GRU, LSTM, Bidirectional, Dense


def classifier(seed=0):
    model = Sequential([Bidirectional(LSTM(6)), Dense(3)], seed=seed)
    model.compile("adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"], lr=0.01, clipnorm=1.0)
    return model


def toy_data(n=48, seed=1):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(2, 7, size=n)
    x = rng.normal(size=(n, 6, 2)).astype(np.float32)
    y = (x[np.arange(n), lengths - 1, 0] > 0).astype(int) + (lengths > 4)
    return x, y, lengths


def test_save_load_gives_identical_predictions(tmp_path):
    x, y, lengths = toy_data()
    model = classifier()
    model.fit(x, y, lengths=lengths, epochs=2, batch_size=16, verbose=0)
    model.save(tmp_path / "m.safetensors")
    again = rnnkit.load(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(model.predict(x, lengths=lengths), again.predict(x, lengths=lengths))
    assert again.epochs_trained == 2 and again.history.history["loss"] == model.history.history["loss"]


def test_ten_epochs_equal_five_saved_loaded_and_five_more(tmp_path):
    x, y, lengths = toy_data()
    straight = classifier(seed=7)
    straight.fit(x, y, lengths=lengths, epochs=10, batch_size=8, verbose=0)

    first = classifier(seed=7)
    first.fit(x, y, lengths=lengths, epochs=5, batch_size=8, verbose=0)
    first.save(tmp_path / "half.safetensors", include_optimizer=True)
    resumed = rnnkit.load(tmp_path / "half.safetensors")
    resumed.fit(x, y, lengths=lengths, epochs=5, batch_size=8, verbose=0)
    for k, v in straight.params.items():
        assert np.array_equal(v, resumed.params[k]), k
    assert straight.history.history["loss"] == resumed.history.history["loss"]


@pytest.mark.parametrize("batching", ["padded", "bucket"])
def test_resume_is_exact_with_every_random_and_scheduled_part_of_training(tmp_path, batching):
    from rnnkit import optim
    from rnnkit.layers import Dropout

    x, y, lengths = toy_data()

    def model():
        m = Sequential([LSTM(5, return_sequences=True), Dropout(0.3), GRU(4), Dense(3)], seed=2)
        m.compile("adamw", loss="sparse_categorical_crossentropy", metrics=["accuracy"], clipnorm=1.0,
                  weight_noise=0.05, lr=optim.StepDecay(0.02, drop_every=2, factor=0.5))
        return m

    def fit(m, epochs):
        m.fit(x, y, lengths=lengths, epochs=epochs, batch_size=8, validation_split=0.25, batching=batching,
              verbose=0)

    straight = model()
    fit(straight, 5)
    first = model()
    fit(first, 2)
    first.save(tmp_path / "m.safetensors")
    resumed = rnnkit.load(tmp_path / "m.safetensors")
    fit(resumed, 3)
    assert all(np.array_equal(v, resumed.params[k]) for k, v in straight.params.items())
    assert straight.history.history == resumed.history.history


def test_same_seed_same_model_bit_for_bit():
    x, y, lengths = toy_data()
    a, b = classifier(seed=3), classifier(seed=3)
    for m in (a, b):
        m.fit(x, y, lengths=lengths, epochs=2, batch_size=8, verbose=0)
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)


def test_flipped_byte_truncation_and_wrong_architecture_raise(tmp_path):
    x, y, lengths = toy_data()
    model = classifier()
    model.fit(x, y, lengths=lengths, epochs=1, verbose=0)
    path = tmp_path / "m.safetensors"
    model.save(path)
    blob = path.read_bytes()

    flipped = bytearray(blob)
    flipped[-10] ^= 0xFF
    (tmp_path / "flipped.safetensors").write_bytes(bytes(flipped))
    with pytest.raises(ModelFileError, match="corrupt"):
        rnnkit.load(tmp_path / "flipped.safetensors")

    (tmp_path / "short.safetensors").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(ModelFileError):
        rnnkit.load(tmp_path / "short.safetensors")

    other = Sequential([Bidirectional(GRU(6)), Dense(3)])
    other.build((None, 2))
    with pytest.raises(ModelFileError, match="missing tensor|expected"):
        other.load_weights(path)


@pytest.mark.parametrize("damage", [
    lambda meta: meta.pop("model"),
    lambda meta: meta.pop("seed"),
    lambda meta: meta["model"]["config"]["layers"][1]["config"].update(colour="red"),
    lambda meta: meta["compile"].pop("optimizer"),
])
def test_a_checksummed_file_with_damaged_metadata_is_a_model_file_error(tmp_path, damage):
    from rnnkit import io

    model = classifier()
    model.build((None, 2))
    model.save(tmp_path / "m.safetensors")
    tensors, meta = io.load_file(tmp_path / "m.safetensors")
    damage(meta)
    io.save_file(tmp_path / "bad.safetensors", tensors, meta)  # a valid checksum over bad metadata
    with pytest.raises(ModelFileError, match="model metadata that rnnkit cannot read"):
        rnnkit.load(tmp_path / "bad.safetensors")


def test_a_plain_callable_lr_trains_and_only_saving_refuses(tmp_path):
    x, y, lengths = toy_data()
    model = Sequential([LSTM(4), Dense(3)], seed=0)
    model.compile("adam", loss="sparse_categorical_crossentropy", lr=lambda epoch: 0.01 / (1 + epoch))
    model.fit(x, y, lengths=lengths, epochs=2, verbose=0)
    with pytest.raises(ValueError, match="lr is a plain callable, which cannot be saved"):
        model.save(tmp_path / "m.safetensors")
    assert not (tmp_path / "m.safetensors").exists()


def test_failed_save_keeps_previous_file(tmp_path, monkeypatch):
    model = classifier()
    model.build((None, 2))
    path = tmp_path / "m.safetensors"
    model.save(path)
    before = path.read_bytes()
    import os

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        model.save(path)
    assert path.read_bytes() == before
