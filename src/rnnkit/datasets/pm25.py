"""Beijing PM2.5 (notes seed 002; ai-edu ch19 Level4/Level6): predict the pollution from past hours.

Built from the raw UCI file PRSA_data_2010.1.1-2014.12.31.csv (shipped as data/pm25/PM25_data.csv,
43,824 hourly rows, 2010-01-01 00:00 .. 2014-12-31 23:00) with ai-edu's preprocessing:

1. Features, in this order (F = 6): pollution (pm2.5), dew point, temperature, pressure,
   wind direction, wind speed.
2. Missing pollution (2,067 NA rows): each run of NAs is filled linearly between the value before
   the run and the value after it; before the first row the value is taken as 0 (the data opens
   with 24 NA hours, filled 129/25, 2*129/25, ...). A run at the very end would be held at the
   last value (does not happen in this file).
3. Wind direction coded on a clock face: NW 9, NE 3, SE 6, SW 12, cv (calm/variable) 0
   (the file itself only holds NE, NW, SE and cv).
4. Wind speed: the file's Iws is accumulated while the direction stays the same; it is turned
   back into an hourly value (current minus previous row when the direction did not change;
   kept as is when it changed).
5. Min-max normalisation per feature, fitted on the TRAINING years only (2010-2013); the test
   year (2014, 8,760 rows) uses the same minimum and range, so its values may leave [0, 1].
   (ai-edu fitted it on train + test together; with train-only fitting nothing of 2014 leaks.)

Windows and targets. A sample is ``num_steps`` consecutive hours ``rows[i : i+T]`` of one split
(windows never cross from 2013 into 2014) and its target is the pollution ``horizon`` hours after
the window's last row, i.e. of row ``i + T - 1 + horizon``. Each split of n rows gives
``n - T - horizon + 1`` windows, stride 1 hour, in time order.

* horizon=1 is exactly the notes' label: ai-edu shifts pollution up one row ("label = next hour's
  pollution") and takes the label of the window's last row; its window count is n - T as here.
* horizon=h>1 is a DIRECT h-hour-ahead target, which the notes did not train. The notes' "predict
  8/4/2/1 hours" (table 19-8) trains ONE model with horizon=1 and evaluates it by rolling forward
  in blocks of h test windows, feeding its own pollution predictions back into the inputs
  (weather features stay the observed ones); the reported loss and R² average horizons 1..h.
  :func:`notes_rollout` reproduces that protocol: load with horizon=1, then call it with h.

Modes. "regression": y is the normalised pollution (float). "classification": y is the level
0..5 of the raw pollution (<50, <100, <150, <200, <300, >=300 -> 0..5) and, as in ai-edu's
classifier, the pollution INPUT feature is replaced by level / 5.

Shapes: x (N, T, F=6), y (N,) float (regression) or int64 (classification).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnkit.datasets._files import read_text

__all__ = [
    "FEATURES",
    "HORIZONS",
    "LEVEL_EDGES",
    "NUM_LEVELS",
    "PM25Data",
    "TEST_YEAR",
    "WIND_CODES",
    "load",
    "notes_rollout",
    "pollution_level",
    "read_table",
]

FEATURES = ("pollution", "dew", "temp", "press", "wnd_dir", "wnd_spd")
WIND_CODES = {"NW": 9.0, "NE": 3.0, "SE": 6.0, "SW": 12.0, "cv": 0.0}
LEVEL_EDGES = (50.0, 100.0, 150.0, 200.0, 300.0)  # 6 levels: < 50, < 100, < 150, < 200, < 300, >= 300
NUM_LEVELS = len(LEVEL_EDGES) + 1
TEST_YEAR = 2014
HORIZONS = (1, 2, 4, 8)  # the ones the notes report; any horizon >= 1 works


def pollution_level(values: np.ndarray) -> np.ndarray:
    """Raw pm2.5 values (...) -> level 0..5 (...) int64 (50 is level 1, 300 is level 5)."""
    return np.searchsorted(LEVEL_EDGES, np.asarray(values, dtype=np.float64), side="right").astype(np.int64)


def _is_number(text: str, dtype) -> bool:
    try:
        np.array([text], dtype=dtype)
    except ValueError:
        return False
    return True


def _where(path: str | Path | None) -> str:
    """How errors name the CSV: the user's path, or the shipped file."""
    return "data/pm25/PM25_data.csv" if path is None else str(path)


def _read_csv_text(path: str | Path | None) -> str:
    if path is None:
        return read_text("pm25", "PM25_data.csv")
    try:
        # utf-8-sig: a spreadsheet's byte-order mark must not become part of the first column's name
        return Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not a UTF-8 CSV (byte {e.start} is 0x{e.object[e.start]:02x})") from None


