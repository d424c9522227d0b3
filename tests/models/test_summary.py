"""summary(): per layer type, output shape, count and formula; the seed's Keras counts exactly."""

from __future__ import annotations

import pytest

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
