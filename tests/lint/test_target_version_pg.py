"""DBS124's table of syntax by version, held against PostgreSQL 15 and 18.

Every example runs on 18; on 15, exactly the examples newer than 15 are refused. Lint with a
target flags an example exactly when the target is older than the example's version, and
takes the target from the database it is given.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import Settings
from dbsafe.lint import lint_sql
from dbsafe.lint.rules import syntax_newer_than_target

# One PostgreSQL 15 cluster per worker: its tests share a worker (`--dist loadgroup`).
pytestmark = [pytest.mark.db, pytest.mark.xdist_group("pg15")]

SETUP = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE TABLE orders (id bigint PRIMARY KEY, total int, ref text, meta jsonb);
CREATE TABLE deliveries (ref text, qty int);
CREATE TABLE events (at date) PARTITION BY RANGE (at);
CREATE TABLE events_2020 PARTITION OF events FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TABLE rooms (id int, booked daterange);
"""

# (the version that brought the syntax, a script using it)
EXAMPLES = [
    (110000, "CREATE PROCEDURE archive() LANGUAGE sql AS $$ DELETE FROM orders WHERE false $$;"
             " CALL archive();"),
    (110000, "CREATE INDEX ix_total ON orders (total) INCLUDE (ref);"),
    (120000, "ALTER TABLE orders ADD COLUMN cents bigint GENERATED ALWAYS AS (total * 100) "
             "STORED;"),
    (120000, "REINDEX TABLE CONCURRENTLY orders;"),
    (140000, "CREATE OR REPLACE TRIGGER touch BEFORE UPDATE ON orders FOR EACH ROW "
             "EXECUTE FUNCTION touch();"),
    (140000, "ALTER TABLE events DETACH PARTITION events_2020 CONCURRENTLY;"),
    (140000, "ALTER TABLE orders ALTER COLUMN ref SET COMPRESSION pglz;"),
    (140000, "CREATE FUNCTION one() RETURNS int LANGUAGE sql RETURN 1;"),
    (140000, "CREATE FUNCTION two() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 2; END;"),
    (150000, "MERGE INTO orders AS o USING deliveries AS d ON o.ref = d.ref "
             "WHEN MATCHED THEN UPDATE SET total = d.qty;"),
    (150000, "CREATE UNIQUE INDEX ux_ref ON orders (ref) NULLS NOT DISTINCT;"),
    (150000, "ALTER TABLE orders ADD CONSTRAINT uq_ref UNIQUE NULLS NOT DISTINCT (ref);"),
    (150000, "ALTER TABLE orders SET ACCESS METHOD heap;"),
    (160000, "SELECT meta IS JSON FROM orders;"),
    (160000, "SELECT JSON_OBJECT('a': 1), JSON_ARRAY(1, 2);"),
    (160000, "SELECT JSON_ARRAYAGG(id), JSON_OBJECTAGG(ref: id) FROM orders;"),
    (170000, "ALTER TABLE orders ADD COLUMN doubled int GENERATED ALWAYS AS (total) STORED;"
             " ALTER TABLE orders ALTER COLUMN doubled SET EXPRESSION AS (total * 2);"),
    (170000, "MERGE INTO orders AS o USING deliveries AS d ON o.ref = d.ref "
             "WHEN MATCHED THEN DELETE RETURNING o.id;"),
    (170000, "SELECT * FROM JSON_TABLE('[{\"a\": 1}]'::jsonb, '$[*]' "
             "COLUMNS (a int PATH '$.a')) AS jt;"),
    (170000, "SELECT JSON_QUERY(meta, '$.a'), JSON_VALUE(meta, '$.a'), "
             "JSON_EXISTS(meta, '$.a') FROM orders;"),
    (170000, "SELECT JSON('1'), JSON_SCALAR(1), JSON_SERIALIZE('1'::json);"),
    (170000, "COPY deliveries FROM stdin (ON_ERROR ignore);"),
    (180000, "ALTER TABLE orders ADD COLUMN eur numeric GENERATED ALWAYS AS (total / 100) "
             "VIRTUAL;"),
    (180000, "ALTER TABLE orders ADD CONSTRAINT positive CHECK (total > 0) NOT ENFORCED;"),
    (180000, "ALTER TABLE orders ADD CONSTRAINT ref_nn NOT NULL ref;"),
    (180000, "ALTER TABLE rooms ADD PRIMARY KEY (id, booked WITHOUT OVERLAPS);"),
    (180000, "ALTER TABLE rooms ADD PRIMARY KEY (id, booked WITHOUT OVERLAPS);"
             " CREATE TABLE stays (room int, booked daterange, FOREIGN KEY (room, PERIOD booked)"
             " REFERENCES rooms (id, PERIOD booked));"),
    (180000, "UPDATE orders SET total = total + 1 RETURNING old.total, new.total;"),
    (180000, "DELETE FROM orders RETURNING WITH (OLD AS o) o.id;"),
]
IDS = [f"{version // 10000}-{n}" for n, (version, _sql) in enumerate(EXAMPLES)]
RULE = syntax_newer_than_target.RULE


def _runs(conninfo: str, sql: str) -> str | None:
    """None when PostgreSQL runs `sql` (each statement on its own), else its error."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        conn.execute(SETUP.replace("CREATE EXTENSION IF NOT EXISTS btree_gist;", "")
                     if "WITHOUT OVERLAPS" not in sql else SETUP)
        try:
            if sql.startswith("COPY"):
                with conn.cursor().copy(sql):
                    pass
            else:
                conn.execute(sql)
        except psycopg.Error as exc:
            return str(exc).splitlines()[0]
    return None


def _flagged(sql: str, target: int) -> bool:
    return any(f.code == RULE.code for f in lint_sql(
        sql, rules=[RULE], target_version=target, target_version_given=True))


@pytest.mark.parametrize(("version", "sql"), EXAMPLES, ids=IDS)
def test_the_version_that_brought_each_syntax(conninfo: str,
                                              new_pg15_database: Callable[[], str],
                                              version: int, sql: str) -> None:
    with psycopg.connect(conninfo) as conn:
        if conn.info.server_version < 180000:
            pytest.skip("needs PostgreSQL 18 besides 15 (DBSAFE_TEST_DATABASE_URL names an "
                        "older server)")
    assert _runs(conninfo, sql) is None
    refused = _runs(new_pg15_database(), sql)
    assert (refused is not None) == (version > 150000), refused
    older = version - 10000 if version > 110000 else 100000
    assert _flagged(sql, older)
    assert not _flagged(sql, version)
    assert not any(f.code == RULE.code for f in lint_sql(sql, rules=[RULE]))  # no target


def test_the_target_comes_from_the_database_lint_is_given(
        tmp_path: Path, new_pg15_database: Callable[[], str]) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "001.sql").write_text(
        "CREATE TABLE orders (id bigint PRIMARY KEY, total int);\n"
        "ALTER TABLE orders ADD COLUMN eur numeric GENERATED ALWAYS AS (total / 100) VIRTUAL;\n",
        encoding="utf-8")
    on_15 = commands.lint(Settings(project_root=tmp_path, database_url=new_pg15_database()),
                          [folder])
    messages = [f.message for f in on_15.findings if f.code == RULE.code]
    assert len(messages) == 1 and "the target is PostgreSQL 15" in messages[0]
    offline = commands.lint(Settings(project_root=tmp_path), [folder])
    assert not [f for f in offline.findings if f.code == RULE.code]
    told = commands.lint(Settings(project_root=tmp_path, target_version=170000), [folder])
    assert [f.code for f in told.findings if f.code == RULE.code] == [RULE.code]
