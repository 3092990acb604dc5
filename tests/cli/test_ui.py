"""``pipedag ui`` on the command line: options, start-up cost, and its one-line errors."""

from __future__ import annotations

import socket
import subprocess
import sys

from tests.cli.conftest import Project


def test_cli_start_up_does_not_import_the_ui_stack() -> None:
    """Loading the pipedag command leaves Starlette, uvicorn and the database drivers unimported."""
    code = (
        "import sys; import pipedag.cli.main; "
        "print(sorted(m for m in ('starlette', 'uvicorn', 'duckdb', 'pipedag.ui.server') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_ui_help_names_its_options(duckdb_project: Project) -> None:
    """``pipedag ui --help`` documents the address options and the optional flow."""
    result = duckdb_project.invoke("ui", "--help")
    assert result.exit_code == 0
    for option in ("--instance", "--flow", "--host", "--port", "FLOW"):
        assert option in result.output


def test_a_taken_port_is_a_one_line_error(duckdb_project: Project) -> None:
    """A port another process listens on fails with a message saying to pick another."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = duckdb_project.invoke("ui", "--instance", "mini", "--port", str(port))
    assert result.exit_code == 1
    assert f"Cannot listen on 127.0.0.1:{port}" in result.output and "pick another --port" in result.output


def test_flow_and_flow_name_exclude_each_other(duckdb_project: Project) -> None:
    """Giving a flow file and --flow NAME together is a usage error."""
    result = duckdb_project.invoke("ui", "flow.py:build", "--flow", "demo")
    assert result.exit_code == 2
    assert "not both" in result.output
