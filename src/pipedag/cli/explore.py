"""``pipedag status``, ``pipedag sql`` and ``pipedag shell``: look at what an instance stored."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import click

from pipedag.cli.loading import flow_option, instance_option, load_explored_instance

if TYPE_CHECKING:
    from pipedag.store.base import SQLTableStore


def known_stages(store: SQLTableStore) -> list[str]:
    """Stages with a published version in this store's metadata, sorted."""
    import sqlalchemy as sa

    from pipedag.store import metadata as md

    rows = store.execute(sa.select(md.stage_versions.c.stage).distinct())
    return sorted(r[0] for r in rows)


@click.command()
@instance_option
@flow_option
@click.option("--runs", "run_limit", default=5, show_default=True, help="How many recent runs to list.")
@click.pass_context
def status(ctx: click.Context, instance: str | None, flow_name: str | None, run_limit: int) -> None:
    """Stages, tables, row counts, recent runs and the last run's decisions of an instance."""
    import sqlalchemy as sa

    from pipedag.engine.summary import render_table
    from pipedag.incremental.state import QUARANTINE_HEADERS, STATUS_HEADERS, quarantined_keys, status_rows
    from pipedag.store import metadata as md
    from pipedag.store.run_history import recent_runs, task_runs

    config = load_explored_instance(ctx, instance, flow_name)
    click.echo(f"Instance {config.instance_name} (id {config.instance_id}) of {config.pipeline_name}")
    with config.create_store() as store:
        v = md.stage_versions
        published = dict(store.execute(sa.select(v.c.stage, sa.func.max(v.c.published_at)).group_by(v.c.stage)))
        histories = store.load_history(sorted(published))
        stage_rows = [
            (s, store.stage_schema(s), max(h.versions), len(h.versions), str(published[s])[:19])
            for s, h in sorted(histories.items())
        ]
        table_rows = [
            (s, ref.name, ref.rows, r.task, ref.physical_name)
            for s, h in sorted(histories.items())
            for r in h.current
            for ref in r.tables()
        ]
        runs = recent_runs(store, run_limit)
        last = task_runs(store, runs[0].run_id) if runs else []
        incremental = status_rows(store)
        quarantined = quarantined_keys(store)
    _section("Stages", render_table(("stage", "schema", "version", "kept", "published"), stage_rows), stage_rows)
    _section("Tables", render_table(("stage", "table", "rows", "task", "physical table"), table_rows), table_rows)
    if incremental:
        title = "Incremental tasks (keys now; counts of the last run that changed them)"
        _section(title, render_table(STATUS_HEADERS, incremental), incremental)
    if quarantined:
        _section("Quarantined keys", render_table(QUARANTINE_HEADERS, quarantined), quarantined)
    run_rows = [
        (r.run_id, r.flow, r.status, str(r.started_at)[:19], None if r.seconds is None else round(r.seconds, 2))
        for r in runs
    ]
    _section("Recent runs", render_table(("run", "flow", "status", "started", "seconds"), run_rows), run_rows)
    if runs:
        rows = [(t.task, t.stage, t.decision, t.rows, round(t.seconds, 3), t.reason) for t in last]
        headers = ("task", "stage", "decision", "rows", "seconds", "reason")
        _section(f"Run {runs[0].run_id} decisions", render_table(headers, rows), rows)


def _section(title: str, table: str, rows: list[Any]) -> None:
    click.echo(f"\n{title}:")
    click.echo(table if rows else "  (none yet: run a flow on this instance first)")


@click.command()
@click.argument("query")
@instance_option
@flow_option
@click.option(
    "--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True,
    help="Output format.",
)
@click.option("--max-rows", default=50, show_default=True, help="Rows shown in table format (0: all).")
@click.pass_context
def sql(ctx: click.Context, query: str, instance: str | None, flow_name: str | None, fmt: str, max_rows: int) -> None:
    """Run explorative SQL on an instance; stage schemas can be named by plain stage names."""
    from pipedag.cli.backends import run_query
    from pipedag.cli.sql_names import qualify_stage_names

    config = load_explored_instance(ctx, instance, flow_name)
    with config.create_store() as store:
        schemas = {stage: store.stage_schema(stage) for stage in known_stages(store)}
        columns, rows = run_query(store, qualify_stage_names(query, schemas))
    _print_rows(columns, rows, fmt, max_rows)


def _print_rows(columns: list[str], rows: list[tuple[Any, ...]], fmt: str, max_rows: int) -> None:
    from pipedag.engine.summary import render_table

    if fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
    elif fmt == "json":
        click.echo(json.dumps([dict(zip(columns, r, strict=True)) for r in rows], indent=2, default=str))
    elif columns:
        shown = rows if max_rows <= 0 else rows[:max_rows]
        click.echo(render_table(columns, shown))
        more = f", {max_rows} shown (--max-rows 0 for all)" if len(shown) < len(rows) else ""
        click.echo(f"({len(rows)} rows{more})")
    else:
        click.echo("OK")


@click.command()
@instance_option
@flow_option
@click.option("--command", "-c", help="Run this one command and exit instead of opening an interactive session.")
@click.pass_context
def shell(ctx: click.Context, instance: str | None, flow_name: str | None, command: str | None) -> None:
    """Open the database's own client on an instance (duckdb or psql; else a Python REPL)."""
    from pipedag.cli.backends import shell_argv

    config = load_explored_instance(ctx, instance, flow_name)
    store = config.create_store()
    argv = shell_argv(store, command)
    if argv is not None:
        # The client needs the database to itself: DuckDB files allow only one writer process.
        ctx.exit(subprocess.call(argv))
    _python_shell(store, command)


def _python_shell(store: SQLTableStore, command: str | None) -> None:
    import code

    from pipedag.cli.backends import run_query

    with store:
        if command is not None:
            columns, rows = run_query(store, command)
            _print_rows(columns, rows, "table", 0)
            return
        con = getattr(store, "connection", None)
        banner = (
            f"pipedag shell on {store.config.table_store_url} (no {store.name} client installed).\n"
            "`con` is the database connection, `store` the pipedag store, `sql(query)` prints a query's rows.\n"
            "Exit with Ctrl-D."
        )

        def show(query: str) -> None:
            _print_rows(*run_query(store, query), "table", 50)

        code.interact(banner=banner, local={"con": con, "store": store, "sql": show}, exitmsg="")
