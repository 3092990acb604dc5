"""Record-level incremental tasks: only new or changed keys are recomputed, set-based in the database."""

from pipedag.incremental.spec import Incremental

__all__ = ["Incremental"]