def _first_gap(years: np.ndarray, months: np.ndarray, days: np.ndarray, hours: np.ndarray) -> int | None:
    """Index of the first row that is not one hour after the row before it, or None."""
    stamps = ((years - 1970).astype("datetime64[Y]").astype("datetime64[M]") + (months - 1)).astype("datetime64[D]")
    stamps = (stamps + (days - 1)).astype("datetime64[h]") + hours
    bad = np.flatnonzero(np.diff(stamps) != np.timedelta64(1, "h"))
    return int(bad[0]) + 1 if bad.size else None


def read_table(path: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Steps 1-4 of the module docstring on the raw UCI CSV (the shipped one when path is None).

    Returns table (R, F=6) float64 in the order of FEATURES, not normalised, and years (R,) int64.
    The table equals ai-edu's ch19_pm25_{train,test}.npz ``data`` stacked. ValueError, naming
    the file, for a file that is not that CSV, is damaged, or skips or repeats an hour.
    """
    where = _where(path)
    rows = list(csv.reader(io.StringIO(_read_csv_text(path))))
    if not rows:
        raise ValueError(f"{where}: not the UCI Beijing PM2.5 CSV: the file is empty")
    header, rows = [name.strip() for name in rows[0]], [r for r in rows[1:] if r]
    col = {name: k for k, name in enumerate(header)}
    missing = {"year", "pm2.5", "DEWP", "TEMP", "PRES", "cbwd", "Iws"} - col.keys()
    if missing:
        raise ValueError(f"{where}: not the UCI Beijing PM2.5 CSV: columns {sorted(missing)} missing from header "
                         f"{header}")
    short = next((k for k, r in enumerate(rows) if len(r) < len(header)), None)
    if short is not None:
        raise ValueError(f"{where}: damaged PM2.5 CSV: data row {short + 1} has {len(rows[short])} fields, the "
                         f"header {len(header)}")

    def column(name: str) -> list[str]:
        return [r[col[name]] for r in rows]

    def numbers(name: str, dtype=np.float64, na_is_nan: bool = False) -> np.ndarray:
        """The column as numbers; with na_is_nan, NA (a missing value) is NaN, filled in step 2."""
        values = ["nan" if na_is_nan and v == "NA" else v for v in column(name)]
        try:
            return np.array(values, dtype=dtype)
        except ValueError:
            k = next(k for k, v in enumerate(values) if not _is_number(v, dtype))
            raise ValueError(f"{where}: damaged PM2.5 CSV: data row {k + 1}, column {name}: {values[k]!r} is "
                             "not a number") from None

    years = numbers("year", np.int64)
    if {"month", "day", "hour"} <= col.keys():
        # a window is num_steps consecutive ROWS read as consecutive hours: a missing or repeated
        # hour would silently give windows that span a gap and targets at the wrong hour
        gap = _first_gap(years, numbers("month", np.int64), numbers("day", np.int64), numbers("hour", np.int64))
        if gap is not None:
            raise ValueError(f"{where}: data row {gap + 1} is not one hour after data row {gap}: the rows must "
                             "be consecutive hours, none missing or repeated")
    pm = numbers("pm2.5", na_is_nan=True)
    try:
        wind_dir = np.array([WIND_CODES[v] for v in column("cbwd")])
    except KeyError as e:
        raise ValueError(f"{where}: unknown wind direction {e.args[0]!r}; expected one of "
                         f"{sorted(WIND_CODES)}") from None
    accumulated = numbers("Iws")

    # Step 2: linear fill between the neighbours of each NA run, with a virtual 0 before row 0.
    known = np.flatnonzero(~np.isnan(pm))
    if known.size == 0:
        raise ValueError(f"{where}: the pm2.5 column has no value at all")
    gaps = np.flatnonzero(np.isnan(pm))
    pm[gaps] = np.interp(gaps, np.r_[-1, known], np.r_[0.0, pm[known]])  # past the last value: held

    # Step 4: de-accumulate the wind speed where the direction did not change (ai-edu starts with
    # previous direction 0 = cv and previous value 0, so row 0 keeps its value either way).
    prev_dir = np.r_[0.0, wind_dir[:-1]]
    prev_acc = np.r_[0.0, accumulated[:-1]]
    speed = np.where(wind_dir == prev_dir, accumulated - prev_acc, accumulated)

    weather = np.stack([numbers("DEWP"), numbers("TEMP"), numbers("PRES")], axis=1)
    table = np.column_stack([pm, weather, wind_dir, speed])
    return table, years


@dataclass(frozen=True)
class PM25Data:
    """Windows of both splits plus what is needed to undo the normalisation.

    x_train (N, T, F) and y_train (N,) cover 2010-2013; x_test, y_test cover 2014.
    ``minimum`` and ``scale`` (F,) are the training-year min and (max - min) per feature:
    normalised = (raw - minimum) / scale. In classification mode feature 0 is level / 5 instead.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    minimum: np.ndarray
    scale: np.ndarray
    mode: str
    num_steps: int
    horizon: int

    def pollution(self, normalised: np.ndarray) -> np.ndarray:
        """Normalised pollution (regression outputs or targets) -> pm2.5 in ug/m3."""
        return np.asarray(normalised) * self.scale[0] + self.minimum[0]


def _windows(features: np.ndarray, targets: np.ndarray, num_steps: int, horizon: int, what: str = "a split"):
    count = features.shape[0] - num_steps - horizon + 1
    if count < 1:
        rows = features.shape[0]
        raise ValueError(f"{what} of {rows} rows is too short for num_steps={num_steps}, horizon={horizon}")
    view = np.lib.stride_tricks.sliding_window_view(features, num_steps, axis=0)  # (R-T+1, F, T)
    x = np.ascontiguousarray(view[:count].transpose(0, 2, 1))  # (N, T, F)
    y = targets[num_steps - 1 + horizon : num_steps - 1 + horizon + count]
    return x, y.copy()


def load(
    num_steps: int = 24,
    horizon: int = 1,
    mode: str = "regression",
    path: str | Path | None = None,
    dtype: type = np.float64,
) -> PM25Data:
    """Train (2010-2013) and test (2014) windows; see the module docstring for the exact target.

    num_steps T: hours per window (the notes use 24 and 72). horizon h: the target is the pollution
    h hours after the window's last row (1 = the notes' label). mode: "regression" (y float, the
    normalised pollution) or "classification" (y int64 level 0..5). path: another copy of the CSV.
    Returns PM25Data with x_* (N, T, 6) of ``dtype`` and y_* (N,).
    """
    if mode not in ("regression", "classification"):
        raise ValueError(f"mode must be 'regression' or 'classification', got {mode!r}")
    if num_steps < 1 or horizon < 1:
        raise ValueError(f"num_steps and horizon must be >= 1, got {num_steps}, {horizon}")
    table, years = read_table(path)
    where = _where(path)
    train = years < TEST_YEAR
    if not train.any() or train.all():
        raise ValueError(f"{where}: needs rows before {TEST_YEAR} (training) and of {TEST_YEAR} on (test), got the "
                         f"years {years.min()}..{years.max()}")
    minimum = table[train].min(axis=0)
    scale = table[train].max(axis=0) - minimum
    constant = [name for name, s in zip(FEATURES, scale) if s == 0]
    if constant:  # min-max scaling would divide by zero and fill the windows with NaN
        raise ValueError(f"{where}: {', '.join(constant)} never changes over the training years: it cannot be "
                         "min-max normalised")
    features = (table - minimum) / scale
    levels = pollution_level(table[:, 0])
    if mode == "classification":
        features[:, 0] = levels / (NUM_LEVELS - 1)
        targets = levels
    else:
        targets = features[:, 0].astype(dtype)
    features = features.astype(dtype)

    x_train, y_train = _windows(features[train], targets[train], num_steps, horizon, f"{where}: the training years")
    x_test, y_test = _windows(features[~train], targets[~train], num_steps, horizon, f"{where}: the test year")
    return PM25Data(x_train, y_train, x_test, y_test, minimum, scale, mode, num_steps, horizon)


def notes_rollout(
    predict: Callable[[np.ndarray], np.ndarray], x: np.ndarray, horizon: int, mode: str = "regression"
) -> np.ndarray:
    """The notes' "predict ``horizon`` hours" evaluation (ai-edu Level4 ``test``/``predict``).

    ``x`` (N, T, F) must be consecutive horizon=1 windows as returned by :func:`load` (stride 1
    hour), and ``predict`` maps a batch (B, T, F) to regression outputs (B,) / (B, 1) or class
    scores (B, C). The first N - N % h windows are cut into blocks of h; inside a block, window k
    (k = 0..h-1) gets its last k pollution inputs replaced by the model's own predictions for the
    block's windows 0..k-1 (regression: the output itself; classification: argmax / 5, as ai-edu).
    So prediction k of a block is a (k+1)-hour-ahead forecast made from the block's first window.

    Returns predictions (N - N % h,) or (N - N % h, C), aligned with y[: N - N % h].
    """
    if mode not in ("regression", "classification"):
        raise ValueError(f"mode must be 'regression' or 'classification', got {mode!r}")
    num_steps = x.shape[1]
    if not 1 <= horizon <= num_steps:
        raise ValueError(f"horizon must be in 1..num_steps={num_steps}, got {horizon}")
    count = x.shape[0] - x.shape[0] % horizon
    starts = np.arange(0, count, horizon)  # first window of each block
    fed_back = np.zeros((starts.size, horizon), dtype=x.dtype)  # (blocks, h)
    outputs = []
    for k in range(horizon):
        xk = x[starts + k].copy()  # (blocks, T, F)
        if k:
            xk[:, num_steps - k :, 0] = fed_back[:, :k]
        out = np.asarray(predict(xk))
        if mode == "regression":
            out = out.reshape(starts.size)
            fed_back[:, k] = out
        else:
            fed_back[:, k] = np.argmax(out, axis=-1) / (NUM_LEVELS - 1)
        outputs.append(out)
    stacked = np.stack(outputs, axis=1)  # (blocks, h, ...)
    return stacked.reshape(count, *stacked.shape[2:])
