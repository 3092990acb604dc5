"""Wiring a flow: what is allowed while building the graph and what fails at once."""

from __future__ import annotations

import pandas as pd
import pytest

from pipedag import Flow, Stage, Table, WiringError, materialize


@materialize(version="1.0")
def make_frame(n: int = 3) -> pd.DataFrame:
    return pd.DataFrame({"x": range(n)})


def test_task_outside_flow_runs_plain_function() -> None:
    """Calling a task outside any flow runs the plain function and returns its value."""
    result = make_frame(2)
    assert isinstance(result, pd.DataFrame)
    assert list(result.x) == [0, 1]


def test_task_outside_stage_is_rejected() -> None:
    """A task called inside a Flow but outside any Stage raises a WiringError naming the fix."""
    with pytest.raises(WiringError, match=r"outside any Stage.*with Stage"), Flow("f"):
        make_frame()


def test_nested_stages_are_rejected() -> None:
    """Stages cannot be nested."""
    with pytest.raises(WiringError, match="nested"), Flow("f"), Stage("a"), Stage("b"):
        pass


def test_stage_outside_flow_is_rejected() -> None:
    """Entering a Stage without a Flow is an error."""
    with pytest.raises(WiringError, match="inside `with Flow"), Stage("a"):
        pass


def test_duplicate_stage_names_are_rejected() -> None:
    """Two stages of one flow cannot share a name."""
    with pytest.raises(WiringError, match="already has a stage named 'a'"), Flow("f"):
        with Stage("a"):
            pass
        with Stage("a"):
            pass


def test_stage_reused_in_second_flow_is_rejected() -> None:
    """A Stage object belongs to one flow only."""
    stage = Stage("a")
    with Flow("f1"), stage:
        pass
    with pytest.raises(WiringError, match="second flow 'f2'"), Flow("f2"), stage:
        pass


def test_flow_inside_flow_is_rejected() -> None:
    """Flows cannot be nested."""
    with pytest.raises(WiringError, match="inside another flow"), Flow("f1"), Flow("f2"):
        pass


def test_different_tasks_with_same_name_in_stage_are_rejected() -> None:
    """Two different functions with one task name in one stage are ambiguous."""

    @materialize(name="clean", version="1")
    def clean_a() -> int:
        return 1

    @materialize(name="clean", version="1")
    def clean_b() -> int:
        return 2

    with pytest.raises(WiringError, match="Two different tasks are named 'clean'"), Flow("f"), Stage("s"):
        clean_a()
        clean_b()


def test_same_task_twice_gets_numbered_names() -> None:
    """Calling one task twice in a stage names the calls task and task_2."""
    with Flow("f") as flow, Stage("s"):
        make_frame(1)
        make_frame(2)
    assert [n.name for n in flow.tasks] == ["make_frame", "make_frame_2"]


def test_invalid_stage_name_is_rejected() -> None:
    """Stage names become schema names, so they must be identifiers."""
    with pytest.raises(WiringError, match="Invalid stage name 'bad-name'"):
        Stage("bad-name")


def test_reserved_marker_in_name_is_rejected() -> None:
    """The data-schema marker cannot appear in a user's stage name."""
    with pytest.raises(WiringError, match="reserved"):
        Stage("x__pipedag")


def test_unpacking_single_output_is_rejected() -> None:
    """Unpacking a task output without nout gives a helpful error."""
    with pytest.raises(WiringError, match="nout"), Flow("f"), Stage("s"):
        _a, _b = make_frame()


def test_bad_materialize_arguments_are_rejected() -> None:
    """Decorator arguments are validated when the task is defined."""
    with pytest.raises(WiringError, match="nout"):
        materialize(nout=0)(lambda: 1)
    with pytest.raises(WiringError, match="version must be a string"):
        materialize(version=1)(lambda: 1)  # type: ignore[arg-type]


def test_flow_run_inside_its_with_block_is_rejected() -> None:
    """Running a flow before its wiring block closed is an illegal lifecycle step."""
    from pipedag import StateError

    with pytest.raises(StateError, match="inside its own"), Flow("f") as flow:
        flow.run()


