"""Turning user data into batches: padded arrays with lengths, and the two batching modes.

Data arrive as a padded array x (N, T, F) or integer ids (N, T), with optional lengths (N,), or
as a list of N sequences of different lengths (each (T_i, F) or (T_i,)), which is padded here.
Targets y are (N, ...) for an output at the last step, or (N, T, ...) for an output per step.

Batching modes for variable-length data:
    "padded"  random batches, each cut to its longest sequence and run with `lengths`;
    "bucket"  batches in which every sequence has the same length (seed 002, 2.1.5: one batch per
              length; here each length's sequences are cut into batches of batch_size), run
              without padding.
Both give the same gradients as feeding the sequences one at a time (tests/layers,
tests/training/test_batching.py): a batch's loss is the mean over its real outputs (one per
sequence, or one per real step of a per-step output; see rnnkit.losses), so its gradient is
Σ_i n_i g_i / Σ_i n_i, where g_i is the gradient of sequence i fed alone (the mean over its own
n_i outputs): with per-step outputs a sequence weighs in proportion to its length.

What bucketing does change is how an epoch's updates weigh the examples: each batch is one
update whatever its size, and a bucket holding fewer sequences than batch_size gives a smaller
batch, so a sequence of a rare length has a larger share of its update (a bucket of one is a
whole update) than it would in a random padded batch. An epoch also has more updates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rnnkit import _checks as checks
from rnnkit.layers.base import check_lengths

BATCHING_MODES = ("padded", "bucket")


def pad_sequences(seqs, dtype=None, what: str = "x") -> tuple[np.ndarray, np.ndarray]:
    """A list of (T_i, ...) arrays -> zero-padded (N, max T_i, ...) array and lengths (N,);
    `what` names the argument in errors."""
    seqs = [np.asarray(s) for s in seqs]
    if not seqs:
        raise ValueError(f"{what} is empty: no sequences to train on")
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    if lengths.min() < 1:
        raise ValueError(f"{what}: every sequence needs at least one step")
    tails = {s.shape[1:] for s in seqs}
    if len(tails) != 1:
        raise ValueError(f"{what}: sequences must share their feature shape, got {sorted(tails)}")
    out = np.zeros((len(seqs), lengths.max(), *tails.pop()), dtype=dtype or seqs[0].dtype)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = s
    return out, lengths


def pad_targets(seqs, T: int) -> np.ndarray:
    """Ragged per-step targets (T_i, ...) -> zero-padded (N, T, ...), T being x's steps.

    Padded to x's T, not to the longest target: x may carry more padding than its longest
    sequence, and per-step targets are told from last-step ones by sharing x's T (see
    SequenceData.targets_for); the padded entries are never read."""
    y, lengths = pad_sequences(seqs, what="y")
    if lengths.max() > T:
        raise ValueError(f"y: a per-step target sequence has {lengths.max()} steps, more than x's T = {T}")
    return np.pad(y, [(0, 0), (0, T - y.shape[1])] + [(0, 0)] * (y.ndim - 2))


def padded_steps(lengths, T: int) -> np.ndarray:
    """(N, T) bool: True where step t is padding, t >= lengths[b]."""
    return np.arange(T)[None, :] >= np.asarray(lengths)[:, None]


def zero_padded(x: np.ndarray, padded: np.ndarray) -> np.ndarray:
    """x (N, T, ...) with the entries of the padded steps (an (N, T) mask) set to 0, in x's dtype."""
    return np.where(padded.reshape(*padded.shape, *[1] * (x.ndim - 2)), 0, x).astype(x.dtype, copy=False)


def _finite_padding(x: np.ndarray, lengths: np.ndarray | None) -> np.ndarray:
    """x with a non-finite filler at padded steps (t >= lengths[b]) replaced by 0; x itself when
    every padded entry is finite (the usual case: no copy). The layers skip padded steps, but the
    weight gradients meet them once: ∂L/∂W_x = xᵀ d with d = 0 there, and NaN · 0 = NaN."""
    if lengths is None or x.dtype.kind not in "fc" or lengths.min() == x.shape[1]:
        return x
    with np.errstate(over="ignore", invalid="ignore"):  # a sum that overflows only takes the long way
        if np.isfinite(x.sum()):  # then every entry is finite, found without an (N, T, ...) temporary
            return x
    padded = padded_steps(lengths, x.shape[1])
    return x if np.isfinite(x[padded]).all() else zero_padded(x, padded)


