"""rnnkit.gradcheck(model, x, y): the model's hand-written gradients against central differences.

    report = rnnkit.gradcheck(model, x, y)        # raises GradcheckError if any parameter fails
    print(report.summary())
    # parameter            shape      checked  rel. error  abs. error  status
    # lstm.W_x             (2, 128)       256     3.1e-10     2.4e-12  ok
    # ...

The check runs in float64 (on a float64 copy of a float32 model; a float64 model is perturbed in
place, one entry at a time, and every entry is put back exactly, also on an error), so round-off
does not hide a wrong derivative: ∂L/∂θ ≈ (L(θ + ε) − L(θ − ε)) / 2ε with ε = 1e-5 is good to
about 1e-10. The error of a parameter is max |analytic − numeric| over its checked entries,
divided by the largest magnitude among them (rnnkit.gradcheck's relative_error): scale-free,
and round-off on entries near zero is not reported as large. A parameter passes when that is
≤ `tolerance`, or when the absolute difference is ≤ `atol` (a gradient that is zero up to noise).
Dropout is off (training=False). The current backend is checked unless `backend` names another.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit import kernels
from rnnkit.diagnostics import _walk
from rnnkit.grad_mode import enable_grad
from rnnkit.gradcheck import central_differences, relative_error  # also loads that module before rnnkit.gradcheck names this function


@dataclass
class ParamCheck:
    """The gradient check of one parameter (see GradcheckReport)."""

    name: str
    shape: tuple[int, ...]
    checked: int  # entries compared
    error: float  # max |a − n| / max(|a|, |n|) over the checked entries
    abs_error: float  # max |a − n|
    ok: bool


@dataclass
class GradcheckReport:
    """What gradcheck found: one ParamCheck per parameter, and the settings it ran with. ``ok``
    tells whether every parameter passed; ``summary()`` is a table, ``errors()`` a dict."""

    checks: list[ParamCheck]
    loss: float
    eps: float
    tolerance: float
    atol: float
    backend: str

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failed(self) -> list[ParamCheck]:
        return [c for c in self.checks if not c.ok]

    @property
    def worst(self) -> ParamCheck:
        return max(self.checks, key=lambda c: (not c.ok, c.error))

    def errors(self) -> dict[str, float]:
        """parameter name -> worst relative error."""
        return {c.name: c.error for c in self.checks}

    def summary(self) -> str:
        """One line per parameter (shape, entries checked, errors, ok/FAIL), then the verdict."""
        width = max([len("parameter"), *(len(c.name) for c in self.checks)])
        lines = [f"{'parameter':<{width}}  {'shape':<12} {'checked':>7}  {'rel. error':>10}  {'abs. error':>10}  status"]
        for c in self.checks:
            status = "ok" if c.ok else "FAIL"
            lines.append(f"{c.name:<{width}}  {str(c.shape):<12} {c.checked:>7}  {c.error:>10.1e}  "
                         f"{c.abs_error:>10.1e}  {status}")
        verdict = "passed" if self.ok else f"FAILED for {len(self.failed)} of {len(self.checks)} parameters"
        lines.append(f"gradient check {verdict} (float64, central differences eps={self.eps:g}; a parameter "
                     f"passes with relative error <= {self.tolerance:g} or absolute error <= {self.atol:g}; "
                     f"backend {self.backend}; loss {self.loss:.6g})")
        return "\n".join(lines)

    def failure_message(self) -> str:
        """One line naming every failing parameter and its relative error."""
        parts = ", ".join(f"{c.name} relative error {c.error:.1e}" for c in self.failed)
        return (f"gradient check FAILED for {len(self.failed)} of {len(self.checks)} parameters "
                f"(tolerance {self.tolerance:g}): {parts} — the hand-written backward disagrees with "
                f"central differences")

    def raise_if_failed(self) -> "GradcheckReport":
        """GradcheckError if a parameter failed, else the report itself."""
        if not self.ok:
            raise GradcheckError(self)
        return self


class GradcheckError(AssertionError):
    """A gradient check failed; `.report` holds the per-parameter errors."""

    def __init__(self, report: GradcheckReport):
        super().__init__(report.failure_message() + "\n" + report.summary())
        self.report = report


def _entries(shape, max_entries: int | None, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Indices of the entries to check: all of them, or max_entries drawn without replacement."""
    size = int(np.prod(shape))
    if max_entries is None or size <= max_entries:
        return np.unravel_index(np.arange(size), shape)
    return np.unravel_index(np.sort(rng.choice(size, max_entries, replace=False)), shape)


def gradcheck(model, x, y, lengths=None, *, loss=None, eps: float = 1e-5, tolerance: float = 1e-5,
              atol: float = 1e-9, max_entries: int | None = None, seed: int = 0, backend: str | None = None,
              raise_on_failure: bool = True) -> GradcheckReport:
    """Compare model.backward with central differences on the batch (x, y) for every parameter.

    x (B, T, F) (or ids (B, T)), y the loss's targets, lengths (B,) or None, as model.fit takes
    them; the check runs in float64. Returns a GradcheckReport.

    loss: a loss name or instance, default the model's compiled loss. max_entries: check at most
    this many randomly chosen entries per parameter (None: all; big models take 2 forward passes
    per entry). backend: "reference", "fast" or "auto" (default: the current one). Raises
    GradcheckError naming every failing parameter unless raise_on_failure is False. seed: draws
    the entries that max_entries picks.
    """
    loss_fn = _walk.loss_function(model, loss)
    if not model.built:
        model.build((None, *np.shape(x)[2:]))
    twin = _walk.float64_copy(model)
    x = np.asarray(x)
    if x.dtype.kind == "f":
        x = x.astype(np.float64)
    rng = np.random.default_rng(seed)
    backend = kernels.get_backend() if backend is None else backend

    def value() -> float:
        out, out_lengths, _ = twin.forward(x, lengths=lengths, training=False, rng=None)
        return loss_fn(out, y, out_lengths)[0]

    with kernels.backend(backend), enable_grad():
        out, out_lengths, cache = twin.forward(x, lengths=lengths, training=False, rng=None)
        loss_value, dy = loss_fn(out, y, out_lengths)
        if not np.isfinite(loss_value):
            raise ValueError(f"the loss is not finite ({loss_value}); a gradient check needs a finite loss")
        grads = twin.backward(dy, cache)
        checks = []
        for name, p in twin.params.items():
            index = _entries(p.shape, max_entries, rng)
            numeric = central_differences(value, p, zip(*index), eps)
            analytic = np.asarray(grads[name], np.float64)[index] if name in grads else np.full_like(numeric, np.nan)
            finite = bool(np.all(np.isfinite(analytic)))
            abs_error = float(np.abs(analytic - numeric).max(initial=0.0)) if finite else float("inf")
            error = relative_error(analytic, numeric) if finite else float("inf")
            ok = finite and (error <= tolerance or abs_error <= atol)
            checks.append(ParamCheck(name, tuple(p.shape), len(numeric), error, abs_error, ok))
    report = GradcheckReport(checks, float(loss_value), eps, tolerance, atol, backend)
    return report.raise_if_failed() if raise_on_failure else report
