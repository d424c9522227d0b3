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


def _resave(tmp_path, damage_meta=None, damage_tensors=None):
    """A file with a valid checksum over damaged contents (what a buggy writer or a hand edit gives)."""
    from rnnkit import io

    x, y, lengths = toy_data(n=8)
    model = classifier()
    model.fit(x, y, lengths=lengths, epochs=1, batch_size=8, verbose=0)
    model.save(tmp_path / "m.safetensors")
    tensors, meta = io.load_file(tmp_path / "m.safetensors")
    if damage_meta:
        damage_meta(meta)
    if damage_tensors:
        damage_tensors(tensors)
    io.save_file(tmp_path / "bad.safetensors", tensors, meta)
    return tmp_path / "bad.safetensors"


@pytest.mark.parametrize("damage", [
    lambda meta: meta.update(seed=None),  # would silently draw a fresh seed: resuming no longer exact
    lambda meta: meta.update(seed=1.5),
    lambda meta: meta.update(epochs_trained=1.7),  # was truncated to 1
    lambda meta: meta.update(epochs_trained=-1),
    lambda meta: meta["model"].update(input_shape=[[1], 2]),
    lambda meta: meta["history"]["history"].update(loss="abc"),
    lambda meta: meta["history"].update(epochs=["a"]),
    lambda meta: meta.update(optimizer_state="yes"),
], ids=["seed-null", "seed-float", "epochs-float", "epochs-negative", "input-shape", "history-values",
        "history-epochs", "optimizer-state-flag"])
def test_metadata_of_the_wrong_type_is_refused_not_taken_on_trust(tmp_path, damage):
    with pytest.raises(ModelFileError, match="model metadata that rnnkit cannot read"):
        rnnkit.load(_resave(tmp_path, damage))


def _slot(tensors, slot):
    return next(k for k in sorted(tensors) if k.endswith(f"/{slot}"))


@pytest.mark.parametrize(("damage_meta", "damage_tensors", "message"), [
    (None, lambda t: t.pop("optimizer/iterations"), "lacks"),
    (None, lambda t: t.update({"optimizer/state/nope/zzz": np.zeros(2)}), "unexpected entry"),
    (None, lambda t: t.update({_slot(t, "exp_avg"): t[_slot(t, "exp_avg")].astype(np.float64)}), "float64"),
    (None, lambda t: t.update({_slot(t, "exp_avg"): np.zeros(7, np.float32)}), r"shape \(7,\)"),
    (None, lambda t: t.update({"optimizer/state/ghost/exp_avg": np.zeros(2, np.float32),
                               "optimizer/state/ghost/exp_avg_sq": np.zeros(2, np.float32),
                               "optimizer/state/ghost/step": np.array(1)}), "not a parameter"),
    (lambda m: m.update(optimizer_state=False), None, "saved without optimizer state"),
], ids=["missing-iterations", "unknown-entry", "slot-dtype", "slot-shape", "unknown-param", "state-not-declared"])
def test_damaged_optimizer_state_is_a_model_file_error_at_load(tmp_path, damage_meta, damage_tensors, message):
    """Not a bare ValueError, nor a model that loads and then fails (or trains in float64) at fit."""
    path = _resave(tmp_path, damage_meta, damage_tensors)
    with pytest.raises(ModelFileError, match=message) as caught:
        rnnkit.load(path)
    assert str(path) in str(caught.value)


def test_a_tensor_outside_params_and_optimizer_is_refused(tmp_path):
    path = _resave(tmp_path, damage_tensors=lambda t: t.update(stray=np.zeros(1)))
    with pytest.raises(ModelFileError, match="unexpected tensor 'stray'"):
        rnnkit.load(path)


def test_an_architecture_too_large_for_memory_is_a_model_file_error(tmp_path, monkeypatch):
    path = _resave(tmp_path)

    def build(self, input_shape):
        raise MemoryError("Unable to allocate 300 GiB")

    monkeypatch.setattr(Sequential, "build", build)
    with pytest.raises(ModelFileError, match="too large to build in memory"):
        rnnkit.load(path)


class _MeanOfSteps(rnnkit.Model):
    """A Model subclass as in examples/custom_model.py: no get_config, so rnnkit.load cannot rebuild it."""

    kind = "MeanOfSteps"

    def __init__(self, seed=0):
        super().__init__(seed=seed)
        self.head = Dense(3)

    def build(self, input_shape):
        self.input_shape = tuple(input_shape)
        self.head.build((input_shape[-1],), np.random.default_rng(self.seed))

    @property
    def params(self):
        return {f"head.{k}": v for k, v in self.head.params.items()}

    def output_lengths(self, x, lengths):
        return None

    def forward(self, x, lengths=None, training=False, rng=None):
        logits, cache = self.head.forward(x.mean(axis=1))
        return logits, None, (cache, x.shape)

    def backward(self, dy, cache):
        return {f"head.{k}": v for k, v in self.head.backward(dy, cache[0]).params.items()}


