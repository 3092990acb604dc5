"""The examples in docs/instances.md and docs/postgresql.md really work."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from pipedag import PipedagConfig

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _blocks(page: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", (DOCS / page).read_text(), flags=re.S)


def test_instances_page_yaml_resolves(tmp_path: Path) -> None:
    """The pipedag.yaml shown in docs/instances.md loads, and full and mini resolve as the page says."""
    (tmp_path / "postgres_attrs.yaml").write_text("user: postgres\nhost: localhost\nport: 5432\n")
    (tmp_path / "pipedag.yaml").write_text(_blocks("instances.md", "yaml")[0])
    config = PipedagConfig(tmp_path / "pipedag.yaml")
    mini = config.get("mini")
    assert (mini.instance_id, mini.schema_prefix) == ("mini", "mini_")
    assert mini.table_store_url == "duckdb:///.pipedag/example_pipeline.duckdb"
    assert dict(mini.attrs) == {"copy_from": "full", "sample_customers": 5}
    assert yaml.safe_load(_blocks("instances.md", "yaml")[0])["instances"]["full"]["attrs"] == {"customers": 2000}


@pytest.mark.postgres
def test_postgresql_page_example_runs(postgres_url: str, pg_prefix: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The first Python example of docs/postgresql.md runs on the server (with the test's URL and prefix)."""
    code = _blocks("postgresql.md", "python")[0]
    code = code.replace("postgresql://postgres@127.0.0.1:5432/test", postgres_url).replace('"demo_"', repr(pg_prefix))
    exec(compile(code, "docs/postgresql.md", "exec"), {})
    assert capsys.readouterr().out.split()[:2] == ["n", "0"]
