"""The model base: the Keras verbs (compile, fit, evaluate, predict, get_weights/set_weights,
save/save_weights/load_weights, summary) on top of the model protocol that subclasses
implement (see rnnkit.training.loop):

    params, build(input_shape), forward(x, lengths, training, rng) -> (y, y_lengths, cache),
    backward(dy, cache) -> grads, output_lengths(x, lengths), get_config(), from_config().
"""

from __future__ import annotations

import os

import numpy as np

from rnnkit import _checks as checks
from rnnkit import io, losses, optim
from rnnkit import metrics as metric_functions
from rnnkit.training import Compiled, History, SequenceData
from rnnkit.training import loop


def _data(x, y=None, lengths=None) -> SequenceData:
    return SequenceData.from_user(x, y, lengths)


def _validation(validation_data, data: SequenceData) -> SequenceData:
    """(x, y) or (x, y, lengths) as data. With variable-length training data, a padded validation
    array without lengths would have its padding read as real steps, silently: refused, with
    (x, y, None) as the way to say that every validation sequence is full length."""
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        what = f"{len(validation_data)} items" if isinstance(validation_data, (tuple, list)) else \
            type(validation_data).__name__
        raise ValueError(f"validation_data must be a tuple (x, y) or (x, y, lengths), got {what}")
    validation = _data(*validation_data)
    variable = data.lengths is not None and bool(np.any(data.lengths < data.x.shape[1]))
    if len(validation_data) == 2 and variable and validation.lengths is None:
        raise ValueError("validation_data: the training data has lengths (variable-length sequences), the "
                         "validation data none, so its padded steps would be read as real: pass (x, y, lengths), "
                         "or (x, y, None) if every validation sequence is full length")
    return validation


