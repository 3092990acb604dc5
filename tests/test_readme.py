"""The README's example runs as written, with no config file, and its table is queryable."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_example_runs_without_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first python block of the README runs in an empty folder and writes .pipedag/flow.duckdb."""
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.DOTALL)
    assert code is not None
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PIPEDAG_CONFIG", raising=False)
    namespace: dict[str, object] = {}
    exec(compile(code.group(1), str(README), "exec"), namespace)
    assert list(namespace["df"].age2) == [40, 80, 120]  # type: ignore[attr-defined]
    con = duckdb.connect(str(tmp_path / ".pipedag" / "flow.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT name FROM features.summary ORDER BY id").fetchall() == [
            ("Alice",), ("Bob",), ("Charlie",)
        ]
    finally:
        con.close()


def _commands(prefix: str) -> list[str]:
    """Lines of the README's bash blocks that start with ``prefix``, comments stripped."""
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(), re.DOTALL)
    lines = [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line.startswith(prefix)]


def test_readme_sql_command_reads_the_example_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """After the README example, its `pipedag sql` and `pipedag status` lines work as written, without pipedag.yaml."""
    import shlex

    from click.testing import CliRunner

    from pipedag.cli.main import cli

    test_readme_example_runs_without_config(tmp_path, monkeypatch)
    sql = _commands('pipedag sql "')
    assert sql == ['pipedag sql "SELECT * FROM features.summary"']
    result = CliRunner().invoke(cli, shlex.split(sql[0])[1:])
    assert result.exit_code == 0, result.output
    assert "Charlie" in result.stdout and "(3 rows)" in result.stdout
    status = CliRunner().invoke(cli, shlex.split(_commands("pipedag status")[0])[1:])
    assert status.exit_code == 0 and "summary" in status.stdout


def test_readme_repository_command_reads_the_quickstart_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a folder with the repository's pipedag.yaml, the README's --flow quickstart command reads the demo's table."""
    import runpy
    import shlex

    from click.testing import CliRunner

    from pipedag.cli.main import cli

    root = README.parent
    (tmp_path / "pipedag.yaml").write_text((root / "pipedag.yaml").read_text())
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PIPEDAG_CONFIG", raising=False)
    runpy.run_path(str(root / "examples" / "quickstart.py"), run_name="__main__")
    command = re.search(r"`\.venv/bin/(pipedag sql --flow quickstart [^`]*)`", README.read_text())
    assert command is not None
    result = CliRunner().invoke(cli, shlex.split(command.group(1))[1:])
    assert result.exit_code == 0, result.output
    assert "Charlie" in result.stdout and "(3 rows)" in result.stdout