@dataclass
class SequenceData:
    """x, y and lengths of N examples, checked once so batches can be cut without re-checking."""

    x: np.ndarray
    y: np.ndarray | None
    lengths: np.ndarray | None
    steps: int | None = None  # a batch: the T of the data it was cut from, which y still has


    @classmethod
    def from_user(cls, x, y=None, lengths=None) -> "SequenceData":
        """Checked data from what fit/evaluate/predict were given: x (N, T, F) or ids (N, T), or a
        list of (T_i, ...) examples (padded here, their lengths taken unless `lengths` is given);
        y with N targets (a list of per-step targets of different lengths is padded too);
        lengths (N,) or None. A non-finite filler at padded x steps becomes 0."""
        if isinstance(x, (list, tuple)) and x and np.ndim(x[0]) >= 1:
            ragged = len({np.shape(s)[0] for s in x}) > 1
            if ragged:
                x, own_lengths = pad_sequences(x)
                lengths = own_lengths if lengths is None else lengths
        try:
            x = np.asarray(x)
        except ValueError:  # NumPy's "inhomogeneous shape after 2 dimensions" names neither x nor shapes
            shapes = sorted({np.shape(s) for s in x})
            raise ValueError(f"x: the examples must share one shape (T, F) or be padded to it, got shapes "
                             f"{shapes[:4]}{' ...' if len(shapes) > 4 else ''}") from None
        if x.ndim < 2 or x.shape[0] == 0:
            raise ValueError(f"x must be a batch of N >= 1 examples, (N, T, F) or (N, T) for ids, got shape {x.shape}"
                             + (" (one example: pass x[None])" if x.ndim == 1 else ""))
        N = x.shape[0]
        lengths = check_lengths(lengths, N, x.shape[1])
        x = _finite_padding(x, lengths)
        if y is not None:
            if isinstance(y, (list, tuple)) and y and np.ndim(y[0]) >= 1 and len({len(s) for s in y}) > 1:
                y = pad_targets(y, x.shape[1])
            y = np.asarray(y)
            if y.shape[0] != N:
                raise ValueError(f"y must have one target per example: x has {N}, y has {y.shape[0]}")
        return cls(x, y, lengths)

    def __len__(self) -> int:
        return self.x.shape[0]

    def take(self, index: np.ndarray | slice, *, trim: bool = True) -> "SequenceData":
        """The examples at `index` (an index array, or a slice: views then), x cut to their
        longest sequence (lengths dropped when all equal). y stays whole: only the model's output
        says whether targets are per step (see targets_for)."""
        x = self.x[index]
        y = None if self.y is None else self.y[index]
        lengths = None if self.lengths is None else self.lengths[index]
        if lengths is not None and trim:
            T = int(lengths.max())
            x = x[:, :T]
            if np.all(lengths == T):
                lengths = None
        return SequenceData(x, y, lengths, steps=self.x.shape[1])

    def targets_for(self, y_pred: np.ndarray) -> np.ndarray | None:
        """y as the loss must see it beside the model's output y_pred: per-step targets, given
        over the data's T steps, cut to the steps the batch kept. Outputs per step have a time
        axis (ndim >= 3); a last-step target (N, C) stays whole even when C happens to equal T."""
        y = self.y
        if y is not None and y_pred.ndim >= 3 and y.ndim >= 2 and y.shape[1] == self.steps:
            return y[:, : y_pred.shape[1]]
        return y

    def split(self, fraction: float) -> tuple["SequenceData", "SequenceData"]:
        """(first ⌊N·(1 − fraction)⌋ examples, the rest), as Keras' validation_split: the tail,
        taken before any shuffling, with Keras' count (N = 256, fraction 0.2: 204 and 52)."""
        if not 0.0 < fraction < 1.0:
            raise ValueError(f"validation_split must lie in (0, 1), got {fraction!r}")
        cut = int(math.floor(len(self) * (1.0 - fraction)))
        if cut < 1 or cut >= len(self):
            raise ValueError(f"validation_split={fraction} leaves no examples on one side of {len(self)}")
        # slices: views of the data, where index arrays would copy all of it once more
        return self.take(slice(0, cut), trim=False), self.take(slice(cut, len(self)), trim=False)


def batch_indices(data: SequenceData, batch_size: int, mode: str, rng: np.random.Generator | None):
    """Index arrays of the batches of one epoch; shuffled when rng is given."""
    checks.integer("batch_size", batch_size)
    if mode not in BATCHING_MODES:
        raise ValueError(f"batching must be one of {BATCHING_MODES}, got {mode!r}")
    N = len(data)
    if mode == "padded" or data.lengths is None:
        order = rng.permutation(N) if rng is not None else np.arange(N)
        return [order[i : i + batch_size] for i in range(0, N, batch_size)]
    batches = []
    # one stable sort, not one pass over all N lengths per distinct length (O(N·L)): each group
    # holds its sequences in index order, as np.flatnonzero(lengths == length) gives them
    by_length = np.argsort(data.lengths, kind="stable")
    starts = np.flatnonzero(np.diff(data.lengths[by_length])) + 1
    for members in np.split(by_length, starts):
        if rng is not None:
            members = rng.permutation(members)
        batches.extend(members[i : i + batch_size] for i in range(0, len(members), batch_size))
    if rng is not None:
        batches = [batches[k] for k in rng.permutation(len(batches))]
    return batches
