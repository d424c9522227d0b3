"""summary(): per layer type, output shape, count and formula; the seed's Keras counts exactly."""

from __future__ import annotations

import numpy as np
import pytest

import rnnkit
from rnnkit import Sequential
from rnnkit.layers import GRU, LSTM, Bidirectional, Dense, Embedding, SimpleRNN, stacked


@pytest.mark.parametrize(
    "recurrent,count,formula",
    [
        (SimpleRNN(32), "2,080", "SimpleRNN one bias: F·H + H·H + H with F=32, H=32"),
        (LSTM(32), "8,320", "LSTM one bias: 4·(F·H + H·H + H) with F=32, H=32"),
        (LSTM(32, bias="two"), "8,448", "LSTM two bias: 4·(F·H + H·H + 2·H) with F=32, H=32"),
        (GRU(32, reset_after=False), "6,240", "GRU reset_before: 3·(F·H + H·H + H) with F=32, H=32"),
        (GRU(32), "6,336", "GRU reset_after: 3·(F·H + H·H + 2·H) with F=32, H=32"),
    ],
)
def test_seed_keras_examples(recurrent, count, formula):
    model = Sequential([Embedding(10000, 32), recurrent], input_shape=(None,))
    text = model.summary(print_fn=None)
    assert "Embedding" in text and "320,000" in text and "V·D with V=10000, D=32" in text
    row = text.splitlines()[5]
    assert count in row and formula in row, row
    total = 320000 + int(count.replace(",", ""))
    assert f"Total params: {total:,}" in text


def test_bidirectional_and_dense_rows():
    model = Sequential([Bidirectional(SimpleRNN(20)), Dense(10)], input_shape=(28, 28))
    text = model.summary(print_fn=None)
    assert "(None, 40)" in text and "2 × SimpleRNN one bias" in text
    assert f"Total params: {2 * (28 * 20 + 20 * 20 + 20) + 40 * 10 + 10:,}" in text


def test_stack_row_gives_each_layer_its_own_input_size():
    # every layer after the first reads the one before it: F=16 (2·8, concat), not the model's 3
    model = Sequential([stacked("gru", 8, num_layers=3, bidirectional=True)], input_shape=(7, 3))
    row = model.summary(print_fn=None).splitlines()[4]
    assert ("[2 × GRU reset_after: 3·(F·H + H·H + 2·H) with F=3, H=8] + "
            "2 × [2 × GRU reset_after: 3·(F·H + H·H + 2·H) with F=16, H=8]") in row, row
    assert f"{2 * 3 * (3 * 8 + 8 * 8 + 16) + 4 * 3 * (16 * 8 + 8 * 8 + 16):,}" in row


def test_summary_before_build_is_a_clear_error():
    with pytest.raises(RuntimeError, match="not built yet"):
        Sequential([LSTM(3)]).summary()


class _Tagger(rnnkit.Model):
    """A Model subclass (the protocol only: params, build, forward, ...), its parts in a list and
    under names that are not its attributes', plus a weight of its own outside any layer."""

    kind = "Tagger"

    def __init__(self):
        super().__init__(seed=0)
        self.parts = [Bidirectional(GRU(3, return_sequences=True)), Dense(2)]
        self.scale = np.ones(2, dtype=np.float32)

    def build(self, input_shape):
        rng = np.random.default_rng(0)
        self.input_shape = tuple(input_shape)
        self.parts[0].build(self.input_shape, rng)
        self.parts[1].build((6,), rng)

    @property
    def params(self):
        enc, head = self.parts
        return {**{f"enc.{k}": v for k, v in enc.params.items()},
                **{f"out.{k}": v for k, v in head.params.items()}, "scale": self.scale}


def test_a_model_subclass_lists_each_part_found_through_its_params():
    # was: AttributeError: 'Tagger' object has no attribute 'layers'
    model = _Tagger()
    model.build((None, 4))
    lines = model.summary(print_fn=None).splitlines()
    assert lines[0] == 'Model: "tagger"'
    assert lines[2].split() == ["Layer", "(type)", "Output", "shape", "Params", "Formula"]
    enc, out, own = lines[4], lines[5], lines[6]
    assert enc.startswith("enc (Bidirectional(GRU))") and "(None, None, 6)" in enc
    assert f"{2 * 3 * (4 * 3 + 3 * 3 + 6):,}" in enc
    assert "2 × GRU reset_after: 3·(F·H + H·H + 2·H) with F=4, H=3" in enc
    assert out.split() == ["out", "(Dense)", "(None,", "2)", "14", "F·U", "+", "U", "with", "F=6,", "U=2"]
    assert own.split() == ["scale", "(?)", "?", "2"]  # no layer holds it: counted, nothing guessed
    assert f"Total params: {model.count_params():,}" in lines[8] and model.count_params() == 162 + 14 + 2


def test_an_unbuilt_model_subclass_still_says_it_is_not_built():
    with pytest.raises(RuntimeError, match="not built yet"):
        _Tagger().summary()
