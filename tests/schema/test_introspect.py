"""Introspection of a real database: the `shop` fixture must read back as shop.json."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest
from helpers import assert_snapshot
from psycopg import sql

from dbsafe.core import DatabaseError
from dbsafe.schema.introspect import (
    KeptSession,
    introspect,
    introspect_session,
    introspect_url,
)
from dbsafe.schema.model import (
    Cast,
    DefaultPrivileges,
    EventTrigger,
    SchemaSnapshot,
    Statistics,
    replace,
)

FIXTURES = Path(__file__).parent / "fixtures"
SECRET = "pa55-W0rd-never-shown"

pytestmark = pytest.mark.db


def _load_shop(conn: psycopg.Connection) -> None:
    conn.execute((FIXTURES / "shop.sql").read_text(encoding="utf-8"))
    conn.commit()


def _portable(snapshot: SchemaSnapshot) -> SchemaSnapshot:
    # The golden must pass on every supported server, so the version and the owning role
    # (the test server's user) are not part of it.
    from dbsafe.schema.diff import without_owners

    return replace(without_owners(snapshot), server_version=None)


def _without_server_texts(snapshot: SchemaSnapshot) -> SchemaSnapshot:
    # Older servers print view definitions with qualified columns and ship other extension
    # versions (and the versions those update to); everything else must match the golden
    # (taken on PostgreSQL 18) exactly.
    return replace(
        snapshot,
        relations=tuple(replace(r, definition=None) for r in snapshot.relations),
        extensions=tuple(replace(e, version="", updates=None) for e in snapshot.extensions),
    )


def test_shop_schema_introspects_to_golden_snapshot(postgresql: psycopg.Connection) -> None:
    _load_shop(postgresql)
    snapshot = introspect(postgresql)
    assert snapshot.server_version is not None and snapshot.server_version >= 120000
    if snapshot.server_version // 10000 == 18:
        assert_snapshot(_portable(snapshot).to_json(), FIXTURES / "shop.json")
    else:
        golden = SchemaSnapshot.load(FIXTURES / "shop.json")
        assert _without_server_texts(_portable(snapshot)).to_json() == \
            _without_server_texts(golden).to_json()


def test_introspection_is_deterministic(postgresql: psycopg.Connection) -> None:
    _load_shop(postgresql)
    assert introspect(postgresql).to_json() == introspect(postgresql).to_json()


def test_extension_objects_are_left_out(postgresql: psycopg.Connection) -> None:
    _load_shop(postgresql)
    snapshot = introspect(postgresql)
    # postgres_fdw installs its functions into public; they are not the app's schema.
    assert not [f for f in snapshot.functions if f.name.startswith("postgres_fdw")]
    assert snapshot.relation("public", "warehouse_stock").kind == "foreign_table"


def test_schemas_argument_limits_what_is_read(postgresql: psycopg.Connection) -> None:
    _load_shop(postgresql)
    snapshot = introspect(postgresql, schemas=["public"])
    assert snapshot.schemas == ("public",)
    assert {r.schema for r in snapshot.relations} == {"public"}
    assert {f.schema for f in snapshot.functions} == {"public"}
    assert snapshot.enums == ()
    # A foreign key into an unread schema still names its target.
    notes = snapshot.relation("public", "CustomerNotes")
    fk = next(c for c in notes.constraints if c.kind == "foreign_key")
    assert (fk.referenced_table, fk.referenced_columns) == ("shop.customers", ("id",))


def test_a_view_depends_on_the_relations_functions_and_columns_it_reads(
        postgresql: psycopg.Connection) -> None:
    # (task 464: the three kinds are found from one list of the user's views' dependencies)
    postgresql.execute(
        "CREATE SCHEMA other; CREATE TABLE other.t (a int, b int, c text);"
        "CREATE FUNCTION other.twice(x int) RETURNS int LANGUAGE sql IMMUTABLE"
        " AS 'SELECT 2 * x';"
        "CREATE VIEW public.v AS SELECT other.twice(a) AS a2, c FROM other.t;"
        "CREATE MATERIALIZED VIEW other.m AS SELECT a2 FROM public.v;"
        "CREATE VIEW public.counted AS SELECT count(*) AS n FROM other.t")
    snapshot = introspect(postgresql)
    expected = {
        ("public", "v"): (("other.t", "other.twice(x integer)"), ("other.t.a", "other.t.c")),
        ("other", "m"): (("public.v",), ("public.v.a2",)),
        ("public", "counted"): (("other.t",), ()),
        ("other", "t"): ((), None),
    }
    for (schema, name), (depends_on, columns) in expected.items():
        relation = snapshot.relation(schema, name)
        assert relation is not None
        assert (relation.depends_on, relation.depends_on_columns) == (depends_on, columns)
    # Only the schemas read: a view there still names what it reads in the others.
    public = introspect(postgresql, schemas=["public"])
    assert {r.name for r in public.relations} == {"v", "counted"}
    assert public.relation("public", "v") == snapshot.relation("public", "v")


def test_default_privileges_are_read_for_the_schemas_read_and_every_schema(
        postgresql: psycopg.Connection) -> None:
    postgresql.execute("CREATE SCHEMA other")
    postgresql.execute("ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT ON "
                       "TABLES TO PUBLIC")
    postgresql.execute("ALTER DEFAULT PRIVILEGES IN SCHEMA other GRANT USAGE ON SEQUENCES "
                       "TO PUBLIC")
    postgresql.execute("ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC")
    postgresql.commit()
    role = postgresql.info.user
    everywhere = DefaultPrivileges(role, "functions", None, (f"{role}=X/{role}",))
    in_public = DefaultPrivileges(role, "tables", "public", (f"=ar/{role}",))
    in_other = DefaultPrivileges(role, "sequences", "other", (f"=U/{role}",))
    assert introspect(postgresql).default_privileges == (everywhere, in_other, in_public)
    # An entry for every schema holds in the ones read too.
    assert introspect(postgresql, schemas=["public"]).default_privileges == (
        everywhere, in_public)


def test_a_publication_of_whole_schemas_names_them(postgresql: psycopg.Connection) -> None:
    if postgresql.info.server_version < 150000:
        pytest.skip("FOR TABLES IN SCHEMA came in PostgreSQL 15")
    postgresql.execute("CREATE SCHEMA chat; CREATE TABLE public.rooms (id integer); "
                       "CREATE PUBLICATION feed FOR TABLE public.rooms, TABLES IN SCHEMA chat")
    postgresql.commit()
    feed = introspect(postgresql).publications[0]
    assert (feed.tables, feed.schemas) == (("public.rooms",), ("chat",))


def test_casts_of_ones_own_are_read_but_a_range_type_s(postgresql: psycopg.Connection) -> None:
    postgresql.execute("CREATE DOMAIN b64 AS bytea")
    postgresql.execute("CREATE FUNCTION \"json\"(b64) RETURNS json LANGUAGE sql "
                       "AS $$ SELECT to_json(encode($1, 'base64')) $$")
    postgresql.execute("CREATE CAST (b64 AS json) WITH FUNCTION \"json\"(b64) AS IMPLICIT")
    postgresql.execute("COMMENT ON CAST (b64 AS json) IS 'base64'")
    # CREATE TYPE ... AS RANGE makes a cast to its multirange type (and its constructors),
    # which depend on the type internally: DROP CAST of it is refused (2BP01).
    postgresql.execute("CREATE TYPE floatrange AS RANGE (subtype = float8)")
    postgresql.commit()
    assert introspect(postgresql).casts == (
        Cast("b64", "json", '"json"(b64)', "implicit", "function", "base64"),)


def test_event_triggers_are_read_but_an_extension_s(postgresql: psycopg.Connection) -> None:
    postgresql.execute("CREATE SCHEMA \"Audit\"")
    postgresql.execute("CREATE FUNCTION \"Audit\".\"Log\"() RETURNS event_trigger "
                       "LANGUAGE plpgsql AS 'BEGIN END'")
    postgresql.execute("CREATE EVENT TRIGGER log ON ddl_command_end "
                       "WHEN TAG IN ('drop table', 'CREATE TABLE') EXECUTE FUNCTION \"Audit\".\"Log\"()")
    postgresql.execute("ALTER EVENT TRIGGER log ENABLE REPLICA")
    postgresql.execute("COMMENT ON EVENT TRIGGER log IS 'what changed'")
    # One an extension owns is the extension's, as its tables and functions are.
    postgresql.execute("CREATE EXTENSION citext")
    postgresql.execute("CREATE EVENT TRIGGER owned ON sql_drop EXECUTE FUNCTION \"Audit\".\"Log\"()")
    postgresql.execute("ALTER EXTENSION citext ADD EVENT TRIGGER owned")
    postgresql.commit()
    role = postgresql.info.user
    # Read whatever schemas are read: an event trigger is in none.
    for snapshot in (introspect(postgresql), introspect(postgresql, schemas=["public"])):
        assert snapshot.event_triggers == (EventTrigger(
            "log", "ddl_command_end", '"Audit"."Log"()', ("CREATE TABLE", "DROP TABLE"),
            "replica", role, "what changed"),)


def test_extended_statistics_objects_are_read(postgresql: psycopg.Connection) -> None:
    postgresql.execute("CREATE SCHEMA stats")
    postgresql.execute("CREATE TABLE t (a int, b int, c text)")
    postgresql.execute("CREATE STATISTICS stats.ab (ndistinct, mcv) ON a, (b + 1) FROM t")
    postgresql.execute("ALTER STATISTICS stats.ab SET STATISTICS 250")
    postgresql.execute("COMMENT ON STATISTICS stats.ab IS 'correlated'")
    postgresql.execute("CREATE STATISTICS plain ON a, c FROM t")
    postgresql.commit()
    role = postgresql.info.user
    assert introspect(postgresql).extended_statistics == (
        Statistics("public", "plain", "public.t", "CREATE STATISTICS public.plain ON a, c FROM t",
                   None, role),
        Statistics("stats", "ab", "public.t",
                   "CREATE STATISTICS stats.ab (ndistinct, mcv) ON a, (b + 1) FROM t", 250,
                   role, "correlated"),
    )


def test_empty_database_has_only_the_public_schema(postgresql: psycopg.Connection) -> None:
    snapshot = introspect(postgresql)
    assert (snapshot.schemas, snapshot.relations, snapshot.functions) == (("public",), (), ())
    assert snapshot.revision is None


def test_several_alembic_heads_are_joined_sorted(postgresql: psycopg.Connection) -> None:
    postgresql.execute("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)")
    postgresql.execute("INSERT INTO alembic_version VALUES ('b2'), ('a1')")
    postgresql.commit()
    assert introspect(postgresql).revision == "a1,b2"


def test_alembic_version_outside_the_search_path_is_ignored(
    postgresql: psycopg.Connection,
) -> None:
    postgresql.execute("CREATE SCHEMA other")
    postgresql.execute("CREATE TABLE other.alembic_version (version_num varchar(32))")
    postgresql.execute("INSERT INTO other.alembic_version VALUES ('a1')")
    postgresql.commit()
    assert introspect(postgresql).revision is None


def test_invalid_index_is_reported_as_invalid(postgresql: psycopg.Connection) -> None:
    postgresql.execute("CREATE TABLE t (id int)")
    postgresql.execute("INSERT INTO t VALUES (1), (1)")
    postgresql.commit()
    postgresql.autocommit = True
    # A failed CREATE INDEX CONCURRENTLY leaves the invalid index behind.
    with pytest.raises(psycopg.errors.UniqueViolation):
        postgresql.execute("CREATE UNIQUE INDEX CONCURRENTLY t_id_idx ON t (id)")
    (index,) = introspect(postgresql).relation("public", "t").indexes
    assert (index.name, index.valid) == ("t_id_idx", False)


def test_a_table_without_columns_keeps_its_constraints_and_indexes(
    postgresql: psycopg.Connection,
) -> None:
    # Every column dropped (or none created): the relation has no column to name, but its
    # check constraint and expression index are still read (this used to be a KeyError).
    postgresql.execute("CREATE TABLE emptied (gone int)")
    postgresql.execute("ALTER TABLE emptied DROP COLUMN gone")
    postgresql.execute("ALTER TABLE emptied ADD CONSTRAINT always CHECK (true)")
    postgresql.execute("CREATE INDEX emptied_one ON emptied ((1))")
    postgresql.commit()
    relation = introspect(postgresql).relation("public", "emptied")
    assert relation is not None and relation.columns == ()
    assert [(c.name, c.kind, c.columns) for c in relation.constraints] == [
        ("always", "check", ())]
    assert [(i.name, i.columns, i.definition) for i in relation.indexes] == [
        ("emptied_one", ("(1)",),
         "CREATE INDEX emptied_one ON public.emptied USING btree ((1))")]


def test_introspect_url_reads_the_same_snapshot(
    postgresql: psycopg.Connection, database_url: str
) -> None:
    _load_shop(postgresql)
    assert introspect_url(database_url) == introspect(postgresql)


def test_introspect_url_is_not_ended_by_an_idle_in_transaction_timeout_the_database_sets(
    postgresql: psycopg.Connection, database_url: str
) -> None:
    # Its transaction waits on Python and on the helper sessions between queries: a
    # database setting idle_in_transaction_session_timeout ended it mid-read, and `dbsafe
    # upgrade` stopped with exit 2 between revisions (its checkpoint is such a read).
    _load_shop(postgresql)
    postgresql.execute(sql.SQL(
        "ALTER DATABASE {} SET idle_in_transaction_session_timeout = '1ms'").format(
        sql.Identifier(postgresql.info.dbname)))
    postgresql.commit()
    assert introspect_url(database_url) == introspect(postgresql)


def test_a_read_cancelled_behind_a_lock_on_what_a_view_reads_names_the_holder(
    postgresql: psycopg.Connection, database_url: str
) -> None:
    # pg_get_viewdef takes ACCESS SHARE on what the view reads: behind LOCK TABLE left open
    # (VACUUM FULL, another tool's ALTER) the read waited out its statement timeout and
    # said only "canceling statement due to statement timeout", naming nobody.
    postgresql.execute("CREATE TABLE visits (id int)")
    postgresql.execute("CREATE VIEW recent_visits AS SELECT id FROM visits")
    postgresql.commit()
    with psycopg.connect(database_url, application_name="vacuum-full-job") as holder:
        holder.execute("LOCK TABLE visits IN ACCESS EXCLUSIVE MODE")
        with pytest.raises(DatabaseError) as caught:
            introspect_url(database_url, statement_timeout="1s")
        pid = holder.info.backend_pid
    message = str(caught.value)
    assert "canceling statement due to statement timeout" in message, message
    assert (f"pid {pid} (application_name 'vacuum-full-job', " in message
            and "holding ACCESS EXCLUSIVE on public.visits" in message), message


def test_introspect_session_reads_what_introspect_url_reads_and_leaves_the_session_as_it_was(
    postgresql: psycopg.Connection, database_url: str
) -> None:
    _load_shop(postgresql)
    # A default that prints in the session's time zone: introspection reads it in UTC.
    postgresql.execute("CREATE TABLE stamped (at timestamptz DEFAULT '2026-01-01 12:00+00')")
    postgresql.execute("SET TimeZone = 'America/New_York'")
    postgresql.commit()
    postgresql.autocommit = True

    assert introspect_session(postgresql) == introspect_url(database_url)
    assert postgresql.execute("SHOW TimeZone").fetchone() == ("America/New_York",)
    assert postgresql.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    postgresql.execute("CREATE TABLE after_it (id int)")  # the session is not left read-only


def test_a_kept_session_reads_each_snapshot_as_a_new_session_would(
    postgresql: psycopg.Connection, database_url: str
) -> None:
    # verify-reversible of a SQL folder reads the database three times a migration: on one
    # session, until a migration changes what a new session logs in with.
    postgresql.autocommit = True
    postgresql.execute("CREATE SCHEMA app; CREATE TYPE app.mood AS ENUM ('ok'); "
                       "CREATE TABLE app.t (m app.mood DEFAULT 'ok')")
    database = sql.Identifier(postgresql.info.dbname)
    with KeptSession(database_url) as reader:
        first = reader.snapshot()
        assert first == introspect_url(database_url)
        pid = reader._conn.info.backend_pid if reader._conn else None
        postgresql.execute("CREATE TABLE public.more (id int)")
        assert reader.snapshot() == introspect_url(database_url) != first
        assert reader._conn is not None and reader._conn.info.backend_pid == pid  # kept

        # The database's search_path, as a migration sets it: type names and defaults read
        # unqualified from then on, as `introspect_url` reads them.
        postgresql.execute(sql.SQL("ALTER DATABASE {} SET search_path = app, public")
                           .format(database))
        try:
            fresh = introspect_url(database_url)
            assert fresh.search_path == ("app", "public")
            assert reader.snapshot() == fresh
            postgresql.execute(sql.SQL("ALTER ROLE CURRENT_USER IN DATABASE {} "
                                       "SET search_path = public").format(database))
            fresh = introspect_url(database_url)
            assert fresh.search_path == ("public",)
            assert reader.snapshot() == fresh
        finally:
            postgresql.execute(sql.SQL("ALTER ROLE CURRENT_USER IN DATABASE {} "
                                       "RESET search_path").format(database))
            postgresql.execute(sql.SQL("ALTER DATABASE {} RESET search_path").format(database))


def test_unreachable_server_raises_one_line_without_password() -> None:
    url = f"postgresql://app:{SECRET}@127.0.0.1:1/shop?connect_timeout=3"
    with pytest.raises(DatabaseError) as excinfo:
        introspect_url(url)
    message = str(excinfo.value)
    assert SECRET not in message
    assert "\n" not in message
    assert message.startswith("could not connect to postgresql://app:***@127.0.0.1:1/shop")


def test_missing_database_raises_without_password(database_url: str,
                                                  secret_password: str) -> None:
    # The role's password is the secret (a password-authenticated server checks it).
    url = (re.sub(r"&password=[^&]*", "", database_url).replace("dbname=", "dbname=no_such_db_")
           + f"&password={secret_password}")
    with pytest.raises(DatabaseError, match="no_such_db_") as excinfo:
        introspect_url(url)
    message = str(excinfo.value)
    assert secret_password not in message
    assert "password=***" in message
    assert "\n" not in message
    assert "does not exist" in message


def test_malformed_url_raises_without_password() -> None:
    url = f"host=localhost password={SECRET} dbname"  # missing "=" after the last key
    with pytest.raises(DatabaseError) as excinfo:
        introspect_url(url)
    assert SECRET not in str(excinfo.value)


# Index and constraint shapes whose definitions introspection writes itself (plain b-tree
# indexes, primary keys, unique constraints, foreign keys) next to near misses it must
# leave to the server (an operator class or collation that shows, DESC, a predicate, an
# expression, storage options, another access method, a domain or binary-coercible key).
_DEFINITION_SHAPES = '''
CREATE SCHEMA other;
CREATE SCHEMA "Odd Schema";
CREATE DOMAIN other.code AS text;
CREATE TABLE target (id bigint PRIMARY KEY);
CREATE TABLE other.target (id bigint PRIMARY KEY, k int, UNIQUE (k) DEFERRABLE INITIALLY DEFERRED);
CREATE TABLE "Odd Schema"."Weird ""Table""" ("Id" int PRIMARY KEY, "select" int UNIQUE);
CREATE TABLE parent (
    id int PRIMARY KEY, a text, b varchar(20), "Mixed" int, "select" int, "user" text,
    key int, c text COLLATE "C", d other.code, e int, "café" int, tags text[],
    ts timestamptz, n numeric, u uuid, j jsonb, bits bit(3), pt box,
    UNIQUE (a, b), UNIQUE (e) INCLUDE (key, "Mixed"),
    CHECK (e > 0),
    EXCLUDE USING gist (pt WITH &&)
);
CREATE TABLE child (
    id int, parent_id int REFERENCES parent ON DELETE CASCADE ON UPDATE SET NULL,
    other_id bigint REFERENCES other.target (id) MATCH FULL DEFERRABLE,
    target_id bigint REFERENCES target ON DELETE RESTRICT ON UPDATE SET DEFAULT,
    x int, y int, "Key" int,
    CONSTRAINT "Odd FK" FOREIGN KEY (x) REFERENCES "Odd Schema"."Weird ""Table""" ("select")
        ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED,
    PRIMARY KEY (id, "Key")
);
ALTER TABLE child ADD CONSTRAINT child_not_valid FOREIGN KEY (y) REFERENCES parent NOT VALID;
ALTER TABLE parent ADD CONSTRAINT parent_e_key_uq UNIQUE (e, key);
ALTER TABLE child ADD CONSTRAINT two_columns FOREIGN KEY (x, y) REFERENCES parent (e, key);
CREATE UNIQUE INDEX parent_e_key_idx ON parent (e, key) INCLUDE (a);
CREATE INDEX ON parent (a);
CREATE INDEX ON parent (b);
CREATE INDEX ON parent (c);
CREATE INDEX parent_a_collate ON parent (a COLLATE "C");
CREATE INDEX parent_c_collate ON parent (c COLLATE "C");
CREATE INDEX ON parent (a text_pattern_ops);
CREATE INDEX ON parent (d);
CREATE INDEX ON parent ("Mixed", "select", "user", key, "café");
CREATE INDEX parent_e_desc ON parent (e DESC);
CREATE INDEX parent_e_nulls ON parent (e NULLS FIRST);
CREATE INDEX parent_e_hash ON parent USING hash (e);
CREATE INDEX parent_e_partial ON parent (e) WHERE e > 0;
CREATE INDEX ON parent (lower(a));
CREATE INDEX parent_e_ff ON parent (e) WITH (fillfactor = 70);
CREATE INDEX ON parent (tags);
CREATE INDEX ON parent (ts, n, u, j, bits);
CREATE INDEX "Select" ON parent (id);
CREATE TABLE measurements (id int, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE INDEX ON measurements (at);
CREATE TABLE measurements_2020 PARTITION OF measurements
    FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');
CREATE TABLE refers_to_partitions (id int, at date, FOREIGN KEY (id, at) REFERENCES measurements);
CREATE TABLE pg_am (id int PRIMARY KEY);  -- public.pg_am, hidden by pg_catalog's
CREATE TABLE refers_to_hidden (am int REFERENCES public.pg_am, t bigint REFERENCES other.target);
'''


def test_index_and_constraint_definitions_are_the_servers(
    postgresql: psycopg.Connection, caplog: pytest.LogCaptureFixture,
) -> None:
    check_definitions(postgresql, caplog)


def check_definitions(postgresql: psycopg.Connection, caplog: pytest.LogCaptureFixture) -> None:
    """Every index and constraint definition of `_DEFINITION_SHAPES` as the server's own
    pg_get_indexdef / pg_get_constraintdef prints it (also run on PostgreSQL 15)."""
    postgresql.execute(_DEFINITION_SHAPES)
    if postgresql.info.server_version >= 150000:
        postgresql.execute("CREATE UNIQUE INDEX parent_nnd ON parent (key) NULLS NOT DISTINCT;"
                           " ALTER TABLE parent ADD UNIQUE NULLS NOT DISTINCT (\"select\")")
    postgresql.commit()
    # A foreign key's table is qualified unless the search path finds it first by its name:
    # with `other` first, other.target hides public.target.
    for path in ("\"$user\", public", "other, public, \"Odd Schema\""):
        for quote_all in ("off", "on"):  # the server then quotes every identifier
            postgresql.execute("SELECT set_config('quote_all_identifiers', %s, false), "
                               "set_config('search_path', %s, false)", (quote_all, path))
            _compare_definitions(postgresql, caplog)


def _compare_definitions(postgresql: psycopg.Connection,
                         caplog: pytest.LogCaptureFixture) -> None:
    caplog.clear()
    with caplog.at_level("DEBUG", logger="dbsafe.schema.introspect"):
        snapshot = introspect(postgresql)
    written = {line.split(":")[0]: int(line.split()[2]) for line in caplog.messages
               if line.endswith("deparsed by the server")}
    expected = {
        (kind, schema, table, name): definition
        for kind, schema, table, name, definition in postgresql.execute("""
            SELECT 'index', n.nspname, c.relname, ic.relname, pg_get_indexdef(i.indexrelid)
            FROM pg_index AS i JOIN pg_class AS ic ON ic.oid = i.indexrelid
            JOIN pg_class AS c ON c.oid = i.indrelid
            JOIN pg_namespace AS n ON n.oid = c.relnamespace
            WHERE n.nspname IN ('public', 'other', 'Odd Schema')
            UNION ALL
            SELECT 'constraint', n.nspname, c.relname, con.conname,
                pg_get_constraintdef(con.oid)
            FROM pg_constraint AS con JOIN pg_class AS c ON c.oid = con.conrelid
            JOIN pg_namespace AS n ON n.oid = c.relnamespace
            WHERE n.nspname IN ('public', 'other', 'Odd Schema')
              AND con.contype IN ('p', 'u', 'f', 'c', 'x')
              AND NOT EXISTS (SELECT FROM pg_constraint AS parent  -- per-partition copies
                              WHERE parent.oid = con.conparentid
                                AND parent.conrelid = con.conrelid)
        """)
    }
    found = {(kind, r.schema, r.name, o.name): o.definition
             for r in snapshot.relations
             for kind, objects in (("index", r.indexes), ("constraint", r.constraints))
             for o in objects}
    assert found == expected
    assert len(found) >= 50
    # Most of them were written without the server's deparser, some were left to it.
    assert written["index definitions"] >= 20 and written["constraint definitions"] >= 15
    assert " ON ONLY " in found[("index", "public", "measurements", "measurements_at_idx")]
