"""``@materialize``, the graph nodes a task call creates inside a flow, and the stage that holds them."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, ClassVar, overload

from pipedag.core import context
from pipedag.core.context import FlowLike
from pipedag.core.incremental_spec import Incremental
from pipedag.core.names import check_name, check_stage_name
from pipedag.core.nested import iter_nested, map_nested
from pipedag.core.table_types import normalize_input_type
from pipedag.errors import ConfigError, WiringError


class Task:
    """A function decorated with :func:`materialize`.

    Called inside ``with Flow(...)`` / ``with Stage(...)`` it only wires the graph and returns
    placeholders; called anywhere else it runs the plain function.

    Attributes:
        kind: Names the engine behaviour that decides and executes calls of this task
            (see :mod:`pipedag.engine.kinds`); subclasses of other task kinds override it.
    """

    kind: ClassVar[str] = "task"

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None,
        version: str | None,
        input_type: type | tuple[type, str] | None,
        lazy: bool,
        nout: int,
        cache: Callable[..., Any] | None,
    ) -> None:
        if not isinstance(nout, int) or nout < 1:
            raise WiringError(f"@materialize(nout={nout!r}) on {fn.__qualname__}: nout must be an int >= 1.")
        if version is not None and not isinstance(version, str):
            raise WiringError(
                f"@materialize(version={version!r}) on {fn.__qualname__}: version must be a string "
                "such as '1.0' (or None to run the task every time)."
            )
        resolved: type | None = normalize_input_type(input_type, f"@materialize on {fn.__qualname__}")
        if version == "AUTO_VERSION":
            _check_auto_version(fn, resolved, lazy)
        if cache is not None and not callable(cache):
            raise WiringError(f"@materialize(cache=...) on {fn.__qualname__} must be a function.")
        self.fn = fn
        self.name = name or fn.__name__
        self.version = version
        self.input_type = resolved
        self.lazy = lazy
        self.nout = nout
        self.cache = cache
        functools.update_wrapper(self, fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        stage = current_stage()
        if stage is None:
            if context.current_flow() is not None:
                raise WiringError(
                    f"Task {self.name!r} was called inside a Flow but outside any Stage; "
                    "wrap the call in `with Stage(\"name\"):`."
                )
            return self.fn(*args, **kwargs)
        node = TaskNode(self, stage, args, kwargs)
        stage.add_task(node)
        if self.nout == 1:
            return TaskOutput(node)
        return tuple(TaskOutput(node, (i,)) for i in range(self.nout))

    def __repr__(self) -> str:
        return f"<Task {self.name}>"


def _check_auto_version(fn: Callable[..., Any], input_type: type | None, lazy: bool) -> None:
    """AUTO_VERSION hashes the polars plan a task builds: only eager polars LazyFrame tasks have one.

    Raises:
        WiringError: naming the function and the fix.
    """
    where = f"@materialize(version=AUTO_VERSION) on {fn.__qualname__}"
    if lazy:
        raise WiringError(
            f"{where}: lazy tasks are versioned by the SQL they render; drop lazy=True or use "
            "version=CODE_VERSION or a version string."
        )
    module = getattr(input_type, "__module__", "") or ""
    if getattr(input_type, "__name__", None) != "LazyFrame" or not module.startswith("polars"):
        got = "none" if input_type is None else getattr(input_type, "__qualname__", repr(input_type))
        raise WiringError(
            f"{where}: needs input_type=polars.LazyFrame (got {got}), since it hashes the polars plan "
            "the task builds. Add input_type=pl.LazyFrame or use version=CODE_VERSION."
        )


class IncrementalTask(Task):
    """A task declared with ``@materialize(incremental=Incremental(...))``: run record by record.

    Its engine behaviour lives in :mod:`pipedag.incremental.kind`.
    """

    kind: ClassVar[str] = "incremental"

    def __init__(self, fn: Callable[..., Any], *, incremental: Incremental, **options: Any) -> None:
        super().__init__(fn, **options)
        if not isinstance(incremental, Incremental):
            raise WiringError(f"@materialize(incremental=...) on {fn.__qualname__} must be an Incremental(...).")
        if self.lazy or self.nout != 1:
            raise WiringError(
                f"@materialize(incremental=...) on {fn.__qualname__}: an incremental task returns one frame "
                "per chunk; it cannot be lazy or have several outputs."
            )
        self.incremental = incremental


@dataclass(eq=False)
class TaskNode:
    """One call of a task inside a flow: the task plus its (unresolved) arguments."""

    task: Task
    stage: Stage
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    name: str = ""
    upstream: list[TaskNode] = field(default_factory=list)

    def __post_init__(self) -> None:
        for output in iter_outputs((self.args, self.kwargs)):
            if output.node.stage.flow is not self.stage.flow:
                raise WiringError(
                    f"Task {self.task.name!r} in stage {self.stage.name!r} received an output of "
                    f"task {output.node.name!r} from a different flow; outputs cannot cross flows."
                )
            if output.node not in self.upstream:
                self.upstream.append(output.node)

    @property
    def label(self) -> str:
        """``stage.task`` as shown in logs."""
        return f"{self.stage.name}.{self.name}"

    def __repr__(self) -> str:
        return f"<TaskNode {self.label}>"


@dataclass(frozen=True, eq=False)
class TaskOutput:
    """Placeholder for (part of) a task's result while the flow is being wired.

    Index it (``out["table"]``, ``out[0]``) to refer to one element of a structured result.
    """

    node: TaskNode
    path: tuple[Any, ...] = ()

    def __getitem__(self, key: Any) -> TaskOutput:
        return TaskOutput(self.node, (*self.path, key))

    def __iter__(self) -> Iterator[Any]:
        raise WiringError(
            f"Cannot unpack the output of task {self.node.name!r} while wiring; declare the "
            "number of outputs with @materialize(nout=N) or index it with out[i]."
        )

    def __repr__(self) -> str:
        suffix = "".join(f"[{p!r}]" for p in self.path)
        return f"<TaskOutput {self.node.label}{suffix}>"


def iter_outputs(value: Any) -> Iterator[TaskOutput]:
    """Yield every TaskOutput nested in lists, tuples and dicts of ``value``."""
    return iter_nested(value, TaskOutput)


def map_outputs(value: Any, fn: Callable[[TaskOutput], Any]) -> Any:
    """Copy ``value`` replacing every nested TaskOutput by ``fn(output)``."""
    return map_nested(value, TaskOutput, fn)


stage_var: ContextVar[Stage | None] = ContextVar("pipedag_stage", default=None)


def current_stage() -> Stage | None:
    """The stage whose ``with`` block is active, if any."""
    return stage_var.get()


class Stage:
    """A group of tasks whose tables form one database schema, published atomically.

    Args:
        name: Stage name; the schema is ``schema_prefix + name + schema_suffix``.
        materialization_details: Accepted for pydiverse.pipedag programs and ignored: pipedag
            writes plain tables on every backend.
    """

    def __init__(self, name: str, materialization_details: str | None = None) -> None:
        self.name = check_stage_name(name)
        self.materialization_details = materialization_details
        self.flow: FlowLike | None = None
        self.tasks: list[TaskNode] = []
        self._token: Token[Stage | None] | None = None

    def __enter__(self) -> Stage:
        flow = context.current_flow()
        if flow is None:
            raise WiringError(f"Stage {self.name!r} must be entered inside `with Flow(...)`.")
        outer = current_stage()
        if outer is not None:
            raise WiringError(
                f"Stage {self.name!r} is nested in stage {outer.name!r}; stages cannot be nested. "
                "Close the outer `with Stage` block first."
            )
        if self.flow is not None:
            where = "this flow again" if self.flow is flow else f"a second flow {flow.name!r}"
            raise WiringError(
                f"Stage {self.name!r} already belongs to flow {self.flow.name!r} and cannot be "
                f"entered in {where}; create a new Stage object."
            )
        flow.add_stage(self)
        self.flow = flow
        self._token = stage_var.set(self)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._token is not None
        stage_var.reset(self._token)
        self._token = None

    def add_task(self, node: TaskNode) -> None:
        """Register a task call, naming it uniquely within the stage.

        The first call of a task takes the task's name; later calls (and a call whose name an
        earlier call already took) get ``<name>_<n>`` with the smallest free ``n >= 2``.

        Raises:
            WiringError: if two *different* tasks share a name in this stage.
        """
        base = check_name("task", node.task.name)
        if any(n.task is not node.task and n.task.name.lower() == base for n in self.tasks):
            raise WiringError(
                f"Two different tasks are named {base!r} in stage {self.name!r}; "
                "give one of them another name with @materialize(name=...)."
            )
        taken = {n.name for n in self.tasks}
        name, number = base, 1
        while name in taken:
            number += 1
            name = f"{base}_{number}"
        node.name = name
        self.tasks.append(node)

    def __pipedag_hash__(self) -> str:
        """A Stage passed as a task argument enters the cache key by its name."""
        return self.name

    def __repr__(self) -> str:
        return f"<Stage {self.name}>"


# Seam: pipedag.batches (above core) registers how ``@materialize(batches=...)`` builds its task
# when it is imported (pipedag.batches.task), as the code that made the batch spec has done.
_batch_tasks: list[Callable[..., Task]] = []


def register_batch_task(factory: Callable[..., Task]) -> None:
    """Make ``@materialize(batches=spec)`` return ``factory(fn, spec, **options)``."""
    _batch_tasks[:] = [factory]


@overload
def materialize(fn: Callable[..., Any], /) -> Task: ...


@overload
def materialize(
    *,
    name: str | None = None,
    version: str | None = None,
    input_type: type | tuple[type, str] | None = None,
    lazy: bool = False,
    nout: int = 1,
    cache: Callable[..., Any] | None = None,
    batches: Any = None,
    incremental: Incremental | None = None,
) -> Callable[[Callable[..., Any]], Task]: ...


def materialize(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    version: str | None = None,
    input_type: type | tuple[type, str] | None = None,
    lazy: bool = False,
    nout: int = 1,
    cache: Callable[..., Any] | None = None,
    batches: Any = None,
    incremental: Incremental | None = None,
) -> Task | Callable[[Callable[..., Any]], Task]:
    """Turn a function into a pipedag task whose results are materialized as tables.

    Args:
        fn: The function (when used as ``@materialize`` without parentheses).
        name: Task name; defaults to the function name. Unnamed outputs take it as table name.
        version: Bump it when the code changes. ``None`` (and not lazy) runs the task every time.
        input_type: How input tables are handed to the function: ``pandas.DataFrame``,
            ``polars.DataFrame``, ``pyarrow.Table`` or ``sqlalchemy.Table`` (an alias of the
            stored table, for building SQL). Defaults to ``sqlalchemy.Table`` for lazy tasks and
            ``pandas.DataFrame`` otherwise.
        lazy: The function is cheap and returns SQL; it is called on every run and the query
            is executed only when the rendered SQL or its inputs changed.
        nout: Number of outputs, so that ``a, b = task()`` works while wiring.
        cache: Function called with the task's arguments (input tables as ``TableRef``); its
            JSON-like result joins the cache key, e.g. a file's modification time.
        batches: A batch spec (``BatchSource(...).incremental(...)`` or ``.backfill(...)``, see
            :mod:`pipedag.batches`): the task is called with the next batch of a catalog table
            and its output accumulates the rows of every batch.

        incremental: Recompute record by record: the function sees only the input rows of new
            or changed keys and returns the result for those keys (see docs/incremental.md).

    Returns:
        A :class:`Task`, or a decorator producing one.
    """

    def decorate(func: Callable[..., Any]) -> Task:
        options: dict[str, Any] = {
            "name": name, "version": version, "input_type": input_type, "lazy": lazy, "nout": nout, "cache": cache
        }
        if batches is not None and incremental is not None:
            raise WiringError(
                f"Task {func.__name__!r} sets both batches= and incremental=; a task processes either catalog "
                "batches or changed keys. Keep one."
            )
        if batches is not None:
            if not _batch_tasks:  # pipedag.batches, where every batch spec comes from, is not imported
                raise ConfigError(
                    f"@materialize(batches=...) on {func.__qualname__}: pass source.incremental(...) or "
                    f"source.backfill(...), got {type(batches).__name__}."
                )
            return _batch_tasks[0](func, batches, **options)
        if incremental is not None:
            return IncrementalTask(func, **options, incremental=incremental)
        return Task(func, **options)

    return decorate(fn) if fn is not None else decorate
