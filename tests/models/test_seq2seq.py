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
from rnnkit.layers import AdditiveAttention
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


def test_beam_search_takes_one_flat_source_and_says_so():
    # it said "(for a single source, write [source])": wrong for beam_search, which takes the source itself
    m = model_for()
    for source in ([[1, 2]], [[1, 2], [3, 4]], [[1, 2], [3]], np.array([[1, 2]])):
        with pytest.raises(ValueError, match=r"beam_search decodes one source, a flat sequence of ids such as "
                                             r"\[5, 8\], got a nested sequence: pass the source itself") as caught:
            m.beam_search(source, beam_width=2)
        assert "write [source]" not in str(caught.value)
    with pytest.raises(ValueError, match="got a single value 3"):
        m.beam_search(3)
    assert m.beam_search(np.array([1, 2]), beam_width=2)[0].tokens == m.beam_search([1, 2], beam_width=2)[0].tokens


def exhaustive_ranking(m, src, max_length, alpha):
    """Every output up to max_length, scored from the teacher-forced forward pass (not from
    decode_step): (score, log_prob, tokens, finished), best first. An output of max_length
    tokens is unfinished (no EOS); shorter ones end in EOS, which counts as a step."""
    outputs = [list(t) for n in range(max_length + 1) for t in itertools.product(range(3, m.target_vocab), repeat=n)]
    x, _ = m.pack([src] * len(outputs), outputs)
    logits, _, _ = m.forward(x)
    lp = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    ranked = []
    for row, tokens in zip(lp, outputs):
        n = len(tokens)
        log_prob = sum(row[j, v] for j, v in enumerate(tokens)) + (row[n, EOS] if n < max_length else 0.0)
        steps = n + 1 if n < max_length else n
        ranked.append((log_prob / steps**alpha, log_prob, tokens, n < max_length))
    return sorted(ranked, key=lambda h: -h[0])


@pytest.mark.parametrize("backend", ["reference", "fast"])
def test_beam_search_equals_brute_force_enumeration(backend):
    """With a beam as wide as the search space, the returned list is the exhaustive ranking,
    unfinished outputs at max_length included; width 1 is greedy decoding."""
    rng = np.random.default_rng(4)
    with rnnkit.backend(backend):
        configs = [("gru", False, 3), ("lstm", True, 3), ("rnn", False, 0)]
        for seed, (cell, bidirectional, attention) in enumerate(configs):
            m = model_for(cell, bidirectional, attention, "project" if bidirectional else "concat", layers=1,
                          seed=seed, max_target_length=3)
            src = rng.integers(1, 6, size=rng.integers(1, 5)).tolist()
            for alpha in (0.0, 0.7):
                ranking = exhaustive_ranking(m, src, 3, alpha)
                beams = m.beam_search(src, beam_width=len(ranking), length_penalty=alpha)
                assert [(h.tokens, h.finished) for h in beams] == [(t, f) for _, _, t, f in ranking]
                np.testing.assert_allclose([h.score for h in beams], [s for s, _, _, _ in ranking], rtol=0, atol=1e-12)
                np.testing.assert_allclose([h.log_prob for h in beams], [p for _, p, _, _ in ranking],
                                           rtol=0, atol=1e-12)
            one, greedy = m.beam_search(src, beam_width=1)[0], m.greedy_decode([src])[0]
            assert (one.tokens, one.finished, one.score) == (greedy.tokens, greedy.finished, greedy.score)


def test_greedy_decoding_a_batch_equals_one_source_at_a_time():
    """Sources of different lengths decoded together: padding changes neither outputs nor scores."""
    rng = np.random.default_rng(6)
    m = model_for("lstm", bidirectional=True, attention=3, bridge="project", scale=1.0, max_target_length=6)
    sources = [rng.integers(1, 6, size=n).tolist() for n in (5, 1, 3, 2, 4)]
    for src, h in zip(sources, m.greedy_decode(sources)):
        alone = m.greedy_decode([src])[0]
        assert (h.tokens, h.finished) == (alone.tokens, alone.finished)
        assert h.log_prob == pytest.approx(alone.log_prob, abs=1e-12)
        np.testing.assert_allclose(h.attention, alone.attention, rtol=0, atol=1e-12)


def test_attention_ignores_padded_source_steps_exactly():
    """Keys past a source's length get weight exactly 0 and gradient exactly 0, and whatever they
    hold does not change the context."""
    rng = np.random.default_rng(8)
    att = AdditiveAttention(4, dtype=np.float64)
    att.build((2, 3), rng)
    for p in att.params.values():
        p[...] = rng.uniform(-1.5, 1.5, size=p.shape)
    query, keys, lengths = rng.normal(size=(3, 4, 2)), rng.normal(size=(3, 5, 3)), np.array([5, 2, 1])
    padded = np.arange(5)[None, :] >= lengths[:, None]
    (context, weights), cache = att.forward(query, keys, key_lengths=lengths)
    assert np.all(weights.transpose(0, 2, 1)[padded] == 0)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=0, atol=1e-15)
    d_query, d_keys = att.backward(rng.normal(size=context.shape), cache).dx
    assert np.all(d_keys[padded] == 0) and np.any(d_keys[~padded] != 0)
    other = keys.copy()
    other[padded] = 100 * rng.normal(size=other[padded].shape)
    np.testing.assert_array_equal(att.forward(query, other, key_lengths=lengths)[0][0], context)
    for bad in ([0, 2, 1], [6, 2, 1], [5, 2]):  # a row of no keys would be NaN; too long reads nothing
        with pytest.raises(ValueError, match="lengths"):
            att.forward(query, keys, key_lengths=np.array(bad))


