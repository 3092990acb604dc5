"""`pipedag port`: renames pydiverse.pipedag imports, converts pipedag.yaml, reports the rest with file:line."""

from __future__ import annotations

import runpy
import textwrap
import warnings
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from pipedag import PipedagConfig
from pipedag.cli.main import cli

PROGRAM = textwrap.dedent(
    """\
    import pandas as pd
    from pydiverse.pipedag import (
        Flow,
        Stage,
        Table,
        materialize,
    )
    from pydiverse.pipedag.context import StageLockContext
    from pydiverse.pipedag.core.config import PipedagConfig
    from pydiverse.common.util.structlog import setup_logging

    @materialize(version="1")
    def numbers():
        return Table(pd.DataFrame({"n": [1, 2]}), "numbers")

    with Flow("ported") as flow:
        with Stage("s"):
            out = numbers()

    if __name__ == "__main__":
        cfg = PipedagConfig("pipedag.yaml").get("full")
        with StageLockContext():
            print(flow.run(config=cfg).get(out)["n"].sum())
    """
)

CONFIG = textwrap.dedent(
    """\
    name: ported
    strict_instance_lookup: true
    instances:
      full:
        network_interface: "127.0.0.1"
        table_store:
          class: "pydiverse.pipedag.backend.table.SQLTableStore"
          args:
            url: "duckdb:///{$PORT_DIR}/db.duckdb"
            print_sql: true
        lock_manager:
          class: "pydiverse.pipedag.backend.lock.NoLockManager"
    """
)


def project(tmp_path: Path) -> Path:
    (tmp_path / "flow.py").write_text(PROGRAM)
    (tmp_path / "pipedag.yaml").write_text(CONFIG)
    return tmp_path


def test_port_shows_a_diff_and_reports_without_writing(tmp_path: Path) -> None:
    """Without --write the files stay as they are; the diff and the untranslatable items are shown."""
    root = project(tmp_path)
    result = CliRunner().invoke(cli, ["port", str(root)])
    assert result.exit_code == 0, result.output
    assert "+from pipedag.context import StageLockContext" in result.output
    assert "-from pydiverse.pipedag import (" in result.output and "+from pipedag import (" in result.output
    assert f"{root / 'flow.py'}:10: `pydiverse.common.util.structlog` has no pipedag counterpart" in result.output
    assert f"{root / 'pipedag.yaml'}:5: instances.full.network_interface is dropped" in result.output
    assert f"{root / 'pipedag.yaml'}:10: instances.full.table_store.args.print_sql is dropped" in result.output
    assert "2 of 2 files would change" in result.output
    assert (root / "flow.py").read_text() == PROGRAM and (root / "pipedag.yaml").read_text() == CONFIG


def test_ported_project_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """After --write the program runs on pipedag and the converted pipedag.yaml loads without warnings."""
    root = project(tmp_path)
    result = CliRunner().invoke(cli, ["port", "--write", str(root / "flow.py"), str(root / "pipedag.yaml")])
    assert "2 of 2 files converted" in result.output
    source = (root / "flow.py").read_text()
    assert "pydiverse.pipedag" not in source and "from pipedag.core.config import PipedagConfig" in source
    (root / "flow.py").write_text(source.replace("from pydiverse.common.util.structlog import setup_logging\n", ""))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cfg = PipedagConfig(yaml.safe_load((root / "pipedag.yaml").read_text()))
    assert cfg.raw["instances"]["full"]["lock_manager"] == {"class": "none"}
    monkeypatch.chdir(root)
    monkeypatch.setenv("PORT_DIR", str(root))
    runpy.run_path(str(root / "flow.py"), run_name="__main__")
    assert capsys.readouterr().out.strip().splitlines()[-1] == "3"


def test_unknown_module_and_missing_names_are_reported(tmp_path: Path) -> None:
    """An import of a peer module or name pipedag lacks is reported with its file and line."""
    path = tmp_path / "x.py"
    path.write_text("import os\nfrom pydiverse.pipedag import Schema, Table\nfrom pydiverse.pipedag.backend import X\n")
    result = CliRunner().invoke(cli, ["port", str(path)])
    assert f"{path}:2: pipedag has no Schema" in result.output
    assert f"{path}:3: `pydiverse.pipedag.backend` has no pipedag counterpart" in result.output
