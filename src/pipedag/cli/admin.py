"""Housekeeping for one instance: ``clear-metadata``, ``delete-schemas`` and ``gc``.

These commands only touch what pipedag created: its metadata schema, the data schemas
(``<stage schema>__pipedag``) and the views it published. A stage schema that also holds
objects pipedag did not create is kept; only pipedag's views are removed from it. When a
view pipedag did not create reads something that would be dropped, nothing is dropped.
Each command shows what it will drop and asks before doing it, unless ``--yes``. They hold
the instance lock (a run cannot be writing meanwhile) and create nothing: an instance that
never ran has nothing to drop.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import click

from pipedag.cli.loading import instance_option, load_instance
from pipedag.errors import PipedagError

if TYPE_CHECKING:
    from pipedag.config.context import ConfigContext
    from pipedag.store.base import SQLTableStore

yes_option = click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")


@contextmanager
def _locked_store(config: ConfigContext) -> Iterator[SQLTableStore | None]:
    """The instance's store, opened under its lock without creating anything; None if it holds no metadata."""
    from pipedag.store.locks import instance_lock

    store = config.create_store()
    if not store.database_exists():
        yield None
        return
    with instance_lock(config):
        store.open(create=False)
        try:
            yield store if store.metadata_exists() else None
        finally:
            store.close()


def _confirm(what: list[str], yes: bool) -> bool:
    if not what:
        click.echo("Nothing to do.")
        return False
    click.echo("This will drop:\n" + "\n".join(f"  {w}" for w in what))
    if not yes:
        click.confirm("Proceed?", abort=True)
    return True


def _objects(store: SQLTableStore, schema: str) -> dict[str, str]:
    """Objects of ``schema``: name -> ``BASE TABLE`` / ``VIEW`` (standard information_schema)."""
    rows = store.execute_sql(
        "SELECT table_name, table_type FROM information_schema.tables "
        f"WHERE table_schema = {_literal(schema)} AND table_catalog = current_database()"
    )
    return {name: kind for name, kind in rows}


def _schemas(store: SQLTableStore) -> set[str]:
    rows = store.execute_sql(
        "SELECT schema_name FROM information_schema.schemata WHERE catalog_name = current_database()"
    )
    return {r[0] for r in rows}


def _other_instances(store: SQLTableStore) -> list[str]:
    """Instance ids other than the store's own with runs in the (database-wide) metadata schema."""
    import sqlalchemy as sa

    from pipedag.store import metadata as md

    query = sa.select(md.runs.c.instance_id).distinct().where(md.runs.c.instance_id != store.config.instance_id)
    return sorted(r[0] for r in store.execute(query))


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass
class _Drops:
    """What delete-schemas will remove."""

    schemas: list[str] = field(default_factory=list)
    views: list[tuple[str, str]] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    #: Relations (``(schema, name)``) that go with the drops, for the dependency check.
    relations: list[tuple[str, str]] = field(default_factory=list)

    def describe(self) -> list[str]:
        views = [f"view {s}.{v}" for s, v in self.views]
        return [f"schema {s} (with everything in it)" for s in self.schemas] + views


def _plan_drops(store: SQLTableStore) -> _Drops:
    from pipedag.cli.explore import known_stages

    drops = _Drops()
    existing = _schemas(store)
    stages = known_stages(store)
    histories = store.load_history(stages)
    for stage in stages:
        ours = {ref.name for records in histories[stage].versions.values() for r in records for ref in r.tables()}
        schema, data = store.stage_schema(stage), store.data_schema(stage)
        if data in existing:
            drops.schemas.append(data)
            drops.relations += [(data, n) for n in _objects(store, data)]
        if schema not in existing:
            continue
        objects = _objects(store, schema)
        foreign = sorted(n for n, kind in objects.items() if n not in ours or kind != "VIEW")
        if foreign:
            drops.views += [(schema, n) for n in sorted(objects) if n not in foreign]
            drops.kept.append(f"{schema} (holds {', '.join(foreign)}, which pipedag did not create)")
        else:
            drops.schemas.append(schema)
        drops.relations += [(schema, n) for n in objects if n not in foreign]
    others = _other_instances(store)
    if others:
        drops.kept.append(f"{store.metadata_schema} (it also records instances {', '.join(others)})")
    else:
        drops.schemas.append(store.metadata_schema)
    return drops


