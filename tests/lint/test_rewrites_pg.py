"""Rewrites, index rebuilds, NULL scans and refusals that lint predicts, held against what
PostgreSQL does.

Each case is a schema (with rows) and a change. Lint reads the change twice: after the
schema as an earlier migration, and with the database's snapshot (`--database`). PostgreSQL
then runs the change in one transaction: the table's relfilenode tells a rewrite, its
indexes' an index rebuild, `pg_stat_get_xact_numscans` a scan, an error a refusal. The rule
lint names must be the one for what PostgreSQL did, and no rule when it did none of these.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from pytest_postgresql.executors.noop import NoopExecutor

from dbsafe import commands
from dbsafe.config import Settings
from dbsafe.core import Finding
from dbsafe.lint import lint_sql
from dbsafe.lint.engine import History
from dbsafe.lint.statement import last
from tests.helpers import module_database

pytestmark = pytest.mark.db

RULES = {"DBS106", "DBS107", "DBS109", "DBS110", "DBS113", "DBS122", "DBS123"}

ORDERS = """
CREATE TABLE orders (id bigint PRIMARY KEY, total integer, name text, ref text,
                     code varchar(10) COLLATE "C");
CREATE INDEX ix_orders_name ON orders (name);
CREATE INDEX ix_orders_code ON orders (code);
INSERT INTO orders (id, total, name, ref, code)
    SELECT i, i, 'n' || i, 'r' || i, 'c' || i FROM generate_series(1, 200) AS i;
CREATE DOMAIN positive AS integer CHECK (VALUE > 0);
CREATE DOMAIN required AS integer NOT NULL DEFAULT 1;
CREATE DOMAIN fresh_id AS uuid DEFAULT gen_random_uuid();
CREATE DOMAIN five AS integer DEFAULT 5;
"""

GENERATED = """
CREATE TABLE orders (id bigint PRIMARY KEY, total integer,
                     doubled integer GENERATED ALWAYS AS (total * 2) STORED,
                     tripled integer GENERATED ALWAYS AS (total * 3) VIRTUAL);
INSERT INTO orders (id, total) SELECT i, i FROM generate_series(1, 200) AS i;
"""

REFS = """
CREATE TABLE orders (id bigint, ref text);
INSERT INTO orders SELECT i, 'r' || i FROM generate_series(1, 200) AS i;
CREATE UNIQUE INDEX orders_ref_key ON orders (ref);
"""

TAGS = """
CREATE TABLE orders (id bigint PRIMARY KEY, tags varchar(10)[], amounts numeric(10, 2)[]);
INSERT INTO orders SELECT i, ARRAY['t' || i], ARRAY[i] FROM generate_series(1, 200) AS i;
"""
STATUS = """
CREATE TYPE status AS ENUM ('open');
CREATE TABLE orders (id bigint PRIMARY KEY, status status);
INSERT INTO orders VALUES (1, 'open');
"""

# pocket-id's users.username, varchar(255) to citext: citext is stored as text (`orders`
# here, as every case's table)
CITEXT = """
CREATE EXTENSION IF NOT EXISTS citext;
CREATE TABLE orders (id bigint PRIMARY KEY, username varchar(255) UNIQUE, email text,
                    nick citext);
CREATE INDEX ix_orders_email ON orders (email);
CREATE INDEX ix_orders_nick ON orders (nick);
INSERT INTO orders SELECT i, 'u' || i, 'e' || i, 'N' || i FROM generate_series(1, 200) AS i;
"""

# (id, schema, change, what PostgreSQL does, the rule lint must name for it)
CASES = [
    ("domain-check", ORDERS, "ALTER TABLE orders ADD COLUMN qty positive;", "rewrite", "DBS109"),
    ("domain-check-default", ORDERS, "ALTER TABLE orders ADD COLUMN qty positive DEFAULT 3;",
     "rewrite", "DBS109"),
    ("domain-not-null", ORDERS, "ALTER TABLE orders ADD COLUMN qty required;", "rewrite",
     "DBS109"),
    ("domain-volatile-default", ORDERS, "ALTER TABLE orders ADD COLUMN uid fresh_id;",
     "rewrite", "DBS109"),
    ("domain-check-added-later", ORDERS + "ALTER DOMAIN five ADD CONSTRAINT small "
     "CHECK (VALUE < 10);", "ALTER TABLE orders ADD COLUMN qty five;", "rewrite", "DBS109"),
    # graph-node's `DEFAULT 'chain' || currval('chains_id_seq')`: currval is VOLATILE
    # (so are setval, set_config, array_shuffle ...), and lint knew a dozen built-ins
    ("catalog-volatile-default", ORDERS + "CREATE SEQUENCE chains_id_seq;",
     "SELECT nextval('chains_id_seq');\nALTER TABLE orders ADD COLUMN namespace text "
     "DEFAULT 'chain' || currval('chains_id_seq');", "rewrite", "DBS109"),
    ("volatile-function-default", ORDERS + "CREATE FUNCTION new_code() RETURNS text "
     "LANGUAGE sql AS $$ SELECT md5(random()::text) $$;",
     "ALTER TABLE orders ADD COLUMN label text DEFAULT new_code();", "rewrite", "DBS109"),
    # ente's now_utc_micro_seconds(): declared VOLATILE by saying nothing, but PostgreSQL
    # inlines its one SELECT of stable calls into the default, and a nested SQL function too
    ("inlined-function-default", ORDERS + "CREATE FUNCTION now_micro() RETURNS bigint AS "
     "$$ SELECT CAST(extract(EPOCH from now() at time zone 'utc') * 1000000 AS BIGINT) $$ "
     "LANGUAGE sql; CREATE FUNCTION later() RETURNS bigint LANGUAGE sql AS "
     "'SELECT now_micro() + 1'; CREATE FUNCTION standard() RETURNS bigint LANGUAGE sql "
     "RETURN extract(EPOCH from now())::bigint; CREATE FUNCTION atomic() RETURNS bigint "
     "LANGUAGE sql BEGIN ATOMIC SELECT extract(EPOCH from now())::bigint; END;",
     "ALTER TABLE orders ADD COLUMN a bigint DEFAULT now_micro(), "
     "ADD COLUMN b bigint DEFAULT later(), ADD COLUMN c bigint DEFAULT standard(), "
     "ADD COLUMN d bigint DEFAULT atomic();", None, None),
    ("atomic-two-statement-function-default", ORDERS + "CREATE FUNCTION now_micro() "
     "RETURNS bigint LANGUAGE sql BEGIN ATOMIC SELECT 1; "
     "SELECT extract(EPOCH from now())::bigint; END;",
     "ALTER TABLE orders ADD COLUMN a bigint DEFAULT now_micro();", "rewrite", "DBS109"),
    # STRICT: inlined too when its body is strict (every call and operator STRICT) and uses
    # each argument, by name or number (`inline_function`, `contain_nonstrict_functions`)
    ("strict-inlined-function-default", ORDERS + "CREATE FUNCTION now_micro() RETURNS bigint "
     "LANGUAGE sql STRICT AS $$ SELECT CAST(extract(EPOCH from now() at time zone 'utc') * "
     "1000000 AS BIGINT) $$; CREATE FUNCTION shifted(x int) RETURNS bigint LANGUAGE sql "
     "STRICT RETURN extract(EPOCH from now())::bigint + x; CREATE FUNCTION numbered(int) "
     "RETURNS bigint LANGUAGE sql STRICT AS 'SELECT extract(EPOCH from now())::bigint - $1'; "
     "CREATE FUNCTION stamp() RETURNS jsonb LANGUAGE sql STRICT AS "
     "$$ SELECT to_jsonb(CURRENT_TIMESTAMP) $$; CREATE FUNCTION late() RETURNS boolean "
     "LANGUAGE sql STRICT AS $$ SELECT NOT (now() < '2000-01-01') $$;",
     "ALTER TABLE orders ADD COLUMN a bigint DEFAULT now_micro(), "
     "ADD COLUMN b bigint DEFAULT shifted(1), ADD COLUMN c bigint DEFAULT numbered(2), "
     "ADD COLUMN d jsonb DEFAULT stamp(), ADD COLUMN e boolean DEFAULT late();", None, None),
    ("strict-function-coalesce-default", ORDERS + "CREATE FUNCTION now_micro() RETURNS bigint "
     "LANGUAGE sql STRICT AS $$ SELECT coalesce(extract(EPOCH from now())::bigint, 0) $$;",
     "ALTER TABLE orders ADD COLUMN a bigint DEFAULT now_micro();", "rewrite", "DBS109"),
    ("strict-function-argument-unused-default", ORDERS + "CREATE FUNCTION now_micro(x int) "
     "RETURNS bigint LANGUAGE sql STRICT AS $$ SELECT extract(EPOCH from now())::bigint $$;",
     "ALTER TABLE orders ADD COLUMN a bigint DEFAULT now_micro(1);", "rewrite", "DBS109"),
    ("strict-function-not-strict-call-default", ORDERS + "CREATE FUNCTION stamp() RETURNS "
     "jsonb LANGUAGE sql STRICT AS $$ SELECT jsonb_build_object('at', now()) $$;",
     "ALTER TABLE orders ADD COLUMN a jsonb DEFAULT stamp();", "rewrite", "DBS109"),
    ("strict-function-is-null-default", ORDERS + "CREATE FUNCTION late() RETURNS boolean "
     "LANGUAGE sql STRICT AS $$ SELECT now() IS NULL $$;",
     "ALTER TABLE orders ADD COLUMN a boolean DEFAULT late();", "rewrite", "DBS109"),
    # ... not inlined: SECURITY DEFINER, a SET, PL/pgSQL, two statements
    ("security-definer-function-default", ORDERS + "CREATE FUNCTION now_micro() RETURNS "
     "bigint LANGUAGE sql SECURITY DEFINER AS $$ SELECT extract(EPOCH from now())::bigint $$;",
     "ALTER TABLE orders ADD COLUMN a bigint DEFAULT now_micro();", "rewrite", "DBS109"),
    ("function-with-set-default", ORDERS + "CREATE FUNCTION now_micro() RETURNS bigint "
     "LANGUAGE sql SET search_path = public AS $$ SELECT extract(EPOCH from now())::bigint $$;",
     "ALTER TABLE orders ADD COLUMN a bigint DEFAULT now_micro();", "rewrite", "DBS109"),
    ("plpgsql-function-default", ORDERS + "CREATE FUNCTION now_micro() RETURNS bigint "
     "LANGUAGE plpgsql AS $$ BEGIN RETURN extract(EPOCH from now())::bigint; END $$;",
     "ALTER TABLE orders ADD COLUMN a bigint DEFAULT now_micro();", "rewrite", "DBS109"),
    ("two-statement-function-default", ORDERS + "CREATE FUNCTION now_micro() RETURNS bigint "
     "LANGUAGE sql AS $$ SELECT 1; SELECT extract(EPOCH from now())::bigint $$;",
     "ALTER TABLE orders ADD COLUMN a bigint DEFAULT now_micro();", "rewrite", "DBS109"),
    ("stable-function-default", ORDERS + "CREATE FUNCTION region() RETURNS text "
     "LANGUAGE sql STABLE AS $$ SELECT 'eu' $$;",
     "ALTER TABLE orders ADD COLUMN region text DEFAULT region();", None, None),
    ("domain-constant-default", ORDERS, "ALTER TABLE orders ADD COLUMN qty five;", None, None),
    ("domain-default-overridden", ORDERS,
     "ALTER TABLE orders ADD COLUMN uid fresh_id DEFAULT NULL;", None, None),
    ("domain-array", ORDERS, "ALTER TABLE orders ADD COLUMN qtys positive[];", None, None),
    ("domain-check-dropped", ORDERS + "ALTER DOMAIN positive DROP CONSTRAINT positive_check;",
     "ALTER TABLE orders ADD COLUMN qty positive;", None, None),
    ("domain-validate", ORDERS + "ALTER TABLE orders ADD COLUMN qty five;\n"
     "ALTER DOMAIN five ADD CONSTRAINT small CHECK (VALUE < 10) NOT VALID;",
     "ALTER DOMAIN five VALIDATE CONSTRAINT small;", "scan", "DBS106"),
    ("domain-set-not-null", ORDERS + "ALTER TABLE orders ADD COLUMN qty five;",
     "ALTER DOMAIN five SET NOT NULL;", "scan", "DBS106"),
    ("domain-check-not-valid", ORDERS + "ALTER TABLE orders ADD COLUMN qty five;",
     "ALTER DOMAIN five ADD CONSTRAINT small CHECK (VALUE < 10) NOT VALID;", None, None),
    ("foreign-key-made-enforced", "CREATE TABLE customers (id bigint PRIMARY KEY);\n"
     "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, CONSTRAINT fk FOREIGN "
     "KEY (customer_id) REFERENCES customers (id) NOT ENFORCED);\n"
     "INSERT INTO customers SELECT generate_series(1, 50);\n"
     "INSERT INTO orders SELECT g, g FROM generate_series(1, 50) AS g;",
     "ALTER TABLE orders ALTER CONSTRAINT fk ENFORCED;", "scan", "DBS106"),
    # A new column's foreign key is checked only when that column has a DEFAULT (even
    # NULL); another added column's default does not count (GoAlert's alert_logs).
    ("fk-column-with-default", ORDERS + "CREATE TABLE customers (id bigint PRIMARY KEY);",
     "ALTER TABLE orders ADD COLUMN customer_id bigint DEFAULT NULL "
     "REFERENCES customers (id);", "scan", "DBS106"),
    ("fk-column-beside-a-default", ORDERS + "CREATE TABLE customers (id bigint PRIMARY KEY);",
     "ALTER TABLE orders ADD COLUMN customer_id bigint REFERENCES customers (id), "
     "ADD COLUMN flag boolean NOT NULL DEFAULT false;", None, None),
    # IF NOT EXISTS of a column the table has adds nothing (temporal's combined file
    # re-adds the stored generated columns of the three migrations before it).
    ("add-column-if-not-exists-present", ORDERS,
     "ALTER TABLE orders ADD COLUMN IF NOT EXISTS total positive;", None, None),
    ("add-column-if-not-exists-absent", ORDERS,
     "ALTER TABLE orders ADD COLUMN IF NOT EXISTS qty positive;", "rewrite", "DBS109"),
    ("to-domain-check", ORDERS, "ALTER TABLE orders ALTER COLUMN total TYPE positive;",
     "rewrite", "DBS110"),
    ("to-domain-plain", ORDERS, "ALTER TABLE orders ALTER COLUMN total TYPE five;", None, None),
    ("from-domain", ORDERS + "ALTER TABLE orders ADD COLUMN qty positive;",
     "ALTER TABLE orders ALTER COLUMN qty TYPE integer;", None, None),
    ("set-expression-stored", GENERATED,
     "ALTER TABLE orders ALTER COLUMN doubled SET EXPRESSION AS (total * 4);", "rewrite",
     "DBS123"),
    ("set-expression-virtual", GENERATED,
     "ALTER TABLE orders ALTER COLUMN tripled SET EXPRESSION AS (total * 4);", None, None),
    ("drop-expression", GENERATED, "ALTER TABLE orders ALTER COLUMN doubled DROP EXPRESSION;",
     None, None),
    ("collation-set", ORDERS, 'ALTER TABLE orders ALTER COLUMN name TYPE text COLLATE "C";',
     "index rebuild", "DBS122"),
    ("collation-reset", ORDERS, "ALTER TABLE orders ALTER COLUMN code TYPE text;",
     "index rebuild", "DBS122"),
    ("collation-kept", ORDERS,
     'ALTER TABLE orders ALTER COLUMN code TYPE varchar(20) COLLATE "C";', None, None),
    ("collation-widened", ORDERS, "ALTER TABLE orders ALTER COLUMN name TYPE text;", None, None),
    # no index has the column among its keys: nothing to rebuild (svix's message.event_type);
    # an INCLUDE column is stored, not ordered; an EXCLUDE constraint's index is rebuilt
    ("collation-unindexed", ORDERS, 'ALTER TABLE orders ALTER COLUMN ref TYPE text COLLATE "C";',
     None, None),
    ("collation-included", ORDERS + "CREATE INDEX ix_orders_total ON orders (total) INCLUDE (ref);",
     'ALTER TABLE orders ALTER COLUMN ref TYPE text COLLATE "C";', None, None),
    # svix's message: a partial index reading other columns rebuilds nothing either
    ("collation-beside-partial", ORDERS + "CREATE UNIQUE INDEX ix_orders_total ON orders "
     "(total, name) WHERE name IS NOT NULL;",
     'ALTER TABLE orders ALTER COLUMN ref TYPE text COLLATE "C";', None, None),
    ("collation-in-where", ORDERS + "CREATE INDEX ix_orders_total ON orders (total) "
     "WHERE ref > 'r5';", 'ALTER TABLE orders ALTER COLUMN ref TYPE text COLLATE "C";',
     "index rebuild", "DBS122"),
    ("collation-excluded", ORDERS + "ALTER TABLE orders ADD EXCLUDE USING btree (ref WITH =);",
     'ALTER TABLE orders ALTER COLUMN ref TYPE text COLLATE "C";', "index rebuild", "DBS122"),
    ("citext-from-varchar", CITEXT,
     'ALTER TABLE orders ALTER COLUMN username TYPE citext COLLATE "C";', "index rebuild",
     "DBS122"),
    ("citext-from-text", CITEXT, "ALTER TABLE orders ALTER COLUMN email TYPE citext;",
     "index rebuild", "DBS122"),
    ("citext-to-text", CITEXT, "ALTER TABLE orders ALTER COLUMN nick TYPE text;",
     "index rebuild", "DBS122"),
    ("citext-to-varchar-length", CITEXT, "ALTER TABLE orders ALTER COLUMN nick TYPE varchar(20);",
     "rewrite", "DBS110"),
    ("primary-key-nullable", REFS, "ALTER TABLE orders ADD PRIMARY KEY USING INDEX "
     "orders_ref_key;", "scan", "DBS107"),
    ("primary-key-proven", REFS + "ALTER TABLE orders ADD CHECK (ref IS NOT NULL);",
     "ALTER TABLE orders ADD PRIMARY KEY USING INDEX orders_ref_key;", None, None),
    ("primary-key-not-null", REFS + "ALTER TABLE orders ALTER COLUMN ref SET NOT NULL;",
     "ALTER TABLE orders ADD PRIMARY KEY USING INDEX orders_ref_key;", None, None),
    # the CHECK proved the dropped table's rows, not those of the one made again
    ("proof-of-a-dropped-table", "CREATE TABLE orders (id bigint, ref text CHECK "
     "(ref IS NOT NULL));\nDROP TABLE orders;\n" + REFS,
     "ALTER TABLE orders ALTER COLUMN ref SET NOT NULL;", "scan", "DBS107"),
    # The same type without its modifier: PostgreSQL only relabels the column (quivr's
    # vector(1536) -> vector, pgvector's typmod); the array of it too. Shorter is a rewrite.
    ("modifier-dropped-array", TAGS, "ALTER TABLE orders ALTER COLUMN tags TYPE varchar[];",
     None, None),
    ("modifier-dropped-numeric-array", TAGS,
     "ALTER TABLE orders ALTER COLUMN amounts TYPE numeric[];", None, None),
    ("modifier-shortened-array", TAGS,
     "ALTER TABLE orders ALTER COLUMN tags TYPE varchar(5)[];", "rewrite", "DBS110"),
    ("enum-through-text", STATUS, "ALTER TYPE status ADD VALUE 'closed';\n"
     "UPDATE orders SET status = 'closed'::text::status;", "refused", "DBS113"),
    ("enum-in-sql-function", STATUS, "ALTER TYPE status ADD VALUE 'closed';\n"
     "CREATE FUNCTION closed() RETURNS status LANGUAGE sql AS $$ SELECT 'closed'::status $$;",
     "refused", "DBS113"),
    ("enum-in-plpgsql-function", STATUS, "ALTER TYPE status ADD VALUE 'closed';\n"
     "CREATE FUNCTION closed() RETURNS status LANGUAGE plpgsql AS "
     "$$ BEGIN RETURN 'closed'::status; END $$;", None, None),
    ("enum-bodies-unchecked", STATUS, "ALTER TYPE status ADD VALUE 'closed';\n"
     "SET LOCAL check_function_bodies = off;\n"
     "CREATE FUNCTION closed() RETURNS status LANGUAGE sql AS $$ SELECT 'closed'::status $$;",
     None, None),
]

def _needs(sql: str) -> int:
    """The server version a case's SQL needs (VIRTUAL columns, NOT ENFORCED: 18;
    SET EXPRESSION: 17)."""
    if "VIRTUAL" in sql or "ENFORCED" in sql:
        return 180000
    return 170000 if "SET EXPRESSION" in sql else 0


def _effect(conninfo: str, change: str) -> str | None:
    """What PostgreSQL did running `change` in one transaction."""
    files = ("SELECT c.relname, c.relkind, pg_relation_filenode(c.oid) FROM pg_class AS c "
             "WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'i')")
    with psycopg.connect(conninfo) as conn:
        before = {(name, kind): node for name, kind, node in conn.execute(files).fetchall()}
        scans = "SELECT pg_stat_get_xact_numscans('orders'::regclass)"
        scanned = conn.execute(scans).fetchone()[0]
        try:
            conn.execute(change)
        except psycopg.errors.UnsafeNewEnumValueUsage:
            return "refused"
        scanned = conn.execute(scans).fetchone()[0] - scanned
        after = {(name, kind): node for name, kind, node in conn.execute(files).fetchall()}
        conn.rollback()
    changed = {key for key, node in before.items() if after.get(key, node) != node}
    if ("orders", "r") in changed:
        return "rewrite"
    if changed:
        return "index rebuild"
    return "scan" if scanned else None


def _lint(tmp_path: Path, schema: str, change: str, conninfo: str | None,
          rules: set[str] = RULES) -> set[str]:
    folder = tmp_path / ("with-database" if conninfo else "history") / "migrations"
    folder.mkdir(parents=True)
    if conninfo is None:
        (folder / "001_schema.sql").write_text(schema, encoding="utf-8")
    (folder / "002_change.sql").write_text(change, encoding="utf-8")
    settings = Settings(project_root=folder.parent, database_url=conninfo,
                        sql_migrations_in_transaction=True, target_version=180000)
    report = commands.lint(settings, [folder])
    return {f.code for f in report.findings
            if f.code in rules and f.location is not None
            and f.location.path.endswith("002_change.sql")}


@pytest.fixture(scope="module")
def schema_database(pg_server: NoopExecutor) -> Iterator[Callable[[str, int], str]]:
    """conninfo of a database that holds `schema` (`module_database`): made on the first
    case asking for it and kept for the module's cases with the same schema. They change
    nothing in it: the change runs in a transaction rolled back (`_effect`), and lint only
    reads the database. (When written, 7 schemas served 34 of the 61 CASES: 27 databases
    fewer to make.) A schema needing a newer server than the test server
    (`DBSAFE_TEST_DATABASE_URL`'s) skips its case."""
    made: dict[str, str] = {}
    with contextlib.ExitStack() as stack:

        def database(schema: str, needed: int = 0) -> str:
            if schema not in made:
                with psycopg.connect(make_conninfo(
                        host=pg_server.host, port=pg_server.port, user=pg_server.user,
                        password=pg_server.password or None, dbname="postgres")) as conn:
                    if conn.info.server_version < needed:
                        pytest.skip(f"needs PostgreSQL {needed // 10000}")
                conn = stack.enter_context(module_database(
                    pg_server, f"dbsafe_rewrites_{len(made)}", schema))
                made[schema] = make_conninfo(conn.info.dsn, password=pg_server.password or None)
                conn.close()  # (each case connects on its own)
            return made[schema]

        yield database


# The schemas more than one case of CASES runs on: their cases go to one xdist worker
# (`--dist loadgroup`), where `schema_database` makes their database once.
_SHARED = [schema for schema, count in Counter(case[1] for case in CASES).items()
           if count > 1]


def _on_its_schema(case: tuple[Any, ...]) -> Any:
    schema = case[1]
    marks = [pytest.mark.xdist_group(f"rewrites-schema-{_SHARED.index(schema)}")] \
        if schema in _SHARED else []
    return pytest.param(*case[1:], id=case[0], marks=marks)


@pytest.mark.parametrize(("schema", "change", "effect", "rule"),
                         [_on_its_schema(case) for case in CASES])
def test_lint_names_what_postgresql_does(schema_database: Callable[[str, int], str],
                                         tmp_path: Path, schema: str, change: str,
                                         effect: str | None, rule: str | None) -> None:
    conninfo = schema_database(schema, _needs(schema + change))
    assert _effect(conninfo, change) == effect
    expected = {rule} if rule else set()
    assert _lint(tmp_path, schema, change, None) == expected, "from the earlier migration"
    assert _lint(tmp_path, schema, change, conninfo) == expected, "from the database"


@pytest.mark.parametrize(("change", "rule", "truncated"), [
    ("ALTER TABLE orders ALTER COLUMN name SET NOT NULL;", "DBS107", True),
    ("ALTER TABLE orders ALTER COLUMN name SET NOT NULL;", "DBS107", False),
    # AppFlowy-Cloud's departition_af_collab: TRUNCATE, then a type change, an index and a
    # foreign key on the emptied table, in one sqlx transaction.
    ("CREATE INDEX ix_orders_ref ON orders (ref);", "DBS101", True),
    ("ALTER TABLE orders ADD CONSTRAINT ck_total CHECK (total > 0);", "DBS106", True),
    ("ALTER TABLE orders ADD COLUMN uid uuid DEFAULT gen_random_uuid();", "DBS109", True),
    ("ALTER TABLE orders ALTER COLUMN ref TYPE bigint USING length(ref);", "DBS110", True),
    ("ALTER TABLE orders ADD CONSTRAINT uq_orders_ref UNIQUE (ref);", "DBS111", True),
], ids=["DBS107-truncated", "DBS107", "DBS101", "DBS106", "DBS109", "DBS110", "DBS111"])
def test_work_on_a_table_truncated_in_its_transaction_reads_no_row(
        conninfo: str, tmp_path: Path, change: str, rule: str, truncated: bool) -> None:
    """The scan, rewrite or index build a rule claims, after a TRUNCATE of the table earlier
    in the transaction: what PostgreSQL still starts reads the new, empty file (no row
    returned, where it reads every row without the TRUNCATE), under the ACCESS EXCLUSIVE
    lock the TRUNCATE already took. The rules said every row was read."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(ORDERS)
    first = "TRUNCATE orders;\n" if truncated else ""
    read = "SELECT pg_stat_get_xact_tuples_returned('orders'::regclass)"
    held = ("SELECT mode FROM pg_locks WHERE relation = 'orders'::regclass "
            "AND pid = pg_backend_pid() AND mode = 'AccessExclusiveLock'")
    with psycopg.connect(conninfo) as conn:
        if first:
            conn.execute(first)
            assert conn.execute(held).fetchall() == [("AccessExclusiveLock",)]
        before = conn.execute(read).fetchone()[0]
        conn.execute(change)
        rows = conn.execute(read).fetchone()[0] - before
        conn.rollback()
    assert rows == (0 if truncated else 200)
    expected = set() if truncated else {rule}
    migration = "BEGIN;\n" + first + change + "\nCOMMIT;\n"
    assert _lint(tmp_path, ORDERS, migration, None, {rule}) == expected
    assert _lint(tmp_path, ORDERS, migration, conninfo, {rule}) == expected


def test_writes_wait_while_a_not_valid_foreign_key_is_validated_in_its_transaction(
        conninfo: str, tmp_path: Path) -> None:
    """DBS125's claim, held against PostgreSQL: NOT VALID then VALIDATE in one transaction
    leaves both tables' writers waiting for the whole transaction."""
    schema = ("CREATE TABLE customers (id bigint PRIMARY KEY);\n"
              "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint);\n"
              "INSERT INTO customers SELECT generate_series(1, 100);\n"
              "INSERT INTO orders SELECT i, i FROM generate_series(1, 100) AS i;\n")
    change = ("BEGIN;\nALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY "
              "(customer_id) REFERENCES customers (id) NOT VALID;\n"
              "ALTER TABLE orders VALIDATE CONSTRAINT orders_customer_fk;\nCOMMIT;\n")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(schema)
    with psycopg.connect(conninfo) as migrating, \
            psycopg.connect(conninfo, autocommit=True) as writer:
        migrating.execute(change.removeprefix("BEGIN;\n").removesuffix("COMMIT;\n"))
        writer.execute("SET lock_timeout = '200ms'")
        for table in ("orders", "customers"):
            with pytest.raises(psycopg.errors.LockNotAvailable):
                writer.execute(f"UPDATE {table} SET id = id WHERE id = 1")
        migrating.rollback()
    assert "DBS125" in _all_codes(tmp_path, schema, change)


def _history_findings(tmp_path: Path, schema: str, change: str) -> list[Finding]:
    """Lint's findings on `change`, with `schema` an earlier migration."""
    folder = tmp_path / "all" / "migrations"
    folder.mkdir(parents=True)
    (folder / "001_schema.sql").write_text(schema, encoding="utf-8")
    (folder / "002_change.sql").write_text(change, encoding="utf-8")
    report = commands.lint(Settings(project_root=folder.parent), [folder])
    return [f for f in report.findings if f.location is not None
            and f.location.path.endswith("002_change.sql")]


def _all_codes(tmp_path: Path, schema: str, change: str) -> set[str]:
    return {f.code for f in _history_findings(tmp_path, schema, change)}


def _database_findings(tmp_path: Path, change: str, conninfo: str,
                       **options: Any) -> list[Finding]:
    """Lint's findings on `change` alone, with the schema of the database at `conninfo`."""
    folder = tmp_path / "database" / "migrations"
    folder.mkdir(parents=True)
    (folder / "002.sql").write_text(change, encoding="utf-8")
    settings = Settings(project_root=folder.parent, database_url=conninfo, **options)
    return list(commands.lint(settings, [folder]).findings)


def _database_migrations_findings(tmp_path: Path, conninfo: str,
                                  files: dict[str, str]) -> list[Finding]:
    """Lint's findings on the migrations `files` (name -> SQL), with the schema of the
    database at `conninfo`."""
    folder = tmp_path / "database" / "migrations"
    folder.mkdir(parents=True)
    for name, sql in files.items():
        (folder / name).write_text(sql, encoding="utf-8")
    settings = Settings(project_root=folder.parent, database_url=conninfo)
    return list(commands.lint(settings, [folder]).findings)


def _lock_rows(tmp_path: Path, schema: str, change: str, conninfo: str) -> list[list[Any]]:
    """`dbsafe lint --locks` on `change` twice: with `schema` an earlier migration, and
    alone with `--database-url` naming the database that has `schema` (rows of the change
    are named `002_change.sql` both times)."""
    both = []
    for name, earlier, url in (("history", schema, None), ("database", None, conninfo)):
        folder = tmp_path / f"locks-{name}" / "migrations"
        folder.mkdir(parents=True)
        if earlier is not None:
            (folder / "001_schema.sql").write_text(earlier, encoding="utf-8")
        (folder / "002_change.sql").write_text(change + ";\n", encoding="utf-8")
        settings = Settings(project_root=folder.parent, database_url=url)
        both.append(commands.lock_report(settings, [folder]))
    return both


def _unqualified(relation: str | None) -> str | None:
    """A lock row's relation as the tests' pg_class reads name it (the database's schema
    names its tables `public.x`, the history `x`)."""
    return relation.removeprefix("public.") if relation else relation


def test_drop_type_cascade_takes_the_columns_of_that_type(conninfo: str,
                                                          tmp_path: Path) -> None:
    schema = ("CREATE TYPE status AS ENUM ('open', 'closed');\n"
              "CREATE TYPE unused AS ENUM ('x');\n"
              "CREATE TABLE orders (id bigint PRIMARY KEY, status status);\n"
              "INSERT INTO orders VALUES (1, 'open');\n")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(schema)
        conn.execute("DROP TYPE status CASCADE")
        columns = [r[0] for r in conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = 'orders'::regclass "
            "AND attnum > 0 AND NOT attisdropped")]
    assert columns == ["id"]  # the column and its data went with the type
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("DROP TABLE orders; DROP TYPE unused;")
        conn.execute(schema)
    change = "DROP TYPE status CASCADE;\n"
    assert "DBS212" in _all_codes(tmp_path / "a", schema, change)
    with_database = Settings(project_root=tmp_path, database_url=conninfo)
    folder = tmp_path / "b" / "migrations"
    folder.mkdir(parents=True)
    (folder / "002.sql").write_text(change + "DROP TYPE unused CASCADE;\n", encoding="utf-8")
    found = [(f.code, f.subject) for f in commands.lint(with_database, [folder]).findings
             if f.code == "DBS212"]
    assert found == [("DBS212", "status")]  # no column is of type `unused`


