"""Training: batching, the fit/evaluate/predict loop, callbacks and the progress bar."""

from rnnkit.training.callbacks import (
    Callback, CSVLogger, EarlyStopping, History, ModelCheckpoint, ReduceLROnPlateau,
)
from rnnkit.training.data import BATCHING_MODES, SequenceData, pad_sequences
from rnnkit.training.loop import Compiled, TrainingError, evaluate, fit, predict

__all__ = [
    "BATCHING_MODES", "CSVLogger", "Callback", "Compiled", "EarlyStopping", "History", "ModelCheckpoint",
    "ReduceLROnPlateau", "SequenceData", "TrainingError", "evaluate", "fit", "pad_sequences", "predict",
]
