"""pipedag: data pipelines of cached, materialized tasks with atomically published stages."""

from pipedag.cache.versions import AUTO_VERSION, CODE_VERSION
from pipedag.compat import store_access as _store_access  # noqa: F401  registers cfg.store
from pipedag.config.context import CacheValidation, CacheValidationMode, ConfigContext
from pipedag.config.pipedag_config import PipedagConfig, create_basic_pipedag_config
from pipedag.core.blob import Blob
from pipedag.core.external import ExternalTableReference
from pipedag.core.flow import Flow, Stage
from pipedag.core.group import GroupNode, VisualizationStyle
from pipedag.core.input_stage_versions import input_stage_versions
from pipedag.core.raw_sql import RawSql
from pipedag.core.ref import ref
from pipedag.core.result import Result, TaskOutcome, TaskState
from pipedag.core.table import Table, TableRef
from pipedag.core.table_types import PandasArrowDataFrame
from pipedag.core.task import Task, TaskOutput, materialize
from pipedag.engine import configured as _configured  # noqa: F401  registers Flow.run's runner
from pipedag.engine.dask import DaskEngine
from pipedag.engine.parallel import ParallelEngine
from pipedag.engine.sequential import SequentialEngine
from pipedag.errors import (
    CacheError,
    ColumnError,
    ConfigError,
    LeaseLostError,
    LockError,
    PipedagError,
    StateError,
    StoreError,
    TaskError,
    WiringError,
)
from pipedag.incremental import Incremental
from pipedag.store import registry as _registry  # noqa: F401  registers ConfigContext.create_store
from pipedag.store.locks import StageLockContext

__version__ = "0.1.0"

__all__ = [
    "AUTO_VERSION",
    "Blob",
    "CODE_VERSION",
    "CacheError",
    "CacheValidation",
    "CacheValidationMode",
    "ColumnError",
    "ConfigContext",
    "ConfigError",
    "DaskEngine",
    "ExternalTableReference",
    "Flow",
    "GroupNode",
    "Incremental",
    "LeaseLostError",
    "LockError",
    "PandasArrowDataFrame",
    "ParallelEngine",
    "PipedagConfig",
    "PipedagError",
    "RawSql",
    "Result",
    "SequentialEngine",
    "Stage",
    "StageLockContext",
    "StateError",
    "StoreError",
    "Table",
    "TableRef",
    "Task",
    "TaskError",
    "TaskOutcome",
    "TaskOutput",
    "TaskState",
    "VisualizationStyle",
    "WiringError",
    "create_basic_pipedag_config",
    "input_stage_versions",
    "materialize",
    "ref",
]
