import unicodedata
from collections import Counter

import numpy as np
import pytest

from rnnkit.datasets import names
from rnnkit.datasets._files import read_text

LINE_COUNTS = {  # data/names/SOURCE.md
    "Arabic": 2000, "Chinese": 268, "Czech": 519, "Dutch": 297, "English": 3668, "French": 277,
    "German": 724, "Greek": 203, "Irish": 232, "Italian": 709, "Japanese": 991, "Korean": 94,
    "Polish": 139, "Portuguese": 74, "Russian": 9408, "Scottish": 100, "Spanish": 298, "Vietnamese": 73,
}  # fmt: skip
AIEDU_COUNTS = {  # data/names_aiedu/SOURCE.md
    "Chinese": 246, "Czech": 502, "Dutch": 286, "French": 273, "German": 690,
    "Greek": 193, "Irish": 226, "Italian": 701, "Japanese": 990, "Spanish": 293,
}  # fmt: skip


@pytest.fixture(scope="module")
def all18():
    return names.load("all18", test_fraction=0.2, seed=0)


@pytest.fixture(scope="module")
def aiedu():
    return names.load("aiedu10", test_fraction=0.2, seed=0)


def _lines(*parts):
    return [line for line in read_text(*parts).split("\n") if line]


def test_raw_line_counts_match_source_md():
    counts = {lang: len(_lines("names", f"{lang}.txt")) for lang in names.LANGUAGES_18}
    assert counts == LINE_COUNTS and sum(counts.values()) == 20074
    pairs = [tuple(line.split("\t")) for line in _lines("names_aiedu", "ch19.name_language.txt")]
    assert len(pairs) == len(set(pairs)) == 4400
    assert Counter(lang for _, lang in pairs) == AIEDU_COUNTS


def _check_split(data):
    train, test = set(data.train.names), set(data.test.names)
    assert not train & test, "a test name is also a training name"
    for part in (data.train, data.test):
        assert len(part.names) == len(part.x) == part.lengths.size == part.labels.size
        assert len(set(zip(part.names, part.labels.tolist()))) == len(part.names)  # (name, language) once
        for name, seq, length in zip(part.names, part.x, part.lengths):
            assert seq.dtype == np.int64 and len(seq) == length == len(name) > 0
            assert "".join(data.alphabet[k] for k in seq) == name


def test_all18_split_has_no_overlap_and_is_stratified(all18):
    _check_split(all18)
    assert all18.classes == names.LANGUAGES_18 and all18.alphabet == "abcdefghijklmnopqrstuvwxyz '-"
    n_train, n_test = np.bincount(all18.train.labels, minlength=18), np.bincount(all18.test.labels, minlength=18)
    np.testing.assert_allclose(n_test / (n_train + n_test), 0.2, atol=0.03)
    # every (name, language) pair of the files, normalised, is a sample exactly once
    expected = {
        (names.normalize_name(line), lang) for lang in names.LANGUAGES_18 for line in _lines("names", f"{lang}.txt")
    }
    got = {(n, all18.classes[c]) for part in (all18.train, all18.test) for n, c in zip(part.names, part.labels)}
    assert got == expected and len(all18.train.names) + len(all18.test.names) == len(expected)
    assert Counter(n for n, _ in expected)["lang"] == 3  # Chinese, English, German: all labels kept


def test_aiedu10_counts_and_split(aiedu):
    _check_split(aiedu)
    assert aiedu.classes == tuple(sorted(AIEDU_COUNTS))
    totals = np.bincount(np.r_[aiedu.train.labels, aiedu.test.labels])
    assert dict(zip(aiedu.classes, totals.tolist())) == AIEDU_COUNTS
    assert len(set(aiedu.train.names) | set(aiedu.test.names)) == 4275  # 109 names are in 2+ languages
    everything = names.load("aiedu10", test_fraction=0.0)
    assert len(everything.test.names) == 0 and len(everything.train.names) == 4400


def test_split_is_fixed_by_the_seed(aiedu):
    again = names.load("aiedu10", test_fraction=0.2, seed=0)
    assert again.test.names == aiedu.test.names and again.train.names == aiedu.train.names
    np.testing.assert_array_equal(again.test.labels, aiedu.test.labels)
    assert names.load("aiedu10", test_fraction=0.2, seed=1).test.names != aiedu.test.names


def test_normalisation():
    assert names.normalize_name("Müller") == "muller"  # NFD, combining marks dropped
    assert names.normalize_name("Strauß") == "strauss" and names.normalize_name("Marszałek") == "marszalek"
    assert names.normalize_name("Rafaj1") == "rafaj" and names.normalize_name("Lu:") == "lu"
    assert names.normalize_name("To The First\u00a0 Page") == "to the first page"
    assert names.normalize_name("O'Brien") == "o'brien" and names.normalize_name("Au-Yong") == "au-yong"
    assert names.normalize_name("Müller", fold_ascii=False) == "müller"
    decomposed = unicodedata.normalize("NFD", "Müller")
    assert names.normalize_name(decomposed, fold_ascii=False) == "müller"


def test_unfolded_alphabet_covers_the_data():
    data = names.load("all18", fold_ascii=False)
    assert len(data.alphabet) == 29 + 24
    used = set("".join(data.train.names + data.test.names))
    assert used <= set(data.alphabet) and {"ü", "ß", "é"} <= used


def test_folding_agrees_with_ai_edu_file():
    # ai-edu: tutorial folding, lowercase, letters only. Ours keeps ' and - and writes ß as ss,
    # so compare letters only and leave out the 9 German names with ß.
    aiedu = {tuple(line.split("\t")) for line in _lines("names_aiedu", "ch19.name_language.txt")}
    ours, sharp_s = set(), set()
    for lang in AIEDU_COUNTS:
        for line in _lines("names", f"{lang}.txt"):
            target = sharp_s if "ß" in line else ours
            target.add(("".join(c for c in names.normalize_name(line.replace("ß", "")) if c.isalpha()), lang))
    assert ours | sharp_s == aiedu


def test_one_hot_and_user_names(aiedu):
    x, lengths = aiedu.one_hot("test")
    assert x.shape == (len(aiedu.test.names), lengths.max(), 29) and x.dtype == np.float64
    for b in range(0, x.shape[0], 97):
        np.testing.assert_array_equal(x[b, : lengths[b]].argmax(axis=-1), aiedu.test.x[b])
        assert not x[b, lengths[b] :].any()
    x, lengths = names.encode_names(["Nakamura", "Schmidt", "Müller"])
    assert x.shape == (3, 8, 29) and lengths.tolist() == [8, 7, 6]
    np.testing.assert_array_equal(x[2, :6].argmax(-1), names.encode_name("muller"))
    with pytest.raises(ValueError, match="outside the alphabet"):
        names.encode_name("R2D2")
    with pytest.raises(ValueError, match="empty"):
        names.encode_name("   ")
    with pytest.raises(ValueError, match="subset"):
        names.load("all20")


def test_a_typographic_apostrophe_reads_as_the_data_s_apostrophe():
    # "O’Brien" typed on a phone was refused as holding a character outside the alphabet
    assert names.normalize_name("O’Brien") == names.normalize_name("O\u02bcbrien") == "o'brien"
    np.testing.assert_array_equal(names.encode_name("O’Brien"), names.encode_name("O'Brien"))
