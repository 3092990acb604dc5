"""Running one task: decide (cache hit or run, and why), execute, store its outputs.

The decision is made before anything expensive: non-lazy tasks are looked up by a key built
from their ingredients without calling the function; lazy tasks are called (cheap by
contract) and looked up by the SQL they render.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, NamedTuple

import sqlalchemy as sa

from pipedag.cache.auto_version import UNFINGERPRINTABLE, auto_version, check_auto_version
from pipedag.cache.code_version import code_version
from pipedag.cache.hashing import digest, stable_hash
from pipedag.cache.keys import STORAGE_FORMAT_VERSION, Ingredients, explain_change, forgotten_bump
from pipedag.cache.versions import AUTO_VERSION, CODE_VERSION
from pipedag.core.blob import Blob, BlobRef
from pipedag.core.external import ExternalTableReference
from pipedag.core.input_stage_versions import StageVersionsTask
from pipedag.core.names import check_name
from pipedag.core.nested import map_nested
from pipedag.core.raw_sql import RawSql
from pipedag.core.result import TaskOutcome, TaskState
from pipedag.core.table import UNIQUE_SUFFIX, Table, TableRef
from pipedag.core.task import TaskNode, TaskOutput, iter_outputs, map_outputs
from pipedag.engine.current import running_task
from pipedag.engine.imperative import (
    ImperativeState,
    ImperativeTables,
    imperative_extra,
    imperative_identities,
    imperative_result,
)
from pipedag.engine.io import read_tables
from pipedag.engine.run_state import PendingOutput, RunContext, write_table
from pipedag.engine.special_outputs import external_table, run_raw_sql, store_blob
from pipedag.errors import CacheError, PipedagError, TaskError
from pipedag.log import get_logger
from pipedag.store.history import StageHistory, TaskRecord, iter_tables
from pipedag.store.hooks import hook_for_object
from pipedag.store.hooks.arrow import ArrowHook
from pipedag.store.hooks.base import TableHook

IGNORED_VERSION = "<ignored by cache_validation.ignore_task_version>"


@dataclass
class TaskRun:
    """What running (or reusing) one task produced."""

    record: TaskRecord
    outcome: TaskOutcome
    written: list[TableRef]
    written_blobs: list[BlobRef] = field(default_factory=list)
    #: Statements (SQL, parameters) run inside the stage's publish transaction; see pipedag.engine.kinds.
    publish_sql: list[tuple[str, list[Any]]] = field(default_factory=list)


@dataclass
class Decision:
    """Whether a task is cache-valid and why, computed before anything expensive happens.

    Attributes:
        node: The task call.
        start: ``perf_counter()`` when deciding began (the task's reported time includes it).
        inputs: The task's resolved arguments (TableRefs for tables).
        ingredients: What its cache key is made of.
        reason: Why it must run, or ``"cache hit"``.
        deterministic: Whether its outputs may be stored under names derived from the key.
        key: The cache key.
        hit: The cached record when the task is cache-valid.
        result: What a lazy task's function returned (lazy tasks are called while deciding).
        outputs: The tables found in ``result``.
        imperative: Tables the task materialized imperatively while it was decided.
    """

    node: TaskNode
    start: float
    inputs: tuple[tuple[Any, ...], dict[str, Any]]
    ingredients: Ingredients
    reason: str
    deterministic: bool = True
    key: str = ""
    hit: TaskRecord | None = None
    result: Any = None
    outputs: list[PendingOutput] | None = None
    imperative: ImperativeState | None = None

    @property
    def cache_valid(self) -> bool:
        """True when the stored outputs are reused."""
        return self.hit is not None

    def __getstate__(self) -> dict[str, Any]:
        # A lazy task's rendered result (SQLAlchemy objects) need not pickle: a worker in
        # another process calls the cheap function again on the same inputs.
        state = dict(self.__dict__)
        if self.node.task.lazy:
            state.update(result=None, outputs=None)
        return state


class StageVersionsHandlers(NamedTuple):
    """How ``@input_stage_versions`` tasks are decided, run and executed."""

    decide: Callable[[TaskRunner, TaskNode], Decision]
    run: Callable[[TaskRunner, TaskNode], TaskRun]
    execute: Callable[[TaskRunner, Decision], TaskRun]


# Seam: pipedag.engine.stage_versions builds on this module, so it registers its handlers here
# (on import, by the pipedag package) instead of this module importing it.
_stage_versions: list[StageVersionsHandlers] = []


def register_stage_versions(handlers: StageVersionsHandlers) -> None:
    """Route ``@input_stage_versions`` tasks to ``handlers``."""
    _stage_versions[:] = [handlers]


class TaskRunner:
    """Decides and executes single tasks for one stage of a run.

    Args:
        ctx: The run's shared state.
        history: The stage's retained versions, for cache lookups and explanations.
        table_owners: The stage's name claims (shared between the runners of one run).
    """

    def __init__(
        self, ctx: RunContext, history: StageHistory, table_owners: dict[str, tuple[str, str]] | None = None
    ) -> None:
        self.ctx = ctx
        self.history = history
        #: Table (and blob) name -> (task label, the output that claimed it) within this stage;
        #: shared by the runners of a stage in one run (threads), so that a clash is caught.
        self.table_owners: dict[str, tuple[str, str]] = {} if table_owners is None else table_owners

    # ------------------------------------------------------------------ inputs

    def _resolve(self, output: TaskOutput) -> Any:
        value = self.ctx.values[output.node]
        for key in output.path:
            try:
                value = value[key]
            except (KeyError, IndexError, TypeError) as exc:
                raise TaskError(
                    f"{output!r}: the output of task {output.node.label} has no element [{key!r}] "
                    f"(it is a {type(value).__name__})."
                ) from exc
        return value

    def _input_label(self, output: TaskOutput, value: Any, qualified: bool = False) -> str:
        """``stage.table`` for a table; ``task[path]`` for another value (``stage.task[path]`` if ``qualified``).

        A plain value is named without its stage so that a task moved to another stage,
        returning an equal value, leaves its consumers' keys (and caches) as they were.
        """
        if isinstance(value, TableRef):
            return value.label
        path = "".join(f"[{p!r}]" for p in output.path)
        return (output.node.label if qualified else output.node.name) + path

    def _ingredients(self, node: TaskNode, inputs: tuple[tuple[Any, ...], dict[str, Any]]) -> Ingredients:
        labels: dict[str, str] = {}
        named: dict[int, str] = {}
        for output in iter_outputs((node.args, node.kwargs)):
            value = self._resolve(output)
            label, key = self._input_label(output, value), _value_key(value)
            if labels.get(label, key) != key:  # two tasks of one name in two stages: keep them apart
                label = self._input_label(output, value, qualified=True)
            labels[label] = key
            named[id(output)] = label
        try:
            arguments = stable_hash(map_outputs((node.args, node.kwargs), lambda o: {"__input__": named[id(o)]}))
        except CacheError as exc:
            raise CacheError(f"Task {node.label}: an argument cannot be part of a cache key. {exc}") from None
        cv = self.ctx.config.cache_validation
        cache_value = self._cache_value(node, inputs)
        version = self._version(node, inputs)
        if cv.ignore_task_version and version is not None:
            version = IGNORED_VERSION
        return Ingredients(
            task=node.name,
            stage=node.stage.name,
            version=version,
            inputs=labels,
            arguments=arguments,
            cache_function=cache_value,
            code=self._code_fingerprint(node) if version != IGNORED_VERSION else None,
        )

    def _code_fingerprint(self, node: TaskNode) -> str | None:
        """The code hash of a task with a hand-written version, to notice a forgotten bump."""
        version = node.task.version
        if version is None and not node.task.lazy:
            version = self.ctx.config.default_version
        if version is None or version in (CODE_VERSION, AUTO_VERSION):
            return None
        try:
            return code_version(node.task.fn)
        except Exception:  # advisory only: a task that cannot be fingerprinted still runs as before
            return None

    def _cache_value(self, node: TaskNode, inputs: tuple[tuple[Any, ...], dict[str, Any]]) -> str | None:
        """Hash of the cache function's value, as the cache_validation mode allows."""
        task, cv = node.task, self.ctx.config.cache_validation
        if task.cache is None or cv.disable_cache_function:
            return None
        last = self.history.last_record(node.name)
        previous = last.ingredients.cache_function if last else None
        if cv.mode == "ignore_fresh_input" and previous is not None:
            return previous  # trust what is stored: the cache function is not even called
        try:
            value = stable_hash(task.cache(*inputs[0], **inputs[1]))
        except CacheError as exc:
            raise CacheError(f"Task {node.label}: its cache function returned an unhashable value. {exc}") from None
        if cv.mode == "assert_no_fresh_input" and previous is not None and value != previous:
            raise CacheError(
                f"Task {node.label}: its cache function reports fresh input, but cache_validation mode is "
                "assert_no_fresh_input. Run in mode 'normal' to pick the new input up."
            )
        return value

    def _forced(self, node: TaskNode) -> bool:
        """Whether the cache_validation mode makes this task rerun whatever its key."""
        cv = self.ctx.config.cache_validation
        if cv.mode == "force_cache_invalid":
            return True
        return cv.mode == "force_fresh_input" and node.task.cache is not None and not cv.disable_cache_function

    def _version(self, node: TaskNode, inputs: tuple[tuple[Any, ...], dict[str, Any]]) -> str | None:
        """The task's version, with CODE_VERSION / AUTO_VERSION (and the config default) resolved."""
        task = node.task
        version = task.version
        if version is None and not task.lazy:
            version = self.ctx.config.default_version
        if version == CODE_VERSION:
            try:
                return code_version(task.fn)
            except CacheError as exc:
                raise CacheError(f"Task {node.label}: {exc}") from None
        if version == AUTO_VERSION:
            check_auto_version(node.label, self._input_type(node))
            store = self.ctx.store
            with_blobs = map_nested(inputs, BlobRef, self.ctx.blobs.read)
            schema_of = lambda ref: store.arrow_schema(ref.schema, ref.physical_name)  # noqa: E731
            return auto_version(node.label, task.fn, with_blobs, schema_of)
        return version

    def _input_type(self, node: TaskNode) -> Any:
        if node.task.input_type is not None:
            return node.task.input_type
        if node.task.lazy:
            return sa.Table
        import pandas as pd

        return pd.DataFrame

    def _call(self, node: TaskNode, inputs: tuple[tuple[Any, ...], dict[str, Any]]) -> Any:
        as_type = self._input_type(node)
        args, kwargs = read_tables(self.ctx.store, inputs, as_type, self.ctx.blobs)
        get_logger().debug("calling task", task=node.label, input_type=getattr(as_type, "__qualname__", as_type))
        return imperative_result(node.task.fn(*args, **kwargs))

    # --------------------------------------------------------------- decision

    def decide(self, node: TaskNode) -> Decision:
        """Compute ``node``'s cache key and whether it must run, without executing it.

        Non-lazy tasks are decided from their ingredients alone; lazy tasks are called (cheap
        by contract) to render their SQL, which is not executed here.
        """
        if isinstance(node.task, StageVersionsTask):
            return _stage_versions[0].decide(self, node)
        start = time.perf_counter()
        inputs = map_outputs((node.args, node.kwargs), self._resolve)
        ingredients = self._ingredients(node, inputs)
        forced = self._forced(node)
        decision = Decision(node, start, inputs, ingredients, "", deterministic=not forced)
        if node.task.lazy:
            decision.result = self._call(node, inputs)
            decision.outputs = self._find_outputs(node, decision.result)
            identities = [o.identity(self.ctx.store) for o in decision.outputs]
            # Each table's identity covers what it depends on (everything but the other outputs'
            # SQL), so consumers of an unchanged output stay cache-valid when a sibling changed.
            common = ingredients.key()
            for o, identity in zip(decision.outputs, identities, strict=True):
                if o.hook is not None:
                    o.own_key = stable_hash([common, list(o.path), identity, _options(o.table)])
            paths = [list(o.path) for o in decision.outputs]
            ingredients.query = stable_hash(
                [list(pair) for pair in zip(paths, identities, strict=True)] + imperative_identities()
            )
            ingredients.options = stable_hash([_options(o.table) for o in decision.outputs])
        elif ingredients.version is None:
            decision.key, decision.deterministic = ingredients.key(), False
            auto = (node.task.version or self.ctx.config.default_version) == AUTO_VERSION
            decision.reason = UNFINGERPRINTABLE if auto else "no version: runs every time"
            return decision
        decision.key = ingredients.key()
        decision.hit = None if forced else self.history.lookup(decision.key)
        if decision.hit is None:
            decision.reason = "forced by cache_validation" if forced else self._why(node, ingredients)
        else:
            decision.reason = "cache hit"
            stale = forgotten_bump(decision.hit.ingredients, ingredients)
            if stale is not None:  # reported, never acted on: the user decides whether to rerun
                decision.reason += f" ({stale})"
                get_logger().warning(stale, task=node.label)
        return decision

    def run(self, node: TaskNode) -> TaskRun:
        """Decide whether ``node`` is cache-valid, run it if not, and store its outputs."""
        tables = ImperativeTables(self, node)
        with running_task(node, self.ctx.config, self.ctx.run_id, tables):
            if isinstance(node.task, StageVersionsTask):
                return _stage_versions[0].run(self, node)
            return self.carry_out(self.decide(node))

    def carry_out(self, decision: Decision) -> TaskRun:
        """Act on a decision: reuse the cached outputs, or run the task and store what it returned."""
        node, start, key, ingredients = decision.node, decision.start, decision.key, decision.ingredients
        if decision.hit is not None:
            return self._cache_hit(node, start, key, ingredients, decision.hit, decision.reason)
        if isinstance(node.task, StageVersionsTask):
            return _stage_versions[0].execute(self, decision)
        if decision.outputs is not None:
            return self._stored(
                node, start, key, ingredients, decision.reason, decision.result, decision.outputs,
                decision.deterministic,
            )
        return self._execute(node, start, key, ingredients, decision.inputs, decision.reason, decision.deterministic)

    def _why(self, node: TaskNode, ingredients: Ingredients) -> str:
        last = self.history.last_record(node.name)
        return explain_change(last.ingredients if last else None, ingredients)

    def _cache_hit(
        self, node: TaskNode, start: float, key: str, ingredients: Ingredients, hit: TaskRecord, reason: str
    ) -> TaskRun:
        for ref in hit.tables():
            self._claim(node, ref.name)
        # The outputs are those of the cached run, so is the code fingerprint that made them.
        record = TaskRecord(node.name, key, replace(ingredients, code=hit.ingredients.code), hit.outputs, hit.extra)
        outcome = self._outcome(node, TaskState.CACHE_VALID, reason, hit.outputs, start)
        return TaskRun(record, outcome, [])

    def _execute(
        self,
        node: TaskNode,
        start: float,
        key: str,
        ingredients: Ingredients,
        inputs: tuple[tuple[Any, ...], dict[str, Any]],
        reason: str,
        deterministic: bool,
    ) -> TaskRun:
        result = self._call(node, inputs)
        outputs = self._find_outputs(node, result)
        return self._stored(node, start, key, ingredients, reason, result, outputs, deterministic)

    def _stored(
        self,
        node: TaskNode,
        start: float,
        key: str,
        ingredients: Ingredients,
        reason: str,
        result: Any,
        outputs: list[PendingOutput],
        deterministic: bool,
    ) -> TaskRun:
        written: list[TableRef] = []
        blobs: list[BlobRef] = []
        refs: dict[tuple[Any, ...], Any] = {}
        try:
            for o in outputs:
                refs[o.path] = self._store_output(node, key, o, len(outputs), deterministic, written, blobs)
        except BaseException:
            self.ctx.store.drop_tables(written)
            self.ctx.blobs.delete(node.stage.name, [b.file for b in blobs])
            raise
        stored = _replace_at(result, refs)
        extra = imperative_extra(stored, written)
        record = TaskRecord(node.name, key, ingredients, stored, extra)
        return TaskRun(record, self._outcome(node, TaskState.RAN, reason, stored, start), written, blobs)

    def _store_output(
        self,
        node: TaskNode,
        key: str,
        output: PendingOutput,
        count: int,
        deterministic: bool,
        written: list[TableRef],
        blobs: list[BlobRef],
    ) -> Any:
        """Store one output; returns what replaces it in the task's recorded result."""
        obj, path = output.table.obj, list(output.path)
        if isinstance(obj, TableRef):
            return obj  # stored by Table.materialize() while the task ran
        if output.hook is not None:
            return self._store_table(node, key, output, count, deterministic, written)
        if isinstance(obj, RawSql):

            def identity_of(name: str) -> str:
                return stable_hash([key, path, name] if deterministic else [key, self.ctx.run_id, path, name])

            claim = partial(self._claim, node)
            tables = run_raw_sql(self.ctx.store, node.stage.name, obj, node.label, identity_of, claim)
            written.extend(tables.values())
            return tables
        if isinstance(obj, Blob):
            if obj.name is None:  # named like an unnamed table of the task
                obj = replace(obj, name=self._table_name(node, replace(output, table=Table(None)), count))
            identity = stable_hash([key, path]) if deterministic else obj.identity()
            self._claim(node, f"blob {obj.name}")
            return store_blob(self.ctx.blobs, self.history, node.stage.name, obj, identity, blobs)
        assert isinstance(obj, ExternalTableReference)
        name = self._table_name(node, output, count) if output.table.name else check_name("table", obj.name)
        self._claim(node, name, _described(output))
        identity = stable_hash([key, path, obj.identity()])
        return external_table(self.ctx.store, node.stage.name, name, obj, identity, node.label)

    def _outcome(self, node: TaskNode, state: TaskState, reason: str, outputs: Any, start: float) -> TaskOutcome:
        tables = list(iter_tables(outputs))
        rows = sum(t.rows or 0 for t in tables) if tables else None
        seconds = time.perf_counter() - start
        return TaskOutcome(node.label, node.stage.name, state, reason, rows, seconds, outputs)

    # ------------------------------------------------------------------ outputs

    def _find_outputs(self, node: TaskNode, result: Any) -> list[PendingOutput]:
        if node.task.nout > 1 and (not isinstance(result, list | tuple) or len(result) != node.task.nout):
            got = f"{len(result)} values" if isinstance(result, list | tuple) else type(result).__name__
            raise TaskError(f"Task {node.label} declares nout={node.task.nout} but returned {got}.")
        found: list[PendingOutput] = []
        _collect(node, result, (), found)
        return found

    def _table_name(self, node: TaskNode, output: PendingOutput, count: int) -> str:
        name = written = output.table.name
        if name is None:
            name = node.name if count == 1 else "_".join([node.name, *map(str, output.path)])
        elif name.endswith(UNIQUE_SUFFIX):
            stem = name.removesuffix(UNIQUE_SUFFIX)
            if not stem or not (stem[0].isalpha() or stem[0] == "_"):
                # Else the error would name the generated suffix, which the user never wrote.
                raise TaskError(
                    f"Task {node.label}: invalid table name {written!r} at {_where(output.path)}: a name ending "
                    f"in {UNIQUE_SUFFIX!r} gets a unique suffix, and the part before it must start with a "
                    f"letter or underscore, e.g. 'part_{UNIQUE_SUFFIX}'."
                )
            name = stem + digest(f"{node.stage.name}.{node.name}{output.path!r}")[:8]
        try:
            return check_name("table", name)
        except PipedagError as exc:
            shown = f" (from {written!r})" if written is not None and written != name else ""
            raise TaskError(f"Task {node.label}: {exc}{shown}") from None

    def _unclaimed(self, node: TaskNode, name: str) -> str:
        """A derived table name yields to a table another task of the stage named explicitly: ``name_2``, ..."""
        candidate, n = name, 1
        while self.table_owners.get(candidate, (node.label, ""))[0] != node.label:
            n += 1
            candidate = f"{name}_{n}"
        return candidate

    def _claim(self, node: TaskNode, name: str, output: str = "") -> None:
        """Register ``name`` for ``node``; ``output`` describes the output claiming it (for errors)."""
        owner, first = self.table_owners.setdefault(name, (node.label, output))
        if owner != node.label:
            raise TaskError(
                f"Tasks {owner} and {node.label} both produce table {name!r} in stage {node.stage.name!r}; "
                "table names must be unique within a stage. Rename one with Table(..., name=...)."
            )
        if output and first and first != output:
            # Both would be written, and one would silently hide the other in the stage.
            raise TaskError(
                f"Task {node.label} returns two tables named {name!r}: {first} and {output}. Table names "
                "are unique within a stage and letter case does not tell them apart; rename one with "
                "Table(..., name=...)."
            )

    def _store_table(
        self, node: TaskNode, key: str, output: PendingOutput, count: int, deterministic: bool, written: list[TableRef]
    ) -> TableRef:
        store, stage, hook = self.ctx.store, node.stage.name, output.hook
        assert hook is not None
        name = self._table_name(node, output, count)
        if output.table.name is None:
            name = self._unclaimed(node, name)
        self._claim(node, name, _described(output))
        table = output.table
        if deterministic and output.own_key is not None:
            identity = output.own_key
        elif deterministic:
            identity = stable_hash([key, list(output.path)])
        elif hook.identity_is_content:
            identity = stable_hash([hook.identity(store, table.obj), _options(table), name, STORAGE_FORMAT_VERSION])
        else:
            identity = stable_hash([key, self.ctx.run_id, list(output.path)])
        physical = store.physical_name(name, identity)
        known = self.history.find_table(physical)
        if known is not None and known.name == name:
            return known  # identical content is already stored (e.g. an unchanged always-run task)
        target = TableRef(stage, name, store.data_schema(stage), physical, identity)
        ref = write_table(store, self.history, hook, table.obj, table, target, node.label)
        written.append(ref)
        try:
            store.add_keys(ref)
        except PipedagError as exc:
            raise TaskError(f"Task {node.label}: primary key or index on table {name!r} failed: {exc}") from exc
        return ref


def _collect(node: TaskNode, value: Any, path: tuple[Any, ...], found: list[PendingOutput]) -> None:
    if isinstance(value, RawSql | Blob | ExternalTableReference | TableRef):
        found.append(PendingOutput(path, Table(value), None))
        return
    if isinstance(value, Table) and isinstance(value.obj, ExternalTableReference):
        found.append(PendingOutput(path, value, None))
        return
    if isinstance(value, Table):
        hook = hook_for_object(value.obj)
        if hook is None:
            raise TaskError(
                f"Task {node.label} returned Table({type(value.obj).__name__}) at {_where(path)}; a Table must "
                "wrap a pandas/polars frame, a pyarrow table, or a SQLAlchemy select/text."
            )
        found.append(_output(node, path, value, hook))
        return
    hook = hook_for_object(value)
    if hook is not None:
        found.append(_output(node, path, Table(value), hook))
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _collect(node, item, (*path, i), found)
    elif isinstance(value, dict):
        for k, item in value.items():
            if not isinstance(k, _JSON_SCALARS):
                raise TaskError(
                    f"Task {node.label} returned a dict with a {type(k).__name__} key {k!r} at {_where(path)}, "
                    "which pipedag cannot store as JSON; use strings or numbers as keys."
                )
            _collect(node, item, (*path, k), found)
    elif not isinstance(value, _JSON_SCALARS):
        # Checked here, before the task is reported as run: the record is stored as JSON at publish.
        hint = " (e.g. sorted(...))" if isinstance(value, set | frozenset) else ""
        raise TaskError(
            f"Task {node.label} returned a {type(value).__name__} at {_where(path)}, which pipedag cannot "
            f"store. Return Table(...), a pandas/polars frame, a pyarrow table, a SQLAlchemy select, "
            f"JSON-like values (numbers, strings, lists{hint}, dicts), or wrap the object in Blob(obj, name)."
        )


#: Plain values a task may return (inside lists, tuples and dicts): what JSON stores faithfully.
_JSON_SCALARS = (str, int, float, bool, type(None))


def _output(node: TaskNode, path: tuple[Any, ...], table: Table, hook: type[TableHook]) -> PendingOutput:
    """Convert frames to Arrow once, so that fingerprinting and writing share the conversion."""
    try:
        arrow = hook.to_arrow(table.obj)
    except PipedagError as exc:
        raise TaskError(f"Task {node.label} returned a table at {_where(path)} that cannot be stored: {exc}") from exc
    if arrow is None:
        return PendingOutput(path, table, hook)
    return PendingOutput(path, replace(table, obj=arrow), ArrowHook)


def _described(output: PendingOutput) -> str:
    """``Table 'Foo' at position [0]``: how an output is named in errors, as the user wrote it."""
    name = output.table.name or getattr(output.table.obj, "name", None)
    return ("an unnamed table" if name is None else f"Table {name!r}") + f" at {_where(output.path)}"


def _where(path: tuple[Any, ...]) -> str:
    return "the top level" if not path else "position " + "".join(f"[{p!r}]" for p in path)


def _replace_at(value: Any, refs: dict[tuple[Any, ...], TableRef], path: tuple[Any, ...] = ()) -> Any:
    if path in refs:
        return refs[path]
    if isinstance(value, list | tuple):
        return type(value)(_replace_at(v, refs, (*path, i)) for i, v in enumerate(value))
    if isinstance(value, dict):
        return {k: _replace_at(v, refs, (*path, k)) for k, v in value.items()}
    return value


def _options(table: Table) -> list[Any]:
    return table.options()


def _value_key(value: Any) -> str:
    """Cache-key contribution of an input: a table's or blob's content key, or a hash of other values."""
    if isinstance(value, TableRef | BlobRef):
        return value.key
    return stable_hash(map_tables_to_keys(value))


def map_tables_to_keys(value: Any) -> Any:
    """Replace TableRefs by their keys so a structured output can be hashed."""
    value = map_nested(value, TableRef, lambda ref: {"__table__": ref.key})
    return map_nested(value, BlobRef, lambda ref: {"__blob__": ref.key})