@click.command("delete-schemas")
@instance_option
@yes_option
@click.pass_context
def delete_schemas(ctx: click.Context, instance: str | None, yes: bool) -> None:
    """Drop every schema pipedag created for an instance (stages, their data, metadata)."""
    from pipedag.store.identifiers import qualified, quote

    config = load_instance(ctx, instance)
    with _locked_store(config) as store:
        if store is None:
            click.echo(f"Nothing to do: instance {config.instance_name} has no pipedag schemas.")
            return
        drops = _plan_drops(store)
        for kept in drops.kept:
            click.echo(f"Keeping schema {kept}.")
        _refuse_dependents(store, drops)
        if not _confirm(drops.describe(), yes):
            return
        with store.transaction():
            _refuse_dependents(store, drops)  # again inside the transaction that drops
            for schema, view in drops.views:
                store.execute_sql(f"DROP VIEW IF EXISTS {qualified(schema, view)}")
            for schema in drops.schemas:
                store.execute_sql(f"DROP SCHEMA IF EXISTS {quote(schema)} CASCADE")
    click.echo(f"Dropped {len(drops.schemas)} schemas and {len(drops.views)} views of instance {config.instance_name}.")


def _refuse_dependents(store: SQLTableStore, drops: _Drops) -> None:
    """Fail, dropping nothing, when views pipedag did not create read what would be dropped."""
    dependents = store.dependent_views(drops.relations)
    if dependents:
        raise PipedagError(
            f"Not dropping anything: {', '.join(dependents)} (not created by pipedag) read tables or views of "
            f"instance {store.config.instance_name!r} and would be dropped with them. Drop or change those views "
            "first (e.g. DROP VIEW ...), then run delete-schemas again."
        )


@click.command("clear-metadata")
@instance_option
@yes_option
@click.pass_context
def clear_metadata(ctx: click.Context, instance: str | None, yes: bool) -> None:
    """Forget run history and cache records (the metadata schema); stage tables stay.

    The next run recomputes every task, since no cache record is left.
    """
    from pipedag.store.identifiers import quote

    config = load_instance(ctx, instance)
    with _locked_store(config) as store:
        if store is None:
            click.echo(f"Nothing to do: instance {config.instance_name} has no metadata.")
            return
        others = _other_instances(store)
        if others:
            raise PipedagError(
                f"The metadata schema {store.metadata_schema} of this database also records instances "
                f"{', '.join(others)}; clearing it would clear theirs too. Clear it with a database client "
                "if that is what you want."
            )
        if not _confirm([f"schema {store.metadata_schema} (run history and cache records)"], yes):
            return
        store.execute_sql(f"DROP SCHEMA IF EXISTS {quote(store.metadata_schema)} CASCADE")
    click.echo(f"Cleared the metadata of instance {config.instance_name}; the next run recomputes every task.")


@click.command()
@instance_option
@yes_option
@click.pass_context
def gc(ctx: click.Context, instance: str | None, yes: bool) -> None:
    """Drop stage versions beyond keep_stage_versions and tables no kept version uses."""
    from pipedag.cli.explore import known_stages

    config = load_instance(ctx, instance)
    with _locked_store(config) as store:
        if store is None:
            click.echo(f"Nothing to do: instance {config.instance_name} has no metadata.")
            return
        stages = known_stages(store)
        histories = store.load_history(stages)
        keep = config.keep_stage_versions
        what: list[str] = []
        for stage, history in histories.items():
            kept = sorted(history.versions, reverse=True)[:keep]
            referenced = {
                t.physical_name for v in kept for r in history.versions[v] for t in r.tables()
            }
            schema = store.data_schema(stage)
            what += [f"version {v} of stage {stage}" for v in sorted(history.versions) if v not in kept]
            what += [f"table {schema}.{t}" for t in sorted(store.list_tables(schema) - referenced)]
        if not _confirm(what, yes):
            return
        dropped = sum(len(store.collect_garbage(stage, history)) for stage, history in histories.items())
    click.echo(f"Dropped {dropped} tables of instance {config.instance_name}.")
