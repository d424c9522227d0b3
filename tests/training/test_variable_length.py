"""Variable-length data through the model verbs (fit, evaluate, predict) end to end: a padded
batch with lengths must act as the sequences fed one at a time, whatever fills the padding and
however the data are batched."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit import Sequential
from rnnkit.layers import GRU, LSTM, Bidirectional, Dense

LENGTHS = np.array([6, 2, 3, 1, 6, 4, 5, 2])
T, F, C = 7, 3, 4  # T > max(LENGTHS): every sequence has padding


def data(per_step: bool, seed: int = 0):
    """x with junk in its padding, the same x padded with zeros, targets (per step or last)."""
    rng = np.random.default_rng(seed)
    N = len(LENGTHS)
    x = rng.normal(size=(N, T, F))
    padded = np.arange(T)[None, :] >= LENGTHS[:, None]
    clean = np.where(padded[..., None], 0.0, x)
    junk = np.where(padded[..., None], 1e3 * rng.normal(size=x.shape), x)
    y = rng.integers(0, C, size=(N, T) if per_step else N)
    return clean, junk, y


def model(per_step: bool, lr: float = 0.5):
    m = Sequential([Bidirectional(GRU(5, return_sequences=per_step)), Dense(C)], seed=3, dtype=np.float64)
    m.compile("sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"], lr=lr)
    return m


def alone(y, i, per_step):
    """Sequence i's targets fed alone, unpadded."""
    return y[i : i + 1, : LENGTHS[i]] if per_step else y[i : i + 1]


@pytest.mark.parametrize("per_step", [False, True], ids=["many-to-one", "many-to-many"])
def test_one_sgd_step_on_a_padded_batch_is_the_weighted_mean_of_the_steps_on_each_sequence(per_step):
    # The batch loss is the mean over its real outputs (one per sequence, or per real step), so
    # its gradient is Σ n_i g_i / Σ n_i; with plain SGD one step on the batch therefore ends on
    # the n-weighted mean of the weights one step on each sequence alone ends on. Junk padding
    # must change nothing.
    clean, junk, y = data(per_step)
    counts = LENGTHS if per_step else np.ones(len(LENGTHS))
    each = []
    for i in range(len(LENGTHS)):
        m = model(per_step)
        history = m.fit(clean[i : i + 1, : LENGTHS[i]], alone(y, i, per_step), epochs=1, batch_size=1, verbose=0)
        each.append((m.get_weights(), history.history["loss"][0]))
    for x in (clean, junk):
        m = model(per_step)
        history = m.fit(x, y, lengths=LENGTHS, epochs=1, batch_size=len(LENGTHS), verbose=0)
        want_loss = sum(n * loss for n, (_, loss) in zip(counts, each)) / counts.sum()
        assert history.history["loss"][0] == pytest.approx(want_loss, rel=1e-12)
        for k, w in enumerate(m.get_weights()):
            want = sum(n * weights[k] for n, (weights, _) in zip(counts, each)) / counts.sum()
            np.testing.assert_allclose(w, want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("per_step", [False, True], ids=["many-to-one", "many-to-many"])
def test_evaluate_with_lengths_is_the_weighted_mean_of_evaluating_each_sequence(per_step):
    clean, junk, y = data(per_step)
    m = model(per_step)
    counts = LENGTHS if per_step else np.ones(len(LENGTHS))
    parts = [m.evaluate(clean[i : i + 1, : LENGTHS[i]], alone(y, i, per_step)) for i in range(len(LENGTHS))]
    for x in (clean, junk):
        for batch_size in (3, 256):
            logs = m.evaluate(x, y, lengths=LENGTHS, batch_size=batch_size)
            for key, value in logs.items():
                want = sum(n * p[key] for n, p in zip(counts, parts)) / counts.sum()
                assert value == pytest.approx(want, rel=1e-12, abs=1e-15), (key, batch_size)


def test_predict_gives_every_padded_step_zero_whatever_the_batch_size():
    # A batch is cut to its longest sequence: within it, a padded step's output is the Dense's
    # bias on the recurrent layer's zero output; past it, the zeros of re-padding. The padded
    # outputs used to depend on which batch a sequence shared (batch_size 3 against 256).
    clean, junk, _ = data(per_step=True)
    m = model(per_step=True)
    m.build((None, F))
    m.set_weights([w + 0.1 for w in m.get_weights()])  # a nonzero Dense bias
    padded = np.arange(T)[None, :] >= LENGTHS[:, None]
    outputs = [m.predict(x, lengths=LENGTHS, batch_size=b) for x in (clean, junk) for b in (3, 256)]
    for out in outputs:
        np.testing.assert_array_equal(out, outputs[0])
        assert out.shape == (len(LENGTHS), T, C) and np.all(out[padded] == 0)
    for i, n in enumerate(LENGTHS):
        np.testing.assert_allclose(outputs[0][i, :n], m.predict(clean[i : i + 1, :n])[0], rtol=0, atol=1e-13)


def test_ragged_per_step_targets_beside_x_padded_past_its_longest_sequence():
    # x (N, T) carries more padding than its longest sequence; y as a list of per-step target
    # sequences used to be padded to the longest target only, so that no batch matched it
    rng = np.random.default_rng(1)
    lengths = np.array([3, 2, 4, 1])
    x = rng.normal(size=(4, 6, 2))
    ragged = [rng.integers(0, 3, size=n) for n in lengths]
    padded = np.zeros((4, 6), dtype=np.int64)
    for i, seq in enumerate(ragged):
        padded[i, : len(seq)] = seq
    m = Sequential([LSTM(4, return_sequences=True), Dense(3)], seed=0, dtype=np.float64)
    m.compile("sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"], lr=0.1)
    assert m.evaluate(x, ragged, lengths=lengths) == m.evaluate(x, padded, lengths=lengths)
    before = m.get_weights()
    first = m.fit(x, ragged, lengths=lengths, epochs=2, batch_size=2, verbose=0, shuffle=False).history
    m.set_weights(before)
    second = m.fit(x, padded, lengths=lengths, epochs=2, batch_size=2, verbose=0, shuffle=False).history
    assert first["loss"][-2:] == second["loss"][-2:]
    with pytest.raises(ValueError, match=r"y: a per-step target sequence has 7 steps, more than x's T = 6"):
        m.evaluate(x, [*ragged[:3], np.zeros(7, dtype=int)], lengths=lengths)


def test_nan_filler_at_padded_steps_of_x_trains_as_zero_filler():
    # predict skipped padded steps, but fit's ∂L/∂W_x met them (NaN · 0): "gradient is not finite"
    import rnnkit
    from rnnkit.layers import GRU, Dense

    rng = np.random.default_rng(0)
    lengths = np.array([5, 2, 3, 1])
    x = rng.normal(size=(4, 5, 2)).astype(np.float32)
    padded = np.arange(5)[None, :] >= lengths[:, None]
    y = np.array([0, 1, 1, 0])
    weights = []
    for filler in (0.0, np.nan, np.inf):
        model = rnnkit.Sequential([GRU(3), Dense(2)], seed=0)
        model.compile("adam", loss="sparse_categorical_crossentropy")
        model.fit(np.where(padded[..., None], filler, x), y, lengths=lengths, epochs=2, batch_size=2, verbose=0,
                  validation_data=(np.where(padded[..., None], filler, x), y, lengths))
        weights.append(model.get_weights())
    for other in weights[1:]:
        for a, b in zip(weights[0], other):
            np.testing.assert_array_equal(a, b)
