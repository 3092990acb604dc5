"""Turning task results into stored tables and stored tables back into task inputs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipedag.core.blob import BlobRef
from pipedag.core.nested import map_nested
from pipedag.core.result import register_reader
from pipedag.core.table import TableRef
from pipedag.errors import StoreError, TaskError
from pipedag.store.base import SQLTableStore
from pipedag.store.history import iter_blobs, iter_tables
from pipedag.store.hooks import hook_for_type, supported_types

if TYPE_CHECKING:
    from pipedag.config.context import ConfigContext
    from pipedag.store.blob_store import FileBlobStore


def read_tables(store: SQLTableStore, value: Any, as_type: Any, blobs: FileBlobStore | None = None) -> Any:
    """Copy ``value`` with every TableRef replaced by the table read as ``as_type``.

    BlobRefs are replaced by their unpickled objects when a blob store is given.

    Raises:
        TaskError: when no hook supports ``as_type``.
    """
    hook = hook_for_type(as_type)
    if hook is None:
        name = getattr(as_type, "__qualname__", repr(as_type))
        raise TaskError(f"Tables cannot be read as {name}; supported types: {supported_types()}.")

    def read_blob(ref: BlobRef) -> Any:
        if blobs is None:
            raise StoreError(f"Blob {ref.label} cannot be read without the instance's blob store.")
        return blobs.read(ref)

    value = map_nested(value, TableRef, lambda ref: hook.retrieve(store, ref, as_type))
    return map_nested(value, BlobRef, read_blob)


def read_output(config: ConfigContext, value: Any, as_type: Any) -> Any:
    """``Result.get``: ``value`` with its tables read as ``as_type`` (pandas if None) and its blobs loaded.

    Raises:
        TaskError: when no hook supports ``as_type``.
    """
    if not any(True for _ in iter_tables(value)) and not any(True for _ in iter_blobs(value)):
        return value
    from pipedag.store.blob_store import FileBlobStore, blob_root

    if as_type is None:
        import pandas as pd

        as_type = pd.DataFrame
    store = config.create_store()
    with store:
        blobs = FileBlobStore(blob_root(config, store), config.instance_id)
        return read_tables(store, value, as_type, blobs)


# Seam: Result (core) cannot import the engine; Result.get() reads through this.
register_reader(read_output)
