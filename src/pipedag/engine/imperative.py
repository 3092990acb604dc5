"""Imperative materialization: ``Table(obj, "name").materialize()`` inside a running task.

The table is written at once and handed back as the task's input type (an alias for SQL
tasks, a frame for pandas tasks), so the task can go on using it, e.g. to join a
materialized subquery. Returning that reference from the task returns the stored table.

Caching stays exact. Each such table is stored under a content identity: the data's
fingerprint for frames; for SQL in a lazy task, the rendered query (which names its input
tables by their content-keyed physical names); for SQL in any other task, the run itself, so
that it is never reused. An unchanged table is not written again. All tables a task
materialized this way belong to its outputs, and their identities join a lazy task's cache
key. Materializing a name a second time in one call replaces the first table (interactive
fixing in a debugger).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from pipedag.cache.hashing import stable_hash
from pipedag.core.nested import iter_nested
from pipedag.core.table import Table, TableRef, register_materializer
from pipedag.engine.run_state import PendingOutput, RunContext, write_table
from pipedag.errors import StateError, TaskError
from pipedag.store.hooks import hook_for_object, hook_for_type

if TYPE_CHECKING:
    from pipedag.core.task import TaskNode
    from pipedag.store.history import StageHistory


class TaskRunner(Protocol):
    """What imperative materialization uses of :class:`pipedag.engine.task_runner.TaskRunner`.

    A protocol, because the task runner builds on this module.
    """

    ctx: RunContext
    history: StageHistory

    def _input_type(self, node: TaskNode) -> Any: ...

    def _table_name(self, node: TaskNode, output: PendingOutput, count: int) -> str: ...

    def _claim(self, node: TaskNode, name: str, output: str = "") -> None: ...


@dataclass
class ImperativeState:
    """What a task materialized while it was decided (lazy tasks run then), handed on to its execution.

    Plain data, so that it travels with the decision to a worker in another process.
    """

    tables: dict[str, TableRef] = field(default_factory=dict)
    written: list[TableRef] = field(default_factory=list)
    unnamed: int = 0


class ImperativeTables:
    """The tables one task call materialized imperatively.

    Args:
        runner: The runner deciding or executing the task.
        node: The task call.
        state: What was materialized while the task was decided, if anything.
        dry: Predicting only (``pipedag plan``): write nothing. A table that does not exist yet is
            handed out under the physical name it would get, without columns.
    """

    def __init__(
        self, runner: TaskRunner, node: TaskNode, state: ImperativeState | None = None, dry: bool = False
    ) -> None:
        self.runner = runner
        self.node = node
        self.dry = dry
        state = state or ImperativeState()
        self.tables: dict[str, TableRef] = dict(state.tables)
        self.written: list[TableRef] = list(state.written)
        self._handed_out: list[tuple[Any, TableRef]] = []  # objects kept alive so id() stays unique
        self._unnamed = state.unnamed

    def state(self) -> ImperativeState | None:
        """Plain-data snapshot for the task's decision (None when nothing was materialized)."""
        if not self.tables:
            return None
        return ImperativeState(dict(self.tables), list(self.written), self._unnamed)

    def materialize(self, table: Table, return_as_type: Any = None) -> Any:
        """Store ``table`` now and return it as ``return_as_type`` (default: the task's input type).

        Raises:
            TaskError: when the object cannot be stored as a table or the write fails.
        """
        ref = self._store(table)
        as_type = return_as_type if return_as_type is not None else self.runner._input_type(self.node)
        hook = hook_for_type(as_type)
        if hook is None:
            raise TaskError(f"Task {self.node.label}: Table.materialize() cannot return tables as {as_type!r}.")
        value = hook.retrieve(self.runner.ctx.store, ref, as_type)
        self._handed_out.append((value, ref))
        return value

    def substitute(self, result: Any) -> Any:
        """``result`` with every object :meth:`materialize` handed out replaced by its TableRef."""
        for value, ref in self._handed_out:
            if result is value:
                return ref
        if isinstance(result, list | tuple):
            return type(result)(self.substitute(item) for item in result)
        if isinstance(result, dict):
            return {k: self.substitute(v) for k, v in result.items()}
        return result

    def identities(self) -> list[list[str]]:
        """Name and content key of every table materialized so far (for a lazy task's cache key)."""
        return [[name, ref.key] for name, ref in self.tables.items()]

    def _name(self, table: Table) -> str:
        if table.name is not None:
            return table.name
        self._unnamed += 1
        return self.node.name if self._unnamed == 1 else f"{self.node.name}_{self._unnamed}"

    def _identity(self, hook: Any, obj: Any, table: Table, name: str) -> str:
        store = self.runner.ctx.store
        options = [name, *table.options()[1:]]
        if hook.identity_is_content:
            return stable_hash(["imperative", hook.identity(store, obj), options])
        if self.node.task.lazy:
            return stable_hash(["imperative", self.node.label, hook.identity(store, obj), options])
        return stable_hash(["imperative", self.node.label, self.runner.ctx.run_id, len(self.written), options])

    def _store(self, table: Table) -> TableRef:
        obj, node = table.obj, self.node
        hook = hook_for_object(obj)
        if hook is None:
            raise TaskError(
                f"Task {node.label}: Table({type(obj).__name__}).materialize() needs a pandas/polars frame, "
                "a pyarrow table or a SQLAlchemy select/text."
            )
        arrow = hook.to_arrow(obj)
        if arrow is not None:
            from pipedag.store.hooks.arrow import ArrowHook

            obj, hook = arrow, ArrowHook
        name = self.runner._table_name(node, PendingOutput((), Table(obj, self._name(table)), hook), 1)
        self.runner._claim(node, name)
        identity = self._identity(hook, obj, table, name)
        ref = self._existing(name, identity) or self._write(hook, obj, table, name, identity)
        self.tables[name] = ref
        return ref

    def _existing(self, name: str, identity: str) -> TableRef | None:
        physical = self.runner.ctx.store.physical_name(name, identity)
        for ref in self.written:
            if ref.physical_name == physical:
                return ref
        known = self.runner.history.find_table(physical)
        return known if known is not None and known.name == name else None

    def _write(self, hook: Any, obj: Any, table: Table, name: str, identity: str) -> TableRef:
        store, stage = self.runner.ctx.store, self.node.stage.name
        schema = store.data_schema(stage)
        physical = store.physical_name(name, identity)
        if self.dry:
            return TableRef(stage, name, schema, physical, identity)
        replaced = self.tables.get(name)
        if replaced is not None and replaced in self.written:
            store.drop_tables([replaced])  # the same name materialized again in this call: last one wins
            self.written.remove(replaced)
        target = TableRef(stage, name, schema, physical, identity)
        ref = write_table(store, self.runner.history, hook, obj, table, target, self.node.label)
        self.written.append(ref)
        store.add_keys(ref)
        return ref


