"""Plain stage names in explorative SQL are rewritten to the instance's schemas, nothing else is."""

from __future__ import annotations

import pytest

from pipedag.cli.sql_names import qualify_stage_names

SCHEMAS = {"features": "dev_features", "raw": "dev_raw"}


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT * FROM features.summary", 'SELECT * FROM "dev_features".summary'),
        ('SELECT * FROM "features"."summary"', 'SELECT * FROM "dev_features"."summary"'),
        ("select * from Features . t join raw.x", 'select * from "dev_features" . t join "dev_raw".x'),
        ("SELECT features.summary.id FROM features.s", 'SELECT "dev_features".summary.id FROM "dev_features".s'),
        ("SELECT 'features.summary' AS s", "SELECT 'features.summary' AS s"),
        ("SELECT 'it''s features.x'", "SELECT 'it''s features.x'"),
        ("SELECT 1 -- features.x\nFROM t", "SELECT 1 -- features.x\nFROM t"),
        ("SELECT /* raw.t */ 1", "SELECT /* raw.t */ 1"),
        ("SELECT t.features FROM t", "SELECT t.features FROM t"),
        ("SELECT features FROM raw", "SELECT features FROM raw"),
        ("SELECT other.features.x", "SELECT other.features.x"),
    ],
)
def test_only_schema_qualifiers_change(sql: str, expected: str) -> None:
    """Stage names followed by a dot become quoted schemas; strings, comments, columns stay as written."""
    assert qualify_stage_names(sql, SCHEMAS) == expected
