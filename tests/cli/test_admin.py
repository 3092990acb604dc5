"""``delete-schemas``, ``clear-metadata`` and ``gc``: only pipedag's own objects, only after confirmation."""

from __future__ import annotations

from typing import Any

import pytest

from pipedag.store.identifiers import qualified, quote

Project = Any  # the fixture's class lives in conftest.py


def _schemas(project: Project) -> set[str]:
    """Schemas of this test's instance (on a shared server, other runs' schemas come and go)."""
    out = project.invoke(
        "sql",
        "SELECT schema_name FROM information_schema.schemata WHERE catalog_name = current_database()",
        "--format", "csv",
    ).stdout
    names = set(out.splitlines()[1:])
    return {n for n in names if n.startswith(project.prefix)} if project.prefix else names


def _sql(project: Project, statement: str) -> None:
    result = project.invoke("sql", statement)
    assert result.exit_code == 0, result.output


def test_delete_schemas_asks_first_and_drops_only_pipedag_schemas(project: Project) -> None:
    """Without --yes a 'no' keeps everything; with it pipedag's schemas go and foreign ones stay."""
    p = project.prefix
    project.invoke("run", "flow.py:flow")
    _sql(project, f"CREATE SCHEMA {quote(p + 'mine')}")
    _sql(project, f"CREATE TABLE {qualified(p + 'features', 'user_notes')} (note TEXT)")
    before = _schemas(project)
    refused = project.invoke("delete-schemas", input="n\n")
    assert refused.exit_code == 1 and "Aborted" in refused.output
    assert _schemas(project) == before
    result = project.invoke("delete-schemas", "--yes")
    assert result.exit_code == 0, result.output
    assert f"Keeping schema {p}features (holds user_notes, which pipedag did not create)." in result.stdout
    after = _schemas(project)
    assert {p + "mine", p + "features"} <= after
    assert not {p + "inputs", p + "inputs__pipedag", p + "features__pipedag"} & after
    left = project.invoke("sql", f"SELECT count(*) AS n FROM {qualified(p + 'features', 'user_notes')}")
    assert left.exit_code == 0
    views = project.invoke(
        "sql", f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{p}features'", "--format", "csv"
    )
    assert views.stdout.splitlines()[1:] == ["user_notes"]


def test_clear_metadata_forgets_the_cache(project: Project) -> None:
    """After clear-metadata the next run recomputes every task."""
    project.invoke("run", "flow.py:flow")
    assert project.invoke("clear-metadata", input="y\n").exit_code == 0
    again = project.invoke("run", "flow.py:flow")
    assert "3 ran, 0 cache-valid" in again.stdout


def test_gc_drops_unreferenced_tables_after_confirmation(project: Project) -> None:
    """A stray table in a data schema is listed, kept on 'no', dropped on --yes; nothing else changes."""
    p = project.prefix
    project.invoke("run", "flow.py:flow")
    assert project.invoke("gc", "--yes").stdout.strip() == "Nothing to do."
    _sql(project, f"CREATE TABLE {qualified(p + 'features__pipedag', 'stray__0123456789ab')} (x INT)")
    refused = project.invoke("gc", input="n\n")
    assert f"table {p}features__pipedag.stray__0123456789ab" in refused.stdout and refused.exit_code == 1
    done = project.invoke("gc", "--yes")
    assert done.exit_code == 0 and "Dropped 1 tables of instance mini." in done.stdout
    assert "0 ran, 3 cache-valid" in project.invoke("run", "flow.py:flow").stdout


def test_metadata_of_another_instance_is_left_alone(duckdb_project: Project) -> None:
    """Instances with different schema prefixes keep separate metadata: clearing or deleting one keeps the other's."""
    duckdb_project.invoke("run", "flow.py:flow", "-i", "other")
    duckdb_project.invoke("run", "flow.py:flow", "-i", "mini")
    cleared = duckdb_project.invoke("clear-metadata", "--yes")
    assert cleared.exit_code == 0, cleared.output
    counts = duckdb_project.invoke(
        "sql",
        "SELECT (SELECT count(*) FROM dev_pipedag_metadata.runs), "
        "(SELECT count(*) FROM dev_other_pipedag_metadata.runs)",
        "--format", "csv",
    ).stdout
    assert counts.splitlines()[1:] == ["0,1"]
    assert "0 ran, 3 cache-valid" in duckdb_project.invoke("run", "flow.py:flow", "-i", "other").stdout
    done = duckdb_project.invoke("delete-schemas", "--yes")
    assert done.exit_code == 0, done.output
    assert {"dev_other_features", "dev_other_pipedag_metadata"} <= _schemas(duckdb_project)


