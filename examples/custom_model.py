"""A model that is not a plain stack: a bidirectional GRU encoder whose outputs are averaged
over each sequence's real steps (mean pooling) and fed to a classifier head. Any object with
params / build / forward / backward / output_lengths gets compile, fit, evaluate and predict
from rnnkit.Model, and also:

    model.summary()                             # a row per part ("encoder.", "head." in params)
    rnnkit.gradcheck(model, x, y, lengths)      # checks backward against central differences

gradcheck runs in float64. A float64 model is checked as it is; for this float32 one it checks a
copy with its layers (the attributes that are rnnkit layers) set to float64 and build() called
again. A model whose build cannot do that (say, weights of its own outside any layer) gets an
error saying so: build it with float64 weights (dtype=np.float64 on its layers and arrays), or
give it get_config() with a "dtype" entry and from_config(config, seed).

    python examples/custom_model.py                # prints the held-out accuracy
"""

from __future__ import annotations

import sys

import numpy as np

from rnnkit import Model
from rnnkit.layers import GRU, Bidirectional, Dense


class MeanPooledClassifier(Model):
    kind = "MeanPooledClassifier"

    def __init__(self, units: int, classes: int, *, seed: int = 0):
        super().__init__(seed=seed)
        self.encoder = Bidirectional(GRU(units, return_sequences=True))
        self.head = Dense(classes)

    def build(self, input_shape):
        rng = np.random.default_rng([self.seed, 0])
        self.input_shape = tuple(input_shape)
        self.encoder.build(input_shape, rng)
        self.head.build((2 * self.encoder.units,), rng)

    @property
    def params(self):
        return {**{f"encoder.{k}": v for k, v in self.encoder.params.items()},
                **{f"head.{k}": v for k, v in self.head.params.items()}}

    def output_lengths(self, x, lengths):
        return None  # one output per sequence

    def forward(self, x, lengths=None, training=False, rng=None):
        hs, enc_cache = self.encoder.forward(x, lengths=lengths)  # (B, T, 2H), zeros past lengths
        n = np.full(len(x), x.shape[1]) if lengths is None else np.asarray(lengths)
        pooled = hs.sum(axis=1) / n[:, None]  # (B, 2H)
        logits, head_cache = self.head.forward(pooled)
        return logits, None, (enc_cache, head_cache, n, hs.shape)

    def backward(self, dy, cache):
        enc_cache, head_cache, n, shape = cache
        g_head = self.head.backward(dy, head_cache)
        d_hs = np.broadcast_to((g_head.dx / n[:, None])[:, None, :], shape)
        g_enc = self.encoder.backward(np.ascontiguousarray(d_hs), enc_cache)
        return {**{f"encoder.{k}": v for k, v in g_enc.params.items()},
                **{f"head.{k}": v for k, v in g_head.params.items()}}


def main(epochs: int = 15) -> float:
    """Label: is the mean of the real steps of a variable-length sequence positive?"""
    rng = np.random.default_rng(0)
    lengths = rng.integers(2, 16, size=800)
    x = rng.normal(size=(800, 15, 1)).astype(np.float32)
    x[np.arange(15)[None, :] >= lengths[:, None]] = 0.0
    y = (x[..., 0].sum(axis=1) > 0).astype(int)
    model = MeanPooledClassifier(8, 2)
    model.compile("adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"], lr=0.01)
    model.fit(x[:600], y[:600], lengths=lengths[:600], epochs=epochs, batch_size=32, verbose=0)
    acc = model.evaluate(x[600:], y[600:], lengths=lengths[600:])["accuracy"]
    print(f"held-out accuracy: {acc:.3f}")
    return acc


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
