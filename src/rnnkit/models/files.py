"""Model files: one safetensors file holding the weights ("params/<name>"), optionally the
optimizer state ("optimizer/<key>"), and in its metadata the architecture, the compile settings,
the seed, the epochs trained and the history. Written atomically by rnnkit.io; never pickle."""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextlib import contextmanager

import numpy as np

from rnnkit import io
from rnnkit.training import History

FORMAT = "rnnkit-model"


def _model_types():
    from rnnkit.models.sequential import Sequential

    types = {Sequential.kind: Sequential}
    try:
        from rnnkit.models.seq2seq import EncoderDecoder
    except ImportError:
        pass
    else:
        types[EncoderDecoder.kind] = EncoderDecoder
    return types


def save_model(model, path: str | os.PathLike, *, include_optimizer: bool = True) -> None:
    if not model.built:
        raise RuntimeError("the model is not built yet: fit, predict or build it before saving")
    tensors = {f"params/{k}": v for k, v in model.params.items()}
    with_optimizer = include_optimizer and model.compiled is not None
    if with_optimizer:
        tensors.update({f"optimizer/{k}": v for k, v in model.compiled.optimizer.state_dict().items()})
    try:
        config = model.get_config()
    except NotImplementedError:  # a Model subclass without get_config: its weights are still saved
        config = None
    metadata = {
        "format": FORMAT,
        "model": {"type": model.kind, "config": config,
                  "input_shape": list(model.input_shape)},
        "seed": model.seed,
        "epochs_trained": model.epochs_trained,
        "history": model.history.to_dict(),
        "compile": _compile_record(model, required=with_optimizer),
        "optimizer_state": with_optimizer,
    }
    io.save_file(path, tensors, metadata)


def _compile_record(model, *, required: bool) -> dict | None:
    """The compile settings as JSON (None for an uncompiled model). An optimizer that cannot be
    written (a plain-callable lr) refuses a save that includes its state; save_weights (the
    weights only, as in Keras) still writes the file, recording the model as uncompiled."""
    if model.compiled is None:
        return None
    try:
        optimizer = model.compiled.optimizer.config()
    except ValueError:
        if required:
            raise
        return None
    return {**model.compile_config, "optimizer": optimizer}


def _split(tensors: dict[str, np.ndarray], path):
    params = {k[len("params/") :]: v for k, v in tensors.items() if k.startswith("params/")}
    opt = {k[len("optimizer/") :]: v for k, v in tensors.items() if k.startswith("optimizer/")}
    for name in sorted(tensors):
        if not name.startswith(("params/", "optimizer/")):
            raise io.ModelFileError(f"model file {os.fspath(path)!r} has unexpected tensor {name!r}")
    return params, opt


def _assign(model, params: dict[str, np.ndarray], path) -> None:
    expected = {k: (v.shape, v.dtype) for k, v in model.params.items()}
    io.check_tensors(expected, params, what=f"model file {os.fspath(path)!r}:")
    for k, v in model.params.items():
        np.copyto(v, params[k])  # in place: layers and optimizers hold these very arrays


@contextmanager
def _metadata_errors(path):
    """A file that passed its checksum but whose metadata does not describe a model rnnkit can
    rebuild (a key missing, a wrong type, an invalid option) is a bad model file, said as such."""
    try:
        yield
    except (io.ModelFileError, _CustomObjectError):
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise io.ModelFileError(f"{os.fspath(path)!r} holds model metadata that rnnkit cannot read "
                                f"({type(e).__name__}: {e})") from e


def _require_model(meta: dict, path) -> None:
    if meta.get("format") != FORMAT:
        raise io.ModelFileError(f"{os.fspath(path)!r} is an rnnkit file but not a saved model")
    with _metadata_errors(path):
        _check_metadata(meta)


def _is_int(value, least: int) -> bool:
    return type(value) is int and value >= least


