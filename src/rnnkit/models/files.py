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
    metadata = {
        "format": FORMAT,
        "model": {"type": model.kind, "config": model.get_config(),
                  "input_shape": list(model.input_shape)},
        "seed": model.seed,
        "epochs_trained": model.epochs_trained,
        "history": model.history.to_dict(),
        "compile": None if model.compiled is None else {**model.compile_config,
                                                        "optimizer": model.compiled.optimizer.config()},
        "optimizer_state": with_optimizer,
    }
    io.save_file(path, tensors, metadata)


def _split(tensors: dict[str, np.ndarray]):
    params = {k[len("params/") :]: v for k, v in tensors.items() if k.startswith("params/")}
    opt = {k[len("optimizer/") :]: v for k, v in tensors.items() if k.startswith("optimizer/")}
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


def _architecture(meta: dict, path):
    spec = meta["model"]
    types = _model_types()
    if spec["type"] not in types:
        raise io.ModelFileError(f"{os.fspath(path)!r} holds an unknown model type {spec['type']!r}")
    model = types[spec["type"]].from_config(spec["config"], seed=meta["seed"])
    model.build(tuple(spec["input_shape"]))
    return model


def _compile(model, compile_config: dict | None):
    """Compile as the file says; returns the optimizer (None for a model saved uncompiled)."""
    if compile_config is None:
        return None
    from rnnkit import optim

    optimizer = optim.from_config(compile_config["optimizer"])
    model.compile(optimizer, loss=compile_config["loss"], metrics=compile_config["metrics"],
                  clipnorm=compile_config["clipnorm"], clipvalue=compile_config["clipvalue"],
                  weight_noise=compile_config.get("weight_noise", 0.0))
    return optimizer


def load(path: str | os.PathLike):
    """Rebuild a saved model: architecture, weights, compile settings, optimizer state, history."""
    tensors, meta = io.load_file(path)
    _require_model(meta, path)
    with _metadata_errors(path):
        model = _architecture(meta, path)
    params, opt_state = _split(tensors)
    _assign(model, params, path)
    with _metadata_errors(path):
        optimizer = _compile(model, meta.get("compile"))
        model.epochs_trained = int(meta["epochs_trained"])
        model.history = History.from_dict(meta["history"])
    if optimizer is not None and meta.get("optimizer_state"):
        optimizer.load_state_dict(opt_state)
    return model


def load_weights(model, path: str | os.PathLike) -> None:
    tensors, meta = io.load_file(path)
    _require_model(meta, path)
    if not model.built:
        with _metadata_errors(path):
            model.build(tuple(meta["model"]["input_shape"]))
    _assign(model, _split(tensors)[0], path)
