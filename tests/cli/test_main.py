"""The ``pipedag`` entry point: fast start-up without heavy imports, and the help text."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from pipedag.cli.main import cli, one_line
from pipedag.errors import ConfigError


def test_help_does_not_import_heavy_libraries() -> None:
    """Loading the CLI imports none of pandas, polars, pyarrow, duckdb, psycopg or SQLAlchemy (they cost ~1 s)."""
    code = (
        "import sys; from pipedag.cli.main import cli; "
        "heavy = ('pandas', 'polars', 'pyarrow', 'duckdb', 'psycopg', 'sqlalchemy'); "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_help_lists_every_command() -> None:
    """--help shows all commands of the iteration loop."""
    out = CliRunner().invoke(cli, ["--help"]).output
    commands = ("run", "plan", "status", "sql", "shell", "clear-metadata", "delete-schemas", "gc", "visualize")
    for command in (*commands, "batches"):
        assert f"  {command} " in out


def test_one_line_keeps_pipedag_messages_and_prefixes_others() -> None:
    """pipedag's errors print as they are (first line only); foreign ones get their type name."""
    assert one_line(ConfigError("Bad key.\nSQL: long")) == "Bad key."
    error = KeyError("x")
    error.add_note("(in pipedag task s.t)")
    assert one_line(error) == "KeyError: 'x' (in pipedag task s.t)"
