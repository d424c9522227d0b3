"""Surname -> language (notes seed 002): many-to-one classification of variable-length names.

Data: ``rnnkit.datasets.names`` — the 10 languages and 4,400 names the notes used (``aiedu10``,
the default) or the 18 languages of the PyTorch tutorial (``all18``). Names are deduplicated
before the split, so no test name is a training name. The held-out test set (20 % of each
language, fixed by ``-o split-seed=N``) is never trained on; 10 % of the remaining names, stratified
by language, are the validation set that picks the best checkpoint.

Model: one-hot characters (V = 29) -> input dropout (a character-noise regulariser) -> GRU
(two layers for all18) -> dropout -> Dense(C) on the last real step, softmax cross-entropy. Sequences are padded with lengths or bucketed by length (``--batching``).
"""

from __future__ import annotations

import numpy as np

from rnnkit import Sequential
from rnnkit.datasets import names as names_data
from rnnkit.layers import Dense
from rnnkit.tasks.base import (HParams, Option, Split, Task, TaskData, sequential_layers, softmax, stratified_split,
                               top_k_text)


class Names(Task):
    name = "names"
    pattern = "many-to-one classification, variable length"
    data = "surnames by language (ai-edu subset, PyTorch tutorial)"
    size = "aiedu10: 4,400 names / 10 languages; all18: 20,074 lines -> 17.4k unique / 18; T <= 20, V = 29"
    kind = "classification"
    reference = "notes: 73.9 % (best, on training data); PyTorch 1-layer LSTM/GRU held out: 68-72 % / 79-82 %"
    predict_example = ("Nakamura", "Schmidt")
    monitor = "val_accuracy"
    options = (
        Option("subset", "aiedu10", "aiedu10 (the notes' 10 languages) or all18", ("aiedu10", "all18")),
        Option("split_seed", 0, "seed of the train/test split of the names", type=int),
    )

    def defaults(self, options):
        common = dict(cell="gru", input_dropout=0.2, epochs=24, batch_size=32, lr=2e-3, lr_decay=0.93)
        if options["subset"] == "all18":
            return dict(common, hidden=192, layers=2, dropout=0.4)
        return dict(common, hidden=128, layers=1, dropout=0.3)

    def load(self, options, seed=0):
        d = names_data.load(options["subset"], test_fraction=0.2, seed=options["split_seed"])
        V = len(d.alphabet)
        train_x, train_len = d.one_hot("train", np.float32)
        test_x, test_len = d.one_hot("test", np.float32)
        keep, held = stratified_split(d.train.labels, 0.1, np.random.default_rng([seed, 7]))

        def part(x, lengths, labels, index, names):
            index = np.arange(len(labels)) if index is None else index
            T = int(lengths[index].max())
            return Split(x[index, :T], labels[index], lengths[index], {"names": [names[i] for i in index]})

        meta = {"classes": list(d.classes), "alphabet": d.alphabet, "fold_ascii": d.fold_ascii,
                "input_shape": [None, V], "subset": options["subset"]}
        return TaskData(
            train=part(train_x, train_len, d.train.labels, keep, d.train.names),
            val=part(train_x, train_len, d.train.labels, held, d.train.names),
            test=part(test_x, test_len, d.test.labels, None, d.test.names),
            meta=meta,
        )

    def build_model(self, hp: HParams, meta):
        layers = sequential_layers(hp, Dense(len(meta["classes"])), return_sequences=False)
        model = Sequential(layers, seed=hp.seed, dtype=np.float32, input_shape=tuple(meta["input_shape"]))
        return self.compile(model, hp, "sparse_categorical_crossentropy", ["accuracy"])

    def encode_inputs(self, inputs, meta):
        return names_data.encode_names(inputs, fold_ascii=meta["fold_ascii"], dtype=np.float32)

    def decode_outputs(self, outputs, inputs, meta, top_k=3):
        probabilities = softmax(np.asarray(outputs, np.float64))
        width = max(len(s) for s in inputs)
        return [f"{name:<{width}}  {top_k_text(p, meta['classes'], top_k)}" for name, p in zip(inputs, probabilities)]
