"""fit end to end, one test per output pattern, plus the failure modes users meet."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit import Sequential
from rnnkit.layers import GRU, LSTM, Bidirectional, Dense, Embedding, SimpleRNN
from rnnkit.training import EarlyStopping, ModelCheckpoint, TrainingError


def binary_subtraction():
    a, b = np.meshgrid(np.arange(16), np.arange(16), indexing="ij")
    keep = b <= a
    a, b = a[keep], b[keep]
    bits = lambda v: (v[:, None] >> np.arange(4)) & 1  # noqa: E731  (LSB first)
    x = np.stack([bits(a), bits(b)], axis=-1).astype(np.float32)
    return x, bits(a - b)


def test_many_to_many_binary_subtraction_learns_every_bit():
    x, y = binary_subtraction()
    model = Sequential([SimpleRNN(8, return_sequences=True), Dense(1)], seed=0)
    model.compile("adam", loss="binary_crossentropy", metrics=["accuracy"], lr=0.05)
    model.fit(x, y[..., None], epochs=60, batch_size=8, verbose=0)
    logs = model.evaluate(x, y[..., None])
    assert logs["accuracy"] == 1.0, logs


def test_many_to_one_regression_echo():
    rng = np.random.default_rng(0)
    s = rng.uniform(size=401)
    x = np.stack([s[:-1], s[1:]], axis=1)[..., None].astype(np.float32)
    y = s[:-1, None]
    model = Sequential([GRU(8), Dense(1)], seed=0)
    model.compile("adam", loss="mse", metrics=["r2"], lr=0.02)
    first = model.evaluate(x, y)["loss"]
    model.fit(x[:300], y[:300], epochs=40, batch_size=16, verbose=0)
    logs = model.evaluate(x[300:], y[300:])
    assert logs["r2"] > 0.95 and logs["loss"] < first / 20, logs


@pytest.mark.parametrize("batching", ["padded", "bucket"])
def test_many_to_one_classification_variable_length(batching):
    """Class = which of 3 symbols occurs most often in a variable-length sequence."""
    rng = np.random.default_rng(1)
    n = 600
    lengths = rng.integers(3, 12, size=n)
    ids = rng.integers(1, 4, size=(n, 11))
    ids[np.arange(11)[None, :] >= lengths[:, None]] = 0
    y = np.array([np.bincount(row[row > 0], minlength=4)[1:].argmax() for row in ids])
    onehot = np.eye(4, dtype=np.float32)[ids][..., 1:]
    model = Sequential([LSTM(16), Dense(3)], seed=0)
    model.compile("adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"], lr=0.02)
    model.fit(onehot[:500], y[:500], lengths=lengths[:500], epochs=25, batch_size=32, batching=batching,
              verbose=0)
    acc = model.evaluate(onehot[500:], y[500:], lengths=lengths[500:])["accuracy"]
    assert acc > 0.8, acc  # chance is about 1/3


def test_embedding_mask_zero_feeds_lengths_through_fit():
    rng = np.random.default_rng(2)
    ids = rng.integers(1, 20, size=(64, 8))
    ids[:32, 5:] = 0
    y = (ids[:, 0] > 10).astype(int)
    model = Sequential([Embedding(20, 4, mask_zero=True), GRU(4), Dense(2)], seed=0)
    model.compile("sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"], lr=0.1)
    model.fit(ids, y, epochs=1, verbose=0)
    np.testing.assert_allclose(model.predict(ids[:1]), model.predict(ids[:1, :5]), atol=1e-6)


def test_non_finite_loss_names_epoch_and_batch_and_keeps_checkpoint(tmp_path):
    x = np.random.default_rng(0).normal(size=(32, 4, 2)).astype(np.float32)
    y = np.ones((32, 1), dtype=np.float32)
    model = Sequential([SimpleRNN(4), Dense(1)], seed=0)
    model.compile("sgd", loss="mse", lr=0.01)
    checkpoint = tmp_path / "best.safetensors"
    model.fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[ModelCheckpoint(checkpoint, monitor="loss")])
    saved = checkpoint.read_bytes()
    x_bad = x.copy()
    x_bad[20, 1, 0] = np.inf
    with pytest.raises(TrainingError, match=r"epoch 2, batch \d"):
        with np.errstate(invalid="ignore", over="ignore"):
            model.fit(x_bad, y, epochs=1, batch_size=8, shuffle=False, verbose=0,
                      callbacks=[ModelCheckpoint(checkpoint, monitor="loss")])
    assert checkpoint.read_bytes() == saved
    assert all(np.all(np.isfinite(p)) for p in model.params.values())


def test_early_stopping_restores_best_weights():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 3, 1)).astype(np.float32)
    y = rng.normal(size=(40, 1)).astype(np.float32)  # noise: validation loss soon stops improving
    model = Sequential([SimpleRNN(16), Dense(1)], seed=0)
    model.compile("adam", loss="mse", lr=0.05)
    stopper = EarlyStopping(patience=2, restore_best_weights=True)
    model.fit(x, y, epochs=100, validation_split=0.25, callbacks=[stopper], verbose=0)
    assert stopper.stopped_epoch is not None and model.epochs_trained < 100
    assert model.evaluate(x[30:], y[30:])["loss"] == pytest.approx(stopper.best, rel=1e-5)


@pytest.mark.parametrize(
    "action,error,message",
    [
        (lambda m, x, y: m.compile("adamx"), ValueError, "adamx"),
        (lambda m, x, y: m.compile("adam", loss="hinge_loss"), ValueError, "hinge_loss"),
        (lambda m, x, y: m.fit(x, np.full(len(x), 7), verbose=0), ValueError, "y|target|label"),
        (lambda m, x, y: m.fit(x, np.zeros((len(x), 5, 3)), verbose=0), ValueError, "shape"),
        (lambda m, x, y: m.fit(x[:0], y[:0], verbose=0), ValueError, "x"),
        (lambda m, x, y: m.fit(x, y, batch_size=0, verbose=0), ValueError, "batch_size"),
        (lambda m, x, y: m.fit(x, y, batching="sorted", verbose=0), ValueError, "batching"),
        (lambda m, x, y: m.fit(x, y, lengths=np.full(len(x), 2.5), verbose=0), ValueError, "lengths must be integers"),
        (lambda m, x, y: m.predict(x, lengths=[np.nan] * len(x)), ValueError, "lengths must be integers"),
        (lambda m, x, y: m.evaluate(x, y, lengths=["2"] * len(x)), ValueError, "lengths must be integers"),
        (lambda m, x, y: m.compile("adam", clipnorm="1"), ValueError, "clipnorm must be a number"),
    ],
)
def test_bad_arguments_raise_clear_errors(action, error, message):
    x = np.zeros((10, 5, 2), dtype=np.float32)
    y = np.zeros(10, dtype=int)
    model = Sequential([LSTM(3), Dense(3)], seed=0)
    model.compile("adam", loss="sparse_categorical_crossentropy")
    with pytest.raises(error, match=message):
        action(model, x, y)


def test_last_step_targets_as_wide_as_t_are_not_cut_like_per_step_ones():
    # y (N, C) with C == T: only the model's output (one per sequence) says they are not per step
    rng = np.random.default_rng(0)
    x = rng.normal(size=(24, 5, 2)).astype(np.float32)
    lengths = rng.integers(1, 4, size=24)  # every batch is cut to at most 3 steps
    y = rng.normal(size=(24, 5)).astype(np.float32)
    runs = []
    for x_given in (x, np.pad(x, [(0, 0), (0, 1), (0, 0)])):  # T = 5 = C, then T = 6
        model = Sequential([LSTM(4), Dense(5)], seed=0)
        model.compile("adam", loss="mse", lr=0.01)
        model.fit(x_given, y, lengths=lengths, epochs=2, batch_size=8, verbose=0)
        runs.append(model.params)
    assert all(np.array_equal(runs[0][k], runs[1][k]) for k in runs[0])


def test_sequential_refuses_layers_that_return_several_arrays():
    for layer in (LSTM(4, return_state=True), Bidirectional(GRU(3), merge_mode=None)):
        with pytest.raises(ValueError, match="returns several arrays"):
            Sequential([layer, Dense(2)])


def test_early_stopping_counts_patience_as_keras():
    class Model:
        params = {}

    stopper = EarlyStopping(monitor="val_loss", patience=2)
    stops = [stopper.on_epoch_end(Model(), e, {"val_loss": v}) for e, v in enumerate([3.0, 2.0, 2.5, 2.1, 1.0])]
    assert stops == [False, False, False, True, False] and stopper.stopped_epoch == 3


def test_early_stopping_minimises_the_negative_log_likelihood():
    assert EarlyStopping(monitor="val_bernoulli_nll").mode == "min"
    assert EarlyStopping(monitor="val_accuracy").mode == "max"
    assert EarlyStopping(monitor="loss").mode == "min"


def _noisy_model(weight_noise):
    model = Sequential([GRU(5, return_sequences=True), Dense(1)], seed=3, input_shape=(None, 2))
    return model.compile("sgd", loss="mse", lr=0.1, weight_noise=weight_noise)


def test_weight_noise_takes_the_gradient_at_noisy_weights_and_updates_the_clean_ones():
    from rnnkit.training.data import SequenceData
    from rnnkit.training.loop import train_step

    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 6, 2)).astype(np.float32)
    y = rng.standard_normal((4, 6, 1)).astype(np.float32)
    model = _noisy_model(0.05)
    clean = {k: v.copy() for k, v in model.params.items()}
    train_step(model, SequenceData(x, y, None), model.compiled, np.random.default_rng(7), 0, 0)

    # the same noise drawn by hand, the gradient at the noisy weights, one SGD step from clean
    twin = _noisy_model(0.0)
    draw = np.random.default_rng(7)
    for k, v in twin.params.items():
        v += draw.normal(0.0, 0.05, size=v.shape).astype(v.dtype)
    out, out_lengths, cache = twin.forward(x, lengths=None, training=True, rng=draw)
    _, d_out = twin.compiled.loss(out, y, out_lengths)
    grads = twin.backward(d_out, cache)
    moved = False
    for k, v in model.params.items():
        np.testing.assert_allclose(v, clean[k] - 0.1 * grads[k], rtol=0, atol=1e-6)
        moved |= not np.allclose(grads[k], 0)
    assert moved


def test_weight_noise_is_seeded_saved_and_checked(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((16, 5, 2)).astype(np.float32)
    y = rng.standard_normal((16, 5, 1)).astype(np.float32)
    runs = []
    for _ in range(2):
        model = _noisy_model(0.1)
        model.fit(x, y, epochs=2, batch_size=4, verbose=0)
        runs.append(model.params)
    plain = _noisy_model(0.0)
    plain.fit(x, y, epochs=2, batch_size=4, verbose=0)
    for k in runs[0]:
        assert np.array_equal(runs[0][k], runs[1][k])  # same seed, same noise, same model
    assert any(not np.array_equal(runs[0][k], plain.params[k]) for k in plain.params)

    model.save(tmp_path / "m.safetensors")
    from rnnkit import load

    assert load(tmp_path / "m.safetensors").compiled.weight_noise == 0.1
    with pytest.raises(ValueError, match="weight_noise"):
        _noisy_model(-0.1)


def _averaging_model(ema):
    model = Sequential([GRU(6, return_sequences=True), Dense(1)], seed=4, input_shape=(None, 2))
    return model.compile("adam", loss="mse", lr=0.05, ema=ema)


def test_ema_validates_checkpoints_and_ends_on_the_averaged_weights(tmp_path):
    from rnnkit import load

    rng = np.random.default_rng(2)
    x = rng.standard_normal((24, 5, 2)).astype(np.float32)
    y = np.cumsum(x[..., :1], axis=1)
    val = (x[:8] * 0.5, y[:8] * 0.5)
    live = _averaging_model(None)
    live.fit(x, y, epochs=3, batch_size=4, validation_data=val, verbose=0)
    model = _averaging_model(0.9)
    checkpoint = ModelCheckpoint(tmp_path / "best.safetensors", monitor="val_loss")
    history = model.fit(x, y, epochs=3, batch_size=4, validation_data=val, callbacks=[checkpoint], verbose=0)

    # the averaging never feeds back: the training loss is the live model's, the weights are not
    np.testing.assert_array_equal(history.history["loss"], live.history.history["loss"])
    assert all(not np.array_equal(model.params[k], live.params[k]) for k in model.params)
    # fit returns the averages, and they are what the last validation measured
    assert model.evaluate(*val)["loss"] == pytest.approx(history.history["val_loss"][-1], rel=1e-6)
    best = load(tmp_path / "best.safetensors")
    assert best.compiled.optimizer.ema == 0.9
    assert best.evaluate(*val)["loss"] == pytest.approx(min(history.history["val_loss"]), rel=1e-6)


def test_an_update_that_overflows_the_weights_stops_training_and_is_never_checkpointed(tmp_path):
    # Finite loss and gradient, but lr · gradient overflows float32: the weights would be inf.
    x = np.random.default_rng(0).normal(size=(16, 5, 2)).astype(np.float32)
    y = np.full((16, 1), 100.0, dtype=np.float32)
    model = Sequential([SimpleRNN(4), Dense(1)], seed=0)
    model.compile("sgd", loss="mse", lr=1e38)
    checkpoint = tmp_path / "best.safetensors"
    model.build((None, 2))
    with pytest.raises(TrainingError, match=r"weights after the update are not finite at epoch 1, batch 1"):
        with np.errstate(over="ignore", invalid="ignore"):
            model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[ModelCheckpoint(checkpoint, monitor="loss")])
    assert not checkpoint.exists() and model.epochs_trained == 0 and model.history.history == {}


class _FixedGradient:
    """A one-weight model whose gradient is whatever the test sets."""

    def __init__(self, gradient):
        self.params = {"w": np.zeros(3, dtype=np.float32)}
        self.gradient = np.asarray(gradient, dtype=np.float32)

    def forward(self, x, lengths=None, training=False, rng=None):
        return x[:, -1, :1], None, None

    def backward(self, dy, cache):
        return {"w": self.gradient.copy()}


def _step(model, optimizer, **compile_options):
    from rnnkit import losses
    from rnnkit.training import Compiled
    from rnnkit.training.data import SequenceData
    from rnnkit.training.loop import train_step

    compiled = Compiled(loss=losses.get("mse"), loss_name="mse", optimizer=optimizer, **compile_options)
    x = np.ones((2, 1, 1), dtype=np.float32)
    train_step(model, SequenceData(x, np.zeros((2, 1), dtype=np.float32), None), compiled, None, 0, 0)


def test_a_huge_but_finite_gradient_is_not_mistaken_for_an_overflow():
    from rnnkit import optim

    model = _FixedGradient([3e19, -3e19, 1e19])  # finite, but its float32 sum of squares is inf
    _step(model, optim.SGD(lr=1e-19))
    np.testing.assert_allclose(model.params["w"], [-3.0, 3.0, -1.0], rtol=1e-6)


def test_an_infinite_gradient_stops_training_even_when_clipping_would_make_it_finite():
    from rnnkit import optim

    model = _FixedGradient([np.inf, 1.0, 1.0])
    with pytest.raises(TrainingError, match="the gradient is not finite at epoch 1, batch 1"):
        _step(model, optim.SGD(lr=0.1), clipvalue=1.0)
    assert np.array_equal(model.params["w"], np.zeros(3))


@pytest.mark.parametrize("batching", ["padded", "bucket"])
def test_an_epochs_logs_are_the_mean_over_its_real_steps_as_evaluate_gives(batching):
    # lr = 0: the weights stay put, so the epoch's training logs must equal evaluate's, however
    # the batches mix short and long sequences (each real step counts once, not each sequence)
    rng = np.random.default_rng(0)
    lengths = np.where(np.arange(32) % 2 == 0, 2, 20)
    x = rng.normal(size=(32, 20, 3)).astype(np.float32)
    y = (np.cumsum(x[..., :1], axis=1) > 0).astype(np.float32)
    model = Sequential([GRU(6, return_sequences=True), Dense(1)], seed=0)
    model.compile("sgd", loss="binary_crossentropy", metrics=["accuracy"], lr=0.0)
    history = model.fit(x, y, lengths=lengths, epochs=1, batch_size=8, batching=batching, verbose=0)
    logs = model.evaluate(x, y, lengths=lengths)
    for key, value in logs.items():
        assert history.history[key][0] == pytest.approx(value, rel=1e-5), key


def test_checkpoint_initial_value_threshold_keeps_a_better_checkpoint_on_resume(tmp_path):
    # a resumed fit starts its ModelCheckpoint afresh: without the threshold its first epoch would
    # overwrite the better model saved before the break
    x = np.random.default_rng(0).normal(size=(32, 6, 2)).astype(np.float32)
    y = x.sum(axis=(1, 2))[:, None]
    model = Sequential([SimpleRNN(4), Dense(1)], seed=0)
    model.compile("sgd", loss="mse", lr=0.0)  # every epoch logs the same loss
    path = tmp_path / "best.safetensors"
    loss = model.evaluate(x, y)["loss"]
    kept = ModelCheckpoint(path, monitor="loss", initial_value_threshold=loss / 2)
    model.fit(x, y, epochs=2, verbose=0, callbacks=[kept])
    assert not path.exists() and kept.best == loss / 2 and kept.best_epoch is None
    beaten = ModelCheckpoint(path, monitor="loss", initial_value_threshold=2 * loss)
    model.fit(x, y, epochs=1, verbose=0, callbacks=[beaten])
    assert path.exists() and beaten.best_epoch == 2
    for bad in ("0.5", float("nan")):
        with pytest.raises(ValueError, match="initial_value_threshold must be a number"):
            ModelCheckpoint(path, initial_value_threshold=bad)


def test_one_example_without_its_batch_axis_is_told_to_add_it():
    import rnnkit
    from rnnkit.layers import Dense, SimpleRNN

    model = rnnkit.Sequential([SimpleRNN(2), Dense(1)], seed=0, input_shape=(None, 1))
    with pytest.raises(ValueError, match=r"\(N, T, F\) or \(N, T\) for ids, got shape \(7,\) \(one example: pass x\[None\]\)"):
        model.predict(np.zeros(7))


def test_x_without_a_feature_axis_or_with_mixed_feature_sizes_gets_told_what_is_wrong():
    import rnnkit
    from rnnkit.layers import GRU, Dense

    model = rnnkit.Sequential([GRU(2), Dense(1)], seed=0)
    model.compile("sgd", loss="mse")
    with pytest.raises(ValueError, match=r"no feature axis; give x\[\.\.\., None\]"):
        model.fit(np.zeros((4, 5)), np.zeros((4, 1)), verbose=0)
    with pytest.raises(ValueError, match=r"x: the examples must share one shape .* got shapes \[\(3, 1\), \(3, 2\)\]"):
        model.fit([np.zeros((3, 1)), np.zeros((3, 2))], np.zeros((2, 1)), verbose=0)


def test_validation_data_must_say_its_lengths_when_training_has_them():
    # (x_val, y_val) beside fit(lengths=...) scored validation over its padding, silently
    import rnnkit
    from rnnkit.layers import GRU, Dense

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(6, 4, 1)), rng.normal(size=(6, 1))
    lengths = np.array([4, 2, 3, 1, 4, 2])
    model = rnnkit.Sequential([GRU(2), Dense(1)], seed=0)
    model.compile("sgd", loss="mse")
    with pytest.raises(ValueError, match=r"validation_data: the training data has lengths .* pass \(x, y, lengths\)"):
        model.fit(x, y, lengths=lengths, validation_data=(x, y), verbose=0)
    with pytest.raises(ValueError, match=r"validation_data must be a tuple \(x, y\) or \(x, y, lengths\), got dict"):
        model.fit(x, y, validation_data={"x": x, "y": y}, verbose=0)
    model.fit(x, y, lengths=lengths, validation_data=(x, y, None), verbose=0)  # said: all full length
    model.fit(x, y, lengths=lengths, validation_data=(x, y, lengths), verbose=0)
    assert len(model.history.history["val_loss"]) == 2
