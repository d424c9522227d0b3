"""Peak memory of one training step (forward + backward) or one inference pass, rnnkit against
PyTorch, float32.

Run from the repository root (PyTorch 2.13 CPU must be installed; Linux, for /proc):

    python benchmarks/bench_memory.py
    python benchmarks/bench_memory.py --configs large --cells lstm
    python benchmarks/bench_memory.py --mode inference   # rnnkit.no_grad() / torch.inference_mode()

Each measurement runs in a fresh process (so one library's freed memory cannot be reused by the
other): build the layer and the inputs x (B, T, F) and ∂L/∂hs, run one warm-up step on a tiny
batch (Numba loads its kernels, oneDNN its primitives), hand free heap pages back to the system
(malloc_trim), reset the kernel's high-water mark (write 5 to /proc/self/clear_refs) and run one
step at the config's shape. The number is the resident-set high-water mark during that step less the resident set just before it: everything
the step allocates (activations kept for the backward pass, gradients, work buffers that rnnkit
keeps for later calls), but not the weights or the inputs. rnnkit runs
`rnnkit.layers.SimpleRNN / LSTM / GRU(return_sequences=True)` with PyTorch's two biases;
PyTorch runs `torch.nn.RNN / LSTM / GRU` with torch.autograd.grad for x and every parameter.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import subprocess
import sys

CONFIGS = {  # name: (B, T, F, H), as in bench_cells.py
    "tiny": (32, 50, 32, 32),
    "small": (64, 100, 64, 128),
    "mid": (64, 100, 128, 256),
    "large": (128, 100, 256, 512),
    "online": (1, 200, 32, 128),
}
LIBRARIES = ("rnnkit", "torch")


def status_kib(key: str) -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(key + ":"))


def step_fn(library: str, cell: str, B: int, T: int, F: int, H: int, mode: str = "training"):
    """A function running one training step (or inference pass) on random inputs (B, T, F)."""
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.standard_normal((B, T, F), dtype=np.float32)
    d_hs = rng.standard_normal((B, T, H), dtype=np.float32)
    if library == "rnnkit":
        from rnnkit.layers import GRU, LSTM, SimpleRNN

        kind = {"rnn": SimpleRNN, "lstm": LSTM, "gru": GRU}[cell]
        options = {"bias": "two"} if cell == "lstm" else {}
        layer = kind(H, return_sequences=True, dtype=np.float32, **options)
        layer.build((T, F), rng=0)

        def step():
            out, cache = layer.forward(x, training=True)
            return out, layer.backward(d_hs, cache)

        def infer():
            from rnnkit import no_grad

            with no_grad():
                return layer.forward(x)

        return step if mode == "training" else infer
    import torch

    module = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](F, H, batch_first=True)
    xt = torch.from_numpy(x).requires_grad_()
    dt = torch.from_numpy(d_hs)

    def step():
        out, _ = module(xt)
        return out, torch.autograd.grad(out, [xt, *module.parameters()], dt)

    def infer():
        with torch.inference_mode():
            return module(xt)

    return step if mode == "training" else infer


def child(library: str, cell: str, config: str, mode: str) -> None:
    B, T, F, H = CONFIGS[config]
    step_fn(library, cell, 2, 3, F, H, mode)()  # warm-up: load kernels / primitives
    step = step_fn(library, cell, B, T, F, H, mode)
    # Hand free heap memory back first: glibc keeps freed blocks resident (the weights'
    # initialisation leaves tens of MB), and a step that reuses them would not show in the peak.
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = status_kib("VmRSS")
    result = step()
    peak = status_kib("VmHWM")
    del result
    print(peak - before)


def measure(library: str, cell: str, config: str, mode: str) -> float:
    """MiB the step needed, from a fresh interpreter."""
    out = subprocess.run([sys.executable, __file__, "--child", library, cell, config, mode], check=True,
                         capture_output=True, text=True, env={**os.environ, "OPENBLAS_NUM_THREADS": "1",
                                                              "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
    return int(out.stdout.split()[-1]) / 1024


def activations_mib(cell: str, B: int, T: int, H: int) -> float:
    """What any BPTT must keep per step at the least: the gate pre-activations' worth of floats.
    (For inference the same count is the input projection of every step plus the outputs hs,
    which a layer that projects all steps in one GEMM holds at once.)"""
    gates = {"rnn": 1, "lstm": 4, "gru": 3}[cell]
    return B * T * H * (gates + 1) * 4 / 2**20


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--cells", default="rnn,lstm,gru")
    parser.add_argument("--mode", choices=["training", "inference"], default="training")
    parser.add_argument("--child", nargs=4, metavar=("LIBRARY", "CELL", "CONFIG", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return
    last = "(gates + h) × B·T·H floats" if args.mode == "training" else "x_proj + hs: (gates + 1) × B·T·H floats"
    print(f"| config (B,T,F,H) | cell | rnnkit MiB | torch MiB | rnnkit / torch | {last}, MiB |")
    print("|---|---|---|---|---|---|")
    for config in args.configs.split(","):
        B, T, F, H = CONFIGS[config]
        for cell in args.cells.split(","):
            mine, theirs = (measure(library, cell, config, args.mode) for library in LIBRARIES)
            print(f"| {config} {CONFIGS[config]} | {cell} | {mine:.1f} | {theirs:.1f} | {mine / theirs:.2f} | "
                  f"{activations_mib(cell, B, T, H):.1f} |", flush=True)


if __name__ == "__main__":
    main()
