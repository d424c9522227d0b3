"""Generation: each output fed back as the next input; greedy, temperature and top-k picking
with an explicit rng."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit import Sequential
from rnnkit.generation import generate, pick, probabilities
from rnnkit.layers import GRU, LSTM, Dense, Embedding

V = 7


def lm(seed=0, embedding=True):
    head = [Embedding(V, 4)] if embedding else []
    model = Sequential([*head, LSTM(6, return_sequences=True), Dense(V)], seed=seed, dtype=np.float64,
                       input_shape=(None,) if embedding else (None, V))
    rng = np.random.default_rng(seed)
    for p in model.params.values():
        p[...] = rng.normal(scale=1.0, size=p.shape)
    return model


@pytest.mark.parametrize("embedding", [True, False])
def test_greedy_feeds_each_output_back_as_the_next_input(embedding):
    model = lm(embedding=embedding)
    prefix = np.array([[1, 2, 3], [4, 0, 6]])
    out = generate(model, prefix, 12, temperature=0)
    assert out.shape == (2, 12)
    # a full-sequence run over prefix + generated tokens predicts each generated token greedily
    seq = np.concatenate([prefix, out[:, :-1]], axis=1)
    x = seq if embedding else np.eye(V)[seq]
    logits, _, _ = model.forward(x)
    np.testing.assert_array_equal(logits[:, 2:].argmax(-1), out)
    single = generate(model, prefix[1], 12, temperature=0)  # a 1-D prefix gives a 1-D answer
    np.testing.assert_array_equal(single, out[1])


def test_sampling_is_reproducible_from_the_rng_and_needs_one():
    model = lm(1)
    a = generate(model, [1, 2], 30, temperature=1.0, rng=np.random.default_rng(5))
    b = generate(model, [1, 2], 30, temperature=1.0, rng=np.random.default_rng(5))
    c = generate(model, [1, 2], 30, temperature=1.0, rng=np.random.default_rng(6))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    with pytest.raises(ValueError, match="explicit rng"):
        generate(model, [1, 2], 3, temperature=0.5)


def test_pick_follows_the_tempered_distribution_and_top_k():
    logits = np.array([[2.0, 1.0, 0.0, -1.0, 0.5]])
    rng = np.random.default_rng(0)
    for temperature, top_k in ((1.0, None), (0.5, None), (2.0, 3)):
        p = probabilities(logits, temperature=temperature, top_k=top_k)[0]
        draws = np.array([pick(logits, temperature=temperature, top_k=top_k, rng=rng)[0] for _ in range(20000)])
        freq = np.bincount(draws, minlength=5) / len(draws)
        np.testing.assert_allclose(freq, p, atol=0.015)
        if top_k is not None:
            assert set(draws) <= {0, 1, 4} and p[2] == p[3] == 0
    z = logits[0]
    expected = np.exp(z / 0.5) / np.exp(z / 0.5).sum()
    np.testing.assert_allclose(probabilities(logits, temperature=0.5)[0], expected)
    np.testing.assert_array_equal(pick(logits, temperature=0), [0])
    with pytest.raises(ValueError, match="top_k"):
        probabilities(logits, top_k=0)


def test_a_trained_model_generates_what_it_learned():
    """One-to-many on the notes' 'hello': after training, 'h' continues as 'ello'."""
    chars = "helo"
    ids = np.array([[chars.index(c) for c in "hello"]])
    model = Sequential([Embedding(4, 8), GRU(16, return_sequences=True), Dense(4)], seed=0, input_shape=(None,))
    model.compile("adam", loss="sparse_categorical_crossentropy", lr=0.05)
    model.fit(ids[:, :-1], ids[:, 1:], epochs=60, batch_size=1, verbose=0)
    out = generate(model, [chars.index("h")], 4, temperature=0)
    assert "".join(chars[i] for i in out) == "ello"


def test_pick_draws_by_the_inverse_cdf_of_its_probabilities():
    """Exact, not statistical: pick returns the first token whose cumulative probability reaches
    u = 1 − rng.random(), so token v is drawn with probability p_v exactly (and never one with p_v = 0)."""
    rng = np.random.default_rng(2)
    for _ in range(300):
        logits = rng.normal(size=(4, V)) * 2
        logits[rng.random(logits.shape) < 0.2] = -np.inf  # tokens a model rules out
        logits[:, 0] = np.maximum(logits[:, 0], 0.0)
        temperature, top_k = float(rng.choice([0.3, 1.0, 2.5])), int(rng.integers(1, V + 1))
        seed = int(rng.integers(1 << 30))
        p = probabilities(logits, temperature=temperature, top_k=top_k)
        u = 1.0 - np.random.default_rng(seed).random((4, 1))  # the draw pick makes from the same seed
        expected = [np.searchsorted(np.cumsum(row), ui[0]) for row, ui in zip(p, u)]
        got = pick(logits, temperature=temperature, top_k=top_k, rng=np.random.default_rng(seed))
        np.testing.assert_array_equal(got, np.minimum(expected, [np.flatnonzero(row).max() for row in p]))
        assert np.all(p[np.arange(4), got] > 0)


def test_a_tiny_temperature_tends_to_greedy_without_overflow():
    # z / τ overflows to inf for every logit; the shift by the largest logit must come first
    logits = np.array([[1.0, 3.0, 2.0], [-5.0, -7.0, -6.0]])
    with np.errstate(invalid="raise"):
        p = probabilities(logits, temperature=1e-320)
        np.testing.assert_array_equal(p, [[0, 1, 0], [1, 0, 0]])
        np.testing.assert_array_equal(pick(logits, temperature=1e-320, rng=0), [1, 0])


def test_invalid_sampling_arguments_are_named():
    model = lm()
    logits = np.zeros((1, V))
    for bad in (-1.0, float("nan"), float("inf"), "0.5"):
        with pytest.raises(ValueError, match="temperature"):
            generate(model, [1], 3, temperature=bad)  # named before the missing rng
        with pytest.raises(ValueError, match="temperature"):
            pick(logits, temperature=bad, rng=0)
    with pytest.raises(ValueError, match=rf"top_k must be at most the number of tokens \({V}\), got {V + 1}"):
        pick(logits, top_k=V + 1, rng=0)
    assert probabilities(logits, top_k=V).min() > 0  # k = V keeps every token


def test_prefix_ids_must_be_tokens_the_model_reads():
    one_hot = lm(embedding=False)
    for bad in ([-1, 2], [V]):  # a negative id would silently index the last one-hot row
        with pytest.raises(ValueError, match=rf"prefix ids must lie in 0\.\.{V - 1}"):
            generate(one_hot, bad, 3, temperature=0)
    masked = Sequential([Embedding(V, 4, mask_zero=True), LSTM(6, return_sequences=True), Dense(V)], seed=0,
                        input_shape=(None,))
    with pytest.raises(ValueError, match="id 0 is padding"):  # stepping would not skip it as forward does
        generate(masked, [1, 0, 2], 3, temperature=0)
    wider = Sequential([Embedding(V, 4), LSTM(6, return_sequences=True), Dense(V + 2)], seed=0, input_shape=(None,))
    with pytest.raises(ValueError, match=rf"predicts {V + 2} tokens but reads {V}"):
        generate(wider, [1], 3, temperature=0)
