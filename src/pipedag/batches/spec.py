"""What a batch job reads and how much one batch may hold: ``BatchSource`` and ``BatchSpec``."""

from __future__ import annotations

from dataclasses import dataclass

from pipedag.errors import ConfigError

INCREMENTAL = "incremental"
BACKFILL = "backfill"


@dataclass(frozen=True)
class BatchSource:
    """A catalog table whose rows are the items to process, identified by an integer column.

    Args:
        table: ``"stage.table"`` (that stage's published table in the instance, schema prefix
            and suffix applied) or any other schema-qualified table, written as ``"schema.table"``.
        id: Integer column identifying an item; batches are taken in its order.
        item: Column handed to the task as ``batch.items`` (default: the ids themselves).
        weight: Numeric column bounding a batch by ``max_weight`` (default: 1 per item;
            NULL counts as 0).

    Raises:
        ConfigError: when ``table`` is not ``schema.table`` or a column name is empty.
    """

    table: str
    id: str
    item: str | None = None
    weight: str | None = None

    def __post_init__(self) -> None:
        schema, dot, name = self.table.partition(".")
        if not dot or not schema or not name or "." in name:
            raise ConfigError(
                f"BatchSource(table={self.table!r}): write the table as 'stage.table' or 'schema.table'."
            )
        for what, column in (("id", self.id), ("item", self.item), ("weight", self.weight)):
            if column is not None and (not isinstance(column, str) or not column):
                raise ConfigError(f"BatchSource({what}={column!r}) on {self.table!r}: name a column.")

    @property
    def schema_part(self) -> str:
        """The ``stage`` or ``schema`` half of :attr:`table`."""
        return self.table.partition(".")[0]

    @property
    def table_part(self) -> str:
        """The ``table`` half of :attr:`table`."""
        return self.table.partition(".")[2]

    def incremental(
        self,
        job: str,
        max_weight: float | None = None,
        max_count: int | None = None,
        max_attempts: int = 3,
        lease: float = 3600,
    ) -> BatchSpec:
        """A job taking new items in id order, batch after batch.

        Args:
            job: Name of the job; its position and ranges are kept under this name.
            max_weight: Upper bound of a batch's summed weight (an item heavier than this is a
                batch of its own, flagged ``oversize``).
            max_count: Upper bound of a batch's number of items.
            max_attempts: Attempts before a failing range is ``exhausted`` and skipped.
            lease: Seconds a claim is held before another worker may take the range over.
        """
        return BatchSpec(self, job, INCREMENTAL, None, None, max_weight, max_count, max_attempts, lease)

    def backfill(
        self,
        job: str,
        id_min: int,
        id_max: int,
        max_weight: float | None = None,
        max_count: int | None = None,
        max_attempts: int = 3,
        lease: float = 3600,
    ) -> BatchSpec:
        """A job (re)processing exactly the items with ``id_min <= id <= id_max``, then done.

        It is independent of every other job: an incremental job's position does not move.
        Arguments as in :meth:`incremental`.
        """
        return BatchSpec(self, job, BACKFILL, id_min, id_max, max_weight, max_count, max_attempts, lease)


@dataclass(frozen=True)
class BatchSpec:
    """One job over a :class:`BatchSource`: made by ``source.incremental(...)`` or ``source.backfill(...)``.

    Raises:
        ConfigError: for a bound that is not positive or a backfill range that is empty.
    """

    source: BatchSource
    job: str
    kind: str
    id_min: int | None
    id_max: int | None
    max_weight: float | None
    max_count: int | None
    max_attempts: int
    lease: float

    def __post_init__(self) -> None:
        where = f"batch job {self.job!r}"
        if not isinstance(self.job, str) or not self.job:
            raise ConfigError(f"A batch job needs a non-empty name, got {self.job!r}.")
        if self.max_weight is not None and not self.max_weight > 0:
            raise ConfigError(f"{where}: max_weight must be > 0 or None, got {self.max_weight!r}.")
        if self.max_count is not None and (not isinstance(self.max_count, int) or self.max_count < 1):
            raise ConfigError(f"{where}: max_count must be an int >= 1 or None, got {self.max_count!r}.")
        if not isinstance(self.max_attempts, int) or self.max_attempts < 1:
            raise ConfigError(f"{where}: max_attempts must be an int >= 1, got {self.max_attempts!r}.")
        if not self.lease > 0:
            raise ConfigError(f"{where}: lease must be a positive number of seconds, got {self.lease!r}.")
        if self.kind == BACKFILL:
            if not isinstance(self.id_min, int) or not isinstance(self.id_max, int):
                raise ConfigError(f"{where}: id_min and id_max must be integers, got {self.id_min!r}, {self.id_max!r}.")
            if self.id_min > self.id_max:
                raise ConfigError(f"{where}: id_min {self.id_min} is above id_max {self.id_max}; swap them.")

    def describe(self) -> str:
        """``incremental job 'ingest'`` / ``backfill job 'q1' over ids 20..80``, for messages."""
        bounds = f" over ids {self.id_min}..{self.id_max}" if self.kind == BACKFILL else ""
        return f"{self.kind} job {self.job!r}{bounds}"
