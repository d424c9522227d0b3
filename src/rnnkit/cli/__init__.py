"""The ``rnnkit`` command line (``[project.scripts] rnnkit = "rnnkit.cli:app"``).

``app`` lives in ``rnnkit.cli.app``; each module below adds its commands to it when imported.
"""

from rnnkit.cli.app import app
from rnnkit.cli import train  # noqa: F401  tasks, train, evaluate, predict, summary
from rnnkit.cli import diagnose  # noqa: F401  diagnose, gradcheck
from rnnkit.cli import generate  # noqa: F401  generate, translate

__all__ = ["app"]
