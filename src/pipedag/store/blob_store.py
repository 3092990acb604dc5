"""File blob store: pickled objects under ``<root>/<instance_id>/<stage>/``.

Each blob file is named ``<name>__<key12>.pkl`` after its content identity and written to a
temporary name first, then renamed, so a file never exists half-written. Which file is a
stage's current blob is recorded in the stage's version in the metadata, in the same
transaction that publishes the stage's tables: blobs and tables are published together.
``current.json`` in the stage folder mirrors the published version for people and tools;
files no retained version uses are deleted by garbage collection, like tables.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipedag.core.blob import Blob, BlobRef
from pipedag.errors import StoreError

if TYPE_CHECKING:
    from pipedag.config.context import ConfigContext
    from pipedag.store.base import SQLTableStore
    from pipedag.store.history import StageHistory

_BLOB_FILE = re.compile(r"^.+__[0-9a-f]{12}\.pkl$")
MANIFEST = "current.json"


def blob_root(config: ConfigContext, store: SQLTableStore) -> Path:
    """The blob store's folder: configured, else beside the database file, else ``.pipedag/blobs``."""
    base_path = config.blob_store_args.get("base_path")
    if base_path:
        return Path(base_path)
    return store.default_blob_root() or Path.cwd() / ".pipedag" / "blobs"


def open_blob_store(config: ConfigContext, store: SQLTableStore) -> FileBlobStore:
    """The blob store of ``config``'s instance, next to the table store ``store``."""
    return FileBlobStore(blob_root(config, store), config.instance_id)


class FileBlobStore:
    """Stores blobs of one pipeline instance in a folder per stage.

    Args:
        root: The blob store's folder (shared by instances; each gets a subfolder).
        instance_id: The instance whose blobs this store handles.
    """

    def __init__(self, root: Path, instance_id: str) -> None:
        self.folder = Path(root) / instance_id

    def stage_folder(self, stage: str) -> Path:
        """Folder of one stage's blob files."""
        return self.folder / stage

    def write(self, stage: str, blob: Blob, key: str) -> BlobRef:
        """Store ``blob`` under its content ``key`` (kept as is when already there)."""
        assert blob.name is not None, "the engine names unnamed blobs before storing them"
        folder = self.stage_folder(stage)
        file = f"{blob.name}__{key[:12]}.pkl"
        target = folder / file
        ref = BlobRef(stage, blob.name, key, file)
        if target.exists():
            return ref
        data = blob.pickled()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".tmp-", delete=False) as handle:
                handle.write(data)
            os.replace(handle.name, target)
        except OSError as exc:
            raise StoreError(f"Cannot write blob {ref.label} to {target}: {exc}") from exc
        return ref

    def read(self, ref: BlobRef) -> Any:
        """Unpickle a stored blob.

        Raises:
            StoreError: when its file is gone (e.g. the blob folder was deleted by hand).
        """
        path = self.stage_folder(ref.stage) / ref.file
        try:
            with open(path, "rb") as handle:
                return pickle.load(handle)
        except FileNotFoundError:
            raise StoreError(
                f"Blob {ref.label} is missing ({path}); was the blob folder deleted? Rerun with "
                "cache_validation mode force_cache_invalid to rebuild it."
            ) from None

    def attach(self, histories: Mapping[str, StageHistory]) -> None:
        """Tell each stage's history which blob files exist (cache hits need their files)."""
        for stage, history in histories.items():
            history.existing_blobs = self.existing(stage)

    def existing(self, stage: str) -> set[str]:
        """Blob files present for ``stage``."""
        folder = self.stage_folder(stage)
        if not folder.is_dir():
            return set()
        return {p.name for p in folder.iterdir() if _BLOB_FILE.match(p.name)}

    def publish(self, stage: str, refs: Iterable[BlobRef]) -> None:
        """Mirror the published version in ``current.json`` (atomically replaced)."""
        folder = self.stage_folder(stage)
        manifest = {ref.name: ref.file for ref in refs}
        if not manifest and not (folder / MANIFEST).exists():
            return
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=folder, prefix=".tmp-", delete=False) as handle:
            json.dump(manifest, handle, indent=1, sort_keys=True)
        os.replace(handle.name, folder / MANIFEST)

    def collect_garbage(self, stage: str, history: StageHistory) -> None:
        """After a publish: mirror the new version and delete files no kept version uses."""
        self.publish(stage, history.published_blobs())
        unused = history.existing_blobs - history.referenced_blobs()
        self.delete(stage, unused)
        history.existing_blobs -= unused

    def delete(self, stage: str, files: Iterable[str]) -> None:
        """Remove blob files (unused versions, or blobs of a stage that failed)."""
        folder = self.stage_folder(stage)
        for file in files:
            (folder / file).unlink(missing_ok=True)
