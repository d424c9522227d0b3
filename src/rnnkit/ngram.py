"""A character n-gram language model with interpolated modified Kneser–Ney smoothing (Chen &
Goodman 1998): the baseline the character-level RNN language model has to beat.

For order m and a context h of m − 1 characters, with c(hw) the count of hw at that order (the
raw count at the highest order, the continuation count N₁₊(•hw) — how many distinct
characters precede hw — below it):

    P_m(w | h) = max(c(hw) − D_m(c(hw)), 0) / c(h•)  +  γ_m(h) · P_{m−1}(w | h without its first char)
    γ_m(h)     = (D_m1 N₁(h•) + D_m2 N₂(h•) + D_m3+ N₃₊(h•)) / c(h•)
    P_0(w)     = 1 / V                                                   (uniform over the vocabulary)

where c(h•) = Σ_w c(hw), N_k(h•) is the number of characters w with c(hw) = k (3+: ≥ 3), and the
three discounts of each order come from its count-of-counts n_1..n_4:

    Y = n₁ / (n₁ + 2 n₂),   D₁ = 1 − 2Y n₂/n₁,   D₂ = 2 − 3Y n₃/n₂,   D₃₊ = 3 − 4Y n₄/n₃.

An unseen context (c(h•) = 0) leaves P_m = P_{m−1}. Each P_m sums to one over the vocabulary.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict

from rnnkit import _checks as checks

__all__ = ["KneserNey"]


class KneserNey:
    """Interpolated modified Kneser–Ney over characters; ``fit(text)``, then ``bits_per_char``."""

    def __init__(self, order: int = 5, vocabulary: str | None = None):
        self.order = checks.integer("order", order)
        self.vocabulary = vocabulary

    def fit(self, text: str) -> "KneserNey":
        """Count the n-grams of `text` (at least `order` characters); returns self."""
        if len(text) < self.order:
            raise ValueError(f"the training text must hold at least {self.order} characters")
        N = self.order
        vocabulary = set(self.vocabulary) if self.vocabulary is not None else set(text)
        if not set(text) <= vocabulary:
            raise ValueError("the training text holds characters outside the vocabulary")
        self.V = len(vocabulary)
        counts = [Counter()] * (N + 1)
        counts[N] = Counter(text[i : i + N] for i in range(len(text) - N + 1))
        for m in range(N - 1, 0, -1):  # continuation counts from the distinct (m+1)-grams
            grams = counts[m + 1] if m + 1 < N else counts[N]
            counts[m] = Counter(g[1:] for g in grams)
        self.counts = counts
        self.discounts = [None] + [self._discounts(counts[m]) for m in range(1, N + 1)]
        self.context = [None]  # per order: context -> (c(h•), N1(h•), N2(h•), N3+(h•))
        for m in range(1, N + 1):
            stats = defaultdict(lambda: [0, 0, 0, 0])
            for gram, c in counts[m].items():
                s = stats[gram[:-1]]
                s[0] += c
                s[min(c, 3)] += 1
            self.context.append(dict(stats))
        return self

    @staticmethod
    def _discounts(counts: Counter) -> tuple[float, float, float]:
        n = Counter(c for c in counts.values() if c <= 4)
        n1, n2, n3, n4 = (n.get(k, 0) for k in (1, 2, 3, 4))
        if min(n1, n2, n3, n4) == 0:  # too little data for the estimate: the classic 0.75
            return 0.75, 0.75, 0.75
        Y = n1 / (n1 + 2 * n2)
        d = (1 - 2 * Y * n2 / n1, 2 - 3 * Y * n3 / n2, 3 - 4 * Y * n4 / n3)
        return tuple(min(max(x, 0.0), k + 1.0) for k, x in enumerate(d))

    def prob(self, char: str, history: str) -> float:
        """P(char | the last order − 1 characters of history)."""
        p = 1.0 / self.V
        for m in range(1, self.order + 1):
            if m - 1 > len(history):
                break
            h = history[len(history) - (m - 1) :] if m > 1 else ""
            stats = self.context[m].get(h)
            if stats is None:
                continue
            total, k1, k2, k3 = stats
            d1, d2, d3 = self.discounts[m]
            c = self.counts[m].get(h + char, 0)
            d = 0.0 if c == 0 else (d1, d2, d3)[min(c, 3) - 1]
            p = (c - d) / total + (d1 * k1 + d2 * k2 + d3 * k3) / total * p
        return p

    def bits_per_char(self, text: str, start: int = 0) -> float:
        """−mean log₂ P(text[i] | text[:i]) over i ≥ start (text[:start] is context only)."""
        if len(text) <= start:
            raise ValueError(f"text must hold more than start = {start} characters")
        total = 0.0
        for i in range(start, len(text)):
            total -= math.log2(self.prob(text[i], text[max(0, i - self.order + 1) : i]))
        return total / (len(text) - start)
