"""Copying weights between rnnkit stacks and torch.nn.RNN/LSTM/GRU (test helper)."""

from __future__ import annotations

import numpy as np

from rnnkit.layers import Bidirectional, CellSpec, stacked

TORCH_CLASS = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


def make_pair(torch, family: str, F: int, H: int, num_layers: int, bidirectional: bool,
              activation: str = "tanh", seed: int = 0):
    """A float64 torch module and an rnnkit Stack holding the same weights."""
    torch.manual_seed(seed)
    kwargs = {"nonlinearity": activation} if family == "rnn" else {}
    module = getattr(torch.nn, TORCH_CLASS[family])(
        F, H, num_layers=num_layers, bidirectional=bidirectional, batch_first=True, **kwargs
    ).double()
    spec = CellSpec(family, bias="two", activation=activation)
    ours = stacked(spec, H, num_layers, bidirectional=bidirectional, return_state=True,
                   dtype=np.float64, init="torch")
    ours.build((None, F), rng=0)
    for layer_index, layer in enumerate(ours.layers):
        directions = [("", layer.forward_layer), ("_reverse", layer.backward_layer)] \
            if isinstance(layer, Bidirectional) else [("", layer)]
        for suffix, recurrent in directions:
            p = recurrent.params
            get = lambda name: getattr(module, f"{name}_l{layer_index}{suffix}").detach().numpy()  # noqa: E731
            np.copyto(p["W_x"], get("weight_ih").T)
            np.copyto(p["W_h"], get("weight_hh").T)
            np.copyto(p["b_x"], get("bias_ih"))
            np.copyto(p["b_h"], get("bias_hh"))
    return module, ours


def torch_grad_as_ours(module, ours) -> dict[str, np.ndarray]:
    """The torch module's parameter gradients under rnnkit's parameter names and layout."""
    grads = {}
    for layer_index, layer in enumerate(ours.layers):
        prefixes = [("", "forward."), ("_reverse", "backward.")] if isinstance(layer, Bidirectional) else [("", "")]
        for suffix, prefix in prefixes:
            grad = lambda name: getattr(module, f"{name}_l{layer_index}{suffix}").grad.numpy()  # noqa: E731
            key = f"{layer_index}.{prefix}"
            grads[key + "W_x"] = grad("weight_ih").T
            grads[key + "W_h"] = grad("weight_hh").T
            grads[key + "b_x"] = grad("bias_ih")
            grads[key + "b_h"] = grad("bias_hh")
    return grads


def split_state(flat: np.ndarray, num_layers: int, directions: int):
    """torch's (L·D, B, H) state -> per layer: array, or (forward, backward) pair."""
    per_layer = []
    for layer in range(num_layers):
        parts = [flat[layer * directions + d] for d in range(directions)]
        per_layer.append(parts[0] if directions == 1 else tuple(parts))
    return per_layer
