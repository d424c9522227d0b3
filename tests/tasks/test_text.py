"""The text task: the corpus split holds no repeated paragraph across train and test, the
Kneser–Ney baseline is a proper distribution and beats lower orders, the stream score equals a
full-sequence run, and a tiny run learns and generates through the command line."""

from __future__ import annotations

import math

import numpy as np
import pytest
from typer.testing import CliRunner

from rnnkit import Sequential, tasks
from rnnkit.cli import app
from rnnkit.layers import GRU, Dense, Embedding
from rnnkit.ngram import KneserNey
from rnnkit.tasks.text import read_corpus, split_corpus, stream_bits_per_char

runner = CliRunner()


@pytest.fixture(scope="module")
def corpus():
    return split_corpus(read_corpus("pydoc")[0])


def test_split_holds_no_paragraph_of_train_in_test(corpus):
    train, val, test = corpus
    assert len(train) > 8 * len(test) > 0 and len(val) > 0
    train_paragraphs = {p for p in train.split("\n\n") if len(p) > 30}
    assert not any(p in train_paragraphs for p in test.split("\n\n") if len(p) > 30)


def test_kneser_ney_is_a_distribution_and_higher_orders_help(corpus):
    train, _, test = corpus
    train, test = train[:60000], test[:5000]
    vocabulary = "".join(sorted(set(train) | set(test)))
    models = {n: KneserNey(n, vocabulary).fit(train) for n in (1, 3, 5)}
    for history in ("", "th", "the q", "zzzzq", "def __in"):
        assert sum(models[5].prob(c, history) for c in vocabulary) == pytest.approx(1.0, abs=1e-12)
    bits = {n: m.bits_per_char(test) for n, m in models.items()}
    assert bits[5] < bits[3] < bits[1] < math.log2(len(vocabulary))


def test_kneser_ney_by_hand():
    """'abab…' order 2: the seen bigram keeps c − D₁ of its count, the rest goes to the unigram
    continuation distribution (no discount estimate possible here: D = 0.75)."""
    m = KneserNey(2, "abc").fit("abababab")
    # order 1: continuation counts a:1 (after b), b:1 (after a); P1(w) = (c − D)/2 + 1.5/2 · 1/3
    p1 = {"a": 0.25 / 2 + 0.75 * 2 / 2 / 3, "b": 0.25 / 2 + 0.75 * 2 / 2 / 3, "c": 0.75 * 2 / 2 / 3}
    # after 'a': c(ab) = 4, one type: P = (4 − 0.75)/4 + 0.75/4 · P1
    assert m.prob("b", "a") == pytest.approx((4 - 0.75) / 4 + 0.75 / 4 * p1["b"])
    assert m.prob("c", "a") == pytest.approx(0.75 / 4 * p1["c"])


def test_stream_score_equals_a_full_sequence_run():
    rng = np.random.default_rng(0)
    model = Sequential([Embedding(9, 4), GRU(6, return_sequences=True), Dense(9)], seed=0, dtype=np.float64,
                       input_shape=(None,))
    ids = rng.integers(0, 9, size=41)
    logits, _, _ = model.forward(ids[None, :-1])
    z = logits[0] - logits[0].max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    expected = -logp[np.arange(40), ids[1:]].mean() / math.log(2)
    assert stream_bits_per_char(model, ids, streams=1) == pytest.approx(expected, rel=1e-12)
    assert abs(stream_bits_per_char(model, ids, streams=4) - expected) < 0.2  # pieces restart from zeros


def test_a_tiny_run_learns_and_generates(tmp_path, corpus):
    train, val, test = corpus
    small = tmp_path / "small.txt"  # 12 blocks of the real corpus: enough for the 10-block split
    small.write_text(train[:40000] + "\n\n" + test[:8000], encoding="utf-8")
    folder = tmp_path / "run"
    result = runner.invoke(app, ["train", "text", "-o", f"corpus={small}", "-o", "steps=50", "--hidden", "48",
                                 "--layers", "1", "--dropout", "0", "--embedding", "16", "--epochs", "3", "--lr", "0.01",
                                 "--out", str(folder), "-v", "0"])
    assert result.exit_code == 0, result.output
    import json

    test_scores = json.loads((folder / "results.json").read_text())["test"]
    V = len(json.loads((folder / "config.json").read_text())["meta"]["classes"])
    assert test_scores["bits_per_char"] < math.log2(V) - 2.0  # far better than uniform after 3 short epochs
    assert 1.0 < test_scores["ngram5_bits_per_char"] < 5.0
    out = runner.invoke(app, ["generate", str(folder), "--prefix", "The ", "--length", "40", "--temperature", "0.7",
                              "--top-k", "5", "--seed", "1"])
    assert out.exit_code == 0, out.output
    assert out.stdout.startswith("The ") and len(out.stdout.rstrip("\n")) >= 40
    again = runner.invoke(app, ["generate", str(folder), "--prefix", "The ", "--length", "40", "--temperature",
                                "0.7", "--top-k", "5", "--seed", "1"])
    assert again.stdout == out.stdout  # the seed fixes the sample
    greedy = runner.invoke(app, ["predict", str(folder), "def "])
    assert greedy.exit_code == 0 and greedy.stdout.startswith("def ")


def test_text_is_registered_and_generate_refuses_other_tasks(tmp_path):
    assert tasks.get("text").kind == "density"
    result = runner.invoke(app, ["generate", str(tmp_path)])
    assert result.exit_code != 0 and "not a run folder" in result.stderr


def test_a_large_corpus_without_blank_lines_is_told_why_it_is_too_small():
    """Blocks are cut at paragraph breaks; a 60,000-character text with single newlines only is
    one paragraph, and the error must say so rather than only 'too small'."""
    text = "\n".join(f"line {i} of a text with no blank lines at all" for i in range(1500))
    with pytest.raises(ValueError, match=r"1 blocks.*separated by blank lines.*has 1 distinct paragraphs"):
        split_corpus(text)
