"""``RawSql``: a legacy multi-statement SQL script whose created tables become task outputs."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pipedag.errors import TaskError

#: ``{{ name }}``: double braces so that JSON or ``{...}`` literals in SQL stay untouched.
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
#: The placeholder for the schema the script must create its tables in.
OUT = "out"


@dataclass
class RawSql:
    """A SQL script run inside the stage; every table it creates becomes an output.

    The script creates its tables in ``{{out}}`` (the stage's schema for new tables) and
    refers to input tables through ``{{name}}`` placeholders bound in ``inputs``. Return it
    from a ``lazy=True`` task: it is cached by its text and its inputs, and downstream tasks
    use its tables as ``raw["table_name"]``::

        @materialize(lazy=True, input_type=sa.Table)
        def legacy(customers):
            return RawSql(
                "CREATE TABLE {{out}}.active AS SELECT * FROM {{customers}} WHERE active;"
                "CREATE TABLE {{out}}.counts AS SELECT count(*) AS n FROM {{out}}.active",
                name="legacy",
                inputs={"customers": customers},
            )

    Args:
        sql: The script; several statements separated by ``;``.
        name: Names the script in logs and errors.
        inputs: Placeholder name -> input table (as handed to a task with
            ``input_type=sqlalchemy.Table``, or a ``TableRef``).
    """

    sql: str
    name: str
    inputs: Mapping[str, Any] = field(default_factory=dict)

    def placeholders(self) -> set[str]:
        """Names used as ``{{name}}`` in the script."""
        return set(PLACEHOLDER.findall(self.sql))

    def render(self, out_schema: str) -> str:
        """The script with ``{{out}}`` and every input placeholder replaced by quoted names.

        Args:
            out_schema: The already quoted schema in which the script creates its tables.

        Raises:
            TaskError: for a placeholder bound to nothing, or an input that is not a table.
        """
        references = {OUT: out_schema, **self._input_references()}
        unknown = sorted(self.placeholders() - references.keys())
        if unknown:
            raise TaskError(
                f"RawSql {self.name!r} uses placeholder(s) {', '.join('{{' + u + '}}' for u in unknown)} "
                f"bound to nothing; pass them in inputs={{...}} (known: {', '.join(sorted(references))})."
            )
        return PLACEHOLDER.sub(lambda m: references[m.group(1)], self.sql)

    def identity(self) -> str:
        """Cache identity: the exact script text and the tables its placeholders point to."""
        return json.dumps([self.sql, sorted(self._input_references().items())])

    def _input_references(self) -> dict[str, str]:
        from pipedag.core.ref import ref

        references: dict[str, str] = {}
        for key, table in self.inputs.items():
            if key == OUT:
                raise TaskError(f"RawSql {self.name!r}: inputs may not use the reserved name {OUT!r}.")
            try:
                references[key] = ref(table)
            except TypeError as exc:
                raise TaskError(f"RawSql {self.name!r}, input {key!r}: {exc}") from None
        return references
