"""Many-to-one on sequences of different lengths: surname → language, on ai-edu's 10-language
names shipped with rnnkit. Names are padded one-hot batches (B, T, V) with their `lengths`, so
the recurrent layer stops at each name's last letter; a bidirectional GRU reads both ways.

    python examples/names_classifier.py            # prints the accuracy on unseen names, beside
                                                   # always guessing the most common language:
                                                   # held-out accuracy: 0.754 (majority class: 0.226)
                                                   # Nakamura -> Japanese (1.00)
                                                   # Rossi -> Italian (0.95)
"""

from __future__ import annotations

import sys

import numpy as np

from rnnkit import Sequential, softmax
from rnnkit.datasets import names
from rnnkit.layers import GRU, Bidirectional, Dense


def main(epochs: int = 6) -> float:
    data = names.load("aiedu10", test_fraction=0.2, seed=0)
    x_train, len_train = data.one_hot("train", dtype=np.float32)  # (B, T, V), zero past each length
    x_test, len_test = data.one_hot("test", dtype=np.float32)

    model = Sequential([Bidirectional(GRU(32)), Dense(len(data.classes))], seed=0)
    model.compile("adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"], lr=0.01, clipnorm=1.0)
    model.fit(x_train, data.train.labels, lengths=len_train, epochs=epochs, batch_size=32, verbose=0)

    acc = model.evaluate(x_test, data.test.labels, lengths=len_test)["accuracy"]
    majority = np.bincount(data.test.labels).max() / len(data.test.labels)  # what always guessing gets
    print(f"held-out accuracy: {acc:.3f} (majority class: {majority:.3f})")

    # Raw user input goes through the data set's own normalisation and alphabet.
    typed = ["Nakamura", "Rossi"]
    x, lengths = names.encode_names(typed, dtype=np.float32)
    probs = softmax(model.predict(x, lengths=lengths))  # (B, C): the model outputs logits
    for name, p in zip(typed, probs):
        print(f"{name} -> {data.classes[p.argmax()]} ({p.max():.2f})")
    return acc


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
