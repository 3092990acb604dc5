"""``pipedag.container``: the wrappers a task returns, where pydiverse.pipedag programs import them from.

Re-exports :class:`~pipedag.Table`, :class:`~pipedag.Blob`, :class:`~pipedag.RawSql` and
:class:`~pipedag.ExternalTableReference`; new code imports them from ``pipedag``.
"""

from pipedag.core.blob import Blob
from pipedag.core.external import ExternalTableReference
from pipedag.core.raw_sql import RawSql
from pipedag.core.table import Table

__all__ = ["Blob", "ExternalTableReference", "RawSql", "Table"]
