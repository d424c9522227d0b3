"""Losses: the mean loss and its gradient with respect to the predictions, in one call.

    value, d_pred = loss(pred, target, lengths=None)

pred holds logits (raw outputs, no activation), either one output per sequence, (B, C), taken
at each sequence's last real step, or one output per step, (B, T, C). With per-step outputs,
``lengths`` (int, (B,)) marks steps t ≥ lengths[b] as padding: they add nothing to the value
and get exactly zero gradient (their pred/target entries are never read, so they may hold any
filler). ``lengths`` is accepted and ignored with (B, C) predictions. ``d_pred`` has the shape
and dtype of ``pred``.

The value is the mean over the N real steps (B, or B·T, or Σ lengths), and for the losses that
act on each output unit separately (MSE, binary cross-entropy) also over the C units, as
torch's ``reduction="mean"``; z = logits, y = target, σ the sigmoid:

    MeanSquaredError               ℓ = (z − y)²                        ∂ℓ/∂z = 2 (z − y)
    BinaryCrossentropy             ℓ = log(1 + eᶻ) − y z               ∂ℓ/∂z = σ(z) − y
    CategoricalCrossentropy        ℓ = −Σ_c y_c log softmax(z)_c       ∂ℓ/∂z = softmax(z) Σ_c y_c − y
    SparseCategoricalCrossentropy  ℓ = −log softmax(z)_y               ∂ℓ/∂z = softmax(z) − onehot(y)

Targets: same shape as pred, except the sparse loss whose target is integer class labels of
shape pred.shape[:-1]. BCE targets lie in [0, 1]; categorical targets are one-hot rows (any
probability rows work). log(1 + eᶻ) is max(z, 0) + log1p(e^−|z|) and the softmax is shifted by
its row maximum, so logits of ±1e4 neither overflow nor warn, and a confident right answer keeps
its tiny loss. A non-finite pred on a real step (a diverged model) gives ``(nan, all-nan
d_pred)``, and an overflow ``inf``, both without a warning, for the training loop to act on.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

__all__ = [
    "BinaryCrossentropy", "CategoricalCrossentropy", "LOSSES", "Loss", "MeanSquaredError",
    "SparseCategoricalCrossentropy", "get",
]


# --- argument checks shared with rnnkit.metrics ------------------------------------------
def check_pred(pred, name: str = "pred") -> np.ndarray:
    """A floating (B, C) or (B, T, C) array."""
    if not isinstance(pred, np.ndarray) or pred.dtype.kind != "f" or pred.ndim not in (2, 3):
        raise ValueError(
            f"{name} must be a floating-point np.ndarray of shape (B, C) or (B, T, C), got "
            f"{type(pred).__name__} {getattr(pred, 'dtype', '')} {getattr(pred, 'shape', '')}"
        )
    return pred


def step_mask(pred: np.ndarray, lengths) -> np.ndarray | None:
    """(B, T) bool mask of the real steps of a per-step pred, or None when every step is real."""
    if lengths is None:
        return None
    B = pred.shape[0]
    arr = np.asarray(lengths)
    T = pred.shape[1] if pred.ndim == 3 else None
    too_long = T is not None and np.any(arr > T)
    if arr.shape != (B,) or arr.dtype.kind not in "iu" or np.any(arr < 0) or too_long:
        bound = f"0 <= lengths[b] <= T = {T}" if T is not None else "non-negative"
        raise ValueError(
            f"lengths must be an integer array of shape (B,) = ({B},) with {bound}, got "
            f"{arr.dtype} {arr.shape}: {arr!r}"
        )
    if pred.ndim == 2:
        return None
    return np.arange(T)[None, :] < arr[:, None]


def _shape_error(pred: np.ndarray, target: np.ndarray, sparse: bool) -> ValueError:
    letters = ("B", "C") if pred.ndim == 2 else ("B", "T", "C")
    want = pred.shape[:-1] if sparse else pred.shape
    letters = letters[: len(want)]
    what = "integer class labels" if sparse else "targets"
    msg = (
        f"target must hold {what} of shape ({', '.join(letters)}) = {tuple(want)} for pred of "
        f"shape {pred.shape}, got {target.shape}"
    )
    if sparse and target.shape == (*want, 1):
        # Keras takes sparse labels as (B, 1); here the class axis is absent, as in torch
        msg += "; drop the trailing axis of size 1 (e.g. y.reshape(-1) or y[..., 0])"
    elif pred.ndim == 2 and target.ndim > len(want):
        msg += (
            "; pred has one output per sequence (B, C), so the target is the last step's only "
            "(per-step targets need per-step predictions (B, T, C))"
        )
    return ValueError(msg)


def check_labels(pred: np.ndarray, target, mask: np.ndarray | None) -> np.ndarray:
    """Integer labels of shape pred.shape[:-1] in [0, C); padded steps become 0."""
    target = np.asarray(target)
    if target.shape != pred.shape[:-1]:
        raise _shape_error(pred, target, sparse=True)
    if target.dtype.kind not in "iuf":
        raise ValueError(
            f"target must hold integer class labels (sparse loss), got dtype {target.dtype}"
        )
    if mask is not None:
        target = np.where(mask, target, 0)
    if target.dtype.kind == "f":
        # ±inf equals its own rounding: the finiteness test catches it, and the message shows it
        whole = np.isfinite(target) & (target == np.round(target))
        if not np.all(whole):
            raise ValueError(
                f"target must hold integer class labels (sparse loss), got non-integer values "
                f"such as {target[~whole].ravel()[:3].tolist()}"
            )
    C = pred.shape[-1]
    bad = (target < 0) | (target >= C)
    if np.any(bad):
        raise ValueError(
            f"target labels must lie in [0, C) = [0, {C}), got {target[bad].ravel()[:5].tolist()}"
        )
    return target.astype(np.intp)


def check_dense_target(pred: np.ndarray, target, mask: np.ndarray | None,
                       unit_interval: bool) -> np.ndarray:
    """A target of pred's shape, cast to pred's dtype; padded steps become 0."""
    target = np.asarray(target)
    if target.shape != pred.shape:
        raise _shape_error(pred, target, sparse=False)
    if target.dtype.kind not in "biuf":
        raise ValueError(f"target must be numeric, got dtype {target.dtype}")
    target = target.astype(pred.dtype, copy=False)
    if mask is not None:
        target = np.where(mask[..., None], target, 0)
    if unit_interval and not np.all((target >= 0) & (target <= 1)):
        raise ValueError("target must lie in [0, 1] (probabilities or 0/1 labels) on every real step")
    if not np.all(np.isfinite(target)):
        raise ValueError("target must be finite on every real step")
    return target


def log_softmax(z: np.ndarray) -> np.ndarray:
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


# --- the losses ----------------------------------------------------------------------------
class Loss:
    """Base: checks, padding mask and averaging; a subclass gives ``_terms``.

    ``loss(pred, target, lengths=None) -> (value, d_pred)``: pred holds logits (B, C) or
    (B, T, C), lengths (B,) or None; value is the mean loss (a float), d_pred = ∂value/∂pred
    with pred's shape and dtype (the module docstring gives the targets' shapes)."""

    name: ClassVar[str] = ""
    sparse: ClassVar[bool] = False  # the target is integer labels without the class axis
    per_unit: ClassVar[bool] = True  # ℓ is per output unit, so the mean also runs over C
    unit_interval: ClassVar[bool] = False  # targets must lie in [0, 1]
    applies: ClassVar[str | None] = None  # the activation the loss applies to the logits itself

    def __call__(self, pred, target, lengths=None) -> tuple[float, np.ndarray]:
        pred = check_pred(pred)
        mask = step_mask(pred, lengths)
        if self.sparse:
            target = check_labels(pred, target, mask)
        else:
            target = check_dense_target(pred, target, mask, self.unit_interval)
        if mask is not None:
            pred = np.where(mask[..., None], pred, 0)
        if not np.all(np.isfinite(pred)):  # a diverged model: report nan, let the caller stop
            return float("nan"), np.full_like(pred, np.nan)
        n = int(np.prod(pred.shape[:-1])) if mask is None else int(mask.sum())  # real steps
        if n == 0:
            raise ValueError(
                "the batch has no real step (B = 0 or all lengths are 0); the mean is undefined"
            )
        n *= pred.shape[-1] if self.per_unit else 1
        # A huge but finite pred (a diverging model) may overflow to inf: the caller sees it.
        with np.errstate(over="ignore"):
            losses, d = self._terms(pred, target)
            if mask is not None:
                losses = np.where(mask[..., None] if self.per_unit else mask, losses, 0)
                d = np.where(mask[..., None], d, 0)
            return float(np.sum(losses, dtype=np.float64) / n), d / n

    def _terms(self, z: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(ℓ per element (…, C) or per step (…), ∂ℓ/∂z (…, C)) before averaging."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class MeanSquaredError(Loss):
    """Mean of (z − y)² over the real steps and the C units; target of pred's shape, (B, C) or
    (B, T, C). Name "mse" (or "mean_squared_error")."""

    name = "mse"

    def _terms(self, z, y):
        diff = z - y
        return diff * diff, 2 * diff


class BinaryCrossentropy(Loss):
    """Binary cross-entropy on logits (it applies the sigmoid itself), averaged over the real
    steps and the C units; target in [0, 1] of pred's shape. Name "binary_crossentropy"."""

    name = "binary_crossentropy"
    unit_interval = True
    applies = "sigmoid"

    def _terms(self, z, y):
        # log(1 + eᶻ) − y z as max(z, 0) − y z + log1p(e^−|z|) (TensorFlow's form): a confident
        # right answer (z = 40, y = 1) keeps its tiny loss e⁻⁴⁰ instead of losing it to 40 − 40;
        # likewise σ(z) − y as (1 − y) − σ(−z) for z ≥ 0, so that hard labels keep full precision.
        small = np.exp(-np.abs(z))  # e^−|z| ∈ (0, 1]: never overflows
        loss = np.maximum(z, 0) - y * z + np.log1p(small)
        s = small / (1 + small)  # σ(−|z|): σ(z) for z < 0, 1 − σ(z) for z ≥ 0
        return loss, np.where(z >= 0, (1 - y) - s, s - y)


