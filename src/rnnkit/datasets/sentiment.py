"""Sentence sentiment (notes seeds 000/004, "Embedding(10000, 32) + RNN"): many-to-one, binary.

A stand-in for the Keras IMDB set, which cannot be loaded offline: UCI "Sentiment Labelled
Sentences" (Kotzias et al. 2015), 1,000 sentences each from imdb, amazon and yelp, 500 positive
(label 1) and 500 negative (0) per source, shipped as data/sentiment/*.txt.

Reading: each file is split on "\\n" ONLY. imdb_labelled.txt holds U+0085 (NEL) inside two
sentences, and str.splitlines() would cut there; each line is "sentence<TAB>label".

Tokens: the sentence lowercased, then the runs of letters and digits (any script), with inner
apostrophes kept ("don't", "it's"; a typographic ’ counts as '); everything else separates
tokens (U+0085 included).

Vocabulary: fitted on the TRAINING sentences only; index 0 = padding, 1 = out of vocabulary,
then the ``num_words - 2`` most frequent training words (ties broken alphabetically), so every
index is < num_words, as in Keras' ``num_words`` and ``Embedding(num_words, ...)``.

Split: identical sentences (there are 17 repeated lines) are one group and stay on one side; the
groups are split stratified by (source, label), ``round(test_fraction * size)`` of each stratum
drawn by ``np.random.default_rng(seed)``. Then sentences with the same TOKENS, i.e. the same model
input though the text differs in case, punctuation or spacing ("Great phone." / "Great Phone.",
9 such groups), all go to the side of their first line, so no test input is also a training input
(the draw of seed 0 has none across the split, so this moved nothing there). Samples inside a
split keep file order (imdb, amazon, yelp).

Shapes: x (B, T) int64 padded with 0 after each sentence, lengths (B,), labels (B,) int64.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from rnnkit.datasets._files import read_text
from rnnkit.datasets._text import APOSTROPHES

__all__ = [
    "OOV",
    "PAD",
    "SOURCES",
    "SentimentData",
    "SentimentSplit",
    "build_vocabulary",
    "encode",
    "load",
    "read_sentences",
    "tokenize",
]

SOURCES = {"imdb": "imdb_labelled.txt", "amazon": "amazon_cells_labelled.txt", "yelp": "yelp_labelled.txt"}
PAD, OOV = 0, 1
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*")


def tokenize(text: str) -> list[str]:
    """Lowercase, then words: letter/digit runs, inner apostrophes (’ read as ') kept."""
    return _TOKEN.findall(text.lower().translate(APOSTROPHES))


def read_sentences(sources: Sequence[str] = tuple(SOURCES)) -> list[tuple[str, int, str]]:
    """All (sentence, label, source) lines of the given sources, in file order (1,000 per source)."""
    out = []
    for source in sources:
        if source not in SOURCES:
            raise ValueError(f"unknown source {source!r}; expected some of {sorted(SOURCES)}")
        for k, line in enumerate(read_text("sentiment", SOURCES[source]).split("\n")):
            if not line:
                continue
            sentence, sep, label = line.rpartition("\t")
            if not sep or label not in ("0", "1"):
                raise ValueError(f"{SOURCES[source]} line {k + 1}: expected 'sentence<TAB>0|1', got {line!r}")
            out.append((sentence, int(label), source))
    return out


def build_vocabulary(token_lists: Iterable[Sequence[str]], num_words: int = 10000) -> tuple[str, ...]:
    """Index -> word: ("<pad>", "<oov>", then the num_words - 2 most frequent words)."""
    if num_words < 3:
        raise ValueError(f"num_words must be >= 3 (padding, out-of-vocabulary, one word), got {num_words}")
    counts = Counter(word for tokens in token_lists for word in tokens)
    ranked = sorted(counts, key=lambda w: (-counts[w], w))
    return ("<pad>", "<oov>", *ranked[: num_words - 2])


def encode(
    token_lists: Sequence[Sequence[str]], vocabulary: Sequence[str], max_len: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Token lists -> x (B, T) int64 (0-padded after each sequence, unknown words = 1) and lengths (B,).

    T is the longest sequence, or max_len when given (longer ones keep their first max_len
    tokens). An empty token list gets length 0.
    """
    index = {w: k for k, w in enumerate(vocabulary)}
    ids = [[index.get(w, OOV) for w in tokens][:max_len] for tokens in token_lists]
    lengths = np.array([len(s) for s in ids], dtype=np.int64)
    width = max_len if max_len is not None else int(lengths.max(initial=0))
    x = np.full((len(ids), width), PAD, dtype=np.int64)
    for b, s in enumerate(ids):
        x[b, : len(s)] = s
    return x, lengths


@dataclass(frozen=True)
class SentimentSplit:
    """One side of the split: B sentences as word indices x (B, T), lengths (B,), labels (B,)."""

    sentences: tuple[str, ...]  # B raw sentences
    sources: tuple[str, ...]  # B of "imdb" | "amazon" | "yelp"
    x: np.ndarray  # (B, T) int64 word indices, 0 = padding
    lengths: np.ndarray  # (B,) int64
    labels: np.ndarray  # (B,) int64, 1 = positive


@dataclass(frozen=True)
class SentimentData:
    """The sentiment data: train and test SentimentSplits and the V-word vocabulary that
    encoded them (index 0 PAD, 1 OOV); encode_texts encodes new sentences the same way."""

    train: SentimentSplit
    test: SentimentSplit
    vocabulary: tuple[str, ...]  # V words, index -> word; V <= num_words
    max_len: int | None

    def encode_texts(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """New sentences (e.g. typed by a user) -> x (B, T) int64 and lengths (B,), with this vocabulary."""
        return encode([tokenize(t) for t in texts], self.vocabulary, self.max_len)


def load(
    num_words: int = 10000,
    test_fraction: float = 0.2,
    seed: int = 0,
    sources: Sequence[str] = tuple(SOURCES),
    max_len: int | None = None,
) -> SentimentData:
    """Train/test split, vocabulary fitted on train, padded index sequences (see the module docstring)."""
    if not 0.0 <= test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in [0, 1), got {test_fraction}")
    rows = read_sentences(sources)
    groups: dict[str, list[int]] = defaultdict(list)  # sentence -> row numbers
    for k, (sentence, _, _) in enumerate(rows):
        groups[sentence].append(k)
    strata: dict[tuple[str, int], list[str]] = defaultdict(list)
    for sentence, members in groups.items():  # first occurrence decides the stratum
        _, label, source = rows[members[0]]
        strata[(source, label)].append(sentence)
    rng = np.random.default_rng(seed)
    test_rows: set[int] = set()
    for key in sorted(strata):
        sentences = strata[key]
        n_test = int(round(test_fraction * len(sentences)))
        for j in rng.permutation(len(sentences))[:n_test]:
            test_rows.update(groups[sentences[j]])

    tokens = [tokenize(sentence) for sentence, _, _ in rows]
    # The model reads tokens, not text: lines with the same tokens follow their first line.
    first_side: dict[tuple[str, ...], bool] = {}
    for k in range(len(rows)):
        if first_side.setdefault(tuple(tokens[k]), k in test_rows):
            test_rows.add(k)
        else:
            test_rows.discard(k)
    train_ids = [k for k in range(len(rows)) if k not in test_rows]
    test_ids = sorted(test_rows)
    vocabulary = build_vocabulary((tokens[k] for k in train_ids), num_words)

    def split(ids: list[int]) -> SentimentSplit:
        x, lengths = encode([tokens[k] for k in ids], vocabulary, max_len)
        return SentimentSplit(
            sentences=tuple(rows[k][0] for k in ids),
            sources=tuple(rows[k][2] for k in ids),
            x=x,
            lengths=lengths,
            labels=np.array([rows[k][1] for k in ids], dtype=np.int64),
        )

    return SentimentData(split(train_ids), split(test_ids), vocabulary, max_len)
