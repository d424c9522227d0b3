"""The built-in tasks of the notes, one module each, and the registry the command line reads.

    from rnnkit import tasks
    task = tasks.get("names")                     # a Task (see rnnkit.tasks.base for the contract)
    options = task.parse_options({"subset": "all18"})
    data = task.load(options, seed=0)             # TaskData: train / val / test splits + meta
    model = task.build_model(task.hparams(options), data.meta)

To add a task: write a module with a ``Task`` subclass and add an instance to ``TASKS`` below
(or call ``register`` from anywhere).
"""

from __future__ import annotations

from rnnkit.tasks.adding import Adding
from rnnkit.tasks.base import HParams, Option, Split, Task, TaskData, UnknownTaskOption
from rnnkit.tasks.binary_subtraction import BinarySubtraction
from rnnkit.tasks.copy import Copy
from rnnkit.tasks.echo import Echo
from rnnkit.tasks.hello import Hello
from rnnkit.tasks.mnist_rows import MnistRows
from rnnkit.tasks.names import Names
from rnnkit.tasks.pm25 import PM25
from rnnkit.tasks.polyphonic import Polyphonic
from rnnkit.tasks.sentiment import Sentiment
from rnnkit.tasks.text import Text
from rnnkit.tasks.numbers import Numbers
from rnnkit.tasks.dates import Dates

__all__ = ["TASKS", "HParams", "Option", "Split", "Task", "TaskData", "UnknownTaskOption", "get", "register"]

TASKS: dict[str, Task] = {}


def register(task: Task) -> Task:
    """Add a task instance to the registry under ``task.name`` (a name may be taken only once)."""
    if not task.name:
        raise ValueError("a task needs a name")
    if task.name in TASKS and TASKS[task.name] is not task:
        raise ValueError(f"a task named {task.name!r} is already registered")
    TASKS[task.name] = task
    return task


for _task in (Echo(), BinarySubtraction(), Hello(), PM25(), Names(), MnistRows(), Sentiment(),
              Polyphonic("jsb-chorales"), Polyphonic("nottingham")):
    register(_task)
for _task in (Adding(), Copy()):  # long-dependency tasks (vanishing gradients, rnnkit diagnose)
    register(_task)
for _task in (Text(), Numbers(), Dates()):  # one-to-many generation and seq2seq translation
    register(_task)


def get(name: str) -> Task:
    """The task called `name`; ValueError listing the known tasks otherwise."""
    try:
        return TASKS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(TASKS)}") from None
