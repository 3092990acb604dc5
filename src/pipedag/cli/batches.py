"""``pipedag batches status [JOB]``: the batch inventory of an instance, job by job and range by range."""

from __future__ import annotations

import click

from pipedag.cli.loading import flow_option, instance_option, load_explored_instance


@click.group()
def batches() -> None:
    """Look at the batch inventory (jobs over catalog tables, see docs/batches.md)."""


@batches.command("status")
@click.argument("job", required=False)
@instance_option
@flow_option
@click.pass_context
def batches_status(ctx: click.Context, job: str | None, instance: str | None, flow_name: str | None) -> None:
    """Jobs with their position, and every range with count, weight, status, attempts and error."""
    from pipedag.batches import Inventory
    from pipedag.engine.summary import render_table

    config = load_explored_instance(ctx, instance, flow_name)
    inventory = Inventory(config)
    jobs = [j for j in inventory.jobs() if job is None or j.job == job]
    if job is not None and not jobs:
        known = ", ".join(j.job for j in inventory.jobs()) or "none yet"
        raise click.UsageError(f"Instance {config.instance_name!r} has no batch job {job!r}; known: {known}.")
    click.echo(f"Batch jobs of instance {config.instance_name} (id {config.instance_id}):")
    if not jobs:
        click.echo("  (none yet: claim a batch first)")
        return
    job_rows = [(j.job, j.kind, j.source, _bounds(j.id_min, j.id_max), j.position) for j in jobs]
    click.echo(render_table(("job", "kind", "source", "bounds", "position"), job_rows))
    ranges = inventory.status(job)
    rows = [
        (r.job, r.range_id, f"{r.id_min}..{r.id_max}", r.count, r.weight, r.status + (" (oversize)" * r.oversize),
         r.attempt, r.worker, _one_line(r.error))
        for r in ranges
    ]
    click.echo("\nRanges (latest attempt):")
    headers = ("job", "range", "ids", "count", "weight", "status", "attempt", "worker", "error")
    click.echo(render_table(headers, rows) if rows else "  (none)")


def _bounds(id_min: int | None, id_max: int | None) -> str:
    return "" if id_min is None else f"{id_min}..{id_max}"


def _one_line(text: str | None, width: int = 60) -> str | None:
    if text is None:
        return None
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= width else line[: width - 3] + "..."
