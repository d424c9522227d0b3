"""The typer application every command module adds its commands to.

Errors a user can cause (a bad task name, a bad option value, an unwritable folder, a damaged
model file) end the program with ONE line on stderr, ``Error: ...``, and exit status 2 (usage)
or 1 (anything else), never a traceback: `_OneLineErrors` runs click in non-standalone mode and
formats what comes back.

Ctrl-C ends with ONE line too, ``Aborted.`` or ``Aborted: <what the command leaves behind>``,
and exit status 130. typer's own main turns a KeyboardInterrupt into a silent ``Exit(130)``,
so `_OneLineErrors.invoke` turns it into `Interrupted` first, and a command that has something
to say about the interruption (``rnnkit train``: what the run folder holds) raises its own.
"""

from __future__ import annotations

import re
import sys

import typer
from typer.core import TyperGroup

# What the library raises for bad input or an environment problem; anything else is a bug and
# keeps its traceback.
USER_ERRORS = (ValueError, OSError, FloatingPointError, NotImplementedError)


class Interrupted(Exception):
    """Ctrl-C; the message (may be empty) says what the interrupted command leaves behind."""


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _dash_hint(error) -> str:
    """`rnnkit predict RUN -0.3,0.5` reads the input as the short options -0, -., ...: click's
    "No such option: -0" does not say how to pass a negative number."""
    name = getattr(error, "option_name", None) or ""
    if type(error).__name__ == "NoSuchOption" and re.fullmatch(r"-[0-9.]", name):
        return " (an input that starts with '-' goes after `--`, e.g. `rnnkit predict RUN -- -0.3,0.5`)"
    return ""


class _OneLineErrors(TyperGroup):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            raise Interrupted() from None

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            code = super().main(args=args, prog_name=prog_name, complete_var=complete_var,
                                standalone_mode=False, **extra)
            code = code if isinstance(code, int) else 0
        except Interrupted as e:
            typer.echo(f"Aborted: {_one_line(str(e))}" if str(e) else "Aborted.", err=True)
            code = 130
        except typer.Abort:
            typer.echo("Aborted.", err=True)
            code = 130
        except typer.TyperException as e:  # click's errors (typer vendors click): usage, bad values
            if type(e).__name__ == "NoArgsIsHelpError":
                typer.echo(e.ctx.get_help())
                code = 0
            else:
                typer.echo(f"Error: {_one_line(e.format_message())}{_dash_hint(e)}", err=True)
                code = e.exit_code
        except USER_ERRORS as e:
            typer.echo(f"Error: {_one_line(str(e)) or type(e).__name__}", err=True)
            code = 1
        if standalone_mode:
            sys.exit(code)
        return code


app = typer.Typer(
    cls=_OneLineErrors,
    name="rnnkit",
    help="Train, evaluate and query recurrent networks on the classic sequence tasks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _show_version(value: bool) -> None:
    if value:
        from rnnkit import __version__

        typer.echo(f"rnnkit {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(False, "--version", callback=_show_version, is_eager=True,
                                 help="print the version and exit"),
) -> None:
    """rnnkit: RNN, LSTM and GRU with hand-written backpropagation through time.

    Start with `rnnkit tasks`, then `rnnkit train names`.
    """