def test_a_custom_model_saves_its_weights_and_load_says_how_to_read_them(tmp_path):
    x, y, lengths = toy_data(n=16)
    model = _MeanOfSteps(seed=1)
    model.compile("adam", loss="sparse_categorical_crossentropy", lr=0.05)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    path = tmp_path / "custom.safetensors"
    model.save(path)  # was a bare NotImplementedError (and so was every ModelCheckpoint of such a model)

    again = _MeanOfSteps(seed=2)
    again.load_weights(path)
    for k, v in model.params.items():
        assert v.tobytes() == again.params[k].tobytes(), k
    np.testing.assert_array_equal(model.predict(x), again.predict(x))
    with pytest.raises(ModelFileError, match="type 'MeanOfSteps', which rnnkit.load cannot rebuild .*load_weights"):
        rnnkit.load(path)


def test_a_plain_callable_lr_trains_and_only_saving_refuses(tmp_path):
    x, y, lengths = toy_data()
    model = Sequential([LSTM(4), Dense(3)], seed=0)
    model.compile("adam", loss="sparse_categorical_crossentropy", lr=lambda epoch: 0.01 / (1 + epoch))
    model.fit(x, y, lengths=lengths, epochs=2, verbose=0)
    with pytest.raises(ValueError, match="lr is a plain callable, which cannot be saved"):
        model.save(tmp_path / "m.safetensors")
    assert not (tmp_path / "m.safetensors").exists()


def test_a_plain_callable_lr_still_lets_the_weights_be_saved(tmp_path):
    # save_weights (and checkpoints without the optimizer) hold no optimizer: its lr is no obstacle
    from rnnkit.training import ModelCheckpoint

    x, y, lengths = toy_data()
    model = Sequential([LSTM(4), Dense(3)], seed=0)
    model.compile("adam", loss="sparse_categorical_crossentropy", lr=lambda epoch: 0.01 / (1 + epoch))
    best = ModelCheckpoint(tmp_path / "best.safetensors", monitor="loss", include_optimizer=False)
    model.fit(x, y, lengths=lengths, epochs=2, verbose=0, callbacks=[best])
    model.save_weights(tmp_path / "w.safetensors")
    fresh = Sequential([LSTM(4), Dense(3)], seed=1)
    fresh.load_weights(tmp_path / "w.safetensors")
    again = rnnkit.load(tmp_path / "w.safetensors")
    assert again.compiled is None and again.epochs_trained == 2
    for other in (fresh, again):
        np.testing.assert_array_equal(other.predict(x, lengths=lengths), model.predict(x, lengths=lengths))
    assert rnnkit.load(tmp_path / "best.safetensors").epochs_trained == 2


def test_a_metric_given_as_a_function_is_logged_by_name_so_the_model_saves(tmp_path):
    # logged under the function object itself, history and every save raised a TypeError
    from rnnkit import metrics
    from rnnkit.training import ModelCheckpoint

    def top_margin(pred, target, lengths=None):
        return float(np.mean(pred.max(axis=-1)))

    x, y, lengths = toy_data()
    model = Sequential([LSTM(4), Dense(3)], seed=0)
    model.compile("adam", loss="sparse_categorical_crossentropy", metrics=[metrics.accuracy, top_margin])
    best = ModelCheckpoint(tmp_path / "best.safetensors", monitor="val_top_margin", mode="max")
    history = model.fit(x, y, lengths=lengths, epochs=2, validation_split=0.25, verbose=0, callbacks=[best])
    assert list(history.history) == ["loss", "accuracy", "top_margin", "val_loss", "val_accuracy", "val_top_margin"]
    model.save(tmp_path / "m.safetensors")
    fresh = Sequential([LSTM(4), Dense(3)], seed=1)
    fresh.load_weights(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(fresh.predict(x, lengths=lengths), model.predict(x, lengths=lengths))
    with pytest.raises(ModelFileError, match="with the metric 'top_margin', which is not one of rnnkit's"):
        rnnkit.load(tmp_path / "m.safetensors")

    model.compile("adam", loss="sparse_categorical_crossentropy", metrics=[metrics.accuracy])
    model.save(tmp_path / "m.safetensors")  # a built-in metric function loads by its name
    assert list(rnnkit.load(tmp_path / "m.safetensors").compiled.metrics) == ["accuracy"]
    with pytest.raises(ValueError, match="both be logged as 'accuracy'"):
        model.compile("adam", loss="mse", metrics=["accuracy", metrics.accuracy])


def test_a_loss_of_the_users_own_saves_and_load_says_how_to_read_the_weights(tmp_path):
    from rnnkit import losses

    class Halved(losses.MeanSquaredError):
        pass

    model = Sequential([GRU(3), Dense(1)], seed=0, input_shape=(None, 2))
    model.compile("sgd", loss=Halved())
    model.save(tmp_path / "m.safetensors")
    with pytest.raises(ModelFileError, match="with the loss 'Halved', which is not one of rnnkit's.*load_weights"):
        rnnkit.load(tmp_path / "m.safetensors")


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


def test_save_weights_writes_the_weights_that_load_weights_reads_into_an_unbuilt_model(tmp_path):
    from rnnkit import io

    x, y, lengths = toy_data()
    model = classifier()
    model.fit(x, y, lengths=lengths, epochs=1, batch_size=16, verbose=0)
    model.save_weights(tmp_path / "w.safetensors")
    tensors, _ = io.load_file(tmp_path / "w.safetensors")
    assert sorted(tensors) == sorted(f"params/{k}" for k in model.params)  # no optimizer state
    fresh = classifier(seed=5)
    fresh.load_weights(tmp_path / "w.safetensors")
    np.testing.assert_array_equal(fresh.predict(x, lengths=lengths), model.predict(x, lengths=lengths))
