"""``pipedag visualize``: the flow as a graph (stages as clusters, tasks coloured by last state).

DOT is always written; SVG/PNG are rendered by graphviz's ``dot`` program when installed.
Nothing leaves the machine.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import click

from pipedag.cli.loading import instance_option, load_flow, load_flow_for_instance
from pipedag.errors import PipedagError

if TYPE_CHECKING:
    from pipedag.core.flow import Flow

COLOURS = {"ran": "#b7e4c7", "cache-valid": "#bde0fe", "failed": "#ffadad", "skipped": "#e0e0e0"}
UNKNOWN = "#ffffff"


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def flow_to_dot(flow: Flow, states: dict[str, str]) -> str:
    """Render ``flow`` as DOT: one cluster per stage, edges from inputs to tasks.

    Args:
        flow: The flow.
        states: Last decision per ``stage.task`` (missing tasks are drawn white).

    Returns:
        The DOT source.
    """
    lines = [
        f"digraph {_q(flow.name)} {{",
        "  rankdir=LR;",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica"];',
    ]
    for stage in flow.stages:
        lines.append(f"  subgraph {_q('cluster_' + stage.name)} {{")
        lines.append(f"    label={_q(stage.name)}; style=rounded; color=\"#888888\";")
        for node in stage.tasks:
            state = states.get(node.label)
            label = node.name if state is None else f"{node.name}\n{state}"
            colour = COLOURS.get(state or "", UNKNOWN)
            lines.append(f"    {_q(node.label)} [label={_q(label)}, fillcolor={_q(colour)}];")
        lines.append("  }")
    for node in flow.tasks:
        for upstream in node.upstream:
            lines.append(f"  {_q(upstream.label)} -> {_q(node.label)};")
    lines.append("}")
    return "\n".join(lines) + "\n"


@click.command()
@click.argument("flow")
@instance_option
@click.option("--output", "-o", type=click.Path(path_type=Path), help="Output file (default: <flow>.<format>).")
@click.option("--format", "fmt", type=click.Choice(["dot", "svg", "png"]), default="svg", show_default=True)
@click.option("--no-state", is_flag=True, help="Do not colour tasks by their last run (no database access).")
@click.pass_context
def visualize(
    ctx: click.Context, flow: str, instance: str | None, output: Path | None, fmt: str, no_state: bool
) -> None:
    """Draw FLOW: stages as clusters, tasks coloured by their state in the instance's last run."""
    from pipedag.store.run_history import last_task_states

    states: dict[str, str] = {}
    if no_state:
        the_flow = load_flow(flow)
    else:
        the_flow, config = load_flow_for_instance(ctx, flow, instance)
        with config.create_store() as store:
            states = last_task_states(store)
    target = output or Path(f"{the_flow.name}.{fmt}")
    dot_path = target if fmt == "dot" else target.with_suffix(".dot")
    dot_path.parent.mkdir(parents=True, exist_ok=True)
    dot_path.write_text(flow_to_dot(the_flow, states))
    if fmt == "dot":
        click.echo(f"Wrote {dot_path}.")
        return
    exe = shutil.which("dot")
    if exe is None:
        click.secho(
            f"Wrote {dot_path} only: graphviz's `dot` is not installed. Install graphviz "
            f"(e.g. apt install graphviz) or render elsewhere: dot -T{fmt} {dot_path} -o {target}",
            fg="yellow",
        )
        return
    done = subprocess.run([exe, f"-T{fmt}", str(dot_path), "-o", str(target)], capture_output=True, text=True)
    if done.returncode != 0:
        raise PipedagError(f"graphviz failed to render {dot_path}: {done.stderr.strip()}; check the DOT file.")
    click.echo(f"Wrote {dot_path} and {target}.")
