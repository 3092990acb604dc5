"""Where a running task can ask about its run: ``pipedag.context`` (as in pydiverse.pipedag).

Inside a task function::

    from pipedag.context import ConfigContext, RunContext, TaskContext

    cfg = ConfigContext.get()          # the instance the task runs on
    TaskContext.get().task.name        # the task itself, with .stage
    RunContext.get().run_id            # the run

:class:`StageLockContext` (keep the instance locked after a run, so that ``result.get``
reads what the run produced) is re-exported here too.
"""

from __future__ import annotations

from pipedag.config.context import ConfigContext
from pipedag.engine.current import RunContext, TaskContext
from pipedag.store.locks import StageLockContext

__all__ = ["ConfigContext", "RunContext", "StageLockContext", "TaskContext"]
