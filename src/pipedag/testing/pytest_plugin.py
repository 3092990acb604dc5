"""pytest plugin (registered through the ``pytest11`` entry point): run tests per pipeline instance.

* ``@pytest.mark.instances("mini", "midi")`` runs a test once per instance, with that
  instance's :class:`~pipedag.ConfigContext` active (so ``flow.run()`` uses it) and available
  as the ``pipedag_config`` fixture.
* ``--pipedag-instance NAME`` (repeatable) keeps only the named instances.
* An instance's ``tags`` in pipedag.yaml become marks of its test cases, so
  ``pytest -m "not slow"`` skips an instance tagged ``slow``.
* ``pipedag_tmp_config`` gives a test a throw-away DuckDB store (a new file, deleted afterwards).
* At the end of the session, every flow run of an instance test is listed with each task's
  decision (ran / cache-valid) and its reason, like ``pipedag run`` prints it.

pipedag.yaml is taken from the ``pipedag_config`` ini option (relative to the rootdir), else
``$PIPEDAG_CONFIG``, else the test file's folder and its parents.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pipedag.config.context import ConfigContext
    from pipedag.config.pipedag_config import PipedagConfig

MARK = "instances"


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--pipedag-instance`` and the ``pipedag_config`` ini option."""
    group = parser.getgroup("pipedag")
    group.addoption(
        "--pipedag-instance",
        action="append",
        default=[],
        metavar="NAME",
        help="run @pytest.mark.instances tests only for this pipedag instance (repeatable)",
    )
    parser.addini("pipedag_config", "path of pipedag.yaml relative to the rootdir (default: searched)", default="")


def pytest_configure(config: pytest.Config) -> None:
    """Declare the ``instances`` mark and the instance tags of pipedag.yaml as marks.

    Tags must be known before collection: ``--strict-markers -m 'not slow'`` checks the names in
    ``-m`` even when ``--pipedag-instance mini`` leaves no case tagged ``slow``.
    """
    config.addinivalue_line(
        "markers", f"{MARK}(*names): run the test once per pipedag instance, with its config active"
    )
    for tag in ("slow", *_declared_tags(config)):
        _tag_mark(config, tag)
    config.stash[_RUNS_KEY] = []


def _declared_tags(config: pytest.Config) -> list[str]:
    """Every instance tag of the pipedag.yaml found from the rootdir (none when there is none or it is broken)."""
    from pipedag.errors import ConfigError

    try:
        pipedag = _load(config, config.invocation_params.dir)
    except ConfigError:
        return []  # reported where a test needs the file, with the test's name
    tags: set[str] = set()
    for name in pipedag.instance_names:
        try:
            tags.update(pipedag.get(name).tags)
        except ConfigError:
            continue  # e.g. an environment variable only that instance needs
    return sorted(tags)


def _config_path(config: pytest.Config, start: Path) -> Path:
    from pipedag.config.pipedag_config import find_config_file
    from pipedag.errors import ConfigError

    ini = str(config.getini("pipedag_config"))
    path = config.rootpath / ini if ini else find_config_file(start)
    if path is None or not path.is_file():
        where = f"ini option pipedag_config = {ini}" if ini else f"{start} or its parents"
        raise ConfigError(
            f"No pipedag.yaml found ({where}); add one, set $PIPEDAG_CONFIG, or set the pipedag_config ini option."
        )
    return path


def _load(config: pytest.Config, start: Path) -> PipedagConfig:
    from pipedag.config.pipedag_config import PipedagConfig

    path = _config_path(config, start)
    cache: dict[Path, PipedagConfig] = config.stash.setdefault(_CACHE_KEY, {})
    if path not in cache:
        cache[path] = PipedagConfig(path)
    return cache[path]


_CACHE_KEY = pytest.StashKey[dict[Path, Any]]()


def _mark_names(marker: pytest.Mark) -> list[str]:
    names: list[str] = []
    for arg in marker.args:
        names.extend([arg] if isinstance(arg, str) else list(arg))
    return names


def _tag_mark(config: pytest.Config, tag: str) -> pytest.MarkDecorator:
    # Tags come from pipedag.yaml, so declare them; --strict-markers would reject them otherwise.
    if not any(line.split(":")[0].split("(")[0].strip() == tag for line in config.getini("markers")):
        config.addinivalue_line("markers", f"{tag}: pipedag instance tag")
    return getattr(pytest.mark, tag)  # type: ignore[no-any-return]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize tests marked ``instances`` over the selected instances (with their tag marks)."""
    marker = metafunc.definition.get_closest_marker(MARK)
    if marker is None:
        return
    from pipedag.errors import ConfigError

    names = _mark_names(marker)
    if not names:
        raise pytest.UsageError(f"{metafunc.definition.nodeid}: @pytest.mark.instances() needs instance names.")
    try:
        params = _instance_params(metafunc.config, metafunc.definition.path.parent, names)
    except ConfigError as exc:
        # One line naming the test, not a traceback through pytest's hooks.
        raise pytest.Collector.CollectError(f"{metafunc.definition.nodeid}: {exc}") from None
    metafunc.parametrize("pipedag_instance", params, indirect=True)


