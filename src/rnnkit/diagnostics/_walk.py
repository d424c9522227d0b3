"""One forward and backward pass through a Sequential model that keeps what `model.backward`
throws away: every layer's Gradients (with ∂L/∂state at every step) and every recurrent layer's
cell cache, found by walking `model.layers` (Recurrent, Bidirectional, Stack) itself.

Both run on the reference cells (rnnkit.cells): only they report per-step state gradients and
keep the gate values in their caches in a documented layout.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnkit import kernels, losses
from rnnkit.grad_mode import enable_grad
from rnnkit.layers import Bidirectional, Gradients, Recurrent, Stack, reverse_within_lengths


@dataclass
class Pass:
    """The result of `run`: loss, outputs, the model's gradient dict, and per-layer details."""

    loss: float  # the model's whole loss, whatever was differentiated
    y: np.ndarray  # the model output (logits)
    y_lengths: np.ndarray | None
    grads: dict[str, np.ndarray]  # same keys as model.params
    layer_grads: list[Gradients]  # one per model.layers
    units: list["Unit"]


@dataclass
class Unit:
    """One recurrent layer reading in one direction, with its cache and per-step state gradients."""

    label: str  # "lstm", "bidirectional/backward", "stack.1/forward"
    direction: str  # "forward" | "backward" (reading order of this unit)
    layer: Recurrent
    cell_cache: tuple  # the reference cell's forward cache (in reading order)
    lengths: np.ndarray | None  # (B,) or None: every sequence is T long
    steps: tuple[np.ndarray, ...] | None  # ∂L/∂h_t (and ∂L/∂c_t), each (B, T, H), time order

    @property
    def family(self) -> str:
        return self.layer.cell.family

    @property
    def cell(self) -> str:
        return self.layer.display_name

    def in_time_order(self, a: np.ndarray) -> np.ndarray:
        """A (B, T, ...) array in this unit's reading order, put back into time order."""
        return reverse_within_lengths(a, self.lengths) if self.direction == "backward" else a


def float64_copy(model):
    """The model itself if every parameter is float64, else a float64 twin with the same weights:
    rebuilt from get_config() with its 'dtype' set to float64 (Sequential, EncoderDecoder), or,
    for a Model subclass without one, a copy whose layers are set to float64 and built again."""
    if all(p.dtype == np.float64 for p in model.params.values()):
        return model
    try:
        config = dict(model.get_config())
    except NotImplementedError:  # a Model subclass (examples/custom_model.py) need not write one
        config = {}
    if "dtype" in config:
        config["dtype"] = "float64"
        twin = type(model).from_config(config, seed=model.seed)
        twin.build(model.input_shape)
    else:
        twin = _retyped_copy(model)
    for name, p in twin.params.items():
        np.copyto(p, model.params[name])
    return twin


def _cannot_copy(model, reason: str) -> TypeError:
    return TypeError(
        f"gradcheck runs in float64, and {type(model).__name__} has weights of another dtype that it cannot "
        f"copy to float64 ({reason}): build the model with float64 weights (e.g. dtype=np.float64 on each of "
        "its layers), or implement get_config() with a 'dtype' entry and from_config(config, seed)")


def _retyped_copy(model):
    """A deep copy of a model without a usable config, its layers (the attributes that are rnnkit
    layers, also in lists, tuples and dicts) set to float64 and build() called again; accepted
    only if that gave every parameter, under the same name and shape, in float64. Its compiled
    state (the optimizer's buffers) and history are left out: the check never trains."""
    from rnnkit.layers.base import set_dtype
    from rnnkit.models.base import attribute_layers

    skip = {id(model.compiled): None, id(model.history): None}  # deepcopy's memo: these become None
    try:
        twin = copy.deepcopy(model, skip)
        for layer in attribute_layers(twin):
            set_dtype(layer, np.float64)
        twin.build(model.input_shape)
        params = twin.params
    except Exception as error:  # a subclass's own build or copy; said with what to do instead
        raise _cannot_copy(model, f"copying it and building it again raised {type(error).__name__}: {error}") from error
    expected = {k: p.shape for k, p in model.params.items()}
    if {k: p.shape for k, p in params.items()} != expected:
        raise _cannot_copy(model, "a copy built again has other parameters")
    odd = [k for k, p in params.items() if p.dtype != np.float64]
    if odd:
        raise _cannot_copy(model, f"{odd[0]!r} stays {params[odd[0]].dtype} when its layers are set to float64")
    return twin


