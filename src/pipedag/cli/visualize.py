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
from pipedag.core.group import GroupNode, groups_of
from pipedag.errors import PipedagError

if TYPE_CHECKING:
    from pipedag.core.flow import Flow, Stage
    from pipedag.core.task import TaskNode

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
    groups = groups_of(flow)
    drawn: set[str] = set()
    for index, group in enumerate(groups):  # innermost first: a stage is boxed by its innermost group
        members = [s for s in group.stages if s.name not in drawn]
        if members:
            lines.extend(_group_open(group, index))
            for stage in members:
                lines.extend(_stage_lines(stage, states, groups))
                drawn.add(stage.name)
            lines.append("  }")
    for stage in flow.stages:
        if stage.name not in drawn:
            lines.extend(_stage_lines(stage, states, groups))
    for node in flow.tasks:
        for upstream in node.upstream:
            lines.append(f"  {_q(upstream.label)} -> {_q(node.label)};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _group_open(group: GroupNode, index: int) -> list[str]:
    style = group.style
    label = "" if style.hide_label or group.label is None else group.label
    colour = style.box_color_always or "#555555"
    look = "invis" if style.hide_box else "dashed"
    return [
        f"  subgraph {_q(f'cluster_group_{index}')} {{",
        f"    label={_q(label)}; style={look}; color={_q(colour)};",
    ]


def _task_line(node: TaskNode, states: dict[str, str]) -> str:
    state = states.get(node.label)
    label = node.name if state is None else f"{node.name}\n{state}"
    colour = COLOURS.get(state or "", UNKNOWN)
    return f"    {_q(node.label)} [label={_q(label)}, fillcolor={_q(colour)}];"


def _stage_lines(stage: Stage, states: dict[str, str], groups: list[GroupNode]) -> list[str]:
    """A stage's cluster; groups of its tasks become boxes inside it."""
    lines = [
        f"  subgraph {_q('cluster_' + stage.name)} {{",
        f"    label={_q(stage.name)}; style=rounded; color=\"#888888\";",
    ]
    drawn: set[str] = set()
    for index, group in enumerate(groups):
        members = [n for n in group.tasks if n.stage is stage and n.label not in drawn]
        if members:
            lines.extend("  " + line for line in _group_open(group, index))
            lines.extend("  " + _task_line(n, states) for n in members)
            lines.append("    }")
            drawn.update(n.label for n in members)
    lines.extend(_task_line(n, states) for n in stage.tasks if n.label not in drawn)
    lines.append("  }")
    return lines


FORMATS = ("dot", "svg", "png")


def output_format(output: Path | None, fmt: str | None, flow_name: str) -> tuple[str, Path]:
    """The format and file to write: ``--format``, else the output's suffix, else SVG.

    Raises:
        click.UsageError: when the suffix names no known format, or contradicts ``--format``.
    """
    suffix = output.suffix.lower().lstrip(".") if output is not None else ""
    if output is not None and suffix not in FORMATS and fmt is None:
        raise click.UsageError(
            f"Cannot tell the format of {output} from its suffix; use .dot, .svg or .png, or pass --format."
        )
    if fmt is not None and suffix in FORMATS and suffix != fmt:
        raise click.UsageError(f"--format {fmt} contradicts the output file {output}; drop one of them.")
    chosen = fmt or suffix or "svg"
    return chosen, output or Path(f"{flow_name}.{chosen}")


@click.command()
@click.argument("flow")
@instance_option
@click.option(
    "--output", "-o", type=click.Path(path_type=Path),
    help="Output file; its suffix (.dot, .svg, .png) sets the format (default: <flow>.svg).",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="Output format (default: from --output, else svg).")
@click.option("--no-state", is_flag=True, help="Do not colour tasks by their last run (no database access).")
@click.pass_context
def visualize(
    ctx: click.Context, flow: str, instance: str | None, output: Path | None, fmt: str | None, no_state: bool
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
    fmt, target = output_format(output, fmt, the_flow.name)
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
