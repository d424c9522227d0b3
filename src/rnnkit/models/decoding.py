"""Decoding an encoder–decoder's output: greedy and beam search (rnnkit.models.seq2seq).

Both drive a model through two calls, ``model.encode(sources) -> Encoded`` and
``model.decode_step(tokens, state, encoded) -> (log-probabilities (B, V), state, attention
weights or None)``, and return Hypothesis tuples. Target vocabularies reserve id 0 for padding,
1 for BOS (the decoder's first input) and 2 for EOS (the end of every target).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnkit import _checks as checks

PAD, BOS, EOS = 0, 1, 2


class Hypothesis(NamedTuple):
    """One decoded output sequence."""

    tokens: list[int]  # target ids, without BOS and EOS
    log_prob: float  # the model's log-probability of tokens (+ EOS when finished)
    score: float  # log_prob / steps**length_penalty: what decoding ranks by
    attention: np.ndarray | None  # (steps, S): weights over the source's real steps per output step
    finished: bool  # True when the model ended it with EOS (else it ran into max_length)


def select_rows(state: list, index) -> list:
    """The rows `index` of a decoder state (one tuple of (B, H) arrays per layer)."""
    return [tuple(s[index] for s in layer) for layer in state]


def log_softmax(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def score(log_prob: float, steps: int, length_penalty: float) -> float:
    return log_prob / steps**length_penalty if length_penalty else log_prob


def checked_length_penalty(length_penalty) -> float:
    if not 0 <= checks.real("length_penalty", length_penalty) < float("inf"):
        raise ValueError(f"length_penalty must be >= 0, got {length_penalty!r}")
    return float(length_penalty)


def checked_max_length(model, max_length) -> int:
    max_length = model.max_target_length if max_length is None else max_length
    checks.integer("max_length", max_length)
    return int(max_length)


def greedy_decode(model, sources, *, max_length: int | None = None,
                  length_penalty: float = 0.0) -> list[Hypothesis]:
    """The most likely token at every step, for each source (a batch decoded together)."""
    max_length = checked_max_length(model, max_length)
    length_penalty = checked_length_penalty(length_penalty)
    enc = model.encode(sources)
    B = len(enc.lengths)
    state, tokens = enc.state, np.full(B, BOS, dtype=np.int64)
    done = np.zeros(B, dtype=bool)
    out, weights = np.zeros((B, max_length), np.int64), []
    log_prob, steps = np.zeros(B), np.zeros(B, np.int64)
    for t in range(max_length):
        lp, state, w = model.decode_step(tokens, state, enc)
        tokens = lp[:, EOS:].argmax(axis=-1) + EOS  # PAD and BOS are never outputs
        live = ~done
        log_prob[live] += lp[live, tokens[live]]
        steps[live] += 1
        out[:, t] = tokens
        weights.append(w)
        done |= tokens == EOS
        if done.all():
            break
    hyps = []
    for b in range(B):
        n = int(steps[b])
        finished = bool(done[b])
        attention = None if model.attention is None else np.stack([w[b] for w in weights[:n]])[:, : enc.lengths[b]]
        hyps.append(Hypothesis(out[b, : n - finished].tolist(), float(log_prob[b]),
                               score(float(log_prob[b]), n, length_penalty), attention, finished))
    return hyps


def _require_one_source(source) -> None:
    """beam_search decodes one source, a flat sequence of ids; the batch decoders' hint ('for a
    single source, write [source]') would be wrong here, as that is what was passed."""
    try:
        ndim = np.ndim(source)
    except ValueError:  # ragged nested lists: sources of different lengths
        ndim = None
    if ndim == 1:
        return
    got = f"a single value {source!r}" if ndim == 0 else "a nested sequence"
    raise ValueError(f"source: beam_search decodes one source, a flat sequence of ids such as [5, 8], got {got}: "
                     "pass the source itself (beam_search([5, 8]), not beam_search([[5, 8]])); for several "
                     "sources call it once per source, [model.beam_search(s) for s in sources], or decode them "
                     "together with greedy_decode(sources)")


def beam_search(model, source, *, beam_width: int = 5, length_penalty: float = 0.0,
                max_length: int | None = None) -> list[Hypothesis]:
    """The `beam_width` best output sequences for one source, best first.

    Each step extends every live hypothesis by every token and keeps the `beam_width` best
    (by summed log-probability); those ending in EOS are set aside. Ranking is by
    log_prob / steps**length_penalty (0: the plain log-probability; > 0 favours longer
    outputs). The search stops once no live hypothesis can still beat the `beam_width`-th
    finished one, or at max_length. The greedy output is one of the candidates, so the best
    returned never scores below greedy decoding (plain beam search does not promise that).
    """
    checks.integer("beam_width", beam_width)
    _require_one_source(source)
    length_penalty = checked_length_penalty(length_penalty)
    max_length = checked_max_length(model, max_length)
    k, V = int(beam_width), model.target_vocab
    greedy = greedy_decode(model, [source], max_length=max_length, length_penalty=length_penalty)[0]
    enc1 = model.encode([source])
    S = int(enc1.lengths[0])
    seqs, attn = [[]], [[]]
    log_prob = np.zeros(1)
    state, tokens = enc1.state, np.array([BOS])
    finished: list[Hypothesis] = []
    ran_out = True
    for t in range(max_length):
        enc = enc1.rows(np.zeros(len(seqs), dtype=np.int64))
        lp, state, w = model.decode_step(tokens, state, enc)
        total = log_prob[:, None] + lp  # (n, V)
        total[:, :EOS] = -np.inf  # PAD and BOS are never outputs
        order = np.argsort(-total, axis=None, kind="stable")[: 2 * k]
        keep = []
        for flat in order:
            i, v = divmod(int(flat), V)
            if not np.isfinite(total[i, v]):  # only excluded tokens are left
                break
            a = attn[i] + ([] if w is None else [w[i, :S]])
            if v == EOS:
                finished.append(Hypothesis(list(seqs[i]), float(total[i, v]),
                                           score(float(total[i, v]), t + 1, length_penalty),
                                           np.array(a) if w is not None else None, True))
            else:
                keep.append((i, v, a))
                if len(keep) == k:
                    break
        if not keep:
            ran_out = False
            break
        rows = np.array([i for i, _, _ in keep])
        seqs = [seqs[i] + [v] for i, v, _ in keep]
        attn = [a for _, _, a in keep]
        log_prob = np.array([total[i, v] for i, v, _ in keep])
        tokens = np.array([v for _, v, _ in keep])
        state = select_rows(state, rows)
        if len(finished) >= k:
            kth = sorted(h.score for h in finished)[-k]
            best_possible = log_prob.max() / (max_length**length_penalty if length_penalty else 1.0)
            if best_possible <= kth:
                ran_out = False
                break
    candidates = list(finished)
    if ran_out:  # live hypotheses that reached max_length without EOS
        candidates += [Hypothesis(s, float(p), score(float(p), len(s), length_penalty),
                                  np.array(a) if model.attention is not None else None, False)
                       for s, p, a in zip(seqs, log_prob, attn)]
    candidates.append(greedy)
    best: dict[tuple, Hypothesis] = {}
    for h in candidates:
        key = (tuple(h.tokens), h.finished)
        if key not in best or h.score > best[key].score:
            best[key] = h
    return sorted(best.values(), key=lambda h: -h.score)[:k]
