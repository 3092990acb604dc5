"""The ``pipedag`` command: a click group whose commands import heavy libraries only when they run.

Every error a command raises is printed as one red line saying what to do; ``--debug`` prints
the traceback instead.
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path
from typing import Any

import click

from pipedag.cli.admin import clear_metadata, delete_schemas, gc
from pipedag.cli.batches import batches
from pipedag.cli.explore import shell, sql, status
from pipedag.cli.port import port
from pipedag.cli.running import plan, run
from pipedag.cli.ui import ui
from pipedag.cli.visualize import visualize


class PipedagGroup(click.Group):
    """A group that turns exceptions into one red line (or a traceback with ``--debug``)."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command, reporting failures the pipedag way."""
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort, SystemExit):
            raise
        except BrokenPipeError:
            # The reader went away (`pipedag status | head`): not an error. Point stdout at
            # /dev/null so that the interpreter's final flush does not fail a second time.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(0)
        except Exception as exc:
            if ctx.params.get("debug"):
                traceback.print_exc()
            else:
                click.secho(f"Error: {one_line(exc)} (--debug shows the traceback)", fg="red", err=True)
            ctx.exit(1)


def one_line(exc: BaseException) -> str:
    """The first line of an exception's message, prefixed by its type unless it is pipedag's own.

    A foreign exception (a task's own) also names the file and line of the user's code it came from.
    """
    from pipedag.cli.tracebacks import user_location
    from pipedag.errors import PipedagError

    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    notes = [n for n in getattr(exc, "__notes__", []) if n.startswith("(in pipedag task")]
    if not isinstance(exc, PipedagError):
        text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
        location = user_location(exc)
        notes += [f"at {location}"] if location else []
    return " ".join([text, *notes])


@click.group(cls=PipedagGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="pipedag.yaml to use (default: $PIPEDAG_CONFIG, else searched from the current folder up).",
)
@click.version_option(package_name="pipedag")
@click.pass_context
def cli(ctx: click.Context, debug: bool, config_path: Path | None) -> None:
    """Run pipedag flows and look at what they stored: the iteration loop on the command line."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    ctx.obj["config_path"] = config_path


for command in (run, plan, status, sql, shell, clear_metadata, delete_schemas, gc, visualize, port, ui, batches):
    cli.add_command(command)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="pipedag")


if __name__ == "__main__":  # pragma: no cover - `python -m pipedag.cli.main`
    main()
