"""The task interface: everything ``rnnkit train TASK`` needs to know about one task.

A task turns its shipped (or generated) data into arrays, builds and compiles a good default
model, trains it, scores it on held-out data and, for ``rnnkit predict``, turns user text into
model inputs and model outputs back into text. The command line only talks to this interface,
so a new task is one module with one ``Task`` subclass, registered in ``rnnkit.tasks``.

Contract (a subclass sets the class attributes and overrides the methods marked *)::

    name: str                    CLI name, e.g. "names", "binary-subtraction"
    pattern: str                 "many-to-one classification", "seq2seq", ...
    data: str                    where the data come from
    size: str                    how big they are (samples, steps, features)
    kind: str                    "classification" | "binary" | "regression" | "density" | "seq2seq"
    reference: str               the number the notes / paper report, if any
    monitor: str                 validation log that picks the best checkpoint ("val_accuracy", "val_loss", ...)
    options: tuple[Option, ...]  task settings (--subset, --horizon, ...): name, default, choices, type
    predict_example: tuple[str, ...]  inputs for `rnnkit predict RUN ...`, shown by `rnnkit tasks`
    embeds_tokens: bool          the model starts with an Embedding (else --embedding is refused)
    accuracy_counts: str         what the held-out accuracy counts where training logs another
                                 ("recalled symbols", "exact match"); "" when they are the same

    defaults(options) -> dict            * hyperparameters (HParams fields) that give a good model
    cell_defaults(cell, options) -> dict   changes to defaults() for a run with that cell (default none)
    load(options, seed) -> TaskData      * train / val / test splits plus JSON-able `meta`
    build_model(hp, meta) -> Model       * a compiled model (Sequential, or an encoder-decoder)
    fit(model, data, hp, callbacks, verbose) -> History      train on data.train, validate on data.val
    evaluate(model, data, split="test") -> dict[str, float]  held-out metrics (default: model.evaluate)
    class_names(meta) -> list | None      classifiers: the names behind the class indices
    predicted_classes(model, data, split) -> (y_true, y_pred) | None   for the confusion matrix
    encode_inputs(inputs, meta) -> (x, lengths)              * user strings -> a model input batch
    decode_outputs(outputs, inputs, meta, top_k) -> list[str] * model outputs -> one line per input

Data. ``TaskData.train/val/test`` are ``Split(x, y, lengths, extra)``: ``x`` is what the model
reads, (N, T, F) floats or (N, T) integer ids, ``y`` the targets ((N, C), (N,) labels, or
(N, T, ...) for an output per step), ``lengths`` (N,) the real length of each padded ``x`` (None
when all are T). Seq2seq tasks put the SOURCE sequences in ``x``/``lengths`` and the TARGET
sequences in ``y`` with their lengths in ``extra["y_lengths"]`` (teacher-forcing inputs, if the
model needs them, also in ``extra``), and override ``fit``/``evaluate`` where the default
``model.fit(x, y, lengths=...)`` does not fit. ``meta`` is a JSON-able dict holding what
prediction needs without reloading the data (class names, alphabets, vocabularies,
normalisation constants, the input shape); the CLI stores it in the run's ``config.json``.

Every random choice comes from the ``seed`` passed to ``load`` and from ``hp.seed``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "CELLS", "HParams", "Option", "Split", "Task", "TaskData", "UnknownTaskOption", "sequential_layers",
    "stratified_split",
]

CELLS = ("rnn", "lstm", "gru")


class UnknownTaskOption(ValueError):
    """parse_options was given an option the task does not have. `unknown` and `known` hold
    option names, so that a front end can say how its users spell them (the CLI: `--subset`,
    `-o split-seed=0`)."""

    def __init__(self, task: str, unknown: list[str], known: list[str]):
        self.task, self.unknown, self.known = task, unknown, known
        super().__init__(f"task {task} has no option {', '.join(unknown)} (its options: {', '.join(known) or 'none'})")


@dataclass
class Split:
    """N examples: x (N, T, F) or (N, T) ids, y targets, lengths (N,) or None, extra arrays."""

    x: Any
    y: Any
    lengths: np.ndarray | None = None
    extra: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.x)


@dataclass
class TaskData:
    """A task's data: train / val / test Splits and `meta`, the JSON-able facts the model and
    predict need (vocabulary, class names, scaling); see the module docstring."""

    train: Split
    val: Split
    test: Split
    meta: dict  # JSON-able; stored with the run, handed to build_model / encode / decode


@dataclass(frozen=True)
class Option:
    """A task setting such as ``--subset``: its type, default, allowed values and help.

    ``path=True``: any value but the default names a file or folder and is made absolute, so the
    run's config.json still finds it when a later command runs in another directory."""

    name: str
    default: Any
    help: str
    choices: tuple | None = None
    type: type = str
    path: bool = False

    def parse(self, value):
        """A value from the command line (string) or from Python -> the checked typed value."""
        if value is None:
            return self.default
        try:
            if self.type is bool and isinstance(value, str):
                if value.lower() not in ("1", "0", "true", "false", "yes", "no"):
                    raise ValueError
                typed = value.lower() in ("1", "true", "yes")
            else:
                typed = self.type(value)
        except (TypeError, ValueError):
            raise ValueError(f"option {self.name}: {value!r} is not a valid {self.type.__name__}") from None
        if self.choices is not None and typed not in self.choices:
            shown = ", ".join(str(c) for c in self.choices)
            raise ValueError(f"option {self.name}: {value!r} is not one of {shown}")
        if self.path and typed != self.default:
            typed = str(Path(typed).expanduser().resolve())
        return typed


