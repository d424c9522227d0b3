from rnnkit.cli import app; app(prog_name="rnnkit")  # noqa: E702  (python -m rnnkit)
