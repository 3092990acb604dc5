"""``pipedag ui``: serve a read-only page about an instance on this machine."""

from __future__ import annotations

import click

from pipedag.cli.loading import flow_option, instance_option, load_explored_instance, load_flow_for_instance
from pipedag.errors import PipedagError


@click.command()
@click.argument("flow", required=False)
@instance_option
@flow_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=0, type=click.IntRange(0, 65535), help="Port to listen on (default: a free one).")
@click.pass_context
def ui(ctx: click.Context, flow: str | None, instance: str | None, flow_name: str | None, host: str, port: int) -> None:
    """Serve a local page with the flow graph, runs, decisions and tables of an instance (read-only).

    FLOW (package.module:object or file.py:object) draws that flow's wiring; without it the graph
    is drawn from what the runs recorded.
    """
    try:
        from pipedag.ui.server import bind, create_app, serve
    except ImportError as exc:
        raise PipedagError(
            f'pipedag ui needs the ui extra ({exc.name} is missing): pip install "pipedag[ui]"'
        ) from None
    if flow is not None:
        if flow_name is not None:
            raise click.UsageError("Give FLOW or --flow, not both: FLOW's name picks its zero-configuration store.")
        the_flow, config = load_flow_for_instance(ctx, flow, instance)
    else:
        the_flow, config = None, load_explored_instance(ctx, instance, flow_name)
    sock = bind(host, port)
    shown_host = f"[{host}]" if ":" in host else host
    click.echo(
        f"pipedag ui for instance {config.instance_name} of {config.pipeline_name}: "
        f"http://{shown_host}:{sock.getsockname()[1]}/ (Ctrl-C stops it)"
    )
    serve(create_app(config, the_flow), sock)
