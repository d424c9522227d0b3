"""Polyphonic music (Chung et al. 2014, cited by notes seed 003): predict the next frame of a
piano roll, 88 independent Bernoulli outputs per step (many-to-many).

Data: the Boulanger-Lewandowski splits of JSB Chorales and Nottingham
(``rnnkit.datasets.polyphonic``): the official train / valid / test sets. Sequence b of T_b
frames gives T_b - 1 steps, x = frames[:-1], y = frames[1:].
Model: recurrent layer(s) -> dropout -> Dense(88) per step, sigmoid cross-entropy.
Metric: ``nll``, the negative log-likelihood per frame summed over the 88 keys, in nats,
averaged over every predicted frame of the split (Chung et al. 2014, Table 2).
"""

from __future__ import annotations

import numpy as np

from rnnkit import Sequential
from rnnkit.datasets import polyphonic as poly
from rnnkit.layers import Dense
from rnnkit.tasks.base import HParams, Split, Task, TaskData, sequential_layers, sigmoid

_INFO = {
    "jsb-chorales": dict(dataset="jsb_chorales", size="229 / 76 / 77 chorales, 13.8k train frames, T <= 160",
                         reference="Chung et al. 2014 test NLL: GRU 8.54, LSTM 8.67, tanh 9.10"),
    "nottingham": dict(dataset="nottingham", size="694 / 173 / 170 tunes, 177k train frames, T <= 1,793",
                       reference="Chung et al. 2014 test NLL: GRU 3.23, LSTM 3.20, tanh 3.13"),
}


def _parse_frames(text: str) -> np.ndarray:
    """'60,64,67 62,65' -> (T, 88) 0/1 frames (MIDI pitches 21..108; '-' or '' is a silent frame)."""
    frames = []
    for chunk in text.split():
        frame = np.zeros(poly.NUM_KEYS, np.float32)
        for p in filter(None, chunk.strip("-").split(",")):
            try:
                pitch = int(p)
            except ValueError:
                pitch = -1
            if not poly.LOWEST_PITCH <= pitch < poly.LOWEST_PITCH + poly.NUM_KEYS:
                # the example shows both separators: a user who typed a word has seen neither
                raise ValueError(f"frames must hold MIDI pitches 21..108 separated by commas, frames separated by "
                                 f"spaces (e.g. '60,64,67 62,65'), got {p!r} in {text!r}")
            frame[pitch - poly.LOWEST_PITCH] = 1
        frames.append(frame)
    if not frames:
        raise ValueError(f"give frames as pitch lists separated by spaces, e.g. '60,64,67 62,65', got {text!r}")
    return np.stack(frames)


class Polyphonic(Task):
    kind = "density"
    pattern = "many-to-many, 88 Bernoulli outputs (next frame)"
    monitor = "val_loss"

    def __init__(self, name: str):
        info = _INFO[name]
        self.name = name
        self.dataset = info["dataset"]
        self.data = f"{name} piano rolls, Boulanger-Lewandowski et al. 2012 splits"
        self.size = info["size"]
        self.reference = info["reference"]
        self.predict_example = ("60,64,67 62,65 60,64,67",)

    def defaults(self, options):
        # Batch 1: one piece per update, every piece at its own length (no padding).
        # Patience 11 and 16: the runs in RESULTS.md stopped after 11 (16) epochs without
        # improvement, under EarlyStopping's count before it followed Keras's (patience=10 then).
        if self.dataset == "nottingham":
            # Of the 1- and 2-layer models tried (RESULTS.md), two wide layers with strong dropout
            # generalised best; one layer overfits without dropout and learns too slowly with it.
            # Validating a running average of the weights lowered every cell's best validation
            # NLL (LSTM 3.140 -> 3.133, GRU 3.160 -> 3.121, tanh 3.17 -> 3.151).
            # (GRU and tanh RNN: see cell_defaults.)
            return dict(cell="lstm", hidden=256, layers=2, dropout=0.4, epochs=50, batch_size=1, lr=2e-3,
                        lr_decay=0.97, patience=11, ema=0.999)
        # Validating and keeping a running average of the weights gained 0.016-0.032 nats per cell.
        return dict(cell="lstm", hidden=128, dropout=0.3, epochs=100, batch_size=1, lr=1e-3, patience=11, ema=0.995)

    def cell_defaults(self, cell, options):
        if self.dataset != "nottingham" or cell == "lstm":
            return {}
        # The GRU and the tanh RNN did best with a lower learning rate and tighter clipping (at
        # the LSTM's 2e-3 and 5 their validation NLL jumps every few epochs). The LSTM is better
        # without the lower rate. The tanh RNN overfits from about epoch 30 whatever its dropout;
        # decoupled weight decay (AdamW 0.05) is what held it back: validation 3.140 -> 3.101 at
        # 2 x 320 with light dropout, a slower decay and a lower rate.
        recipe = dict(dropout=0.3, lr=1e-3, clipnorm=1.0)
        if cell == "rnn":
            recipe.update(hidden=320, dropout=0.15, lr=7e-4, epochs=80, lr_decay=0.98, patience=16,
                          optimizer="adamw", weight_decay=0.05)
        return recipe

    def load(self, options, seed=0):
        rolls = poly.load(self.dataset)
        parts = {}
        for split, key in (("train", "train"), ("val", "valid"), ("test", "test")):
            x, y, lengths = poly.next_frame_pairs(rolls[key], dtype=np.float32)
            parts[split] = Split(x, y, lengths)
        return TaskData(parts["train"], parts["val"], parts["test"], {"input_shape": [None, poly.NUM_KEYS]})

    def build_model(self, hp: HParams, meta):
        layers = sequential_layers(hp, Dense(poly.NUM_KEYS), return_sequences=True)
        model = Sequential(layers, seed=hp.seed, dtype=np.float32, input_shape=tuple(meta["input_shape"]))
        return self.compile(model, hp, "binary_crossentropy", ["bernoulli_nll"])

    def evaluate(self, model, data, split="test"):
        logs = super().evaluate(model, data, split)
        return {"nll": logs["bernoulli_nll"], "loss": logs["loss"]}

    def encode_inputs(self, inputs, meta):
        rolls = [_parse_frames(s) for s in inputs]
        lengths = np.array([len(r) for r in rolls])
        x = np.zeros((len(rolls), lengths.max(), poly.NUM_KEYS), np.float32)
        for i, r in enumerate(rolls):
            x[i, : len(r)] = r
        return x, lengths

    def decode_outputs(self, outputs, inputs, meta, top_k=3):
        lines = []
        for s, out in zip(inputs, outputs):
            T = len(s.split())
            p = sigmoid(np.asarray(out[T - 1], np.float64))
            order = np.argsort(-p)[:top_k]
            likely = ", ".join(f"{k + poly.LOWEST_PITCH} {p[k]:.2f}" for k in order)
            lines.append(f"{s}  ->  next frame, most likely pitches: {likely}")
        return lines
