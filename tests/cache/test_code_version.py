"""CODE_VERSION: a task's version follows its code and its project-local helpers, nothing else."""

from __future__ import annotations

import dataclasses
import importlib
import shutil
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from pipedag import CODE_VERSION, CacheError, ConfigContext, Flow, Stage, TaskState, materialize
from pipedag.cache.code_version import code_version, iter_visited

HELPERS = '''
FACTOR = 2


def scale(values):
    """Multiply by FACTOR."""
    return [v * FACTOR for v in values]


def clean(values):
    return scale([v for v in values if v is not None])
'''

TASKS = '''
import pandas as pd

from pipedag import materialize, CODE_VERSION
from {pkg}.helpers import clean


@materialize(version=CODE_VERSION)
def numbers():
    # the data
    return pd.DataFrame({{"x": clean([1, None, 3])}})
'''


class Project:
    """A throw-away package of user code on disk, re-imported after every edit."""

    def __init__(self, root: Path) -> None:
        self.name = f"proj_{uuid.uuid4().hex[:8]}"
        self.folder = root / self.name
        self.folder.mkdir()
        (self.folder / "__init__.py").write_text("")
        self.write("helpers", HELPERS)
        self.write("tasks", TASKS.format(pkg=self.name))
        sys.path.insert(0, str(root))

    def write(self, module: str, text: str) -> None:
        (self.folder / f"{module}.py").write_text(textwrap.dedent(text))

    def edit(self, module: str, old: str, new: str) -> None:
        path = self.folder / f"{module}.py"
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new))

    def tasks(self) -> ModuleType:
        shutil.rmtree(self.folder / "__pycache__", ignore_errors=True)
        importlib.invalidate_caches()
        for module in ("helpers", "tasks"):
            full = f"{self.name}.{module}"
            if full in sys.modules:
                importlib.reload(sys.modules[full])
            else:
                importlib.import_module(full)
        return sys.modules[f"{self.name}.tasks"]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    """User code in a temporary package."""
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    proj = Project(tmp_path)
    yield proj
    sys.path.remove(str(tmp_path))
    for name in [m for m in sys.modules if m.startswith(proj.name)]:
        del sys.modules[name]


def _run(project: Project, config: ConfigContext, reason: str | None = None) -> TaskState:
    with Flow("code") as flow, Stage("s"):
        project.tasks().numbers()
    result = flow.run(config=config)
    assert result.successful
    if reason is not None:
        assert result.outcomes[0].reason == reason
    return result.outcomes[0].state


def test_editing_a_helper_reruns_the_task(project: Project, duckdb_config: ConfigContext) -> None:
    """Changing a helper the task calls (two levels down) reruns it; the first rerun explains why."""
    assert _run(project, duckdb_config) is TaskState.RAN
    assert _run(project, duckdb_config) is TaskState.CACHE_VALID
    project.edit("helpers", "return [v * FACTOR for v in values]", "return [v * FACTOR + 1 for v in values]")
    assert _run(project, duckdb_config, reason="task code changed (CODE_VERSION)") is TaskState.RAN


def test_editing_a_constant_reruns_the_task(project: Project, duckdb_config: ConfigContext) -> None:
    """A module-level constant used by a helper is part of the version."""
    _run(project, duckdb_config)
    project.edit("helpers", "FACTOR = 2", "FACTOR = 3")
    assert _run(project, duckdb_config) is TaskState.RAN


def test_comments_docstrings_and_whitespace_do_not_rerun(project: Project, duckdb_config: ConfigContext) -> None:
    """Editing only comments, docstrings and blank lines keeps the task cache-valid."""
    _run(project, duckdb_config)
    project.edit("tasks", "# the data", "# the data, documented at length\n\n")
    project.edit("helpers", '"""Multiply by FACTOR."""', '"""Multiply every value by FACTOR (changed docs)."""')
    project.edit("helpers", "def clean(values):", "def clean(values):  # drop nulls")
    assert _run(project, duckdb_config) is TaskState.CACHE_VALID


def test_editing_the_task_body_reruns(project: Project, duckdb_config: ConfigContext) -> None:
    """A changed literal in the task body reruns it."""
    _run(project, duckdb_config)
    project.edit("tasks", "[1, None, 3]", "[1, None, 4]")
    assert _run(project, duckdb_config) is TaskState.RAN


def test_config_default_version_applies_to_unversioned_tasks(duckdb_config: ConfigContext) -> None:
    """With default_version=CODE_VERSION an unversioned task is cached instead of running every time."""
    config = dataclasses.replace(duckdb_config, default_version=CODE_VERSION)

    @materialize
    def plain() -> Any:
        import pandas as pd

        return pd.DataFrame({"a": [1]})

    states = []
    for _ in range(2):
        with Flow("default") as flow, Stage("s"):
            plain()
        states.append(flow.run(config=config).outcomes[0].state)
    assert states == [TaskState.RAN, TaskState.CACHE_VALID]


def _helper(x: int) -> int:
    return x + 1


def test_third_party_code_is_not_hashed() -> None:
    """Library functions are not followed; project functions in the same file are."""
    import pandas as pd

    def task() -> Any:
        return pd.DataFrame({"a": [_helper(1)]}).pipe(textwrap.dedent)

    visited = list(iter_visited(task))
    assert any(v.endswith("_helper") for v in visited)
    assert not any("pandas" in v or "textwrap" in v for v in visited)


