"""`JSON_TABLE(... COLUMNS (...))` (PostgreSQL 17) returns the columns its COLUMNS clause
defines: a statement reading them is checked, where it was set aside ("columns of function
`JSON_TABLE` are unknown") and a misspelt column beside it went unreported. Real
PostgreSQL 17 or later; each expectation PREPAREd there."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_module

_SCHEMA = "CREATE TABLE orders (id int PRIMARY KEY, doc jsonb);\n"

_STATEMENTS = {
    "good": "SELECT o.id, jt.sku, jt.qty FROM orders o, "
            "JSON_TABLE(o.doc, '$.lines[*]' COLUMNS (sku text PATH '$.sku', "
            "qty int PATH '$.qty')) AS jt",
    "misspelt": "SELECT jt.skew FROM orders o, "
                "JSON_TABLE(o.doc, '$.lines[*]' COLUMNS (sku text PATH '$.sku')) AS jt",
    "renamed": "SELECT jt.n FROM orders o, "
               "JSON_TABLE(o.doc, '$' COLUMNS (sku text PATH '$.sku')) AS jt(n)",
    "nested": "SELECT jt.i, jt.tag FROM orders o, JSON_TABLE(o.doc, '$' COLUMNS (i FOR "
              "ORDINALITY, NESTED PATH '$.tags[*]' COLUMNS (tag text PATH '$'))) AS jt",
    "nested_misspelt": "SELECT jt.tags FROM orders o, JSON_TABLE(o.doc, '$' COLUMNS ("
                       "NESTED PATH '$.tags[*]' COLUMNS (tag text PATH '$'))) AS jt",
}


@pytest.mark.db
def test_json_table_columns_are_the_ones_it_defines(database_url: str, tmp_path: Path) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        if conn.info.server_version < 170000:
            pytest.skip("JSON_TABLE is PostgreSQL 17's")
        conn.execute(_SCHEMA)
        verdicts = {}
        for name, sql in _STATEMENTS.items():
            try:
                conn.execute(f"PREPARE {name} AS {sql}")
                verdicts[name] = None
            except psycopg.Error as exc:
                verdicts[name] = exc.sqlstate
    assert verdicts == {"good": None, "misspelt": "42703", "renamed": None, "nested": None,
                        "nested_misspelt": "42703"}

    source = "".join(f"{sql};\n" for sql in _STATEMENTS.values())
    report = validate_module(database_url, tmp_path, "", "queries.sql", source)
    assert [(f.code, f.location.line, f.subject) for f in report.findings] == [
        ("DBS302", 2, "jt.skew"), ("DBS302", 5, "jt.tags")]
    assert report.summary["statements_analysed"] == 5
