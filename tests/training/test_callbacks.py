"""The callback hooks a fit calls, ReduceLROnPlateau (Keras's counting, the rate it leaves in the
optimizer and in saved files) and CSVLogger (History.write_csv's file, one row per finished epoch)."""

from __future__ import annotations

import numpy as np
import pytest

import rnnkit
from rnnkit import optim
from rnnkit.layers import Dense, SimpleRNN
from rnnkit.training import Callback, CSVLogger, History, ReduceLROnPlateau


def toy(n=24, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5, 2)).astype(np.float32)
    return x, x.sum(axis=(1, 2))[:, None]


def small_model(lr=0.01, metrics=()):
    model = rnnkit.Sequential([SimpleRNN(4), Dense(1)], seed=0)
    return model.compile("adam", loss="mse", metrics=metrics, lr=lr)


class Recorder(Callback):
    def __init__(self):
        self.events, self.batch_logs = [], []

    def on_train_begin(self, model):
        self.events.append("train_begin")

    def on_epoch_begin(self, model, epoch):
        self.events.append(("epoch_begin", epoch, model.compiled.optimizer.epoch))

    def on_batch_end(self, model, batch, logs):
        self.events.append(("batch_end", batch))
        self.batch_logs.append(logs)

    def on_epoch_end(self, model, epoch, logs):
        self.events.append(("epoch_end", epoch))
        return False

    def on_train_end(self, model):
        self.events.append("train_end")


def test_hooks_run_in_keras_order_and_batch_logs_are_the_running_epoch_means():
    x, y = toy()
    model, plain = small_model(metrics=["r2"]), small_model(metrics=["r2"])
    recorder = Recorder()
    history = model.fit(x, y, epochs=2, batch_size=8, callbacks=[recorder], verbose=0)
    batches = [("batch_end", b) for b in range(3)]
    assert recorder.events == ["train_begin",
                               ("epoch_begin", 0, 0), *batches, ("epoch_end", 0),
                               ("epoch_begin", 1, 1), *batches, ("epoch_end", 1), "train_end"]
    # the last batch's running means are the epoch's logs; each batch has its own dict
    for epoch in (0, 1):
        last = recorder.batch_logs[3 * epoch + 2]
        assert last == {k: history.history[k][epoch] for k in ("loss", "r2")}
    assert recorder.batch_logs[0]["loss"] != recorder.batch_logs[1]["loss"]
    # observing changes nothing
    plain.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert all(np.array_equal(v, plain.params[k]) for k, v in model.params.items())


def test_history_keys_keep_the_logged_order_in_every_process():
    # a set of the keys ordered them by string hashes, which PYTHONHASHSEED changes per process
    keys = [f"metric_{i}" for i in range(10)]
    history = History()
    history.on_epoch_end(None, 0, {k: float(i) for i, k in enumerate(keys)})
    history.on_epoch_end(None, 1, {"late": 1.0, **{k: 0.0 for k in reversed(keys)}})
    assert list(history.history) == [*keys, "late"]
    assert history.history["late"][0] != history.history["late"][0] and history.history["late"][1] == 1.0
    x, y = toy()
    fitted = small_model(metrics=["r2"]).fit(x, y, epochs=1, batch_size=8, validation_split=0.25, verbose=0)
    assert list(fitted.history) == ["loss", "r2", "val_loss", "val_r2"]  # Keras's order


def test_only_callbacks_with_their_own_batch_hook_are_called_per_batch():
    from rnnkit.training.callbacks import overrides

    assert overrides(Recorder(), "on_batch_end") and not overrides(History(), "on_batch_end")
    assert not overrides(ReduceLROnPlateau(), "on_batch_end")


class _Compiled:
    def __init__(self, lr):
        self.optimizer = optim.SGD(lr=lr)


class _Model:
    params: dict = {}

    def __init__(self, lr=1.0):
        self.compiled = _Compiled(lr)


def _rates(callback, values, lr=1.0):
    model = _Model(lr)
    callback.on_train_begin(model)
    rates = []
    for epoch, value in enumerate(values):
        assert callback.on_epoch_end(model, epoch, {"loss": value}) is False  # never stops training
        rates.append(model.compiled.optimizer.lr)
    return rates


def test_reduce_lr_counts_patience_as_keras_and_stops_at_min_lr():
    reduce = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=2, min_delta=0.1, min_lr=0.2)
    values = [3, 3, 3, 3, 3, 2, 1.95, 3, 3, 3, 3]  # 1.95 improves on 2 by less than min_delta
    assert _rates(reduce, values) == [1, 1, 0.5, 0.5, 0.25, 0.25, 0.25, 0.2, 0.2, 0.2, 0.2]
    assert reduce.best == 2 and reduce.wait == 3  # at the floor the count goes on, as in Keras


def test_reduce_lr_patience_zero_reduces_after_every_epoch_without_improvement():
    assert _rates(ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0), [3, 3, 2, 3]) == [1, 0.5, 0.5, 0.25]


def test_reduce_lr_cooldown_skips_that_many_epochs_as_documented():
    # cooldown=2: the two epochs after a reduction are not counted (Keras's code counts the second)
    reduce = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, cooldown=2)
    assert _rates(reduce, [3] * 7) == [1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25]
    # an improvement during the cooldown still sets the best that later epochs must beat
    reduce = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, cooldown=1)
    assert _rates(reduce, [3, 3, 1, 2, 2]) == [1, 0.5, 0.5, 0.25, 0.25]
    assert reduce.best == 1


