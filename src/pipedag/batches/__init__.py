"""Batch inventory: process the items of a growing catalog table incrementally or as bounded backfills.

``BatchSource(table, id, item, weight)`` names the catalog; ``.incremental(...)`` and
``.backfill(...)`` make job specs; :class:`Inventory` claims and settles batches from any
worker, atomically, with leases and bounded retries. See docs/batches.md.
"""

from pipedag.batches import task as _task  # noqa: F401  registers @materialize(batches=) and flow.run(batches=)
from pipedag.batches.batch import Batch, RangeStatus
from pipedag.batches.inventory import Inventory
from pipedag.batches.spec import BatchSource, BatchSpec

__all__ = ["Batch", "BatchSource", "BatchSpec", "Inventory", "RangeStatus"]
