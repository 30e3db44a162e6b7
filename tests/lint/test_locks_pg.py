"""The lock table (`dbsafe.lint.locks`, `dbsafe lint --locks`) checked against `pg_locks`.

Each statement runs in an open transaction on one connection; a second connection reads
`pg_locks` for the first one's backend, and the strongest mode PostgreSQL granted on each
relation the lock table names must be the mode the table predicts.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import Settings, load_settings
from dbsafe.lint.locks import from_pg_locks, locks_for, strength
from dbsafe.lint.statement import parse_statement

pytestmark = pytest.mark.db

SETUP = """
CREATE TABLE customers (id int PRIMARY KEY);
CREATE TABLE orders (id int PRIMARY KEY, customer_id int, status text, note text,
                     total int, CONSTRAINT total_positive CHECK (total > 0) NOT VALID);
CREATE INDEX ix_orders_status ON orders (status);
CREATE SEQUENCE invoice_numbers;
CREATE MATERIALIZED VIEW order_totals AS SELECT customer_id, count(*) FROM orders
    GROUP BY customer_id;
CREATE TABLE events (at date) PARTITION BY RANGE (at);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE events_2025 (at date);
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER orders_touched BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION touch();
CREATE POLICY orders_mine ON orders USING (true);
CREATE TABLE audit_log (id int);
CREATE RULE audit_log_kept AS ON DELETE TO audit_log DO INSTEAD NOTHING;
"""

STATEMENTS = [
    "CREATE INDEX ix_orders_customer ON orders (customer_id)",
    "CREATE UNIQUE INDEX ux_orders_note ON orders (note)",
    "DROP INDEX ix_orders_status",
    "REINDEX INDEX ix_orders_status",
    "REINDEX TABLE orders",
    "ALTER INDEX ix_orders_status RENAME TO ix_orders_state",
    "ALTER SEQUENCE invoice_numbers RENAME TO invoice_nos",
    "ALTER TABLE orders ADD COLUMN shipped_at timestamptz",
    "ALTER TABLE orders ADD COLUMN priority int NOT NULL DEFAULT 0",
    "ALTER TABLE orders DROP COLUMN note",
    "ALTER TABLE orders ALTER COLUMN note SET DEFAULT 'none'",
    "ALTER TABLE orders ALTER COLUMN note DROP DEFAULT",
    "ALTER TABLE orders ALTER COLUMN note SET NOT NULL",
    "ALTER TABLE orders ALTER COLUMN note DROP NOT NULL",
    "ALTER TABLE orders ALTER COLUMN total TYPE bigint",
    "ALTER TABLE orders ALTER COLUMN note SET STATISTICS 200",
    "ALTER TABLE orders SET (fillfactor = 70)",
    "ALTER TABLE orders ADD CONSTRAINT fk_customer FOREIGN KEY (customer_id) "
    "REFERENCES customers (id) NOT VALID",
    "ALTER TABLE orders ADD CONSTRAINT fk_customer FOREIGN KEY (customer_id) "
    "REFERENCES customers (id)",
    "ALTER TABLE orders ADD CONSTRAINT note_short CHECK (length(note) < 100) NOT VALID",
    "ALTER TABLE orders VALIDATE CONSTRAINT total_positive",
    "ALTER TABLE orders ADD CONSTRAINT orders_note_key UNIQUE (note)",
    "ALTER TABLE orders RENAME COLUMN note TO notes",
    "ALTER TABLE orders RENAME CONSTRAINT total_positive TO total_above_zero",
    "ALTER TABLE orders RENAME CONSTRAINT orders_pkey TO orders_pk",
    "ALTER TRIGGER orders_touched ON orders RENAME TO orders_touch_up",
    "ALTER POLICY orders_mine ON orders RENAME TO orders_own",
    "ALTER RULE audit_log_kept ON audit_log RENAME TO audit_log_never_deleted",
    "ALTER TABLE orders RENAME TO purchases",
    "ALTER TABLE orders DISABLE TRIGGER ALL",
    "CREATE TRIGGER orders_touch BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION touch()",
    "COMMENT ON TABLE orders IS 'what customers bought'",
    "ALTER TABLE events ATTACH PARTITION events_2025 FOR VALUES FROM ('2025-01-01') "
    "TO ('2026-01-01')",
    "ALTER TABLE events DETACH PARTITION events_2024",
    "CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') "
    "TO ('2027-01-01')",
    "REFRESH MATERIALIZED VIEW order_totals",
    "TRUNCATE orders",
    "LOCK TABLE orders IN SHARE MODE",
    "INSERT INTO orders (id) VALUES (1)",
    "UPDATE orders SET note = 'x'",
    "DELETE FROM orders",
    "SELECT count(*) FROM orders",
    "DROP TABLE customers",
]


def _granted(conninfo: str, sql: str, *, tables_only: bool = False) -> dict[str, str]:
    """The strongest lock mode PostgreSQL grants `sql` on each relation, by name (with
    `tables_only`, on each table it uses, not its indexes)."""
    kinds = "AND c.relkind IN ('r', 'p') " if tables_only else ""
    with psycopg.connect(conninfo) as session, psycopg.connect(conninfo, autocommit=True) as observer:
        session.execute(sql)  # psycopg opened a transaction: the locks are still held
        rows = observer.execute(
            "SELECT c.relname, l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE l.pid = %s AND l.locktype = 'relation' AND l.granted "
            + kinds + "AND c.relnamespace = 'public'::regnamespace",
            (session.info.backend_pid,)).fetchall()
        session.rollback()
    strongest: dict[str, str] = {}
    for relation, pg_mode in rows:
        mode = from_pg_locks(pg_mode)
        if mode and (relation not in strongest or strength(mode) > strength(strongest[relation])):
            strongest[relation] = mode
    return strongest


def test_the_lock_table_matches_pg_locks(conninfo: str) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(SETUP)
    wrong = []
    for sql in STATEMENTS:
        predicted = [lock for lock in locks_for(parse_statement(sql))
                     if lock.relation is not None and lock.target != "type"]
        assert predicted, f"the lock table predicts nothing for {sql}"
        granted = _granted(conninfo, sql)
        for lock in predicted:
            seen = granted.get(lock.relation.rsplit(".", 1)[-1])
            if seen != lock.mode:
                wrong.append(f"{sql}: {lock.relation}: predicted {lock.mode}, "
                             f"pg_locks shows {seen}")
    assert not wrong, "\n".join(wrong)


READING = [
    "INSERT INTO orders (id, customer_id) SELECT id, id FROM customers",
    "WITH c AS (SELECT id FROM customers) INSERT INTO orders (id) SELECT id FROM c",
    "UPDATE orders SET note = 'x' FROM customers WHERE customers.id = orders.customer_id",
    "DELETE FROM orders USING customers WHERE customers.id = orders.customer_id",
    "DELETE FROM orders WHERE customer_id IN (SELECT id FROM customers)",
    "MERGE INTO orders USING customers ON orders.id = customers.id "
    "WHEN NOT MATCHED THEN INSERT (id) VALUES (customers.id)",
    "WITH gone AS (DELETE FROM customers RETURNING id) INSERT INTO orders (id) "
    "SELECT id FROM gone",
    "SELECT o.id FROM orders o WHERE o.customer_id IN (SELECT id FROM customers)",
]


def test_a_statement_locks_every_table_it_reads_or_writes_as_pg_locks_shows(
        conninfo: str) -> None:
    """A backfill (`INSERT ... SELECT`, `UPDATE ... FROM`, ...) locks the tables it reads, not
    only its target: mergin's c13819c566e7 fills a new `file_history` from every row of
    `project_version` while its new foreign key keeps `project_version` SHARE ROW EXCLUSIVE
    locked, and the lock table knew only the target, so DBS125 missed the backfill."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(SETUP)
    wrong = []
    for sql in READING:
        predicted: dict[str, str] = {}
        for lock in locks_for(parse_statement(sql)):
            if lock.relation is not None and lock.target != "type":
                name = lock.relation.rsplit(".", 1)[-1]
                if name not in predicted or strength(lock.mode) > strength(predicted[name]):
                    predicted[name] = lock.mode
        granted = _granted(conninfo, sql, tables_only=True)
        if predicted != granted:
            wrong.append(f"{sql}: predicted {predicted}, pg_locks shows {granted}")
    assert not wrong, "\n".join(wrong)


