"""Beijing PM2.5 (notes seed 002): many-to-one regression or 6-level classification of the
pollution some hours ahead, from the past ``--steps`` hours of 6 features.

Data: ``rnnkit.datasets.pm25`` from the raw UCI CSV (``--data`` for another copy); 2010-2013 is
training, 2014 the test year. The last 10 % of the training windows (the end of 2013, with a
gap of ``steps + horizon`` hours to the rest so no hour is in both) are the validation set.

How the horizon is scored (two numbers, both in ``results.json``):

* ``--horizon 1`` (the default) trains the notes' model: the target is the next hour. Its test
  metrics then include ``rollout_<metric>_<h>h`` for h = 1, 2, 4, 8 by the NOTES' protocol
  (``rnnkit.datasets.pm25.notes_rollout``): the test year is cut into blocks of h hours, the
  model predicts hour 1 of a block from observed data, then hour 2 with its own hour-1
  prediction fed back as the latest pollution input, and so on (weather inputs stay observed);
  R² (regression, on normalised values as the notes' "acc") or accuracy (classification) is
  taken over all predictions of all blocks, i.e. it averages the 1..h-hour-ahead forecasts.
  These are the numbers comparable with the notes' table (R² 0.741/0.856/0.915/0.946, accuracy
  0.602/0.656/0.714/0.756 for 8/4/2/1 h).
* ``--horizon h`` trains a DIRECT h-hour-ahead model; its plain ``r2`` / ``accuracy`` is the
  score of the h-th hour alone, a stricter test than the rollout average.
"""

from __future__ import annotations

import re

import numpy as np

from rnnkit import Sequential
from rnnkit.datasets import pm25 as pm
from rnnkit.layers import Dense
from rnnkit.metrics import accuracy, r2_score
from rnnkit.tasks.base import HParams, Option, Split, Task, TaskData, sequential_layers, softmax, top_k_text

LEVEL_NAMES = ("<50", "50-99", "100-149", "150-199", "200-299", ">=300")
ROLLOUT_HORIZONS = pm.HORIZONS[::-1]  # 8, 4, 2, 1 as in the notes' table


class PM25(Task):
    name = "pm25"
    pattern = "many-to-one regression or 6-level classification"
    data = "UCI Beijing PM2.5 hourly data 2010-2014 (raw CSV)"
    size = "43,824 hours; 2010-13 train (~35k windows), 2014 test (~8.7k); T = 24, F = 6"
    kind = "regression"
    monitor = "val_loss"
    reference = "notes R² 8/4/2/1 h: 0.741/0.856/0.915/0.946; 6 levels: 0.602/0.656/0.714/0.756"
    predict_example = ("test:100",)
    options = (
        Option("mode", "regression", "regression or classification (6 pollution levels)",
               ("regression", "classification")),
        Option("horizon", 1, "hours ahead of the window's last hour (1 = the notes' model)", type=int),
        Option("steps", 24, "hours per input window", type=int),
        Option("data", None, "path to another copy of the UCI CSV (default: the shipped one)", path=True),
    )

    def parse_options(self, given=None):
        options = super().parse_options(given)
        if not 1 <= options["horizon"] <= 48:
            raise ValueError(f"option horizon must lie in 1..48, got {options['horizon']}")
        if not max(ROLLOUT_HORIZONS) <= options["steps"] <= 168:
            raise ValueError(f"option steps must lie in 8..168, got {options['steps']}")
        return options

    def is_classifier(self, meta) -> bool:
        return meta["mode"] == "classification"

    def class_names(self, meta):
        return list(LEVEL_NAMES) if self.is_classifier(meta) else None

    def defaults(self, options):
        return dict(cell="gru", hidden=32, epochs=15, batch_size=64, lr=2e-3, lr_decay=0.8)

    def load(self, options, seed=0):
        d = pm.load(options["steps"], options["horizon"], options["mode"], path=options["data"], dtype=np.float32)
        y_train, y_test = d.y_train, d.y_test
        if options["mode"] == "regression":
            y_train, y_test = y_train[:, None], y_test[:, None]
        n = len(d.x_train)
        n_val = n // 10
        gap = options["steps"] + options["horizon"]
        train = Split(d.x_train[: n - n_val - gap], y_train[: n - n_val - gap])
        val = Split(d.x_train[n - n_val :], y_train[n - n_val :])
        meta = {"mode": options["mode"], "steps": options["steps"], "horizon": options["horizon"],
                "minimum": d.minimum.tolist(), "scale": d.scale.tolist(), "input_shape": [options["steps"], 6],
                "data": options["data"]}
        if options["mode"] == "classification":
            meta["classes"] = list(LEVEL_NAMES)
        return TaskData(train, val, Split(d.x_test, y_test), meta)

    def build_model(self, hp: HParams, meta):
        classify = self.is_classifier(meta)
        layers = sequential_layers(hp, Dense(pm.NUM_LEVELS if classify else 1), return_sequences=False)
        model = Sequential(layers, seed=hp.seed, dtype=np.float32, input_shape=tuple(meta["input_shape"]))
        if classify:
            return self.compile(model, hp, "sparse_categorical_crossentropy", ["accuracy"])
        return self.compile(model, hp, "mse", ["r2"])

    def evaluate(self, model, data, split="test"):
        part = self.split(data, split)
        logs = model.evaluate(part.x, part.y)
        if data.meta["horizon"] == 1 and split == "test":
            mode = data.meta["mode"]
            name, metric = ("accuracy", accuracy) if mode == "classification" else ("r2", r2_score)
            for h in ROLLOUT_HORIZONS:
                pred = pm.notes_rollout(lambda x: model.predict(x), part.x, h, mode)
                truth = part.y[: len(pred)]
                pred = pred if mode == "classification" else pred.reshape(-1, 1).astype(np.float32)
                logs[f"rollout_{name}_{h}h"] = float(metric(pred, truth))
        return logs

    # prediction: inputs are indices of 2014 (test-year) windows
    def _indices(self, inputs, count):
        out = []
        for s in inputs:
            m = re.fullmatch(r"\s*(?:test:)?(\d+)\s*", s)
            if not m or int(m[1]) >= count:
                raise ValueError(f"pm25 input must be a test-window index 0..{count - 1} (e.g. 'test:100'), got {s!r}")
            out.append(int(m[1]))
        return out

    def _test_windows(self, meta):
        """The windows of the CSV the run was trained on (meta["data"]; runs older than that key
        and runs of the shipped file: the shipped one), so values are de-normalised with its scale."""
        return pm.load(meta["steps"], meta["horizon"], meta["mode"], path=meta.get("data"), dtype=np.float32)

    def encode_inputs(self, inputs, meta):
        d = self._test_windows(meta)
        return d.x_test[self._indices(inputs, len(d.x_test))], None

    def decode_outputs(self, outputs, inputs, meta, top_k=3):
        d = self._test_windows(meta)
        index = self._indices(inputs, len(d.x_test))
        h = meta["horizon"]
        lines = []
        for s, i, out in zip(inputs, index, outputs):
            if self.is_classifier(meta):
                truth = LEVEL_NAMES[int(d.y_test[i])]
                p = softmax(np.asarray(out, np.float64))
                lines.append(f"test window {i}: pm2.5 level in {h} h: {top_k_text(p, LEVEL_NAMES, top_k)}  (actual {truth})")
            else:
                value = float(d.pollution(out[0]))
                actual = float(d.pollution(d.y_test[i]))
                lines.append(f"test window {i}: pm2.5 in {h} h = {value:.1f} ug/m3  (actual {actual:.1f})")
        return lines
