"""``Flow`` and ``Stage``: the blocks in which task calls are wired into a graph."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from contextvars import Token
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from pipedag.core import context
from pipedag.core.names import check_flow_name
from pipedag.core.task import Stage as Stage
from pipedag.core.task import TaskNode, TaskOutput, iter_outputs
from pipedag.errors import ConfigError, StateError, WiringError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pipedag.config.context import CacheValidation, ConfigContext
    from pipedag.core.result import Result


class EngineLike(Protocol):
    """What Flow.run needs of an engine (a :class:`pipedag.engine.base.Engine`): only to pass it on."""

    @property
    def capacity(self) -> int:
        """How many tasks may execute at once."""
        ...


# Seam: the engine sits above core, so it registers the function that carries out Flow.run
# (pipedag.engine.configured, imported by the pipedag package).
_runners: list[Callable[..., Result]] = []


def register_runner(runner: Callable[..., Result]) -> None:
    """Make ``Flow.run`` hand a resolved run to ``runner(flow, config, engine, fail_fast=, stages=)``."""
    _runners[:] = [runner]


# Seam: pipedag.batches (above core) registers how ``flow.run(batches=..., batches_per_run=...)``
# applies to the run when it is imported (as any flow with batch tasks has done); without it a
# run has no batch tasks, and the defaults apply.
_batch_options: list[Callable[[Flow, Mapping[str, Any] | None, int | None], AbstractContextManager[None]]] = []


def register_batch_options(
    apply: Callable[[Flow, Mapping[str, Any] | None, int | None], AbstractContextManager[None]],
) -> None:
    """Make ``Flow.run`` hold ``apply(flow, batches, batches_per_run)`` around the run."""
    _batch_options[:] = [apply]


class Flow:
    """A pipeline: stages of tasks, wired in a ``with Flow(...)`` block and run with :meth:`run`.

    Args:
        name: Flow name, used in logs and run history.
    """

    def __init__(self, name: str = "default") -> None:
        self.name = check_flow_name(name)
        self.stages: list[Stage] = []
        self._token: Token[context.FlowLike | None] | None = None

    def __enter__(self) -> Flow:
        if context.current_flow() is not None:
            raise WiringError(f"Flow {self.name!r} cannot be wired inside another flow.")
        self._token = context.flow_var.set(self)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._token is not None
        context.flow_var.reset(self._token)
        self._token = None
        if exc_type is None:
            self.check_inputs()

    def check_inputs(self) -> None:
        """Check that every task's arguments still hold only the inputs it was wired with.

        A list or dict passed to a task and filled afterwards (``items = []; t(items);
        items.append(u())``) would feed the task an output it does not wait for, possibly one
        of a later stage.

        Raises:
            WiringError: naming the task and the output that was added to its arguments.
        """
        for node in self.tasks:
            for output in iter_outputs((node.args, node.kwargs)):
                if output.node not in node.upstream:
                    raise WiringError(
                        f"Task {node.label} receives the output of task {output.node.label} through a "
                        "list or dict that was changed after the call, so the task would not wait for it. "
                        "Build the container completely before passing it to the task."
                    )

    def add_stage(self, stage: Stage) -> None:
        """Append a stage, rejecting a second stage of the same name.

        Raises:
            WiringError: on a duplicate stage name.
        """
        if any(s.name == stage.name for s in self.stages):
            raise WiringError(
                f"Flow {self.name!r} already has a stage named {stage.name!r}; stage names must be unique."
            )
        self.stages.append(stage)

    @property
    def tasks(self) -> list[TaskNode]:
        """All task calls in wiring order (which is a valid execution order)."""
        return [node for stage in self.stages for node in stage.tasks]

    def __getitem__(self, name: str) -> Stage:
        """The stage called ``name``: ``flow["features"]``.

        Raises:
            KeyError: naming the known stages.
        """
        for stage in self.stages:
            if stage.name == name.lower():
                return stage
        known = ", ".join(s.name for s in self.stages)
        raise KeyError(f"Flow {self.name!r} has no stage {name!r}; its stages: {known}.")

    def get_stage(self, name: str) -> Stage:
        """The stage called ``name`` (same as ``flow[name]``)."""
        return self[name]

    def run(
        self,
        *components: Any,
        config: ConfigContext | None = None,
        fail_fast: bool | None = None,
        cache_validation: CacheValidation | str | None = None,
        engine: EngineLike | None = None,
        full_refresh: Sequence[str] = (),
        cache_validation_mode: str | None = None,
        disable_cache_function: bool | None = None,
        ignore_task_version: bool | None = None,
        batches: Mapping[str, Any] | None = None,
        batches_per_run: int | None = None,
        **options: Any,
    ) -> Result:
        """Execute the flow: run or reuse every task and publish every stage atomically.

        Args:
            *components: Run only these stages (Stage objects or names); a task output stands
                for its whole stage, since a stage is published as a whole. The other stages'
                published outputs feed them. A ConfigContext given first is taken as ``config``.
            config: The instance to run; defaults to the active ``with cfg:`` block, else to an
                embedded DuckDB file ``.pipedag/<flow name>.duckdb`` in the working directory.
            fail_fast: Stop at the first failing task and re-raise its exception. Defaults to
                the config's ``fail_fast``.
            cache_validation: Overrides the config's cache validation for this run: a mode name
                (``"force_cache_invalid"``, ``"ignore_fresh_input"``, ...) or a CacheValidation.
            engine: Where tasks execute: :class:`pipedag.SequentialEngine` (the default unless
                pipedag.yaml's ``orchestration`` names another), :class:`pipedag.ParallelEngine`
                or :class:`pipedag.DaskEngine`. Decisions and published tables do not depend on it.
            full_refresh: Incremental tasks to recompute from scratch, by name (``"doubled"``) or
                label (``"features.doubled"``).
            cache_validation_mode: pydiverse.pipedag's name for ``cache_validation`` (a mode).
            disable_cache_function: Override the config's ``cache_validation.disable_cache_function``.
            ignore_task_version: Override the config's ``cache_validation.ignore_task_version``.
            batches: Task name -> batch spec used instead of the task's own for this run, e.g.
                ``{"ingest": files.backfill(job="q1", id_min=20, id_max=80)}`` (see docs/batches.md).
            batches_per_run: How many batches each batch task processes in this run (default 1).
            **options: Reserved for later run options; unknown names raise.

        Returns:
            A :class:`Result` with per-task states and access to the outputs.

        Raises:
            StateError: when called while this flow is still being wired.
        """
        if self._token is not None:
            raise StateError(f"Flow {self.name!r} cannot run inside its own `with` block; call run() after it.")
        self.check_inputs()
        if options:
            raise TypeError(f"Flow.run() got unexpected keyword arguments: {', '.join(sorted(options))}.")
        from pipedag.config.context import ConfigContext
        from pipedag.config.pipedag_config import resolve_config

        if config is None and components and (components[0] is None or isinstance(components[0], ConfigContext)):
            config, components = components[0], components[1:]  # flow.run(cfg), as before
        stages = _stage_names(self, list(components))
        ctx = resolve_config(config, flow_name=self.name)
        if cache_validation is not None:
            from dataclasses import replace

            from pipedag.config.context import CacheValidation

            if isinstance(cache_validation, str):
                cache_validation = CacheValidation(mode=cache_validation)
            ctx = replace(ctx, cache_validation=cache_validation)
        ctx = _peer_cache_options(ctx, cache_validation_mode, disable_cache_function, ignore_task_version)
        if not _runners:
            raise StateError("Flow.run() needs the engine: import pipedag (the package), not only pipedag.core.")
        token = context.full_refresh_var.set(self._incremental_labels(full_refresh))
        try:
            with _batch_options[0](self, batches, batches_per_run) if _batch_options else nullcontext():
                return _runners[0](
                    self,
                    ctx,
                    engine,
                    fail_fast=ctx.fail_fast if fail_fast is None else fail_fast,
                    stages=stages,
                )
        finally:
            context.full_refresh_var.reset(token)

    def _incremental_labels(self, names: Sequence[str]) -> frozenset[str]:
        """``stage.task`` labels of the incremental tasks named in ``full_refresh``.

        Raises:
            ConfigError: for a name that is no incremental task of this flow.
        """
        if isinstance(names, str):
            names = [names]
        incremental = [n for n in self.tasks if n.task.kind == "incremental"]
        labels: set[str] = set()
        for name in names:
            found = [n.label for n in incremental if name in (n.name, n.label)]
            if not found:
                known = ", ".join(n.label for n in incremental) or "none"
                raise ConfigError(
                    f"full_refresh names {name!r}, which is no incremental task of flow {self.name!r}. "
                    f"Incremental tasks: {known}."
                )
            labels.update(found)
        return frozenset(labels)

    def __repr__(self) -> str:
        return f"<Flow {self.name} stages={[s.name for s in self.stages]}>"


def _stage_names(flow: Flow, components: list[Any]) -> list[str] | None:
    """Names of the stages ``flow.run(*components)`` selects (None: all).

    Raises:
        WiringError: for something that is neither a stage, a stage name nor a task output of ``flow``.
    """
    if not components:
        return None
    names: list[str] = []
    for component in components:
        if isinstance(component, str):
            name = component.lower()
        elif isinstance(component, Stage) and component.flow is flow:
            name = component.name
        elif isinstance(component, TaskOutput) and component.node.stage.flow is flow:
            name = component.node.stage.name
        else:
            raise WiringError(
                f"flow.run() got {component!r}; pass stages (or stage names) or task outputs of flow {flow.name!r}."
            )
        if name not in names:
            names.append(name)
    return names


def _peer_cache_options(
    ctx: ConfigContext, mode: str | None, disable_cache_function: bool | None, ignore_task_version: bool | None
) -> ConfigContext:
    """Apply pydiverse.pipedag's separate ``flow.run`` cache options to the run's config."""
    from dataclasses import replace

    changes: dict[str, Any] = {}
    if mode is not None:
        changes["mode"] = mode
    if disable_cache_function is not None:
        changes["disable_cache_function"] = disable_cache_function
    if ignore_task_version is not None:
        changes["ignore_task_version"] = ignore_task_version
    if not changes:
        return ctx
    return replace(ctx, cache_validation=replace(ctx.cache_validation, **changes))


def current_flow() -> Flow | None:
    """The flow whose ``with`` block is active, if any."""
    flow = context.current_flow()
    return flow if isinstance(flow, Flow) else None  # only Flow.__enter__ sets it
