from collections import Counter

import numpy as np
import pytest

from rnnkit.datasets import sentiment
from rnnkit.datasets._files import read_text


@pytest.fixture(scope="module")
def data():
    return sentiment.load()


def test_files_split_on_newline_only():
    rows = sentiment.read_sentences()
    assert len(rows) == 3000
    assert Counter((source, label) for _, label, source in rows) == {
        (s, lab): 500 for s in sentiment.SOURCES for lab in (0, 1)
    }
    raw = read_text("sentiment", "imdb_labelled.txt")
    assert raw.count("\u0085") == 2 and len(raw.splitlines()) == 1002  # splitlines would cut at U+0085
    nel = [sentence for sentence, _, _ in rows if "\u0085" in sentence]
    assert nel == ["The script is\u0085was there a script?  ", nel[1]] and nel[1].endswith("loneliness.  ")
    assert sentiment.tokenize(nel[0]) == ["the", "script", "is", "was", "there", "a", "script"]
    assert sentiment.tokenize("Don't buy it... 10/10, NOT!") == ["don't", "buy", "it", "10", "10", "not"]


def test_split_is_stratified_and_disjoint(data):
    assert data.train.x.shape[0] == 2400 and data.test.x.shape[0] == 600
    assert not set(data.train.sentences) & set(data.test.sentences)  # repeated sentences stay on one side
    strata = Counter(zip(data.test.sources, data.test.labels.tolist()))
    assert set(strata) == {(s, lab) for s in sentiment.SOURCES for lab in (0, 1)}
    assert all(abs(n - 100) <= 1 for n in strata.values())


def test_no_test_input_is_a_training_input_whatever_the_split_seed():
    # "Great phone." and "Great Phone." are one model input: before the split grouped by tokens,
    # split seed 2 put 9 test sentences whose tokens were those of a training sentence
    for seed in (1, 2, 3):
        d = sentiment.load(seed=seed)
        train = {tuple(sentiment.tokenize(s)) for s in d.train.sentences}
        assert not [s for s in d.test.sentences if tuple(sentiment.tokenize(s)) in train], seed
        assert abs(len(d.test.sentences) - 600) <= 10  # the stratified sizes move by a few lines at most


def test_vocabulary_fitted_on_training_sentences_only(data):
    assert data.vocabulary[:2] == ("<pad>", "<oov>") and len(data.vocabulary) <= 10000
    train_words = {w for s in data.train.sentences for w in sentiment.tokenize(s)}
    test_only = {w for s in data.test.sentences for w in sentiment.tokenize(s)} - train_words
    assert set(data.vocabulary[2:]) == train_words and test_only
    assert not test_only & set(data.vocabulary)
    # every test-only word is encoded as OOV
    for b in range(0, 600, 50):
        tokens = sentiment.tokenize(data.test.sentences[b])
        expected = [1 if w in test_only else data.vocabulary.index(w) for w in tokens]
        assert data.test.x[b, : data.test.lengths[b]].tolist() == expected


def test_padding_and_lengths(data):
    for part in (data.train, data.test):
        assert part.x.dtype == np.int64 and part.x.shape[1] == part.lengths.max()
        steps = np.arange(part.x.shape[1])
        real = steps[None, :] < part.lengths[:, None]
        assert np.all(part.x[real] >= 1) and np.all(part.x[~real] == 0)
        assert part.lengths.min() >= 1


def test_num_words_max_len_and_seed(data):
    small = sentiment.load(num_words=100, max_len=12)
    assert len(small.vocabulary) == 100 and small.train.x.max() == 99 and small.train.x.shape[1] == 12
    assert small.train.lengths.max() == 12
    x, lengths = small.encode_texts(["A great movie", "zzzqqq"])
    assert x.shape == (2, 12) and lengths.tolist() == [3, 1] and x[1, 0] == sentiment.OOV
    again = sentiment.load()
    assert again.test.sentences == data.test.sentences
    np.testing.assert_array_equal(again.train.x, data.train.x)
    assert sentiment.load(seed=1).test.sentences != data.test.sentences
    with pytest.raises(ValueError):
        sentiment.load(num_words=2)


def test_a_typographic_apostrophe_reads_as_the_data_s_apostrophe(data):
    # a phone types "don’t": it was split into "don", "t", two words the model never saw together
    expected = ["i", "don't", "like", "it"]
    assert sentiment.tokenize("I DON’T like it") == sentiment.tokenize("I don't like it") == expected
    assert "don't" in data.vocabulary
    np.testing.assert_array_equal(data.encode_texts(["don’t"])[0], data.encode_texts(["don't"])[0])
