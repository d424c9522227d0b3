"""Gradient clipping, in place on a gradient dict, as ``torch.nn.utils.clip_grad_value_`` and
``clip_grad_norm_``.

    clip_by_value:        g ← clip(g, −c, c)                  element-wise, every array
    clip_by_global_norm:  n = ‖(‖g₁‖₂, ‖g₂‖₂, …)‖₂             the norm of all grads as one vector
                          g ← g · min(1, max_norm / (n + 10⁻⁶))
"""

from __future__ import annotations

import numpy as np

from rnnkit.optim.base import check_float

__all__ = ["clip_by_global_norm", "clip_by_value"]


def _check_grads(grads) -> None:
    if not isinstance(grads, dict):
        raise TypeError(f"grads must be a dict[str, np.ndarray], got {type(grads).__name__}")
    for key, g in grads.items():
        if not isinstance(g, np.ndarray) or g.dtype.kind != "f" or not g.flags.writeable:
            raise ValueError(
                f"grads[{key!r}] must be a writeable floating-point np.ndarray (clipped in place), "
                f"got {type(g).__name__} {getattr(g, 'dtype', '')}"
            )


def clip_by_value(grads: dict[str, np.ndarray], clip_value: float) -> None:
    """Clamp every gradient entry to [−clip_value, clip_value], in place."""
    c = check_float("clip_value", clip_value, 0.0)
    _check_grads(grads)
    for g in grads.values():
        np.clip(g, -c, c, out=g)


def clip_by_global_norm(grads: dict[str, np.ndarray], max_norm: float) -> float:
    """Scale all gradients together so that their global 2-norm is at most ``max_norm``, in place.

    Returns the global norm before clipping. The 10⁻⁶ in the factor (torch's) keeps it finite for
    all-zero gradients. A non-finite norm (inf or NaN in a gradient) leaves the gradients as they
    are, so that the caller can test ``np.isfinite(norm)`` and skip the step; torch would scale
    them to NaN.
    """
    max_norm = check_float("max_norm", max_norm, 0.0)
    _check_grads(grads)
    # Norms in float64: squaring float32 entries of 1e20 would overflow.
    norms = [np.linalg.norm(g.ravel().astype(np.float64, copy=False)) for g in grads.values()]
    total = float(np.linalg.norm(norms)) if norms else 0.0
    if np.isfinite(total):
        coef = max_norm / (total + 1e-6)
        if coef < 1.0:  # torch multiplies by min(coef, 1); multiplying by 1.0 changes nothing
            for g in grads.values():
                g *= coef
    return total
