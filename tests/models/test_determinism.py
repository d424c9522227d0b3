"""Same seed, same model, in another process too: every random part of training at once
(shuffling, validation_split, bucketed batches, dropout, weight noise, averaging), compared by
the bytes of the saved file (weights, optimizer state, history)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np

import rnnkit

SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import rnnkit
    from rnnkit.layers import GRU, LSTM, Bidirectional, Dense, Dropout

    rng = np.random.default_rng(1)
    lengths = rng.integers(2, 7, size=40)
    x = rng.normal(size=(40, 6, 2)).astype(np.float32)
    y = (x[np.arange(40), lengths - 1, 0] > 0).astype(int)
    model = rnnkit.Sequential([Bidirectional(LSTM(4, return_sequences=True)), Dropout(0.3), GRU(3), Dense(2)],
                              seed=11)
    model.compile("adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"], lr=0.02,
                  weight_noise=0.02, ema=0.9)
    model.fit(x, y, lengths=lengths, epochs=3, batch_size=8, validation_split=0.25, batching="bucket",
              verbose=0)
    model.save(sys.argv[1])
""")


def _train_in_a_new_process(path, hash_seed: str) -> bytes:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}  # set and dict orders differ between the two
    subprocess.run([sys.executable, "-c", SCRIPT, str(path)], check=True, env=env, timeout=300)
    return path.read_bytes()


def test_two_processes_train_the_same_file_byte_for_byte(tmp_path):
    first = _train_in_a_new_process(tmp_path / "a.safetensors", "1")
    second = _train_in_a_new_process(tmp_path / "b.safetensors", "2")
    assert first == second
    model = rnnkit.load(tmp_path / "a.safetensors")
    assert model.epochs_trained == 3 and set(model.history.history) == {"loss", "accuracy", "val_loss",
                                                                        "val_accuracy"}
    assert all(np.isfinite(v).all() for v in model.params.values())
