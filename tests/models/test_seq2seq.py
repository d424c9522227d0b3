"""The encoder–decoder: end-to-end gradient checks in float64 (every cell, uni/bidirectional
encoder, stacked, both bridges, with and without attention, variable-length sources and
targets); the masked loss equals feeding the pairs one by one; decoding scores are the model's
own log-probabilities; beam search never scores below greedy; the Keras verbs and model files."""

from __future__ import annotations

import itertools
import zlib

import numpy as np
import pytest

import rnnkit
from rnnkit.gradcheck import numerical_gradient, relative_error
from rnnkit.losses import SparseCategoricalCrossentropy
from rnnkit.models.seq2seq import EOS, EncoderDecoder

SOURCES = [[1, 2, 3, 4], [4, 5], [3]]
TARGETS = [[3, 4], [5, 6, 3, 4, 5], []]  # lengths 2, 5 and 0 (EOS alone)
CELLS = {"rnn": "rnn", "lstm": "lstm", "gru": "gru", "gru-reset-before": {"family": "gru", "reset_after": False}}
MATRIX = [(c, bi, att, "project" if bi != bool(att) else "concat")
          for c, bi, att in itertools.product(CELLS, [False, True], [0, 3])]


@pytest.fixture(autouse=True)
def reference_cells():
    with rnnkit.backend("reference"):
        yield


def model_for(cell="gru", bidirectional=False, attention=3, bridge="concat", layers=2, seed=0, scale=1.5, **kw):
    m = EncoderDecoder(6, 7, cell=CELLS.get(cell, cell), units=2, embedding=2, layers=layers,
                       bidirectional=bidirectional, bridge=bridge, attention=attention, dtype=np.float64,
                       seed=seed, **kw)
    m.build()
    rng = np.random.default_rng(seed)
    for p in m.params.values():  # large enough that every path carries a visible gradient
        p[...] = rng.uniform(-scale, scale, size=p.shape)
    return m


@pytest.mark.parametrize("cell,bidirectional,attention,bridge", MATRIX)
def test_gradients_match_central_differences(cell, bidirectional, attention, bridge):
    rng = np.random.default_rng(zlib.crc32(repr((cell, bidirectional, attention, bridge)).encode()))
    m = model_for(cell, bidirectional, attention, bridge, seed=int(rng.integers(1000)))
    x, y = m.pack(SOURCES, TARGETS)
    out, lengths, cache = m.forward(x)
    real = np.arange(out.shape[1])[None, :] < lengths[:, None]
    R = rng.normal(size=out.shape) * real[..., None]  # an arbitrary upstream gradient on the real steps
    grads = m.backward(R, cache)
    assert grads.keys() == m.params.keys()

    def loss():
        return float((m.forward(x)[0] * R).sum())

    errors = {k: relative_error(grads[k], numerical_gradient(loss, p)) for k, p in m.params.items()}
    worst = max(errors, key=errors.get)
    assert errors[worst] <= 1e-6, f"{worst}: relative error {errors[worst]:.2e}"


def test_masked_loss_gradient_equals_pairs_one_by_one():
    """Padding of sources and targets changes nothing: the batch mean equals the mean of each pair's."""
    m = model_for("lstm", bidirectional=True, attention=3, scale=0.8)
    loss = SparseCategoricalCrossentropy()
    x, y = m.pack(SOURCES, TARGETS)
    out, lengths, cache = m.forward(x)
    value, d = loss(out, y, lengths)
    batch = m.backward(d, cache)
    total, summed = 0.0, {k: np.zeros_like(v) for k, v in m.params.items()}
    n = lengths.sum()
    for s, t in zip(SOURCES, TARGETS):
        xi, yi = m.pack([s], [t])
        oi, li, ci = m.forward(xi)
        vi, di = loss(oi, yi, li)
        total += vi * li[0] / n
        for k, g in m.backward(di, ci).items():
            summed[k] += g * li[0] / n
    assert value == pytest.approx(total, rel=1e-12)
    for k in summed:
        np.testing.assert_allclose(batch[k], summed[k], rtol=1e-9, atol=1e-13, err_msg=k)


@pytest.mark.parametrize("cell,bidirectional,attention", [("gru", True, 3), ("lstm", False, 0), ("rnn", True, 0)])
def test_greedy_scores_are_the_models_own_log_probabilities(cell, bidirectional, attention):
    m = model_for(cell, bidirectional, attention, scale=1.0, max_target_length=6)
    hyps = m.greedy_decode(SOURCES)
    for src, h in zip(SOURCES, hyps):
        assert len(h.tokens) <= 6 and EOS not in h.tokens
        if h.finished:  # the teacher-forced log-probability of the decoded output (+ EOS)
            assert m.log_prob([src], [h.tokens])[0] == pytest.approx(h.log_prob, abs=1e-10)
        if attention:
            assert h.attention.shape == (len(h.tokens) + h.finished, len(src))
            np.testing.assert_allclose(h.attention.sum(axis=1), 1.0)


