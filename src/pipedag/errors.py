"""Every error pipedag raises on purpose.

Users catch these, never raw driver exceptions::

    PipedagError
    ├── ConfigError      bad pipedag.yaml, unknown instance, bad config argument
    ├── WiringError      a flow built the wrong way (task outside a stage, duplicate names, ...)
    ├── CacheError       an argument or cache-function value that cannot be hashed stably
    ├── TaskError        a task returned something pipedag cannot materialize
    ├── StoreError       the table store failed or was used the wrong way
    │   ├── ColumnError  a column the database cannot hold (the message names it)
    │   └── LockError    another run of the same instance holds the lock
    └── StateError       an illegal lifecycle step (running a flow inside a flow, ...)
        └── LeaseLostError  a batch's lease was taken over by another worker

Exceptions raised *inside* a task body are re-raised as they are (with a note naming the task)
so that users keep their own traceback.
"""

from __future__ import annotations


class PipedagError(Exception):
    """Root of all errors raised by pipedag itself."""


class ConfigError(PipedagError):
    """The configuration is invalid; the message names the key and the fix."""


class WiringError(PipedagError):
    """A flow was wired incorrectly; raised while the flow is being built."""


class CacheError(PipedagError):
    """A cache-key ingredient cannot be computed stably."""


class TaskError(PipedagError):
    """A task produced an output pipedag cannot handle."""


class StoreError(PipedagError):
    """The table store could not carry out an operation."""


class ColumnError(StoreError):
    """A column the database cannot hold as it is; the message names the column and the fix."""


class LockError(StoreError):
    """Another run holds the lock of this pipeline instance."""


class StateError(PipedagError):
    """An object was used in a lifecycle state that does not allow it."""


class LeaseLostError(StateError):
    """A worker tried to record the outcome of a batch whose lease another worker took over."""
