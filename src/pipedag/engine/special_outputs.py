"""Storing the outputs that are not one frame -> one table: RawSql scripts, blobs, external tables."""

from __future__ import annotations

import re
from collections.abc import Callable

from pipedag.core.blob import Blob, BlobRef
from pipedag.core.external import ExternalTableReference
from pipedag.core.names import check_name
from pipedag.core.raw_sql import RawSql
from pipedag.core.table import TableRef
from pipedag.errors import PipedagError, TaskError
from pipedag.store.base import SQLTableStore
from pipedag.store.blob_store import FileBlobStore
from pipedag.store.history import StageHistory
from pipedag.store.identifiers import qualified, quote

#: Physical tables are ``<name>__<12 hex digits>``; anything else in a data schema is a leftover.
_PHYSICAL = re.compile(r"^.+__[0-9a-f]{12}$")


def run_raw_sql(
    store: SQLTableStore,
    stage: str,
    raw: RawSql,
    label: str,
    identity_of: Callable[[str], str],
    claim: Callable[[str], None],
) -> dict[str, TableRef]:
    """Run a script in the stage's data schema and turn every table it created into a TableRef.

    Tables are created under their plain names, then renamed to physical names (``name__key``)
    so that they sit beside the stage's other physical tables. On failure, whatever the script
    created is dropped again.

    Args:
        store: The open table store.
        stage: Stage name.
        raw: The script.
        label: ``stage.task`` for errors.
        identity_of: Content identity of a created table, by table name.
        claim: Registers a table name for the task (raises on a clash with another task).

    Raises:
        TaskError: when the script fails, creates no table, or creates a badly named one.
    """
    schema = store.data_schema(stage)
    with store.schema_script_lock(schema):  # tasks of the stage may run at once; scripts take turns
        before = _plain(store.list_tables(schema))
        for name in sorted(before):  # plain names only appear when a script crashed mid-way
            store.execute_sql(f"DROP TABLE IF EXISTS {qualified(schema, name)}")
        try:
            store.execute_sql(raw.render(quote(schema)))
        except PipedagError as exc:
            _drop(store, schema, _plain(store.list_tables(schema)))
            raise TaskError(f"Task {label}: RawSql {raw.name!r} failed: {exc}") from exc
        # Other tasks' tables appear meanwhile, but always under physical names.
        created = sorted(_plain(store.list_tables(schema)))
        if not created:
            raise TaskError(
                f"Task {label}: RawSql {raw.name!r} created no table in {{{{out}}}}; create its tables as "
                "CREATE TABLE {{out}}.name AS ... so that pipedag can find them."
            )
        try:
            return {name: _adopt(store, stage, schema, name, identity_of(name), claim) for name in created}
        except PipedagError:
            _drop(store, schema, _plain(store.list_tables(schema)))
            raise


def _plain(names: set[str]) -> set[str]:
    """Tables not (yet) under a physical name: what a running script created."""
    return {name for name in names if not _PHYSICAL.match(name)}


def _adopt(
    store: SQLTableStore, stage: str, schema: str, name: str, identity: str, claim: Callable[[str], None]
) -> TableRef:
    if check_name("table", name) != name:
        raise TaskError(f"RawSql created table {name!r}; use lower-case, unquoted table names.")
    claim(name)
    physical = store.physical_name(name, identity)
    store.execute_sql(f"DROP TABLE IF EXISTS {qualified(schema, physical)}")
    store.execute_sql(f"ALTER TABLE {qualified(schema, name)} RENAME TO {quote(physical)}")
    (rows,) = store.execute_sql(f"SELECT count(*) FROM {qualified(schema, physical)}")[0]
    columns = store.table_columns(schema, physical)
    return TableRef(stage, name, schema, physical, identity, columns, int(rows))


def _drop(store: SQLTableStore, schema: str, names: set[str]) -> None:
    for name in sorted(names):
        store.execute_sql(f"DROP TABLE IF EXISTS {qualified(schema, name)}")


def store_blob(
    blobs: FileBlobStore, history: StageHistory, stage: str, blob: Blob, identity: str, written: list[BlobRef]
) -> BlobRef:
    """Write a blob file (unless one with the same identity exists) and return its reference."""
    check_name("blob", blob.name)
    ref = BlobRef(stage, blob.name, identity, f"{blob.name}__{identity[:12]}.pkl")
    if ref.file in history.existing_blobs:
        return ref
    ref = blobs.write(stage, blob, identity)
    history.existing_blobs.add(ref.file)
    written.append(ref)
    return ref


def external_table(
    store: SQLTableStore, stage: str, name: str, external: ExternalTableReference, identity: str, label: str
) -> TableRef:
    """A TableRef onto an existing table; nothing is copied.

    Raises:
        TaskError: when the table does not exist.
    """
    columns = store.table_columns(external.schema, external.name)
    if not columns:
        raise TaskError(
            f"Task {label}: ExternalTableReference({external.name!r}, schema={external.schema!r}) names no "
            "existing table or view; check the name and schema (they are case-sensitive)."
        )
    return TableRef(stage, name, external.schema, external.name, identity, columns, external=True)