def _check_metadata(meta: dict) -> None:
    """The fields that load() would otherwise take on trust (a None seed would silently draw a
    fresh one, a float epoch count would be truncated); the architecture is checked by building it."""
    model = meta["model"]
    if not isinstance(model, dict) or not isinstance(model["type"], str):
        raise TypeError("'model' must be an object with a string 'type'")
    shape = model["input_shape"]
    if not isinstance(shape, list) or not all(d is None or _is_int(d, 1) for d in shape):
        raise ValueError(f"input_shape must be a list of positive integers or nulls, got {shape!r}")
    for key in ("seed", "epochs_trained"):
        if not _is_int(meta[key], 0):
            raise ValueError(f"{key} must be an integer >= 0, got {meta[key]!r}")
    if not isinstance(meta.get("optimizer_state", False), bool):
        raise TypeError(f"optimizer_state must be true or false, got {meta['optimizer_state']!r}")
    history = meta["history"]
    if not isinstance(history, dict) or not isinstance(history.get("history", {}), dict):
        raise TypeError("history must be an object with a 'history' object")
    if not isinstance(history.get("epochs", []), list) or not all(_is_int(e, 0) for e in history.get("epochs", [])):
        raise ValueError("history epochs must be a list of integers >= 0")
    for key, values in history.get("history", {}).items():
        if not isinstance(values, list) or not all(v is None or type(v) in (int, float) for v in values):
            raise ValueError(f"history[{key!r}] must be a list of numbers")


def _architecture(meta: dict, path):
    spec = meta["model"]
    types = _model_types()
    if spec["type"] not in types:
        raise io.ModelFileError(
            f"{os.fspath(path)!r} holds a model of type {spec['type']!r}, which rnnkit.load cannot rebuild "
            f"(it rebuilds {', '.join(sorted(types))}); create that model and call its load_weights(path)")
    try:
        model = types[spec["type"]].from_config(spec["config"], seed=meta["seed"])
        model.build(tuple(spec["input_shape"]))
    except MemoryError:
        raise io.ModelFileError(f"{os.fspath(path)!r} describes a model too large to build in memory") from None
    return model


def _load_optimizer_state(model, optimizer, state: dict[str, np.ndarray]) -> None:
    """Restore the optimizer, checking its buffers against the model's parameters now rather
    than failing (or silently training in another dtype) at the first fit."""
    optimizer.load_state_dict(state)
    for key, slots in optimizer.state.items():
        if key not in model.params:
            raise ValueError(f"optimizer state for {key!r}, which is not a parameter of the model")
        param = model.params[key]
        for slot, array in slots.items():
            if slot != "step" and (array.shape != param.shape or array.dtype != param.dtype):
                raise ValueError(f"optimizer state {key}/{slot} is {io._describe(array.shape, array.dtype)}, "
                                 f"expected {io._describe(param.shape, param.dtype)}")


class _CustomObjectError(TypeError):
    """A custom_objects entry of the wrong kind: the caller's mistake, not a bad file."""


def _resolve(custom_objects: dict, name: str, what: str, path, lookup, convert):
    """What compile gets for a name the file records: the user's object (custom_objects, looked at
    first, as in Keras) or the name itself where it is rnnkit's (compile then records it exactly
    as before). A name that is neither is refused with the ways to get the model back: a loss or
    metric of the user's own is saved by name only."""
    if name in custom_objects:
        return convert(custom_objects[name], name)
    try:
        lookup(name)
    except ValueError:
        raise io.ModelFileError(
            f"{os.fspath(path)!r} was compiled with the {what} {name!r}, which is not one of rnnkit's, so "
            f"rnnkit.load cannot rebuild it alone: give it, as rnnkit.load(path, custom_objects={{{name!r}: ...}}); "
            f"or create and compile the model, then call its load_weights(path) (this restores the weights "
            f"only, not the optimizer state)") from None
    return name


