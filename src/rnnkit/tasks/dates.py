"""Human-written dates to ISO 8601: "3rd of March 2021", "03/03/21", "March 3, 2021" ->
"2021-03-03" (seq2seq with a long, varied source and a short fixed-form target).

Data: generated here. Every date from 1950-01-01 to 2049-12-31 (36,525) appears once, written in
one of the ``FORMATS`` below chosen at random; the dates are split at random into train /
validation / test, so no held-out date is seen in training in any form. Sources are lower-cased
(user input is too, so "MARCH 3 2021" reads as "march 3 2021"). Conventions: slashes are
American, month first ("03/04/21" is 4 March); dots are day first ("04.03.2021"); a two-digit
year is 1950–1999 from 50 up and 2000–2049 below. Targets are the 10 characters of the ISO date.

Model: the encoder–decoder of rnnkit.models.seq2seq (bidirectional GRU encoder, additive
attention; ``-o attention=0`` for none). Held-out score: exact match of greedy decoding.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from rnnkit.tasks.base import Option
from rnnkit.tasks.translation import OPTIONS, Seq2SeqTask, split_counts

MONTHS = ("January February March April May June July August September October November December").split()
WEEKDAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
FIRST, LAST = dt.date(1950, 1, 1), dt.date(2049, 12, 31)


def ordinal(d: int) -> str:
    suffix = "th" if 11 <= d % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(d % 10, "th")
    return f"{d}{suffix}"


FORMATS = (
    lambda t: f"{ordinal(t.day)} of {MONTHS[t.month - 1]} {t.year}",  # 3rd of March 2021
    lambda t: f"{t.month:02d}/{t.day:02d}/{t.year % 100:02d}",  # 03/03/21
    lambda t: f"{MONTHS[t.month - 1]} {t.day}, {t.year}",  # March 3, 2021
    lambda t: f"{t.day} {MONTHS[t.month - 1]} {t.year}",  # 3 March 2021
    lambda t: f"{MONTHS[t.month - 1][:3]} {t.day}, {t.year}",  # Mar 3, 2021
    lambda t: f"{t.day} {MONTHS[t.month - 1][:3]} {t.year}",  # 3 Mar 2021
    lambda t: f"{WEEKDAYS[t.weekday()]}, {MONTHS[t.month - 1]} {t.day}, {t.year}",  # Wednesday, March 3, 2021
    lambda t: f"{t.day:02d}.{t.month:02d}.{t.year}",  # 03.03.2021
    lambda t: f"{t.month}/{t.day}/{t.year}",  # 3/3/2021
    lambda t: f"the {ordinal(t.day)} of {MONTHS[t.month - 1]}, {t.year}",  # the 3rd of March, 2021
    lambda t: f"{MONTHS[t.month - 1]} {ordinal(t.day)} {t.year}",  # March 3rd 2021
    lambda t: f"{t.year}/{t.month:02d}/{t.day:02d}",  # 2021/03/03
)


def normalise(text: str) -> str:
    return " ".join(text.lower().split())


def all_dates() -> list[dt.date]:
    return [FIRST + dt.timedelta(days=k) for k in range((LAST - FIRST).days + 1)]


class Dates(Seq2SeqTask):
    name = "dates"
    pattern = "seq2seq (many-to-many, unequal lengths): human-written dates -> ISO 8601"
    data = "generated: every date 1950-2049 in one of 12 formats (rnnkit.tasks.dates.FORMATS)"
    size = "33,525 train / 1,000 val / 2,000 test dates; source T <= 30 characters, target 10; V = 43 -> 14"
    reference = "exact match >= 99 % on held-out dates with attention"
    predict_example = ("March 3, 2021",)
    source_alphabet = " ',-./0123456789abcdefghijklmnopqrstuvwxyz"
    target_symbols = tuple("0123456789-")
    options = (
        *OPTIONS,
        Option("train", 33_525, "training dates (at most 33,525: all the others)", type=int),
        Option("data_seed", 0, "seed of the formats drawn and of the split", type=int),
    )

    def defaults(self, options):
        return dict(cell="gru", hidden=128, embedding=32, bidirectional=True, layers=1, epochs=6, batch_size=64,
                    lr=2e-3, clipnorm=5.0)

    def make_pairs(self, options, seed):
        rng = np.random.default_rng([options["data_seed"], 13])
        dates = all_dates()
        kinds = rng.integers(0, len(FORMATS), size=len(dates))
        items = [(normalise(FORMATS[k](d)), list(d.isoformat())) for d, k in zip(dates, kinds)]
        if not 1 <= options["train"] <= len(dates) - 3000:
            raise ValueError(f"train must lie in 1..{len(dates) - 3000:,}, got {options['train']}")
        return split_counts(options["train"], 1000, 2000, rng, items)

    def normalise_source(self, text):
        return normalise(text)