class Model:
    """Base of every model: the Keras verbs over the model protocol. A subclass gives `params`
    (name -> array, its layers' weights), build, forward, backward and output_lengths (see the
    module docstring and examples/custom_model.py); seed (an int, recorded so that a saved run
    resumes exactly) drives initialisation, shuffling and dropout."""

    kind = "Model"

    def __init__(self, *, seed: int | None = None, name: str | None = None):
        if seed is None:  # still recorded, so a saved run can be resumed exactly
            seed = int(np.random.SeedSequence().entropy % (2**63))
        self.seed = checks.integer("seed", seed, least=0)
        self.name = name or self.kind.lower()
        self.input_shape: tuple | None = None
        self.compiled: Compiled | None = None
        self.compile_config: dict | None = None
        self.epochs_trained = 0
        self.history = History()

    # -- protocol (subclasses) ---------------------------------------------------------------
    @property
    def built(self) -> bool:
        return self.input_shape is not None

    @property
    def params(self) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def build(self, input_shape) -> None:
        """Create the weights for one sample's shape (T, F) or (T,), without the batch axis."""
        raise NotImplementedError

    def forward(self, x, lengths=None, training: bool = False, rng=None):
        """x (B, T, F) (or ids (B, T)), lengths (B,) or None -> (y, y_lengths, cache): y (B, C) or
        (B, T, C) logits, y_lengths the lengths that go with a per-step y (else None), cache for
        backward. training turns dropout on; rng draws its masks."""
        raise NotImplementedError

    def backward(self, dy, cache) -> dict[str, np.ndarray]:
        """dy = ∂L/∂y (y's shape) -> ∂L/∂param for every name in params."""
        raise NotImplementedError

    def output_lengths(self, x, lengths):
        """The lengths (B,) of a per-step output for input x, or None (one output per sequence)."""
        raise NotImplementedError

    def get_config(self) -> dict:
        """The architecture as JSON-able values, for from_config(config, seed) and the model files."""
        raise NotImplementedError

    def count_params(self) -> int:
        """The number of weights (entries of every array in params)."""
        return int(sum(p.size for p in self.params.values()))

    def _ensure_built(self, data: SequenceData) -> None:
        if not self.built:
            self.build((None, *data.x.shape[2:]))

    # -- the verbs ---------------------------------------------------------------------------
    def compile(self, optimizer="adam", loss="mse", metrics=(), *, clipnorm: float | None = None,
                clipvalue: float | None = None, weight_noise: float = 0.0, **optimizer_options) -> "Model":
        """Fix the loss, optimizer (a name or instance; its options pass through: lr, or ema=0.999
        to validate, checkpoint and return a running average of the weights), metrics (names, or
        functions logged under their __name__), gradient clipping (by global norm and/or by
        value, seed 004) and weight noise (the standard deviation of Gaussian noise added to
        every weight for each training batch's forward and backward pass; the update goes to the
        noise-free weights)."""
        named = _named_metrics(metrics)
        loss_function = losses.get(loss)
        _refuse_a_second_squashing(self, loss_function)
        opt = optim.get(optimizer, **optimizer_options)
        for arg, value in (("clipnorm", clipnorm), ("clipvalue", clipvalue)):
            if value is not None and not checks.real(arg, value) > 0:
                raise ValueError(f"{arg} must be a positive number, got {value!r}")
        clipnorm, clipvalue = (None if v is None else float(v) for v in (clipnorm, clipvalue))
        if not 0 <= checks.real("weight_noise", weight_noise) < float("inf"):
            raise ValueError(f"weight_noise must be a standard deviation >= 0, got {weight_noise!r}")
        self.compiled = Compiled(
            loss=loss_function, loss_name=loss if isinstance(loss, str) else type(loss).__name__,
            optimizer=opt, metrics=named,
            clipnorm=clipnorm, clipvalue=clipvalue, weight_noise=float(weight_noise),
        )
        # the optimizer's own config is taken when saving: a plain-callable lr trains, but cannot be saved
        # with the optimizer (save_weights still works)
        self.compile_config = {"loss": self.compiled.loss_name, "metrics": list(named), "clipnorm": clipnorm,
                               "clipvalue": clipvalue, "weight_noise": float(weight_noise)}
        return self

    def _require_compiled(self, verb: str) -> Compiled:
        if self.compiled is None:
            raise RuntimeError(f"call compile(...) before {verb}()")
        return self.compiled

    def fit(self, x, y, *, lengths=None, batch_size: int = 32, epochs: int = 1, validation_data=None,
            validation_split: float = 0.0, shuffle: bool = True, batching: str = "padded",
            callbacks=(), verbose: int = 1) -> History:
        """Train for `epochs` more epochs; returns the model's History (all epochs so far).
        validation_data: (x, y) or (x, y, lengths), scored after every epoch (the val_ logs).

        An epoch's training loss and metrics are the means of the batches' values weighted by
        their real outputs (sequences, or real steps of a per-step output) while the weights
        change; exact as an epoch mean for the loss and accuracy, a weighted mean of per-batch
        values for r2. The val_ logs are evaluate()'s: means over the whole validation set."""
        compiled = self._require_compiled("fit")
        data = _data(x, y, lengths)
        validation = None
        if validation_data is not None:
            validation = _validation(validation_data, data)
        elif validation_split:
            data, validation = data.split(validation_split)
        self._ensure_built(data)
        return loop.fit(self, data, compiled, epochs=epochs, batch_size=batch_size, batching=batching,
                        validation=validation, shuffle=shuffle, callbacks=list(callbacks), verbose=verbose,
                        seed=self.seed, start_epoch=self.epochs_trained, history=self.history)

    def evaluate(self, x, y, *, lengths=None, batch_size: int = 256) -> dict[str, float]:
        """{"loss": ..., metric: ...} over the whole of x, y (padded steps excluded), without dropout."""
        compiled = self._require_compiled("evaluate")
        data = _data(x, y, lengths)
        self._ensure_built(data)
        return loop.evaluate(self, data, compiled, batch_size)

    def predict(self, x, *, lengths=None, batch_size: int = 256) -> np.ndarray:
        """The outputs (logits, as the losses take them; rnnkit.softmax gives probabilities) for
        every example of x, in order: (N, C), or (N, T, C) with every padded step 0."""
        data = _data(x, None, lengths)
        self._ensure_built(data)
        return loop.predict(self, data, batch_size)

    # -- weights -----------------------------------------------------------------------------
    def get_weights(self) -> list[np.ndarray]:
        """Copies of the weights, in the order of `params` (layer by layer, each layer's own
        order), as Keras's get_weights; set_weights takes such a list back. The layouts are
        rnnkit's, not Keras's: an LSTM's gate blocks (i, f, g, o) match Keras's, a GRU's (r, z, n)
        are PyTorch's order where Keras has (z, r, h), so Keras GRU weights of the same shapes
        (reset_after=False) need their first two blocks swapped."""
        self._require_built("get_weights")
        return [v.copy() for v in self.params.values()]

    def set_weights(self, weights) -> None:
        """Write a list like get_weights' into the model, in place (the optimizer keeps its state).
        Every array is checked first, count, shape and dtype, so that a bad list changes nothing;
        no dtype is converted silently (Keras casts; cast with .astype where that is meant)."""
        self._require_built("set_weights")
        params = self.params
        weights = list(weights)
        if len(weights) != len(params):
            raise ValueError(f"set_weights expects {len(params)} arrays (one per entry of params, in "
                             f"get_weights' order), got {len(weights)}")
        arrays = [np.asarray(w) for w in weights]
        for i, ((name, p), w) in enumerate(zip(params.items(), arrays)):
            if w.shape != p.shape or w.dtype != p.dtype:
                raise ValueError(f"set_weights: array {i} ({name!r}) is {io._describe(w.shape, w.dtype)}, "
                                 f"expected {io._describe(p.shape, p.dtype)}")
        for p, w in zip(params.values(), arrays):
            np.copyto(p, w)  # in place: layers and optimizers hold these very arrays

    def _require_built(self, verb: str) -> None:
        if not self.built:
            raise RuntimeError(f"the model is not built yet, so it has no weights for {verb}(): "
                               "fit, predict or build it first")

    # -- files -------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike, *, include_optimizer: bool = True) -> None:
        """One safetensors file: weights, architecture, training state; written atomically."""
        from rnnkit.models.files import save_model

        save_model(self, path, include_optimizer=include_optimizer)

    def save_weights(self, path: str | os.PathLike) -> None:
        """Keras's name for save(path, include_optimizer=False): the same one file (weights, and
        the architecture that lets load_weights build an unbuilt model), read back by load_weights
        or rnnkit.load. The compile settings go in too where they can be written; with a
        plain-callable lr they cannot, and rnnkit.load gives the model uncompiled."""
        self.save(path, include_optimizer=False)

    def load_weights(self, path: str | os.PathLike) -> None:
        """Load the weights of a file saved from a model of the same architecture."""
        from rnnkit.models.files import load_weights

        load_weights(self, path)

    def summary(self, print_fn=print) -> str:
        """Print (with print_fn; None: only return) a table of the layers, their output shapes,
        parameter counts and formulas, and the total. A subclass gets one row per part of its
        `params` ('encoder.W_x' is part 'encoder'), described from the layer holding it."""
        from rnnkit.models.summary import summary_text

        text = summary_text(self)
        if print_fn is not None:
            print_fn(text)
        return text


