"""fit / evaluate / predict over any model that follows the model protocol:

    model.params                                   dict[str, ndarray], updated in place
    model.forward(x, lengths, training, rng)    -> (y, y_lengths, cache)
    model.backward(dy, cache)                   -> dict[str, ndarray] (same keys as params)

y_lengths tells the loss which output steps are real (None: all, or an output at the last step
only). Every random choice of epoch e comes from np.random.default_rng([seed, 1, e]), so training
10 epochs equals training 5, saving, loading and training 5 more, bit for bit (except with an
optimizer that averages weights, `ema`: fit ends on the averages, so training resumes from them).
"""

from __future__ import annotations

import math
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from rnnkit import _checks as checks
from rnnkit import metrics as metric_functions
from rnnkit.grad_mode import no_grad
from rnnkit.optim import clipping
from rnnkit.training.callbacks import Callback, History, overrides
from rnnkit.training.data import SequenceData, batch_indices, padded_steps, zero_padded
from rnnkit.training.progress import EpochProgress


class TrainingError(FloatingPointError):
    """Training produced a non-finite loss, gradient or updated weights. For a loss or gradient
    the model keeps the weights (and its optimizer the state) it had before the failing batch;
    weights that an update overflowed are left as they are. Either way the epoch is not logged,
    no callback runs for it, and saved checkpoints are untouched."""


@dataclass
class Compiled:
    """What `compile` fixed: the loss, metrics, optimizer and gradient clipping."""

    loss: object
    loss_name: str
    optimizer: object
    metrics: dict[str, object] = field(default_factory=dict)
    clipnorm: float | None = None
    clipvalue: float | None = None
    weight_noise: float = 0.0


def zero_padded_steps(y: np.ndarray, y_lengths) -> np.ndarray:
    """A per-step output with its padded steps (t >= y_lengths[b]) set to 0; others as they are.

    What a layer computes at a padded step (a Dense's bias on a zero state) depends on which
    batch the sequence shared, since a batch is cut to its longest sequence and the rest re-padded
    with zeros: zeroing every padded step makes predict's output independent of batch_size."""
    if y.ndim < 3 or y_lengths is None:
        return y
    return zero_padded(y, padded_steps(y_lengths, y.shape[1]))


def _inference_batches(model, data: SequenceData, batch_size: int):
    """(rows, batch, y, y_lengths) for the batches of `data` in order, `rows` the slice of the
    data set they hold, each run forward without the backward caches."""
    for index in batch_indices(data, batch_size, "padded", rng=None):  # in order: consecutive rows
        rows = slice(int(index[0]), int(index[-1]) + 1)
        batch = data.take(rows)  # a slice: views of the data, no copy
        with no_grad():  # outputs only: the layers skip their backward caches
            y, y_lengths, _ = model.forward(batch.x, lengths=batch.lengths, training=False, rng=None)
        yield rows, batch, y, y_lengths


def _place(out: np.ndarray | None, data: SequenceData, rows: slice, y: np.ndarray) -> np.ndarray:
    """Write one batch's outputs y into the whole data set's outputs `out` (created on the first
    batch: per-step outputs of variable-length data padded back to the data's T with zeros), so
    that predicting N examples holds one (N, ...) array, not the batches' and their concatenation."""
    repad = y.ndim >= 3 and data.lengths is not None  # a batch is cut to its longest sequence
    if out is None:
        shape = (len(data), data.x.shape[1], *y.shape[2:]) if repad else (len(data), *y.shape[1:])
        out = np.zeros(shape, dtype=y.dtype)
    if repad:
        out[rows, : y.shape[1]] = y
    else:
        out[rows] = y
    return out


def predict(model, data: SequenceData, batch_size: int = 256) -> np.ndarray:
    """Outputs for every example, in order; per-step outputs padded back to the data's T, every
    padded step 0 (whatever the batch size)."""
    out = None
    for rows, _, y, y_lengths in _inference_batches(model, data, batch_size):
        out = _place(out, data, rows, zero_padded_steps(y, y_lengths))
    return out


def output_lengths(model, data: SequenceData, prediction: np.ndarray):
    """The lengths describing a per-step prediction of the whole data set (None if last step only)."""
    if prediction.ndim < 3 or prediction.shape[1] != data.x.shape[1]:
        return None
    return model.output_lengths(data.x, data.lengths)


