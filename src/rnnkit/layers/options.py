"""Constructor options a layer does not take. Keras users write LSTM(32, dropout=0.2) or
Dense(8, input_dim=4); Python's own error for those reads "Layer.__init__() got an unexpected
keyword argument", naming neither the layer nor what rnnkit does instead. This says both."""

from __future__ import annotations

_DROPOUT = ("rnnkit drops between layers only, never on the recurrent h_{t-1} -> h_t path (seed 003): put a "
            "Dropout layer between layers, or use stacked(..., dropout=p)")
_INITIALIZER = ("recurrent layers take init='keras' (glorot_uniform, orthogonal, zeros) or init='torch' "
                "(U(±1/√H)); for anything else set the arrays in layer.params after build")
_SHAPE = ("layers build from the first input they see; to fix the shape up front give one sample's shape, "
          "without the batch axis, to the model: Sequential([...], input_shape=(T, F))")
_BACKEND = "nothing to choose: inputs are batch first (B, T, F), and rnnkit.set_backend picks the implementation"
_NO_REGULARIZERS = "rnnkit has no per-layer regularizers or constraints (see compile's clipnorm and weight_noise)"

KERAS_HINTS = {
    "dropout": _DROPOUT,
    "recurrent_dropout": _DROPOUT,
    "activation": ("LSTM and GRU always use tanh, with sigmoid gates; SimpleRNN takes activation='tanh' | 'relu' "
                   "| 'sigmoid'; elsewhere add an Activation layer"),
    "recurrent_activation": "the gates of LSTM and GRU always use the sigmoid",
    "use_bias": "layers always have biases (recurrent layers: bias='one' as in Keras, 'two' as in PyTorch)",
    "kernel_initializer": _INITIALIZER,
    "recurrent_initializer": _INITIALIZER,
    "bias_initializer": _INITIALIZER,
    "embeddings_initializer": "Embedding draws U(±0.05), Keras' default; set layer.params['E'] after build",
    "stateful": ("layers keep nothing between calls: pass return_state's final state as the next call's "
                 "initial_state, or run the model step by step (model.step)"),
    "unroll": _BACKEND,
    "time_major": _BACKEND,
    "implementation": _BACKEND,
    "use_cudnn": _BACKEND,
    "input_shape": _SHAPE,
    "batch_input_shape": _SHAPE,
    "input_dim": _SHAPE,
    "input_length": _SHAPE,
    "backward_layer": "Bidirectional builds its backward layer from layer's own config, with go_backwards flipped",
    "noise_shape": "Dropout drops every element independently",
}
# PyTorch's names for the same things (nn.LSTM(..., batch_first=True, nonlinearity="relu"))
TORCH_HINTS = {
    "batch_first": "inputs are always batch first, (B, T, F)",
    "nonlinearity": "the simple RNN's is activation='tanh' | 'relu' | 'sigmoid'",
    "hidden_size": "the layer's size is `units` (stacked: its second argument)",
    "input_size": "layers build from the first input they see (or the model's input_shape)",
    "proj_size": "rnnkit's LSTM has no projection of h_t",
}
for _kind in ("kernel", "recurrent", "bias", "activity", "embeddings"):
    KERAS_HINTS[f"{_kind}_regularizer"] = _NO_REGULARIZERS
    KERAS_HINTS[f"{_kind}_constraint"] = _NO_REGULARIZERS


def refuse_unknown(what: str, options: dict) -> None:
    """A TypeError naming the layer and the first option it does not take (with what to do instead,
    for Keras' and PyTorch's options); nothing if `options` is empty."""
    if not options:
        return
    name = next(iter(options))
    for library, hints in (("Keras'", KERAS_HINTS), ("PyTorch's", TORCH_HINTS)):
        if name in hints:
            raise TypeError(f"{what} does not take {library} {name}=: {hints[name]}")
    raise TypeError(f"{what} got an unexpected option {name!r}")
