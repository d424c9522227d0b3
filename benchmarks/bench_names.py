"""Time a whole `names` training run: rnnkit against the same model written in PyTorch.

Run from the repository root (PyTorch 2.13 CPU must be installed):

    python benchmarks/bench_names.py                        # aiedu10, the task's defaults
    python benchmarks/bench_names.py --subset all18
    python benchmarks/bench_names.py --threads 1

"The same" means: the model `rnnkit train names` builds (input dropout, GRU, dropout, Dense
logits under a softmax cross-entropy), started from the same weights (copied into torch.nn.GRU /
nn.Linear), the same training examples in the same batches in the same order (rnnkit's own
`batch_indices` with the seed of each epoch, each batch cut to its longest name), Adam with the
same learning-rate decay and gradient-norm clipping, the same number of epochs, and a validation
pass after every epoch.
PyTorch runs every batch as a packed sequence (`pack_padded_sequence`), its standard way to
skip the padding. The dropout masks differ (each library draws its own), so the accuracies agree
only statistically; they are printed so that a fast but broken run cannot pass unnoticed.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

try:
    import torch
except ImportError:  # pragma: no cover - the benchmark needs PyTorch
    sys.exit("bench_names.py needs PyTorch (pip install torch==2.13.0)")

from bench_cells import machine_summary, pin_threads, gemm_rate
from rnnkit import tasks
from rnnkit.training.data import SequenceData, batch_indices


def as_tensors(batch: SequenceData):
    """x and lengths (take() drops lengths when every sequence in the batch is as long as x)."""
    lengths = batch.lengths if batch.lengths is not None else np.full(len(batch), batch.x.shape[1])
    return torch.from_numpy(batch.x), torch.from_numpy(lengths)


class TorchNames(torch.nn.Module):
    """Input dropout -> GRU layers (dropout between them; last real step) -> dropout -> linear,
    as the rnnkit task builds it."""

    def __init__(self, features: int, hidden: int, layers: int, classes: int, input_dropout: float,
                 dropout: float):
        super().__init__()
        self.input_dropout = torch.nn.Dropout(input_dropout)
        self.gru = torch.nn.GRU(features, hidden, num_layers=layers, dropout=dropout if layers > 1 else 0.0,
                                batch_first=True)
        self.dropout = torch.nn.Dropout(dropout)
        self.out = torch.nn.Linear(hidden, classes)

    def forward(self, x, lengths):
        packed = torch.nn.utils.rnn.pack_padded_sequence(self.input_dropout(x), lengths, batch_first=True,
                                                         enforce_sorted=False)
        _, h_n = self.gru(packed)
        return self.out(self.dropout(h_n[-1]))


def copy_weights(params: dict, net: TorchNames) -> None:
    """rnnkit's GRU keeps W as (in, 3H) in PyTorch's gate order r, z, n; torch keeps (3H, in)."""
    def put(target, array):
        target.data.copy_(torch.from_numpy(np.ascontiguousarray(array)))

    for k in range(net.gru.num_layers):
        put(getattr(net.gru, f"weight_ih_l{k}"), params[f"stack.{k}.W_x"].T)
        put(getattr(net.gru, f"weight_hh_l{k}"), params[f"stack.{k}.W_h"].T)
        put(getattr(net.gru, f"bias_ih_l{k}"), params[f"stack.{k}.b_x"])
        put(getattr(net.gru, f"bias_hh_l{k}"), params[f"stack.{k}.b_h"])
    put(net.out.weight, params["dense.W"].T)
    put(net.out.bias, params["dense.b"])


def epoch_batches(train: SequenceData, hp, epoch: int):
    # The first draw from the epoch's generator in rnnkit's fit is this shuffle.
    return batch_indices(train, hp.batch_size, "padded", np.random.default_rng([hp.seed, 1, epoch]))


def torch_accuracy(net: TorchNames, data: SequenceData, batch_size: int) -> float:
    net.eval()
    right = 0
    with torch.no_grad():
        for start in range(0, len(data), batch_size):
            batch = data.take(np.arange(start, min(start + batch_size, len(data))))
            logits = net(*as_tensors(batch))
            right += int((logits.argmax(-1).numpy() == batch.y).sum())
    net.train()
    return right / len(data)


def run_torch(net: TorchNames, train: SequenceData, val: SequenceData, test: SequenceData, hp) -> float:
    optimizer = torch.optim.Adam(net.parameters(), lr=hp.lr)
    schedule = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=hp.lr_decay)
    loss_fn = torch.nn.CrossEntropyLoss()
    for epoch in range(hp.epochs):
        for index in epoch_batches(train, hp, epoch):
            batch = train.take(index)
            optimizer.zero_grad()
            loss = loss_fn(net(*as_tensors(batch)),
                           torch.from_numpy(batch.y.astype(np.int64)))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), hp.clipnorm)
            optimizer.step()
        schedule.step()
        torch_accuracy(net, val, hp.batch_size)
    return torch_accuracy(net, test, hp.batch_size)


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subset", default="aiedu10", choices=["aiedu10", "all18"])
    parser.add_argument("--epochs", type=int, default=None, help="default: the task's")
    parser.add_argument("--threads", type=int, default=0,
                        help="threads for NumPy's BLAS and PyTorch (default: each library's own choice)")
    args = parser.parse_args(argv)
    if args.threads:
        pin_threads(args.threads)

    task = tasks.get("names")
    options = task.parse_options({"subset": args.subset})
    hp = task.hparams(options, epochs=args.epochs)
    if hp.cell != "gru" or hp.bidirectional:
        raise SystemExit(f"the PyTorch twin here is a unidirectional GRU, the {args.subset} default is {hp.cell}")
    data = task.load(options, seed=hp.seed)
    as_data = lambda s: SequenceData.from_user(s.x, s.y, s.lengths)  # noqa: E731
    train, val, test = as_data(data.train), as_data(data.val), as_data(data.test)

    model = task.build_model(hp, data.meta)
    if not model.params:
        model.build(train.x.shape[1:])
    net = TorchNames(train.x.shape[-1], hp.hidden, hp.layers, len(data.meta["classes"]), hp.input_dropout,
                     hp.dropout)
    copy_weights(model.params, net)
    torch.manual_seed(hp.seed)

    def run_rnnkit():
        task.fit(model, data, hp, verbose=0)
        return float(model.evaluate(test.x, test.y, lengths=test.lengths)["accuracy"])

    # No warm-up: a user's run pays each library's start-up too (for rnnkit, Numba loading the
    # cached kernels, under half a second).
    rnnkit_acc, rnnkit_wall, rnnkit_cpu = timed(run_rnnkit)
    torch_acc, torch_wall, torch_cpu = timed(lambda: run_torch(net, train, val, test, hp))

    print(machine_summary(gemm_rate()))
    print(f"names {args.subset}: {len(train)} train / {len(val)} val / {len(test)} test names; "
          f"{hp.layers} x GRU {hp.hidden}, {hp.epochs} epochs of batch {hp.batch_size}; threads: {args.threads or 'default'}")
    print()
    print("| library | wall s | CPU s | test accuracy |")
    print("|---|---|---|---|")
    print(f"| rnnkit | {rnnkit_wall:.1f} | {rnnkit_cpu:.1f} | {rnnkit_acc:.4f} |")
    print(f"| PyTorch | {torch_wall:.1f} | {torch_cpu:.1f} | {torch_acc:.4f} |")
    print(f"| ratio rnnkit / PyTorch | {rnnkit_wall / torch_wall:.2f} | {rnnkit_cpu / torch_cpu:.2f} | |")


if __name__ == "__main__":
    main()
