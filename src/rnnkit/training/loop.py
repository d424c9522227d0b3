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
from rnnkit.grad_mode import no_grad
from rnnkit.optim import clipping
from rnnkit.training.callbacks import Callback, History, overrides
from rnnkit.training.data import SequenceData, batch_indices
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
    padded = np.arange(y.shape[1])[None, :] >= np.asarray(y_lengths)[:, None]
    return np.where(padded.reshape(*padded.shape, *[1] * (y.ndim - 2)), 0, y).astype(y.dtype, copy=False)


def predict(model, data: SequenceData, batch_size: int = 256) -> np.ndarray:
    """Outputs for every example, in order; per-step outputs padded back to the data's T, every
    padded step 0 (whatever the batch size)."""
    outputs = []
    for index in batch_indices(data, batch_size, "padded", rng=None):
        batch = data.take(index)
        with no_grad():  # outputs only: the layers skip their backward caches
            y, y_lengths, _ = model.forward(batch.x, lengths=batch.lengths, training=False, rng=None)
        outputs.append(zero_padded_steps(y, y_lengths))
    if outputs[0].ndim >= 3 and data.lengths is not None:  # re-pad trimmed per-step outputs
        T = data.x.shape[1]
        outputs = [np.pad(y, [(0, 0), (0, T - y.shape[1])] + [(0, 0)] * (y.ndim - 2)) for y in outputs]
    return np.concatenate(outputs, axis=0)


def output_lengths(model, data: SequenceData, prediction: np.ndarray):
    """The lengths describing a per-step prediction of the whole data set (None if last step only)."""
    if prediction.ndim < 3 or prediction.shape[1] != data.x.shape[1]:
        return None
    return model.output_lengths(data.x, data.lengths)


def evaluate(model, data: SequenceData, compiled: Compiled, batch_size: int = 256) -> dict[str, float]:
    """{"loss": ..., metric name: ...} of the model on all of `data` (predicted in batches of
    `batch_size`, scored at once); Model.evaluate is this with the model's own compile settings."""
    pred = predict(model, data, batch_size)
    lengths = output_lengths(model, data, pred)
    loss, _ = compiled.loss(pred, data.y, lengths)
    logs = {"loss": float(loss)}
    for name, metric in compiled.metrics.items():
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
