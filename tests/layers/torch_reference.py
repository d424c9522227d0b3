"""Copying weights between rnnkit stacks and torch.nn.RNN/LSTM/GRU (test helper)."""

from __future__ import annotations

import numpy as np

from rnnkit.layers import Bidirectional, CellSpec, Stack, stacked

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


def copy_to_torch(torch, layer, module, layer_index: int = 0) -> None:
    """Overwrite the torch module's weights of one layer with those of our Recurrent or
    Bidirectional `layer`. A one-bias layer (Keras' layout) is torch's cell with bias_ih = b and
    bias_hh = 0: the two biases only ever appear summed."""
    directions = [("", layer.forward_layer), ("_reverse", layer.backward_layer)] \
        if isinstance(layer, Bidirectional) else [("", layer)]
    with torch.no_grad():
        for suffix, recurrent in directions:
            p = recurrent.params
            get = lambda name: getattr(module, f"{name}_l{layer_index}{suffix}")  # noqa: E731
            get("weight_ih").copy_(torch.from_numpy(p["W_x"].T))
            get("weight_hh").copy_(torch.from_numpy(p["W_h"].T))
            get("bias_ih").copy_(torch.from_numpy(p["b"] if "b" in p else p["b_x"]))
            if "b" in p:
                get("bias_hh").zero_()
            else:
                get("bias_hh").copy_(torch.from_numpy(p["b_h"]))


def torch_grad_as_ours(module, ours) -> dict[str, np.ndarray]:
    """The torch module's parameter gradients under rnnkit's parameter names and layout; `ours` is
    a Stack, or one Recurrent or Bidirectional layer (torch's layer 0)."""
    grads = {}
    is_stack = isinstance(ours, Stack)
    for layer_index, layer in enumerate(ours.layers if is_stack else [ours]):
        prefixes = [("", "forward."), ("_reverse", "backward.")] if isinstance(layer, Bidirectional) else [("", "")]
        for suffix, prefix in prefixes:
            grad = lambda name: getattr(module, f"{name}_l{layer_index}{suffix}").grad.numpy()  # noqa: E731
            key = f"{layer_index}.{prefix}" if is_stack else prefix
            grads[key + "W_x"] = grad("weight_ih").T
            grads[key + "W_h"] = grad("weight_hh").T
            if key + "b" in ours.params:  # one bias: ∂L/∂b = ∂L/∂bias_ih (= ∂L/∂bias_hh)
                grads[key + "b"] = grad("bias_ih")
            else:
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
