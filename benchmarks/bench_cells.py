"""Time rnnkit's recurrent cells against PyTorch's CPU nn.RNN / nn.LSTM / nn.GRU, float32.

Run from the repository root (PyTorch 2.13 CPU must be installed):

    python benchmarks/bench_cells.py                         # every config, cell and mode
    python benchmarks/bench_cells.py --configs tiny,online --cells lstm
    python benchmarks/bench_cells.py --skip-reference large  # the NumPy reference is slow there
    python benchmarks/bench_cells.py --threads 1             # one BLAS/OpenMP thread everywhere
    python benchmarks/bench_cells.py --threads 1 --clock cpu # process CPU time: robust to other load

What one timed call does, for each library in the same process and with the same weights:
    inference  the input projection x @ W_x + b_x as one GEMM, then the cell over all T steps
               keeping no backward cache (keep_cache=False; the layer under rnnkit.no_grad(),
               as predict and evaluate run it; PyTorch: module(x) under torch.inference_mode()).
    training   inference's forward, then backward from a given ∂L/∂hs: the cell's BPTT, then
               dW_x = xᵀ d_xproj, db_x, dx = d_xproj W_xᵀ (PyTorch: torch.autograd.grad of the
               output for x and every parameter).
rnnkit is timed at the cell contract (rnnkit.cells / rnnkit.kernels: projection + cell +
gradients, exactly what the recurrent layer does) and, when rnnkit.layers exists, through
layers.SimpleRNN / LSTM / GRU too. Each time is a median over interleaved rounds of calls
(see compare_times), after warm-up calls; "by round" is the middle half of the fast/torch
ratios of the single rounds, how much the ratio moved while the run lasted.

The GEMM floor of a config is its matrix-multiply FLOPs (projection, every step's recurrent
product and, for training, their gradient products) divided by the best float32 GEMM rate
measured here on a 2048³ product with NumPy's BLAS: no implementation that does these
products can be faster. "eff" is floor / time; "floor/torch" is the lowest fast/torch ratio
any implementation could reach on this machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from typing import NamedTuple

import numpy as np

try:
    import torch
except ImportError:  # pragma: no cover - the benchmark needs PyTorch
    sys.exit("bench_cells.py needs PyTorch (pip install torch==2.13.0)")

from rnnkit import kernels
from rnnkit.cells import FAMILIES

CONFIGS = {  # name: (B, T, F, H)
    "tiny": (32, 50, 32, 32),
    "small": (64, 100, 64, 128),
    "mid": (64, 100, 128, 256),
    "large": (128, 100, 256, 512),
    "online": (1, 200, 32, 128),
}
CELLS = {  # rnnkit family and variant, PyTorch module, gate blocks
    "rnn": ("rnn", {"activation_name": "tanh"}, torch.nn.RNN, 1),
    "lstm": ("lstm", {}, torch.nn.LSTM, 4),
    "gru": ("gru", {"reset_after": True}, torch.nn.GRU, 3),
}
MODES = ("inference", "training")


CLOCK = time.perf_counter  # --clock cpu: time.process_time (CPU seconds of every thread)
# Between bursts: OpenBLAS's idle workers spin for 2^28 cycles (~0.1 s here, measured as CPU
# time during a sleep) after every threaded call, OpenMP's (PyTorch's) for ~10 ms. A burst that
# starts while the previous library's workers still spin shares two cores with them: with a
# 20 ms pause PyTorch's GRU at batch 1 read 16 ms instead of 3 ms.
PAUSE_S = 0.15
BURST_S = 0.1


class Timing(NamedTuple):
    median: float  # over every call
    rounds: list[float]  # the median of each round's burst, in round order


def compare_times(fns: dict, *, budget_s: float, min_calls: int = 5) -> dict[str, Timing]:
    """Wall time of each fn() in `fns`, measured in interleaved rounds.

    Each round gives every implementation a burst of calls (about BURST_S, after a pause of
    PAUSE_S that lets the previous library's worker threads, OpenMP's or OpenBLAS's, stop
    spinning, and a warm-up call); rounds repeat until budget_s per implementation is spent.
    Interleaving spreads any load from other processes over all implementations instead of
    one, and the per-round medians show how much a ratio moves while the run lasts."""
    times = {name: [] for name in fns}
    rounds = {name: [] for name in fns}
    spent = dict.fromkeys(fns, 0.0)
    while any(spent[n] < budget_s or len(times[n]) < min_calls for n in fns):
        for name, fn in fns.items():
            if spent[name] >= budget_s and len(times[name]) >= min_calls:
                continue
            time.sleep(PAUSE_S)
            fn()
            burst_start, burst = time.perf_counter(), []
            while True:
                t0 = CLOCK()
                fn()
                burst.append(CLOCK() - t0)
                if time.perf_counter() - burst_start > BURST_S:
                    break
            spent[name] += time.perf_counter() - burst_start
            times[name] += burst
            rounds[name].append(statistics.median(burst))
    return {name: Timing(statistics.median(times[name]), rounds[name]) for name in fns}


def round_ratios(a: Timing, b: Timing) -> str:
    """The middle half (quartiles) of a/b over the rounds both ran: a ratio's spread within
    the run (the host's slow phases last seconds, so whole runs can differ by more)."""
    ratios = [x / y for x, y in zip(a.rounds, b.rounds)]
    if len(ratios) < 2:
        return "–"
    q1, _, q3 = statistics.quantiles(ratios, n=4)
    return f"{q1:.2f}–{q3:.2f}"


def gemm_rate(n: int = 2048, reps: int = 3) -> float:
    """Best float32 GEMM rate (FLOP/s) of NumPy's BLAS on an n³ product (main() keeps the best
    over the whole run, measured again before each config: load from other processes only
    ever lowers it)."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((n, n), dtype=np.float32) for _ in range(2))
    out = np.empty((n, n), dtype=np.float32)
    np.matmul(a, b, out=out)
    best = min(_timed(lambda: np.matmul(a, b, out=out)) for _ in range(reps))
    return 2 * n**3 / best


def _timed(fn) -> float:
    t0 = CLOCK()
    fn()
    return CLOCK() - t0


def gemm_flops(B: int, T: int, F: int, H: int, gates: int, training: bool) -> int:
    G = gates * H
    forward = 2 * B * T * (F + H) * G  # x @ W_x, and h_{t-1} @ W_h at every step
    return forward * 3 if training else forward  # + (dx, dW_x) and (dh, dW_h)


class Problem:
    """One config and cell: weights shared by PyTorch and rnnkit, inputs, upstream gradient."""

    def __init__(self, config: str, cell: str, seed: int = 0):
        B, T, F, H = CONFIGS[config]
        family, variant, module, gates = CELLS[cell]
        torch.manual_seed(seed)
        self.shape, self.family, self.variant, self.gates = (B, T, F, H), family, variant, gates
        self.module = module(F, H, batch_first=True)
        p = {name: t.detach().numpy() for name, t in self.module.named_parameters()}
        # PyTorch keeps (G, F) and (G, H) with the same gate order: transpose to (F, G), (H, G)
        self.W_x = np.ascontiguousarray(p["weight_ih_l0"].T)
        self.W_h = np.ascontiguousarray(p["weight_hh_l0"].T)
        self.b_x, self.b_h = p["bias_ih_l0"].copy(), p["bias_hh_l0"].copy()
        rng = np.random.default_rng(seed)
        self.x = rng.standard_normal((B, T, F), dtype=np.float32)
        self.d_hs = rng.standard_normal((B, T, H), dtype=np.float32)
        self.state0 = tuple(np.zeros((B, H), np.float32) for _ in range(FAMILIES[family].STATE_SIZE))
        self.x_t = torch.from_numpy(self.x).requires_grad_(True)
        self.d_hs_t = torch.from_numpy(self.d_hs)

    # -- PyTorch ---------------------------------------------------------------------------
    def torch_inference(self):
        with torch.inference_mode():
            return self.module(self.x_t)[0]

    def torch_training(self):
        out, _ = self.module(self.x_t)
        return torch.autograd.grad(out, [self.x_t, *self.module.parameters()], self.d_hs_t)

    # -- rnnkit at the cell contract ---------------------------------------------------------
    def _project(self):
        B, T, F, _ = self.shape
        x_proj = self.x.reshape(B * T, F) @ self.W_x  # one GEMM for every step
        x_proj += self.b_x
        return x_proj.reshape(B, T, -1)

    def rnnkit_inference(self, impl):
        x_proj = self._project()
        return impl.forward(x_proj, self.state0, self.W_h, self.b_h, None, keep_cache=False, **self.variant)[0]

    def rnnkit_training(self, impl):
        B, T, F, _ = self.shape
        x_proj = self._project()
        _, _, cache = impl.forward(x_proj, self.state0, self.W_h, self.b_h, None, **self.variant)
        g = impl.backward(self.d_hs, (None,) * len(self.state0), cache)
        d_flat = g.x_proj.reshape(B * T, -1)
        dW_x = self.x.reshape(B * T, F).T @ d_flat
        db_x = d_flat.sum(axis=0)
        dx = (d_flat @ self.W_x.T).reshape(B, T, F)
        return dx, dW_x, db_x, g

    # -- rnnkit through its layer API --------------------------------------------------------
    def make_layer(self):
        from rnnkit import layers

        B, T, F, H = self.shape
        make = {"rnn": layers.SimpleRNN, "lstm": layers.LSTM, "gru": layers.GRU}[self.family]
        options = {"reset_after": True} if self.family == "gru" else {}
        layer = make(H, return_sequences=True, bias="two", **options)
        layer.build((T, F))
        params = {"W_x": self.W_x, "W_h": self.W_h, "b_x": self.b_x, "b_h": self.b_h}
        for name in layer.params:
            layer.params[name][...] = params[name]
        return layer

    @staticmethod
    def layer_inference(layer, x):
        from rnnkit import no_grad

        with no_grad():
            return layer.forward(x)[0]

    @staticmethod
    def layer_training(layer, x, d_hs):
        y, cache = layer.forward(x, training=True)
        return layer.backward(d_hs, cache)


def check_agreement(problem: Problem, fast) -> float:
    """Max |rnnkit fast − PyTorch| over the outputs, relative to their largest magnitude."""
    ours = problem.rnnkit_inference(fast)
    theirs = problem.torch_inference().numpy()
    return float(np.abs(ours - theirs).max() / np.abs(theirs).max())


def have_layers() -> bool:
    try:
        from rnnkit import layers  # noqa: F401
    except ImportError:
        return False
    return True


def machine_summary(rate: float) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = f"{blas['name']} {blas['version']}"
    except Exception:  # noqa: BLE001 - only a description
        blas = "unknown BLAS"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"CPU {cpu}, {os.cpu_count()} logical cores, load average {load:.1f}; numpy {np.__version__} "
        f"({blas}); torch {torch.__version__} ({torch.get_num_threads()} threads, MKL "
        f"{torch.backends.mkl.is_available()}, oneDNN {torch.backends.mkldnn.is_available()}); "
        f"best float32 GEMM {rate / 1e9:.0f} GFLOP/s"
    )


def pin_threads(n: int) -> None:
    """Run again with every thread pool (OpenBLAS, OpenMP, MKL) set to n threads: the pools
    read these variables when their libraries load, which has already happened here."""
    names = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
    if all(os.environ.get(k) == str(n) for k in names):
        torch.set_num_threads(n)
        return
    os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **dict.fromkeys(names, str(n))})


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--cells", default=",".join(CELLS))
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--skip-reference", default="", help="configs where the NumPy reference is not timed")
    parser.add_argument("--no-layer", action="store_true", help="do not time through rnnkit.layers")
    parser.add_argument("--budget", type=float, default=1.0, help="seconds of repeats per measurement")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                        help="wall time, or this process's CPU time (with --threads 1)")
    parser.add_argument("--threads", type=int, default=0,
                        help="threads for NumPy's BLAS and PyTorch (default: each library's own choice)")
    args = parser.parse_args(argv)
    if args.threads:
        pin_threads(args.threads)
    if args.clock == "cpu":
        if args.threads != 1:
            parser.error("--clock cpu needs --threads 1 (CPU time adds up every thread)")
        global CLOCK
        CLOCK = time.process_time
    configs, cells, modes = (s.split(",") for s in (args.configs, args.cells, args.modes))
    for option, given, known in (("--configs", configs, CONFIGS), ("--cells", cells, CELLS),
                                 ("--modes", modes, MODES)):
        if unknown := [name for name in given if name not in known]:
            parser.error(f"{option}: unknown {', '.join(unknown)}; choose from {', '.join(known)}")
    skip_ref = set(filter(None, args.skip_reference.split(",")))
    use_layer = have_layers() and not args.no_layer

    rate = gemm_rate()
    fast_modules = {c: kernels._compiled(CELLS[c][0]) for c in cells}
    results = []  # (config, shape, cell, mode, gates, {implementation: seconds})
    for config in configs:
        rate = max(rate, gemm_rate())
        for cell in cells:
            problem = Problem(config, cell)
            fast, reference = fast_modules[cell], FAMILIES[CELLS[cell][0]]
            agreement = check_agreement(problem, fast)
            if agreement > 1e-4:
                raise SystemExit(f"{config}/{cell}: rnnkit and PyTorch disagree ({agreement:.1e})")
            layer = problem.make_layer() if use_layer else None
            for mode in modes:
                training = mode == "training"
                run = problem.rnnkit_training if training else problem.rnnkit_inference
                fns = {
                    "torch": problem.torch_training if training else problem.torch_inference,
                    "fast": lambda run=run, fast=fast: run(fast),
                }
                if config not in skip_ref:
                    fns["reference"] = lambda run=run, reference=reference: run(reference)
                if layer is not None and training:
                    fns["layer"] = lambda p=problem, layer=layer: p.layer_training(layer, p.x, p.d_hs)
                elif layer is not None:
                    fns["layer"] = lambda p=problem, layer=layer: p.layer_inference(layer, p.x)
                with kernels.backend("auto"):
                    times = compare_times(fns, budget_s=args.budget)
                results.append((config, problem.shape, cell, mode, problem.gates, times))
                done = ", ".join(f"{k} {v.median * 1e3:.3f} ms" for k, v in times.items())
                print(f"{config} {cell} {mode}: {done}", file=sys.stderr, flush=True)
    rate = max(rate, gemm_rate())
    print(machine_summary(rate))
    print(f"clock: {args.clock}; threads: {args.threads or 'default'}; median of interleaved rounds, "
          f"about {args.budget:g} s per implementation and row")
    print()
    print_table(results, rate, use_layer)


def print_table(results, rate: float, use_layer: bool) -> None:
    header = "| config (B,T,F,H) | cell | mode | torch ms | reference ms | fast ms |"
    header += " layer ms |" if use_layer else ""
    header += " fast/torch | by round | ref/torch | GEMM floor ms | eff | floor/torch |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))

    def ms(t):
        return "–" if t is None else f"{t * 1e3:.3f}"

    for config, shape, cell, mode, gates, timings in results:
        t = {name: timing.median for name, timing in timings.items()}
        t_torch, t_fast, t_ref, t_layer = (t.get(k) for k in ("torch", "fast", "reference", "layer"))
        ratio = "–" if t_ref is None else f"{t_ref / t_torch:.2f}"
        floor = gemm_flops(*shape, gates, mode == "training") / rate
        row = f"| {config} {shape} | {cell} | {mode} | {ms(t_torch)} | {ms(t_ref)} | {ms(t_fast)} |"
        row += f" {ms(t_layer)} |" if use_layer else ""
        row += f" **{t_fast / t_torch:.2f}** | {round_ratios(timings['fast'], timings['torch'])} |"
        row += f" {ratio} | {ms(floor)} | {floor / t_fast:.2f} |"
        row += f" {floor / t_torch:.2f} |"
        print(row)


if __name__ == "__main__":
    main()
