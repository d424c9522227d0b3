"""One-to-many generation (seed 000): a model that predicts the next token is run step by step
from a prefix, and each token it picks is fed back as its next input.

    from rnnkit.generation import generate
    ids = generate(model, prefix_ids, 200, temperature=0.8, top_k=10, rng=np.random.default_rng(0))

The model is any stepping model (``initial_state(B)``, ``step(x_t, state) -> (logits, state)``,
see rnnkit.models.stepping) whose output at each step is V logits for the next token; its input
is the token, as an id when its first layer is an Embedding, else one-hot over its F = V inputs.

Picking the next token from the logits z (V,) (``pick``):
    greedy         temperature = 0: argmax_v z_v (no randomness; rng not needed)
    temperature τ  sample from softmax(z / τ): τ < 1 sharpens, τ > 1 flattens
    top-k          the same, among the k largest logits only (the others get probability 0); k <= V
Sampling draws only from the ``rng`` passed in, so a seed gives the same text every time.
"""

from __future__ import annotations

import numpy as np

from rnnkit import _checks as checks
from rnnkit.layers.base import as_generator
from rnnkit.layers.embedding import Embedding

__all__ = ["generate", "pick", "probabilities"]


def _checked_temperature(temperature) -> float:
    value = checks.real("temperature", temperature)
    if not (np.isfinite(value) and value >= 0):
        raise ValueError(f"temperature must be a finite number >= 0 (0 picks greedily), got {temperature!r}")
    return value


def probabilities(logits, *, temperature: float = 1.0, top_k: int | None = None) -> np.ndarray:
    """softmax(z / τ) over the k largest logits of each row (B, V); rows sum to 1. Ties with the
    k-th largest logit are kept too (as torch.topk-based filtering does)."""
    z = np.asarray(logits, dtype=np.float64)
    if _checked_temperature(temperature) == 0:
        raise ValueError("temperature must be > 0 to sample (0 means greedy), got 0")
    if top_k is not None:
        checks.integer("top_k", top_k)
        if top_k > z.shape[-1]:  # most likely a mistake about the vocabulary: say so, not sample from all
            raise ValueError(f"top_k must be at most the number of tokens ({z.shape[-1]}), got {top_k}")
    # shift by the largest logit before dividing: for a tiny τ, z / τ overflows to inf and
    # inf − inf is NaN, while (z − max) / τ is 0 for the largest and tends to −inf for the others
    with np.errstate(over="ignore"):  # overflowing to −inf is the intended limit: probability 0
        z = (z - z.max(axis=-1, keepdims=True)) / temperature
    if top_k is not None and top_k < z.shape[-1]:
        kth = np.partition(z, -top_k, axis=-1)[..., -top_k, None]  # the k-th largest logit
        z = np.where(z >= kth, z, -np.inf)
    p = np.exp(z)
    return p / p.sum(axis=-1, keepdims=True)


def pick(logits, *, temperature: float = 1.0, top_k: int | None = None, rng=None) -> np.ndarray:
    """The next token of each row of logits (B, V), ids (B,): greedy if temperature == 0, else
    sampled from `probabilities` with `rng` (a np.random.Generator or an int seed; required then)."""
    logits = np.asarray(logits)
    if logits.ndim != 2:
        raise ValueError(f"logits must have shape (B, V), got {logits.shape}")
    if _checked_temperature(temperature) == 0:
        return logits.argmax(axis=-1)
    if rng is None:
        raise ValueError("sampling needs an explicit rng (a np.random.Generator or an int seed); "
                         "temperature=0 picks greedily without one")
    p = probabilities(logits, temperature=temperature, top_k=top_k)
    u = 1.0 - as_generator(rng).random((p.shape[0], 1))  # in (0, 1]
    # inverse CDF: the first token whose cumulative probability reaches u (so never one of
    # probability 0); the minimum guards against a cumulative sum that ends a hair below u
    last = p.shape[-1] - 1 - np.argmax(p[:, ::-1] > 0, axis=-1)
    return np.minimum((np.cumsum(p, axis=-1) < u).sum(axis=-1), last)


def _input_vocabulary(model, one_hot: bool) -> tuple[int | None, bool]:
    """(how many token ids the model reads, whether id 0 is its padding); None when unknown."""
    first = model.layers[0] if hasattr(model, "layers") else None
    if one_hot:
        return model.input_shape[-1], False
    if isinstance(first, Embedding):
        return first.input_dim, first.mask_zero
    return None, False


def _encoder(model, one_hot: bool):
    """A function ids (B,) -> the model's input at one step."""
    if not one_hot:
        return lambda ids: ids
    width = model.input_shape[-1]
    eye = np.eye(width, dtype=getattr(model, "dtype", None) or np.float32)
    return lambda ids: eye[ids]


def generate(model, prefix, length: int, *, temperature: float = 1.0, top_k: int | None = None, rng=None,
             one_hot: bool | None = None) -> np.ndarray:
    """Continue `prefix` (P,) or (B, P) token ids by `length` tokens, each fed back as the next input.

    Returns the new tokens only, (length,) or (B, length). The prefix is read step by step (the
    state carries it, so each new token costs one step whatever the length so far). Each token is
    picked as `pick` does; rng: a np.random.Generator or an int seed, required unless
    temperature == 0. one_hot: feed tokens one-hot rather than as ids (None: one-hot unless the
    first layer is an Embedding).
    """
    prefix = np.asarray(prefix)
    single = prefix.ndim == 1
    prefix = prefix[None] if single else prefix
    if prefix.ndim != 2 or prefix.shape[1] < 1:
        raise ValueError(f"prefix must hold at least one token id, (P,) or (B, P), got shape {prefix.shape}")
    if not np.issubdtype(prefix.dtype, np.integer):
        raise ValueError(f"prefix must hold integer token ids, got dtype {prefix.dtype}")
    checks.integer("length", length, least=0)
    if _checked_temperature(temperature) != 0 and rng is None:
        raise ValueError("sampling needs an explicit rng (a np.random.Generator or an int seed); "
                         "temperature=0 picks greedily without one")
    rng = None if rng is None else as_generator(rng)
    if one_hot is None:
        one_hot = not isinstance(model.layers[0], Embedding) if hasattr(model, "layers") else False
    vocabulary, zero_is_padding = _input_vocabulary(model, one_hot)
    if vocabulary is not None and (prefix.min() < 0 or prefix.max() >= vocabulary):
        # checked here: a one-hot row eye[-1] would silently read a negative id as the last token
        raise ValueError(f"prefix ids must lie in 0..{vocabulary - 1}, got {prefix.min()}..{prefix.max()}")
    if zero_is_padding and np.any(prefix == 0):
        # forward skips padding (mask_zero), a step cannot: it would run the state over id 0
        raise ValueError("prefix: id 0 is padding for this model (Embedding with mask_zero=True), not a token")
    encode = _encoder(model, one_hot)
    state = model.initial_state(prefix.shape[0])
    for t in range(prefix.shape[1]):
        logits, state = model.step(encode(prefix[:, t]), state)
    if vocabulary is not None and np.shape(logits)[-1] > vocabulary:
        raise ValueError(f"the model predicts {np.shape(logits)[-1]} tokens but reads {vocabulary}: "
                         "the tokens it generates could not all be fed back as its next input")
    out = np.empty((prefix.shape[0], length), dtype=np.int64)
    for t in range(length):
        out[:, t] = pick(logits, temperature=temperature, top_k=top_k, rng=rng)
        if t + 1 < length:
            logits, state = model.step(encode(out[:, t]), state)
    return out[0] if single else out