def attribute_layers(model) -> list:
    """The rnnkit layers among a model's attributes, also inside lists, tuples and dicts: how a
    Model subclass's parts are found where the protocol names only their arrays (`params`)."""
    from rnnkit.layers import Layer

    def walk(values):
        for value in values:
            if isinstance(value, Layer):
                yield value
            elif isinstance(value, (list, tuple)):
                yield from walk(value)
            elif isinstance(value, dict):
                yield from walk(value.values())

    return list(walk(vars(model).values()))


def _named_metrics(metrics) -> dict:
    """name -> metric function. A callable is logged under its __name__ (as Keras does): keyed by
    the function itself, history, callbacks' `monitor` and every saved file would choke on it."""
    named = {}
    for metric in [metrics] if isinstance(metrics, str) else list(metrics):
        function = metric_functions.get(metric)
        name = metric if isinstance(metric, str) else getattr(metric, "__name__", type(metric).__name__)
        if name in named or name == "loss":
            raise ValueError(f"metrics: two metrics would both be logged as {name!r} (a callable is logged under "
                             "its __name__, and 'loss' is the loss's); give each metric its own name")
        named[name] = function
    return named


def _refuse_a_second_squashing(model, loss) -> None:
    """Keras's idiom Dense(C, activation="softmax") + a cross-entropy expects probabilities; here the
    cross-entropies take logits and apply softmax (sigmoid) themselves, so that model would train,
    badly, through the activation twice. Refused for a last layer whose activation is visible."""
    layers = getattr(model, "layers", None)
    last = layers[-1] if layers else None
    activation = getattr(last, "activation", None) if getattr(last, "kind", None) in ("Dense", "Activation") else None
    if loss.applies is not None and activation == loss.applies:
        raise ValueError(
            f"loss {loss.name!r} takes logits and applies {loss.applies} itself, but the model's last layer "
            f"already applies {activation} (Keras's from_logits=False idiom): remove that activation; "
            f"predict then returns logits, and rnnkit.{loss.applies}(logits) the probabilities")