@pytest.mark.parametrize("cell,bidirectional,attention", [("gru", False, 3), ("lstm", True, 3), ("rnn", False, 0)])
def test_beam_search_never_scores_below_greedy(cell, bidirectional, attention):
    rng = np.random.default_rng(1)
    for seed in range(4):
        m = model_for(cell, bidirectional, attention, seed=seed, scale=1.2, max_target_length=7)
        for _ in range(3):
            src = rng.integers(1, 6, size=rng.integers(1, 5)).tolist()
            for width, alpha in ((2, 0.0), (4, 0.0), (3, 0.7)):
                greedy = m.greedy_decode([src], length_penalty=alpha)[0]
                beams = m.beam_search(src, beam_width=width, length_penalty=alpha)
                assert 1 <= len(beams) <= width
                assert beams[0].score >= greedy.score - 1e-12
                assert all(a.score >= b.score for a, b in zip(beams, beams[1:]))
                for h in beams:  # reported scores are the model's log-probabilities
                    if h.finished:
                        assert m.log_prob([src], [h.tokens])[0] == pytest.approx(h.log_prob, abs=1e-9)


def test_wide_beam_finds_the_exhaustive_best():
    """With a beam wider than the whole search space, beam search returns the true best output."""
    m = EncoderDecoder(4, 5, cell="gru", units=3, embedding=2, attention=2, dtype=np.float64, seed=3,
                       max_target_length=4)
    m.build()
    src = [1, 3, 2]
    candidates = [list(t) for n in range(4) for t in itertools.product([3, 4], repeat=n)]
    scores = m.log_prob([src] * len(candidates), candidates)
    best = candidates[int(np.argmax(scores))]
    beams = m.beam_search(src, beam_width=40)
    finished = [h for h in beams if h.finished]
    assert finished[0].tokens == best and finished[0].log_prob == pytest.approx(scores.max(), abs=1e-10)


def test_fit_evaluate_save_load_and_decode(tmp_path):
    """Learn to reverse short digit strings; the Keras verbs and model files work unchanged."""
    rng = np.random.default_rng(0)
    src = [rng.integers(1, 6, size=rng.integers(2, 5)).tolist() for _ in range(300)]
    tgt = [[t + 2 for t in reversed(s)] for s in src]  # target ids 3..7
    m = EncoderDecoder(6, 8, cell="gru", units=24, embedding=8, attention=16, seed=0)
    m.compile("adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"], lr=0.02, clipnorm=5.0)
    x, y = m.pack(src, tgt)
    before = m.evaluate(x, y)["loss"]
    m.fit(x, y, epochs=8, batch_size=32, verbose=0)
    after = m.evaluate(x, y)
    assert after["loss"] < 0.5 * before and after["accuracy"] > 0.6
    m.save(tmp_path / "s2s.safetensors")
    again = rnnkit.load(tmp_path / "s2s.safetensors")
    assert isinstance(again, EncoderDecoder) and again.get_config() == m.get_config()
    np.testing.assert_array_equal(again.predict(x[:20]), m.predict(x[:20]))
    assert [h.tokens for h in again.greedy_decode(src[:20])] == [h.tokens for h in m.greedy_decode(src[:20])]
    assert "Total params" in m.summary(print_fn=None)


def test_clear_errors():
    m = model_for()
    x, y = m.pack(SOURCES, TARGETS)
    with pytest.raises(ValueError, match="padding"):
        m.forward(x, lengths=np.array([1, 1, 1]))
    bad = x.copy()
    bad[0, 1, 0] = 0  # a hole in the source
    with pytest.raises(ValueError, match="id 0 only as padding"):
        m.forward(bad)
    with pytest.raises(ValueError, match=r"target ids must lie in 3\.\.6"):
        m.pack([[1]], [[7]])
    with pytest.raises(ValueError, match="beam_width"):
        m.beam_search([1, 2], beam_width=0)
    with pytest.raises(ValueError, match="bridge"):
        EncoderDecoder(5, 5, bridge="sum")
    with pytest.raises(ValueError, match=r"source ids must lie in 1\.\.5"):
        m.pack([[1, 0, 2]], [[3]])
    for decode in (lambda: m.greedy_decode([[1, 0, 2]]), lambda: m.beam_search([1, 0, 2]),
                   lambda: m.greedy_decode([[0]])):  # 0 is padding, not a token
        with pytest.raises(ValueError, match=r"source ids must lie in 1\.\.5, got 0\.\."):
            decode()