def _raw_schemas(project: Project) -> set[str]:
    """Schemas in the database, listed without pipedag (which could create its metadata schema)."""
    if project.backend == "duckdb":
        import duckdb

        path = project.url.removeprefix("duckdb:///")
        with duckdb.connect(path, read_only=True) as con:
            return {r[0] for r in con.execute("SELECT schema_name FROM information_schema.schemata").fetchall()}
    import psycopg

    with psycopg.connect(project.url, autocommit=True) as con:
        rows = con.execute("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)", [project.prefix])
        return {r[0] for r in rows.fetchall()}


def test_admin_commands_create_nothing(project: Project) -> None:
    """delete-schemas, gc and clear-metadata inspect without creating: a second delete-schemas has nothing to do."""
    p = project.prefix
    project.invoke("run", "flow.py:flow")
    first = project.invoke("delete-schemas", "--yes")
    assert first.exit_code == 0 and f"schema {p}pipedag_metadata" in first.stdout
    for command in ("delete-schemas", "gc", "clear-metadata"):
        again = project.invoke(command, "--yes")
        assert again.exit_code == 0 and "Nothing to do" in again.stdout, again.output
    assert f"{p}pipedag_metadata" not in _raw_schemas(project)


def test_admin_commands_on_a_missing_duckdb_file_create_no_file(duckdb_project: Project) -> None:
    """Before the first run, admin commands report nothing to do and do not create the database file."""
    for command in ("delete-schemas", "gc", "clear-metadata"):
        result = duckdb_project.invoke(command, "--yes")
        assert result.exit_code == 0 and "Nothing to do" in result.stdout
    assert not (duckdb_project.path / "mini.duckdb").exists()


def test_admin_commands_wait_for_the_instance_lock(project: Project) -> None:
    """gc, clear-metadata and delete-schemas take the instance lock: while a run holds it they fail and drop nothing."""
    from pipedag import create_basic_pipedag_config
    from pipedag.store.locks import instance_lock

    project.invoke("run", "flow.py:flow")
    yaml = (project.path / "pipedag.yaml").read_text()
    lock_timeout = "    lock_manager:\n      args:\n        timeout: 0.3\n"
    (project.path / "pipedag.yaml").write_text(yaml.replace("    tags: [fast]\n", "    tags: [fast]\n" + lock_timeout))
    before = _raw_schemas(project)
    running = create_basic_pipedag_config(project.url, schema_prefix=project.prefix).get()
    with instance_lock(running):
        for command in ("gc", "clear-metadata", "delete-schemas"):
            result = project.invoke(command, "--yes")
            assert result.exit_code == 1 and "locked" in result.output, result.output
    assert _raw_schemas(project) == before


def test_delete_schemas_refuses_to_drop_a_user_view(project: Project) -> None:
    """On PostgreSQL a user's view reading a pipedag view blocks delete-schemas, which names it and drops nothing."""
    if project.backend != "postgres":
        pytest.skip("DuckDB does not drop views that read dropped objects")
    p = project.prefix
    project.invoke("run", "flow.py:flow")
    _sql(project, f"CREATE SCHEMA {quote(p + 'mine')}")
    view = qualified(p + "mine", "v")
    _sql(project, f"CREATE VIEW {view} AS SELECT * FROM {qualified(p + 'features', 'summary')}")
    before = _raw_schemas(project)
    refused = project.invoke("delete-schemas", "--yes")
    assert refused.exit_code == 1 and f"{p}mine.v" in refused.output and "DROP VIEW" in refused.output
    assert _raw_schemas(project) == before
    _sql(project, f"DROP VIEW {view}")
    assert project.invoke("delete-schemas", "--yes").exit_code == 0
    assert _raw_schemas(project) == {p + "mine"}