# Metrics that are a mean over the real outputs (sequences, or real steps of a per-step output):
# the whole data set's value is the batches' values weighted by their real outputs, as for the
# loss. Any other metric (r2, or one of the user's) is scored on the whole prediction at once.
_MEANS_OVER_OUTPUTS = (metric_functions.accuracy, metric_functions.bernoulli_nll_per_frame)


def evaluate(model, data: SequenceData, compiled: Compiled, batch_size: int = 256) -> dict[str, float]:
    """{"loss": ..., metric name: ...} of the model on all of `data`, predicted in batches of
    `batch_size`; Model.evaluate is this with the model's own compile settings.

    The loss, accuracy and bernoulli_nll are means over the real outputs: each batch is scored
    as it comes and the values are averaged weighted by the batch's real outputs, which is the
    whole data set's mean (up to rounding, whatever the batch size) without holding the whole
    prediction, let alone the loss's temporaries over it (a language model's logits over a data
    set run to gigabytes). Other metrics (r2_score, the user's own) are scored on the whole
    prediction at once, which is then kept (as predict returns it)."""
    at_once = {name: m for name, m in compiled.metrics.items() if m not in _MEANS_OVER_OUTPUTS}
    sums = dict.fromkeys(["loss", *compiled.metrics], 0.0)
    seen, pred = 0, None
    for rows, batch, y, y_lengths in _inference_batches(model, data, batch_size):
        y_true = batch.targets_for(y)
        n = _real_steps(y, y_lengths)
        loss, _ = compiled.loss(y, y_true, y_lengths)
        sums["loss"] += float(loss) * n
        for name, metric in compiled.metrics.items():
            if name not in at_once:
                sums[name] += float(metric(y, y_true, y_lengths)) * n
        seen += n
        if at_once:
            pred = _place(pred, data, rows, zero_padded_steps(y, y_lengths))
    logs = {k: v / seen for k, v in sums.items()}
    if at_once:
        lengths = output_lengths(model, data, pred)
        for name, metric in at_once.items():
            logs[name] = float(metric(pred, data.y, lengths))
    return logs


def _finite_or_raise(what: str, finite: bool, epoch: int, batch: int) -> None:
    if not finite:
        raise TrainingError(
            f"{what} not finite at epoch {epoch + 1}, batch {batch + 1}; training stopped, the model "
            "keeps its weights from before this batch (try a lower learning rate or gradient "
            "clipping; saved checkpoints are untouched)"
        )


def _all_finite(arrays) -> bool:
    return all(np.isfinite(a).all() for a in arrays)


def _add_weight_noise(params: dict, std: float, rng) -> dict:
    """Perturb every parameter by N(0, std²) in place (Graves 2011, the weight noise of Chung et
    al. 2014); returns the clean values, which the caller must put back before the update."""
    clean = {k: v.copy() for k, v in params.items()}
    for v in params.values():
        v += rng.normal(0.0, std, size=v.shape).astype(v.dtype, copy=False)
    return clean


def _assign(params: dict, values: dict) -> None:
    """Write values into the parameter arrays in place (the optimizer holds these very arrays)."""
    for k, v in values.items():
        np.copyto(params[k], v)


@contextmanager
def averaged_weights(model, optimizer):
    """Within the block the model holds the optimizer's averaged weights (if it keeps any, `ema`);
    the live training weights come back after it, also on error."""
    if optimizer.ema is None:
        yield
        return
    live = {k: v.copy() for k, v in model.params.items()}
    _assign(model.params, optimizer.averaged_weights(model.params))
    try:
        yield
    finally:
        _assign(model.params, live)


