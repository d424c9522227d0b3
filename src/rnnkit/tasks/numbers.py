"""Numerals to English words, "1234" -> "one thousand two hundred thirty-four" (seq2seq: a
source and a target of different lengths, as in translation, seeds 000/002/004).

Data: generated here (``number_words``, American style: no "and", hyphenated tens). Distinct
numbers in 0..``--max`` are drawn with every digit count equally likely (all of the 1- and
2-digit ones, 900 of 3 digits, the rest shared by the longer counts) and split at random into
train / validation / test, so no held-out number is ever seen in training. Sources are digit
characters; targets are word tokens, "-" one of them (V = 36 with padding, BOS and EOS).

Model: the encoder–decoder of rnnkit.models.seq2seq (bidirectional GRU encoder, GRU decoder,
additive attention with ``-o attention=N`` units; ``-o attention=0`` for none). Held-out score:
exact match of greedy decoding (``accuracy``). ``rnnkit translate RUN 1234`` decodes.
"""

from __future__ import annotations

import numpy as np

from rnnkit.tasks.base import Option
from rnnkit.tasks.translation import OPTIONS, Seq2SeqTask, split_counts

ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen").split()
TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
SCALES = ((10**9, "billion"), (10**6, "million"), (1000, "thousand"))


def _below_thousand(n: int) -> list[str]:
    words = []
    if n >= 100:
        words += [ONES[n // 100], "hundred"]
        n %= 100
        if n == 0:
            return words
    if n < 20:
        return words + [ONES[n]]
    words.append(TENS[n // 10 - 2] + ("" if n % 10 == 0 else "-" + ONES[n % 10]))
    return words


def number_words(n: int) -> str:
    """0 <= n < 10**12 in English words: 1234 -> 'one thousand two hundred thirty-four'."""
    if not isinstance(n, (int, np.integer)) or not 0 <= n < 10**12:
        raise ValueError(f"n must be an integer in 0..10**12 - 1, got {n!r}")
    if n == 0:
        return "zero"
    words = []
    for scale, name in SCALES:
        if n >= scale:
            words += _below_thousand(int(n // scale)) + [name]
            n %= scale
    if n:
        words += _below_thousand(int(n))
    return " ".join(words)


def tokens(words: str) -> list[str]:
    """'thirty-four thousand' -> ['thirty', '-', 'four', 'thousand']."""
    return words.replace("-", " - ").split()


def join_tokens(toks) -> str:
    return " ".join(toks).replace(" - ", "-")


def draw_numbers(count: int, largest: int, rng: np.random.Generator) -> list[int]:
    """`count` distinct numbers in 0..largest, every digit count equally likely where it has enough."""
    digits = len(str(largest))
    ranges = [(0 if d == 1 else 10 ** (d - 1), min(10**d - 1, largest)) for d in range(1, digits + 1)]
    sizes = [hi - lo + 1 for lo, hi in ranges]
    if count > sum(sizes):
        raise ValueError(f"cannot draw {count} distinct numbers from 0..{largest}")
    quota, left, chosen = [0] * digits, count, []
    for i in np.argsort(sizes, kind="stable"):  # the small digit counts first, the rest share what is left
        share = left // (digits - len(chosen))
        quota[i] = min(sizes[i], share)
        left -= quota[i]
        chosen.append(i)
    quota[int(np.argmax(sizes))] += left
    out = []
    for (lo, hi), q in zip(ranges, quota):
        out += (lo + rng.choice(hi - lo + 1, size=q, replace=False)).tolist()
    return out


class Numbers(Seq2SeqTask):
    name = "numbers"
    pattern = "seq2seq (many-to-many, unequal lengths): numerals -> English words"
    data = "generated: distinct numbers 0..999,999 (rnnkit.tasks.numbers.number_words)"
    size = "20,000 train / 1,000 val / 2,000 test numbers; source T <= 6 digits, target <= 11 words; V = 11 -> 36"
    reference = "exact match >= 99 % on held-out numbers with attention"
    predict_example = ("1234",)
    source_alphabet = "0123456789"
    target_symbols = (*ONES, *TENS, "hundred", "thousand", "million", "billion", "-")
    options = (
        *OPTIONS,
        Option("max", 999_999, "largest number (at most 999,999,999,999)", type=int),
        Option("train", 20_000, "training numbers", type=int),
        Option("test", 2000, "held-out test numbers (validation: half as many)", type=int),
        Option("data_seed", 0, "seed of the numbers drawn and of their split", type=int),
    )

    def defaults(self, options):
        return dict(cell="gru", hidden=128, embedding=32, bidirectional=True, layers=1, epochs=20, batch_size=64,
                    lr=2e-3, clipnorm=5.0)

    def make_pairs(self, options, seed):
        if not 9 <= options["max"] < 10**12:
            raise ValueError(f"max must lie in 9..999,999,999,999, got {options['max']}")
        test = options["test"]
        val = max(1, test // 2)
        if options["train"] < 1 or test < 1:
            raise ValueError("train and test must be positive counts")
        rng = np.random.default_rng([options["data_seed"], 11])
        numbers = draw_numbers(options["train"] + val + test, options["max"], rng)
        parts = split_counts(options["train"], val, test, rng, numbers)
        return {k: [(str(n), tokens(number_words(n))) for n in v] for k, v in parts.items()}

    def load(self, options, seed=0):
        data = super().load(options, seed)
        data.meta["max"] = options["max"]
        return data

    def encode_sources(self, inputs, meta):
        encoded = super().encode_sources(inputs, meta)
        for text in inputs:
            if "max" in meta and int(self.normalise_source(text)) > meta["max"]:
                raise ValueError(f"numbers: {text!r} is beyond the largest number this model was trained on "
                                 f"({meta['max']:,})")
        return encoded

    def normalise_source(self, text):
        s = text.strip().replace(",", "").replace("_", "").replace(" ", "")
        if not s.isdecimal():  # isdigit() also passes "²", which int() then refuses with its own message
            raise ValueError(f"numbers: {text!r} is not a whole number written with digits")
        return str(int(s))

    def join_target(self, toks):
        return join_tokens(toks)
