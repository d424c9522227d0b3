"""Many-to-many with different lengths: an encoder–decoder (seq2seq). The encoder reads a digit
string, the decoder writes it reversed and then an end token, so the output's length is the
model's own decision. Attention lets each output step look back at the source step it copies.
Trained with teacher forcing; decoded greedily and by beam search.

    python examples/reverse_digits.py              # prints exact matches on 200 unseen strings:
                                                   # held-out exact match: greedy 1.000, beam 1.000
                                                   # then three of them, e.g. 8094 -> 4908, and
                                                   # the beam's 3 best for the first, with their
                                                   # log-probabilities: 4908 (-0.00055), 4988 (-9.7), ...
"""

from __future__ import annotations

import sys

import numpy as np

from rnnkit.models import EncoderDecoder

# Ids: 0 is padding on both sides. The target side also reserves 1 (BOS, the decoder's first
# input) and 2 (EOS, the end of every target), so digit d is d + 1 in a source, d + 3 in a target.
SOURCE_ID, TARGET_ID = 1, 3


def digit_strings(n: int, rng: np.random.Generator) -> list[str]:
    """n different strings of 3..6 digits."""
    seen: set[str] = set()
    while len(seen) < n:
        seen.add("".join(map(str, rng.integers(0, 10, size=rng.integers(3, 7)))))
    return sorted(seen)


def to_ids(s: str, first: int) -> list[int]:
    return [int(c) + first for c in s]


def to_text(ids: list[int]) -> str:
    return "".join(str(i - TARGET_ID) for i in ids)


def main(epochs: int = 10) -> tuple[float, float]:
    rng = np.random.default_rng(0)
    strings = digit_strings(2200, rng)
    rng.shuffle(strings)
    train, test = strings[:2000], strings[2000:]  # every test string is unseen

    model = EncoderDecoder(10 + SOURCE_ID, 10 + TARGET_ID, cell="gru", units=64, embedding=16,
                           attention=32, seed=0)  # additive attention with 32 units
    x, y = model.pack([to_ids(s, SOURCE_ID) for s in train], [to_ids(s[::-1], TARGET_ID) for s in train])
    model.compile("adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"], lr=0.01, clipnorm=1.0)
    model.fit(x, y, epochs=epochs, batch_size=32, verbose=0)

    sources = [to_ids(s, SOURCE_ID) for s in test]
    greedy = [to_text(h.tokens) for h in model.greedy_decode(sources)]
    beam = [to_text(model.beam_search(src, beam_width=3)[0].tokens) for src in sources]  # one source at a time
    greedy_acc = np.mean([g == s[::-1] for g, s in zip(greedy, test)])
    beam_acc = np.mean([b == s[::-1] for b, s in zip(beam, test)])
    print(f"held-out exact match: greedy {greedy_acc:.3f}, beam {beam_acc:.3f}")
    for s, g in list(zip(test, greedy))[:3]:
        print(f"{s} -> {g}")
    candidates = model.beam_search(sources[0], beam_width=3)  # best first, with log-probabilities
    print("beam for " + test[0] + ": " + ", ".join(f"{to_text(h.tokens)} ({h.log_prob:.2g})" for h in candidates))
    return float(greedy_acc), float(beam_acc)


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