def train_step(model, batch: SequenceData, compiled: Compiled, rng, epoch: int, index: int):
    # Weight noise: the gradient is taken at noisy weights and applied to the clean ones.
    clean = _add_weight_noise(model.params, compiled.weight_noise, rng) if compiled.weight_noise else None
    try:
        y, y_lengths, cache = model.forward(batch.x, lengths=batch.lengths, training=True, rng=rng)
        y_true = batch.targets_for(y)
        loss, d_y = compiled.loss(y, y_true, y_lengths)
        _finite_or_raise("the loss is", math.isfinite(loss), epoch, index)
        grads = model.backward(d_y, cache)
    finally:
        if clean is not None:
            _assign(model.params, clean)
    # Checked before clipping, which would turn an overflowed (inf) entry into a finite one, and
    # entry by entry: a sum of float32 squares overflows long before the gradient does.
    _finite_or_raise("the gradient is", _all_finite(grads.values()), epoch, index)
    if compiled.clipvalue is not None:
        clipping.clip_by_value(grads, compiled.clipvalue)
    if compiled.clipnorm is not None:
        clipping.clip_by_global_norm(grads, compiled.clipnorm)
    compiled.optimizer.step(model.params, grads)
    # A finite gradient times a huge rate can still overflow the weights: stop before any callback
    # sees them or a checkpoint saves them. (Undoing the update would need a copy of the weights
    # and the optimizer state before every batch: 16.2 against 14.8 ms per batch of a 0.7M-weight
    # 2 × GRU(256) model, measured.)
    if not _all_finite(model.params.values()):
        raise TrainingError(f"the weights after the update are not finite at epoch {epoch + 1}, batch {index + 1}: "
                            "its update overflowed them (is the learning rate far too large?); training "
                            "stopped, the model's weights are unusable, saved checkpoints are untouched")
    metrics = {name: float(m(y, y_true, y_lengths)) for name, m in compiled.metrics.items()}
    return float(loss), metrics, _real_steps(y, y_lengths)


def _real_steps(y: np.ndarray, y_lengths) -> int:
    """How many outputs a batch's loss and metrics average over: one per sequence, or per real
    step of a per-step output. Weighting batches by it makes an epoch's log the mean over all its
    real steps, as evaluate computes, whatever the batching."""
    if y.ndim < 3:
        return y.shape[0]
    return y.shape[0] * y.shape[1] if y_lengths is None else int(np.sum(y_lengths))


def fit(model, data: SequenceData, compiled: Compiled, *, epochs: int, batch_size: int, batching: str,
        validation: SequenceData | None, shuffle: bool, callbacks: list[Callback], verbose: int,
        seed: int, start_epoch: int, history: History) -> History:
    """The training loop behind Model.fit: `epochs` epochs from epoch `start_epoch`, each batch a
    forward, loss, backward, clipping and optimizer step, then validation and the callbacks.
    Batches are drawn from `seed` and the epoch index, so a resumed run repeats the original one.
    Returns `history`, extended; raises TrainingError on a non-finite loss, gradient or weight."""
    checks.integer("epochs", epochs, least=0)
    if data.y is None:
        raise ValueError("y is required to fit")
    progress = EpochProgress(verbose, start_epoch + epochs)
    everything = [history, *callbacks]
    batch_listeners = [cb for cb in everything if overrides(cb, "on_batch_end")]
    for cb in everything:
        cb.on_train_begin(model)
    try:
        for epoch in range(start_epoch, start_epoch + epochs):
            started = time.perf_counter()
            rng = np.random.default_rng([seed, 1, epoch])
            compiled.optimizer.set_epoch(epoch)
            for cb in everything:
                cb.on_epoch_begin(model, epoch)
            batches = batch_indices(data, batch_size, batching, rng if shuffle else None)
            progress.start_epoch(epoch, len(batches))
            sums, seen = {}, 0
            for index, batch_index in enumerate(batches):
                batch = data.take(batch_index)
                loss, metrics, n = train_step(model, batch, compiled, rng, epoch, index)
                seen += n
                for k, v in {"loss": loss, **metrics}.items():
                    sums[k] = sums.get(k, 0.0) + v * n
                running = {k: v / seen for k, v in sums.items()}
                progress.update(running)
                for cb in batch_listeners:
                    cb.on_batch_end(model, index, running)
            logs = {k: v / seen for k, v in sums.items()}
            # Validation, checkpoints and early stopping all see the weights that fit returns.
            with averaged_weights(model, compiled.optimizer):
                if validation is not None:
                    logs.update({f"val_{k}": v for k, v in evaluate(model, validation, compiled, batch_size).items()})
                model.epochs_trained = epoch + 1
                # the epoch's line once history holds the epoch: a Ctrl-C right after the line
                # reports it as run; the other callbacks (checkpoints) speak after it, as in Keras
                stop = bool(history.on_epoch_end(model, epoch, logs))
                progress.end_epoch(epoch, logs, time.perf_counter() - started)
                for cb in callbacks:
                    stop = cb.on_epoch_end(model, epoch, logs) or stop
            if stop:
                break
    finally:
        progress.close()
    if compiled.optimizer.ema is not None and model.epochs_trained > start_epoch:
        _assign(model.params, compiled.optimizer.averaged_weights(model.params))  # as Keras's finalize
    for cb in everything:
        cb.on_train_end(model)
    return history
