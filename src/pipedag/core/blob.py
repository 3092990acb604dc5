"""``Blob``: a Python object (a model, a dict of parameters) stored as a file next to a stage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipedag.cache.hashing import digest
from pipedag.errors import TaskError


@dataclass
class Blob:
    """Wrap any picklable object to store it in the blob store with its stage.

    Blobs are versioned and cached like tables: a cache-valid task keeps its blob file, and
    the blob a downstream task receives is always the one of the stage's published version.

    Args:
        obj: Any picklable object.
        name: Blob name, unique within the stage (a valid identifier); without one it is named
            like an unnamed table of the task (the task name, plus the output position).
    """

    obj: Any
    name: str | None = None

    def pickled(self) -> bytes:
        """The object as pickle bytes (protocol 5).

        Raises:
            TaskError: when the object cannot be pickled, naming the blob.
        """
        import pickle

        try:
            return pickle.dumps(self.obj, protocol=5)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            raise TaskError(
                f"Blob {self.name!r} holds a {type(self.obj).__name__} that cannot be pickled: {exc}. "
                "Store something picklable (e.g. the model's parameters) instead."
            ) from exc

    def identity(self) -> str:
        """Content identity: the digest of the pickle bytes."""
        return digest(self.pickled())


@dataclass(frozen=True)
class BlobRef:
    """A blob pipedag stored: which stage it belongs to and the file holding it."""

    stage: str
    name: str
    key: str
    file: str

    @property
    def label(self) -> str:
        """``stage.blob`` as shown in logs and explanations."""
        return f"{self.stage}.{self.name}"

    def to_json(self) -> dict[str, Any]:
        """Serialize for the metadata schema."""
        return {"stage": self.stage, "name": self.name, "key": self.key, "file": self.file}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BlobRef:
        """Inverse of :meth:`to_json`."""
        return cls(data["stage"], data["name"], data["key"], data["file"])
