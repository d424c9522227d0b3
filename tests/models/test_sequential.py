"""Sequential.forward: what it hands its layers."""

from __future__ import annotations

import numpy as np

import rnnkit
from rnnkit.layers import Dropout


def test_an_int_seed_gives_the_layers_one_stream_not_one_seed_each():
    # with the seed handed on as an int, both Dropout layers drew the same mask: half kept, not a quarter
    model = rnnkit.Sequential([Dropout(0.5), Dropout(0.5)], input_shape=(40, 50), seed=0)
    y, _, _ = model.forward(np.ones((4, 40, 50), np.float32), training=True, rng=3)
    assert abs(np.mean(y != 0) - 0.25) < 0.02  # 8,000 draws: the standard error is 0.005
    again, _, _ = model.forward(np.ones((4, 40, 50), np.float32), training=True, rng=3)
    assert np.array_equal(y, again)
