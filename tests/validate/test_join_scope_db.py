"""What a JOIN's ON clause may see, judged by PostgreSQL over generated join shapes.

Every shape is combined with a reference to every alias (and unqualified columns), in the ON
itself and in a subquery of it; each statement is prepared on a real server. dbsafe must
report nothing PostgreSQL accepts, and must report the invalid references this suite was
written for (an earlier comma-separated item, an UPDATE/DELETE target).
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from dbsafe.schema.model import SchemaSnapshot
from dbsafe.validate import resolve

FIXTURES = Path(__file__).parent / "fixtures"

pytestmark = pytest.mark.db

SHAPES = [
    "a, b JOIN c ON {on}", "a JOIN b ON {on}", "a JOIN b ON true, c JOIN nodes ON {on}",
    "(a JOIN b ON true) JOIN c ON {on}", "a, (b JOIN c ON {on})", "a CROSS JOIN b JOIN c ON {on}",
    "a, b LEFT JOIN c ON true JOIN nodes ON {on}", "a, LATERAL (SELECT a.id AS lid) l JOIN c ON {on}",
    "a JOIN b USING (id), c JOIN nodes ON {on}", "a, b NATURAL JOIN c JOIN nodes ON {on}",
    "a JOIN (b JOIN c ON {on}) ON true", "(a JOIN b ON true) AS j JOIN c ON {on}",
    "a, b JOIN c ON {on} JOIN nodes ON true", "a, b JOIN LATERAL (SELECT a.x AS ax) s ON {on}",
    "a AS t, b JOIN c ON {on}", "a JOIN b ON true JOIN c ON true, nodes JOIN sales.orders o ON {on}",
    "a, b JOIN c ON {on} WHERE a.id = 1", "sales.a, public.a JOIN b ON {on}",
    # a join nested after a subquery, LATERAL or VALUES: sqlglot hangs it on that item
    "a JOIN (SELECT y FROM b) s JOIN c ON true ON true JOIN nodes ON {on}",
    "a JOIN LATERAL (SELECT a.id AS lid) l JOIN c ON true ON true JOIN nodes ON {on}",
    "a JOIN (VALUES (1)) v (y) JOIN c ON {on} ON true",
]
REFERENCES = ["a.id", "b.id", "c.id", "nodes.id", "l.lid", "s.ax", "j.id", "t.id", "o.id", "x",
              "y", "z", "parent_id", "total", "amount", "label", "a_id", "b_id"]


def _statements() -> list[str]:
    statements = []
    for shape in SHAPES:
        for reference in REFERENCES:
            statements.append(f"SELECT 1 FROM {shape.format(on=f'{reference} IS NOT NULL')}")
            statements.append(f"SELECT 1 FROM {shape.format(on=f'EXISTS (SELECT {reference})')}")
        statements.append(f"UPDATE nodes SET parent_id = 1 FROM {shape.format(on='nodes.id = 1')}")
        statements.append(f"DELETE FROM nodes USING {shape.format(on='nodes.parent_id = 1')}")
    return statements


def _accepted(conn: psycopg.Connection, sql: str) -> bool | None:
    """True if PostgreSQL accepts `sql`, False if it names something it cannot see, None
    for another error (`UPDATE nodes ... JOIN nodes`: a duplicate name)."""
    try:
        with conn.transaction(force_rollback=True):
            conn.execute(f"PREPARE join_shape AS {sql}")
    except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn):
        return False
    except psycopg.Error:
        return None
    conn.execute("DEALLOCATE join_shape")
    return True


def test_join_scopes_agree_with_postgresql(postgresql: psycopg.Connection) -> None:
    postgresql.prepare_threshold = None
    postgresql.execute((FIXTURES / "constructs_schema.sql").read_text(encoding="utf-8"))
    postgresql.commit()
    postgresql.autocommit = True
    snapshot = SchemaSnapshot.load(FIXTURES / "constructs_schema.json")
    false_positives, found = [], set()
    statements = _statements()
    for sql in statements:
        problems = resolve(sql, snapshot).problems
        accepted = _accepted(postgresql, sql)
        if accepted and problems:
            false_positives.append(f"{sql}: {[p.message for p in problems]}")
        elif accepted is False and problems:
            found.add(sql)
    assert not false_positives, "\n".join(false_positives)
    assert len(statements) == 798
    for rejected in ["SELECT 1 FROM a JOIN (VALUES (1)) v (y) JOIN c ON nodes.id IS NOT NULL ON true",
                     "SELECT 1 FROM a, b JOIN c ON a.id IS NOT NULL",
                     "SELECT 1 FROM a, b JOIN c ON EXISTS (SELECT label)",
                     "SELECT 1 FROM a, (b JOIN c ON a.id IS NOT NULL)",
                     "UPDATE nodes SET parent_id = 1 FROM a, b JOIN c ON nodes.id = 1",
                     "DELETE FROM nodes USING a JOIN b ON nodes.parent_id = 1"]:
        assert rejected in found, rejected
    # An unqualified name the ON cannot see is named with the table that has it: not "no
    # table in scope has a column `label`", which sends the reader looking for a typo.
    assert [(p.subject, p.message) for p in resolve(
        "SELECT 1 FROM a, b JOIN c ON EXISTS (SELECT label)", snapshot).problems] == [
        ("public.a.label", "`label` is a column of `a`, which this JOIN's ON cannot see")]
