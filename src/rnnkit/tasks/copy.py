"""The copy task (Hochreiter & Schmidhuber 1997; the form of Arjovsky et al. 2016): see K symbols,
wait T steps, then write the K symbols back — recall after a long gap.

Data (generated here, every split from the task seed), sequences of T + 2K steps, one-hot over
A + 2 input channels (A symbols, blank, go):

    input   s_1 … s_K   blank × (T − 1)   go   blank × K
    target  blank × (T + K)                    s_1 … s_K

    x (N, T + 2K, A + 2) float32,  y (N, T + 2K) int labels in 0..A (A = blank)
    T = `-o length=T`, K = `symbols`, A = `alphabet`

Model: recurrent block -> Dense(A + 1) at every step, softmax cross-entropy over all steps. A
model without memory writes blanks and guesses the symbols: cross-entropy K·ln(A) / (T + 2K),
"accuracy" 1/A. "accuracy" is the share of the K recalled symbols that are right; the share of
all steps right is "step_accuracy".
"""

from __future__ import annotations

import numpy as np

from rnnkit import Sequential
from rnnkit.layers import Dense
from rnnkit.tasks.base import HParams, Option, Split, Task, TaskData, sequential_layers, softmax


def generate(n: int, T: int, K: int, A: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n copy-task sequences: x (n, T + 2K, A + 2) float32 one-hot, y (n, T + 2K) int64 labels."""
    if T < 1 or K < 1 or A < 2:
        raise ValueError(f"the copy task needs length >= 1, symbols >= 1, alphabet >= 2; got {T}, {K}, {A}")
    steps = T + 2 * K
    symbols = rng.integers(0, A, (n, K))
    ids = np.full((n, steps), A, np.int64)  # blank
    ids[:, :K] = symbols
    ids[:, T + K - 1] = A + 1  # go
    y = np.full((n, steps), A, np.int64)
    y[:, T + K :] = symbols
    return np.eye(A + 2, dtype=np.float32)[ids], y


class Copy(Task):
    name = "copy"
    pattern = "many-to-many classification, recall after a long gap"
    data = "generated: K random symbols, a gap of T steps, then recall"
    size = "-o samples train / 1,000 val / 1,000 test; T + 2K steps, A + 2 one-hot inputs"
    kind = "classification"
    reference = "no memory: accuracy 1/A (12.5 % with A = 8), loss K·ln(A)/(T + 2K); solved: 100 %"
    predict_example = ("1 2 3 4 5 6 7 0 1 2",)
    monitor = "val_loss"
    accuracy_counts = "recalled symbols"
    options = (
        Option("length", 50, "gap T between the last symbol and the recall", type=int),
        Option("symbols", 10, "symbols K to remember", type=int),
        Option("alphabet", 8, "distinct symbols A", type=int),
        Option("samples", 10_000, "training sequences", type=int),
    )

    def defaults(self, options):
        return dict(cell="lstm", hidden=64, epochs=10, batch_size=32, lr=3e-3, clipnorm=1.0)

    def load(self, options, seed=0):
        T, K, A, n = options["length"], options["symbols"], options["alphabet"], options["samples"]
        if n < 1:
            raise ValueError(f"copy needs samples >= 1, got {n}")
        parts = [Split(*generate(size, T, K, A, np.random.default_rng([seed, 23, k])))
                 for k, size in enumerate((n, 1000, 1000))]
        meta = {"input_shape": [T + 2 * K, A + 2], "length": T, "symbols": K, "alphabet": A,
                "classes": [str(s) for s in range(A)] + ["blank"]}
        return TaskData(*parts, meta=meta)

    def build_model(self, hp: HParams, meta):
        model = Sequential(sequential_layers(hp, Dense(meta["alphabet"] + 1), return_sequences=True),
                           seed=hp.seed, dtype=np.float32, input_shape=tuple(meta["input_shape"]))
        return self.compile(model, hp, "sparse_categorical_crossentropy", ["accuracy"])

    def evaluate(self, model, data, split="test"):
        part = self.split(data, split)
        logs = model.evaluate(part.x, part.y)
        logs["step_accuracy"] = logs.pop("accuracy")
        K = int(data.meta["symbols"])
        recalled = model.predict(part.x)[:, -K:].argmax(-1)
        logs["accuracy"] = float(np.mean(recalled == part.y[:, -K:]))
        return logs

    def predicted_classes(self, model, data, split="test"):
        part = self.split(data, split)
        K = int(data.meta["symbols"])
        return part.y[:, -K:].ravel(), model.predict(part.x)[:, -K:].argmax(-1).ravel()

    # "3 1 4 1 5 ...": the K symbols to remember (digits 0..A-1)
    def encode_inputs(self, inputs, meta):
        T, K, A = meta["length"], meta["symbols"], meta["alphabet"]
        x, _ = generate(len(inputs), T, K, A, np.random.default_rng(0))
        for row, text in zip(x, inputs):
            row[:K] = np.eye(A + 2, dtype=np.float32)[_parse(text, K, A)]
        return x, None

    def decode_outputs(self, outputs, inputs, meta, top_k=3):
        K, A = meta["symbols"], meta["alphabet"]
        lines = []
        for text, out in zip(inputs, outputs):
            p = softmax(np.asarray(out[-K:], np.float64))
            recalled = p.argmax(-1)
            written = " ".join("_" if s == A else str(s) for s in recalled)
            right = int(np.sum(recalled == _parse(text, K, A)))
            lines.append(f"{text.strip()}  ->  {written}  ({right}/{K} right after a gap of {meta['length']} steps)")
        return lines


def _parse(text: str, K: int, A: int) -> np.ndarray:
    parts = text.replace(",", " ").split()
    if len(parts) == 1 and len(parts[0]) == K:
        parts = list(parts[0])
    try:
        symbols = np.array([int(p) for p in parts])
    except ValueError:
        symbols = np.array([-1])
    if len(symbols) != K or symbols.min() < 0 or symbols.max() >= A:
        raise ValueError(f"copy input must be {K} symbols from 0..{A - 1}, e.g. {' '.join(['1'] * K)!r}; got {text!r}")
    return symbols
