"""The live progress bar (rich): epoch, batches, loss and metrics, elapsed and remaining time."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


def format_logs(logs: dict[str, float]) -> str:
    return "  ".join(f"{k} {v:.4f}" for k, v in logs.items())


class EpochProgress:
    """verbose=0: silent; 1: a live bar during each epoch, then its line; 2: one line per epoch."""

    def __init__(self, verbose: int, total_epochs: int, console: Console | None = None):
        if verbose not in (0, 1, 2):
            raise ValueError(f"verbose must be 0, 1 or 2, got {verbose!r}")
        self.console = console or Console(stderr=True)
        if verbose == 1 and not self.console.is_interactive:
            verbose = 2  # a live bar in a log file (or on TERM=dumb) is noise: one line per epoch instead
        self.verbose = verbose
        self.total_epochs = total_epochs
        self._progress: Progress | None = None
        self._task = None

    def start_epoch(self, epoch: int, batches: int) -> None:
        if self.verbose != 1:
            return
        self._progress = Progress(
            TextColumn("epoch {task.fields[epoch]}"),
            BarColumn(bar_width=24),
            MofNCompleteColumn(),
            TextColumn("{task.fields[logs]}"),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,  # replaced by the epoch's whole line, which a narrow terminal would cut
        )
        self._progress.start()
        self._task = self._progress.add_task("", total=batches, epoch=f"{epoch + 1}/{self.total_epochs}", logs="")

    def update(self, logs: dict[str, float]) -> None:
        if self._progress is not None:
            self._progress.update(self._task, advance=1, logs=format_logs(logs))

    def end_epoch(self, epoch: int, logs: dict[str, float], seconds: float) -> None:
        if self.verbose == 0:
            return
        self.close()
        self.console.print(f"epoch {epoch + 1}/{self.total_epochs}  {format_logs(logs)}  {seconds:.1f}s",
                           soft_wrap=True, highlight=False)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
