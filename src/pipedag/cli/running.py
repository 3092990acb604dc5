"""``pipedag run`` and ``pipedag plan``: execute a flow, or say what executing it would do."""

from __future__ import annotations

import json

import click

from pipedag.cli.loading import instance_option, load_flow_for_instance
from pipedag.cli.tracebacks import user_location
from pipedag.errors import PipedagError

stage_option = click.option(
    "--stage",
    "-s",
    "stages",
    multiple=True,
    help="Only this stage (repeatable); other stages feed their published tables.",
)


@click.command()
@click.argument("flow")
@instance_option
@stage_option
@click.option("--fail-fast", is_flag=True, help="Stop at the first failing task and show its error.")
@click.option(
    "--engine",
    type=click.Choice(["sequential", "parallel", "dask"]),
    help="Where tasks execute (default: pipedag.yaml's orchestration.engine, else sequential).",
)
@click.option("--workers", type=click.IntRange(min=1), help="Tasks at once for the parallel and dask engines.")
@click.pass_context
def run(
    ctx: click.Context,
    flow: str,
    instance: str | None,
    stages: tuple[str, ...],
    fail_fast: bool,
    engine: str | None,
    workers: int | None,
) -> None:
    """Run FLOW (module:object or file.py:object naming a Flow or a function returning one)."""
    from pipedag.engine.base import configured_engine
    from pipedag.engine.run import run_flow

    the_flow, config = load_flow_for_instance(ctx, flow, instance)
    result = run_flow(
        the_flow,
        config,
        configured_engine(config, engine, workers),
        fail_fast=fail_fast or config.fail_fast,
        stages=list(stages) or None,
    )
    counts = {state: sum(o.state.value == state for o in result.outcomes) for state in ("ran", "cache-valid")}
    if not result.successful:
        bad = next(o for o in result.outcomes if o.state.value in ("failed", "skipped"))
        location = user_location(bad.exception) if bad.exception is not None else None
        at = f" at {location}" if location else ""
        # Chained to the task's own exception, so that --debug prints its traceback too.
        raise PipedagError(
            f"Run {result.run_id} of flow {the_flow.name} failed: task {bad.label} {bad.state.value}: {bad.reason}"
            f"{at}. Fix the task and run again; cache-valid tasks will not rerun."
        ) from bad.exception
    click.echo(
        f"Run {result.run_id} of flow {the_flow.name} on instance {config.instance_name} succeeded: "
        f"{counts['ran']} ran, {counts['cache-valid']} cache-valid."
    )


@click.command()
@click.argument("flow")
@instance_option
@stage_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def plan(ctx: click.Context, flow: str, instance: str | None, stages: tuple[str, ...], fmt: str) -> None:
    """Dry run: for every task of FLOW, whether it would run or is cache-valid, and why.

    Nothing expensive happens: tasks are decided from their cache keys without being called;
    only lazy tasks are called to render their SQL, which is not executed.
    """
    from pipedag.engine.plan import plan_flow
    from pipedag.engine.summary import render_table

    the_flow, config = load_flow_for_instance(ctx, flow, instance)
    the_plan = plan_flow(the_flow, config, list(stages) or None)
    if fmt == "json":
        rows = [{"task": t.label, "action": t.action, "reason": t.reason} for t in the_plan.tasks]
        click.echo(json.dumps(rows, indent=2))
        return
    table = [(t.label.split(".", 1)[1], t.stage, t.action, t.reason) for t in the_plan.tasks]
    click.echo(render_table(("task", "stage", "action", "reason"), table))
    click.echo(
        f"{len(the_plan.to_run)} of {len(the_plan.tasks)} tasks would run on instance {config.instance_name}."
    )