class CategoricalCrossentropy(Loss):
    """Cross-entropy on logits (it applies the softmax itself) against probability rows, one-hot
    usually, of pred's shape (B, C) or (B, T, C). Name "categorical_crossentropy"."""

    name = "categorical_crossentropy"
    per_unit = False
    unit_interval = True
    applies = "softmax"

    def _terms(self, z, y):
        logp = log_softmax(z)
        return -np.sum(y * logp, axis=-1), np.exp(logp) * y.sum(axis=-1, keepdims=True) - y


class SparseCategoricalCrossentropy(Loss):
    """Cross-entropy on logits (it applies the softmax itself) against integer class labels,
    (B,) for pred (B, C) or (B, T) for (B, T, C). Name "sparse_categorical_crossentropy"."""

    name = "sparse_categorical_crossentropy"
    sparse = True
    per_unit = False
    applies = "softmax"

    def _terms(self, z, y):
        logp = log_softmax(z)
        picked = np.take_along_axis(logp, y[..., None], axis=-1)[..., 0]
        d = np.exp(logp)
        np.put_along_axis(d, y[..., None], np.take_along_axis(d, y[..., None], axis=-1) - 1, axis=-1)
        return -picked, d


LOSSES: dict[str, type[Loss]] = {
    "mse": MeanSquaredError,
    "mean_squared_error": MeanSquaredError,
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
}
_CLASS_NAMES = {cls.__name__.lower(): cls for cls in LOSSES.values()}


def get(name_or_instance) -> Loss:
    """A loss from its Keras-like name or class name (any case), or a Loss instance passed through."""
    if isinstance(name_or_instance, Loss):
        return name_or_instance
    if isinstance(name_or_instance, str):
        cls = {**LOSSES, **_CLASS_NAMES}.get(name_or_instance.lower())
        if cls is not None:
            return cls()
    raise ValueError(
        f"unknown loss {name_or_instance!r}; known: {sorted(LOSSES)} (or a class name such as "
        "'MeanSquaredError', or a Loss instance)"
    )