def test_sources_must_be_a_list_of_id_sequences():
    m = model_for()
    # a flat list is one source, not three of one token each: a silent misreading before
    for decode in (lambda: m.greedy_decode([1, 2, 3]), lambda: m.greedy_decode(np.array([1, 2, 3])),
                   lambda: m.pack([1, 2], [[3], [4]])):
        with pytest.raises(ValueError, match=r"one sequence of ids.*\[source\]"):
            decode()
    with pytest.raises(ValueError, match="integer ids"):
        m.greedy_decode(np.array([[1.5, 2.0]]))  # would be truncated to 1
    np.testing.assert_array_equal(m.greedy_decode(np.array([[1.0, 2.0]]))[0].tokens,
                                  m.greedy_decode([[1, 2]])[0].tokens)


def reference_beam_search(m, src, width, alpha, max_length):
    """The search beam_search documents, written out plainly and scored from the teacher-forced
    forward pass: every step extends each live output by every token, looks at the 2·width best,
    sets those ending in EOS aside and keeps `width` others; no early stop; the greedy output
    joins the candidates."""
    live, candidates = [([], 0.0)], []
    for t in range(max_length):
        x, _ = m.pack([src] * len(live), [tokens for tokens, _ in live])
        logits, _, _ = m.forward(x)
        lp = logits[:, t] - np.log(np.exp(logits[:, t]).sum(axis=-1, keepdims=True))  # (live, V)
        total = np.array([p for _, p in live])[:, None] + lp
        total[:, :EOS] = -np.inf
        kept = []
        for flat in np.argsort(-total, axis=None, kind="stable")[: 2 * width]:
            i, v = divmod(int(flat), m.target_vocab)
            if v == EOS:
                candidates.append((total[i, v] / (t + 1) ** alpha, live[i][0], True))
            else:
                kept.append((live[i][0] + [v], total[i, v]))
                if len(kept) == width:
                    break
        live = kept
    candidates += [(p / max_length**alpha, tokens, False) for tokens, p in live]
    greedy = m.greedy_decode([src], max_length=max_length, length_penalty=alpha)[0]
    candidates.append((greedy.score, greedy.tokens, greedy.finished))
    best = {}
    for score, tokens, finished in candidates:
        key = (tuple(tokens), finished)
        best[key] = max(best.get(key, -np.inf), score)
    return sorted(((s, list(k[0]), k[1]) for k, s in best.items()), key=lambda h: -h[0])[:width]


def test_narrow_beams_equal_the_documented_search():
    """At widths far below the search space (where stopping early matters), beam_search returns
    what the plain documented search returns."""
    rng = np.random.default_rng(9)
    for seed in range(8):
        m = model_for(["gru", "lstm", "rnn"][seed % 3], attention=3 * (seed % 2), layers=1, seed=seed,
                      max_target_length=5)
        m.params["output.b"][EOS] += 1.5  # outputs that end early fill the finished list: the stop test runs
        src = rng.integers(1, 6, size=rng.integers(1, 5)).tolist()
        for width, alpha in itertools.product((1, 2, 3), (0.0, 0.7)):
            expected = reference_beam_search(m, src, width, alpha, 5)
            beams = m.beam_search(src, beam_width=width, length_penalty=alpha)
            assert [(h.tokens, h.finished) for h in beams] == [(t, f) for _, t, f in expected], (seed, width, alpha)
            np.testing.assert_allclose([h.score for h in beams], [s for s, _, _ in expected], rtol=0, atol=1e-12)


def test_an_unbuilt_model_says_so_whatever_is_called():
    m = EncoderDecoder(6, 7)
    for call in (lambda: m.log_prob([[1, 2]], [[3]]), lambda: m.greedy_decode([[1, 2]]),
                 lambda: m.beam_search([1, 2]), lambda: m.forward(np.ones((1, 2, 2), np.int64)), m.summary):
        with pytest.raises(RuntimeError, match="EncoderDecoder is not built yet"):
            call()


@pytest.mark.parametrize("bad, message", [(-1, "must be >= 0"), (float("nan"), "must be >= 0"),
                                          ("0.5", "must be a number")])
def test_length_penalty_is_checked_by_greedy_decoding_as_by_beam_search(bad, message):
    m = model_for()
    for decode in (lambda: m.greedy_decode([[1, 2]], length_penalty=bad),
                   lambda: m.beam_search([1, 2], length_penalty=bad)):
        with pytest.raises(ValueError, match=f"length_penalty {message}"):
            decode()


def test_an_int_seed_is_one_stream_for_encoder_and_decoder():
    # handed on as an int, encoder and decoder each started the same stream (the same dropout masks)
    m = model_for(layers=3, dropout=0.5)
    x, _ = m.pack(SOURCES, TARGETS)
    by_seed, _, _ = m.forward(x, training=True, rng=5)
    by_generator, _, _ = m.forward(x, training=True, rng=np.random.default_rng(5))
    assert np.array_equal(by_seed, by_generator)
