"""Metrics: plain functions ``metric(pred, target, lengths=None) -> float`` on logits.

pred is (B, C) (one output per sequence) or (B, T, C) (one per step); with per-step outputs
``lengths`` (int, (B,)) restricts every metric to the real steps t < lengths[b], as in
``rnnkit.losses``.

    accuracy                 share of correct predictions. Binary (C = 1, or binary=True): the
                             prediction is z > 0, the truth y > 0.5, averaged over units and steps.
                             Multi-class: argmax_c z against integer labels (target of shape
                             pred.shape[:-1]) or against argmax_c y for one-hot targets. nan if a
                             real step's pred holds a NaN (a diverged model), as the losses.
    r2_score                 1 − SSE/SST per output unit over the real steps (SST around that unit's
                             mean), averaged over units (scikit-learn's "uniform_average"); a
                             constant target gives 1.0 if predicted exactly, else 0.0; nan if a
                             real step's pred holds a NaN.
    bernoulli_nll_per_frame  Σ_c [log(1 + e^{z_c}) − y_c z_c], averaged over real frames, in nats:
                             the polyphonic-music metric (C notes per frame).
    confusion_matrix         counts[i, j] = #(true class i, predicted class j).
"""

from __future__ import annotations

import numpy as np

from rnnkit.losses import BinaryCrossentropy, check_dense_target, check_labels, check_pred, step_mask

__all__ = ["LOWER_IS_BETTER", "METRICS", "accuracy", "bernoulli_nll_per_frame", "confusion_matrix", "get", "r2_score"]


def _real(a: np.ndarray, mask: np.ndarray | None, per_step: bool) -> np.ndarray:
    """The real steps of a (B, T, ...) array stacked on axis 0; a last-step (B, ...) one as is."""
    if mask is not None:
        return a[mask]
    return a.reshape(-1, *a.shape[2:]) if per_step else a


def accuracy(pred, target, lengths=None, binary: bool | None = None) -> float:
    """Share of correct predictions on the real steps, a float in [0, 1] (see the module docstring).

    pred: logits (B, C) or (B, T, C); target: integer labels pred.shape[:-1] or one-hot rows of
    pred's shape (binary: 0/1 of pred's shape); lengths (B,) or None. binary=None reads C = 1 as
    binary."""
    pred = check_pred(pred)
    mask = step_mask(pred, lengths)
    C, per_step = pred.shape[-1], pred.ndim == 3
    binary = C == 1 if binary is None else binary
    target = np.asarray(target)
    if binary:
        if C == 1 and target.shape == pred.shape[:-1]:
            target = target[..., None]
        target = check_dense_target(pred, target, mask, unit_interval=False)
        hits = (_real(pred, mask, per_step) > 0) == (_real(target, mask, per_step) > 0.5)
    else:
        if target.shape == pred.shape:
            target = check_dense_target(pred, target, mask, unit_interval=False).argmax(axis=-1)
        elif target.shape == pred.shape[:-1]:
            target = check_labels(pred, target, mask)
        else:
            letters = "B, C" if pred.ndim == 2 else "B, T, C"
            raise ValueError(
                f"target must hold one-hot rows of shape ({letters}) = {pred.shape} or integer "
                f"labels of shape ({letters[:-3]}) = {pred.shape[:-1]} for pred of shape "
                f"{pred.shape}, got {target.shape}"
            )
        hits = _real(pred, mask, per_step).argmax(axis=-1) == _real(target, mask, per_step)
    if hits.size == 0:
        raise ValueError("accuracy needs at least one real step (B = 0 or all lengths are 0)")
    if np.isnan(_real(pred, mask, per_step)).any():
        # NaN is argmax's maximum and never > 0, so a diverged model would score the share of
        # class 0: nan instead, as the loss gives, so no checkpoint or early stop takes it as best
        return float("nan")
    return float(hits.mean())


