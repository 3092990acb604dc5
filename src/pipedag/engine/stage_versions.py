"""Running an ``@input_stage_versions`` task: gather both table sets, decide, execute.

The other instance is locked while its tables are read (and copied, e.g. by ``CREATE TABLE
AS SELECT ... LIMIT n``), so a concurrent run of that instance cannot replace them midway.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from pipedag.cache.hashing import stable_hash
from pipedag.cache.keys import Ingredients
from pipedag.cache.versions import AUTO_VERSION
from pipedag.config.context import ConfigContext
from pipedag.core.table import TableRef
from pipedag.core.task import iter_outputs
from pipedag.engine.io import read_tables
from pipedag.engine.kinds import TaskKind, register_kind
from pipedag.errors import CacheError, TaskError
from pipedag.store.history import iter_tables
from pipedag.store.locks import create_lock, instance_lock
from pipedag.store.registry import store_name_for

if TYPE_CHECKING:
    from pipedag.core.task import TaskNode
    from pipedag.engine.task_runner import Decision, TaskRun, TaskRunner
    from pipedag.store.base import SQLTableStore


def _other_config(node: TaskNode) -> ConfigContext | None:
    found = [a for a in [*node.args, *node.kwargs.values()] if isinstance(a, ConfigContext)]
    if len(found) > 1:
        raise TaskError(f"Task {node.label} received {len(found)} ConfigContexts; pass at most one source instance.")
    return found[0] if found else None


def _same_database(a: ConfigContext, b: ConfigContext) -> bool:
    return store_name_for(a) == store_name_for(b) and a.table_store_url == b.table_store_url


def _stage_tables(runner: TaskRunner, node: TaskNode) -> dict[str, TableRef]:
    """Tables written (or reused) by the tasks of ``node``'s stage that ran before it in this run."""
    tables: dict[str, TableRef] = {}
    for other in node.stage.tasks:
        if other is node:
            break
        for ref in iter_tables(runner.ctx.values.get(other)):
            tables[ref.name] = ref
    return tables


def _published_tables(store: SQLTableStore, stage: str, source: ConfigContext) -> dict[str, TableRef]:
    history = store.load_history([stage])[stage]
    if not history.versions:
        raise TaskError(
            f"Instance {source.instance_name!r} has no published version of stage {stage!r}; "
            f"run the flow on {source.instance_name!r} first."
        )
    return history.published_tables()


def _ingredients(
    runner: TaskRunner, node: TaskNode, own: dict[str, TableRef], other: dict[str, TableRef], label: str
) -> Ingredients:
    def plain(value: Any) -> Any:
        if isinstance(value, ConfigContext):
            return {"__instance__": value.instance_id, "url": value.table_store_url, "prefix": value.schema_prefix}
        return value

    if any(True for _ in iter_outputs((node.args, node.kwargs))):
        raise TaskError(
            f"Task {node.label}: @input_stage_versions tasks take their tables from the stage versions; "
            "pass no task outputs as arguments."
        )
    try:
        arguments = stable_hash([[plain(a) for a in node.args], {k: plain(v) for k, v in node.kwargs.items()}])
    except CacheError as exc:
        raise CacheError(f"Task {node.label}: an argument cannot be part of a cache key. {exc}") from None
    inputs = {ref.label: ref.key for ref in own.values()}
    inputs.update({f"{label}:{ref.label}": ref.key for ref in other.values()})
    cache_value = None
    cv = runner.ctx.config.cache_validation
    if node.task.cache is not None and not cv.disable_cache_function:
        cache_value = stable_hash(node.task.cache(own, other, *node.args, **node.kwargs))
    if node.task.version == AUTO_VERSION:
        raise TaskError(
            f"Task {node.label}: AUTO_VERSION needs a polars task of plain inputs; give @input_stage_versions "
            "a version string or CODE_VERSION."
        )
    version = runner._version(node, ((), {}))  # resolves CODE_VERSION and the config's default_version
    if cv.ignore_task_version and version is not None:
        from pipedag.engine.task_runner import IGNORED_VERSION

        version = IGNORED_VERSION
    return Ingredients(node.name, node.stage.name, version, inputs, arguments, cache_value)


def _source(runner: TaskRunner, node: TaskNode) -> tuple[ConfigContext | None, str]:
    source = _other_config(node)
    return source, "committed" if source is None else source.instance_name