def loss_function(model, loss=None):
    """The loss to differentiate: `loss` if given, else the one the model was compiled with."""
    if loss is not None:
        return losses.get(loss)
    compiled = getattr(model, "compiled", None)
    if compiled is None:
        raise ValueError("the model is not compiled: pass loss=... (e.g. 'mse') or compile it first")
    return compiled.loss


def check_sequential(model) -> None:
    from rnnkit.models import Sequential

    if not isinstance(model, Sequential):
        raise TypeError(f"diagnostics walk the layers of a Sequential model, got {type(model).__name__}")


def ensure_built(model, x) -> None:
    if not model.built:
        model.build((None, *np.shape(x)[2:]))


def keep_last_step(dy: np.ndarray, y_lengths) -> np.ndarray:
    """A per-step loss gradient (B, T, C) with every step but each sequence's last real one zeroed."""
    B, T = dy.shape[:2]
    last = np.full(B, T - 1) if y_lengths is None else np.asarray(y_lengths) - 1
    kept = np.zeros_like(dy)
    kept[np.arange(B), last] = dy[np.arange(B), last]
    return kept


def run(model, x, y=None, lengths=None, loss=None, last_step_only: bool = False) -> Pass:
    """Forward (training=False, so no dropout) and, if `y` is given, backward on reference cells.
    last_step_only: with an output at every step, differentiate only the last step's loss term."""
    check_sequential(model)
    ensure_built(model, x)
    loss_fn = None if y is None else loss_function(model, loss)
    # An exploding backward pass may overflow: that is a finding (reported as non-finite), not an error.
    with kernels.backend("reference"), enable_grad(), np.errstate(over="ignore", invalid="ignore"):
        out, out_lengths, caches = model.forward(x, lengths=lengths, training=False, rng=None)
        value, layer_grads, grads = float("nan"), [None] * len(model.layers), {}
        if loss_fn is not None:
            value, dy = loss_fn(out, y, out_lengths)
            if last_step_only and np.ndim(out) == 3:
                dy = keep_last_step(dy, out_lengths)
            for i in reversed(range(len(model.layers))):  # what Sequential.backward does
                layer = model.layers[i]
                g = layer.backward(dy, caches[i])
                layer_grads[i] = g
                grads.update({f"{layer.name}.{k}": v for k, v in g.params.items()})
                dy = g.dx
    units = []
    for layer, cache, g in zip(model.layers, caches, layer_grads):
        units.extend(_units(layer, layer.name, cache, None if g is None else g.state_steps))
    return Pass(value, out, out_lengths, grads, layer_grads, units)


def _units(layer, label: str, cache, steps: Any) -> list[Unit]:
    """The recurrent units inside `layer` (none for Dense, Embedding, ...)."""
    if isinstance(layer, Recurrent):
        direction = "backward" if layer.go_backwards else "forward"
        _, cell_cache, _, lengths, _ = cache
        return [Unit(label, direction, layer, cell_cache, lengths, steps)]
    if isinstance(layer, Bidirectional):
        cache_f, cache_b = cache[0], cache[1]
        pick = (lambda d: None) if steps is None else (lambda d: steps[d])
        return [*_units(layer.forward_layer, f"{label}/forward", cache_f, pick("forward")),
                *_units(layer.backward_layer, f"{label}/backward", cache_b, pick("backward"))]
    if isinstance(layer, Stack):
        found = []
        for i, (inner, (_, inner_cache)) in enumerate(zip(layer.layers, cache)):
            name = label if len(layer.layers) == 1 else f"{label}.{i}"
            found.extend(_units(inner, name, inner_cache, None if steps is None else steps[i]))
        return found
    return []
