"""Every cell variant the core supports, for tests that sweep them all."""

from rnnkit.layers import CellSpec

VARIANTS = {
    "rnn-tanh": CellSpec("rnn", activation="tanh"),
    "rnn-relu-2bias": CellSpec("rnn", activation="relu", bias="two"),
    "rnn-sigmoid": CellSpec("rnn", activation="sigmoid"),
    "lstm-1bias": CellSpec("lstm", bias="one"),
    "lstm-2bias": CellSpec("lstm", bias="two"),
    "gru-reset-after": CellSpec("gru", reset_after=True),
    "gru-reset-before": CellSpec("gru", reset_after=False),
    "gru-reset-before-2bias": CellSpec("gru", reset_after=False, bias="two"),
}
