"""Record-level incremental tasks: only new or changed keys are recomputed, set-based in the database.

Importing this package registers the engine behaviour of ``@materialize(incremental=...)``
(without importing it: that happens when the first incremental task runs).
"""

from pipedag.core.incremental_spec import Incremental
from pipedag.incremental import registration as _registration  # noqa: F401  registers the task kind

__all__ = ["Incremental"]
