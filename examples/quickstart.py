"""The quickstart flow from the README: three tasks in two stages on embedded DuckDB.

Run it twice: the second run is all cache hits. Then look at the tables with SQL:
``pipedag sql --flow quickstart "SELECT * FROM features.summary"``.
"""

import pandas as pd
import sqlalchemy as sa

from pipedag import Flow, Stage, Table, create_basic_pipedag_config, materialize


@materialize(version="1.0", nout=2)
def input_tables():
    names = pd.DataFrame({"id": [1, 2, 3], "name": ["Alice", "Bob", "Charlie"]})
    ages = pd.DataFrame({"id": [1, 2, 3], "age": [20, 40, 60]})
    return Table(names, "names"), Table(ages, "ages")


@materialize(lazy=True, input_type=sa.Table)
def join_tables(names: sa.Alias, ages: sa.Alias):
    return sa.select(names.c.id, names.c.name, ages.c.age).join_from(names, ages, names.c.id == ages.c.id)


@materialize(input_type=pd.DataFrame, version="1.0")
def summary(joined: pd.DataFrame):
    return Table(joined.assign(age2=joined.age * 2), "summary")


if __name__ == "__main__":
    with Flow("quickstart") as flow:
        with Stage("inputs"):
            names, ages = input_tables()
        with Stage("features"):
            joined = join_tables(names, ages)
            out = summary(joined)

    # In a project without pipedag.yaml, flow.run() alone uses this embedded DuckDB file. This
    # repository's root holds an example pipedag.yaml (docs/instances.md) that flow.run() would
    # pick up, so the quickstart names the zero-configuration default explicitly.
    config = create_basic_pipedag_config("duckdb:///.pipedag/quickstart.duckdb", name="quickstart").get()
    result = flow.run(config=config)
    assert result.successful
    print(result.get(out, as_type=pd.DataFrame))
