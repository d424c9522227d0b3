"""Batching at the level of the fit loop: the batches of an epoch (batch_indices), the
validation split, and the SPEC's equivalence (seed 002, 2.1.5) of padded batches, batches
bucketed by length and sequences fed one by one, through SequenceData.take / targets_for and
the loss as train_step uses them, in float64 on both backends."""

from __future__ import annotations

import numpy as np
import pytest

import rnnkit
from rnnkit import losses
from rnnkit.layers import CellSpec, Dense, stacked
from rnnkit.training.data import SequenceData, batch_indices

# --- batch_indices ---------------------------------------------------------------------------


def _data(lengths, T=None):
    lengths = np.asarray(lengths)
    T = T or int(lengths.max())
    return SequenceData.from_user(np.zeros((len(lengths), T, 1)), np.zeros(len(lengths)), lengths)


@pytest.mark.parametrize("mode", ["padded", "bucket"])
@pytest.mark.parametrize("shuffle", [False, True])
def test_every_example_once_per_epoch_in_batches_of_at_most_batch_size(mode, shuffle):
    rng = np.random.default_rng(0)
    for trial in range(50):
        N = int(rng.integers(1, 40))
        lengths = rng.integers(1, 6, size=N)
        data = _data(lengths, T=7)
        batch_size = int(rng.integers(1, 50))  # also larger than the data and than any bucket
        batches = batch_indices(data, batch_size, mode, np.random.default_rng([3, 1, trial]) if shuffle else None)
        assert np.array_equal(np.sort(np.concatenate(batches)), np.arange(N))
        assert all(1 <= len(b) <= batch_size for b in batches)
        if mode == "padded":  # full batches and one last partial batch
            assert [len(b) for b in batches[:-1]] == [batch_size] * (len(batches) - 1)
        else:  # one length per batch, each bucket in as few batches as batch_size allows
            assert all(len(set(lengths[b])) == 1 for b in batches)
            per_bucket = [-(-int(np.sum(lengths == n)) // batch_size) for n in np.unique(lengths)]
            assert len(batches) == sum(per_bucket)


def test_unshuffled_order():
    lengths = np.array([3, 1, 3, 2, 1, 3])
    data = _data(lengths)
    assert [b.tolist() for b in batch_indices(data, 4, "padded", None)] == [[0, 1, 2, 3], [4, 5]]
    assert [b.tolist() for b in batch_indices(data, 2, "bucket", None)] == [[1, 4], [3], [0, 2], [5]]


@pytest.mark.parametrize("mode", ["padded", "bucket"])
def test_shuffling_is_seeded_and_differs_between_epochs(mode):
    data = _data(np.tile([1, 2, 3, 4], 6))

    def epoch(e):
        return [b.tolist() for b in batch_indices(data, 3, mode, np.random.default_rng([9, 1, e]))]

    assert epoch(4) == epoch(4)
    orders = [epoch(e) for e in range(5)]
    assert len({str(o) for o in orders}) == 5
    if mode == "bucket":  # the buckets' order too, not only the members within each bucket
        first_lengths = {tuple(int(data.lengths[b[0]]) for b in o) for o in orders}
        assert len(first_lengths) > 1


def _bucket_batches_one_length_at_a_time(data, batch_size, rng):
    """batch_indices(mode="bucket") as first written: a pass over all N lengths per distinct length."""
    batches = []
    for length in np.unique(data.lengths):
        members = np.flatnonzero(data.lengths == length)
        if rng is not None:
            members = rng.permutation(members)
        batches.extend(members[i : i + batch_size] for i in range(0, len(members), batch_size))
    if rng is not None:
        batches = [batches[k] for k in rng.permutation(len(batches))]
    return batches


@pytest.mark.parametrize("shuffle", [False, True])
def test_bucket_batches_are_those_of_one_pass_per_length(shuffle):
    # grouping by one stable sort must give the very batches (and draw the very random numbers)
    # of the original one pass per distinct length: a resumed run repeats its batches
    rng = np.random.default_rng(5)
    for trial in range(20):
        N = int(rng.integers(1, 300))
        data = _data(rng.integers(1, int(rng.integers(2, 60)), size=N))
        batch_size = int(rng.integers(1, 9))
        got = batch_indices(data, batch_size, "bucket", np.random.default_rng(trial) if shuffle else None)
        want = _bucket_batches_one_length_at_a_time(data, batch_size, np.random.default_rng(trial) if shuffle else None)
        assert len(got) == len(want)
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b)


# --- validation_split ------------------------------------------------------------------------


@pytest.mark.parametrize("N, fraction", [(256, 0.2), (10, 0.25), (7, 0.2), (100, 0.3), (3, 0.5), (40, 0.25)])
def test_validation_split_takes_the_tail_with_keras_count(N, fraction):
    # keras.src.trainers.data_adapters.data_adapter_utils.train_validation_split:
    # split_at = floor(N * (1 - validation_split)); train = [:split_at], validation = [split_at:]
    split_at = int(np.floor(N * (1.0 - fraction)))
    data = SequenceData.from_user(np.arange(N * 2.0).reshape(N, 2, 1), np.arange(N))
    train, val = data.split(fraction)
    np.testing.assert_array_equal(train.y, np.arange(split_at))
    np.testing.assert_array_equal(val.y, np.arange(split_at, N))


def test_validation_split_keeps_the_lengths_and_refuses_an_empty_side():
    data = SequenceData.from_user([np.ones((n, 1)) for n in (1, 2, 3, 4)], np.arange(4))
    train, val = data.split(0.5)
    assert train.lengths.tolist() == [1, 2] and val.lengths.tolist() == [3, 4]
    with pytest.raises(ValueError, match="leaves no examples on one side of 4"):
        data.split(0.8)  # floor(4 · 0.2) = 0 examples to train on


# --- padded == bucketed == one by one, as the loop computes a batch's gradient -------------------


def _batch_gradient(model, loss, data, index):
    """What train_step does for one batch (no clipping, no update); returns the loss, the
    gradients and the number of outputs the loss averaged over."""
    batch = data.take(np.asarray(index))
    y, y_lengths, cache = model.forward(batch.x, lengths=batch.lengths, training=True, rng=None)
    value, d_y = loss(y, batch.targets_for(y), y_lengths)
    grads = {k: g.copy() for k, g in model.backward(d_y, cache).items()}
    n = y.shape[0] if y.ndim < 3 else (y.size // y.shape[-1] if y_lengths is None else int(np.sum(y_lengths)))
    return value, grads, n


@pytest.mark.parametrize("backend", ["reference", "fast"])
@pytest.mark.parametrize("per_step", [False, True], ids=["many-to-one", "many-to-many"])
@pytest.mark.parametrize("cell", [CellSpec("rnn", activation="tanh"), CellSpec("lstm", bias="two"),
                                  CellSpec("gru", reset_after=False)], ids=["rnn", "lstm", "gru"])
def test_padded_bucketed_and_one_by_one_give_the_same_gradient(cell, per_step, backend):
    rng = np.random.default_rng(0)
    lengths = np.array([5, 2, 5, 3, 2, 1, 4, 5])
    N, T, F, C = len(lengths), 7, 3, 3
    x = rng.normal(size=(N, T, F))
    padded_x = x.copy()
    for i, n in enumerate(lengths):  # junk in the padding: it must be read nowhere
        padded_x[i, n:] = 1e3 * rng.normal(size=(T - n, F))
    y = rng.integers(0, C, size=(N, T) if per_step else N)
    model = rnnkit.Sequential([stacked(cell, 4, 2, bidirectional=True, return_sequences=per_step), Dense(C)],
                              dtype=np.float64, seed=1)
    model.build((None, F))
    loss = losses.get("sparse_categorical_crossentropy")
    data = SequenceData.from_user(padded_x, y, lengths)
    with rnnkit.backend(backend):
        whole, grads, n_all = _batch_gradient(model, loss, data, np.arange(N))
        alone = [_batch_gradient(model, loss, SequenceData.from_user(x[i : i + 1, :n], y[i : i + 1, :n] if per_step
                                                                     else y[i : i + 1]), [0])
                 for i, n in enumerate(lengths)]
        buckets = [_batch_gradient(model, loss, data, b)
                   for b in batch_indices(data, 2, "bucket", np.random.default_rng(1))]
        padded = [_batch_gradient(model, loss, data, b)
                  for b in batch_indices(data, 3, "padded", np.random.default_rng(1))]
    assert n_all == (lengths.sum() if per_step else N)
    for parts in (alone, buckets, padded):
        # the batch loss is the mean over its real outputs: weight each part by its count
        assert sum(p[2] for p in parts) == n_all
        assert abs(sum(p[0] * p[2] for p in parts) / n_all - whole) < 1e-12
        for k, g in grads.items():
            np.testing.assert_allclose(sum(p[1][k] * p[2] for p in parts) / n_all, g, rtol=0, atol=1e-12,
                                       err_msg=k)
