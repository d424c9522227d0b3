"""Model files: one safetensors file holding the weights ("params/<name>"), optionally the
optimizer state ("optimizer/<key>"), and in its metadata the architecture, the compile settings,
the seed, the epochs trained and the history. Written atomically by rnnkit.io; never pickle."""

from __future__ import annotations

import os
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
    except io.ModelFileError:
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


def _refuse_user_defined(path, what: str, names, lookup) -> None:
    """A loss or metric of the user's own is saved by name only; say so, and how to get the
    weights back, rather than calling the file unreadable."""
    for name in names:
        try:
            lookup(name)
        except ValueError:
            raise io.ModelFileError(
                f"{os.fspath(path)!r} was compiled with the {what} {name!r}, which is not one of rnnkit's, so "
                f"rnnkit.load cannot rebuild it; create and compile the model, then call its load_weights(path) "
                f"(this restores the weights only, not the optimizer state)") from None


def _compile(model, compile_config: dict | None, path):
    """Compile as the file says; returns the optimizer (None for a model saved uncompiled)."""
    if compile_config is None:
        return None
    from rnnkit import losses, metrics, optim

    _refuse_user_defined(path, "loss", [compile_config["loss"]], losses.get)
    names = compile_config["metrics"]
    _refuse_user_defined(path, "metric", [names] if isinstance(names, str) else names, metrics.get)
    optimizer = optim.from_config(compile_config["optimizer"])
    model.compile(optimizer, loss=compile_config["loss"], metrics=compile_config["metrics"],
                  clipnorm=compile_config["clipnorm"], clipvalue=compile_config["clipvalue"],
                  weight_noise=compile_config.get("weight_noise", 0.0))
    return optimizer


def load(path: str | os.PathLike):
    """Rebuild a saved model: architecture, weights, compile settings, optimizer state, history."""
    tensors, meta = io.load_file(path)
    _require_model(meta, path)
    params, opt_state = _split(tensors, path)
    with _metadata_errors(path):
        model = _architecture(meta, path)
    _assign(model, params, path)
    with _metadata_errors(path):
        optimizer = _compile(model, meta.get("compile"), path)
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