EVENTS = """
CREATE TABLE events (id int, at date) PARTITION BY RANGE (at);
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE events_2027 (id int, at date);
"""
WITH_DEFAULT = EVENTS + """
CREATE TABLE events_default PARTITION OF events DEFAULT;
INSERT INTO events SELECT g, '2024-06-01' FROM generate_series(1, 200) AS g;
"""


@pytest.mark.parametrize(("schema", "scanned"), [(WITH_DEFAULT, True), (EVENTS, False)],
                         ids=["default-partition", "none"])
@pytest.mark.parametrize("change", [
    "CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') "
    "TO ('2027-01-01');",
    "ALTER TABLE events ATTACH PARTITION events_2027 FOR VALUES FROM ('2027-01-01') "
    "TO ('2028-01-01');"], ids=["create", "attach"])
def test_a_partition_added_scans_the_default_partition(conninfo: str, tmp_path: Path,
                                                       schema: str, scanned: bool,
                                                       change: str) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(schema)
    with psycopg.connect(conninfo) as conn:
        scans = ("SELECT coalesce(sum(pg_stat_get_xact_numscans(oid)), 0) FROM pg_class "
                 "WHERE relname = 'events_default'")
        before = conn.execute(scans).fetchone()[0]
        conn.execute(change)
        assert (conn.execute(scans).fetchone()[0] > before) == scanned
        conn.rollback()
    expected = {"DBS126"} if scanned else set()
    assert {"DBS126"} & _all_codes(tmp_path / "history", schema, change) == expected
    found = _database_findings(tmp_path, change, conninfo)
    assert {f.code for f in found} & {"DBS126"} == expected


NOTES = """
CREATE TABLE orders (id bigint PRIMARY KEY, c varchar(20), d varchar(20), e varchar(20),
                     f varchar(20), g varchar(20), h varchar(20),
                     CONSTRAINT c_filled CHECK (length(c) > 0),
                     CONSTRAINT c_not_g CHECK (c <> 'g'));
INSERT INTO orders SELECT g, 'x' || g, 'y' || g, 'z' || g, 'w' || g, 'v' || g, ''
    FROM generate_series(1, 200) AS g;
-- added NOT VALID over rows it refuses: PostgreSQL re-adds it NOT VALID, checking nothing
ALTER TABLE orders ADD CONSTRAINT h_filled CHECK (length(h) > 0) NOT VALID;
CREATE INDEX ix_lower_d ON orders (lower(d));
CREATE INDEX ix_some ON orders (id) WHERE e <> '';
CREATE INDEX ix_f ON orders (f);
CREATE INDEX ix_not_g ON orders (upper(d)) WHERE d <> 'g';
CREATE DOMAIN filled AS varchar(50) CHECK (length(VALUE) > 0);
"""


@pytest.mark.parametrize(("change", "effect", "rule"), [
    ("ALTER TABLE orders ALTER COLUMN c TYPE varchar(50);", "scan", "DBS127"),
    ("ALTER TABLE orders ALTER COLUMN d TYPE text;", "index rebuild", "DBS127"),
    ("ALTER TABLE orders ALTER COLUMN e TYPE varchar(50);", "index rebuild", "DBS127"),
    ("ALTER TABLE orders ALTER COLUMN f TYPE varchar(50);", None, None),
    # `g` only inside strings of a CHECK and an index: no use of the column
    ("ALTER TABLE orders ALTER COLUMN g TYPE varchar(50);", None, None),
    ("ALTER TABLE orders ALTER COLUMN h TYPE varchar(50);", None, None),
    # boundary's 35/01 (task 489): the CHECKs the same statement drops are not rechecked
    ("ALTER TABLE orders DROP CONSTRAINT c_filled, DROP CONSTRAINT c_not_g, "
     "ALTER COLUMN c TYPE varchar(50);", None, None),
    ("ALTER TABLE orders DROP CONSTRAINT c_filled, ALTER COLUMN c TYPE varchar(50);", "scan",
     "DBS127"),
    # boundary's 56/02: to a domain with a CHECK over the same base type, a rewrite (DBS110)
    ("ALTER TABLE orders ALTER COLUMN c TYPE filled;", "rewrite", "DBS110"),
], ids=["check", "expression-index", "partial-index", "plain-index", "name-in-a-string",
        "not-valid-check", "checks-dropped-with-it", "one-check-dropped-with-it",
        "constrained-domain"])
def test_a_type_change_without_rewrite_still_redoes_what_depends_on_the_column(
        conninfo: str, tmp_path: Path, change: str, effect: str | None,
        rule: str | None) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(NOTES)
    assert _effect(conninfo, change) == effect
    found = _database_findings(tmp_path, change, conninfo)
    assert {f.code for f in found} & {"DBS110", "DBS127"} == (
        {rule} if rule else set())
    # the same schema built by an earlier migration of a SQL history, no database given
    assert {"DBS110", "DBS127"} & _all_codes(tmp_path, NOTES, change) == (
        {rule} if rule else set())


# Indexes built without a name: PostgreSQL names them (ChooseIndexName, indexcmds.c)
UNNAMED = """
CREATE TABLE orders (id bigint PRIMARY KEY, d varchar(20), e varchar(20));
INSERT INTO orders SELECT g, 'y' || g, 'z' || g FROM generate_series(1, 200) AS g;
CREATE INDEX ON orders ((lower(d)));
CREATE INDEX ON orders ((lower(d)));
CREATE INDEX ON orders (id) WHERE e <> '';
CREATE INDEX ON orders ((d || e));
DROP INDEX orders_lower_idx;
"""


def _indexes_rebuilt(conninfo: str, change: str) -> list[str]:
    """The indexes PostgreSQL built again running `change` (a new relfilenode), rolled back."""
    files = ("SELECT relname, pg_relation_filenode(oid) FROM pg_class "
             "WHERE relnamespace = 'public'::regnamespace AND relkind = 'i'")
    with psycopg.connect(conninfo) as conn:
        before = dict(conn.execute(files).fetchall())
        conn.execute(change)
        after = dict(conn.execute(files).fetchall())
        conn.rollback()
    return sorted(name for name, node in before.items() if after.get(name, node) != node)


@pytest.mark.parametrize(("change", "rebuilt"), [
    ("ALTER TABLE orders ALTER COLUMN d TYPE text;", ["orders_expr_idx", "orders_lower_idx1"]),
    ("ALTER TABLE orders ALTER COLUMN e TYPE varchar(50);", ["orders_expr_idx", "orders_id_idx"]),
], ids=["expression", "partial"])
def test_a_type_change_names_the_unnamed_indexes_an_earlier_migration_built(
        conninfo: str, tmp_path: Path, change: str, rebuilt: list[str]) -> None:
    # The history followed only the expression and partial indexes built with a name, so
    # without a database DBS127 said nothing of `CREATE INDEX ON orders ((lower(d)))`,
    # which PostgreSQL names `orders_lower_idx` (the second one `orders_lower_idx1`, the
    # first dropped by its name: not rebuilt)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(UNNAMED)
    assert _indexes_rebuilt(conninfo, change) == rebuilt
    [finding] = [f for f in _history_findings(tmp_path, UNNAMED, change) if f.code == "DBS127"]
    assert sorted(finding.message.split("rebuilds index `")[i].split("`")[0]
                  for i in range(1, len(rebuilt) + 1)) == rebuilt


UNNAMED_BUILDS = [
    "CREATE INDEX ON t ((lower(c)))",
    "CREATE INDEX ON t ((lower(c)))",
    "CREATE INDEX ON t ((a + b))",
    "CREATE INDEX ON t (a) WHERE b > 0",
    "CREATE INDEX ON t (a, a)",
    "CREATE INDEX ON t ((lower(c)), (lower(d)))",
    "CREATE INDEX ON t (a) INCLUDE (b)",
    "CREATE INDEX ON t ((c::varchar))",
    "CREATE INDEX ON t (((a + b)::text))",
    "CREATE INDEX ON t ((coalesce(a, b)), (nullif(a, b)), (greatest(a, b)), (array[a, b]))",
    "CREATE INDEX ON t ((x ->> 'k'), (x ->> 'j'))",
    "CREATE INDEX ON t ((CASE WHEN a > 0 THEN c END), (CASE WHEN a > 0 THEN c ELSE d END))",
    "CREATE INDEX ON t ((c COLLATE \"C\"), ((y).k))",
    "CREATE TABLE t_a_idx2 (i int)",
    "CREATE INDEX ON t (a) WHERE b > 1",
    "CREATE INDEX ON t (a) WHERE b > 2",
    "DROP INDEX t_lower_idx",
    "CREATE INDEX ON t ((lower(c)))",
    "CREATE TABLE a_table_name_that_is_rather_long_and_goes_on_and_on_for_ever "
    "(a_column_name_also_rather_long_of_forty int, another_column_of_some_length int)",
    "CREATE INDEX ON a_table_name_that_is_rather_long_and_goes_on_and_on_for_ever "
    "(a_column_name_also_rather_long_of_forty, another_column_of_some_length)",
    "CREATE INDEX ON a_table_name_that_is_rather_long_and_goes_on_and_on_for_ever "
    "(a_column_name_also_rather_long_of_forty, another_column_of_some_length)",
]


def test_an_index_built_without_a_name_is_followed_by_the_name_postgresql_gives_it(
        conninfo: str) -> None:
    names = ("SELECT relname FROM pg_class "
             "WHERE relnamespace = 'public'::regnamespace AND relkind = 'i'")
    history = History()
    lint_sql("CREATE TYPE pair AS (k text, j text);\n"
             "CREATE TABLE t (a int, b int, c text, d text, x jsonb, y pair);", history=history)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("CREATE TYPE pair AS (k text, j text);\n"
                     "CREATE TABLE t (a int, b int, c text, d text, x jsonb, y pair);")
        for build in UNNAMED_BUILDS:
            # (History.kinds: name -> schema -> kind; these lie in public)
            before = {row[0] for row in conn.execute(names)}
            known = {name: kinds.get("public") for name, kinds in history.kinds.items()}
            conn.execute(build)
            lint_sql(build + ";", history=history)
            made = {row[0] for row in conn.execute(names)} - before
            followed = {name for name, kinds in history.kinds.items()
                        if kinds.get("public") == "index" and known.get(name) != "index"}
            assert followed == made, build


BILLING = """
CREATE SCHEMA billing;
CREATE TABLE billing.invoices (id bigint PRIMARY KEY);
CREATE FUNCTION public.invoice_count() RETURNS bigint LANGUAGE sql
    SET search_path = billing AS 'SELECT count(*) FROM invoices';
"""


@pytest.mark.parametrize(("schema", "change", "deployed", "error", "rule"), [
    (STATUS, "ALTER TYPE status RENAME VALUE 'open' TO 'opened';\n",
     ["INSERT INTO orders VALUES (2, 'open')"], psycopg.errors.InvalidTextRepresentation,
     "DBS213"),
    # a function's (or role's) search_path keeps the old schema name too
    (BILLING, "ALTER SCHEMA billing RENAME TO invoicing;\n",
     ["SELECT * FROM billing.invoices", "SELECT public.invoice_count()"],
     psycopg.errors.UndefinedTable, "DBS216"),
], ids=["enum-value", "schema"])
def test_a_rename_is_refused_to_code_that_still_uses_the_old_name(
        conninfo: str, tmp_path: Path, schema: str, change: str, deployed: list[str],
        error: type[Exception], rule: str) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(schema)
        conn.execute(change)
        for query in deployed:  # the deployed code's
            with pytest.raises(error):
                conn.execute(query)
    assert rule in _all_codes(tmp_path, schema, change)


VIEWED = """
CREATE TABLE orders (id bigint PRIMARY KEY, status varchar(10), note varchar(10),
                     ref varchar(10));
CREATE TABLE customers (id bigint PRIMARY KEY, ref varchar(10));
CREATE VIEW open_orders AS SELECT id, status FROM orders;
CREATE VIEW refs AS SELECT o.id, c.ref FROM orders AS o JOIN customers AS c ON c.id = o.id;
CREATE MATERIALIZED VIEW everything AS SELECT * FROM customers;
"""


@pytest.mark.parametrize(("change", "refused"), [
    ("ALTER TABLE orders ALTER COLUMN status TYPE varchar(20);", True),
    ("ALTER TABLE customers ALTER COLUMN ref TYPE varchar(20);", True),
    ("ALTER TABLE orders ALTER COLUMN note TYPE varchar(20);", False),
    ("ALTER TABLE orders ALTER COLUMN ref TYPE varchar(20);", False),
    ("DROP VIEW open_orders;\nALTER TABLE orders ALTER COLUMN status TYPE varchar(20);",
     False),
], ids=["view", "join-and-star", "unused-column", "same-name-other-table", "view-dropped"])
def test_a_type_change_under_a_view_is_refused_where_lint_says(
        conninfo: str, tmp_path: Path, change: str, refused: bool) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(VIEWED)
        try:
            with conn.transaction(force_rollback=True):
                conn.execute(change)
            error = False
        except psycopg.errors.FeatureNotSupported:
            error = True
    assert error == refused
    found = _database_findings(tmp_path, change, conninfo)
    assert ("DBS128" in {f.code for f in found}) == refused


NUMBERED = """
CREATE TABLE orders (id bigint PRIMARY KEY, legacy_id bigint, note text);
INSERT INTO orders SELECT i, i + 1000, 'n' FROM generate_series(1, 200) AS i;
"""


@pytest.mark.parametrize(("change", "outcome"), [
    ("ALTER TABLE orders ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY;", "collides"),
    ("ALTER TABLE orders ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY;\n"
     "SELECT setval(pg_get_serial_sequence('orders', 'id'), coalesce(max(id), 0) + 1, false) "
     "FROM orders;", "inserts"),
    ("ALTER TABLE orders ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY "
     "(START WITH 201);", "inserts"),
    ("ALTER TABLE orders ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY "
     "(START WITH 1);", "collides"),
    ("ALTER TABLE orders ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY "
     "(INCREMENT BY -1);", "inserts"),
    ("ALTER TABLE orders ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY;\n"
     "ALTER TABLE orders ALTER COLUMN id RESTART WITH 500;", "inserts"),
    ("ALTER TABLE orders ALTER COLUMN legacy_id ADD GENERATED BY DEFAULT AS IDENTITY "
     "(START WITH 5000);", "refused"),
    ("ALTER TABLE orders ALTER COLUMN legacy_id SET NOT NULL, ALTER COLUMN legacy_id "
     "ADD GENERATED BY DEFAULT AS IDENTITY (START WITH 5000);", "inserts"),
    # ente's 25_alter_ids_to_bigint: RESTART in the identity's own options (a number past
    # int4 pglast reads as a Float); RESTART alone goes back to the start
    ("ALTER TABLE orders ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY "
     "(RESTART 1580559962386438);", "inserts"),
    ("ALTER TABLE orders ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY "
     "(RESTART 500);", "inserts"),
    ("ALTER TABLE orders ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY "
     "(START WITH 500 RESTART);", "inserts"),
    ("ALTER TABLE orders ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY "
     "(RESTART);", "collides"),
], ids=["collides", "setval", "start-with", "start-with-1", "descending", "restart", "nullable",
        "not-null-first", "own-restart-past-int4", "own-restart", "own-restart-to-start",
        "own-restart-to-1"])