NEW_TABLES = [
    "CREATE TABLE folders (id int PRIMARY KEY, parent_id int REFERENCES folders (id))",
    "CREATE TABLE folders (id int PRIMARY KEY, parent_id int, "
    "CONSTRAINT fk_parent FOREIGN KEY (parent_id) REFERENCES folders (id))",
    "CREATE TABLE folders (id int PRIMARY KEY, parent_id int REFERENCES folders (id), "
    "customer_id int REFERENCES customers (id))",
]


def test_a_new_table_locks_the_existing_tables_pg_locks_shows(conninfo: str) -> None:
    """A new table's foreign key locks the table it references, unless that is the new
    table itself (gitness's `spaces.space_parent_id`): nobody else can see it yet, and
    pg_locks shows no lock on an existing table, where DBS115 said SHARE ROW EXCLUSIVE on
    `spaces` waited without a lock_timeout."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(SETUP)
        existing = {name for (name,) in conn.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace "
            "AND relkind IN ('r', 'p')")}
    wrong = []
    for sql in NEW_TABLES:
        predicted: dict[str, str] = {}
        for lock in locks_for(parse_statement(sql)):
            if lock.relation is not None and lock.target != "type":
                predicted[lock.relation.rsplit(".", 1)[-1]] = lock.mode
        granted = {name: mode for name, mode in _granted(conninfo, sql, tables_only=True).items()
                   if name in existing}
        if predicted != granted:
            wrong.append(f"{sql}: predicted {predicted}, pg_locks shows {granted}")
    assert not wrong, "\n".join(wrong)


def test_creating_a_function_locks_no_table_its_body_uses(conninfo: str, tmp_path: Path) -> None:
    """`--locks` listed the statements of a function's body at its CREATE FUNCTION, as
    locks taken there (gitness's trigger function reading `old_table`, a transition table):
    PostgreSQL locks none of those tables until the function is called."""
    function = ("CREATE FUNCTION mark() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
                "    UPDATE orders SET note = 'x';\n"
                "    INSERT INTO customers SELECT id FROM old_rows;\n"
                "    RETURN NULL;\nEND $$")
    (tmp_path / "1_mark.sql").write_text(function + ";\n")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(SETUP)
    rows = commands.lock_report(load_settings(tmp_path, environ={}), [tmp_path / "1_mark.sql"])
    predicted = {row.relation: row.mode for row in rows if row.relation is not None}
    assert predicted == _granted(conninfo, function, tables_only=True) == {}


@pytest.mark.parametrize("before", [
    "DROP TABLE IF EXISTS sessions;\n",
    "ALTER TABLE sessions RENAME TO sessions_backup;\n",
    "",  # nothing: IF NOT EXISTS keeps the table there, and the rest works on it
], ids=["dropped", "renamed-away", "kept"])
def test_a_table_created_if_not_exists_after_its_drop_is_new_where_postgresql_says(
        conninfo: str, tmp_path: Path, before: str) -> None:
    """authelia drops a table (or renames it to a backup) and creates it again with `CREATE
    TABLE IF NOT EXISTS` in the same migration, then indexes it and adds its keys. DBS101
    and DBS106 said writes to the table wait while its index is built and its rows checked,
    as if IF NOT EXISTS had kept the old table: PostgreSQL makes a new one, which nobody
    else sees yet, and builds the index and checks the key there."""
    setup = ("CREATE TABLE users (id int PRIMARY KEY);\n"
             "CREATE TABLE sessions (id int, user_id int);\n"
             "INSERT INTO users VALUES (1);\nINSERT INTO sessions VALUES (1, 1);\n")
    migration = before + (
        "CREATE TABLE IF NOT EXISTS sessions (id int, user_id int);\n"
        "CREATE INDEX ix_sessions_user ON sessions (user_id);\n"
        "ALTER TABLE sessions ADD CONSTRAINT fk_user FOREIGN KEY (user_id) REFERENCES users (id);\n")
    (tmp_path / "1_init.sql").write_text(setup)
    (tmp_path / "2_recreate.sql").write_text(migration)
    with psycopg.connect(conninfo) as conn:
        conn.execute(setup)
        conn.commit()
        (old,) = conn.execute("SELECT 'sessions'::regclass::oid").fetchone()
        conn.execute(migration)
        (indexed, keyed) = conn.execute(
            "SELECT (SELECT indrelid FROM pg_index WHERE indexrelid = 'ix_sessions_user'::regclass),"
            " (SELECT conrelid FROM pg_constraint WHERE conname = 'fk_user')").fetchone()
        conn.rollback()
    on_old_table = {indexed, keyed} == {old}
    assert on_old_table == (before == "")  # the case above is what PostgreSQL does
    report = commands.lint(load_settings(tmp_path, environ={}), [tmp_path])
    flagged = sorted(f.code for f in report.findings if f.location is not None
                     and f.location.path.endswith("2_recreate.sql")
                     and f.code in ("DBS101", "DBS106"))
    assert flagged == (["DBS101", "DBS106"] if on_old_table else [])


@pytest.mark.parametrize("earlier", ["", "CREATE SEQUENCE bandwidth_usage_id_seq;\n"],
                         ids=["made-here", "there-before"])
def test_a_sequence_made_in_the_migration_is_new_where_postgresql_says(
        conninfo: str, tmp_path: Path, earlier: str) -> None:
    """Cap-go's `supabase db dump` baseline makes each sequence (`CREATE SEQUENCE IF NOT
    EXISTS`), then sets its owner with `ALTER TABLE ... OWNER TO`: ACCESS EXCLUSIVE on the
    sequence. DBS115 (and DBS114 on the next statement) said every query on it waits, as if it had been there
    before: PostgreSQL makes a new one no other session sees until COMMIT."""
    migration = ("CREATE SEQUENCE IF NOT EXISTS bandwidth_usage_id_seq AS integer;\n"
                 "ALTER TABLE bandwidth_usage_id_seq OWNER TO CURRENT_USER;\n")
    (tmp_path / "1_init.sql").write_text(earlier + "CREATE TABLE users (id int);\n")
    (tmp_path / "2_usage.sql").write_text(migration)
    with psycopg.connect(conninfo) as conn, psycopg.connect(conninfo, autocommit=True) as other:
        conn.execute(earlier)
        conn.commit()
        conn.execute(migration)
        pid = conn.info.backend_pid
        held = other.execute(
            "SELECT mode FROM pg_locks WHERE pid = %s AND relation = 'bandwidth_usage_id_seq'"
            "::regclass AND granted", (pid,)).fetchall() if earlier else []
        seen = other.execute("SELECT to_regclass('bandwidth_usage_id_seq')").fetchone()
        conn.rollback()
    waits = seen is not None and seen[0] is not None  # other sessions see (and wait on) it
    assert waits == bool(earlier)
    assert (("AccessExclusiveLock",) in held) == bool(earlier)
    report = commands.lint(load_settings(tmp_path, environ={}), [tmp_path])
    flagged = sorted(f.code for f in report.findings if f.location is not None
                     and f.location.path.endswith("2_usage.sql"))
    assert flagged == (["DBS115"] if earlier else [])


def test_missing_timeouts_name_every_existing_table_the_statement_locks(
        conninfo: str, tmp_path: Path) -> None:
    """nova's d60bddf7a903 drops `share_mapping` to make it again: the DROP takes ACCESS
    EXCLUSIVE on `instances` too (its foreign key's triggers go), so every query on nova's
    busiest table queues while the DROP waits. DBS115 named `share_mapping` alone, the first
    lock of the statement, and was weighed by that table's size."""
    setup = ("CREATE TABLE instances (uuid varchar(36) PRIMARY KEY);\n"
             "CREATE TABLE share_mapping (id int, instance_uuid varchar(36) "
             "REFERENCES instances (uuid));\n")
    migration = "DROP TABLE share_mapping;\n"
    (tmp_path / "1_init.sql").write_text(setup)
    (tmp_path / "2_drop.sql").write_text(migration)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(setup)
    held = {name for name, mode in _granted(conninfo, migration, tables_only=True).items()
            if mode == "ACCESS EXCLUSIVE"}
    assert held == {"instances", "share_mapping"}  # what PostgreSQL does
    report = commands.lint(load_settings(tmp_path, environ={}), [tmp_path])
    named = {f.subject for f in report.findings if f.code == "DBS115"
             and f.location is not None and f.location.path.endswith("2_drop.sql")}
    assert named == held


BELOW_SETUP = """
CREATE TABLE asym_key (id int PRIMARY KEY, created_at timestamp, note text,
                       CONSTRAINT note_short CHECK (length(note) < 100));
CREATE TABLE key_access_server_keys (kas_id int) INHERITS (asym_key);
CREATE TABLE rotated_keys () INHERITS (key_access_server_keys);
CREATE TABLE events (at date, note text) PARTITION BY RANGE (at);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER events_touched BEFORE UPDATE ON events FOR EACH ROW EXECUTE FUNCTION touch();
CREATE TRIGGER asym_key_touched BEFORE UPDATE ON asym_key FOR EACH ROW EXECUTE FUNCTION touch();
"""

BELOW = [
    "ALTER TABLE asym_key ALTER COLUMN created_at TYPE timestamptz",
    "ALTER TABLE asym_key ADD COLUMN expiration timestamptz",
    "ALTER TABLE asym_key ALTER COLUMN note SET DEFAULT 'none'",
    "ALTER TABLE asym_key ALTER COLUMN note SET NOT NULL",
    "ALTER TABLE asym_key ALTER COLUMN note SET STATISTICS 200",
    "ALTER TABLE asym_key DROP CONSTRAINT note_short",
    "ALTER TABLE asym_key ADD CONSTRAINT id_positive CHECK (id > 0) NOT VALID",
    "ALTER TABLE asym_key RENAME COLUMN note TO remark",
    "ALTER TABLE asym_key DISABLE TRIGGER asym_key_touched",
    "ALTER TABLE asym_key SET (fillfactor = 70)",
    "ALTER TABLE ONLY asym_key ALTER COLUMN note SET DEFAULT 'none'",
    "ALTER TABLE key_access_server_keys ALTER COLUMN note SET DEFAULT 'none'",
    "ALTER TABLE events ALTER COLUMN note TYPE varchar(10)",
    "ALTER TABLE events DISABLE TRIGGER events_touched",
    "ALTER TABLE events RENAME COLUMN note TO remark",
]


@pytest.mark.parametrize("sql", BELOW)
def test_an_alter_table_without_only_locks_the_tables_below_as_pg_locks_shows(
        conninfo: str, tmp_path: Path, sql: str) -> None:
    """opentdf's `ALTER TABLE asym_key ALTER COLUMN created_at TYPE timestamptz` takes
    `key_access_server_keys`, which `INHERITS (asym_key)` and holds the keys, ACCESS
    EXCLUSIVE and rewrites it (TimeZone not UTC): ALTER TABLE without ONLY recurses to the
    tables that inherit from the one named and to its partitions. `--locks` named
    `asym_key` alone, and DBS110/DBS115 never said the child's rows waited."""
    (tmp_path / "1_init.sql").write_text(BELOW_SETUP)
    (tmp_path / "2_alter.sql").write_text(sql + ";\n")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(BELOW_SETUP)
    rows = commands.lock_report(load_settings(tmp_path, environ={}), [tmp_path])
    predicted: dict[str, str] = {}
    for row in rows:
        if row.relation is not None and row.location.path.endswith("2_alter.sql"):
            name = row.relation.rsplit(".", 1)[-1]
            if name not in predicted or strength(row.mode) > strength(predicted[name]):
                predicted[name] = row.mode
    assert predicted == _granted(conninfo, sql, tables_only=True)


def test_a_type_change_names_the_tables_below_it_rewrites(tmp_path: Path) -> None:
    """DBS110 names the inheriting table the type change rewrites too."""
    (tmp_path / "1_init.sql").write_text(BELOW_SETUP)
    (tmp_path / "2_alter.sql").write_text(BELOW[0] + ";\n")
    report = commands.lint(load_settings(tmp_path, environ={}), [tmp_path])
    (message,) = [f.message for f in report.findings if f.code == "DBS110"]
    assert "the same for `key_access_server_keys`, `rotated_keys`" in message
    locked = {f.subject for f in report.findings if f.code == "DBS115"}
    assert {"asym_key", "key_access_server_keys", "rotated_keys"} <= locked


def test_a_type_change_on_a_partitioned_table_says_its_partitions_are_rewritten(
        conninfo: str, tmp_path: Path) -> None:
    """A partitioned table has no storage (relfilenode 0): `ALTER TABLE events ALTER COLUMN
    note TYPE varchar(10)` rewrites `events_2024`, not `events`. DBS110 said it rewrote
    `events` and "the same for" its partition, as for a table with rows of its own."""
    sql = BELOW[-3]
    (tmp_path / "1_init.sql").write_text(BELOW_SETUP)
    (tmp_path / "2_alter.sql").write_text(sql + ";\n")
    query = ("SELECT relname, relfilenode FROM pg_class "
             "WHERE relname IN ('events', 'events_2024')")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(BELOW_SETUP)
        before = dict(conn.execute(query).fetchall())
        conn.execute(sql)
        after = dict(conn.execute(query).fetchall())
    assert before["events"] == after["events"] == 0  # what PostgreSQL does
    assert before["events_2024"] != after["events_2024"]
    report = commands.lint(load_settings(tmp_path, environ={}), [tmp_path])
    (message,) = [f.message for f in report.findings if f.code == "DBS110"]
    assert message == (
        "Changing `events.note` from `text` to `varchar(10)` rewrites the partitions of "
        "`events` (`events_2024`; a partitioned table has no rows of its own) under an "
        "ACCESS EXCLUSIVE lock; reads and writes on `events` and its partitions wait until "
        "every row is rewritten.")


def test_the_lock_table_says_a_partitioned_tables_partitions_are_rewritten_not_it(
        conninfo: str, tmp_path: Path, database_url: str) -> None:
    """`dbsafe lint --locks` said `rewrite yes` on `events` itself for `ALTER TABLE events
    ALTER COLUMN note TYPE varchar(10)`, while DBS110 says a partitioned table has no rows of
    its own: PostgreSQL gives `events_2024` a new relfilenode and leaves `events` at 0. Each
    row's rewrite now says whether PostgreSQL rewrote that relation."""
    sql = BELOW[-3]
    (tmp_path / "1_init.sql").write_text(BELOW_SETUP)
    (tmp_path / "2_alter.sql").write_text(sql + ";\n")
    query = ("SELECT relname, relfilenode FROM pg_class "
             "WHERE relname IN ('events', 'events_2024')")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(BELOW_SETUP)
        # Linting against the database too: it says `events` is partitioned.
        settings = Settings(project_root=tmp_path, database_url=database_url)
        against_database = {row.relation.rsplit(".", 1)[-1]: row.rewrites for row in
                            commands.lock_report(settings, [tmp_path / "2_alter.sql"])}
        before = dict(conn.execute(query).fetchall())
        conn.execute(sql)
        after = dict(conn.execute(query).fetchall())
    rewritten = {name: before[name] != after[name] for name in before}
    rows = [row for row in commands.lock_report(load_settings(tmp_path, environ={}), [tmp_path])
            if row.location.path.endswith("2_alter.sql")]
    assert {row.relation: row.rewrites for row in rows} == rewritten == against_database == {
        "events": False, "events_2024": True}
    (parent,) = [row for row in rows if row.relation == "events"]
    assert (parent.mode, parent.note) == (
        "ACCESS EXCLUSIVE", "a partitioned table has no rows of its own: its partitions are "
                            "rewritten or scanned, under this lock")


def test_the_tables_below_are_read_from_the_database_with_database_url(
        conninfo: str, tmp_path: Path, database_url: str) -> None:
    """Linting against the database, the inheriting tables and partitions it has are known."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(BELOW_SETUP)
    for sql in (BELOW[0], BELOW[-3]):  # inheritance, partitions
        path = tmp_path / "alter.sql"
        path.write_text(sql + ";\n")
        settings = Settings(project_root=tmp_path, database_url=database_url)
        predicted = {row.relation.rsplit(".", 1)[-1]: row.mode
                     for row in commands.lock_report(settings, [path]) if row.relation}
        assert predicted == _granted(conninfo, sql, tables_only=True)


NESTED_BEGIN = ("ALTER TABLE orders ADD COLUMN archived boolean;\n"
                "BEGIN;\n"
                "UPDATE customers SET id = id + 0;\n"
                "COMMIT;\n")


def test_a_begin_inside_the_runners_transaction_keeps_its_locks_where_lint_says(
        conninfo: str) -> None:
    """Kinto's storage migration 017_018 (each file run in one transaction) adds a column,
    then opens `BEGIN WORK` of its own: a no-op inside the runner's transaction (WARNING
    25001), so the ACCESS EXCLUSIVE lock the ALTER took is still held by the statements
    after it. DBS114 and DBS125 started afresh at any BEGIN and let the UPDATE pass."""
    from dbsafe.extract.sqlfile import split_sql
    from dbsafe.lint import lint_sql

    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(SETUP)
    with psycopg.connect(conninfo, autocommit=True) as runner, \
            psycopg.connect(conninfo, autocommit=True) as observer:
        runner.execute("BEGIN")
        held = []
        for fragment in split_sql(NESTED_BEGIN, "017_018.sql")[:3]:
            runner.execute(fragment.sql)
            held.append(observer.execute(
                "SELECT l.mode FROM pg_locks l WHERE l.pid = %s AND l.granted "
                "AND l.relation = 'orders'::regclass AND l.mode = 'AccessExclusiveLock'",
                (runner.info.backend_pid,)).fetchall() != [])
        runner.execute("ROLLBACK")
    assert held == [True, True, True]  # through the BEGIN and the UPDATE after it
    flagged = [(f.code, f.location.line) for f in lint_sql(NESTED_BEGIN, in_transaction=True)
               if f.code == "DBS114" and f.location is not None]
    assert flagged == [("DBS114", 3)]


def test_a_rollback_after_a_nested_begin_undoes_the_runners_timeouts_where_lint_says(
        conninfo: str) -> None:
    """A `ROLLBACK` after a BEGIN nested in the runner's transaction rolls the runner's back,
    and the `SET`s made in it with it: the ALTER after it waits for its lock with no
    timeout. Lint took the timeouts as they stood at the nested BEGIN."""
    from dbsafe.extract.sqlfile import split_sql
    from dbsafe.lint import lint_sql

    change = ("SET lock_timeout = '5s';\nSET statement_timeout = '1min';\nBEGIN;\nROLLBACK;\n"
              "ALTER TABLE orders ADD COLUMN archived boolean;\n")
    with psycopg.connect(conninfo, autocommit=True) as runner:
        runner.execute(SETUP)
        runner.execute("BEGIN")
        for fragment in split_sql(change, "x.sql")[:4]:
            runner.execute(fragment.sql)
        after = runner.execute("SELECT current_setting('lock_timeout'), "
                               "current_setting('statement_timeout')").fetchone()
    assert after == ("0", "0")
    flagged = [f.location.line for f in lint_sql(change, in_transaction=True)
               if f.code == "DBS115" and f.location is not None]
    assert flagged == [5]


def test_a_table_moved_to_another_schema_is_locked_where_lint_says(conninfo: str) -> None:
    """Renku's a11752a5afba (task 489): `ALTER TABLE projects.project_slugs SET SCHEMA
    common` takes ACCESS EXCLUSIVE, which pg_locks read in its transaction shows under the
    new schema's name. The lock
    table predicted nothing: no DBS115, no `--locks` row, and the captured revision's DBS119
    said PostgreSQL took a lock dbsafe did not predict."""
    from dbsafe.core import Location
    from dbsafe.extract.migration import Migration, MigrationStatement, Observed
    from dbsafe.lint.engine import lint_migration
    from dbsafe.lint.rules import ALL_RULES, missing_lock_timeout, unpredicted_lock

    sql = "ALTER TABLE public.orders SET SCHEMA archive"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA archive; CREATE TABLE orders (id serial PRIMARY KEY)")
    with psycopg.connect(conninfo) as session:
        session.execute(sql)
        # Read inside the statement's transaction, as the capture reads it: another session
        # still sees the catalog as it was and names the table `public.orders`.
        seen = session.execute(
            "SELECT c.relnamespace::regnamespace::text || '.' || c.relname, l.mode, c.relkind "
            "FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' "
            "AND c.relnamespace <> 'pg_catalog'::regnamespace").fetchall()
        session.rollback()
    assert ("archive.orders", "AccessExclusiveLock", "r") in seen
    lock, = locks_for(parse_statement(sql))
    assert (lock.mode, lock.relation) == ("ACCESS EXCLUSIVE", "public.orders")

    observed = Observed(locks=tuple((name, mode, kind) for name, mode, kind in seen))
    statements = (MigrationStatement("BEGIN", Location("versions/a1.py", 1), generated=True),
                  MigrationStatement(sql, Location("versions/a1.py", 2), observed=observed),
                  MigrationStatement("COMMIT", Location("versions/a1.py", 3), generated=True))
    migration = Migration("versions/a1.py", statements, kind="alembic", revision="a1")
    assert [f.code for f in lint_migration(migration, [unpredicted_lock.RULE])] == []
    assert [f.code for f in lint_migration(migration, [missing_lock_timeout.RULE])] == [
        "DBS115"]
    assert unpredicted_lock.RULE in ALL_RULES


@pytest.mark.parametrize("change", ["SET DATA TYPE integer", "TYPE bigint"])
def test_the_keys_to_a_table_outside_public_are_read_from_the_database(
        conninfo: str, tmp_path: Path, database_url: str, change: str) -> None:
    """Renku's ce54fdbb40fe (task 489): `ALTER TABLE common.entity_slugs ALTER COLUMN id SET
    DATA TYPE integer` (the type it has) rebuilds `common.entity_slugs_old`'s foreign key to
    it, ACCESS EXCLUSIVE. With `--database-url` lint looked the referencing table up by its
    bare name on the search_path and, outside `public`, found no key: the lock was
    DBS119's "did not predict", and a real type change's DBS110 said nothing of the
    recheck."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA common; CREATE TABLE common.slugs (id int PRIMARY KEY); "
                     "CREATE TABLE common.slugs_old (id int PRIMARY KEY, latest int "
                     "REFERENCES common.slugs (id))")
    sql = f"ALTER TABLE common.slugs ALTER COLUMN id {change}"
    with psycopg.connect(conninfo) as session:
        session.execute(sql)
        seen = dict(session.execute(
            "SELECT c.relname, max(l.mode) FILTER (WHERE l.mode = 'AccessExclusiveLock') "
            "FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE l.pid = pg_backend_pid() AND c.relkind = 'r' "
            "AND c.relnamespace = 'common'::regnamespace GROUP BY 1").fetchall())
        session.rollback()
    assert seen == {"slugs": "AccessExclusiveLock", "slugs_old": "AccessExclusiveLock"}
    path = tmp_path / "alter.sql"
    path.write_text(sql + ";\n")
    settings = Settings(project_root=tmp_path, database_url=database_url)
    predicted = [(row.relation, row.mode) for row in commands.lock_report(settings, [path])]
    assert predicted == [("common.slugs", "ACCESS EXCLUSIVE"),
                         ("common.slugs_old", "ACCESS EXCLUSIVE")]