def _custom_loss(value, name: str):
    """A loss instance as compile takes it; a Loss class is instantiated without arguments (Keras)."""
    from rnnkit.losses import Loss

    if isinstance(value, type) and issubclass(value, Loss):
        value = value()
    if not isinstance(value, Loss):
        raise _CustomObjectError(f"custom_objects[{name!r}] is the file's loss, so it must be an rnnkit.losses.Loss "
                                 f"instance or subclass, got {type(value).__name__}")
    return value


def _custom_metric(value, name: str):
    """A metric function as compile takes it, logged under the file's name: the history, and
    the callbacks' `monitor`, go on under that name whatever the function is called."""
    if isinstance(value, type):  # a metric class, instantiated without arguments (Keras)
        value = value()
    if not callable(value):
        raise _CustomObjectError(f"custom_objects[{name!r}] is one of the file's metrics, so it must be a function "
                                 f"(pred, target, lengths=None) -> float, got {type(value).__name__}")
    if getattr(value, "__name__", type(value).__name__) == name:
        return value

    def metric(pred, target, lengths=None):
        return value(pred, target, lengths)

    metric.__name__ = metric.__qualname__ = name
    return metric


def _checked_custom_objects(custom_objects) -> dict:
    if custom_objects is None:
        return {}
    if not isinstance(custom_objects, Mapping) or not all(isinstance(k, str) for k in custom_objects):
        raise TypeError("custom_objects must be a dict of name -> metric function or loss (instance or class), "
                        f"the names the file was compiled with, got {type(custom_objects).__name__}")
    return dict(custom_objects)


def _compile(model, compile_config: dict | None, path, custom_objects: dict):
    """Compile as the file says; returns the optimizer (None for a model saved uncompiled)."""
    if compile_config is None:
        return None
    from rnnkit import losses, metrics, optim

    loss = _resolve(custom_objects, compile_config["loss"], "loss", path, losses.get, _custom_loss)
    names = compile_config["metrics"]
    chosen = [_resolve(custom_objects, name, "metric", path, metrics.get, _custom_metric)
              for name in ([names] if isinstance(names, str) else names)]
    optimizer = optim.from_config(compile_config["optimizer"])
    model.compile(optimizer, loss=loss, metrics=chosen,
                  clipnorm=compile_config["clipnorm"], clipvalue=compile_config["clipvalue"],
                  weight_noise=compile_config.get("weight_noise", 0.0))
    return optimizer


def load(path: str | os.PathLike, *, custom_objects=None):
    """Rebuild a saved model: architecture, weights, compile settings, optimizer state, history.

    custom_objects: as in Keras, {name: object} for the losses and metrics of the user's own that
    the file names (it saves them by name only): a metric function (or class), a loss instance
    (or a rnnkit.losses.Loss subclass, instantiated without arguments); they are looked up
    before rnnkit's names, e.g. rnnkit.load(path, custom_objects={"top1": top1, "MyLoss": MyLoss()}).
    A metric is logged under the file's name, so that history and callbacks go on as before."""
    custom_objects = _checked_custom_objects(custom_objects)
    tensors, meta = io.load_file(path)
    _require_model(meta, path)
    params, opt_state = _split(tensors, path)
    with _metadata_errors(path):
        model = _architecture(meta, path)
    _assign(model, params, path)
    with _metadata_errors(path):
        optimizer = _compile(model, meta.get("compile"), path, custom_objects)
        model.epochs_trained = meta["epochs_trained"]
        model.history = History.from_dict(meta["history"])
        if optimizer is not None and meta.get("optimizer_state"):
            _load_optimizer_state(model, optimizer, opt_state)
        elif opt_state:
            raise ValueError(f"optimizer tensors in a file saved without optimizer state: {sorted(opt_state)[0]!r}")
    return model


def load_weights(model, path: str | os.PathLike) -> None:
    tensors, meta = io.load_file(path)
    _require_model(meta, path)
    if not model.built:
        with _metadata_errors(path):
            model.build(tuple(meta["model"]["input_shape"]))
    _assign(model, _split(tensors, path)[0], path)