def test_an_identity_added_to_a_populated_column_is_flagged_where_postgresql_breaks(
        conninfo: str, tmp_path: Path, change: str, outcome: str) -> None:
    """DBS129's claims: the new identity's sequence starts at 1 under the existing ids (the
    next default insert is a duplicate key), and a nullable column is refused."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(NUMBERED)
        try:
            with conn.transaction(force_rollback=True):
                conn.execute(change)
                column = "legacy_id" if "legacy_id" in change else "id"
                other = "id, " if column == "legacy_id" else ""
                try:
                    with conn.transaction():
                        conn.execute(f"INSERT INTO orders ({other}note) "
                                     f"VALUES ({'9999, ' if other else ''}'new')")
                    seen = "inserts"
                except psycopg.errors.UniqueViolation:
                    seen = "collides"
        except psycopg.errors.ObjectNotInPrerequisiteState:
            seen = "refused"
    assert seen == outcome
    flagged = outcome != "inserts"
    assert ("DBS129" in _all_codes(tmp_path, NUMBERED, change)) == flagged, "from history"
    found = _database_findings(tmp_path, change, conninfo)
    assert ("DBS129" in {f.code for f in found}) == flagged, "from the database"


def test_an_identity_started_past_the_max_a_revision_read_is_not_flagged(
        conninfo: str) -> None:
    """Renku's ce54fdbb40fe (task 489): the revision's Python locks the table, reads
    `SELECT MAX(id)` and adds the identity `START WITH` the next value. On PostgreSQL with
    rows the next default insert gets a fresh id; on the empty database the revisions are
    captured on the start reads 1. A `.sql` file's SELECT feeds no START: still flagged."""
    from dbsafe.core import Location
    from dbsafe.extract.migration import Migration, MigrationStatement
    from dbsafe.lint.engine import lint_migration
    from dbsafe.lint.rules import identity_added_to_existing_column

    def revision(conn: psycopg.Connection) -> list[str]:  # what the revision's Python sends
        ran = ["LOCK TABLE public.orders IN EXCLUSIVE MODE",
               'SELECT MAX(id) FROM "public"."orders"']
        row = conn.execute(ran[-1]).fetchone()
        next_id = row[0] + 1 if row and row[0] is not None else 1
        ran += ["ALTER TABLE public.orders ALTER COLUMN id SET DATA TYPE bigint, ALTER COLUMN id "
                f"ADD GENERATED ALWAYS AS IDENTITY (START WITH {next_id})"]
        for sql in ran[2:]:
            conn.execute(sql)
        return ran

    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(NUMBERED)
        with conn.transaction(force_rollback=True):
            revision(conn)
            assert conn.execute("INSERT INTO orders (note) VALUES ('new') RETURNING id"
                                ).fetchone() == (201,)
        with conn.transaction(force_rollback=True):
            conn.execute("DELETE FROM orders")  # the empty database of the capture
            captured = revision(conn)
    assert captured[-1].endswith("(START WITH 1)")
    statements = tuple(MigrationStatement(sql, Location("versions/ce54fdbb40fe.py", line))
                       for line, sql in enumerate(captured, start=1))
    rule = [identity_added_to_existing_column.RULE]
    assert list(lint_migration(Migration("versions/ce54fdbb40fe.py", statements,
                                         kind="alembic", revision="ce54fdbb40fe"), rule)) == []
    flagged = lint_migration(Migration("migrations/002.sql", statements), rule)
    assert [f.code for f in flagged] == ["DBS129"]
    # A MAX of another column or another table tells nothing about this identity's start.
    for read in ('SELECT MAX(legacy_id) FROM "public"."orders"', "SELECT MAX(id) FROM invoices"):
        other = (statements[0], MigrationStatement(read, statements[1].location), statements[2])
        assert [f.code for f in lint_migration(Migration(
            "versions/ce54fdbb40fe.py", other, kind="alembic", revision="ce54fdbb40fe"),
            rule)] == ["DBS129"], read


STORED = """
CREATE TABLE orders (id bigint PRIMARY KEY, note text);
CREATE UNLOGGED TABLE scratch (id bigint PRIMARY KEY);
INSERT INTO orders SELECT i, 'n' FROM generate_series(1, 50) AS i;
"""


@pytest.mark.parametrize(("change", "rewrite", "known_from_database"), [
    ("ALTER TABLE orders SET LOGGED;", False, True),
    ("ALTER TABLE scratch SET UNLOGGED;", False, True),
    ("ALTER TABLE orders SET ACCESS METHOD heap;", False, False),
    ("ALTER TABLE orders SET TABLESPACE pg_default;", False, False),
    ("ALTER TABLE orders SET UNLOGGED;", True, True),
    ("ALTER TABLE scratch SET LOGGED;", True, True),
], ids=["logged-to-logged", "unlogged-to-unlogged", "heap-to-heap", "same-tablespace",
        "logged-to-unlogged", "unlogged-to-logged"])
def test_storage_changes_to_what_a_table_has_are_not_called_rewrites(
        conninfo: str, tmp_path: Path, change: str, rewrite: bool,
        known_from_database: bool) -> None:
    """DBS112 flags SET LOGGED / UNLOGGED / ACCESS METHOD / TABLESPACE as a rewrite only when
    PostgreSQL rewrites: not when the table is already stored that way. The schema dbsafe
    reads from a database tells only whether a table is logged."""
    table = change.split()[2]
    nodes = f"SELECT pg_relation_filenode('{table}')"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(STORED)
        before = conn.execute(nodes).fetchone()
        with conn.transaction(force_rollback=True):
            conn.execute(change)
            after = conn.execute(nodes).fetchone()
    assert (before != after) == rewrite
    assert ("DBS112" in _all_codes(tmp_path, STORED, change)) == rewrite, "from history"
    found = _database_findings(tmp_path, change, conninfo)
    flagged = rewrite or not known_from_database
    assert ("DBS112" in {f.code for f in found}) == flagged, "from the database"


PARTITIONED = """
CREATE TABLE events (id bigint, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE events_2025 (id bigint, at date NOT NULL);
INSERT INTO events_2025 SELECT i, '2025-06-01' FROM generate_series(1, 100) AS i;
"""
BOUNDS = ("ALTER TABLE events_2025 ADD CONSTRAINT bounds CHECK (at >= '2025-01-01' AND "
          "at < '2026-01-01') NOT VALID;\nALTER TABLE events_2025 VALIDATE CONSTRAINT bounds;\n")
ATTACH = "ALTER TABLE events ATTACH PARTITION events_2025 FOR VALUES FROM ('2025-01-01') " \
         "TO ('2026-01-01');"


UNRELATED = "ALTER TABLE events_2025 ADD CONSTRAINT positive CHECK (id > 0);\n"
LOOSE = "ALTER TABLE events_2025 ADD CONSTRAINT recent CHECK (at >= '2025-01-01');\n"


@pytest.mark.parametrize(("schema", "change", "scanned", "severity"), [
    (PARTITIONED, ATTACH, True, {"history": "error", "database": "error"}),
    (PARTITIONED, BOUNDS + ATTACH, False, {}),
    (PARTITIONED + BOUNDS, ATTACH, False, {"database": "warning"}),
    ("CREATE TABLE events (id bigint, at date NOT NULL) PARTITION BY RANGE (at);",
     "CREATE TABLE events_2025 (id bigint, at date NOT NULL);\n" + ATTACH, True, {}),
    # a CHECK that does not name the partition key cannot imply the bounds
    (PARTITIONED, UNRELATED + ATTACH, True, {"history": "error", "database": "error"}),
    (PARTITIONED + UNRELATED, ATTACH, True, {"history": "error", "database": "error"}),
    # one that names it but does not imply them is missed from SQL alone (the capture of
    # an alembic revision sees the scan: test_capture.py), and only a warning from the
    # database
    (PARTITIONED + LOOSE, ATTACH, True, {"database": "warning"}),
], ids=["no-check", "check-validated-first", "check-in-schema", "created-here",
        "unrelated-check", "unrelated-check-in-schema", "loose-check-in-schema"])
def test_a_table_attached_as_a_partition_is_scanned_where_lint_says(
        conninfo: str, tmp_path: Path, schema: str, change: str, scanned: bool,
        severity: dict[str, str]) -> None:
    """DBS130's claim: ATTACH PARTITION reads the table under ACCESS EXCLUSIVE unless a
    validated CHECK implies the bounds. From history, an earlier migration's CHECK that
    names the partition key is trusted; from the database, the schema's CHECK lowers the
    finding to a warning; a CHECK naming no column of the key implies nothing. A table the
    migration creates is scanned too, but it is empty and nobody uses it yet."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(schema)
        scans = "SELECT pg_stat_get_xact_numscans('events_2025'::regclass)"
        with conn.transaction(force_rollback=True):
            conn.execute(change.removesuffix(ATTACH) or "SELECT")
            before = conn.execute(scans).fetchone()[0]
            conn.execute(ATTACH)  # the attach's own scan, not VALIDATE's
            attached = conn.execute(scans).fetchone()[0] - before
            locks = {r[0] for r in conn.execute(
                "SELECT mode FROM pg_locks WHERE pid = pg_backend_pid() AND "
                "relation = 'events_2025'::regclass").fetchall()}
    assert bool(attached) == scanned
    assert "AccessExclusiveLock" in locks

    def found(findings: list[Finding]) -> str | None:
        return next((f.severity.value for f in findings if f.code == "DBS130"), None)

    assert found(_history_findings(tmp_path, schema, change)) == severity.get("history")
    # every table counts as large: the size does not lower the finding here
    assert found(_database_findings(tmp_path, change, conninfo, large_table=0)) == \
        severity.get("database")


def test_an_unbounded_partition_needs_no_check_on_its_own_key(
        conninfo: str, tmp_path: Path) -> None:
    """FROM (MINVALUE) TO (MAXVALUE) of a NOT NULL key: the bounds PostgreSQL checks are the
    parent's own (a partition itself), which a CHECK on the parent's key column proves. No
    scan, and the CHECK is trusted though it names no column of `regions_eu`'s key."""
    schema = ("CREATE TABLE regions (id bigint, region text NOT NULL, at date NOT NULL) "
              "PARTITION BY LIST (region);\n"
              "CREATE TABLE regions_eu PARTITION OF regions FOR VALUES IN ('eu') "
              "PARTITION BY RANGE (at);\n"
              "CREATE TABLE eu_all (id bigint, region text NOT NULL, at date NOT NULL);\n"
              "ALTER TABLE eu_all ADD CONSTRAINT eu CHECK (region = 'eu');\n")
    change = ("ALTER TABLE regions_eu ATTACH PARTITION eu_all "
              "FOR VALUES FROM (MINVALUE) TO (MAXVALUE);\n")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(schema)
        scans = "SELECT pg_stat_get_xact_numscans('eu_all'::regclass)"
        with conn.transaction(force_rollback=True):
            before = conn.execute(scans).fetchone()
            conn.execute(change)
            after = conn.execute(scans).fetchone()
    assert before is not None and after is not None and after[0] == before[0]
    assert "DBS130" not in _all_codes(tmp_path, schema, change)
    # (from the database, its CHECK lowers the finding to a warning, as any CHECK does)
    assert [f.severity.value for f in _database_findings(tmp_path, change, conninfo)
            if f.code == "DBS130"] == ["warning"]


