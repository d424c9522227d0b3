"""Character prediction "hell" -> "ello" (notes seed 002): many-to-many, one class per step.

Data: one word (``-o word=...``, default "hello"); the input is the word without its last character,
the target the word without its first (``rnnkit.datasets.hello``). Train = validation = test:
the task is to memorise the one pair. Model: SimpleRNN -> Dense(V) per step, softmax.
"""

from __future__ import annotations

import numpy as np

from rnnkit import Sequential
from rnnkit.datasets import hello as hello_data
from rnnkit.layers import Dense
from rnnkit.tasks.base import HParams, Option, Split, Task, TaskData, sequential_layers, softmax


class Hello(Task):
    name = "hello"
    pattern = "many-to-many classification (next character)"
    data = "generated from one word"
    size = "1 sequence; T = len(word) - 1, V = distinct characters"
    kind = "classification"
    reference = "notes: 'hell' -> 'ello'"
    predict_example = ("hell",)
    monitor = "val_loss"
    options = (Option("word", "hello", "the word to learn (at least 2 characters)"),)

    def defaults(self, options):
        return dict(cell="rnn", hidden=8, epochs=100, batch_size=1, lr=2e-2, clipnorm=None)

    def load(self, options, seed=0):
        x, y, vocabulary = hello_data.make(options["word"])
        split = Split(x.astype(np.float32), y)
        meta = {"classes": list(vocabulary), "input_shape": [None, len(vocabulary)], "word": options["word"]}
        return TaskData(split, split, split, meta)

    def build_model(self, hp: HParams, meta):
        model = Sequential(sequential_layers(hp, Dense(len(meta["classes"])), return_sequences=True),
                           seed=hp.seed, dtype=np.float32, input_shape=tuple(meta["input_shape"]))
        return self.compile(model, hp, "sparse_categorical_crossentropy", ["accuracy"])

    def encode_inputs(self, inputs, meta):
        vocabulary = meta["classes"]
        rows = []
        for s in inputs:
            bad = sorted(set(s) - set(vocabulary))
            if not s or bad:
                raise ValueError(f"hello input must use only the characters {''.join(vocabulary)!r}, got {s!r}")
            rows.append(np.eye(len(vocabulary), dtype=np.float32)[[vocabulary.index(c) for c in s]])
        lengths = np.array([len(r) for r in rows])
        x = np.zeros((len(rows), lengths.max(), len(vocabulary)), np.float32)
        for i, r in enumerate(rows):
            x[i, : len(r)] = r
        return x, lengths

    def decode_outputs(self, outputs, inputs, meta, top_k=3):
        vocabulary = meta["classes"]
        lines = []
        for s, out in zip(inputs, outputs):
            p = softmax(np.asarray(out[: len(s)], np.float64))
            text = "".join(vocabulary[i] for i in p.argmax(-1))
            lines.append(f"{s} -> {text}  (next after the last: {vocabulary[p[-1].argmax()]} {p[-1].max():.2f})")
        return lines
