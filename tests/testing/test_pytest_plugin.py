"""The pytest plugin, driven with ``pytester``: instance marks, selection, tags and fixtures."""

from __future__ import annotations

import pytest

YAML = """
name: plug
instances:
  __any__:
    table_store:
      args:
        url: "duckdb:///{dir}/{{name}}.duckdb"
  full:
    instance_id: full
    tags: [slow]
    attrs: {{rows: 1000}}
    table_store: {{args: {{url: "duckdb:///{dir}/full.duckdb"}}}}
  midi:
    instance_id: midi
    attrs: {{rows: 100}}
    table_store: {{args: {{url: "duckdb:///{dir}/midi.duckdb"}}}}
  mini:
    instance_id: mini
    attrs: {{rows: 10}}
    table_store: {{args: {{url: "duckdb:///{dir}/mini.duckdb"}}}}
"""

TESTS = '''
import pandas as pd
import pytest
from pipedag import Flow, Stage, Table, materialize
from pipedag.config.context import active_config
from pipedag.testing import assert_ran


@materialize(version="1")
def numbers(n: int) -> Table:
    return Table(pd.DataFrame({"x": range(n)}), "numbers")


@pytest.mark.instances("mini", "midi", "full")
def test_runs_per_instance(pipedag_config, pipedag_instance):
    assert active_config() is pipedag_config
    assert pipedag_config.instance_name == pipedag_instance
    with Flow("f") as flow, Stage("s"):
        out = numbers(pipedag_config.attrs["rows"])
    result = flow.run()
    assert len(result.get(out)) == pipedag_config.attrs["rows"]
    print("RAN", pipedag_instance, pipedag_config.tags)


def test_unmarked_gets_first_instance(pipedag_config, pipedag_instance):
    assert pipedag_instance is None
    assert active_config() is None
    print("UNMARKED", pipedag_config.instance_name)
'''


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A project with a three-instance pipedag.yaml (full tagged slow) and instance tests."""
    pytester.makefile(".yaml", pipedag=YAML.format(dir=pytester.path))
    pytester.makepyfile(test_flow=TESTS)
    return pytester


def test_instances_mark_runs_once_per_instance(project: pytest.Pytester) -> None:
    """Each named instance gives one test case with its own config active and its own store."""
    result = project.runpytest("-s", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*RAN mini ()*", "*RAN midi ()*", "*RAN full ('slow',)*", "*UNMARKED full*"])
    assert {p.name for p in project.path.glob("*.duckdb")} == {"mini.duckdb", "midi.duckdb", "full.duckdb"}


def test_pipedag_instance_option_selects_instances(project: pytest.Pytester) -> None:
    """--pipedag-instance keeps only the named instances and picks the unmarked tests' instance."""
    result = project.runpytest("-s", "--pipedag-instance", "mini", "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*test_runs_per_instance?mini?*RAN mini*", "*UNMARKED mini*"])
    result.stdout.no_fnmatch_line("*midi*")


def test_tags_become_marks(project: pytest.Pytester) -> None:
    """An instance tagged slow is deselected by -m 'not slow', even with --strict-markers."""
    result = project.runpytest("--strict-markers", "-m", "not slow", "-v")
    result.assert_outcomes(passed=3, deselected=1)
    result.stdout.no_fnmatch_line("*full]*PASSED*")


