"""A throw-away project for CLI tests: pipedag.yaml + a flow file, on DuckDB or PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pipedag.cli.main import cli
from pipedag.store.registry import STORES

FLOW = '''
import pandas as pd
import sqlalchemy as sa
from pipedag import Flow, Stage, Table, materialize


@materialize(version="{version}", nout=2)
def inputs():
    names = pd.DataFrame({{"id": [1, 2, 3], "name": ["Alice", "Bob", "Charlie"]}})
    ages = pd.DataFrame({{"id": [1, 2, 3], "age": [20, 40, 60]}})
    return Table(names, "names"), Table(ages, "ages")


@materialize(lazy=True)
def joined(names, ages):
    return sa.select(names.c.id, names.c.name, ages.c.age).join_from(names, ages, names.c.id == ages.c.id)


@materialize(version="1")
def summary(df):
    if {fail}:
        raise ValueError("boom")
    return Table(df.assign(age2=df.age * 2), "summary")


def build():
    with Flow("demo") as flow:
        with Stage("inputs"):
            names, ages = inputs()
        with Stage("features"):
            summary(joined(names, ages))
    return flow


flow = build()
not_a_flow = 42
'''


@dataclass
class Project:
    """A folder with pipedag.yaml and flow.py, and a runner for ``pipedag`` commands in it."""

    path: Path
    backend: str
    url: str
    prefix: str

    def write_flow(self, version: str = "1", fail: bool = False) -> None:
        """(Re)write flow.py with this version of the inputs task, optionally failing in summary."""
        (self.path / "flow.py").write_text(FLOW.format(version=version, fail=fail))

    def invoke(self, *args: str, input: str | None = None) -> Result:
        """Run ``pipedag ARGS`` in the project folder."""
        return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def _yaml(url: str, prefix: str) -> str:
    return f"""
name: demo
instances:
  mini:
    instance_id: mini
    tags: [fast]
    table_store:
      args:
        url: "{url}"
        schema_prefix: "{prefix}"
  other:
    instance_id: other
    table_store:
      args:
        url: "{url}"
        schema_prefix: "{prefix}other_"
"""


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def project(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, schema_prefix: str
) -> Iterator[Project]:
    """The demo project on each backend (PostgreSQL once its store is registered)."""
    if request.param == "duckdb":
        url, prefix = f"duckdb:///{tmp_path / 'mini.duckdb'}", ""
    else:
        if "postgresql" not in STORES:
            pytest.skip("the PostgreSQL table store is not on this branch yet")
        url, prefix = request.getfixturevalue("postgres_url"), schema_prefix
    (tmp_path / "pipedag.yaml").write_text(_yaml(url, prefix))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PIPEDAG_CONFIG", raising=False)
    project = Project(tmp_path, request.param, url, prefix)
    project.write_flow()
    yield project
    if request.param == "postgres":
        project.invoke("delete-schemas", "--yes")
        project.invoke("delete-schemas", "--yes", "--instance", "other")


@pytest.fixture
def duckdb_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """The demo project on DuckDB only (for DuckDB-specific behaviour)."""
    url = f"duckdb:///{tmp_path / 'mini.duckdb'}"
    (tmp_path / "pipedag.yaml").write_text(_yaml(url, "dev_"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PIPEDAG_CONFIG", raising=False)
    project = Project(tmp_path, "duckdb", url, "dev_")
    project.write_flow()
    return project


Invoke = Callable[..., Result]


@pytest.fixture
def bare_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """Just flow.py, no pipedag.yaml anywhere up the tree."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PIPEDAG_CONFIG", raising=False)
    project = Project(tmp_path, "duckdb", "", "")
    project.write_flow()
    return project