def r2_score(pred, target, lengths=None) -> float:
    """Coefficient of determination 1 − SSE/SST over the real steps, averaged over output units.

    pred and target: (B, C) or (B, T, C), the same shape; lengths (B,) or None. Returns a float."""
    pred = check_pred(pred)
    mask = step_mask(pred, lengths)
    target = check_dense_target(pred, target, mask, unit_interval=False)
    per_step = pred.ndim == 3
    z = _real(pred, mask, per_step).astype(np.float64)
    y = _real(target, mask, per_step).astype(np.float64)
    if len(y) == 0:
        raise ValueError("r2_score needs at least one real step (B = 0 or all lengths are 0)")
    sse = np.sum((y - z) ** 2, axis=0)
    sst = np.sum((y - y.mean(axis=0)) ** 2, axis=0)
    safe = sst > 0
    r2 = np.where(safe, 1 - sse / np.where(safe, sst, 1.0), np.where(sse == 0, 1.0, 0.0))
    # a NaN prediction (a diverged model) on a constant-target unit would score 0.0 there, which
    # can beat a fair negative r2 at a checkpoint: nan instead, as the losses and accuracy give
    return float(np.where(np.isnan(sse), np.nan, r2).mean())


def bernoulli_nll_per_frame(logits, target, lengths=None) -> float:
    """Negative log-likelihood of the 0/1 target under independent Bernoullis σ(logits), summed
    over the C units of a frame and averaged over the real frames, in nats (a float).

    logits and target: (B, C) or (B, T, C), target 0/1; lengths (B,) or None."""
    value, _ = BinaryCrossentropy()(logits, target, lengths)  # mean over frames and units
    return value * np.shape(logits)[-1]


def confusion_matrix(y_true, y_pred, num_classes: int) -> np.ndarray:
    """(num_classes, num_classes) int64 counts; rows are true classes, columns predicted ones.

    y_true and y_pred are integer labels of one shape (e.g. ``pred.argmax(-1)``; drop padded steps
    first)."""
    integer = isinstance(num_classes, (int, np.integer)) and not isinstance(num_classes, bool)
    if not integer or num_classes < 1:
        raise ValueError(f"num_classes must be an integer >= 1, got {num_classes!r}")
    arrays = {"y_true": np.asarray(y_true), "y_pred": np.asarray(y_pred)}
    if arrays["y_true"].shape != arrays["y_pred"].shape:
        raise ValueError(
            f"y_true and y_pred must have the same shape, got {arrays['y_true'].shape} and "
            f"{arrays['y_pred'].shape}"
        )
    for name, a in arrays.items():
        if a.dtype.kind not in "iu":
            raise ValueError(f"{name} must hold integer class labels, got dtype {a.dtype}")
        if a.size and (a.min() < 0 or a.max() >= num_classes):
            raise ValueError(
                f"{name} labels must lie in [0, num_classes) = [0, {num_classes}), got values "
                f"from {a.min()} to {a.max()}"
            )
    flat = arrays["y_true"].ravel().astype(np.int64) * num_classes + arrays["y_pred"].ravel().astype(np.int64)
    return np.bincount(flat, minlength=num_classes**2).reshape(num_classes, num_classes)


METRICS = {
    "accuracy": accuracy,
    "r2": r2_score,
    "r2_score": r2_score,
    "bernoulli_nll": bernoulli_nll_per_frame,
    "bernoulli_nll_per_frame": bernoulli_nll_per_frame,
}

#: the metrics that improve as they fall (early stopping and checkpoints minimise them, as losses)
LOWER_IS_BETTER = frozenset({"bernoulli_nll", "bernoulli_nll_per_frame"})


def get(name_or_function):
    """A metric ``(pred, target, lengths=None) -> float`` by name (a key of METRICS, any case), or
    a callable passed through; ValueError for an unknown name."""
    if callable(name_or_function):
        return name_or_function
    if isinstance(name_or_function, str) and name_or_function.lower() in METRICS:
        return METRICS[name_or_function.lower()]
    raise ValueError(f"unknown metric {name_or_function!r}; known: {sorted(METRICS)}")