def test_unknown_instance_fails_collection_with_the_known_ones(pytester: pytest.Pytester) -> None:
    """A mark naming an instance pipedag.yaml lacks is a collection error listing the known ones."""
    pytester.makefile(".yaml", pipedag=YAML.format(dir=pytester.path))
    pytester.makepyfile(
        """
        import pytest
        @pytest.mark.instances("mnii")
        def test_x():
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    expected = "*Unknown instance 'mnii' in pipedag.yaml. Did you mean 'mini'? Known: full, midi, mini.*"
    result.stdout.fnmatch_lines([expected])


def test_missing_pipedag_yaml_is_explained(pytester: pytest.Pytester) -> None:
    """Without pipedag.yaml an instances test errors with how to provide one."""
    pytester.makepyfile(
        """
        import pytest
        @pytest.mark.instances("mini")
        def test_x():
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*No pipedag.yaml found*set the pipedag_config ini option*"])


def test_tmp_config_gives_each_test_an_empty_store(pytester: pytest.Pytester) -> None:
    """pipedag_tmp_config is active, starts empty in every test and is deleted afterwards."""
    pytester.makepyfile(
        """
        import pandas as pd
        from pipedag import Flow, Stage, Table, materialize
        from pipedag.config.context import active_config
        from pipedag.testing import assert_ran

        PATHS = []

        @materialize(version="1")
        def numbers():
            return Table(pd.DataFrame({"x": [1]}), "numbers")

        def run_once(cfg):
            assert active_config() is cfg
            with Flow("f") as flow, Stage("s"):
                numbers()
            assert_ran(flow.run())  # a leftover store would make this a cache hit
            PATHS.append(cfg.table_store_url.removeprefix("duckdb:///"))

        def test_one(pipedag_tmp_config):
            run_once(pipedag_tmp_config)

        def test_two(pipedag_tmp_config):
            run_once(pipedag_tmp_config)

        def test_files_are_gone():
            import os
            assert len(PATHS) == 2 and PATHS[0] != PATHS[1]
            assert not any(os.path.exists(p) for p in PATHS)
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=3)


def test_misspelt_instance_option_is_an_error(project: pytest.Pytester) -> None:
    """--pipedag-instance with an unknown name fails instead of silently selecting nothing."""
    result = project.runpytest("--pipedag-instance", "mnii")
    result.stdout.fnmatch_lines(["*Unknown instance 'mnii' in pipedag.yaml*"])
    assert result.ret != 0


def test_strict_markers_with_not_slow_and_one_instance(project: pytest.Pytester) -> None:
    """`--strict-markers -m 'not slow'` in addopts works with --pipedag-instance mini, though no case is tagged slow."""
    project.makeini("[pytest]\naddopts = -ra --strict-markers -m 'not slow'\n")
    result = project.runpytest("--pipedag-instance", "mini", "-v")
    result.assert_outcomes(passed=2)
    assert result.ret == 0


def test_unknown_instance_in_mark_is_one_line(pytester: pytest.Pytester) -> None:
    """An unknown instance in @pytest.mark.instances is reported in one line naming the test, without a traceback."""
    pytester.makefile(".yaml", pipedag=YAML.format(dir=pytester.path))
    pytester.makepyfile(
        test_bad="""
        import pytest
        @pytest.mark.instances("mini", "mnii")
        def test_x():
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["test_bad.py::test_x: Unknown instance 'mnii' in pipedag.yaml. Did you mean 'mini'?*"])
    text = result.stdout.str()
    assert "Traceback" not in text and "_hooks.py" not in text and "raise " not in text


def test_session_end_lists_each_instance_run(project: pytest.Pytester) -> None:
    """After the tests, every instance run is listed with each task's decision and reason, like the CLI summary."""
    project.makepyfile(
        test_twice="""
        import pandas as pd
        import pytest
        from pipedag import Flow, Stage, Table, materialize

        @materialize(version="1")
        def numbers():
            return Table(pd.DataFrame({"x": [1]}), "numbers")

        @pytest.mark.instances("mini")
        def test_twice():
            with Flow("twice") as flow, Stage("s"):
                numbers()
            flow.run()
            flow.run()
        """
    )
    result = project.runpytest("test_twice.py")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*= pipedag runs =*",
            "test_twice.py::test_twice[[]mini[]]: run 1 of flow twice on instance mini succeeded: 1 ran, 0 cache-valid",
            "  task *decision *rows *reason",
            "  s.numbers *ran *1 *no earlier run of this task",
            "test_twice.py::test_twice[[]mini[]]: run 2 of flow twice on instance mini succeeded: 0 ran, 1 cache-valid",
            "  s.numbers *cache-valid *1 *cache hit",
        ]
    )