def _separate_database(runner: TaskRunner, source: ConfigContext | None) -> bool:
    return source is not None and not _same_database(source, runner.ctx.config)


def decide_stage_versions(runner: TaskRunner, node: TaskNode) -> Decision:
    """Gather both table sets (as TableRefs) and decide whether the task is cache-valid; run nothing."""
    from pipedag.engine.task_runner import Decision

    start = time.perf_counter()
    source, label = _source(runner, node)
    own = _stage_tables(runner, node)
    keyed = other = runner.history.published_tables() if source is None else {}
    if source is None:
        # The task's own committed outputs are handed over but kept out of its cache key: else each
        # run would see "its input changed" (its previous output) and never be cache-valid.
        previous = runner.history.last_record(node.name)
        mine = {ref.name for ref in previous.tables()} if previous is not None else set()
        keyed = {name: ref for name, ref in other.items() if name not in mine}
    else:
        with source.create_store() as source_store:
            keyed = other = _published_tables(source_store, node.stage.name, source)
    ingredients = _ingredients(runner, node, own, keyed, label)
    forced = runner.ctx.config.cache_validation.mode == "force_cache_invalid"
    versioned = ingredients.version is not None
    decision = Decision(node, start, ((own, other), {}), ingredients, "", deterministic=versioned)
    decision.key = ingredients.key()
    decision.hit = None if forced or not versioned else runner.history.lookup(decision.key)
    if decision.hit is not None:
        decision.reason = "cache hit"
    elif not versioned:
        decision.reason = "no version: runs every time"
    else:
        decision.reason = "forced by cache_validation" if forced else runner._why(node, ingredients)
    return decision


def execute_stage_versions(runner: TaskRunner, decision: Decision) -> TaskRun:
    """Read both table sets as the task's input type, call the task and store what it returned."""
    node = decision.node
    (own, other), _ = decision.inputs
    source, label = _source(runner, node)
    as_type = runner._input_type(node)
    store = runner.ctx.store
    if _separate_database(runner, source):
        assert source is not None
        if as_type is sa.Table:
            raise TaskError(
                f"Task {node.label}: input_type=sqlalchemy.Table needs instance {label!r} in the same "
                "database; use pandas/polars/pyarrow input_type, or give both instances one database "
                "with distinct schema_prefix."
            )
        with source.create_store() as source_store:
            other_values = read_tables(source_store, other, as_type)
    else:
        other_values = read_tables(store, other, as_type)
    result = node.task.fn(read_tables(store, own, as_type), other_values, *node.args, **node.kwargs)
    outputs = runner._find_outputs(node, result)
    return runner._stored(
        node, decision.start, decision.key, decision.ingredients, decision.reason, result, outputs,
        decision.deterministic,
    )


def run_stage_versions_task(runner: TaskRunner, node: TaskNode) -> TaskRun:
    """Decide and run one ``@input_stage_versions`` task, holding the source instance's lock throughout."""
    kind = StageVersionsKind()
    with kind.hold(runner.ctx.config, node):
        return runner.carry_out(decide_stage_versions(runner, node))


class StageVersionsKind(TaskKind):
    """``@input_stage_versions``: sees the stage's earlier tasks and a committed stage version."""

    def dependencies(self, node: TaskNode) -> list[TaskNode]:
        """Its own inputs plus every task wired before it in its stage (their tables are handed over)."""
        earlier = node.stage.tasks[: node.stage.tasks.index(node)]
        return [*node.upstream, *(n for n in earlier if n not in node.upstream)]

    def hold(self, config: ConfigContext, node: TaskNode) -> AbstractContextManager[None]:
        """The source instance's lock, so that its tables cannot be replaced while they are read."""
        source = _other_config(node)
        if source is not None and create_lock(source).identity != create_lock(config).identity:
            return instance_lock(source)
        return nullcontext()

    def decide(self, runner: TaskRunner, node: TaskNode) -> Decision:
        """See :func:`decide_stage_versions`."""
        return decide_stage_versions(runner, node)

    def execute(self, runner: TaskRunner, decision: Decision) -> TaskRun:
        """See :func:`execute_stage_versions`."""
        return execute_stage_versions(runner, decision)


register_kind("input_stage_versions", StageVersionsKind())
