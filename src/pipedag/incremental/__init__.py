"""Record-level incremental tasks: only new or changed keys are recomputed, set-based in the database.

Importing this package registers the engine behaviour of ``@materialize(incremental=...)``.
"""

from pipedag.incremental import kind as _kind  # noqa: F401  registers the "incremental" task kind
from pipedag.incremental.spec import Incremental

__all__ = ["Incremental"]