def test_reduce_lr_starts_afresh_with_every_fit():
    reduce = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1)
    _rates(reduce, [1, 2])
    assert _rates(reduce, [3, 3]) == [1, 0.5]  # 3 is a first value again, not worse than 1


def test_reduced_rate_trains_the_next_epochs_and_is_saved_with_the_model(tmp_path):
    x, y = toy()
    model = small_model(lr=0.01)
    # min_delta this large: only the first epoch counts as an improvement, so the rate halves
    # after the second epoch and after the third
    reduce = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=1e9)
    model.fit(x, y, epochs=3, batch_size=8, callbacks=[reduce], verbose=0)
    assert model.compiled.optimizer.lr == 0.0025

    by_hand = small_model(lr=0.01)
    by_hand.fit(x, y, epochs=2, batch_size=8, verbose=0)
    by_hand.compiled.optimizer.lr = 0.005
    by_hand.fit(x, y, epochs=1, batch_size=8, verbose=0)
    by_hand.compiled.optimizer.lr = 0.0025
    assert all(np.array_equal(v, by_hand.params[k]) for k, v in model.params.items())

    model.save(tmp_path / "m.safetensors")
    loaded = rnnkit.load(tmp_path / "m.safetensors")
    assert loaded.compiled.optimizer.lr == 0.0025
    for m in (loaded, by_hand):
        m.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert all(np.array_equal(v, by_hand.params[k]) for k, v in loaded.params.items())


def test_reduce_lr_refuses_a_schedule_before_training():
    x, y = toy()
    model = small_model(lr=optim.StepDecay(0.01, drop_every=2))
    with pytest.raises(ValueError, match="lr is the schedule StepDecay"):
        model.fit(x, y, epochs=2, callbacks=[ReduceLROnPlateau(monitor="loss")], verbose=0)
    assert model.epochs_trained == 0


@pytest.mark.parametrize("kwargs,message", [
    ({"factor": 1.0}, "factor must lie in"), ({"factor": 0}, "factor must lie in"),
    ({"patience": -1}, "patience"), ({"cooldown": 1.5}, "cooldown"),
    ({"min_lr": -1e-3}, "min_lr"), ({"min_delta": -1}, "min_delta"), ({"mode": "up"}, "mode"),
])
def test_reduce_lr_checks_its_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ReduceLROnPlateau(**kwargs)


def test_csv_logger_writes_history_csv_epoch_by_epoch_and_appends_on_resume(tmp_path):
    x, y = toy(32)
    path = tmp_path / "log.csv"
    model = small_model(metrics=["r2"])
    model.fit(x, y, epochs=2, batch_size=8, validation_split=0.25, callbacks=[CSVLogger(path)], verbose=0)
    model.fit(x, y, epochs=1, batch_size=8, validation_split=0.25, callbacks=[CSVLogger(path, append=True)],
              verbose=0)
    model.history.write_csv(tmp_path / "whole.csv")
    assert path.read_text() == (tmp_path / "whole.csv").read_text()
    assert path.read_text().splitlines()[0] == "epoch,loss,r2,val_loss,val_r2"

    with pytest.raises(ValueError, match="columns"):  # no validation now: the file's columns differ
        model.fit(x, y, epochs=1, callbacks=[CSVLogger(path, append=True)], verbose=0)
    model.fit(x, y, epochs=1, callbacks=[CSVLogger(path, separator=";")], verbose=0)  # afresh
    assert path.read_text().splitlines() == ["epoch;loss;r2", f"5;{model.history.history['loss'][-1]!r};"
                                             f"{model.history.history['r2'][-1]!r}"]


def test_csv_logger_keeps_every_finished_epoch_when_training_fails(tmp_path):
    class Fail(Callback):
        def on_epoch_end(self, model, epoch, logs):
            if epoch == 1:
                raise RuntimeError("disk full")
            return False

    x, y = toy()
    path = tmp_path / "log.csv"
    with pytest.raises(RuntimeError, match="disk full"):
        small_model().fit(x, y, epochs=5, callbacks=[CSVLogger(path), Fail()], verbose=0)
    assert [line.split(",")[0] for line in path.read_text().splitlines()] == ["epoch", "1", "2"]


def test_checkpoint_path_templates_name_the_epoch_and_logged_values(tmp_path):
    # Keras users write "ck-{epoch:02d}-{val_loss:.3f}": it was saved under that literal name
    from rnnkit.training import ModelCheckpoint

    x, y = toy()
    model = small_model()
    every = ModelCheckpoint(tmp_path / "ck-{epoch:02d}-{loss:.3f}.safetensors", monitor="loss", save_best_only=False)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[every])
    losses = model.history.history["loss"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"ck-{e + 1:02d}-{v:.3f}.safetensors"
                                                          for e, v in enumerate(losses)]
    with pytest.raises(ValueError, match="not a valid name template"):
        ModelCheckpoint(tmp_path / "ck-{epoch:02d.safetensors")
    with pytest.raises(ValueError, match="names 'val_r2', which is not among the logged values"):
        small_model().fit(x, y, epochs=1, verbose=0,
                          callbacks=[ModelCheckpoint(tmp_path / "{val_r2}.safetensors", monitor="loss")])


def test_a_val_monitor_without_validation_data_says_what_it_needs():
    from rnnkit.training import EarlyStopping

    x, y = toy()
    with pytest.raises(ValueError, match="EarlyStopping: monitor 'val_loss' is not among.*need validation_data"):
        small_model().fit(x, y, epochs=1, verbose=0, callbacks=[EarlyStopping()])
