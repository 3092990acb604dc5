"""The special ``version=`` values that let pipedag derive a task's version itself."""

from __future__ import annotations


class VersionMarker(str):
    """A ``version=`` value computed by pipedag instead of written by hand.

    It is a ``str`` so that it can stand wherever a version string is accepted (including
    ``default_version`` in pipedag.yaml, spelled ``CODE_VERSION``).
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return str(self)


#: Version = hash of the task's source (whitespace, comments, docstrings ignored) and of the
#: project-local helpers it calls, transitively.
CODE_VERSION = VersionMarker("CODE_VERSION")

#: Version = hash of the polars query plan the task builds on empty inputs of the right schema.
AUTO_VERSION = VersionMarker("AUTO_VERSION")