@pytest.mark.parametrize(("migration", "valid_after_retry"), [
    ("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS ux_refs ON refs (ref);", False),
    ("DROP INDEX CONCURRENTLY IF EXISTS ux_refs;\n"
     "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS ux_refs ON refs (ref);", True),
    ("CREATE UNIQUE INDEX CONCURRENTLY ux_refs ON refs (ref);", None),
], ids=["if-not-exists", "dropped-first", "plain"])
def test_a_retried_concurrent_build_keeps_the_invalid_index_where_lint_says(
        conninfo: str, tmp_path: Path, migration: str, valid_after_retry: bool | None) -> None:
    """DBS131's claim: a concurrent build that failed (here on a duplicate) leaves an
    INVALID index, which the retry's IF NOT EXISTS skips; dropping it first rebuilds it.
    Without IF NOT EXISTS the retry fails on the leftover (None)."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("CREATE TABLE refs (id bigint, ref text);\n"
                     "INSERT INTO refs VALUES (1, 'a'), (2, 'a');")
        with pytest.raises(psycopg.errors.UniqueViolation):
            for statement in migration.split(";\n"):
                conn.execute(statement)
        conn.execute("DELETE FROM refs WHERE id = 2")  # the data is fixed, the deploy retried
        try:
            for statement in migration.split(";\n"):
                conn.execute(statement)
            valid = conn.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = "
                                 "'ux_refs'::regclass").fetchone()[0]
        except psycopg.errors.DuplicateTable:
            valid = None
    assert valid == valid_after_retry
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "002.sql").write_text(migration, encoding="utf-8")
    found = commands.lint(Settings(project_root=tmp_path), [folder])
    assert ("DBS131" in {f.code for f in found.findings}) == (valid_after_retry is False)


@pytest.mark.parametrize(("name", "header", "one_query"), [
    ("2_ix.up.sql", "", True),  # golang-migrate (and sqlx) send the whole file as one query
    ("00002_ix.sql", "-- +goose NO TRANSACTION\n-- +goose Up\n", False),  # goose: each alone
], ids=["golang-migrate", "goose-no-transaction"])
def test_dbs131_advises_a_drop_the_runner_can_run_before_the_build(
        conninfo: str, tmp_path: Path, name: str, header: str, one_query: bool) -> None:
    """DBS131 said to drop a leftover index first, `DROP INDEX CONCURRENTLY IF EXISTS`, which
    quickwit's deferred sqlx migrations tried and gave up (their README): a runner that sends
    the file as one query makes the two statements one implicit transaction, and PostgreSQL
    refuses the DROP (25001). Run statement by statement, as goose runs a NO TRANSACTION
    file, they work. The help now says so where the runner sends the file at once."""
    fix = "DROP INDEX CONCURRENTLY IF EXISTS ix_refs;\nCREATE INDEX CONCURRENTLY ix_refs ON refs (ref);"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("CREATE TABLE refs (id bigint, ref text)")
        with pytest.raises(psycopg.errors.ActiveSqlTransaction):
            conn.execute(fix)  # no parameters: one simple query, the whole file at once
        for statement in fix.split(";\n"):
            conn.execute(statement)
    folder = tmp_path / "migrations"
    folder.mkdir()
    first = "1_refs.up.sql" if one_query else "00001_refs.sql"
    (folder / first).write_text(("" if one_query else "-- +goose Up\n")
                                + "CREATE TABLE refs (id bigint, ref text);\n")
    (folder / name).write_text(
        header + "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_refs ON refs (ref);\n")
    found = commands.lint(Settings(project_root=tmp_path, select=("DBS131",)), [folder])
    (finding,) = found.findings
    assert finding.help is not None
    assert ("in a migration of its own" in finding.help) == one_query


@pytest.mark.parametrize(("column_type", "breaks"), [("json", True), ("jsonb", False),
                                                     ("json[]", True)])
def test_a_json_column_breaks_whole_row_comparisons_where_lint_says(
        conninfo: str, tmp_path: Path, column_type: str, breaks: bool) -> None:
    """DBS214's claim: after a json column is added, SELECT DISTINCT * and UNION over the
    table fail; jsonb has equality."""
    change = f"ALTER TABLE orders ADD COLUMN meta {column_type};"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("CREATE TABLE orders (id bigint PRIMARY KEY, note text);\n"
                     "INSERT INTO orders VALUES (1, 'a');\n" + change)
        failed = []
        for query in ("SELECT DISTINCT * FROM orders",
                      "SELECT * FROM orders UNION SELECT * FROM orders"):
            try:
                conn.execute(query)
            except psycopg.errors.UndefinedFunction:
                failed.append(query)
    assert bool(failed) == breaks and len(failed) in (0, 2)
    assert ("DBS214" in _all_codes(tmp_path, "CREATE TABLE orders (id bigint, note text);",
                                   change)) == breaks


def test_a_dropped_index_locks_its_table_until_commit_where_lint_says(
        conninfo: str, tmp_path: Path) -> None:
    """DROP INDEX takes ACCESS EXCLUSIVE on the index's table, held until COMMIT: the
    UPDATE after it runs while nobody can read the table (DBS114), and queries queue on the
    table, not on the index, while it waits for that lock (DBS115). The migration-level
    rules did not know which table an earlier migration's index is on: DBS114 was missed,
    DBS115 named `ix_tools_name`."""
    schema = "CREATE TABLE tools (id bigint PRIMARY KEY, name text);\n" \
             "CREATE INDEX ix_tools_name ON tools (name);\n"
    change = "BEGIN;\nDROP INDEX ix_tools_name;\nUPDATE tools SET name = 'x';\nCOMMIT;\n"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(schema)
        with conn.transaction(force_rollback=True):
            conn.execute("DROP INDEX ix_tools_name")
            conn.execute("UPDATE tools SET name = 'x'")
            locks = {r[0] for r in conn.execute(
                "SELECT mode FROM pg_locks WHERE pid = pg_backend_pid() AND "
                "relation = 'tools'::regclass").fetchall()}
    assert "AccessExclusiveLock" in locks
    found = {f.code: f for f in _history_findings(tmp_path, schema, change)}
    assert found["DBS114"].location is not None and found["DBS114"].location.line == 3
    assert found["DBS115"].subject == "tools"
    assert found["DBS115"].message.startswith("ACCESS EXCLUSIVE lock on `tools` is requested")
    assert "every query on `tools` queues" in found["DBS115"].message


def test_a_dropped_index_after_a_write_blocking_lock_is_said_to_work_on_its_table(
        conninfo: str, tmp_path: Path) -> None:
    """zou's 306266361f4f builds an index on `build_job` (SHARE, held until COMMIT), then
    drops `ix_login_log_created_at`, which takes ACCESS EXCLUSIVE on `login_log`: DBS125
    said the DROP INDEX "works on `ix_login_log_created_at`", the index, not the table it
    locks (the migration-level rules name a lock's relation)."""
    schema = ("CREATE TABLE build_job (id bigint PRIMARY KEY, playlist_id bigint);\n"
              "CREATE TABLE login_log (id bigint PRIMARY KEY, created_at timestamptz);\n"
              "CREATE INDEX ix_login_log_created_at ON login_log (created_at);\n")
    change = ("BEGIN;\nCREATE INDEX ix_build_job_playlist_id ON build_job (playlist_id);\n"
              "DROP INDEX ix_login_log_created_at;\nCOMMIT;\n")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(schema)
        with conn.transaction(force_rollback=True):
            conn.execute("CREATE INDEX ix_build_job_playlist_id ON build_job (playlist_id)")
            conn.execute("DROP INDEX ix_login_log_created_at")
            locks = set(conn.execute(
                "SELECT relation::regclass::text, mode FROM pg_locks "
                "WHERE pid = pg_backend_pid() AND relation IN "
                "('build_job'::regclass, 'login_log'::regclass)").fetchall())
    assert {("build_job", "ShareLock"), ("login_log", "AccessExclusiveLock")} <= locks
    for findings in (_history_findings(tmp_path, schema, change),
                     _database_findings(tmp_path, change, conninfo)):
        found = {f.code: f for f in findings}
        assert found["DBS125"].location is not None and found["DBS125"].location.line == 3
        assert last(found["DBS125"].subject or "") == "login_log"
        works_on, locked = found["DBS125"].message.split("` while `")
        assert last(works_on.removeprefix("This statement works on `")) == "login_log"
        assert last(locked.split("`")[0]) == "build_job"


def test_a_foreign_key_added_to_a_table_an_earlier_migration_made_is_checked_for_an_index(
        conninfo: str, tmp_path: Path) -> None:
    """DBS117 was silent on every foreign key added to an existing table without a
    database, though an earlier migration built the table and all its indexes (CTFd's
    `teams.bracket_id`, `files.solution_id`). A delete of a team scans `users` for the
    unindexed key; `awards.user_id` has an index, `users.email` a unique constraint."""
    schema = ("CREATE TABLE teams (id int PRIMARY KEY);\n"
              "CREATE TABLE users (id int PRIMARY KEY, email text UNIQUE, team int);\n"
              "CREATE TABLE awards (id int PRIMARY KEY, user_id int);\n"
              "CREATE INDEX ix_awards_user ON awards (user_id);\n"
              "CREATE TABLE old (id int PRIMARY KEY, team_id int);\n"
              "CREATE INDEX ix_old_team ON old (team_id);\n"
              "ALTER TABLE old RENAME COLUMN team_id TO team;\n"
              "ALTER TABLE old RENAME TO kept;\n")
    change = ("ALTER TABLE users ADD COLUMN bracket_id int;\n"
              "ALTER TABLE users ADD FOREIGN KEY (bracket_id) REFERENCES teams (id);\n"
              "ALTER TABLE awards ADD FOREIGN KEY (user_id) REFERENCES users (id);\n"
              "ALTER TABLE users ADD FOREIGN KEY (email) REFERENCES users (email);\n"
              "ALTER TABLE kept ADD FOREIGN KEY (team) REFERENCES teams (id);\n")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(schema + change)
        conn.execute("INSERT INTO teams SELECT i FROM generate_series(1, 200) AS i;"
                     "INSERT INTO users (id, bracket_id) SELECT i, i FROM "
                     "generate_series(1, 200) AS i")
        conn.execute("ANALYZE")
        scans = "SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relname = 'users'"
        with conn.transaction(force_rollback=True):
            conn.execute("UPDATE users SET bracket_id = NULL WHERE id = 200")
            before = conn.execute(scans).fetchone()[0]
            conn.execute("DELETE FROM teams WHERE id = 200")
            after = conn.execute(scans).fetchone()[0]
    assert after == before + 1  # the foreign key's check for the team's users
    found = [(f.code, f.subject) for f in _history_findings(tmp_path, schema, change)
             if f.code == "DBS117"]
    assert found == [("DBS117", "users.bracket_id")]



def test_an_index_a_linted_migration_built_on_a_database_table_covers_a_foreign_key(
        conninfo: str, tmp_path: Path) -> None:
    """With --database-url, DBS117 read a database table's indexes from the database alone,
    as they were before the migrations: an index an earlier linted migration built on it was
    not seen. Found on CKAN linted against a database at 048f7db947bf: 092 indexes
    `resource (package_id)`, 105 adds the foreign key on it and was told it had no index.
    PostgreSQL's delete of a package then uses the index: no scan of `resources`."""
    schema = ("CREATE TABLE packages (id int PRIMARY KEY);\n"
              "CREATE TABLE resources (id int PRIMARY KEY, package_id int, owner_id int);\n")
    index = "CREATE INDEX ix_resources_package ON resources (package_id);\n"
    change = ("ALTER TABLE resources ADD FOREIGN KEY (package_id) REFERENCES packages (id);\n"
              "ALTER TABLE resources ADD FOREIGN KEY (owner_id) REFERENCES packages (id);\n")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(schema)
        with conn.transaction(force_rollback=True):
            conn.execute(index + change)
            conn.execute("INSERT INTO packages SELECT i FROM generate_series(1, 200) AS i;"
                         "INSERT INTO resources SELECT i, i % 199 + 1, NULL FROM "
                         "generate_series(1, 5000) AS i; ANALYZE resources")
            scans = ("SELECT seq_scan, idx_scan FROM pg_stat_xact_user_tables "
                     "WHERE relname = 'resources'")
            before = conn.execute(scans).fetchone()
            conn.execute("DELETE FROM packages WHERE id = 200")  # no resource has it
            after = conn.execute(scans).fetchone()
    assert before is not None and after is not None
    # the checks for the package's resources: by the index for `package_id`, by a scan of
    # `resources` for `owner_id`
    assert (after[0], after[1]) == (before[0] + 1, before[1] + 1)
    findings = _database_migrations_findings(
        tmp_path, conninfo, {"001_index.sql": index, "002_keys.sql": change})
    found = [(f.code, f.subject) for f in findings if f.code == "DBS117"]
    assert found == [("DBS117", "resources.owner_id")]


ASSETS = ("CREATE TABLE entity (id int PRIMARY KEY);\n"
          "CREATE TABLE asset (id int PRIMARY KEY, entity_id int REFERENCES entity (id), "
          "type_id int REFERENCES entity (id), name text, "
          "CONSTRAINT asset_name_uc UNIQUE (type_id, name));\n"
          "CREATE INDEX ix_asset_entity_id ON asset (entity_id);\n"
          "CREATE INDEX ix_asset_entity_id_name ON asset (entity_id, name);\n")


@pytest.mark.parametrize(("change", "flagged"), [
    # the last index on a key's columns, alone or with the other one on them
    ("DROP INDEX ix_asset_entity_id, ix_asset_entity_id_name;\n", [1]),
    ("DROP INDEX ix_asset_entity_id;\nDROP INDEX ix_asset_entity_id_name;\n", [2]),
    # a unique constraint's index (zou's ee2373fbe3a4 drops `asset_instance_name_uc`)
    ("ALTER TABLE asset DROP CONSTRAINT asset_name_uc;\n", [1]),
    # not flagged: another index still covers the key, a new one is built, the key goes
    ("DROP INDEX ix_asset_entity_id;\n", []),
    ("DROP INDEX ix_asset_entity_id, ix_asset_entity_id_name;\n"
     "CREATE INDEX ix_asset_entity ON asset (entity_id, id);\n", []),
    ("DROP INDEX ix_asset_entity_id, ix_asset_entity_id_name;\n"
     "ALTER TABLE asset DROP CONSTRAINT asset_entity_id_fkey;\n", []),
    ("ALTER TABLE asset DROP CONSTRAINT asset_name_uc, DROP COLUMN type_id;\n", []),
    # a key added after the drop, once the index is gone (the history kept it: missed)
    ("DROP INDEX ix_asset_entity_id, ix_asset_entity_id_name;\n"
     "ALTER TABLE asset DROP CONSTRAINT asset_entity_id_fkey;\n"
     "ALTER TABLE asset ADD FOREIGN KEY (entity_id) REFERENCES entity (id);\n", [3]),
    # ... and after an index of the same name is built on other columns
    ("DROP INDEX ix_asset_entity_id, ix_asset_entity_id_name;\n"
     "CREATE INDEX ix_asset_entity_id ON asset (name);\n"
     "ALTER TABLE asset DROP CONSTRAINT asset_entity_id_fkey;\n"
     "ALTER TABLE asset ADD FOREIGN KEY (entity_id) REFERENCES entity (id);\n", [4]),
    # a primary key built by the same ALTER TABLE (Lemmy's 2023-10-24-030352 replaces each
    # table's `id` and unique constraint so), on the key's columns or not
    ("ALTER TABLE asset DROP COLUMN id, ADD PRIMARY KEY (type_id, name), "
     "DROP CONSTRAINT asset_name_uc;\n", []),
    ("ALTER TABLE asset DROP COLUMN id, ADD PRIMARY KEY (name, type_id), "
     "DROP CONSTRAINT asset_name_uc;\n", [1]),
], ids=["both-indexes", "one-by-one", "unique-constraint", "other-index-stays",
        "index-rebuilt", "key-dropped", "column-dropped", "key-added-after",
        "name-reused", "key-rebuilt-by-the-statement", "other-columns-by-the-statement"])
def test_dropping_the_last_index_of_a_foreign_key_is_flagged_where_deletes_then_scan(
        conninfo: str, tmp_path: Path, change: str, flagged: list[int]) -> None:
    """zou's ee2373fbe3a4 drops `ix_asset_instance_entity_id`, `..._entity_type_id` and
    the unique constraint on (entity_id, name): the foreign keys on those columns are left
    with no index, and DBS117 (which looked only where keys are added) said nothing. Each
    delete of an entity then scans `asset` (`pg_stat_xact_user_tables`) where it used an
    index before the change."""
    _judge_dropped_key_indexes(conninfo, tmp_path, ASSETS, change, flagged)


# The same indexes built without a name: PostgreSQL names them asset_entity_id_idx and
# asset_entity_id_name_idx, and a DROP INDEX by those names went unseen (no DBS117)
UNNAMED_ASSETS = ASSETS.replace("CREATE INDEX ix_asset_entity_id ON", "CREATE INDEX ON") \
    .replace("CREATE INDEX ix_asset_entity_id_name ON", "CREATE INDEX ON")


@pytest.mark.parametrize(("change", "flagged"), [
    ("DROP INDEX asset_entity_id_idx, asset_entity_id_name_idx;\n", [1]),
    ("DROP INDEX asset_entity_id_idx;\n", []),
], ids=["both-indexes", "other-index-stays"])
def test_dropping_the_last_unnamed_index_of_a_foreign_key_by_its_name_is_flagged(
        conninfo: str, tmp_path: Path, change: str, flagged: list[int]) -> None:
    _judge_dropped_key_indexes(conninfo, tmp_path, UNNAMED_ASSETS, change, flagged)


def _judge_dropped_key_indexes(conninfo: str, tmp_path: Path, schema: str, change: str,
                               flagged: list[int]) -> None:
    """Does a delete of an entity scan `asset` after `change` (on `schema`, with rows)
    where it used an index before, exactly where DBS117 flags `change`'s lines?"""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(schema)
        conn.execute("INSERT INTO entity SELECT i FROM generate_series(1, 310) AS i;"
                     "INSERT INTO asset SELECT i, i % 299 + 1, i % 299 + 1, 'n' || i "
                     "FROM generate_series(1, 5000) AS i; ANALYZE")
        scans = "SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relname = 'asset'"
        with conn.transaction(force_rollback=True):
            before = conn.execute(scans).fetchone()
            conn.execute("DELETE FROM entity WHERE id = 301")  # no asset has it
            unchanged = conn.execute(scans).fetchone()
            conn.execute(change)
            built = conn.execute(scans).fetchone()  # (CREATE INDEX scans the table)
            conn.execute("DELETE FROM entity WHERE id = 302")
            after = conn.execute(scans).fetchone()
    assert before is not None and unchanged is not None and built is not None
    assert after is not None
    assert unchanged[0] == before[0]  # both keys used an index
    assert (after[0] > built[0]) == bool(flagged)
    for findings in (_history_findings(tmp_path, schema, change),
                     _database_findings(tmp_path, change, conninfo)):
        assert [f.location.line for f in findings
                if f.code == "DBS117" and f.location is not None] == flagged


GONE_SCHEMA = ("CREATE TABLE t (a int, b int, CONSTRAINT t_b_key UNIQUE (b));\n"
               "CREATE UNIQUE INDEX j ON t (a, b);\n")


def _last_statement_locks(conninfo: str, schema: str, change: str) -> set[tuple[Any, ...]]:
    """The relation locks the last line of `change` takes, its earlier lines run before it
    in the same transaction (rolled back) on `schema`."""
    *earlier, last_statement = [line for line in change.splitlines() if line]
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(schema)
        locks = ("SELECT relation, mode FROM pg_locks WHERE pid = pg_backend_pid() "
                 "AND locktype = 'relation'")
        with conn.transaction(force_rollback=True):
            for statement in earlier:
                conn.execute(statement)
            before = set(conn.execute(locks).fetchall())
            conn.execute(last_statement)
            return set(conn.execute(locks).fetchall()) - before


@pytest.mark.parametrize(("change", "flagged"), [
    # the index of a unique constraint goes with it (Marquez's V43 and V45)
    ("ALTER TABLE t DROP CONSTRAINT t_b_key;\nDROP INDEX IF EXISTS t_b_key;\n", False),
    # USING INDEX renames the index to the constraint's name (Marquez's V43, then V45)
    ("ALTER TABLE t ADD CONSTRAINT t_ab UNIQUE USING INDEX j;\nDROP INDEX IF EXISTS j;\n",
     False),
    ("DROP INDEX j;\nDROP INDEX IF EXISTS j;\n", False),
    ("SELECT 1;\nDROP INDEX IF EXISTS j;\n", True),  # it is there: dropped, `t` locked
], ids=["constraint-dropped", "renamed-by-using-index", "dropped-before", "still-there"])
def test_drop_index_if_exists_of_an_index_already_gone_locks_nothing(
        conninfo: str, tmp_path: Path, change: str, flagged: bool) -> None:
    """`DROP INDEX IF EXISTS` of an index an earlier statement removed is skipped with a
    notice: PostgreSQL takes no lock for it (pg_locks unchanged), so it is no DBS103 and no
    work for DBS114, where lint took it for a drop of an index of unknown table."""
    assert bool(_last_statement_locks(conninfo, GONE_SCHEMA, change)) == flagged
    for findings in (_history_findings(tmp_path, GONE_SCHEMA, "SELECT 1;\n" + change),
                     _database_findings(tmp_path, "SELECT 1;\n" + change, conninfo)):
        assert [f.code for f in findings if f.location is not None and f.location.line == 3
                and f.code in ("DBS103", "DBS114")] == (["DBS103"] if flagged else [])


APP_SCHEMA = ("CREATE SCHEMA app;\nCREATE TABLE app.x (id int);\nCREATE TABLE app.y (id int);\n"
              "INSERT INTO app.y VALUES (1);\n")


@pytest.mark.parametrize(("extra", "change", "flagged"), [
    # graphile/starter's migrations start over: the schema with CASCADE, then its tables
    ("", "DROP SCHEMA app CASCADE;\nDROP TABLE IF EXISTS app.x;\n", False),
    ("", "DROP SCHEMA app CASCADE;\nCREATE SCHEMA app;\nDROP TABLE IF EXISTS app.x;\n", False),
    # ... made again by an earlier migration: dropped for real
    ("DROP SCHEMA app CASCADE;\nCREATE SCHEMA app;\nCREATE TABLE app.x (id int);\n",
     "DROP TABLE IF EXISTS app.x;\n", True),
    ("", "DROP TABLE app.y;\nDROP TABLE IF EXISTS app.y;\n", False),
    ("", "DROP TABLE app.y;\nDROP TABLE IF EXISTS app.x;\n", True),
], ids=["schema-dropped", "schema-made-again-empty", "table-made-again", "table-dropped",
        "another-table"])
def test_drop_table_if_exists_of_a_table_already_gone_drops_and_locks_nothing(
        conninfo: str, tmp_path: Path, extra: str, change: str, flagged: bool) -> None:
    """`DROP TABLE IF EXISTS` of a table an earlier statement removed (itself, or its
    schema with CASCADE) is skipped with a notice: nothing is lost and PostgreSQL takes no
    lock (pg_locks unchanged), so it is no DBS201 and no DBS115."""
    line = change.count("\n") + 1  # after the leading SELECT 1
    assert bool(_last_statement_locks(conninfo, APP_SCHEMA + extra, change)) == flagged
    for findings in (_history_findings(tmp_path, APP_SCHEMA + extra, "SELECT 1;\n" + change),
                     _database_findings(tmp_path, "SELECT 1;\n" + change, conninfo)):
        codes = {f.code for f in findings if f.location is not None
                 and f.location.line == line and f.code in ("DBS201", "DBS115")}
        # (DBS115 is said once per migration, at its first lock: maybe an earlier one)
        assert ("DBS201" in codes) if flagged else not codes, findings


def test_a_lock_on_an_index_of_unknown_table_is_said_of_its_table(
        conninfo: str, tmp_path: Path) -> None:
    """DROP INDEX takes ACCESS EXCLUSIVE on the index's table too (pg_locks), and queries
    queue on the table: DBS115 on an index neither the history nor the database knows
    (conductor's V3 drops `workflow_corr_id_index`, which no migration made) said "every
    query on `workflow_corr_id_index`", as if the index were a table."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("CREATE TABLE workflow (correlation_id text);\n"
                     "CREATE INDEX workflow_corr_id_index ON workflow (correlation_id);\n")
        with conn.transaction(force_rollback=True):
            conn.execute("DROP INDEX workflow_corr_id_index")
            assert conn.execute(
                "SELECT mode FROM pg_locks WHERE pid = pg_backend_pid() AND relation = "
                "'workflow'::regclass").fetchall() == [("AccessExclusiveLock",)]
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "V3__correlation_id_index.sql").write_text(
        "DROP INDEX IF EXISTS workflow_corr_id_index;\n")
    [finding] = commands.lint(Settings(project_root=tmp_path, select=("DBS115",)),
                              [folder]).findings
    assert finding.message.startswith(
        "ACCESS EXCLUSIVE lock on the table of index `workflow_corr_id_index` is requested "
        "without `lock_timeout` and `statement_timeout` set; while it waits, every query on "
        "the table of index `workflow_corr_id_index` queues behind it"), finding.message



QUEUE_SCHEMA = ("CREATE TABLE queue_message (id serial, queue_name text, message_id text);\n"
                "INSERT INTO queue_message (queue_name, message_id) "
                "SELECT 'q', g::text FROM generate_series(1, 100) AS g;\n")


@pytest.mark.parametrize(("extra", "change", "flagged"), [
    # conductor's V5 drops queue_message.id, its V6 drops it again IF EXISTS
    ("ALTER TABLE queue_message DROP COLUMN IF EXISTS id;\n",
     "ALTER TABLE queue_message DROP COLUMN IF EXISTS id;\n", False),
    ("ALTER TABLE queue_message DROP COLUMN id;\nALTER TABLE queue_message RENAME TO qm;\n",
     "ALTER TABLE qm DROP COLUMN IF EXISTS id;\n", False),
    ("", "ALTER TABLE queue_message DROP COLUMN id;\n"
     "ALTER TABLE queue_message DROP COLUMN IF EXISTS id;\n", False),
    # ... added again, or another column renamed to its name: dropped for real
    ("ALTER TABLE queue_message DROP COLUMN id;\nALTER TABLE queue_message ADD COLUMN id int;\n",
     "ALTER TABLE queue_message DROP COLUMN IF EXISTS id;\n", True),
    ("ALTER TABLE queue_message DROP COLUMN id;\n"
     "ALTER TABLE queue_message RENAME COLUMN message_id TO id;\n",
     "ALTER TABLE queue_message DROP COLUMN IF EXISTS id;\n", True),
    ("", "ALTER TABLE queue_message DROP COLUMN IF EXISTS id;\n", True),
], ids=["dropped-before", "dropped-then-table-renamed", "dropped-earlier-here",
        "added-again", "renamed-to-it", "still-there"])
def test_drop_column_if_exists_of_a_column_already_gone_loses_nothing(
        conninfo: str, tmp_path: Path, extra: str, change: str, flagged: bool) -> None:
    """`DROP COLUMN IF EXISTS` of a column an earlier migration dropped is skipped with a
    notice: no column is dropped (pg_attribute gains no dropped column), though the ALTER
    TABLE still takes ACCESS EXCLUSIVE, so it is no DBS202 (conductor's V6__update_pk.sql)."""
    table = change.splitlines()[-1].split()[2]
    dropped = (f"SELECT count(*) FROM pg_attribute WHERE attrelid = '{table}'::regclass "
               "AND attisdropped")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(QUEUE_SCHEMA + extra)
        with conn.transaction(force_rollback=True):
            *earlier, last_statement = change.splitlines()
            for statement in earlier:
                conn.execute(statement)
            before = conn.execute(dropped).fetchone()
            conn.execute(last_statement)
            assert (conn.execute(dropped).fetchone() != before) == flagged
            assert conn.execute(
                "SELECT mode FROM pg_locks WHERE pid = pg_backend_pid() AND relation = "
                f"'{table}'::regclass").fetchall() == [("AccessExclusiveLock",)]
    line = change.count("\n")
    for findings in (_history_findings(tmp_path, QUEUE_SCHEMA + extra, change),
                     _database_findings(tmp_path, change, conninfo)):
        assert [f.code for f in findings if f.location is not None
                and f.location.line == line and f.code == "DBS202"] == \
            (["DBS202"] if flagged else []), findings


def test_drop_column_if_exists_of_a_column_the_database_lacks_loses_nothing(
        conninfo: str, tmp_path: Path) -> None:
    """With the database known (`--database-url`), `DROP COLUMN IF EXISTS` of a column its
    table does not have drops nothing either (pg_attribute unchanged)."""
    change = "ALTER TABLE queue_message DROP COLUMN IF EXISTS popped;\n"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(QUEUE_SCHEMA)
        attributes = ("SELECT count(*) FROM pg_attribute "
                      "WHERE attrelid = 'queue_message'::regclass")
        before = conn.execute(attributes).fetchone()
        with conn.transaction(force_rollback=True):
            conn.execute(change)
            assert conn.execute(attributes).fetchone() == before
    findings = _database_findings(tmp_path, change, conninfo)
    assert [f.code for f in findings if f.code == "DBS202"] == [], findings


ENTITIES = "CREATE TABLE entity (id int PRIMARY KEY);\n"
HOLDERS = ("CREATE TABLE holder (id int PRIMARY KEY, entity_id int REFERENCES entity (id), "
           "deleted_at timestamptz, name text);\n")
# Indexes on the key's column, by whether a delete of an entity can use them to find its
# holders (held against pg_stat_xact_user_tables below).
SERVING = {
    "full": ("CREATE INDEX ix_full ON holder (entity_id);", True),
    "partial": ("CREATE INDEX ix_partial ON holder (entity_id) WHERE deleted_at IS NULL;",
                False),
    "not-null": ("CREATE INDEX ix_not_null ON holder (entity_id) "
                 "WHERE entity_id IS NOT NULL;", True),
    # svix's `(app_id, uid) WHERE uid IS NOT NULL`: a lookup of the key alone does not
    # imply the later column is not null
    "later-column-not-null": ("CREATE INDEX ix_named ON holder (entity_id, name) "
                              "WHERE name IS NOT NULL;", False),
    "column-not-indexed": ("CREATE INDEX ix_has_name ON holder (entity_id) "
                           "WHERE name IS NOT NULL;", False),
    "expression": ("CREATE INDEX ix_expression ON holder ((entity_id + 0));", False),
    "expression-after": ("CREATE INDEX ix_leading ON holder (entity_id, lower(name));", True),
    "parenthesised-column": ("CREATE INDEX ix_parens ON holder ((entity_id));", True),
}


def _deletes_scan(conn: psycopg.Connection[Any], holder: str = "holder",
                  entity: str = "entity") -> bool:
    """Do deletes of entities scan `holder` (a name as the session resolves it) for the
    key's rows (rolled back)?"""
    scans = f"SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relid = '{holder}'::regclass"
    with conn.transaction(force_rollback=True):
        before = conn.execute(scans).fetchone()
        for entity_id in range(301, 306):  # no holder has them
            conn.execute(f"DELETE FROM {entity} WHERE id = %s", (entity_id,))
        after = conn.execute(scans).fetchone()
    assert before is not None and after is not None
    return bool(after[0] - before[0])


def _fill(conn: psycopg.Connection[Any]) -> None:
    conn.execute("INSERT INTO entity SELECT i FROM generate_series(1, 310) AS i;"
                 "INSERT INTO holder SELECT i, i % 299 + 1, NULL, 'n' || i "
                 "FROM generate_series(1, 5000) AS i; ANALYZE")


@pytest.mark.parametrize("index", list(SERVING))
def test_a_foreign_key_is_covered_only_by_an_index_its_lookups_can_use(
        conninfo: str, tmp_path: Path, index: str) -> None:
    """DBS117 on a key created with an index: a partial index (unless its WHERE only says
    the key is not null, which every lookup of the key implies) and an index whose first
    key is an expression do not serve the lookups a delete of an entity makes; a
    parenthesised column is a plain column to PostgreSQL."""
    sql, serves = SERVING[index]
    change = HOLDERS + sql + "\n"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(ENTITIES + change)
        _fill(conn)
        assert _deletes_scan(conn) != serves
    for findings in (_history_findings(tmp_path, ENTITIES, change),
                     _database_findings(tmp_path, change, conninfo)):
        assert [f.subject for f in findings if f.code == "DBS117"] == \
            ([] if serves else ["holder.entity_id"])


@pytest.mark.parametrize("index", list(SERVING))
@pytest.mark.parametrize("other", ["partial", "expression", None])
def test_dropping_an_index_is_flagged_only_when_deletes_scan_after_and_not_before(
        conninfo: str, tmp_path: Path, index: str, other: str | None) -> None:
    """DBS117 on DROP INDEX: flagged when the index served the key's lookups and no index
    left does -- a partial or an expression index beside it does not; dropping one that
    never served them changes nothing."""
    schema = ENTITIES + HOLDERS + SERVING[index][0] + "\n" + (
        SERVING[other][0] + "\n" if other is not None and other != index else "")
    name = SERVING[index][0].split()[2]
    change = f"DROP INDEX {name};\n"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(schema)
        _fill(conn)
        scanned_before = _deletes_scan(conn)
        with conn.transaction(force_rollback=True):  # (the database is linted below)
            conn.execute(change)
            scanned_after = _deletes_scan(conn)
    flagged = scanned_after and not scanned_before
    assert flagged == SERVING[index][1]
    for findings in (_history_findings(tmp_path, schema, change),
                     _database_findings(tmp_path, change, conninfo)):
        assert [f.subject for f in findings if f.code == "DBS117"] == \
            (["holder.entity_id"] if flagged else [])


FOLDERS = "CREATE TABLE folder (tenant_id int, id int, PRIMARY KEY (tenant_id, id));\n"
FILES = "CREATE TABLE file (id int PRIMARY KEY, tenant_id int, folder_id int, name text);\n"
FILE_KEY = ("ALTER TABLE file ADD CONSTRAINT file_folder FOREIGN KEY (tenant_id, folder_id) "
            "REFERENCES folder (tenant_id, id);\n")
# Partial indexes on a two-column key's columns, by whether a delete of a folder can use
# them to find its files: its lookup (`tenant_id = $1 AND folder_id = $2`) implies that
# both are not null, and nothing of any other column.
KEY_SERVING = {
    "later-column-not-null": ("CREATE INDEX ix_folder ON file (tenant_id, folder_id) "
                              "WHERE folder_id IS NOT NULL;", True),
    "other-order": ("CREATE INDEX ix_other_order ON file (folder_id, tenant_id) "
                    "WHERE tenant_id IS NOT NULL;", True),
    "first-column-not-null": ("CREATE INDEX ix_tenant ON file (tenant_id, folder_id) "
                              "WHERE tenant_id IS NOT NULL;", True),
    "column-after-key": ("CREATE INDEX ix_named ON file (tenant_id, folder_id, name) "
                         "WHERE name IS NOT NULL;", False),
    "column-not-indexed": ("CREATE INDEX ix_has_name ON file (tenant_id, folder_id) "
                           "WHERE name IS NOT NULL;", False),
}


def _fill_folders(conn: psycopg.Connection[Any]) -> None:
    conn.execute("INSERT INTO folder SELECT i % 7, i FROM generate_series(1, 310) AS i;"
                 "INSERT INTO file SELECT i, (i % 299 + 1) % 7, i % 299 + 1, 'n' || i "
                 "FROM generate_series(1, 5000) AS i; ANALYZE")


# the table and the key's later column renamed before the key is added or the index dropped
RENAMES = "ALTER TABLE file RENAME COLUMN folder_id TO dir_id;\nALTER TABLE file RENAME TO doc;\n"
RENAMED_KEY = FILE_KEY.replace("file ", "doc ").replace("folder_id", "dir_id")


@pytest.mark.parametrize("index", list(KEY_SERVING))
@pytest.mark.parametrize("where", ["created-with", "before", "dropped", "renamed-before",
                                   "renamed-dropped"])
def test_a_partial_index_serves_a_composite_key_whose_lookups_imply_its_where(
        conninfo: str, tmp_path: Path, index: str, where: str) -> None:
    """DBS117 on a two-column key: a partial index whose WHERE tests a later column of the
    key is one its lookups use (they imply it), as PostgreSQL 18 does; one testing a
    column after the key, or none of the index's, is not. The index built with the key,
    before it (the history's or the database's index), or dropped; before both, the
    history's table and the column the WHERE tests may be renamed."""
    sql, serves = KEY_SERVING[index]
    drop = f"DROP INDEX {sql.split()[2]};\n"
    schema, change = {
        "created-with": (FOLDERS + FILES, FILE_KEY + sql + "\n"),
        "before": (FOLDERS + FILES + sql + "\n", FILE_KEY),
        "dropped": (FOLDERS + FILES + FILE_KEY + sql + "\n", drop),
        "renamed-before": (FOLDERS + FILES + sql + "\n", RENAMES + RENAMED_KEY),
        "renamed-dropped": (FOLDERS + FILES + FILE_KEY + sql + "\n", RENAMES + drop),
    }[where]
    table = "doc" if where.startswith("renamed") else "file"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(schema)
        _fill_folders(conn)
        scanned_before = _deletes_scan(conn, "file", "folder")
        with conn.transaction(force_rollback=True):  # (the database is linted below)
            conn.execute(change)
            scanned_after = _deletes_scan(conn, table, "folder")
    flagged = scanned_after and not scanned_before
    # a key is flagged where it is added; a dropped index when it served the key
    assert flagged == (serves if where.endswith("dropped") else not serves)
    # (with the database's table renamed, lint follows its indexes to the new names)
    for findings in (_history_findings(tmp_path, schema, change),
                     _database_findings(tmp_path, change, conninfo)):
        assert [f.subject for f in findings if f.code == "DBS117"] == \
            ([table] if flagged else []), findings


# A table of the database renamed, or its key column, before a foreign key is added on it:
# (change, whether the index `HOLDERS` gets covers the key).
RENAMED_HOLDERS = {
    "table-indexed": ("ALTER TABLE holder RENAME TO keeper;\n"
                      "ALTER TABLE keeper ADD FOREIGN KEY (entity_id) REFERENCES entity (id);\n",
                      "CREATE INDEX ix_entity ON holder (entity_id);\n"),
    "table-not-indexed": ("ALTER TABLE holder RENAME TO keeper;\n"
                          "ALTER TABLE keeper ADD FOREIGN KEY (entity_id) "
                          "REFERENCES entity (id);\n",
                          "CREATE INDEX ix_name ON holder (name);\n"),
    # the column renamed, its index partial on it (its WHERE renamed with it)
    "column-indexed": ("ALTER TABLE holder RENAME COLUMN entity_id TO owner_id;\n"
                       "ALTER TABLE holder ADD FOREIGN KEY (owner_id) REFERENCES entity (id);\n",
                       "CREATE INDEX ix_entity ON holder (entity_id) "
                       "WHERE entity_id IS NOT NULL;\n"),
    # a new column under the indexed one's old name: the index is the renamed one's
    "column-not-indexed": ("ALTER TABLE holder RENAME COLUMN entity_id TO owner_id;\n"
                           "ALTER TABLE holder ADD COLUMN entity_id int;\n"
                           "ALTER TABLE holder ADD FOREIGN KEY (entity_id) "
                           "REFERENCES entity (id);\n",
                           "CREATE INDEX ix_entity ON holder (entity_id);\n"),
    # both, and the table renamed twice
    "both-indexed": ("ALTER TABLE holder RENAME COLUMN entity_id TO owner_id;\n"
                     "ALTER TABLE holder RENAME TO keeper;\n"
                     "ALTER TABLE keeper RENAME TO owner;\n"
                     "ALTER TABLE owner ADD FOREIGN KEY (owner_id) REFERENCES entity (id);\n",
                     "CREATE INDEX ix_entity ON holder (entity_id, name);\n"),
}


@pytest.mark.parametrize("case", list(RENAMED_HOLDERS))
def test_a_foreign_key_on_a_database_table_renamed_is_judged_by_its_indexes(
        conninfo: str, tmp_path: Path, case: str) -> None:
    """With --database-url, a table the migration renamed was unknown under its new name:
    DBS117 said nothing of a key added on it, though each delete of an entity scans it. And
    a column renamed was looked for under its old name in the database's indexes: a key on
    the new name was flagged though its index serves it (and one on a column now named as
    the indexed one used to be was not). Each delete of an entity scans the table
    (`pg_stat_xact_user_tables`) exactly where lint flags the key."""
    change, index = RENAMED_HOLDERS[case]
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(ENTITIES + HOLDERS + index)
        _fill(conn)
        with conn.transaction(force_rollback=True):  # (the database is linted below)
            conn.execute(change)
            scans = _deletes_scan(conn, _renamed_table(change))
    assert scans == case.endswith("not-indexed")
    findings = _database_findings(tmp_path, change, conninfo)
    assert [f.code for f in findings if f.code == "DBS117"] == (["DBS117"] if scans else [])


def _renamed_table(change: str) -> str:
    """The table the last statement of `change` adds its key on."""
    return change.splitlines()[-1].split()[2]


def test_a_table_made_under_the_name_of_one_renamed_away_has_none_of_its_indexes(
        conninfo: str, tmp_path: Path) -> None:
    """A table the migrations made under the name of a database's table they renamed away
    is a new one: the database's indexes of that name are the old table's. DBS117 counted
    them for a key a later migration added to the new table (a silent pass); each delete
    of an entity scans it."""
    schema = ENTITIES + HOLDERS + "CREATE INDEX ix_entity ON holder (entity_id);\n"
    change = ("ALTER TABLE holder RENAME TO holder_old;\n"
              "CREATE TABLE holder (id int PRIMARY KEY, entity_id int);\n")
    later = "ALTER TABLE holder ADD FOREIGN KEY (entity_id) REFERENCES entity (id);\n"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(schema)
        with conn.transaction(force_rollback=True):
            conn.execute(change + later)
            conn.execute("INSERT INTO entity SELECT i FROM generate_series(1, 310) AS i;"
                         "INSERT INTO holder SELECT i, i % 299 + 1 "
                         "FROM generate_series(1, 5000) AS i; ANALYZE holder")
            assert _deletes_scan(conn)
    findings = _database_migrations_findings(
        tmp_path, conninfo, {"002.sql": change, "003.sql": later})
    assert [(f.code, f.subject, f.location and f.location.path[-7:])
            for f in findings if f.code == "DBS117"] == \
        [("DBS117", "holder.entity_id", "003.sql")]


NEW_HOLDER = "CREATE TABLE holder (id int PRIMARY KEY, entity_id int);\n"
MOVED = "CREATE SCHEMA archive;\nALTER TABLE holder SET SCHEMA archive;\n"
# A database table the migration drops (or the schema it lies in) and makes again, or
# moves to another schema, before a later one adds a foreign key on it: (the schema the
# database's table lies in, the change, the table the key is added on, the database's index).
GONE_OR_MOVED = {
    "dropped": ("public", "DROP TABLE holder;\n" + NEW_HOLDER, "holder", "entity_id"),
    "dropped-cascade": ("public", "DROP TABLE holder CASCADE;\n" + NEW_HOLDER, "holder",
                        "entity_id"),
    "schema-dropped": ("app", "DROP SCHEMA app CASCADE;\nCREATE SCHEMA app;\n"
                       + NEW_HOLDER.replace("holder", "app.holder"), "app.holder", "entity_id"),
    "moved-indexed": ("public", MOVED, "archive.holder", "entity_id"),
    "moved-not-indexed": ("public", MOVED, "archive.holder", "name"),
    # the old name made again in the schema the table left: the new table has no index
    "moved-away": ("public", MOVED + NEW_HOLDER, "public.holder", "entity_id"),
}


@pytest.mark.parametrize("case", list(GONE_OR_MOVED))
def test_a_foreign_key_on_a_database_table_dropped_or_moved_is_judged_by_its_indexes(
        conninfo: str, tmp_path: Path, case: str) -> None:
    """With --database-url, a database's table the migrations dropped (DROP TABLE, with
    CASCADE, or DROP SCHEMA ... CASCADE) still answered for a table they made again under
    its name: its index on the key's column counted for a key a later migration added to
    the new table (a silent pass). A table moved by SET SCHEMA was unknown in its new
    schema (a key added there was not checked) and still answered in the one it left.
    Each delete of an entity scans the table (`pg_stat_xact_user_tables`) exactly where
    lint flags the key."""
    schema, change, table, indexed = GONE_OR_MOVED[case]
    database = (ENTITIES + f"CREATE SCHEMA IF NOT EXISTS {schema};\n"
                + HOLDERS.replace("TABLE holder", f"TABLE {schema}.holder")
                + f"CREATE INDEX ix_{indexed} ON {schema}.holder ({indexed});\n")
    later = f"ALTER TABLE {table} ADD FOREIGN KEY (entity_id) REFERENCES entity (id);\n"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(database)
        with conn.transaction(force_rollback=True):  # (the database is linted below)
            conn.execute(change + later)
            conn.execute("INSERT INTO entity SELECT i FROM generate_series(1, 310) AS i;"
                         f"INSERT INTO {table} (id, entity_id) SELECT i, i % 299 + 1 "
                         "FROM generate_series(1, 5000) AS i; ANALYZE")
            scans = _deletes_scan(conn, table)
    assert scans == (case != "moved-indexed")
    findings = _database_migrations_findings(
        tmp_path, conninfo, {"002.sql": change, "003.sql": later})
    assert [(f.subject, f.location and f.location.path[-7:])
            for f in findings if f.code == "DBS117"] == \
        ([(f"{table}.entity_id", "003.sql")] if scans else [])


def test_an_invalid_index_of_the_database_covers_no_foreign_key(
        conninfo: str, tmp_path: Path) -> None:
    """A failed CREATE INDEX CONCURRENTLY leaves an INVALID index the planner never uses:
    dropping the valid one beside it leaves the key's lookups to scan."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(ENTITIES + HOLDERS + SERVING["full"][0])
        _fill(conn)
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("CREATE UNIQUE INDEX CONCURRENTLY ix_failed ON holder (entity_id)")
        with conn.transaction(force_rollback=True):
            conn.execute("DROP INDEX ix_full")
            assert _deletes_scan(conn)
    found = _database_findings(tmp_path, "DROP INDEX ix_full;\n", conninfo)
    assert [f.subject for f in found if f.code == "DBS117"] == ["holder.entity_id"]


TEAMS = ("CREATE TABLE teams (id int PRIMARY KEY, name text);\n"
         "CREATE TABLE users (id int PRIMARY KEY, parent int REFERENCES users (id));\n"
         "CREATE TABLE awards (id int PRIMARY KEY, team_id int REFERENCES teams (id), "
         "user_id int, CONSTRAINT awards_user FOREIGN KEY (user_id) REFERENCES users (id));\n")


@pytest.mark.parametrize("change", [
    "ALTER TABLE awards DROP CONSTRAINT awards_team_id_fkey",  # PostgreSQL's name for it
    "ALTER TABLE awards DROP CONSTRAINT IF EXISTS awards_user",
    "ALTER TABLE awards DROP COLUMN team_id",
    "DROP TABLE awards",
    # CASCADE: the other tables' keys to the dropped one go, from those tables
    "DROP TABLE teams CASCADE",
    "DROP TABLE users CASCADE",
    # not on the referenced table: a key to the table itself, a key that is no foreign key
    "ALTER TABLE users DROP CONSTRAINT users_parent_fkey",
    "ALTER TABLE awards DROP CONSTRAINT awards_pkey",
    "ALTER TABLE awards DROP COLUMN id",
])
def test_a_dropped_foreign_key_locks_the_table_it_references_where_lint_says(
        conninfo: str, tmp_path: Path, change: str) -> None:
    """Dropping a foreign key (by name, with its column or with its table) takes ACCESS
    EXCLUSIVE on the table it references too, to remove the triggers there. Lint predicted
    only the lock on the table the statement names."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(TEAMS)
        tables = dict(conn.execute("SELECT oid, relname FROM pg_class WHERE relkind = 'r' "
                                   "AND relnamespace = 'public'::regnamespace").fetchall())
        with conn.transaction(force_rollback=True):
            conn.execute(change)
            # (by oid: a dropped table's pg_class row is gone)
            taken = {tables[r[0]] for r in conn.execute(
                "SELECT relation FROM pg_locks WHERE pid = pg_backend_pid() "
                "AND mode = 'AccessExclusiveLock'").fetchall() if r[0] in tables}
    for rows in _lock_rows(tmp_path, TEAMS, change, conninfo):
        predicted = {_unqualified(row.relation) for row in rows
                     if row.location.path.endswith("002_change.sql")
                     and row.mode == "ACCESS EXCLUSIVE"}
        assert predicted == taken


def test_writes_to_a_table_whose_foreign_key_trigger_is_dropped_wait_where_lint_says(
        conninfo: str, tmp_path: Path) -> None:
    """CTFd b295b033364d: a foreign key dropped and added again, then work on the table it
    references. DBS125 said `teams` was SHARE ROW EXCLUSIVE locked (from the ADD); PostgreSQL
    had it ACCESS EXCLUSIVE locked since the DROP: reads wait too (DBS114, at the UPDATE)."""
    change = ("BEGIN;\nALTER TABLE awards DROP CONSTRAINT awards_team_id_fkey;\n"
              "ALTER TABLE awards ADD CONSTRAINT awards_team_id_fkey FOREIGN KEY (team_id) "
              "REFERENCES teams (id) NOT VALID;\n"
              "UPDATE teams SET name = 'x';\nCOMMIT;\n")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(TEAMS)
    with psycopg.connect(conninfo) as migrating, \
            psycopg.connect(conninfo, autocommit=True) as reader:
        migrating.execute(change.split("\n", 1)[1].rsplit("UPDATE", 1)[0])
        reader.execute("SET lock_timeout = '200ms'")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            reader.execute("SELECT count(*) FROM teams")
        migrating.rollback()
    for found in (_history_findings(tmp_path, TEAMS, change),
                  _database_findings(tmp_path, change, conninfo)):
        codes = {(f.code, f.location.line if f.location else 0) for f in found
                 if f.code in ("DBS114", "DBS125")}
        assert codes == {("DBS114", 4)}


FAMILY = ("CREATE TABLE parents (id int PRIMARY KEY, code int UNIQUE, name text);\n"
          "CREATE TABLE kids (id int PRIMARY KEY, parent_id int REFERENCES parents (id), "
          "parent_code int REFERENCES parents (code), note text);\n"
          "CREATE TABLE pets (id int PRIMARY KEY, owner int, up int REFERENCES pets, "
          "CONSTRAINT pets_owner FOREIGN KEY (owner) REFERENCES parents);\n")
# keys resting on unique indexes and constraints that INCLUDE a column (`bands`' on the
# older of two indexes, not the one that INCLUDEs `extra`)
INCLUDED = ("CREATE TABLE plans (id int, label text);\n"
            "CREATE UNIQUE INDEX plans_id_label ON plans (id) INCLUDE (label);\n"
            "CREATE TABLE subs (plan_id int REFERENCES plans (id));\n"
            "CREATE TABLE coupons (code text, owner text, UNIQUE (code) INCLUDE (owner));\n"
            "CREATE TABLE uses (coupon text REFERENCES coupons (code));\n"
            "CREATE TABLE bands (id int, extra int);\n"
            "CREATE UNIQUE INDEX bands_id ON bands (id);\n"
            "CREATE UNIQUE INDEX bands_id_extra ON bands (id) INCLUDE (extra);\n"
            "CREATE TABLE gigs (band int REFERENCES bands (id));\n")
UNENFORCED = ("CREATE TABLE parents (id int PRIMARY KEY);\n"
              "CREATE TABLE kids (id int PRIMARY KEY, parent_id int, CONSTRAINT kids_parent "
              "FOREIGN KEY (parent_id) REFERENCES parents NOT ENFORCED);\n")


def _write_blocking(modes: Any) -> dict[str, str]:
    """The strongest of (relation, mode) pairs per relation, where it blocks writes."""
    from dbsafe.lint.locks import SHARE, strength

    strongest: dict[str, str] = {}
    for relation, mode in modes:
        if strength(mode) >= strength(SHARE) and (
                relation not in strongest or strength(mode) > strength(strongest[relation])):
            strongest[relation] = mode
    return strongest


@pytest.mark.parametrize(("schema", "change"), [
    # a foreign key's column changes type: the key is dropped and added again
    (FAMILY, "ALTER TABLE kids ALTER COLUMN parent_id TYPE bigint"),
    (FAMILY, "ALTER TABLE kids ALTER COLUMN parent_id TYPE int"),  # even to the same type
    (FAMILY, "ALTER TABLE pets ALTER COLUMN owner TYPE bigint"),
    (FAMILY, "ALTER TABLE kids ALTER COLUMN parent_id TYPE bigint, "
             "ALTER COLUMN parent_code TYPE bigint"),
    (UNENFORCED, "ALTER TABLE kids ALTER COLUMN parent_id TYPE bigint"),  # no triggers
    # a referenced column changes type: the keys to it are dropped and added again
    (FAMILY, "ALTER TABLE parents ALTER COLUMN id TYPE bigint"),
    (FAMILY, "ALTER TABLE parents ALTER COLUMN code TYPE bigint"),
    (UNENFORCED, "ALTER TABLE parents ALTER COLUMN id TYPE bigint"),
    # CASCADE drops the keys resting on a primary key or unique constraint, or a column
    (FAMILY, "ALTER TABLE parents DROP CONSTRAINT parents_pkey CASCADE"),
    (FAMILY, "ALTER TABLE parents DROP CONSTRAINT parents_code_key CASCADE"),
    (FAMILY, "ALTER TABLE parents DROP COLUMN id CASCADE"),
    (FAMILY, "ALTER TABLE parents DROP COLUMN code CASCADE"),
    (UNENFORCED, "ALTER TABLE parents DROP CONSTRAINT parents_pkey CASCADE"),
    # or a column an index or key they rest on INCLUDEs
    (INCLUDED, "ALTER TABLE plans DROP COLUMN label CASCADE"),
    (INCLUDED, "ALTER TABLE coupons DROP COLUMN owner CASCADE"),
    (INCLUDED, "ALTER TABLE bands DROP COLUMN extra CASCADE"),
    (INCLUDED, "ALTER INDEX plans_id_label RENAME TO plans_key;\n"
               "ALTER TABLE plans DROP COLUMN label CASCADE"),
    # followed through renames of the column and the constraint
    (FAMILY, "ALTER TABLE parents RENAME COLUMN id TO pid;\n"
             "ALTER TABLE parents ALTER COLUMN pid TYPE bigint"),
    (FAMILY, "ALTER TABLE parents RENAME CONSTRAINT parents_code_key TO code_key;\n"
             "ALTER TABLE parents DROP CONSTRAINT code_key CASCADE"),
    # ALTER INDEX ... RENAME of a constraint's index renames the constraint too
    (FAMILY, "ALTER INDEX parents_code_key RENAME TO code_key;\n"
             "ALTER TABLE parents DROP CONSTRAINT code_key CASCADE"),
    (FAMILY, "ALTER INDEX parents_pkey RENAME TO pk;\n"
             "ALTER TABLE parents DROP CONSTRAINT pk CASCADE"),
    (FAMILY, "ALTER TABLE parents DROP COLUMN name CASCADE"),  # no key rests on it
    (FAMILY, "ALTER TABLE pets DROP CONSTRAINT pets_pkey CASCADE"),  # only pets' own key
    (FAMILY, "ALTER TABLE parents ALTER COLUMN name TYPE varchar(10)"),
    # no other table: a key to the table itself, a column in no key
    (FAMILY, "ALTER TABLE pets ALTER COLUMN up TYPE bigint"),
    (FAMILY, "ALTER TABLE kids ALTER COLUMN note TYPE varchar(10)"),
], ids=lambda value: {FAMILY: "family", UNENFORCED: "not-enforced",
                      INCLUDED: "included"}.get(value, value))
def test_a_foreign_key_rebuilt_or_dropped_by_cascade_locks_the_other_table_where_lint_says(
        conninfo: str, tmp_path: Path, schema: str, change: str) -> None:
    """A type change of a column in a foreign key, or of a column a foreign key references,
    rebuilds the key, and CASCADE drops the keys resting on what it drops: PostgreSQL takes
    the table at the key's other end too; lint predicted only the table the statement
    names. Every write-blocking
    lock PostgreSQL takes on a table is the one lint predicts for it, in the same mode."""
    from dbsafe.lint.locks import from_pg_locks

    with psycopg.connect(conninfo, autocommit=True) as conn:
        if _needs(schema) > conn.info.server_version:
            pytest.skip(f"needs PostgreSQL {_needs(schema) // 10000}")
        conn.execute(schema)
        tables = dict(conn.execute("SELECT oid, relname FROM pg_class WHERE relkind = 'r' "
                                   "AND relnamespace = 'public'::regnamespace").fetchall())
        with conn.transaction(force_rollback=True):
            conn.execute(change)
            taken = _write_blocking(
                (tables[oid], from_pg_locks(mode)) for oid, mode in conn.execute(
                    "SELECT relation, mode FROM pg_locks WHERE pid = pg_backend_pid() "
                    "AND locktype = 'relation'").fetchall() if oid in tables)
    for rows in _lock_rows(tmp_path, schema, change, conninfo):
        predicted = _write_blocking((_unqualified(row.relation), row.mode) for row in rows
                                    if row.location.path.endswith("002_change.sql"))
        assert predicted == taken


@pytest.mark.parametrize("change", [
    # the keys to a table renamed or moved: PostgreSQL's names of its constraints stay
    "ALTER TABLE parents RENAME TO mothers;\n"
    "ALTER TABLE mothers DROP CONSTRAINT parents_pkey CASCADE",
    "ALTER TABLE parents RENAME TO mothers;\n"
    "ALTER TABLE mothers DROP CONSTRAINT parents_code_key CASCADE",
    "ALTER TABLE parents RENAME TO mothers;\nALTER TABLE mothers ALTER COLUMN id TYPE bigint",
    "ALTER TABLE parents RENAME TO mothers;\nDROP TABLE mothers CASCADE",
    "CREATE SCHEMA archive;\nALTER TABLE parents SET SCHEMA archive;\n"
    "ALTER TABLE archive.parents DROP CONSTRAINT parents_pkey CASCADE",
    # the keys of a table renamed or moved
    "ALTER TABLE kids RENAME TO young;\nALTER TABLE young DROP CONSTRAINT kids_parent_id_fkey",
    "ALTER TABLE kids RENAME TO young;\nALTER TABLE young ALTER COLUMN parent_id TYPE bigint",
    "ALTER TABLE kids RENAME TO young;\nALTER TABLE young DROP COLUMN parent_code",
    "ALTER TABLE kids RENAME TO young;\nDROP TABLE young",
    "CREATE SCHEMA archive;\nALTER TABLE kids SET SCHEMA archive;\n"
    "ALTER TABLE archive.kids DROP CONSTRAINT kids_parent_id_fkey",
    # both ends renamed
    "ALTER TABLE parents RENAME TO mothers;\nALTER TABLE kids RENAME TO young;\n"
    "ALTER TABLE young DROP CONSTRAINT kids_parent_id_fkey",
])
def test_the_keys_of_a_table_renamed_lock_where_lint_says(conninfo: str, tmp_path: Path,
                                                          change: str) -> None:
    """A table renamed (or moved by SET SCHEMA) keeps its foreign keys, primary key and
    unique constraints: what the last statement does to them locks the table at the other
    end as before the rename. With the database's schema, lint lost the keys of the table
    at the rename (the history's were followed) and predicted no lock there."""
    from dbsafe.lint.locks import from_pg_locks

    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(FAMILY)
        with conn.transaction(force_rollback=True):
            conn.execute(change)
            # by the names the tables have after the change
            taken = _write_blocking(
                (name, from_pg_locks(mode)) for name, mode in conn.execute(
                    "SELECT c.relname, l.mode FROM pg_locks l JOIN pg_class c "
                    "ON c.oid = l.relation WHERE l.pid = pg_backend_pid() "
                    "AND l.locktype = 'relation' AND c.relkind = 'r' "
                    "AND c.relnamespace <> 'pg_catalog'::regnamespace").fetchall())
        dropped = "DROP TABLE" in change  # (its pg_class row is gone with the table)
    last_line = change.count("\n") + 1
    for seed, rows in zip(("history", "database"), _lock_rows(tmp_path, FAMILY, change,
                                                              conninfo)):
        predicted = _write_blocking((last(row.relation or ""), row.mode) for row in rows
                                    if row.location.path.endswith("002_change.sql")
                                    and row.location.line == last_line)
        if dropped:
            predicted = {k: v for k, v in predicted.items() if k not in ("mothers", "young")}
        assert predicted == taken, seed


# `toys` gets its key in the change; `other.pets` has one to another schema's table
KEYS_TO = ("CREATE TABLE parents (id int PRIMARY KEY);\n"
           "CREATE TABLE kids (id int PRIMARY KEY, parent_id int REFERENCES parents);\n"
           "CREATE TABLE toys (id int PRIMARY KEY, kid int);\n"
           "CREATE SCHEMA other;\n"
           "CREATE TABLE other.owners (id int PRIMARY KEY);\n"
           "CREATE TABLE other.pets (id int PRIMARY KEY, "
           "owner int REFERENCES other.owners, parent_id int REFERENCES public.parents);\n")
# Two schemas with a `parents` and a `kids` each, keyed within their schema (task 537)
TWO_SCHEMAS = ("CREATE TABLE parents (id int PRIMARY KEY);\n"
               "CREATE TABLE kids (id int PRIMARY KEY, parent_id int REFERENCES parents);\n"
               "CREATE TABLE toys (id int PRIMARY KEY, kid int);\n"
               "CREATE SCHEMA other;\n"
               "CREATE TABLE other.parents (id int PRIMARY KEY);\n"
               "CREATE TABLE other.kids (id int PRIMARY KEY, "
               "parent_id int REFERENCES other.parents);\n"
               "CREATE TABLE other.pets (id int PRIMARY KEY, "
               "parent_id int REFERENCES other.parents);\n"
               "ALTER TABLE kids ADD CONSTRAINT kids_other FOREIGN KEY (id) "
               "REFERENCES other.parents;\n")
_UNDER_OTHER = ("SET search_path TO other, public;\n"
                "ALTER TABLE toys ADD CONSTRAINT toys_parent FOREIGN KEY (kid) REFERENCES parents;\n"
                "RESET search_path;\n")


@pytest.mark.parametrize(("schema", "change"), [(KEYS_TO, change) for change in [
    # a key added to a table renamed
    "ALTER TABLE kids RENAME TO young;\n"
    "ALTER TABLE toys ADD CONSTRAINT toys_kid FOREIGN KEY (kid) REFERENCES young;\n"
    "DROP TABLE young CASCADE",
    # a key to a table then renamed; a key of a table then renamed, or moved
    "ALTER TABLE toys ADD CONSTRAINT toys_kid FOREIGN KEY (kid) REFERENCES kids;\n"
    "ALTER TABLE kids RENAME TO young;\nDROP TABLE young CASCADE",
    "ALTER TABLE toys ADD CONSTRAINT toys_kid FOREIGN KEY (kid) REFERENCES kids;\n"
    "ALTER TABLE toys RENAME TO games;\nDROP TABLE kids CASCADE",
    "ALTER TABLE toys ADD CONSTRAINT toys_kid FOREIGN KEY (kid) REFERENCES kids;\n"
    "CREATE SCHEMA archive;\nALTER TABLE toys SET SCHEMA archive;\nDROP TABLE kids CASCADE",
    # the keys of a table dropped go with it; the keys to one dropped too
    "DROP TABLE kids;\nDROP TABLE parents CASCADE",
    "DROP TABLE kids CASCADE;\nCREATE TABLE kids (id int PRIMARY KEY);\n"
    "ALTER TABLE toys ADD CONSTRAINT toys_kid FOREIGN KEY (kid) REFERENCES kids;\n"
    "DROP TABLE parents CASCADE",
    "DROP TABLE kids CASCADE;\nCREATE TABLE kids (id int PRIMARY KEY);\n"
    "ALTER TABLE toys ADD CONSTRAINT toys_kid FOREIGN KEY (kid) REFERENCES kids;\n"
    "DROP TABLE kids CASCADE",
    # keys to a table of another schema, and from one
    "DROP TABLE other.owners CASCADE",
    "DROP TABLE parents CASCADE",
    "ALTER TABLE toys ADD CONSTRAINT toys_owner FOREIGN KEY (kid) REFERENCES other.owners;\n"
    "DROP TABLE other.owners CASCADE",
    "ALTER TABLE other.owners RENAME TO keepers;\n"
    "ALTER TABLE toys ADD CONSTRAINT toys_owner FOREIGN KEY (kid) REFERENCES other.keepers;\n"
    "DROP TABLE other.keepers CASCADE",
]] + [(TWO_SCHEMAS, change) for change in [
    # keys to `other.parents` are not keys to `public.parents`, nor the reverse
    "DROP TABLE other.parents CASCADE",
    "DROP TABLE parents CASCADE",
    "DROP TABLE other.parents CASCADE;\nDROP TABLE parents CASCADE",
    "DROP TABLE parents CASCADE;\nDROP TABLE other.parents CASCADE",
    # `public.kids` holds a key to `other.parents`, `other.kids` dropped with it does not
    "DROP TABLE other.kids, other.parents CASCADE",
    # an unqualified name of a key is the table the search_path found when it was made
    _UNDER_OTHER + "DROP TABLE parents CASCADE",
    _UNDER_OTHER + "DROP TABLE other.parents CASCADE",
    # another schema's table of the name renamed, or moved
    "ALTER TABLE other.kids RENAME TO young;\nDROP TABLE other.parents CASCADE",
    "ALTER TABLE kids RENAME TO young;\nDROP TABLE other.parents CASCADE",
    "ALTER TABLE other.parents RENAME TO elders;\nDROP TABLE parents CASCADE",
    "CREATE SCHEMA archive;\nALTER TABLE other.parents SET SCHEMA archive;\n"
    "DROP TABLE parents CASCADE",
    "CREATE SCHEMA archive;\nALTER TABLE other.parents SET SCHEMA archive;\n"
    "DROP TABLE archive.parents CASCADE",
]])
def test_the_keys_to_a_table_lint_finds_are_those_postgresql_drops(
        conninfo: str, tmp_path: Path, schema: str, change: str) -> None:
    """`DROP TABLE ... CASCADE` drops the table's foreign keys and the other tables' keys
    to it, and locks the tables at their other end ACCESS EXCLUSIVE: lint finds the keys
    to a table by the table they reference (task 527's index, kept as keys are added and
    dropped and tables created, renamed, moved and dropped), whatever their schema, and
    only those to the table of that schema (task 537: `other.parents` and
    `public.parents`, their keys each stored by schema)."""
    *earlier, last_statement = change.split(";\n")
    keys = ("SELECT conname, conrelid::regclass::text, confrelid::regclass::text "
            "FROM pg_constraint WHERE contype = 'f'")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(schema)
        with conn.transaction(force_rollback=True):
            for sql in earlier:
                conn.execute(sql)
            had = set(conn.execute(keys).fetchall())
            tables = {t for t, in conn.execute(
                "SELECT oid::regclass::text FROM pg_class WHERE relkind = 'r' "
                "AND relnamespace NOT IN ('pg_catalog'::regnamespace, "
                "'information_schema'::regnamespace)").fetchall()}
            conn.execute(last_statement)
            gone = had - set(conn.execute(keys).fetchall())
    dropped = {name.strip() for name in last_statement.partition(" TABLE ")[2].rpartition(
        " CASCADE")[0].split(",")}
    # (the tables at either end of each key the statement dropped, but the one it drops;
    # by the names the session gives them, `public`'s unqualified)
    expected = {table for _, of, to in gone for table in (of, to)} - dropped
    assert expected and expected <= tables
    last_line = change.count("\n") + 1
    for seed, rows in zip(("history", "database"), _lock_rows(tmp_path, schema, change,
                                                              conninfo)):
        predicted = {_unqualified(row.relation) for row in rows
                     if row.location.path.endswith("002_change.sql")
                     and row.location.line == last_line and row.mode == "ACCESS EXCLUSIVE"}
        assert predicted - dropped == expected, seed


@pytest.mark.parametrize(("schema", "reads_wait", "found"), [
    # parents is ACCESS EXCLUSIVE locked already: adding a column to it waits for nobody
    (FAMILY, True, set()),
    # NOT ENFORCED: the key comes back with SHARE ROW EXCLUSIVE on parents, reads go on; the
    # ADD COLUMN has to wait for them while kids stays locked
    (UNENFORCED, False, {("DBS114", 3)}),
], ids=["enforced", "not-enforced"])
def test_work_on_a_table_a_rebuilt_foreign_key_references_is_judged_as_postgresql_locks_it(
        conninfo: str, tmp_path: Path, schema: str, reads_wait: bool,
        found: set[tuple[str, int]]) -> None:
    """After a type change of a foreign key's column, the table the key references is
    locked until the transaction ends: with the key's history or the database's schema,
    lint knows it, and no longer says a quick change to that table waits behind its
    readers while the first table stays locked."""
    change = ("BEGIN;\nALTER TABLE kids ALTER COLUMN parent_id TYPE bigint;\n"
              "ALTER TABLE parents ADD COLUMN born date;\nCOMMIT;\n")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        if _needs(schema) > conn.info.server_version:
            pytest.skip(f"needs PostgreSQL {_needs(schema) // 10000}")
        conn.execute(schema)
    with psycopg.connect(conninfo) as migrating, \
            psycopg.connect(conninfo, autocommit=True) as other:
        migrating.execute(change.split("\n")[1])
        other.execute("SET lock_timeout = '200ms'")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            other.execute("INSERT INTO parents (id) VALUES (3)")
        if reads_wait:
            with pytest.raises(psycopg.errors.LockNotAvailable):
                other.execute("SELECT count(*) FROM parents")
        else:
            other.execute("SELECT count(*) FROM parents")
        migrating.rollback()
    for findings in (_history_findings(tmp_path, schema, change),
                     _database_findings(tmp_path, change, conninfo)):
        assert {(f.code, f.location.line if f.location else 0) for f in findings
                if f.code in ("DBS114", "DBS125")} == found


@pytest.mark.parametrize("earlier", [
    "ALTER TABLE kids DROP COLUMN parent_id;\n",
    "ALTER TABLE parents DROP COLUMN id CASCADE;\n",
    "ALTER TABLE parents DROP CONSTRAINT parents_pkey CASCADE;\n",
])
def test_a_foreign_key_an_earlier_statement_dropped_locks_nothing_when_dropped_if_exists(
        conninfo: str, tmp_path: Path, earlier: str) -> None:
    """`DROP CONSTRAINT IF EXISTS` of a key an earlier statement took along (with its
    column, or by CASCADE from the table it references) drops nothing and leaves parents
    alone: a change to parents after it waits for parents' readers while kids stays
    locked (DBS114). With the database's schema, lint still thought the key was there."""
    change = (earlier + "BEGIN;\nALTER TABLE kids DROP CONSTRAINT IF EXISTS "
              "kids_parent_id_fkey;\nALTER TABLE parents ADD COLUMN born date;\nCOMMIT;\n")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(FAMILY)
    with psycopg.connect(conninfo, autocommit=True) as migrating, \
            psycopg.connect(conninfo, autocommit=True) as other:
        migrating.execute(earlier)
        migrating.execute("BEGIN")
        migrating.execute(change.split("\n")[2])
        other.execute("SET lock_timeout = '200ms'")
        other.execute("SELECT count(*) FROM parents")  # not locked
        migrating.execute("ROLLBACK")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("DROP TABLE kids, pets, parents CASCADE")
        conn.execute(FAMILY)
    for findings in (_history_findings(tmp_path, FAMILY, change),
                     _database_findings(tmp_path, change, conninfo)):
        assert {(f.code, f.location.line if f.location else 0) for f in findings
                if f.code in ("DBS114", "DBS125")} == {("DBS114", 4)}


@pytest.mark.parametrize("rename", [
    "ALTER TABLE parents RENAME CONSTRAINT parents_code_key TO code_key;\n",
    "ALTER TABLE parents RENAME COLUMN code TO pcode;\n",
], ids=["constraint", "column"])
def test_a_key_renamed_in_the_database_schema_still_locks_the_tables_whose_keys_rest_on_it(
        conninfo: str, tmp_path: Path, rename: str) -> None:
    """After a rename of a unique constraint, or of the column it is on, dropping it with
    CASCADE (or changing the column's type) still takes kids, whose key rests on it:
    ACCESS EXCLUSIVE until the transaction ends, so adding a column to kids then waits for
    nobody. With the database's schema, lint lost the keys to parents at the rename (it
    followed only parents' own), and said that ADD COLUMN works on kids while parents
    stays locked (DBS114)."""
    work = ("ALTER TABLE parents DROP CONSTRAINT code_key CASCADE;\n" if "CONSTRAINT" in rename
            else "ALTER TABLE parents ALTER COLUMN pcode TYPE bigint;\n")
    change = rename + "BEGIN;\n" + work + "ALTER TABLE kids ADD COLUMN born date;\nCOMMIT;\n"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(FAMILY)
    with psycopg.connect(conninfo, autocommit=True) as migrating, \
            psycopg.connect(conninfo, autocommit=True) as other:
        migrating.execute(rename)
        migrating.execute("BEGIN")
        migrating.execute(work)
        other.execute("SET lock_timeout = '200ms'")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            other.execute("SELECT count(*) FROM kids")
        migrating.execute("ROLLBACK")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("DROP TABLE kids, pets, parents CASCADE")
        conn.execute(FAMILY)
    for findings in (_history_findings(tmp_path, FAMILY, change),
                     _database_findings(tmp_path, change, conninfo)):
        assert {(f.code, f.location.line if f.location else 0) for f in findings
                if f.code in ("DBS114", "DBS125")} == set()


CODES = ("CREATE TABLE parents (id int PRIMARY KEY, code int, x int);\n"
         "CREATE UNIQUE INDEX ix_code ON parents (code);\n"
         "CREATE TABLE kids (id int PRIMARY KEY, parent_code int REFERENCES parents (code));\n")
TWO_COLUMNS = CODES.replace("(code);", "(code, x);").replace(
    "parent_code int REFERENCES parents (code)",
    "px int, parent_code int, FOREIGN KEY (px, parent_code) REFERENCES parents (x, code)")
INCLUDE = CODES.replace("(code);", "(code) INCLUDE (x);")


@pytest.mark.parametrize("schema", [
    CODES,
    TWO_COLUMNS,  # a key on two columns, in another order than the index's
    INCLUDE,  # key columns only
    # not the only unique index on the columns: the key rests on the older one, and of
    # two lint says nothing (which is older is not known to it)
    CODES + "CREATE UNIQUE INDEX ix_code2 ON parents (code);\n",
    CODES.replace("CREATE UNIQUE INDEX ix_code", "CREATE UNIQUE INDEX ix_code0 ON parents "
                                                 "(code);\nCREATE UNIQUE INDEX ix_code"),
    CODES + "ALTER TABLE parents ADD CONSTRAINT parents_code_key UNIQUE (code);\n",
    # no key rests on it: a partial unique index cannot carry one
    CODES.replace("REFERENCES parents (code)", "REFERENCES parents (id)"),
    CODES.replace("(code);", "(code) WHERE code > 0;").replace(
        "REFERENCES parents (code)", "REFERENCES parents (id)"),
], ids=["only", "two-columns", "include", "newer-twin", "older-twin", "unique-constraint",
        "key-to-pk", "partial"])
def test_a_unique_index_dropped_with_cascade_locks_the_tables_whose_keys_rest_on_it(
        conninfo: str, tmp_path: Path, schema: str) -> None:
    """DROP INDEX ... CASCADE of the unique index a foreign key rests on drops the key: ACCESS
    EXCLUSIVE on the table holding it too. Lint predicted only the index's table. It says so
    only where the key surely rests on the index dropped, the only unique index on its
    columns; a false lock there is a false positive."""
    from dbsafe.lint.locks import from_pg_locks

    change = "DROP INDEX ix_code CASCADE"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(schema)
        tables = dict(conn.execute("SELECT oid, relname FROM pg_class WHERE relkind = 'r' "
                                   "AND relnamespace = 'public'::regnamespace").fetchall())
        resting = conn.execute("SELECT count(*) FROM pg_constraint WHERE contype = 'f' "
                               "AND conindid = 'ix_code'::regclass").fetchone()[0]
        with conn.transaction(force_rollback=True):
            conn.execute(change)
            taken = _write_blocking(
                (tables[oid], from_pg_locks(mode)) for oid, mode in conn.execute(
                    "SELECT relation, mode FROM pg_locks WHERE pid = pg_backend_pid() "
                    "AND locktype = 'relation'").fetchall() if oid in tables)
    assert ("kids" in taken) == bool(resting)
    sure = schema in (CODES, TWO_COLUMNS, INCLUDE)
    for rows in _lock_rows(tmp_path, schema, change, conninfo):
        # (the lock on the index is the lock on its table: DROP INDEX takes both)
        predicted = _write_blocking(
            ("parents" if row.relation == "ix_code" else _unqualified(row.relation), row.mode)
            for row in rows if row.location.path.endswith("002_change.sql"))
        if sure or not resting:
            assert predicted == taken
        else:  # the key rests on it, but lint cannot be sure: it says nothing
            assert predicted == {"parents": "ACCESS EXCLUSIVE"}


def test_a_key_dropped_with_its_unique_index_is_known_to_be_gone(
        conninfo: str, tmp_path: Path) -> None:
    """After DROP INDEX ... CASCADE took kids' key along, `DROP CONSTRAINT IF EXISTS` of it
    drops nothing and locks kids alone, not parents."""
    from dbsafe.lint.locks import from_pg_locks

    change = ("DROP INDEX ix_code CASCADE;\n"
              "ALTER TABLE kids DROP CONSTRAINT IF EXISTS kids_parent_code_fkey")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(CODES)
        tables = dict(conn.execute("SELECT oid, relname FROM pg_class WHERE relkind = 'r' "
                                   "AND relnamespace = 'public'::regnamespace").fetchall())
        conn.execute(change.split("\n")[0])
        with conn.transaction(force_rollback=True):
            conn.execute(change.split("\n")[1])
            taken = _write_blocking(
                (tables[oid], from_pg_locks(mode)) for oid, mode in conn.execute(
                    "SELECT relation, mode FROM pg_locks WHERE pid = pg_backend_pid() "
                    "AND locktype = 'relation'").fetchall() if oid in tables)
        conn.execute("DROP TABLE kids, parents")
        conn.execute(CODES)
    assert taken == {"kids": "ACCESS EXCLUSIVE"}
    for rows in _lock_rows(tmp_path, CODES, change, conninfo):
        assert _write_blocking((_unqualified(row.relation), row.mode) for row in rows
                               if row.location.path.endswith("002_change.sql")
                               and row.location.line == 2) == taken


KEEPS_ROWS = ("ALTER TABLE orders ALTER COLUMN name TYPE varchar(20);\n"
              "ALTER TABLE orders ALTER COLUMN status TYPE status;\n")


@pytest.mark.parametrize(("extra", "change", "rewrites", "line"), [
    # ihatemoney's c941aaca38c2: both columns already have the type the migration names
    ("", KEEPS_ROWS, False, 4),
    ("", "ALTER TABLE orders ALTER COLUMN name TYPE varchar(20);\n"
         "ALTER TABLE orders ALTER COLUMN name TYPE varchar(5);\n", True, 3),
    ("", "ALTER TABLE orders ALTER COLUMN name TYPE varchar(20);\n"
         "ALTER TABLE orders ALTER COLUMN total TYPE bigint;\n", True, 3),
    # the rows stay, but the CHECK on `status` is checked again: a full scan (DBS127)
    ("ALTER TABLE orders ADD CONSTRAINT still_open CHECK (status <> 'closed');\n", KEEPS_ROWS,
     False, 3),
    # ... but one added NOT VALID comes back NOT VALID and checks nothing
    ("ALTER TABLE orders ADD CONSTRAINT still_open CHECK (status <> 'closed') NOT VALID;\n",
     KEEPS_ROWS, False, 4),
    # ... and an index whose WHERE uses `status` is built again
    ("CREATE INDEX ON orders (id) WHERE status = 'open';\n", KEEPS_ROWS, False, 3),
    # Mailu's 049fed905da7: SET NOT NULL of a primary key's column checks nothing
    ("", "ALTER TABLE orders ALTER COLUMN name TYPE varchar(20);\n"
         "ALTER TABLE orders ALTER COLUMN id SET NOT NULL;\n", False, 4),
    ("", "ALTER TABLE orders ALTER COLUMN name TYPE varchar(20);\n"
         "ALTER TABLE orders ALTER COLUMN total SET NOT NULL;\n", False, 3),
], ids=["keeps-rows", "shorter", "int-to-bigint", "check-rechecked", "not-valid-check-kept",
        "partial-index-rebuilt",
        "not-null-already", "not-null-scans"])
def test_a_type_change_that_keeps_the_rows_is_quick_work_on_a_table_already_locked(
        conninfo: str, tmp_path: Path, extra: str, change: str, rewrites: bool,
        line: int) -> None:
    """A type change PostgreSQL makes without touching the rows (a longer varchar, an enum
    column to its own type) is a moment's catalog work on a table the transaction already
    holds ACCESS EXCLUSIVE, and so is SET NOT NULL of a column NOT NULL already: DBS114
    flagged them (ihatemoney's c941aaca38c2:23, Mailu's 049fed905da7) instead of the DROP
    COLUMN on another table after them, and `--locks` said they rewrite or scan."""
    schema = ("CREATE TYPE status AS ENUM ('open', 'closed');\n"
              "CREATE TABLE orders (id bigint PRIMARY KEY, total integer, name varchar(10),"
              " status status);\n"
              "CREATE TABLE audit (id bigint PRIMARY KEY, note text);\n"
              "INSERT INTO orders SELECT i, i, 'n' || i, 'open' "
              "FROM generate_series(1, 200) AS i;\n" + extra)
    migration = "BEGIN;\n" + change + "ALTER TABLE audit DROP COLUMN note;\nCOMMIT;\n"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(schema)
        with conn.transaction(force_rollback=True):
            before = conn.execute("SELECT pg_relation_filenode('orders')").fetchone()
            for statement in change.splitlines():
                conn.execute(statement)
            after = conn.execute("SELECT pg_relation_filenode('orders')").fetchone()
            held = {r[0] for r in conn.execute(
                "SELECT mode FROM pg_locks WHERE pid = pg_backend_pid() AND "
                "relation = 'orders'::regclass").fetchall()}
    assert (before != after) == rewrites and "AccessExclusiveLock" in held
    for findings in (_history_findings(tmp_path, schema, migration),
                     _database_findings(tmp_path, migration, conninfo)):
        found = [f for f in findings if f.code == "DBS114"]
        assert [f.location.line for f in found if f.location is not None] == [line]
    for rows in _lock_rows(tmp_path, schema, migration, conninfo):
        second = [row for row in rows if row.location.path.endswith("002_change.sql")
                  and row.location.line == 3 and _unqualified(row.relation) == "orders"]
        assert [row.rewrites for row in second] == [line == 3]


def test_reads_do_not_queue_behind_a_waiting_foreign_key_lock_where_lint_says(
        conninfo: str, tmp_path: Path) -> None:
    """A new table's foreign key requests SHARE ROW EXCLUSIVE on the table it references;
    while that request waits (behind a transaction that wrote to `users`), later writes
    queue behind it but reads go on. DBS115 said "every query on `users` queues behind it"
    (phoenix's 15 new tables referencing `users`, Mailu's `token`)."""
    schema = "CREATE TABLE users (id bigint PRIMARY KEY);\nINSERT INTO users VALUES (1);\n"
    change = "CREATE TABLE tokens (id bigint PRIMARY KEY, user_id bigint REFERENCES users);\n"
    with psycopg.connect(conninfo, autocommit=True) as setup:
        setup.execute(schema)
    writer = psycopg.connect(conninfo)
    migration = psycopg.connect(conninfo, autocommit=True)
    try:
        writer.execute("INSERT INTO users VALUES (2)")  # ROW EXCLUSIVE, held until rollback
        pid = migration.info.backend_pid
        waiting = threading.Thread(target=migration.execute, args=(change,))
        waiting.start()
        with psycopg.connect(conninfo, autocommit=True) as other:
            while not other.execute("SELECT count(*) FROM pg_locks WHERE pid = %s AND "
                                    "NOT granted", (pid,)).fetchone()[0]:  # type: ignore[index]
                time.sleep(0.05)
            other.execute("SET statement_timeout = '2s'")
            assert other.execute("SELECT count(*) FROM users").fetchone() == (1,)
            other.execute("SET lock_timeout = '300ms'")
            with pytest.raises(psycopg.errors.LockNotAvailable):
                other.execute("INSERT INTO users VALUES (3)")
        writer.rollback()
        waiting.join(timeout=30)
    finally:
        writer.close()
        migration.close()
    found = [f for f in _history_findings(tmp_path, schema, change) if f.code == "DBS115"]
    assert [f.message for f in found] == [
        "SHARE ROW EXCLUSIVE lock on `users` is requested without `lock_timeout` and "
        "`statement_timeout` set; while it waits, every write to `users` queues behind it."]

CARTS = ("CREATE TABLE carts (id bigint PRIMARY KEY, note text);\n"
         "INSERT INTO carts SELECT i, 'n' || i FROM generate_series(1, 100) AS i;\n")


@pytest.mark.parametrize(("change", "flagged"), [
    ("TRUNCATE carts;", True),
    ("TRUNCATE ONLY carts RESTART IDENTITY;", True),
    ("CREATE TABLE staging (id bigint);\nTRUNCATE staging;", False),
    ("CREATE TABLE staging (id bigint);\nTRUNCATE staging, carts;", True),
], ids=["existing", "only-restart-identity", "created-here", "created-here-and-existing"])
def test_an_existing_table_truncated_loses_its_rows_where_lint_says(
        conninfo: str, tmp_path: Path, change: str, flagged: bool) -> None:
    """DBS215's claim: TRUNCATE of a table that existed before the migration deletes every
    row it had, under ACCESS EXCLUSIVE; one created earlier in the migration had none.
    From the database, the finding carries the table's size and stays an error on a small
    table (data loss is not weighed by size as a lock is)."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(CARTS + "ANALYZE carts;")
        with conn.transaction(force_rollback=True):
            conn.execute(change)
            left = conn.execute("SELECT count(*) FROM carts").fetchone()
            locks = {r[0] for r in conn.execute(
                "SELECT mode FROM pg_locks WHERE pid = pg_backend_pid() AND "
                "relation = 'carts'::regclass").fetchall()}
    assert left is not None and (left[0] == 0) == flagged
    assert ("AccessExclusiveLock" in locks) == flagged
    assert [f.code for f in _history_findings(tmp_path, CARTS, change)
            if f.code == "DBS215"] == (["DBS215"] if flagged else [])
    found = [f for f in _database_findings(tmp_path, change, conninfo) if f.code == "DBS215"]
    assert [(last(f.subject or ""), f.severity.value) for f in found] == (
        [("carts", "error")] if flagged else [])
    for finding in found:
        assert "~100 rows" in dict(finding.context)["Table size"]


def test_a_backfill_into_a_new_table_reads_the_locked_one_where_lint_says(
        conninfo: str, tmp_path: Path) -> None:
    """mergin's c13819c566e7: a new table whose foreign key takes SHARE ROW EXCLUSIVE on
    `project_version`, then `WITH ... INSERT INTO file_history SELECT ... FROM
    project_version`, which reads every row of it while nobody can write it (DBS125); with
    an ACCESS EXCLUSIVE lock first, while nobody can read it either (DBS114). The lock table
    knew only the INSERT's target, created in the same transaction, so both were missed."""
    schema = ("CREATE TABLE project_version (id bigint PRIMARY KEY, changes jsonb);\n"
              "INSERT INTO project_version SELECT i, '{}' FROM generate_series(1, 100) AS i;\n")
    new_table = ("CREATE TABLE file_history (id bigserial PRIMARY KEY, version_id bigint "
                 "NOT NULL REFERENCES project_version (id), path text);\n")
    backfill = ("WITH h AS (SELECT id, changes FROM project_version) INSERT INTO file_history "
                "(version_id, path) SELECT id, changes ->> 'path' FROM h;\n")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(schema)
    with psycopg.connect(conninfo) as migrating, \
            psycopg.connect(conninfo, autocommit=True) as writer:
        migrating.execute(new_table)
        scans = "SELECT pg_stat_get_xact_numscans('project_version'::regclass)"
        before = migrating.execute(scans).fetchone()
        migrating.execute(backfill)
        after = migrating.execute(scans).fetchone()
        assert before is not None and after is not None and after[0] > before[0]
        writer.execute("SET lock_timeout = '200ms'")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            writer.execute("UPDATE project_version SET changes = '{}' WHERE id = 1")
        migrating.rollback()
    change = f"BEGIN;\n{new_table}{backfill}COMMIT;\n"
    for findings in (_history_findings(tmp_path, schema, change),
                     _database_findings(tmp_path, change, conninfo)):
        found = {f.code: f for f in findings}
        assert found["DBS125"].location is not None and found["DBS125"].location.line == 3
        assert last(found["DBS125"].subject or "") == "project_version"
    locked_first = ("BEGIN;\nALTER TABLE project_version ADD COLUMN archived boolean;\n"
                    f"{new_table}{backfill}COMMIT;\n")
    found = {f.code: f for f in _history_findings(tmp_path / "exclusive", schema,
                                                  locked_first)}
    assert found["DBS114"].location is not None and found["DBS114"].location.line == 4


NAMED_ASSETS = ("CREATE TABLE assets (id int PRIMARY KEY, name text, parent_id int,\n"
                "  CONSTRAINT assets_name_parent_key UNIQUE (name, parent_id));\n"
                "CREATE INDEX assets_name_idx ON assets (name);\n"
                "INSERT INTO assets SELECT g, 'a' || g, g FROM generate_series(1, 1000) g;\n")


def test_a_drop_if_exists_of_an_index_already_dropped_locks_nothing_where_lint_says(
        conninfo: str, tmp_path: Path) -> None:
    """FlexMeasures' c7b7f9019d4b drops a unique constraint, then its index `IF EXISTS`:
    PostgreSQL skips that with a notice and takes no lock. Lint said DBS103 on it ("on its
    table") and put the DBS114 of the transaction there instead of on the index build."""
    change = ("BEGIN;\n"
              "ALTER TABLE assets DROP CONSTRAINT IF EXISTS assets_name_parent_key;\n"
              "DROP INDEX IF EXISTS assets_name_parent_key;\n"
              "DROP INDEX assets_name_idx;\n"
              "DROP INDEX IF EXISTS assets_name_idx;\n"
              "CREATE INDEX assets_parent_idx ON assets (parent_id);\n"
              "COMMIT;\n")
    lines = change.splitlines()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(NAMED_ASSETS)
        for done, nothing in ((lines[1], lines[2]), (lines[3], lines[4])):
            conn.execute(done)
            conn.execute("BEGIN")
            conn.execute(nothing)
            assert conn.execute(
                "SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() "
                "AND relation = 'assets'::regclass").fetchone() == (0,)
            conn.execute("ROLLBACK")
    findings = _history_findings(tmp_path, NAMED_ASSETS, change)
    assert not [f for f in findings if f.location is not None and f.location.line in (3, 5)]
    assert {(f.code, f.location.line if f.location else 0) for f in findings
            if f.code in ("DBS103", "DBS114")} == {("DBS103", 4), ("DBS114", 6)}


@pytest.mark.parametrize("key", ["assets_name_parent_key", "assets_pkey"])
def test_a_drop_if_exists_of_the_index_of_a_key_only_the_database_has_locks_nothing(
        conninfo: str, tmp_path: Path, key: str) -> None:
    """The same with `--database-url`, the unique constraint only in the database's schema:
    its index went with it, so `DROP INDEX IF EXISTS` of it was still a false DBS103, and the
    transaction's DBS114 stood there instead of on the index build."""
    change = ("BEGIN;\n"
              f"ALTER TABLE assets DROP CONSTRAINT {key};\n"
              f"DROP INDEX IF EXISTS {key};\n"
              "CREATE INDEX assets_parent_idx ON assets (parent_id);\n"
              "COMMIT;\n")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(NAMED_ASSETS)
    findings = _database_findings(tmp_path, change, conninfo)
    assert not [f for f in findings if f.location is not None and f.location.line == 3]
    assert ("DBS114", 4) in {(f.code, f.location.line if f.location else 0)
                             for f in findings}


def test_the_built_ins_an_inlined_default_may_call_are_not_volatile(
        postgresql: psycopg.Connection[Any]) -> None:
    # `NOT_VOLATILE_FUNCTIONS`: every name is a pg_catalog function, none of its overloads
    # VOLATILE, so an inlined SQL function calling only these is no volatile default.
    from dbsafe.pg.volatility import NOT_VOLATILE_FUNCTIONS

    rows = postgresql.execute(
        "SELECT proname, bool_or(provolatile = 'v') FROM pg_proc "
        "WHERE pronamespace = 'pg_catalog'::regnamespace AND proname = ANY(%s) "
        "GROUP BY proname", (sorted(NOT_VOLATILE_FUNCTIONS),)).fetchall()
    assert {name for name, _ in rows} == NOT_VOLATILE_FUNCTIONS
    assert [name for name, volatile in rows if volatile] == []


def test_the_volatile_built_ins_are_the_catalog_s(postgresql: psycopg.Connection[Any]) -> None:
    # `VOLATILE_FUNCTIONS` holds every pg_catalog function whose each overload is VOLATILE
    # (volatile_functions.txt, from PostgreSQL 18: scripts/gen_volatile_functions.py).
    from dbsafe.pg.volatility import CATALOG_VOLATILE_QUERY, VOLATILE_FUNCTIONS

    if postgresql.info.server_version < 180000:
        pytest.skip("the list is PostgreSQL 18's (15 has pg_read_file_old and "
                    "pg_rotate_logfile_old besides)")
    names = {name for (name,) in postgresql.execute(CATALOG_VOLATILE_QUERY)}
    assert names - VOLATILE_FUNCTIONS == set()
    assert {"currval", "setval", "lastval", "set_config", "array_shuffle"} <= names


def test_the_built_ins_a_strict_inlined_body_may_call_are_strict(
        postgresql: psycopg.Connection[Any]) -> None:
    # A STRICT SQL function is inlined only when every call and operator of its body is
    # STRICT: `NOT_STRICT_FUNCTIONS` are exactly those of `NOT_VOLATILE_FUNCTIONS` with an
    # overload that is not, and every pg_operator of a `STRICT_OPERATORS` name is strict.
    from dbsafe.pg.volatility import NOT_STRICT_FUNCTIONS, NOT_VOLATILE_FUNCTIONS, STRICT_OPERATORS

    rows = postgresql.execute(
        "SELECT proname FROM pg_proc WHERE pronamespace = 'pg_catalog'::regnamespace "
        "AND proname = ANY(%s) GROUP BY proname HAVING NOT bool_and(proisstrict)",
        (sorted(NOT_VOLATILE_FUNCTIONS),)).fetchall()
    assert {name for (name,) in rows} == NOT_STRICT_FUNCTIONS
    rows = postgresql.execute(
        "SELECT oprname, bool_and(p.proisstrict) FROM pg_operator o "
        "JOIN pg_proc p ON p.oid = o.oprcode WHERE oprname = ANY(%s) GROUP BY oprname",
        (sorted(STRICT_OPERATORS),)).fetchall()
    assert dict(rows) == dict.fromkeys(STRICT_OPERATORS, True)


def test_a_rewritten_key_column_checks_the_tables_referencing_it_where_lint_says(
        conninfo: str, tmp_path: Path) -> None:
    """vaultwarden's `users.uuid` char(36) -> varchar(40): PostgreSQL re-adds every other
    table's foreign key to the column and, the table being rewritten, checks all their rows
    again under ACCESS EXCLUSIVE (`devices`); not a key NOT VALID (`drafts`, re-added NOT
    VALID) nor NOT ENFORCED (`notes`), and one validated since is checked (`logins`).
    DBS110 named only `users`."""
    schema = ("CREATE TABLE users (uuid char(36) PRIMARY KEY);\n"
              "CREATE TABLE devices (user_uuid char(36) REFERENCES users (uuid));\n"
              "CREATE TABLE drafts (user_uuid char(36));\n"
              "ALTER TABLE drafts ADD CONSTRAINT drafts_user FOREIGN KEY (user_uuid) "
              "REFERENCES users (uuid) NOT VALID;\n"
              "CREATE TABLE logins (user_uuid char(36));\n"
              "ALTER TABLE logins ADD CONSTRAINT logins_user FOREIGN KEY (user_uuid) "
              "REFERENCES users (uuid) NOT VALID;\n"
              "ALTER TABLE logins VALIDATE CONSTRAINT logins_user;\n"
              "CREATE TABLE notes (user_uuid char(36) REFERENCES users (uuid) NOT ENFORCED);\n"
              "INSERT INTO users SELECT i FROM generate_series(1, 50) AS i;\n"
              "INSERT INTO devices SELECT uuid FROM users;\n"
              "INSERT INTO drafts SELECT uuid FROM users;\n"
              "INSERT INTO logins SELECT uuid FROM users;\n"
              "INSERT INTO notes SELECT uuid FROM users;\n")
    change = "ALTER TABLE users ALTER COLUMN uuid TYPE varchar(40);"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        if conn.info.server_version < 180000:
            pytest.skip("needs PostgreSQL 18 (NOT ENFORCED)")  # DBSAFE_TEST_DATABASE_URL
        conn.execute(schema)
    others = ("devices", "drafts", "logins", "notes")
    count = "SELECT relname, pg_stat_get_xact_numscans(oid) FROM pg_class WHERE relname = ANY(%s)"
    with psycopg.connect(conninfo) as conn:
        before = dict(conn.execute(count, (list(others),)).fetchall())
        conn.execute(change)
        scanned = sorted(name for name, n in conn.execute(count, (list(others),)).fetchall()
                         if n > before[name])
        conn.rollback()
    assert scanned == ["devices", "logins"]
    for database in (None, conninfo):
        folder = tmp_path / ("with-database" if database else "history") / "migrations"
        folder.mkdir(parents=True)
        if database is None:
            (folder / "001_schema.sql").write_text(schema, encoding="utf-8")
        (folder / "002_change.sql").write_text(change, encoding="utf-8")
        settings = Settings(project_root=folder.parent, database_url=database,
                            sql_migrations_in_transaction=True, target_version=180000)
        [finding] = [f for f in commands.lint(settings, [folder]).findings
                     if f.code == "DBS110"]
        named = sorted(name for name in others  # (`public.devices` from the database)
                       if f"`{name}`" in finding.message or f".{name}`" in finding.message)
        assert named == scanned, "from the database" if database else "from the history"


_ADD_KEY_IF_MISSING = """DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM information_schema.table_constraints
                   WHERE table_name = 'queues' AND constraint_type = 'PRIMARY KEY') THEN
        ALTER TABLE queues ADD PRIMARY KEY ("offset");
    END IF;
END;
$$;
"""


@pytest.mark.parametrize(("schema", "adds_key"), [
    ('CREATE TABLE queues ("offset" serial PRIMARY KEY, key text);\n', False),
    ('CREATE TABLE queues ("offset" serial, key text);\n', True),
    ('CREATE TABLE queues ("offset" serial PRIMARY KEY, key text);\n'
     "ALTER TABLE queues DROP CONSTRAINT queues_pkey;\n", True),
], ids=["key-there", "no-key", "key-dropped"])
def test_a_do_block_adding_the_primary_key_it_lacks_is_flagged_where_postgresql_adds_it(
        conninfo: str, tmp_path: Path, schema: str, adds_key: bool) -> None:
    """Kestra's V1_1 adds `queues("offset")`'s primary key in a DO block when the table has
    none, after the CREATE TABLE that made it: DBS209 flagged the serial key twice, at the
    CREATE TABLE and at the DO block's ALTER TABLE, which PostgreSQL skips (and refuses
    outside the block: a second primary key, 42P16). Where the table has no such key the
    block adds one, and that key is flagged there."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(schema)
        before = conn.execute("SELECT oid FROM pg_constraint WHERE contype = 'p' AND "
                              "conrelid = 'queues'::regclass").fetchall()
        if before:
            with pytest.raises(psycopg.errors.InvalidTableDefinition):
                conn.execute('ALTER TABLE queues ADD PRIMARY KEY ("offset")')
        conn.execute(_ADD_KEY_IF_MISSING)
        after = conn.execute("SELECT oid FROM pg_constraint WHERE contype = 'p' AND "
                             "conrelid = 'queues'::regclass").fetchall()
    assert (after != before) == adds_key
    found = [f for f in _history_findings(tmp_path, schema, _ADD_KEY_IF_MISSING)
             if f.code == "DBS209"]
    assert bool(found) == adds_key


# fides' b546ce845e6c: `delete from privacyexperience;`, then (line 130) `op.add_column(
# "privacyexperience", sa.Column("region", sa.String(), nullable=False))`
EXPERIENCES = ("CREATE TABLE experience (id bigint PRIMARY KEY, component text);\n"
               "INSERT INTO experience SELECT i, 'c' || i FROM generate_series(1, 200) AS i;\n")
ADD_REGION = "ALTER TABLE experience ADD COLUMN region text NOT NULL;"


def _emptied_then_added(conninfo: str, emptying: list[str]) -> tuple[bool, bool]:
    """Run `emptying` then ADD_REGION in one transaction while another session inserts a
    row after the emptying: did the insert wait until COMMIT, and did the ALTER succeed?"""
    migration = psycopg.connect(conninfo)
    writer = psycopg.connect(conninfo, autocommit=True)
    failed: list[BaseException] = []

    def insert() -> None:
        try:
            writer.execute("INSERT INTO experience (id, component) VALUES (0, 'new')")
        except psycopg.Error as error:  # after the ALTER committed: region is NOT NULL
            failed.append(error)

    try:
        for statement in emptying:
            migration.execute(statement)
        inserting = threading.Thread(target=insert)
        inserting.start()
        pid = writer.info.backend_pid
        with psycopg.connect(conninfo, autocommit=True) as other:
            while True:
                waits = other.execute(
                    "SELECT count(*) FROM pg_locks WHERE pid = %s AND NOT granted",
                    (pid,)).fetchone()[0]  # type: ignore[index]
                if waits or not inserting.is_alive():
                    break
                time.sleep(0.05)
        try:
            migration.execute(ADD_REGION)
            migration.commit()
            added = True
        except psycopg.errors.NotNullViolation:
            migration.rollback()
            added = False
        inserting.join(timeout=30)
    finally:
        migration.close()
        writer.close()
    return bool(waits), added


# (what empties the table, whether the other session's insert waited, whether the ALTER
# succeeded, what DBS108 says)
@pytest.mark.parametrize(("emptying", "waited", "added", "flagged"), [
    (["DELETE FROM experience"], False, False, "delete"),
    (["TRUNCATE experience"], True, True, None),
    (["LOCK TABLE experience IN EXCLUSIVE MODE", "DELETE FROM experience"], True, True, None),
    (["DELETE FROM experience WHERE id > 1"], False, False, "rows"),
    (["TRUNCATE experience", "INSERT INTO experience VALUES (1, 'c')"], True, False, "rows"),
    # an index built first: its SHARE lock keeps the insert out until COMMIT too
    (["CREATE INDEX experience_component ON experience (component)",
      "DELETE FROM experience"], True, True, None),
])
def test_a_not_null_column_added_after_the_table_is_emptied(
        conninfo: str, tmp_path: Path, emptying: list[str], waited: bool, added: bool,
        flagged: str | None) -> None:
    """A NOT NULL column with no DEFAULT added after the same transaction emptied its
    table: with TRUNCATE, or LOCK TABLE before the DELETE, another session's insert waits
    until COMMIT and the ALTER succeeds; after a plain DELETE the insert goes through and the
    ALTER fails (23502), which DBS108 says naming the DELETE, where it said "fails if the
    table has any rows" (fides' b546ce845e6c, after `delete from privacyexperience`)."""
    with psycopg.connect(conninfo, autocommit=True) as setup:
        setup.execute(EXPERIENCES)
    assert _emptied_then_added(conninfo, emptying) == (waited, added)
    change = "BEGIN;\n" + "".join(f"{s};\n" for s in emptying) + ADD_REGION + "\nCOMMIT;\n"
    found = [f for f in _history_findings(tmp_path, EXPERIENCES, change) if f.code == "DBS108"]
    if flagged is None:
        assert found == []
    elif flagged == "delete":
        assert [f.message for f in found] == [
            "Column `experience.region` is added NOT NULL without a default; the DELETE on "
            "line 2 empties `experience` first, but its lock lets other sessions write rows "
            "until this ALTER, and any row written in between makes it fail."]
    else:
        assert [f.message for f in found] == [
            "Column `experience.region` is added NOT NULL without a default; the ALTER fails "
            "if `experience` has any rows."]


KEYLESS = """
CREATE TABLE tokens (id int, ref int NOT NULL, checked int CONSTRAINT tokens_checked_nn
                     CHECK (checked IS NOT NULL), note text);
INSERT INTO tokens SELECT i, i, i, 'n' || i FROM generate_series(1, 200) AS i;
"""


@pytest.mark.parametrize(("column", "scanned"), [
    ("id", True), ("ref", False), ("checked", False)])
def test_a_primary_key_over_a_nullable_column_scans_for_nulls_where_dbs111_says(
        conninfo: str, tmp_path: Path, column: str, scanned: bool) -> None:
    """`ADD PRIMARY KEY (id)` over a nullable column sets it NOT NULL: PostgreSQL reads the
    table once more than for a NOT NULL column (or one a validated CHECK proves), and fails
    with 23502 when a row is NULL. DBS111 said only that the index is built."""
    change = f"ALTER TABLE tokens ADD PRIMARY KEY ({column});\n"
    scans = "SELECT pg_stat_get_xact_numscans('tokens'::regclass)"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(KEYLESS)
    counted = []
    for statement in (change, "ALTER TABLE tokens ADD UNIQUE (note);\n"):
        # (a session of its own: a backend's scan counts stay pending across transactions)
        with psycopg.connect(conninfo) as conn:
            conn.execute(statement)
            counted.append(conn.execute(scans).fetchone())
            conn.rollback()
    assert (counted[0] != counted[1]) == scanned, counted
    with psycopg.connect(conninfo) as conn:
        conn.execute("DELETE FROM tokens WHERE id = 1")
        conn.execute("INSERT INTO tokens VALUES (NULL, 1, 1, 'x')")
        if scanned:
            with pytest.raises(psycopg.errors.NotNullViolation):
                conn.execute(change)
        conn.rollback()
    for findings in (_history_findings(tmp_path, KEYLESS, change),
                     _database_findings(tmp_path, change, conninfo)):
        [message] = [f.message for f in findings if f.code == "DBS111"]
        assert (f"sets `{column}` NOT NULL" in message) == scanned, message
        assert ("23502" in message) == scanned


# Tables the migrations made, and whether the history then knows every column of `plain`
# (`DROP COLUMN IF EXISTS extra` of it drops nothing) or not (it may drop a real column).
@pytest.mark.parametrize(("schema", "flagged"), [
    ("CREATE TABLE plain (id int, note text);\n"
     "ALTER TABLE plain RENAME COLUMN note TO remark;\n", False),
    ("CREATE TABLE draft (id int);\nALTER TABLE draft RENAME TO plain;\n", False),
    ("CREATE TABLE base (id int, extra int);\nCREATE TABLE plain (LIKE base);\n", True),
    ("CREATE TABLE plain (id int);\nCREATE TABLE mom (id int);\n"
     "ALTER TABLE plain INHERIT mom;\nALTER TABLE mom ADD COLUMN extra int;\n"
     "ALTER TABLE plain NO INHERIT mom;\n", True),
    ("CREATE TABLE plain (id int);\n"
     "DO $$ BEGIN EXECUTE format('ALTER TABLE %I ADD COLUMN extra int', 'plain'); END $$;\n",
     True),
    ("CREATE TABLE plain (id int);\n"
     "CREATE PROCEDURE widen() LANGUAGE plpgsql AS $$ BEGIN "
     "EXECUTE format('ALTER TABLE %I ADD COLUMN extra int', 'plain'); END $$;\n"
     "CALL widen();\n", True),
    ("CREATE TABLE plain (id int);\nCREATE TABLE base (id int, extra int);\n"
     "CREATE TABLE draft (LIKE base);\nDROP TABLE plain;\n"
     "ALTER TABLE draft RENAME TO plain;\n", True),
], ids=["created", "renamed-to-it", "like", "inherited-then-not", "dynamic-sql",
        "procedure-called", "like-renamed-to-it"])
def test_drop_column_if_exists_of_a_column_a_table_made_here_never_had_loses_nothing(
        conninfo: str, tmp_path: Path, schema: str, flagged: bool) -> None:
    """`DROP COLUMN IF EXISTS extra` of a table the migrations created without it is
    skipped with a notice ("column ... does not exist, skipping"; pg_attribute unchanged):
    no DBS202, where the history knows every column of the table. LIKE, INHERIT and SQL
    built at run time give it columns the history does not see: DBS202 stays."""
    change = "ALTER TABLE plain DROP COLUMN IF EXISTS extra;\n"
    dropped = ("SELECT count(*) FROM pg_attribute WHERE attrelid = 'plain'::regclass "
               "AND attisdropped")
    said: list[str] = []
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(schema)
        conn.add_notice_handler(lambda d: said.append(d.message_primary))
        with conn.transaction(force_rollback=True):
            before = conn.execute(dropped).fetchone()
            conn.execute(change)
            assert (conn.execute(dropped).fetchone() != before) == flagged
    assert ('column "extra" of relation "plain" does not exist, skipping' in said) == \
        (not flagged), said
    findings = _history_findings(tmp_path, schema, change)
    assert [f.code for f in findings if f.code == "DBS202"] == \
        (["DBS202"] if flagged else []), findings


def test_drop_column_if_exists_after_create_table_if_not_exists_of_a_database_table(
        conninfo: str, tmp_path: Path) -> None:
    """`CREATE TABLE IF NOT EXISTS` of a table the database has is skipped: the table keeps
    its columns, and `DROP COLUMN IF EXISTS` of one the CREATE did not list drops it."""
    change = ("CREATE TABLE IF NOT EXISTS plain (id int);\n"
              "ALTER TABLE plain DROP COLUMN IF EXISTS extra;\n")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("CREATE TABLE plain (id int, extra int)")
        with conn.transaction(force_rollback=True):
            conn.execute(change)
            assert conn.execute("SELECT count(*) FROM pg_attribute WHERE attrelid = "
                                "'plain'::regclass AND attisdropped").fetchone() == (1,)
    findings = _database_findings(tmp_path, change, conninfo)
    assert [f.code for f in findings if f.code == "DBS202"] == ["DBS202"], findings


ACCOUNTS = ("CREATE TABLE accounts (id bigint PRIMARY KEY, region text);\n"
            "INSERT INTO accounts SELECT i, CASE WHEN i % 3 = 0 THEN NULL ELSE 'eu' END "
            "FROM generate_series(1, 200) AS i;\n")
SET_REGION = "ALTER TABLE accounts ALTER COLUMN region SET NOT NULL;"
FILL_REGION = "UPDATE accounts SET region = 'eu' WHERE region IS NULL"


def _filled_then_set(conninfo: str, filling: list[str]) -> tuple[bool, bool]:
    """Run `filling` then SET_REGION in one transaction while another session inserts a
    row whose region is NULL after the filling: did the insert wait until COMMIT, and did
    the ALTER succeed?"""
    migration = psycopg.connect(conninfo)
    writer = psycopg.connect(conninfo, autocommit=True)
    failed: list[BaseException] = []

    def insert() -> None:
        try:
            writer.execute("INSERT INTO accounts (id, region) VALUES (0, NULL)")
        except psycopg.Error as error:  # after the ALTER committed: region is NOT NULL
            failed.append(error)

    try:
        for statement in filling:
            migration.execute(statement)
        inserting = threading.Thread(target=insert)
        inserting.start()
        pid = writer.info.backend_pid
        with psycopg.connect(conninfo, autocommit=True) as other:
            while True:
                waits = other.execute(
                    "SELECT count(*) FROM pg_locks WHERE pid = %s AND NOT granted",
                    (pid,)).fetchone()[0]  # type: ignore[index]
                if waits or not inserting.is_alive():
                    break
                time.sleep(0.05)
        try:
            migration.execute(SET_REGION)
            migration.commit()
            altered = True
        except psycopg.errors.NotNullViolation:
            migration.rollback()
            altered = False
        inserting.join(timeout=30)
    finally:
        migration.close()
        writer.close()
    return bool(waits), altered


# (what fills the NULLs first, whether the other session's insert waited, whether the
# ALTER succeeded, the statement DBS107 names as letting NULLs in)
@pytest.mark.parametrize(("filling", "waited", "altered", "named"), [
    ([FILL_REGION], False, False, "UPDATE on line 2 fills"),
    (["DELETE FROM accounts WHERE region IS NULL"], False, False, "DELETE on line 2 removes"),
    (["DELETE FROM accounts"], False, False, "DELETE on line 2 removes"),
    (["LOCK TABLE accounts IN EXCLUSIVE MODE", FILL_REGION], True, True, None),
    (["ALTER TABLE accounts ADD CONSTRAINT accounts_region_ck "
      "CHECK (region IS NOT NULL) NOT VALID", FILL_REGION], True, True, None),
    (["TRUNCATE accounts"], True, True, ""),
])
def test_a_column_set_not_null_after_its_nulls_are_filled(
        conninfo: str, tmp_path: Path, filling: list[str], waited: bool, altered: bool,
        named: str | None) -> None:
    """SET NOT NULL after the same transaction filled or deleted the column's NULLs: the
    UPDATE or DELETE takes ROW EXCLUSIVE, so another session's NULL goes in before the
    ALTER, which fails (23502), and DBS107 says so naming that statement, where it spoke of
    the scan alone; after TRUNCATE, or a lock keeping writes out taken before the filling
    (LOCK TABLE, an ALTER TABLE), the insert waits until COMMIT and the ALTER succeeds:
    DBS107 speaks of the scan alone; after TRUNCATE there is no row to scan either
    (`test_set_not_null_after_a_truncate_in_its_transaction_reads_no_row`): no DBS107
    (`named` "")."""
    with psycopg.connect(conninfo, autocommit=True) as setup:
        setup.execute(ACCOUNTS)
    assert _filled_then_set(conninfo, filling) == (waited, altered)
    change = "BEGIN;\n" + "".join(f"{s};\n" for s in filling) + SET_REGION + "\nCOMMIT;\n"
    found = [f.message for f in _history_findings(tmp_path, ACCOUNTS, change)
             if f.code == "DBS107"]
    scan = ("Column `accounts.region` is set NOT NULL; reads and writes on `accounts` wait "
            "while every row is checked for NULLs.")
    if named is None:
        assert found == [scan]
    elif not named:
        assert found == []
    else:
        assert found == [f"{scan} The {named} its NULLs first, but its lock lets other "
                         "sessions write rows until this ALTER, and a NULL written in between "
                         "makes it fail (23502)."]


TAGS = ("CREATE TABLE tags (id int, slug text, kind text);\n"
        "INSERT INTO tags VALUES (1, 'a', 'x'), (2, 'b', 'x');\n")


# (rows added to TAGS, the constraint): whether the build fails is PostgreSQL's to say
@pytest.mark.parametrize(("rows", "constraint"), [
    ("(3, 'a', 'y')", "UNIQUE (slug)"),
    ("(3, NULL, 'y'), (4, NULL, 'y')", "UNIQUE (slug)"),
    ("(3, NULL, 'y'), (4, NULL, 'y')", "UNIQUE NULLS NOT DISTINCT (slug)"),
    ("(3, 'a', 'y')", "UNIQUE (slug, kind)"),
    ("(3, 'a', 'x')", "UNIQUE (slug, kind)"),
    ("(3, NULL, 'x'), (4, NULL, 'x')", "UNIQUE (slug, kind)"),
    ("(3, 'a', 'x')", "PRIMARY KEY (slug)"),
    ("(3, 'c', 'x')", "PRIMARY KEY (slug)"),
])
def test_dbs111_help_finds_the_rows_that_make_the_unique_build_fail(
        conninfo: str, tmp_path: Path, rows: str, constraint: str) -> None:
    """A unique constraint or primary key over rows sharing a key fails (23505), which
    DBS111 spoke nothing of (the lock alone): its help now gives the query listing those
    rows, which finds some exactly where PostgreSQL refuses the key (rows with a NULL in a
    unique key never conflict, unless NULLS NOT DISTINCT)."""
    change = f"ALTER TABLE tags ADD CONSTRAINT tags_key {constraint};\n"
    [found] = [f for f in _history_findings(tmp_path, TAGS, change) if f.code == "DBS111"]
    assert found.help is not None and "(23505)" in found.help
    query = found.help.split("`")[-2]
    with psycopg.connect(conninfo) as conn:
        conn.execute(TAGS + f"INSERT INTO tags VALUES {rows};\n")
        duplicates = conn.execute(query).fetchall()
        try:
            with conn.transaction():
                conn.execute(change)
            refused = False
        except psycopg.errors.UniqueViolation:
            refused = True
    assert bool(duplicates) == refused, (duplicates, refused)


# (what the migration writes before the key, whether it makes the build fail whatever
# rows the table had)
@pytest.mark.parametrize(("writes", "fails"), [
    ("INSERT INTO tags (id, slug) VALUES (7, 'n'), (8, 'n');\n", True),
    ("INSERT INTO tags (id, slug) VALUES (7, 'n'::text), (8, 'n'::text);\n", True),
    ("INSERT INTO tags (id, slug) VALUES (7, 'n');\n"
     "INSERT INTO tags (id, slug, kind) VALUES (8, 'n', 'z');\n", True),
    ("INSERT INTO tags (id, slug) VALUES (7, 'm'), (8, 'n');\nUPDATE tags SET slug = 'q';\n",
     True),
    # (near misses: the rows differ, or what follows may remove or change them)
    ("INSERT INTO tags (id, slug) VALUES (7, 'm'), (8, 'n');\n", False),
    ("INSERT INTO tags (id, slug) VALUES (7, NULL), (8, NULL);\n", False),
    ("INSERT INTO tags (id, slug) VALUES (7, 'n'), (8, 'n');\nDELETE FROM tags WHERE id = 8;\n",
     False),
    ("INSERT INTO tags (id, slug) VALUES (7, 'n'), (8, 'n');\n"
     "UPDATE tags SET slug = slug || id;\n", False),
    ("INSERT INTO tags (id, slug) VALUES (7, 'm');\nUPDATE tags SET slug = 'q';\n", None),
    # a trigger the migration made rewrites what the INSERT writes
    ("CREATE FUNCTION tags_slug() RETURNS trigger LANGUAGE plpgsql AS "
     "$$ BEGIN NEW.slug := NEW.slug || NEW.id; RETURN NEW; END $$;\n"
     "CREATE TRIGGER tags_slug BEFORE INSERT ON tags FOR EACH ROW EXECUTE FUNCTION tags_slug();\n"
     "INSERT INTO tags (id, slug) VALUES (7, 'n'), (8, 'n');\n", False),
])
def test_dbs111_says_the_build_fails_where_the_migration_wrote_a_key_twice(
        conninfo: str, tmp_path: Path, writes: str, fails: bool | None) -> None:
    """Rows this migration wrote with the same key (an INSERT's, or one UPDATE giving every
    row one value after it inserted two) make the key's build fail (23505) whatever the
    table held: DBS111 says so then, and nothing where the rows differ or may have changed
    since (None: whether it fails depends on the rows the table had)."""
    change = writes + "ALTER TABLE tags ADD CONSTRAINT tags_key UNIQUE (slug);\n"
    with psycopg.connect(conninfo) as conn:
        for before in ("", "DELETE FROM tags;\n"):  # the table's rows, or none
            try:
                with conn.transaction():
                    conn.execute(TAGS + before + change)
                refused = False
            except psycopg.errors.UniqueViolation:
                refused = True
            if fails is not None:
                assert refused == fails, before
            conn.execute("DROP TABLE IF EXISTS tags; DROP FUNCTION IF EXISTS tags_slug()")
    [message] = [f.message for f in _history_findings(tmp_path, TAGS, change)
                 if f.code == "DBS111"]
    assert ("the build fails (23505)" in message) == bool(fails), message


STRAY_BEGIN = ("CREATE TABLE invoices (id bigint PRIMARY KEY);\nBEGIN;\n"
               "ALTER TABLE invoices ADD COLUMN total numeric;\n"
               "CREATE TABLE invoice_lines (id bigint);\n")


# the transaction `COMMIT AND CHAIN` opens is left open as the BEGIN's would be
CHAINED_COMMIT = STRAY_BEGIN.replace("numeric;\n", "numeric;\nCOMMIT AND CHAIN;\n")


@pytest.mark.parametrize("change", [STRAY_BEGIN, CHAINED_COMMIT], ids=["begin", "and-chain"])
def test_a_begin_nothing_commits_loses_the_changes_after_it_where_lint_says(
        conninfo: str, change: str) -> None:
    """DBS136: sent statement by statement (psql -f), everything after a stray BEGIN is
    rolled back when the connection closes, without an error; in a transaction the runner
    opened (psql -1), the BEGIN is a WARNING and the runner's COMMIT keeps it all."""
    from dbsafe.extract.sqlfile import split_sql
    from dbsafe.lint import lint_sql

    statements = [f.sql for f in split_sql(change, "stray.sql")]
    psql_f = psycopg.connect(conninfo, autocommit=True)
    psql_f.execute("CREATE SCHEMA psql_f; CREATE SCHEMA wrapped")
    psql_f.execute("SET search_path = psql_f")
    for sql in statements:
        psql_f.execute(sql)
    psql_f.close()  # as psql at the end of the file (a `with` block would COMMIT)
    warnings: list[str] = []
    with psycopg.connect(conninfo, autocommit=True) as runner:
        runner.add_notice_handler(lambda d: warnings.append(d.message_primary or ""))
        runner.execute("SET search_path = wrapped")
        runner.execute("BEGIN")
        for sql in statements:
            runner.execute(sql)
        runner.execute("COMMIT")
        kept = runner.execute("SELECT to_regclass('psql_f.invoice_lines'), "
                              "to_regclass('wrapped.invoice_lines')").fetchone()
    assert kept == (None, "invoice_lines")  # (wrapped is on the search_path)
    assert warnings == ["there is already a transaction in progress"]
    assert [f.code for f in lint_sql(change) if f.code == "DBS136"] == ["DBS136"]
    # a runner wrapping the file commits what is open at its end, a BEGIN after the
    # file's COMMIT too (DBS114's advice)
    for wrapped in (change, "COMMIT;\n" + change):
        assert [f.code for f in lint_sql(wrapped, in_transaction=True)
                if f.code == "DBS136"] == []


REPLACED_INDEX = """
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, created_at timestamptz);
INSERT INTO orders SELECT i, i, now() FROM generate_series(1, 20000) AS i;
CREATE INDEX ix_orders_customer ON orders (customer_id);
ANALYZE orders;
"""


@pytest.mark.parametrize(("change", "flagged"), [
    ("DROP INDEX CONCURRENTLY ix_orders_customer;\n"
     "CREATE INDEX CONCURRENTLY ix_new ON orders (customer_id, created_at);\n", True),
    ("CREATE INDEX CONCURRENTLY ix_new ON orders (customer_id, created_at);\n"
     "DROP INDEX CONCURRENTLY ix_orders_customer;\n", False),
], ids=["dropped-first", "built-first"])
def test_an_index_dropped_before_its_replacement_leaves_queries_scanning_where_lint_says(
        conninfo: str, tmp_path: Path, change: str, flagged: bool) -> None:
    """DBS137: between a committed DROP INDEX and the build of the index replacing it,
    another session's lookup by the leading column is a sequential scan."""
    with psycopg.connect(conninfo, autocommit=True) as migration:
        migration.execute(REPLACED_INDEX)
        findings = _database_findings(tmp_path, change, conninfo)
        plans = []
        with psycopg.connect(conninfo, autocommit=True) as app:
            for sql in change.splitlines():
                migration.execute(sql)
                plans.append(" ".join(r[0] for r in app.execute(
                    "EXPLAIN (COSTS OFF) SELECT * FROM orders WHERE customer_id = 5")))
    assert ("Seq Scan" in plans[0]) == flagged
    assert "Index" in plans[1]
    assert [(f.code, f.severity.value) for f in findings if f.code == "DBS137"] == (
        [("DBS137", "warning")] if flagged else [])  # weighed: a small table


@pytest.mark.parametrize(("change", "atomic", "flagged"), [
    ("BEGIN;\nCREATE TABLE a1 (id int);\nCOMMIT;\nCREATE TABLE a2 (id int);\nSELECT 1/0;\n",
     False, True),
    ("CREATE TABLE a1 (id int);\nROLLBACK;\nCREATE TABLE a2 (id int);\n", False, True),
    ("BEGIN;\nCREATE TABLE a1 (id int);\nCREATE TABLE a2 (id int);\nCOMMIT;\n", True, False),
    ("BEGIN;\nCREATE TABLE a1 (id int);\nCREATE TABLE a2 (id int);\nSELECT 1/0;\nCOMMIT;\n",
     True, False),
    # split in two transactions on purpose (DBS114's advice): not atomic, and not flagged
    ("CREATE TABLE a1 (id int);\nCOMMIT;\nBEGIN;\nCREATE TABLE a2 (id int);\nSELECT 1/0;\n",
     False, False),
], ids=["commit-then-failure", "rollback", "begin-commit-around-the-file", "failing-whole",
        "split-on-purpose"])
def test_a_migration_ending_its_runners_transaction_is_not_atomic_where_lint_says(
        conninfo: str, change: str, atomic: bool, flagged: bool) -> None:
    """DBS138: run as a runner wrapping the file runs it (its BEGIN, the file, its COMMIT,
    or its ROLLBACK on an error), the file keeps all of its tables or none, unless it ends
    the runner's transaction itself."""
    from dbsafe.extract.sqlfile import split_sql
    from dbsafe.lint import lint_sql

    failed = False
    with psycopg.connect(conninfo, autocommit=True) as runner:
        runner.execute("BEGIN")
        for fragment in split_sql(change, "change.sql"):
            try:
                runner.execute(fragment.sql)
            except psycopg.Error:
                failed = True
                break
        runner.execute("ROLLBACK" if failed else "COMMIT")
        kept = {name for (name,) in runner.execute(
            "SELECT relname::text FROM pg_class WHERE relname IN ('a1', 'a2')")}
    assert (kept == (set() if failed else {"a1", "a2"})) == atomic
    assert ("DBS138" in {f.code for f in lint_sql(change, in_transaction=True)}) == flagged


@pytest.mark.parametrize(("change", "kept", "lines"), [
    # the statements after it run in the transaction it opens: the runner's ROLLBACK
    # undoes only those
    ("CREATE TABLE a1 (id int);\nCOMMIT AND CHAIN;\nCREATE TABLE a2 (id int);\n"
     "SELECT 1/0;\n", {"a1"}, [2]),
    # a COMMIT after it ends the runner's transaction again: a3 runs on its own
    ("CREATE TABLE a1 (id int);\nCOMMIT AND CHAIN;\nCREATE TABLE a2 (id int);\nCOMMIT;\n"
     "CREATE TABLE a3 (id int);\nSELECT 1/0;\n", {"a1", "a2", "a3"}, [2, 4]),
], ids=["chain-then-failure", "commit-after-chain"])
def test_a_commit_and_chain_ends_its_runners_transaction_where_lint_says(
        conninfo: str, change: str, kept: set[str], lines: list[int]) -> None:
    """DBS138: `COMMIT AND CHAIN` in a runner's transaction commits it and opens the next,
    which the runner's COMMIT or ROLLBACK ends: not atomic either."""
    from dbsafe.extract.sqlfile import split_sql
    from dbsafe.lint import lint_sql

    with psycopg.connect(conninfo, autocommit=True) as runner:
        runner.execute("BEGIN")
        with pytest.raises(psycopg.errors.DivisionByZero):
            for fragment in split_sql(change, "change.sql"):
                runner.execute(fragment.sql)
        runner.execute("ROLLBACK")
        found = {name for (name,) in runner.execute(
            "SELECT relname::text FROM pg_class WHERE relname IN ('a1', 'a2', 'a3')")}
    assert found == kept
    findings = [f for f in lint_sql(change, in_transaction=True) if f.code == "DBS138"]
    assert [f.location.line for f in findings if f.location] == lines
    assert "rolls back only" in findings[0].message


def test_a_commit_after_autocommit_block_ends_the_transaction_alembic_opens_again(
        conninfo: str) -> None:
    """DBS138 in alembic after `autocommit_block()`: when the block ends alembic begins a
    transaction again (the generated BEGIN of a capture), to commit with the version row;
    a raw COMMIT in it ends it, and what follows is not undone by alembic's rollback."""
    from dbsafe.core import Location
    from dbsafe.extract.migration import Migration, MigrationStatement
    from dbsafe.lint.engine import lint_migration
    from dbsafe.lint.rules.runner_transaction_ended_early import RULE as DBS138

    file = "versions/0002_x.py"
    run = [("BEGIN", None), ("CREATE TABLE a0 (id int)", 10), ("COMMIT", None),
           ("CREATE INDEX CONCURRENTLY a0_id ON a0 (id)", 12), ("BEGIN", None),
           ("CREATE TABLE a1 (id int)", 13), ("COMMIT", 14), ("CREATE TABLE a2 (id int)", 15),
           ("SELECT 1/0", 16)]
    with psycopg.connect(conninfo, autocommit=True) as alembic:
        with pytest.raises(psycopg.errors.DivisionByZero):
            for sql, _ in run:
                alembic.execute(sql)
        alembic.execute("ROLLBACK")  # alembic's, on the error
        kept = {name for (name,) in alembic.execute(
            "SELECT relname::text FROM pg_class WHERE relname IN ('a1', 'a2')")}
    assert kept == {"a1", "a2"}
    migration = Migration(file, tuple(
        MigrationStatement(sql, Location("<alembic>", 1), generated=True) if line is None
        else MigrationStatement(sql, Location(file, line)) for sql, line in run),
        kind="alembic", revision="0002")
    [finding] = lint_migration(migration, [DBS138])
    assert finding.location == Location(file, 14)
    assert finding.message.startswith(
        "This COMMIT ends the transaction alembic opens again after `autocommit_block()` "
        "(its last statement at line 12), which it commits with the version row: the 2 "
        "statements after it run outside it")