def materialize_now(table: Table, config_context: Any, schema: Any, return_as_type: Any) -> Any:
    """``Table.materialize()``: store ``table`` now, inside the running task (see :class:`ImperativeTables`).

    Raises:
        StateError: outside a running task, or with ``config_context``/``schema`` given.
    """
    from pipedag.engine.current import TaskContext

    context = TaskContext.current()
    if config_context is not None or schema is not None or context is None:
        raise StateError(
            "Table.materialize() works inside a running task only, without config_context/schema: "
            "pipedag writes tables only into the stages it publishes. To try a task's code outside a "
            "flow, run the flow (or a part of it: flow.run(stage)) and read results with result.get()."
        )
    assert isinstance(context.state, ImperativeTables)
    return context.state.materialize(table, return_as_type)


# Seam: Table (core) cannot import the engine; Table.materialize() calls this.
register_materializer(materialize_now)


def _current() -> ImperativeTables | None:
    from pipedag.engine.current import TaskContext

    context = TaskContext.current()
    state = context.state if context is not None else None
    return state if isinstance(state, ImperativeTables) else None


def imperative_result(result: Any) -> Any:
    """A task's result with the references ``Table.materialize()`` handed out replaced by TableRefs."""
    tables = _current()
    return result if tables is None else tables.substitute(result)


def imperative_identities() -> list[list[str]]:
    """Names and keys of the tables the running task materialized imperatively."""
    tables = _current()
    return [] if tables is None else tables.identities()


def imperative_extra(result: Any, written: list[TableRef]) -> tuple[TableRef, ...]:
    """The running task's imperatively materialized tables that its result does not contain.

    They are added to ``written`` (dropped with the stage if it fails) and kept with the
    task's record, so they are published and never collected as garbage.
    """
    tables = _current()
    if tables is None:
        return ()
    written.extend(ref for ref in tables.written if ref not in written)
    returned = {ref.physical_name for ref in iter_nested(result, TableRef)}
    return tuple(ref for ref in tables.tables.values() if ref.physical_name not in returned)