def test_helpers_reached_through_a_module_attribute(project: Project) -> None:
    """``helpers.clean(...)`` through an imported project module is followed like a bare name."""
    project.write(
        "tasks",
        f"from {project.name} import helpers\n\n\ndef numbers():\n    return helpers.clean([1, None])\n",
    )
    visited = list(iter_visited(project.tasks().numbers))
    assert [v.rsplit(".", 1)[-1] for v in visited] == ["numbers", "clean", "scale", "FACTOR"]


def test_source_less_function_is_a_clear_error() -> None:
    """A function without readable source fails with a CacheError naming the fix."""
    namespace: dict[str, Any] = {}
    exec("def generated():\n    return 1\n", namespace)
    with pytest.raises(CacheError, match="explicit version"):
        code_version(namespace["generated"])


def test_whitespace_and_docstrings_do_not_change_the_hash() -> None:
    """Two functions differing only in layout hash equally; a changed operator does not."""
    namespace: dict[str, Any] = {}
    sources = {
        "a": "def f(x):\n    return x + 1\n",
        "b": 'def f(x):\n    """Doc."""\n    # comment\n    return (x\n            + 1)\n',
        "c": "def f(x):\n    return x - 1\n",
    }
    hashes = {}
    for key, source in sources.items():
        from pipedag.cache.code_version import _normalized

        hashes[key] = _normalized(source, "f")[0]
    assert hashes["a"] == hashes["b"] != hashes["c"]
    assert namespace == {}


CONSTANTS = '''
import pandas as pd

from pipedag import materialize, CODE_VERSION

RATES = {"eur": 1.0, "usd": 1.1}
NESTED = [{"keys": ("a", "b")}, {"tags": {"x", "y"}}]


@materialize(version=CODE_VERSION)
def numbers():
    return pd.DataFrame({"x": [RATES["eur"], float(len(NESTED))]})
'''


def test_editing_a_dict_constant_reruns_the_task(project: Project, store_config: ConfigContext) -> None:
    """``RATES = {"eur": 1.0}`` -> ``2.0`` reruns the task and stores the new value."""
    project.write("tasks", CONSTANTS)
    assert _run(project, store_config) is TaskState.RAN
    assert _run(project, store_config) is TaskState.CACHE_VALID
    project.edit("tasks", '"eur": 1.0', '"eur": 2.0')
    assert _run(project, store_config, reason="task code changed (CODE_VERSION)") is TaskState.RAN


@pytest.mark.parametrize(
    ("old", "new"),
    [('("a", "b")', '("a", "c")'), ('{"x", "y"}', '{"x", "z"}'), ('"tags"', '"labels"')],
)
def test_nested_container_constants_are_hashed(project: Project, old: str, new: str) -> None:
    """Any change inside nested lists, dicts, tuples and sets changes the version."""
    project.write("tasks", CONSTANTS)
    before = code_version(project.tasks().numbers)
    project.edit("tasks", old, new)
    assert code_version(project.tasks().numbers) != before


def test_set_constants_hash_the_same_in_every_process(project: Project) -> None:
    """A set's hash does not depend on the process's string hash seed."""
    import os
    import subprocess

    project.write("tasks", 'TAGS = {"alpha", "beta", "gamma", "delta"}\n\n\ndef numbers():\n    return sorted(TAGS)\n')
    script = (
        f"import sys; sys.path.insert(0, {str(project.folder.parent)!r}); "
        f"from pipedag.cache.code_version import code_version; import {project.name}.tasks as t; "
        "print(list(t.TAGS), code_version(t.numbers))"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", script], env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True, text=True, check=True,
        ).stdout.split("] ")
        for seed in ("1", "4")
    ]
    assert runs[0][0] != runs[1][0]  # the two processes iterate the set in different orders...
    assert runs[0][1] == runs[1][1]  # ...and hash it alike


OBJECTS = '''
import dataclasses

from pipedag import materialize, CODE_VERSION


def double(v):
    return v * 2


def triple(v):
    return v * 3


@dataclasses.dataclass(frozen=True)
class Settings:
    rate: float


SETTINGS = Settings(rate=1.0)
HANDLERS = {"scale": double}


@materialize(version=CODE_VERSION)
def numbers():
    return {"v": HANDLERS["scale"](SETTINGS.rate)}
'''


@pytest.mark.parametrize(
    ("old", "new"),
    [("rate=1.0)", "rate=2.0)"), ('{"scale": double}', '{"scale": triple}'), ("return v * 2", "return v * 4")],
)
def test_dataclass_and_function_table_constants_are_hashed(project: Project, old: str, new: str) -> None:
    """A dataclass global, a dict of functions, and the code of a function reached through it are hashed."""
    project.write("tasks", OBJECTS)
    before = code_version(project.tasks().numbers)
    project.edit("tasks", old, new)
    assert code_version(project.tasks().numbers) != before


def test_unknown_objects_are_recorded_by_type_only(project: Project) -> None:
    """A global of a library class (here a lock) does not break CODE_VERSION; it is named by type."""
    project.write(
        "tasks",
        "import threading\n\nLOCK = threading.Lock()\n\n\ndef numbers():\n    with LOCK:\n        return 1\n",
    )
    assert code_version(project.tasks().numbers) == code_version(project.tasks().numbers)