def _instance_params(config: pytest.Config, start: Path, names: list[str]) -> list[Any]:
    """One ``pytest.param`` per selected instance, marked with the instance's tags."""
    pipedag = _load(config, start)
    selected: list[str] = config.getoption("pipedag_instance")
    for name in selected:
        pipedag.get(name)  # a misspelt --pipedag-instance must not silently skip every test
    params = []
    for name in names:
        instance = pipedag.get(name)  # unknown names fail collection with pipedag's ConfigError
        if selected and name not in selected:
            continue
        marks = [_tag_mark(config, tag) for tag in instance.tags]
        params.append(pytest.param(name, id=name, marks=marks))
    return params


@pytest.fixture
def pipedag_instance(request: pytest.FixtureRequest) -> str | None:
    """Name of the instance this test case runs for (None for tests without the instances mark)."""
    param = getattr(request, "param", None)
    return None if param is None else str(param)


@pytest.fixture
def pipedag_config(request: pytest.FixtureRequest, pipedag_instance: str | None) -> ConfigContext:
    """The ConfigContext of the test's instance.

    Without the ``instances`` mark: the first ``--pipedag-instance``, else pipedag.yaml's
    first instance.
    """
    pipedag = _load(request.config, request.path.parent)
    selected: list[str] = request.config.getoption("pipedag_instance")
    name = pipedag_instance or (selected[0] if selected else None)
    return pipedag.get(name)


@pytest.fixture(autouse=True)
def _pipedag_active_instance(request: pytest.FixtureRequest, pipedag_instance: str | None) -> Iterator[None]:
    """Make the instance's config the active one while a marked test runs."""
    if pipedag_instance is None:
        yield
        return
    from pipedag.engine.events import listening
    from pipedag.testing.capture import CapturedRuns

    config: ConfigContext = request.getfixturevalue("pipedag_config")
    captured = CapturedRuns()
    with config, listening(captured):
        yield
    request.config.stash[_RUNS_KEY].append((request.node.nodeid, captured))


_RUNS_KEY = pytest.StashKey[list[tuple[str, Any]]]()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """List every flow run of the instance tests with each task's decision and reason."""
    from pipedag.engine.summary import render_table

    runs: list[tuple[str, Any]] = config.stash.get(_RUNS_KEY, [])
    if not any(captured.results for _, captured in runs):
        return
    terminalreporter.section("pipedag runs")
    for nodeid, captured in runs:
        for result in captured.results:
            outcomes = result.outcomes
            counts = ", ".join(
                f"{sum(o.state.value == state for o in outcomes)} {state}" for state in ("ran", "cache-valid")
            )
            state = "succeeded" if result.successful else "failed"
            terminalreporter.write_line(
                f"{nodeid}: run {result.run_id} of flow {result.flow.name} on instance "
                f"{result.config.instance_name} {state}: {counts}"
            )
            rows = [(o.label, o.state.value, o.rows, o.reason) for o in outcomes]
            for line in render_table(("task", "decision", "rows", "reason"), rows).splitlines():
                terminalreporter.write_line(f"  {line}")


@pytest.fixture
def pipedag_tmp_config(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ConfigContext]:
    """A throw-away DuckDB store, active during the test and deleted afterwards.

    It keeps the name, attrs and tags of the test's instance (or of pipedag.yaml's first instance)
    when a pipedag.yaml is found, so flows see the same settings; otherwise it is a bare config.
    """
    from pipedag.config.context import ConfigContext
    from pipedag.errors import ConfigError

    path = tmp_path / "pipedag_tmp_store.duckdb"
    url = f"duckdb:///{path}"
    try:
        base: ConfigContext = request.getfixturevalue("pipedag_config")
    except ConfigError:
        base = ConfigContext(pipeline_name="test", instance_name="tmp", instance_id="tmp", table_store_url=url)
    config = dataclasses.replace(
        base, table_store_url=url, table_store_class=None, instance_id=f"{base.instance_id}_tmp", schema_prefix="",
        schema_suffix="",
    )
    with config:
        yield config
    path.unlink(missing_ok=True)
    path.with_name(path.name + ".wal").unlink(missing_ok=True)
