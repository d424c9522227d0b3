"""Surname -> language (notes seed 002; ai-edu ch19 Level5): many-to-one, variable length.

Two subsets:

* ``"all18"``: the 18 files of the PyTorch char-RNN tutorial (data/names/<Language>.txt, 20,074
  lines). Each line is normalised (below); identical (name, language) pairs are then kept once.
* ``"aiedu10"``: ai-edu's ch19.name_language.txt (4,400 "name<TAB>Language" lines, 10 languages,
  already lowercase a-z only, no duplicate pairs).

Normalisation of a name (data lines and user input alike):
NFC; no-break spaces -> space; typographic apostrophes (’) -> '; whitespace trimmed and runs
collapsed to one space; with ``fold_ascii`` (the default) accents are removed the way the
PyTorch tutorial does (NFD, then drop the combining marks, category Mn) and the two letters NFD
cannot fold are transliterated (ß -> ss, ł -> l); lowercase; finally characters outside the
alphabet are dropped (the tutorial drops them too): in the data these are only typos such as
"Rafaj1", "Lu:", "Maxa/B", "Lytkin,".

Alphabet (index = position): ``a``..``z`` then space, apostrophe, hyphen (V = 29) when folding;
without folding the accented letters of the data follow: ``ßàáãäçèéêìíñòóõöùúüąłńśż`` (V = 53).
Space, apostrophe and hyphen occur in names such as "De la fuente", "O'Brien", "Au-Yong".

Duplicates and the split. The unit of the split is the normalised NAME: a name listed under
several languages (e.g. "lang": Chinese, English and German) yields one sample per language, and all of
them go to the same side, so no test name is ever a training name. The split is stratified:
each name is assigned to its rarest language (fewest names), then within each language
``round(test_fraction * count)`` of its names, drawn by ``np.random.default_rng(seed)``, go to
test. Samples inside a split are sorted by (label, name).

Shapes: index sequences (T_i,) int64, lengths (B,), labels (B,); one-hot batches (B, T, V).
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from rnnkit.datasets._files import read_text
from rnnkit.datasets._text import APOSTROPHES

__all__ = [
    "ACCENTED",
    "ASCII_ALPHABET",
    "LANGUAGES_18",
    "NamesData",
    "NamesSplit",
    "alphabet",
    "encode_name",
    "encode_names",
    "load",
    "normalize_name",
    "one_hot",
]

ASCII_ALPHABET = "abcdefghijklmnopqrstuvwxyz '-"
ACCENTED = "ßàáãäçèéêìíñòóõöùúüąłńśż"
LANGUAGES_18 = (
    "Arabic", "Chinese", "Czech", "Dutch", "English", "French", "German", "Greek", "Irish",
    "Italian", "Japanese", "Korean", "Polish", "Portuguese", "Russian", "Scottish", "Spanish", "Vietnamese",
)  # fmt: skip
_NOT_FOLDED_BY_NFD = str.maketrans({"ß": "ss", "ẞ": "SS", "ł": "l", "Ł": "L"})


def alphabet(fold_ascii: bool = True) -> str:
    """The symbols, in index order: 29 when folding to ASCII, 53 otherwise."""
    return ASCII_ALPHABET if fold_ascii else ASCII_ALPHABET + ACCENTED


def normalize_name(name: str, fold_ascii: bool = True, strict: bool = False) -> str:
    """One name as the data set stores it (see the module docstring).

    strict=True raises ValueError instead of dropping characters outside the alphabet.
    """
    s = unicodedata.normalize("NFC", name).replace("\u00a0", " ").translate(APOSTROPHES)
    s = " ".join(s.split())
    if fold_ascii:
        s = "".join(c for c in unicodedata.normalize("NFD", s) if unicodedata.category(c) != "Mn")
        s = s.translate(_NOT_FOLDED_BY_NFD)
    s = s.lower()
    symbols = alphabet(fold_ascii)
    outside = sorted({c for c in s if c not in symbols})
    if outside and strict:
        raise ValueError(f"name {name!r} has characters outside the alphabet: {outside}")
    return " ".join("".join(c for c in s if c in symbols).split())


def encode_name(name: str, fold_ascii: bool = True) -> np.ndarray:
    """A user-typed name -> index sequence (T,) int64 over :func:`alphabet`.

    The name is normalised like the data; ValueError if it is empty afterwards or holds a
    character the alphabet lacks (a digit, say).
    """
    s = normalize_name(name, fold_ascii, strict=True)
    if not s:
        raise ValueError(f"name {name!r} is empty once normalised")
    symbols = alphabet(fold_ascii)
    return np.array([symbols.index(c) for c in s], dtype=np.int64)


def one_hot(
    sequences: Sequence[np.ndarray], vocab_size: int, dtype: type = np.float64
) -> tuple[np.ndarray, np.ndarray]:
    """Index sequences -> padded one-hot x (B, T, V) and lengths (B,) int64, T = the longest.

    Steps past a sequence's length are all-zero vectors.
    """
    lengths = np.array([len(s) for s in sequences], dtype=np.int64)
    x = np.zeros((len(sequences), int(lengths.max(initial=0)), vocab_size), dtype=dtype)
    for b, seq in enumerate(sequences):
        x[b, np.arange(len(seq)), seq] = 1
    return x, lengths


def encode_names(
    names: Iterable[str], fold_ascii: bool = True, dtype: type = np.float64
) -> tuple[np.ndarray, np.ndarray]:
    """User-typed names (``rnnkit predict RUN Nakamura Schmidt``) -> x (B, T, V) one-hot, lengths (B,)."""
    return one_hot([encode_name(n, fold_ascii) for n in names], len(alphabet(fold_ascii)), dtype)


@dataclass(frozen=True)
class NamesSplit:
    """One side of the split: B samples, sorted by (label, name)."""

    names: tuple[str, ...]  # B normalised names
    x: tuple[np.ndarray, ...]  # B index sequences, each (T_i,) int64
    lengths: np.ndarray  # (B,) int64
    labels: np.ndarray  # (B,) int64, index into NamesData.classes


@dataclass(frozen=True)
class NamesData:
    """The surname data: train and test NamesSplits, the C class names and the V-symbol
    alphabet the index sequences use."""

    train: NamesSplit
    test: NamesSplit
    classes: tuple[str, ...]  # C language names, index = label
    alphabet: str  # V symbols, index = position
    fold_ascii: bool

    def one_hot(self, split: str = "train", dtype: type = np.float64) -> tuple[np.ndarray, np.ndarray]:
        """The split as x (B, T, V) padded one-hot and lengths (B,)."""
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        part = self.train if split == "train" else self.test
        return one_hot(part.x, len(self.alphabet), dtype)


def _read_pairs(subset: str, fold_ascii: bool) -> tuple[set[tuple[str, str]], tuple[str, ...]]:
    pairs: set[tuple[str, str]] = set()
    if subset == "all18":
        classes = LANGUAGES_18
        for language in classes:
            for line in read_text("names", f"{language}.txt").split("\n"):
                name = normalize_name(line, fold_ascii)
                if name:
                    pairs.add((name, language))
    elif subset == "aiedu10":
        for line in read_text("names_aiedu", "ch19.name_language.txt").split("\n"):
            if line:
                raw, language = line.split("\t")
                name = normalize_name(raw, fold_ascii)
                if name:
                    pairs.add((name, language))
        classes = tuple(sorted({language for _, language in pairs}))
    else:
        raise ValueError(f"subset must be 'all18' or 'aiedu10', got {subset!r}")
    return pairs, classes


def _make_split(pairs: list[tuple[str, int]], symbols: str) -> NamesSplit:
    pairs = sorted(pairs, key=lambda p: (p[1], p[0]))
    x = tuple(np.array([symbols.index(c) for c in name], dtype=np.int64) for name, _ in pairs)
    return NamesSplit(
        names=tuple(name for name, _ in pairs),
        x=x,
        lengths=np.array([len(s) for s in x], dtype=np.int64),
        labels=np.array([label for _, label in pairs], dtype=np.int64),
    )


def load(subset: str = "all18", test_fraction: float = 0.2, seed: int = 0, fold_ascii: bool = True) -> NamesData:
    """The surname data set, split into train and test by unique name (see the module docstring).

    subset: "all18" (18 languages) or "aiedu10" (ai-edu's 10). test_fraction: share of each
    language's names held out, 0 allowed (the notes evaluated on their training data). seed fixes
    the split. Returns NamesData; each split has names, x (index sequences), lengths (B,), labels (B,).
    """
    if not 0.0 <= test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in [0, 1), got {test_fraction}")
    pairs, classes = _read_pairs(subset, fold_ascii)
    class_index = {c: k for k, c in enumerate(classes)}
    labels_of: dict[str, set[int]] = defaultdict(set)
    for name, language in pairs:
        labels_of[name].add(class_index[language])
    names_per_class = np.bincount([label for ls in labels_of.values() for label in ls], minlength=len(classes))

    strata: dict[int, list[str]] = defaultdict(list)
    for name in sorted(labels_of):
        rarest = min(labels_of[name], key=lambda c: (names_per_class[c], c))
        strata[rarest].append(name)
    rng = np.random.default_rng(seed)
    test_names: set[str] = set()
    for c in range(len(classes)):
        members = strata.get(c, [])
        n_test = int(round(test_fraction * len(members)))
        test_names.update(members[k] for k in rng.permutation(len(members))[:n_test])

    symbols = alphabet(fold_ascii)
    train = [(n, c) for n, ls in labels_of.items() if n not in test_names for c in ls]
    test = [(n, c) for n, ls in labels_of.items() if n in test_names for c in ls]
    return NamesData(_make_split(train, symbols), _make_split(test, symbols), classes, symbols, fold_ascii)