@dataclass
class HParams:
    """The training settings every task understands (the ``rnnkit train`` options)."""

    cell: str = "gru"  # rnn | lstm | gru
    hidden: int = 64  # units per direction and layer
    layers: int = 1
    bidirectional: bool = False
    dropout: float = 0.0  # between stacked layers and before the output layer
    input_dropout: float = 0.0  # on the inputs of every step (characters, embeddings)
    epochs: int = 20
    batch_size: int = 32
    lr: float = 1e-3
    lr_decay: float = 1.0  # the learning rate is multiplied by this after every epoch
    optimizer: str = "adam"  # sgd | rmsprop | adam | adamw
    weight_decay: float = 0.0  # adamw: decoupled; sgd, rmsprop, adam: L2 on the gradient
    clipnorm: float | None = 5.0
    clipvalue: float | None = None
    weight_noise: float = 0.0  # std of Gaussian noise on the weights of every training pass
    ema: float | None = None  # decay of the running average of the weights (optimizer ema); None or 0: off
    seed: int = 0
    batching: str = "padded"  # padded | bucket
    patience: int | None = None  # early stopping on the monitored value; None = off
    embedding: int = 32  # token tasks: embedding width

    @classmethod
    def fields(cls) -> tuple[str, ...]:
        """The setting names, in order."""
        return tuple(f.name for f in dataclasses.fields(cls))

    def replace(self, **changes) -> "HParams":
        """A checked copy with `changes`; ValueError for an unknown name or a bad value."""
        unknown = set(changes) - set(self.fields())
        if unknown:
            raise ValueError(f"unknown hyperparameter(s) {sorted(unknown)}; known: {list(self.fields())}")
        return dataclasses.replace(self, **changes).checked()

    def checked(self) -> "HParams":
        """self if every setting is valid, else a ValueError naming the first bad one."""
        from rnnkit import optim
        from rnnkit.training.data import BATCHING_MODES

        if self.cell not in CELLS:
            raise ValueError(f"cell must be one of {', '.join(CELLS)}, got {self.cell!r}")
        for name in ("hidden", "layers", "epochs", "batch_size", "embedding"):
            value = getattr(self, name)
            least = 0 if name == "epochs" else 1
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
                raise ValueError(f"{name.replace('_', '-')} must be an integer >= {least}, got {value!r}")
        for name in ("dropout", "input_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name.replace('_', '-')} must lie in [0, 1), got {getattr(self, name)!r}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr!r}")
        if not 0 < self.lr_decay <= 1:
            raise ValueError(f"lr-decay must lie in (0, 1], got {self.lr_decay!r}")
        if self.optimizer.lower() not in optim.OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {', '.join(sorted(optim.OPTIMIZERS))}, got {self.optimizer!r}")
        for name in ("clipnorm", "clipvalue"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be > 0, got {value!r}")
        if not 0 <= self.weight_noise < float("inf"):
            raise ValueError(f"weight-noise must be a standard deviation >= 0, got {self.weight_noise!r}")
        if self.ema is not None and not 0 <= self.ema < 1:
            raise ValueError(f"ema must lie in [0, 1), got {self.ema!r}")
        if self.weight_decay < 0:
            raise ValueError(f"weight-decay must be >= 0, got {self.weight_decay!r}")
        if self.batching not in BATCHING_MODES:
            raise ValueError(f"batching must be one of {', '.join(BATCHING_MODES)}, got {self.batching!r}")
        if self.patience is not None and self.patience < 0:
            raise ValueError(f"patience must be >= 0, got {self.patience!r}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed!r}")
        return self

    def to_dict(self) -> dict:
        """The settings as a JSON-able dict (a run's config.json)."""
        return dataclasses.asdict(self)


class Task:
    """Base class; see the module docstring for the contract."""

    name = ""
    pattern = ""
    data = ""
    size = ""
    kind = "classification"
    reference = ""
    monitor = "val_loss"
    # what the held-out accuracy counts, where it is not the accuracy training logs per step
    accuracy_counts = ""
    predict_example: tuple[str, ...] = ()  # inputs `rnnkit predict RUN ...` takes, shown by `rnnkit tasks`
    embeds_tokens = False  # whether the model starts with an Embedding (sized by HParams.embedding)
    options: tuple[Option, ...] = ()

    # -- settings ---------------------------------------------------------------------------
    def parse_options(self, given: dict | None = None) -> dict:
        """Task options with defaults filled in; ValueError for an unknown option or bad value."""
        given = {k: v for k, v in (given or {}).items() if v is not None}
        known = {o.name: o for o in self.options}
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise UnknownTaskOption(self.name, unknown, list(known))
        return {name: option.parse(given.get(name)) for name, option in known.items()}

    def defaults(self, options: dict) -> dict:
        """HParams fields that differ from HParams() for this task (given the task options)."""
        return {}

    def cell_defaults(self, cell: str, options: dict) -> dict:
        """HParams fields that differ from defaults() when the run uses `cell` (the cell given
        or the default one): where the best recipe found differs from cell to cell."""
        return {}

    def hparams(self, options: dict, **overrides) -> HParams:
        """The task's default hyperparameters, then its cell-specific ones, then `overrides`
        (None values ignored)."""
        given = {k: v for k, v in overrides.items() if v is not None}
        if "embedding" in given and not self.embeds_tokens:
            raise ValueError(f"embedding does not apply to task {self.name}: its model has no embedding layer "
                             "(its inputs are not token ids)")
        chosen = self.defaults(options)
        cell = given.get("cell", chosen.get("cell", HParams.cell))
        chosen = {**chosen, **self.cell_defaults(cell, options), **given}
        return HParams().replace(**chosen)

    # -- data and model ---------------------------------------------------------------------
    def load(self, options: dict, seed: int = 0) -> TaskData:
        """* The train / val / test splits for these task options; `seed` draws the splits (and
        any generated data)."""
        raise NotImplementedError

    def build_model(self, hp: HParams, meta: dict):
        """* A compiled model (Sequential, or an EncoderDecoder) for hyperparameters `hp` and the
        data's `meta`."""
        raise NotImplementedError

    def compile(self, model, hp: HParams, loss: str, metrics: Sequence[str]):
        """Compile with the optimizer, learning rate and clipping of `hp`."""
        from rnnkit.optim import ExponentialDecay

        options = {"lr": hp.lr if hp.lr_decay == 1 else ExponentialDecay(hp.lr, rate=hp.lr_decay)}
        if hp.optimizer.lower() == "adamw" or hp.weight_decay:
            # decoupled for adamw, L2 added to the gradient for the others (torch.optim's meanings)
            options["weight_decay"] = hp.weight_decay
        if hp.ema:  # 0: no averaging
            options["ema"] = hp.ema
        model.compile(hp.optimizer, loss=loss, metrics=list(metrics), clipnorm=hp.clipnorm,
                      clipvalue=hp.clipvalue, weight_noise=hp.weight_noise, **options)
        return model

    def fit(self, model, data: TaskData, hp: HParams, callbacks=(), verbose: int = 1):
        """Train on data.train, validating on data.val, with hp's epochs, batch size and batching;
        returns the model's History."""
        train, val = data.train, data.val
        return model.fit(train.x, train.y, lengths=train.lengths, batch_size=hp.batch_size, epochs=hp.epochs,
                         validation_data=(val.x, val.y, val.lengths), batching=hp.batching,
                         callbacks=list(callbacks), verbose=verbose)

    def split(self, data: TaskData, name: str) -> Split:
        """data.train, data.val or data.test by name; ValueError for another name."""
        if name not in ("train", "val", "test"):
            raise ValueError(f"split must be train, val or test, got {name!r}")
        return getattr(data, name)

    def evaluate(self, model, data: TaskData, split: str = "test") -> dict[str, float]:
        """Held-out metrics on one split, {"loss": ..., ...}; by default model.evaluate's."""
        part = self.split(data, split)
        return model.evaluate(part.x, part.y, lengths=part.lengths)

    # -- classifiers ------------------------------------------------------------------------
    def class_names(self, meta: dict) -> list[str] | None:
        """Classifiers: the names behind the class indices (meta["classes"]); else None."""
        return meta.get("classes") if self.kind == "classification" else None

    def predicted_classes(self, model, data: TaskData, split: str = "test"):
        """(y_true, y_pred) integer labels of the real outputs, for the confusion matrix; or None."""
        if self.class_names(data.meta) is None:
            return None
        part = self.split(data, split)
        scores = model.predict(part.x, lengths=part.lengths)
        y_true = np.asarray(part.y)
        if scores.ndim == 3:  # an output per step: keep the real steps
            T = scores.shape[1]
            real = np.ones(scores.shape[:2], bool) if part.lengths is None else \
                np.arange(T)[None, :] < np.asarray(part.lengths)[:, None]
            return y_true[:, :T][real], scores.argmax(-1)[real]
        return y_true, scores.argmax(-1)

    # -- prediction -------------------------------------------------------------------------
    def encode_inputs(self, inputs: Sequence[str], meta: dict):
        """* User strings -> (x, lengths): a model input batch, x (B, T, F) or ids (B, T), and
        lengths (B,) or None."""
        raise NotImplementedError(f"task {self.name} has no predict support")

    def decode_outputs(self, outputs: np.ndarray, inputs: Sequence[str], meta: dict, top_k: int = 3) -> list[str]:
        """* Model outputs (predict's logits) -> one line of text per input; classifiers show the
        `top_k` classes."""
        raise NotImplementedError(f"task {self.name} has no predict support")

    def predict(self, model, inputs: Sequence[str], meta: dict, top_k: int = 3) -> list[str]:
        """User strings -> one line of text per input."""
        if not inputs:
            raise ValueError("give at least one input to predict")
        x, lengths = self.encode_inputs(inputs, meta)
        outputs = model.predict(x, lengths=lengths)
        return self.decode_outputs(outputs, inputs, meta, top_k)


# -- helpers shared by task modules ---------------------------------------------------------
def stratified_split(labels: np.ndarray, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Indices (keep, held) with round(fraction * count) of every label held out, both sorted."""
    labels = np.asarray(labels)
    held = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        n = int(round(fraction * len(members)))
        held.extend(rng.permutation(members)[:n])
    held = np.sort(np.array(held, dtype=np.int64))
    keep = np.setdiff1d(np.arange(len(labels)), held)
    return keep, held


def top_k_text(probabilities: np.ndarray, names: Sequence[str], k: int) -> str:
    """'Japanese 0.97, Chinese 0.02, Korean 0.01' for one probability vector."""
    order = np.argsort(-probabilities, kind="stable")[:k]
    return ", ".join(f"{names[i]} {probabilities[i]:.2f}" for i in order)


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -z))


def recurrent_block(hp: HParams, return_sequences: bool, dtype=np.float32):
    """The recurrent part of a default model: `hp.layers` layers of `hp.cell`, maybe bidirectional."""
    from rnnkit.layers import stacked

    return stacked(hp.cell, hp.hidden, hp.layers, bidirectional=hp.bidirectional, dropout=hp.dropout,
                   return_sequences=return_sequences, dtype=dtype)


def sequential_layers(hp: HParams, output, return_sequences: bool) -> list:
    """input dropout -> recurrent block -> dropout -> `output`: what ``--input-dropout`` ("on
    every step's inputs") and ``--dropout`` ("between layers and before the output") promise,
    whatever the number of layers. A Dropout is added only where its rate is > 0, so a model
    without dropout has exactly the layers (and the weights, from the same seed) it always had."""
    from rnnkit.layers import Dropout

    layers = [Dropout(hp.input_dropout)] if hp.input_dropout else []
    layers.append(recurrent_block(hp, return_sequences=return_sequences))
    if hp.dropout:
        layers.append(Dropout(hp.dropout))
    layers.append(output)
    return layers
