"""``@input_stage_versions``: tasks that see two versions of their stage at once.

The task receives the tables of the stage being built (those written by earlier tasks of the
stage in this run) and the tables of a committed version of the same stage: this instance's
published one, or, when a :class:`~pipedag.ConfigContext` is passed as an argument, the one
published by that other instance. That is how a ``mini`` instance copies a filtered sample
of ``full``'s tables::

    @input_stage_versions(input_type=sa.Table, version="1")
    def sample(tables, full_tables, full_cfg, n):
        return [Table(sa.select(t).limit(n), name) for name, t in full_tables.items()]

The content keys of both table sets join the task's cache key, so the task reruns exactly when
``full`` published different tables (its ``cache=`` function, if any, is called with the same
arguments, tables given as :class:`~pipedag.TableRef`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar, overload

from pipedag.core.task import Task


class StageVersionsTask(Task):
    """A task created by :func:`input_stage_versions` (run by :mod:`pipedag.engine.stage_versions`).

    Attributes:
        pass_args: Keyword arguments handed to the cache function (None: all of them).
    """

    pass_args: tuple[str, ...] | None = None

    def cache_kwargs(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """The keyword arguments the cache function receives."""
        if self.pass_args is None:
            return kwargs
        return {k: v for k, v in kwargs.items() if k in self.pass_args}

    kind: ClassVar[str] = "input_stage_versions"


@overload
def input_stage_versions(fn: Callable[..., Any], /) -> Task: ...


@overload
def input_stage_versions(
    *,
    name: str | None = None,
    version: str | None = None,
    input_type: type | tuple[type, str] | None = None,
    nout: int = 1,
    cache: Callable[..., Any] | None = None,
    pass_args: Sequence[str] | None = None,
    lazy: bool = False,
    ordering_barrier: bool = True,
) -> Callable[[Callable[..., Any]], Task]: ...


def input_stage_versions(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    version: str | None = None,
    input_type: type | tuple[type, str] | None = None,
    nout: int = 1,
    cache: Callable[..., Any] | None = None,
    pass_args: Sequence[str] | None = None,
    lazy: bool = False,
    ordering_barrier: bool = True,
) -> Task | Callable[[Callable[..., Any]], Task]:
    """Like :func:`~pipedag.materialize`, but the function also gets two dicts of tables first.

    The function is called as ``fn(tables, other_tables, *args, **kwargs)``: ``tables`` maps
    table name to table for everything earlier tasks of this stage wrote in this run;
    ``other_tables`` does the same for the committed version of this stage, taken from the
    instance given as a ``ConfigContext`` among ``args`` (or from this instance when none is).

    Args:
        fn: The function (when used without parentheses).
        name: Task name; defaults to the function name.
        version: Bump it when the code changes; ``None`` runs the task every time.
        input_type: How tables are handed over: ``sqlalchemy.Table`` (needs both instances in one
            database), ``pandas.DataFrame`` (default), ``polars.DataFrame`` or ``pyarrow.Table``.
        nout: Number of outputs.
        cache: Optional function of the same arguments (tables as TableRef) joining the cache key.
        pass_args: Names of the keyword arguments the cache function receives (default: all).
        lazy: The function is cheap and returns SQL: it is called on every run and its result
            is stored only when the rendered SQL or the tables of either version changed.
        ordering_barrier: Accepted for pydiverse.pipedag programs. pipedag always runs the task
            after every task wired before it in its stage, so the barrier is implied.

    Returns:
        A task, or a decorator producing one.
    """

    del ordering_barrier

    def decorate(func: Callable[..., Any]) -> Task:
        task = StageVersionsTask(
            func, name=name, version=version, input_type=input_type, lazy=lazy, nout=nout, cache=cache
        )
        task.pass_args = None if pass_args is None else tuple(pass_args)
        return task

    return decorate(fn) if fn is not None else decorate