def test_table_wrapper_defaults() -> None:
    """Table keeps its options and exposes the primary key as a list."""
    t = Table(pd.DataFrame(), "t", primary_key="id", indexes=[["a"]])
    assert t.primary_key_columns == ["id"]
    assert Table(None).primary_key_columns == []


@pytest.mark.parametrize(
    "name", ["pipedag_metadata", "PIPEDAG_METADATA", "dev_pipedag_metadata", "pipedag_metadata_x", "x__pipedag"]
)
def test_stage_named_like_pipedag_schemas_is_rejected(name: str) -> None:
    """A stage whose schema could be pipedag's metadata or data schema is rejected when it is created."""
    with pytest.raises(WiringError, match=f"Invalid stage name {name!r}"):
        Stage(name)


@pytest.mark.parametrize("name", ["public", "main", "information_schema", "pg_catalog", "pg_stats"])
def test_stage_named_like_system_schema_is_rejected(name: str) -> None:
    """A stage cannot be a schema the database owns, since pipedag publishes and drops stage schemas whole."""
    with pytest.raises(WiringError, match="schema the database itself uses"):
        Stage(name)


def test_container_filled_after_the_call_is_a_wiring_error() -> None:
    """A task reaching a later stage's output through a list filled after its call fails when the flow closes."""

    @materialize(version="1")
    def count(items: list[pd.DataFrame]) -> int:
        return len(items)

    items: list[object] = []
    with pytest.raises(WiringError, match=r"Task s1\.count receives the output of task s2\.make_frame"), Flow("f"):
        with Stage("s1"):
            count(items)
        with Stage("s2"):
            items.append(make_frame())


def test_container_filled_after_the_flow_closed_is_refused_by_run() -> None:
    """flow.run() refuses a flow whose task arguments gained an output after wiring."""
    items: dict[str, object] = {}

    @materialize(version="1")
    def count(things: dict[str, object]) -> int:
        return len(things)

    with Flow("f") as flow:
        with Stage("s1"):
            count(items)
        with Stage("s2"):
            later = make_frame()
    items["later"] = later
    with pytest.raises(WiringError, match="changed after the call"):
        flow.run()


def test_auto_names_never_repeat_an_explicit_name() -> None:
    """A task named foo_2 and two calls of foo get distinct names, whichever comes first."""

    @materialize(name="make_frame_2", version="1")
    def other() -> int:
        return 1

    with Flow("f") as flow:
        with Stage("a"):
            other()
            make_frame()
            make_frame()
        with Stage("b"):
            make_frame()
            make_frame()
            other()
    names = {s.name: [n.name for n in s.tasks] for s in flow.stages}
    assert names == {
        "a": ["make_frame_2", "make_frame", "make_frame_3"],
        "b": ["make_frame", "make_frame_2", "make_frame_2_2"],
    }


def test_auto_version_on_lazy_or_non_polars_task_is_rejected_at_decoration() -> None:
    """AUTO_VERSION on a lazy task or without input_type=polars.LazyFrame fails when the task is decorated."""
    import polars as pl

    from pipedag import AUTO_VERSION

    with pytest.raises(WiringError, match="lazy tasks are versioned by the SQL"):
        materialize(version=AUTO_VERSION, lazy=True, input_type=pl.LazyFrame)(lambda: 1)
    with pytest.raises(WiringError, match=r"needs input_type=polars.LazyFrame \(got none\)"):
        materialize(version=AUTO_VERSION)(lambda: 1)
    assert materialize(version=AUTO_VERSION, input_type=pl.LazyFrame)(lambda: 1).version == AUTO_VERSION


@pytest.mark.parametrize("name", ["flow 1", "Flow-One", "1st flow", "données"])
def test_flow_accepts_any_non_empty_name(name: str) -> None:
    """Flow names need not be SQL identifiers; they are kept as written."""
    assert Flow(name).name == name


@pytest.mark.parametrize("name", ["", "  ", "a/b", "a\\b", "a\nb", ".."])
def test_flow_name_must_be_usable_as_file_name(name: str) -> None:
    """An empty flow name, or one that cannot name the .pipedag/<flow>.duckdb file, is rejected."""
    with pytest.raises(WiringError, match="Invalid flow name"):
        Flow(name)
