"""The honest test of a differ: apply diff(A -> B) to a database built from A; it must become B.

For every pair under fixtures/pairs/ (and each pair backwards), and for seeded random
pairs: build A and B on PostgreSQL, plan the DDL from A's and B's snapshots, run it on A
statement by statement as psql would (no transaction block), then snapshot A again. The
result must not differ from B (column order aside: PostgreSQL cannot reorder columns, and
every such case must have been announced by the diff). The script the CLI prints for the
same plan must lint without an error.
"""

from __future__ import annotations

import contextlib
import random
import subprocess
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import msgspec
import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from pytest_postgresql.executors.noop import NoopExecutor

from dbsafe import commands
from dbsafe.config import load_settings
from dbsafe.core import Report, Severity
from dbsafe.pg.throwaway import bin_dir
from dbsafe.schema.ddl import Statement, plan
from dbsafe.schema.diff import REORDER, Change, diff
from dbsafe.schema.introspect import introspect_url
from dbsafe.schema.model import SchemaSnapshot

pytestmark = pytest.mark.db

PAIRS = Path(__file__).parent / "fixtures" / "pairs"
CASES = sorted(p.name for p in PAIRS.iterdir() if p.is_dir())


def _pair(case: str) -> pytest.MarkDecorator:
    """The tests of one pair run on one worker (under xdist), one after another: what one
    built of it, or the round trip it made, serves the next (`_Built`)."""
    return pytest.mark.xdist_group(f"roundtrip-{case}")


def _build(conninfo: str, sql: str) -> SchemaSnapshot:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        if sql.strip():
            conn.execute(sql)
    return introspect_url(conninfo)


class _Built:
    """What this worker built from each SQL in a fresh database of one server, before
    anything else ran there: its snapshot, and the database itself while `KEEP` allow; and
    the round trips that passed there.

    A target read only for its snapshot (B in a round trip) is taken from here when the
    same SQL was built before (as the other direction's A was), and is built, when it was
    not, in a database kept as built; the next test that needs a fresh database of that SQL
    to change (the other direction's A) takes that one instead of building it again. Each
    of those is a database, its build and its catalog reads: about a third of a round trip.
    A database taken is dropped at the end of the test that took it (`end_test`), those
    still kept at the end of the module (`on`).

    The round trips, by (A's SQL, B's SQL, with psql): a test asserting on the plan of a
    round trip another test already made (a pair's, with what it names of that pair) reads
    it here instead of making it again. What was asserted of the round trip itself holds
    for both. One per server: a snapshot or a round trip of 18 says nothing of 15."""

    KEEP = 4  # databases kept as built (each a copy of template0 on disk); snapshots all

    def __init__(self, admin: str) -> None:
        self.admin = admin  # the server's `postgres` database
        self.snapshots: dict[str, SchemaSnapshot] = {}
        self.round_trips: dict[tuple[str, str, bool],
                               tuple[tuple[Change, ...], tuple[Statement, ...]]] = {}
        # SQL -> a database it built, untouched since, and that database's own snapshot
        self.kept: dict[str, tuple[str, SchemaSnapshot]] = {}
        self.taken: list[str] = []

    def _url(self, name: str) -> str:
        return make_conninfo(self.admin, dbname=name)

    def fresh(self, conninfo: str, sql: str) -> SchemaSnapshot:
        """`_build` on a database just made, remembered for `target`."""
        snapshot = _build(conninfo, sql)
        self.snapshots.setdefault(sql, snapshot)
        return snapshot

    def target(self, sql: str) -> SchemaSnapshot:
        """What `_build` of `sql` on a fresh database reads."""
        if sql not in self.snapshots:
            self.untouched(sql)
        return self.snapshots[sql]

    def untouched(self, sql: str) -> str:
        """The conninfo of a database built from `sql`, to be read only (kept for others)."""
        if sql not in self.kept:
            name = f"dbsafe_built_{uuid.uuid4().hex[:12]}"
            with psycopg.connect(self.admin, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
                if len(self.kept) >= self.KEEP:
                    oldest, _ = self.kept.pop(next(iter(self.kept)))
                    conn.execute(f'DROP DATABASE "{oldest}" WITH (FORCE)')
            self.kept[sql] = name, self.fresh(self._url(name), sql)
        return self._url(self.kept[sql][0])

    def source(self, new_database: Callable[[], str], sql: str) -> tuple[str, SchemaSnapshot]:
        """A database built from `sql` for this test to change, and its snapshot: one kept
        as built, else a new one."""
        if sql in self.kept:
            name, snapshot = self.kept.pop(sql)
            self.taken.append(name)
            return self._url(name), snapshot
        url = new_database()
        return url, self.fresh(url, sql)

    def end_test(self) -> None:
        """Drop the databases the test ending took."""
        taken, self.taken = self.taken, []
        self._drop(taken)

    @classmethod
    @contextlib.contextmanager
    def on(cls, admin: str) -> Iterator[_Built]:
        """One for the server whose `postgres` database `admin` connects to, for a module."""
        built = cls(admin)
        try:
            yield built
        finally:
            built._drop([name for name, _ in built.kept.values()] + built.taken)

    def _drop(self, names: Sequence[str]) -> None:
        if not names:
            return
        with psycopg.connect(self.admin, autocommit=True) as conn:
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_BUILT: _Built  # this module's, on the session server (tests/schema/test_pg15.py has its own)


@pytest.fixture(scope="module", autouse=True)
def _built_module(pg_server: NoopExecutor) -> Iterator[None]:
    global _BUILT
    with _Built.on(make_conninfo(host=pg_server.host, port=pg_server.port,
                                 user=pg_server.user, password=pg_server.password or None,
                                 dbname="postgres")) as _BUILT:
        yield


@pytest.fixture(autouse=True)
def _built_databases(_built_module: None) -> Iterator[None]:
    yield
    _BUILT.end_test()


def _target(sql: str) -> SchemaSnapshot:
    """What `_build` of `sql` on a fresh database reads (`_Built.target`)."""
    return _BUILT.target(sql)


def _source(new_database: Callable[[], str], sql: str) -> tuple[str, SchemaSnapshot]:
    """A fresh database built from `sql`, for this test to change, and its snapshot
    (`_Built.source`)."""
    return _BUILT.source(new_database, sql)


def _apply(conninfo: str, statements: tuple[Statement, ...], target: SchemaSnapshot) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("SET check_function_bodies = off")
        conn.execute("SELECT set_config('search_path', %s, false)",
                     (", ".join(target.search_path),))
        for statement in statements:
            if statement.sql.startswith("--"):
                continue
            try:
                conn.execute(statement.sql)
            except psycopg.Error as exc:
                pytest.fail(f"statement failed: {statement.sql}\n{exc}")


def _lint_errors(tmp_path: Path, statements: tuple[Statement, ...],
                 target: SchemaSnapshot) -> list[str]:
    settings = load_settings(start=tmp_path)
    script = tmp_path / "diff.sql"
    script.write_text(commands.accept_hazards(settings, statements, target.search_path),
                      encoding="utf-8")
    report: Report = commands.lint(settings, [script])
    return [f"{f.location.line if f.location else '?'}: {f.code} {f.message}"
            for f in report.findings if f.severity == Severity.ERROR]


def _round_trip(new_database: Callable[[], str], tmp_path: Path, a_sql: str, b_sql: str,
                *, with_psql: bool = False, built: _Built | None = None,
                ) -> tuple[tuple[Change, ...], tuple[Statement, ...]]:
    """Build A and B, apply the plan of diff(A -> B) to A (statement by statement, or with
    `with_psql` the printed script as users run it, `_psql`); A must then be B. Made once
    per server and worker: `built` is the `_Built` of the server `new_database` makes
    databases on (this module's `_BUILT` by default)."""
    built = built or _BUILT
    key = (a_sql, b_sql, with_psql)
    if key in built.round_trips:
        return built.round_trips[key]
    a_url, a = built.source(new_database, a_sql)
    b = built.target(b_sql)
    changes = diff(a, b)
    statements = plan(a, b, changes)
    sqls = [s.sql for s in statements if not s.sql.startswith("--")]
    assert not {s for s in sqls if sqls.count(s) > 1}, "a statement is emitted twice"
    if with_psql:
        _psql(a_url, tmp_path, statements, b)
    else:
        _apply(a_url, statements, b)
    left = diff(introspect_url(a_url), b)
    unexpected = [c.describe() for c in left if c.action != REORDER]
    assert not unexpected, "\n".join(unexpected)
    announced = {c.identity for c in changes if c.action == REORDER}
    assert {c.identity for c in left} <= announced | {
        c.identity[:2] for c in changes if c.kind == "column"}
    assert _lint_errors(tmp_path, statements, b) == []
    built.round_trips[key] = changes, statements
    return changes, statements


@pytest.mark.parametrize("direction", ["forward", "backward"])
@pytest.mark.parametrize("case", [pytest.param(case, marks=_pair(case)) for case in CASES])
def test_pair_round_trips(case: str, direction: str, new_database: Callable[[], str],
                          server_version: int, tmp_path: Path) -> None:
    a_sql = (PAIRS / case / "a.sql").read_text(encoding="utf-8")
    b_sql = (PAIRS / case / "b.sql").read_text(encoding="utf-8")
    _skip_below(a_sql, server_version)
    if direction == "backward":
        a_sql, b_sql = b_sql, a_sql
    changes, _ = _round_trip(new_database, tmp_path, a_sql, b_sql,
                             with_psql=case in PSQL_CASES)
    assert changes, "the pair must differ, or it tests nothing"


# Pairs whose printed script (`dbsafe diff --sql`, hazard directives and all) is run in
# their round trip as users run it: `psql -v ON_ERROR_STOP=1 -f`, one session, the first
# error ending it (the same checks after it as for the others: one round trip, not two).
PSQL_CASES = ("defaults_calling_new_functions", "json_arrays", "readded_column_holders",
              "replica_identity_rebuilt", "readded_constraint_comments", "key_index_parameters",
              "replaced_table_publications", "casts",
              "subpartition_key_change", "range_types", "disabled_rules",
              "rule_and_cast_functions_replaced",
              "partition_checks_calling_new_functions", "serial_counters_carried")


def _psql(a_url: str, tmp_path: Path, statements: tuple[Statement, ...],
          b: SchemaSnapshot) -> None:
    """The printed script of `statements` run on A with psql, stopping at an error."""
    script = tmp_path / "diff.sql"
    script.write_text(commands.accept_hazards(load_settings(start=tmp_path), statements,
                                              b.search_path), encoding="utf-8")
    done = subprocess.run([str(bin_dir() / "psql"), "--no-psqlrc", "--quiet", "--set",
                           "ON_ERROR_STOP=1", "--file", str(script), "--dbname", a_url],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def _run_with_psql(new_database: Callable[[], str], tmp_path: Path, a_sql: str,
                   b_sql: str) -> str:
    """Build A and B, run the script of diff(A -> B) on A with psql; A must become B
    (column order aside). Returns A's conninfo."""
    a_url, a = _source(new_database, a_sql)
    b = _target(b_sql)
    _psql(a_url, tmp_path, plan(a, b, diff(a, b)), b)
    left = diff(introspect_url(a_url), b)
    assert [c.describe() for c in left if c.action != REORDER] == []
    return a_url


# What the catalog holds of the rules, the indexes' CLUSTER ON marks and statistics
# targets and the domains' constraints' comments of the public schema, read from
# PostgreSQL itself (not from dbsafe's snapshot).
_MARKS_SQL = """
SELECT format('rule %s.%s: %s / %s / %s', c.relname, r.rulename, pg_get_ruledef(r.oid),
              obj_description(r.oid, 'pg_rewrite'), r.ev_enabled)
FROM pg_rewrite AS r JOIN pg_class AS c ON c.oid = r.ev_class
WHERE r.rulename <> '_RETURN' AND c.relnamespace = 'public'::regnamespace
UNION ALL
SELECT format('index %s: clustered %s', c.relname, i.indisclustered)
FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid
WHERE c.relnamespace = 'public'::regnamespace
UNION ALL
SELECT format('index %s column %s: statistics %s', c.relname, a.attnum, a.attstattarget)
FROM pg_attribute AS a JOIN pg_class AS c ON c.oid = a.attrelid
WHERE c.relkind IN ('i', 'I') AND a.attnum > 0 AND a.attstattarget >= 0
  AND c.relnamespace = 'public'::regnamespace
UNION ALL
SELECT format('domain %s constraint %s: %s', t.typname, con.conname,
              obj_description(con.oid, 'pg_constraint'))
FROM pg_constraint AS con JOIN pg_type AS t ON t.oid = con.contypid
WHERE t.typnamespace = 'public'::regnamespace
ORDER BY 1
"""


@pytest.mark.parametrize("direction", ["forward", "backward"])
@pytest.mark.parametrize("name", [
    pytest.param(name, marks=_pair(name)) for name in
    ("rebuilt_rules_index_marks", "disabled_rules", "rule_and_cast_functions_replaced")])
def test_rebuilt_objects_keep_their_rules_index_marks_and_constraint_comments(
        name: str, direction: str, new_database: Callable[[], str], tmp_path: Path) -> None:
    """A view made again gets its rules back, an index built again its CLUSTER ON mark
    and statistics targets, a domain's constraint added again its comment; each changed
    alone is changed in place (a rule's enabled state too): psql leaves A's catalog as
    B's."""
    case = PAIRS / name
    a_sql, b_sql = (case / "a.sql").read_text("utf-8"), (case / "b.sql").read_text("utf-8")
    if direction == "backward":
        a_sql, b_sql = b_sql, a_sql
    a_url = _run_with_psql(new_database, tmp_path, a_sql, b_sql)
    b_url = _BUILT.untouched(b_sql)
    with psycopg.connect(a_url) as a, psycopg.connect(b_url) as b:
        assert a.execute(_MARKS_SQL).fetchall() == b.execute(_MARKS_SQL).fetchall()


@_pair("defaults_calling_new_functions")
def test_a_column_added_with_a_default_calling_a_new_function_fills_the_rows(
        new_database: Callable[[], str], tmp_path: Path) -> None:
    """The column comes after the function, so its rows get the default as the target's
    did; one whose function reads its own table can only get it afterwards, and is NULL."""
    case = PAIRS / "defaults_calling_new_functions"
    a_url = _run_with_psql(new_database, tmp_path, (case / "a.sql").read_text("utf-8"),
                           (case / "b.sql").read_text("utf-8"))
    with psycopg.connect(a_url) as conn:
        assert conn.execute("SELECT id, x, y FROM t ORDER BY id").fetchall() == [
            (1, 1, None), (2, 1, None)]


@_pair("json_arrays")
@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_columns_between_arrays_and_json_keep_their_values(
        direction: str, new_database: Callable[[], str], tmp_path: Path) -> None:
    """Each side's rows, converted by the script, read as the other side's rows."""
    case = PAIRS / "json_arrays"
    a_sql, b_sql = (case / "a.sql").read_text("utf-8"), (case / "b.sql").read_text("utf-8")
    if direction == "backward":
        a_sql, b_sql = b_sql, a_sql
    a_url = _run_with_psql(new_database, tmp_path, a_sql, b_sql)
    b_url = _BUILT.untouched(b_sql)
    rows = "SELECT * FROM poker ORDER BY id"
    with psycopg.connect(a_url) as a, psycopg.connect(b_url) as b:
        assert a.execute(rows).fetchall() == b.execute(rows).fetchall()


@_pair("replica_identity_rebuilt")
@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_a_replica_identity_index_built_again_is_the_replica_identity_again(
        direction: str, new_database: Callable[[], str], tmp_path: Path) -> None:
    """Rows of the published tables can still be updated and deleted after the script
    (55000 when the DROP left them without a replica identity)."""
    case = PAIRS / "replica_identity_rebuilt"
    a_sql, b_sql = (case / "a.sql").read_text("utf-8"), (case / "b.sql").read_text("utf-8")
    if direction == "backward":
        a_sql, b_sql = b_sql, a_sql
    a_url = _run_with_psql(new_database, tmp_path, a_sql, b_sql)
    a, b = _target(a_sql), _target(b_sql)
    gaps = [(s.sql, h.message) for s in plan(a, b, diff(a, b)) for h in s.hazards
            if h.kind == "replica-identity-gap"]
    assert gaps == [  # the window between the DROP and the REPLICA IDENTITY after the build
        ("ALTER TABLE public.k DROP CONSTRAINT k_pkey", "`k_pkey` is the replica identity of "
         "`public.k`, which pub publishes: from this DROP until REPLICA IDENTITY USING INDEX "
         "after its build, its UPDATE and DELETE fail (55000)."),
        ("DROP INDEX CONCURRENTLY public.t_id", "`t_id` is the replica identity of `public.t`, which pub "
         "publishes: from this DROP until REPLICA IDENTITY USING INDEX after its build, its "
         "UPDATE and DELETE fail (55000).")]
    with psycopg.connect(a_url, autocommit=True) as conn:
        assert conn.execute("UPDATE t SET b = 'y'").rowcount == 1
        assert conn.execute("DELETE FROM k").rowcount == 1


def _skip_below(sql: str, server_version: int) -> None:
    """A pair whose first line says `-- PostgreSQL 18` needs that server (the suite may run
    on an older one through DBSAFE_TEST_DATABASE_URL)."""
    first = sql.lstrip().splitlines()[0] if sql.strip() else ""
    if not first.startswith("-- PostgreSQL "):
        return
    needed = int(first.removeprefix("-- PostgreSQL ").split()[0].rstrip(":"))
    if server_version < needed * 10000:
        pytest.skip(f"needs PostgreSQL {needed}")


def test_from_nothing_to_the_shop_and_back(new_database: Callable[[], str],
                                           tmp_path: Path) -> None:
    shop = (Path(__file__).parent / "fixtures" / "shop.sql").read_text(encoding="utf-8")
    _round_trip(new_database, tmp_path, "", shop)
    _round_trip(new_database, tmp_path, shop, "")


@_pair("renames")
def test_hazards_are_named_where_data_is_lost(new_database: Callable[[], str],
                                              tmp_path: Path) -> None:
    a_sql = (PAIRS / "renames" / "a.sql").read_text(encoding="utf-8")
    b_sql = (PAIRS / "renames" / "b.sql").read_text(encoding="utf-8")
    _, statements = _round_trip(new_database, tmp_path, a_sql, b_sql)
    hazards = {(s.sql.split(" ")[0], h.kind) for s in statements for h in s.hazards}
    assert ("DROP", "data-loss") in hazards
    assert ("DROP", "possible-rename") in hazards
    (hint,) = [h.message for s in statements for h in s.hazards if h.kind == "possible-rename"]
    assert hint.startswith("`public.persons` is created with the same columns but "
                           "`full_name`, named `display_name` there: if this is a rename, "
                           "use ALTER TABLE public.people RENAME TO persons")


def test_an_enum_value_in_the_place_of_another_is_a_possible_rename(
        new_database: Callable[[], str]) -> None:
    # The rebuild fails on every row holding 'b' (22P02); the hint's RENAME VALUE keeps
    # them, and leaves nothing to differ. A new order alone gives no hint.
    a_url, b_url, c_url = new_database(), new_database(), new_database()
    rows = "CREATE TABLE public.t (m public.mood); INSERT INTO public.t VALUES ('a'), ('b');"
    a = _build(a_url, "CREATE TYPE public.mood AS ENUM ('a', 'b', 'c');" + rows)
    b = _build(b_url, "CREATE TYPE public.mood AS ENUM ('a', 'bee', 'c');"
                      "CREATE TABLE public.t (m public.mood);")
    c = _build(c_url, "CREATE TYPE public.mood AS ENUM ('c', 'b', 'a');"
                      "CREATE TABLE public.t (m public.mood);")
    hints = [h.message for s in plan(a, b, diff(a, b)) for h in s.hazards
             if h.kind == "possible-rename"]
    assert hints == ["enum `public.mood` has 'bee' where it had 'b': if this is a rename, "
                     "use ALTER TYPE public.mood RENAME VALUE 'b' TO 'bee' instead and keep "
                     "the rows that hold it (the rebuild fails on them)."]
    assert not [h for s in plan(a, c, diff(a, c)) for h in s.hazards
                if h.kind == "possible-rename"]
    with psycopg.connect(a_url, autocommit=True) as conn:
        conn.execute("ALTER TYPE public.mood RENAME VALUE 'b' TO 'bee'")
        assert conn.execute("SELECT m::text FROM public.t ORDER BY 1").fetchall() == [
            ("a",), ("bee",)]
    assert diff(introspect_url(a_url), b) == ()


@_pair("rebuilt_domains")
def test_a_rebuilt_domain_keeps_the_rows_of_its_columns(
        new_database: Callable[[], str]) -> None:
    # Both ways: varchar(10) to text and back, integer to bigint under a domain on it.
    pair = PAIRS / "rebuilt_domains"
    a_sql, b_sql = ((pair / f"{x}.sql").read_text(encoding="utf-8") for x in "ab")
    rows = next(line for line in a_sql.splitlines() if line.startswith("INSERT"))
    for source, target in ((a_sql, b_sql), (b_sql + rows, a_sql)):
        a_url, a = _source(new_database, source)
        b = _target(target)
        _apply(a_url, plan(a, b, diff(a, b)), b)
        with psycopg.connect(a_url) as conn:
            assert conn.execute("SELECT code, codes::text, qty, raw, tag FROM public.items"
                                ).fetchall() == [("a", "{b}", 3, 4, "x")]


def test_a_view_dropped_for_good_is_data_loss_and_one_recreated_is_not(
        new_database: Callable[[], str], tmp_path: Path) -> None:
    # `recent` goes; `totals` changes its query and its columns' order (dropped and created
    # again): only the first leaves the queries that read it failing for good, the second
    # until it is created again (`view-gap`, task 568).
    a_sql = ("CREATE TABLE t (id int, n int);"
             "CREATE VIEW recent AS SELECT id FROM t WHERE id > 10;"
             "CREATE VIEW totals AS SELECT id, n FROM t;")
    b_sql = ("CREATE TABLE t (id int, n int);"
             "CREATE VIEW totals AS SELECT n, id FROM t;")
    _, statements = _round_trip(new_database, tmp_path, a_sql, b_sql)
    dropped = {s.subject: [h.kind for h in s.hazards] for s in statements
               if s.sql.startswith("DROP VIEW")}
    assert dropped == {"public.recent": ["data-loss"], "public.totals": ["view-gap"]}


def test_dropping_a_schema_or_an_extension_is_data_loss(new_database: Callable[[], str],
                                                        tmp_path: Path) -> None:
    _, statements = _round_trip(
        new_database, tmp_path,
        "CREATE SCHEMA archive; CREATE EXTENSION citext WITH SCHEMA public;", "")
    assert {s.sql: [h.kind for h in s.hazards] for s in statements} == {
        "DROP EXTENSION citext": ["data-loss"], "DROP SCHEMA archive": ["data-loss"]}


def test_a_table_with_the_same_column_types_but_other_names_is_no_rename(
        new_database: Callable[[], str], tmp_path: Path) -> None:
    # GitLab's abuse_report_assignees went and geo_node_organization_links came: an id, two
    # bigint keys and two timestamps each, which types alone called a possible rename.
    shape = ("CREATE TABLE public.{} (id bigint PRIMARY KEY, {} bigint NOT NULL, {} bigint "
             "NOT NULL, created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL);")
    _, statements = _round_trip(
        new_database, tmp_path,
        shape.format("abuse_report_assignees", "user_id", "abuse_report_id"),
        shape.format("geo_node_organization_links", "geo_node_id", "organization_id"))
    assert [s.sql.split(" ")[0] for s in statements if "TABLE" in s.sql] == ["CREATE", "DROP"]
    assert [h for s in statements for h in s.hazards if h.kind == "possible-rename"] == []


@_pair("partition_index_names")
def test_partitions_indexes_are_built_concurrently_before_their_parents(
        new_database: Callable[[], str], tmp_path: Path) -> None:
    # The parent's CREATE INDEX then attaches them (names kept) instead of building each
    # under its lock; a CHECK on a partitioned table is added NOT VALID like any other.
    a_sql = (PAIRS / "partition_index_names" / "a.sql").read_text(encoding="utf-8")
    b_sql = (PAIRS / "partition_index_names" / "b.sql").read_text(encoding="utf-8")
    _, statements = _round_trip(new_database, tmp_path, a_sql, b_sql)
    sql = [s.sql for s in statements]
    parent = sql.index("CREATE UNIQUE INDEX index_builds_on_project_id ON public.builds "
                       "USING btree (project_id, status)")
    for name in ("index_0a9e1c6d44", "index_7f3b2d8c10"):
        built = next(i for i, s in enumerate(sql)
                     if s.startswith(f"CREATE UNIQUE INDEX CONCURRENTLY {name} "))
        assert built < parent
    assert "ALTER INDEX public.builds_0_status_idx RENAME TO index_5d1a0f3e2b" in sql
    assert "ALTER TABLE public.builds ADD CONSTRAINT check_project_id " \
           "CHECK ((project_id IS NOT NULL)) NOT VALID" in sql


@_pair("partition_index_names")
def test_an_index_on_a_partitioned_table_is_named_for_the_share_lock_it_takes(
        new_database: Callable[[], str]) -> None:
    # Reads continue, writes to every partition wait: SHARE, not ACCESS EXCLUSIVE.
    a_sql = (PAIRS / "partition_index_names" / "a.sql").read_text(encoding="utf-8")
    b_sql = (PAIRS / "partition_index_names" / "b.sql").read_text(encoding="utf-8")
    a_url, a = _source(new_database, a_sql)
    b = _target(b_sql)
    statements = plan(a, b, diff(a, b))
    parent = next(s for s in statements
                  if s.sql.startswith("CREATE UNIQUE INDEX index_builds_on_project_id "))
    assert [h.kind for h in parent.hazards] == ["share-lock"]
    assert "attaches its partitions' indexes, built above" in parent.hazards[0].message
    _apply(a_url, statements[:statements.index(parent)], b)
    with psycopg.connect(a_url) as conn:
        conn.execute(parent.sql)
        modes = conn.execute(
            "SELECT DISTINCT relation::regclass::text, mode FROM pg_locks "
            "WHERE pid = pg_backend_pid() AND relation::regclass::text LIKE 'builds%' "
            "AND relation::regclass::text NOT LIKE '%idx' ORDER BY 1").fetchall()
        conn.rollback()
    assert modes == [("builds", "ShareLock"), ("builds_0", "ShareLock"),
                     ("builds_1", "ShareLock")]


@pytest.mark.parametrize(("source_data", "target_data", "hazard"), [
    ("WITH NO DATA", "WITH NO DATA", None),       # pagila's rental_by_category
    ("WITH DATA", "WITH NO DATA", "data-loss"),   # it had rows; empty until refreshed
    ("WITH NO DATA", "WITH DATA", "long-scan"),   # its query runs
])
def test_a_recreated_materialized_view_is_named_a_long_scan_only_when_its_query_runs(
        source_data: str, target_data: str, hazard: str | None,
        new_database: Callable[[], str], tmp_path: Path) -> None:
    # The amount it sums changes type: the view is dropped and created again.
    view = "CREATE MATERIALIZED VIEW public.totals AS SELECT sum(amount) AS s FROM public.p "
    _, statements = _round_trip(
        new_database, tmp_path,
        f"CREATE TABLE public.p (amount numeric(5,2)); {view}{source_data};",
        f"CREATE TABLE public.p (amount numeric(7,2)); {view}{target_data};")
    created = [s for s in statements if s.sql.startswith("CREATE MATERIALIZED VIEW")]
    assert len(created) == 1
    assert [h.kind for s in created for h in s.hazards] == ([hazard] if hazard else [])

@pytest.mark.parametrize(("kind", "rls", "gap"), [
    ("PERMISSIVE", True, "rows it lets through are hidden"),   # pagila's customer_store
    ("RESTRICTIVE", True, "rows it hides are visible"),
    ("PERMISSIVE", False, None),                               # no row security: no gap
])
def test_a_changed_policy_names_the_gap_between_its_drop_and_its_creation(
        kind: str, rls: bool, gap: str | None, new_database: Callable[[], str],
        tmp_path: Path) -> None:
    # Its command changes, which ALTER POLICY cannot do: dropped before the script's other
    # steps, created after them, and in between the table is read without it.
    table = ("CREATE TABLE public.c (id integer, store integer);" +
             ("ALTER TABLE public.c ENABLE ROW LEVEL SECURITY;" if rls else ""))
    policy = f"CREATE POLICY by_store ON public.c AS {kind} FOR {{}} USING (store = 1);"
    _, statements = _round_trip(new_database, tmp_path, table + policy.format("SELECT"),
                                table + policy.format("ALL"))
    dropped = [s for s in statements if s.sql.startswith("DROP POLICY")]
    assert len(dropped) == 1
    assert [h.message.split("; in between, ")[-1] for h in dropped[0].hazards
            if h.kind == "policy-gap"] == ([f"{gap}."] if gap else [])


@pytest.mark.parametrize(("old", "new", "altered"), [
    ("TO PUBLIC USING (store = 1)", "TO PUBLIC USING (store = 2)", True),
    ("TO PUBLIC USING (store = 1)", "TO clerk USING (store = 1)", True),
    ("TO clerk USING (store = 1)", "TO PUBLIC USING (store = 1)", True),
    ("TO PUBLIC USING (store = 1) WITH CHECK (store = 1)",
     "TO clerk USING (store = 2) WITH CHECK (store > 0)", True),
    ("TO PUBLIC USING (store = 1)", "TO PUBLIC USING (store = 1) WITH CHECK (store > 0)", True),
    # ALTER POLICY cannot take an expression away
    ("TO PUBLIC USING (store = 1) WITH CHECK (store > 0)", "TO PUBLIC USING (store = 1)", False),
], ids=["using", "roles", "to-public", "all-three", "check-added", "check-removed"])
def test_a_policy_whose_roles_or_expressions_change_is_altered_where_it_stands(
        old: str, new: str, altered: bool, new_database: Callable[[], str],
        tmp_path: Path) -> None:
    # A DROP and a CREATE leave the table read without the policy in between (pagila's
    # customer_store); ALTER POLICY changes it in place, under the same lock, no gap.
    with psycopg.connect(new_database(), autocommit=True) as conn:
        conn.execute("DO $$ BEGIN CREATE ROLE clerk; EXCEPTION WHEN duplicate_object "
                     "THEN NULL; END $$")
    table = ("CREATE TABLE public.c (id integer, store integer);"
             "ALTER TABLE public.c ENABLE ROW LEVEL SECURITY;")
    policy = "CREATE POLICY by_store ON public.c AS PERMISSIVE FOR ALL "
    _, statements = _round_trip(new_database, tmp_path, f"{table}{policy}{old};",
                                f"{table}{policy}{new};")
    assert [s.sql.split(" ")[0] for s in statements if " POLICY " in s.sql] == (
        ["ALTER"] if altered else ["DROP", "CREATE"])
    assert [h.kind for s in statements for h in s.hazards if h.kind == "policy-gap"] == (
        [] if altered else ["policy-gap"])


@pytest.mark.parametrize(("old", "new", "replaced"), [
    # MapSwipe's insert_mapping_sessions_results, given an UPDATE OF: replaced where it
    # stands, so no insert runs without the check while the script's other steps do
    ("CREATE TRIGGER checked BEFORE INSERT ON public.results",
     "CREATE TRIGGER checked BEFORE INSERT OR UPDATE OF task_id ON public.results", True),
    ("CREATE TRIGGER checked BEFORE INSERT ON public.results",
     "CREATE TRIGGER checked AFTER INSERT ON public.results", True),
    # a disabled one is replaced enabled, then disabled again as the target has it
    ("CREATE TRIGGER checked BEFORE INSERT ON public.results",
     "CREATE TRIGGER checked BEFORE UPDATE ON public.results", True),
    # PostgreSQL refuses to replace a constraint trigger (0A000)
    ("CREATE CONSTRAINT TRIGGER checked AFTER INSERT ON public.results",
     "CREATE CONSTRAINT TRIGGER checked AFTER INSERT ON public.results DEFERRABLE", False),
    ("CREATE TRIGGER checked AFTER INSERT ON public.results",
     "CREATE CONSTRAINT TRIGGER checked AFTER INSERT ON public.results", False),
], ids=["update-of", "timing", "disabled", "constraint", "to-constraint"])
def test_a_redefined_trigger_is_replaced_where_it_stands(
        old: str, new: str, replaced: bool, new_database: Callable[[], str],
        tmp_path: Path, request: pytest.FixtureRequest) -> None:
    # A DROP before the script's other steps and a CREATE after them left the table's
    # writes unchecked in between (task 563); CREATE OR REPLACE TRIGGER leaves no gap.
    table = ("CREATE TABLE public.results (id integer, task_id text);"
             "CREATE FUNCTION public.check_result() RETURNS trigger LANGUAGE plpgsql AS "
             "'BEGIN RETURN NEW; END';")
    body = " FOR EACH ROW EXECUTE FUNCTION public.check_result();"
    disable = ("ALTER TABLE public.results DISABLE TRIGGER checked;"
               if request.node.callspec.id == "disabled" else "")
    _, statements = _round_trip(new_database, tmp_path, table + old + body + disable,
                                table + new + body + disable)
    assert [s.sql.split(" ")[0] + (" OR REPLACE" if " OR REPLACE " in s.sql else "")
            for s in statements if " TRIGGER checked" in s.sql] == (
        ["CREATE OR REPLACE"] + (["ALTER"] if disable else []) if replaced
        else ["DROP", "CREATE"])


@pytest.mark.parametrize(("old", "new", "value"), [
    ("character varying(10)", "character varying(5)", "'abcdefghij'"),
    ("text", "character(3)", "'abcdef'"),
    ("bit varying(8)", "bit varying(4)", "B'10101010'"),
])
def test_a_narrowed_column_refuses_values_too_long_instead_of_cutting_them(
        old: str, new: str, value: str, new_database: Callable[[], str]) -> None:
    a_url, b_url = new_database(), new_database()
    a = _build(a_url, f"CREATE TABLE public.t (a {old}); INSERT INTO public.t VALUES ({value})")
    b = _build(b_url, f"CREATE TABLE public.t (a {new})")
    statements = plan(a, b, diff(a, b))
    with psycopg.connect(a_url, autocommit=True) as conn:
        before = conn.execute("SELECT a::text FROM public.t").fetchone()
        with pytest.raises(psycopg.errors.StringDataRightTruncation):
            for statement in statements:
                conn.execute(statement.sql)
        assert conn.execute("SELECT a::text FROM public.t").fetchone() == before


@_pair("inherited_columns")
def test_a_column_dropped_from_a_parent_that_a_child_keeps_keeps_the_childs_values(
        new_database: Callable[[], str], tmp_path: Path) -> None:
    pair = PAIRS / "inherited_columns"
    a_url, a = _source(new_database, (pair / "a.sql").read_text(encoding="utf-8"))
    b = _target((pair / "b.sql").read_text(encoding="utf-8"))
    _apply(a_url, plan(a, b, diff(a, b)), b)
    with psycopg.connect(a_url) as conn:
        assert conn.execute("SELECT id, a, e FROM public.child").fetchall() == [(1, 3, 2)]
    # the child's columns keep their order (`e` before `a`), announced as a REORDER
    assert [c for c in diff(introspect_url(a_url), b) if c.action != REORDER] == []


@_pair("unlogged_tables")
def test_logged_and_unlogged_tables_are_told_apart_and_switched(
        new_database: Callable[[], str]) -> None:
    pair = PAIRS / "unlogged_tables"
    a_url, a = _source(new_database, (pair / "a.sql").read_text(encoding="utf-8"))
    b = _target((pair / "b.sql").read_text(encoding="utf-8"))
    assert {(c.subject, c.attribute) for c in diff(a, b) if c.attribute == "unlogged"} == {
        ("public.events", "unlogged"), ("public.cache", "unlogged")}
    _apply(a_url, plan(a, b, diff(a, b)), b)
    after = introspect_url(a_url)
    assert {r.name: r.unlogged for r in after.relations} == {
        "events": True, "cache": False, "scratch": True}


def test_a_table_created_with_every_privilege_revoked_has_none_not_the_default(
        new_database: Callable[[], str]) -> None:
    """`{}` (the owner's privileges revoked too) is not NULL (the default privileges): the
    script that creates the table must revoke them, as the catalog shows."""
    a_url, b_url = new_database(), new_database()
    a = _build(a_url, "")
    b = _build(b_url, "CREATE TABLE public.t (id integer);"
                      " REVOKE ALL ON public.t FROM CURRENT_USER")
    _apply(a_url, plan(a, b, diff(a, b)), b)
    with psycopg.connect(a_url) as conn:
        row = conn.execute("SELECT relacl::text FROM pg_class WHERE oid = 'public.t'::regclass"
                           ).fetchone()
    assert row == ("{}",)


@_pair("not_null_constraints")
@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_not_null_constraints_end_as_the_target_has_them_in_the_catalog(
        direction: str, new_database: Callable[[], str], server_version: int) -> None:
    """PostgreSQL 18: a NOT NULL constraint's name, NO INHERIT and NOT VALID, read from
    pg_constraint itself after the script ran (a made name where the target has one)."""
    pair = PAIRS / "not_null_constraints"
    a_sql, b_sql = ((pair / name).read_text(encoding="utf-8") for name in ("a.sql", "b.sql"))
    _skip_below(a_sql, server_version)
    if direction == "backward":
        a_sql, b_sql = b_sql, a_sql
    a_url, a = _source(new_database, a_sql)
    b, b_url = _target(b_sql), _BUILT.untouched(b_sql)
    _apply(a_url, plan(a, b, diff(a, b)), b)
    query = """SELECT c.relname, a.attname,
                      CASE WHEN n.conname ~ '_not_null[0-9]*$' THEN '(made)' ELSE n.conname END,
                      n.connoinherit, n.convalidated
               FROM pg_constraint AS n
               JOIN pg_class AS c ON c.oid = n.conrelid
               JOIN pg_attribute AS a ON a.attrelid = n.conrelid AND a.attnum = n.conkey[1]
               WHERE n.contype = 'n' AND c.relnamespace = 'public'::regnamespace
               ORDER BY 1, 2"""
    with psycopg.connect(a_url) as applied, psycopg.connect(b_url) as target:
        assert applied.execute(query).fetchall() == target.execute(query).fetchall()


@_pair("statistics")
@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_extended_statistics_end_as_the_target_has_them_in_the_catalog(
        direction: str, new_database: Callable[[], str], server_version: int) -> None:
    """Statistics objects, their definition, statistics target and comment, read from
    pg_statistic_ext itself after the script ran: those a table, materialized view or
    column rebuilt took along are there again."""
    pair = PAIRS / "statistics"
    a_sql, b_sql = ((pair / name).read_text(encoding="utf-8") for name in ("a.sql", "b.sql"))
    _skip_below(a_sql, server_version)
    if direction == "backward":
        a_sql, b_sql = b_sql, a_sql
    a_url, a = _source(new_database, a_sql)
    b, b_url = _target(b_sql), _BUILT.untouched(b_sql)
    _apply(a_url, plan(a, b, diff(a, b)), b)
    query = """SELECT s.stxnamespace::regnamespace::text, s.stxname,
                      pg_get_statisticsobjdef(s.oid), s.stxstattarget,
                      obj_description(s.oid, 'pg_statistic_ext')
               FROM pg_statistic_ext AS s ORDER BY 1, 2"""
    with psycopg.connect(a_url) as applied, psycopg.connect(b_url) as target:
        expected = target.execute(query).fetchall()
        assert len(expected) >= 7, "the pair must hold statistics objects"
        assert applied.execute(query).fetchall() == expected


@_pair("not_null_constraints")
def test_validating_a_not_valid_not_null_constraint_is_named_a_scan(
        new_database: Callable[[], str], server_version: int, tmp_path: Path) -> None:
    # not_valid_to_plain: VALIDATE CONSTRAINT reads every row for a NULL (writes continue).
    pair = PAIRS / "not_null_constraints"
    a_sql, b_sql = ((pair / name).read_text(encoding="utf-8") for name in ("a.sql", "b.sql"))
    _skip_below(a_sql, server_version)
    _, statements = _round_trip(new_database, tmp_path, a_sql, b_sql)
    (validate,) = [s for s in statements if " VALIDATE CONSTRAINT " in s.sql
                   and s.subject == "public.t.not_valid_to_plain"]
    assert [(h.kind, h.message) for h in validate.hazards] == [
        ("long-scan", "Scans `public.t` for NULL in `not_valid_to_plain`; writes continue. "
                      "A NULL makes it fail (23502); the constraint stays NOT VALID.")]


def _run_each(conn: psycopg.Connection, statements: tuple[Statement, ...]) -> dict[str, str]:
    """Run every statement on its own, past the ones that fail: their SQLSTATE by SQL."""
    failed = {}
    for statement in statements:
        try:
            conn.execute(statement.sql)
        except psycopg.Error as exc:
            failed[statement.sql] = exc.sqlstate or ""
    return failed


def test_validating_a_new_constraint_names_the_rows_that_make_it_fail(
        new_database: Callable[[], str]) -> None:
    # migra's `everything`, with rows: the CHECK's VALIDATE failed (23514) under a hazard
    # that said only long-scan.
    a_sql = ("CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE t (id int, pid int); "
             "CREATE DOMAIN positive AS int; CREATE TABLE u (x positive)")
    b_sql = ("CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE t (id int CONSTRAINT t_id_check "
             "CHECK (id > 0), pid int CONSTRAINT t_pid_fkey REFERENCES p); "
             "CREATE DOMAIN positive AS int CONSTRAINT positive_check CHECK (VALUE > 0); "
             "CREATE TABLE u (x positive)")
    a_url, b_url = new_database(), new_database()
    a, b = _build(a_url, a_sql), _build(b_url, b_sql)
    statements = plan(a, b, diff(a, b))
    validations = {s.sql: s.hazards for s in statements if "VALIDATE CONSTRAINT" in s.sql}
    assert {sql: [(h.kind, h.message) for h in hazards]
            for sql, hazards in validations.items()} == {
        "ALTER TABLE public.t VALIDATE CONSTRAINT t_id_check": [(
            "long-scan", "Scans `public.t`; writes continue. A row that breaks the check "
            "makes it fail (23514); the constraint stays NOT VALID.")],
        "ALTER TABLE public.t VALIDATE CONSTRAINT t_pid_fkey": [(
            "long-scan", "Scans `public.t`; writes continue. A row whose key matches no "
            "referenced row makes it fail (23503); the constraint stays NOT VALID.")],
        "ALTER DOMAIN public.positive VALIDATE CONSTRAINT positive_check": [(
            "long-scan", "Checks every value of the domain, its tables' writes waiting "
            "(SHARE lock). A value that breaks the check makes it fail (23514); the "
            "constraint stays NOT VALID.")]}
    # ... as PostgreSQL does, each constraint left NOT VALID
    with psycopg.connect(a_url, autocommit=True) as conn:
        conn.execute("INSERT INTO t VALUES (-1, 5); INSERT INTO u VALUES (-1)")
        failed = _run_each(conn, statements)
        assert conn.execute("SELECT count(*) FROM pg_constraint WHERE NOT convalidated AND "
                            "conname IN ('t_id_check', 't_pid_fkey', 'positive_check')"
                            ).fetchone() == (3,)
    assert failed == {"ALTER TABLE public.t VALIDATE CONSTRAINT t_id_check": "23514",
                      "ALTER TABLE public.t VALIDATE CONSTRAINT t_pid_fkey": "23503",
                      "ALTER DOMAIN public.positive VALIDATE CONSTRAINT positive_check":
                          "23514"}


def test_building_a_unique_index_names_the_rows_that_make_it_fail(
        new_database: Callable[[], str]) -> None:
    # OpenStreetMap's `changeset_tags` given its primary key (changeset_id, k): over two rows
    # of one key the CONCURRENTLY build failed (23505) and left the index INVALID under its
    # name, which the script run again cannot create (42P07), under a hazard that said only
    # long-scan.
    a_sql = "CREATE TABLE tags (changeset_id int NOT NULL, k text NOT NULL, v text)"
    b_sql = ("CREATE TABLE tags (changeset_id int NOT NULL, k text NOT NULL, v text, "
             "CONSTRAINT tags_pkey PRIMARY KEY (changeset_id, k)); "
             "CREATE UNIQUE INDEX tags_v_idx ON tags (v); CREATE INDEX tags_k_idx ON tags (k)")
    a_url, b_url = new_database(), new_database()
    a, b = _build(a_url, a_sql), _build(b_url, b_sql)
    statements = plan(a, b, diff(a, b))
    builds = {s.sql: [(h.kind, h.message) for h in s.hazards]
              for s in statements if s.sql.startswith("CREATE")}
    assert builds == {
        "CREATE UNIQUE INDEX CONCURRENTLY tags_pkey ON public.tags USING btree "
        "(changeset_id, k)": [(
            "long-scan", "Builds the index of `public.tags.tags_pkey`; writes continue. Rows "
            "with the same key make it fail (23505) and leave `tags_pkey` behind INVALID: "
            "drop it before running the script again.")],
        "CREATE UNIQUE INDEX CONCURRENTLY tags_v_idx ON public.tags USING btree (v)": [(
            "long-scan", "Builds `tags_v_idx`; writes continue. Rows with the same key make "
            "it fail (23505) and leave `tags_v_idx` behind INVALID: drop it before running "
            "the script again.")],
        "CREATE INDEX CONCURRENTLY tags_k_idx ON public.tags USING btree (k)": [(
            "long-scan", "Builds `tags_k_idx`; writes continue.")]}
    # ... as PostgreSQL does: each unique build fails, its index stays INVALID, and the
    # statement run again finds it there
    with psycopg.connect(a_url, autocommit=True) as conn:
        conn.execute("INSERT INTO tags VALUES (1, 'name', 'x'), (1, 'name', 'x')")
        failed = _run_each(conn, statements)
        assert conn.execute("SELECT array_agg(indexrelid::regclass::text ORDER BY 1) "
                            "FROM pg_index WHERE NOT indisvalid").fetchone() == (
                                ["tags_pkey", "tags_v_idx"],)
        for sql in builds:
            if sql.startswith("CREATE UNIQUE"):
                with pytest.raises(psycopg.errors.DuplicateTable):
                    conn.execute(sql)
    assert {sql: state for sql, state in failed.items() if sql.startswith("CREATE")} == {
        sql: "23505" for sql in builds if sql.startswith("CREATE UNIQUE")}


def _build_each(conninfo: str, statements: Sequence[str]) -> SchemaSnapshot:
    """Run each statement on its own, a failing one (a unique index built CONCURRENTLY over
    duplicates, left INVALID) ignored."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for sql in statements:
            with contextlib.suppress(psycopg.errors.UniqueViolation):
                conn.execute(sql)
    return introspect_url(conninfo)


def test_an_invalid_index_in_the_target_is_said_and_one_in_the_source_rebuilt_once(
        new_database: Callable[[], str]) -> None:
    # What a failed CREATE INDEX CONCURRENTLY leaves: t_a made INVALID (nothing was said),
    # t_c new and INVALID (built valid, nothing said), t_b INVALID in the source and given
    # another definition (its DROP and CREATE were emitted twice: the second DROP, 42704).
    # pt_a, INVALID `ON ONLY` (pg-schema-diff's `some_invalid_idx`), is made so again (it
    # was built valid, a copy on pt1 that the target lacks with it), and pt2's index attached
    # to it as the target's (`ON ONLY` attaches none; the diff does not compare that).
    a_url, b_url = new_database(), new_database()
    table = ("CREATE TABLE t (a int, b int, c int); CREATE TABLE pt (a int) PARTITION BY "
             "LIST (a); CREATE TABLE pt1 PARTITION OF pt FOR VALUES IN (1); "
             "CREATE TABLE pt2 PARTITION OF pt FOR VALUES IN (2)")
    a = _build_each(a_url, [table, "INSERT INTO t VALUES (1, 1, 1), (1, 2, 2)",
                            "CREATE UNIQUE INDEX t_a ON t (b)",
                            "CREATE UNIQUE INDEX CONCURRENTLY t_b ON t (a)"])
    b = _build_each(b_url, [table, "INSERT INTO t VALUES (1, 1, 1), (1, 1, 1)",
                            "CREATE UNIQUE INDEX CONCURRENTLY t_a ON t (b)",
                            "CREATE INDEX t_b ON t (a)",
                            "CREATE UNIQUE INDEX CONCURRENTLY t_c ON t (c)",
                            "CREATE INDEX pt_a ON ONLY pt (a)", "CREATE INDEX pt2_a ON pt2 (a)",
                            "ALTER INDEX pt_a ATTACH PARTITION pt2_a"])
    statements = plan(a, b, diff(a, b))
    assert [(s.sql, [h.kind for h in s.hazards]) for s in statements
            if "t_b" in s.sql or "pt_a" in s.sql or s.sql.startswith("--")] == [
        ("DROP INDEX CONCURRENTLY public.t_b", ["index-unavailable"]),
        ("-- index public.t_a is INVALID in the target: not made INVALID", ["not-generated"]),
        ("-- index public.t_c is INVALID in the target: built valid here", ["not-generated"]),
        ("CREATE INDEX pt_a ON ONLY public.pt USING btree (a)", ["share-lock"]),
        ("ALTER INDEX public.pt_a ATTACH PARTITION public.pt2_a", []),
        ("CREATE INDEX CONCURRENTLY t_b ON public.t USING btree (a)", ["long-scan"])]
    _apply(a_url, statements, b)
    with psycopg.connect(a_url) as conn:
        assert conn.execute("SELECT inhrelid::regclass::text, inhparent::regclass::text, "
                            "indisvalid FROM pg_inherits JOIN pg_index ON indexrelid = "
                            "inhparent").fetchall() == [("pt2_a", "pt_a", False)]
    assert [c.describe() for c in diff(introspect_url(a_url), b)] == [
        "index `public.t.t_a`: valid differs (True -> False)",
        "index `public.t.t_c`: valid differs (True -> False)"]


@_pair("replaced_relations")
def test_a_new_partition_key_keeps_the_rows_of_the_partitions_the_target_keeps(
        new_database: Callable[[], str]) -> None:
    pair = PAIRS / "replaced_relations"
    a_url, a = _source(new_database, (pair / "a.sql").read_text(encoding="utf-8"))
    b = _target((pair / "b.sql").read_text(encoding="utf-8"))
    _apply(a_url, plan(a, b, diff(a, b)), b)
    with psycopg.connect(a_url, autocommit=True) as conn:
        assert conn.execute("SELECT id, d FROM public.r").fetchall() == [(1, 1)]
        assert conn.execute("SELECT rid, rd FROM public.r_refs").fetchall() == [(1, 1)]
        # numbering goes on after the rows the partition brought back
        assert conn.execute("INSERT INTO public.s (d) VALUES (3) RETURNING id").fetchone() == (3,)


def test_an_identity_column_becoming_a_plain_one_with_a_default_gets_the_default(
        new_database: Callable[[], str], tmp_path: Path) -> None:
    # The other way: pair identity_added.
    _, statements = _round_trip(
        new_database, tmp_path,
        "CREATE TABLE public.t (id integer, c integer GENERATED BY DEFAULT AS IDENTITY)",
        "CREATE TABLE public.t (id integer, c integer NOT NULL DEFAULT 7)")
    assert any("SET DEFAULT 7" in s.sql for s in statements)


@_pair("identity_added")
def test_a_plain_column_becoming_an_identity_numbers_after_its_rows(
        new_database: Callable[[], str]) -> None:
    pair = PAIRS / "identity_added"
    a_url, a = _source(new_database, (pair / "a.sql").read_text(encoding="utf-8"))
    b = _target((pair / "b.sql").read_text(encoding="utf-8"))
    _apply(a_url, plan(a, b, diff(a, b)), b)
    with psycopg.connect(a_url, autocommit=True) as conn:
        row = conn.execute("INSERT INTO public.t DEFAULT VALUES RETURNING c, n, d, neg"
                           ).fetchone()
    assert row == (2, 3, 4, 1)  # neg: -5 lies below MINVALUE 1, which stays the start


def test_a_composite_type_a_column_uses_keeps_its_attribute_types_for_a_human(
        new_database: Callable[[], str]) -> None:
    # PostgreSQL cannot convert the values a column of the type holds: the attribute's new
    # type is named as not generated; what it can do (a new attribute) is still done.
    a_url, b_url = new_database(), new_database()
    a = _build(a_url, "CREATE TYPE public.address AS (zip integer);"
                      "CREATE TABLE public.customers (home public.address);")
    b = _build(b_url, "CREATE TYPE public.address AS (zip bigint, country text);"
                      "CREATE TABLE public.customers (home public.address);")
    statements = plan(a, b, diff(a, b))
    skipped = [s for s in statements if any(h.kind == "not-generated" for h in s.hazards)]
    assert len(skipped) == 1 and skipped[0].sql.startswith("-- composite type public.address")
    assert "public.customers.home" in skipped[0].sql
    _apply(a_url, statements, b)
    after = introspect_url(a_url).composite_types[0]
    assert [(x.name, x.type) for x in after.attributes] == [("zip", "integer"),
                                                            ("country", "text")]


def test_a_collation_an_attribute_of_a_used_composite_type_has_is_left_for_a_human(
        new_database: Callable[[], str]) -> None:
    # PostgreSQL cannot give the attribute the collation made again while a column uses the
    # type (0A000), nor drop the old one while the attribute has it (2BP01): the collation
    # is named as not made again, and nothing PostgreSQL refuses is emitted.
    a_url, b_url = new_database(), new_database()
    used = ("CREATE TYPE public.pair AS (a text COLLATE public.c1, b int);"
            "CREATE TABLE public.t (p public.pair);")
    a = _build(a_url, "CREATE COLLATION public.c1 (provider = libc, locale = 'C');" + used)
    b = _build(b_url, "CREATE COLLATION public.c1 (provider = libc, locale = 'POSIX');" + used)
    statements = plan(a, b, diff(a, b))
    assert [s.sql.split(":")[0] for s in statements] == [
        "-- collation public.c1 is not made again"]
    assert "public.pair.a" in statements[0].sql
    assert [h.kind for h in statements[0].hazards] == ["not-generated"]
    _apply(a_url, statements, b)
    with psycopg.connect(a_url) as conn:
        assert conn.execute("SELECT collcollate FROM pg_collation WHERE collname = 'c1'"
                            ).fetchall() == [("C",)]


def test_an_extension_version_without_an_update_path_is_left_for_a_human(
        new_database: Callable[[], str], tmp_path: Path) -> None:
    # hstore ships update scripts from 1.4 up to its newest version and none back down:
    # going up is `ALTER EXTENSION ... UPDATE TO`, going down (22023) is named as not
    # generated, and nothing PostgreSQL refuses is emitted.
    old, new = "CREATE EXTENSION hstore VERSION '1.4';", "CREATE EXTENSION hstore;"
    _, statements = _round_trip(new_database, tmp_path, old, new)
    assert [s.sql.split(" TO ")[0] for s in statements] == ["ALTER EXTENSION hstore UPDATE"]
    a_url, b_url = new_database(), new_database()
    a, b = _build(a_url, new), _build(b_url, old)
    statements = plan(a, b, diff(a, b))
    assert [h.kind for s in statements for h in s.hazards] == ["not-generated"]
    assert all(s.sql.startswith("-- extension hstore: UPDATE TO '1.4'") for s in statements)
    _apply(a_url, statements, b)
    assert introspect_url(a_url).extensions == a.extensions


def test_a_new_partition_bound_names_the_rows_it_takes_out_of_the_parent(
        new_database: Callable[[], str]) -> None:
    # pg-schema-diff's "Altering a partition's 'FOR VALUES'": between the DETACH and the
    # ATTACH the partition's rows are not in its parent, and a row outside the new bound
    # fails the ATTACH (23514), leaving them out; the DETACH says so.
    a_url, b_url = new_database(), new_database()
    shape = ("CREATE TABLE public.t (id int, k text) PARTITION BY LIST (k);"
             "CREATE TABLE public.t1 PARTITION OF public.t FOR VALUES IN ({});")
    a = _build(a_url, shape.format("'a'") + "INSERT INTO public.t VALUES (1, 'a');")
    b = _build(b_url, shape.format("'b'"))
    statements = plan(a, b, diff(a, b))
    detach = next(s for s in statements if " DETACH PARTITION " in s.sql)
    assert [h.kind for h in detach.hazards] == ["data-loss"]
    assert "fails, 23514" in detach.hazards[0].message
    with psycopg.connect(a_url, autocommit=True) as conn:
        for statement in statements:
            if " ATTACH PARTITION " in statement.sql:
                with pytest.raises(psycopg.errors.CheckViolation):
                    conn.execute(statement.sql)
            elif not statement.sql.startswith("--"):
                conn.execute(statement.sql)
        assert conn.execute("SELECT count(*) FROM public.t").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM public.t1").fetchone() == (1,)


def test_a_partition_key_column_keeps_its_collation_for_a_human(
        new_database: Callable[[], str]) -> None:
    # PostgreSQL refuses ALTER COLUMN ... TYPE ... COLLATE on a partition key's column
    # (0A000), as it refuses a new type: named as not generated, not emitted to fail.
    a_url, b_url = new_database(), new_database()
    shape = ("CREATE TABLE public.t (id int, name text{}, note text{}) PARTITION BY LIST "
             "(name); CREATE TABLE public.t1 PARTITION OF public.t FOR VALUES IN ('a');")
    a = _build(a_url, shape.format("", ""))
    b = _build(b_url, shape.format(' COLLATE "C"', ' COLLATE "C"'))
    statements = plan(a, b, diff(a, b))
    skipped = [s for s in statements if any(h.kind == "not-generated" for h in s.hazards)]
    assert [s.subject for s in skipped] == ["public.t.name"]
    assert "cannot change the collation of `public.t.name`" in skipped[0].hazards[-1].message
    _apply(a_url, statements, b)
    left = {c.subject for c in diff(introspect_url(a_url), b)}
    assert left == {"public.t.name", "public.t1.name"}  # note's collation changed


def test_a_column_type_no_cast_leads_to_is_left_for_a_hand_written_using(
        new_database: Callable[[], str]) -> None:
    # `USING at::timestamp` fails for bigint whatever the rows hold: the statement is
    # named as not generated instead of failing the script; what can be done still is.
    a_url, b_url = new_database(), new_database()
    a = _build(a_url, "CREATE DOMAIN public.epoch AS bigint;"
                      "CREATE TABLE public.t (at bigint DEFAULT 0, at2 public.epoch, "
                      "flag integer, n integer);"
                      "CREATE INDEX t_at ON public.t (at);"
                      "INSERT INTO public.t VALUES (1700000000, 1, 5, 1);")
    b = _build(b_url, "CREATE DOMAIN public.epoch AS bigint;"
                      "CREATE TABLE public.t (at timestamp DEFAULT now(), at2 timestamptz, "
                      "flag boolean, n bigint);"
                      "CREATE INDEX t_at ON public.t (at);")
    statements = plan(a, b, diff(a, b))
    skipped = [s for s in statements if any(h.kind == "not-generated" for h in s.hazards)]
    assert sorted(s.subject for s in skipped) == ["public.t.at", "public.t.at2"]
    assert all(s.sql.startswith("-- ALTER TABLE public.t ALTER COLUMN") for s in skipped)
    hazards = {s.subject: {h.kind for h in s.hazards} for s in statements
               if s.sql.startswith("ALTER TABLE public.t ALTER COLUMN") and " TYPE " in s.sql}
    # integer to boolean: only an explicit cast, which turns 5 into true
    assert hazards == {"public.t.flag": {"table-rewrite", "data-loss"},
                       "public.t.n": {"table-rewrite"}}
    _apply(a_url, statements, b)
    left = {c.subject for c in diff(introspect_url(a_url), b)}
    assert left == {"public.t.at", "public.t.at2"}


def test_a_type_change_is_said_to_rewrite_only_where_postgresql_rewrites(
        new_database: Callable[[], str]) -> None:
    # `varchar(10)` to `text` and a wider `numeric` only relabel the column (pagila's
    # varchar columns were all said to "may rewrite"); what still scans is each CHECK using
    # the column and each index whose expression uses it, as DBS110 and DBS127 say.
    a_url, b_url = new_database(), new_database()
    shape = ("CREATE TABLE public.t (name {}, amount {} CHECK (amount > 0), code {}, "
             "label {});"
             "CREATE INDEX t_lower ON public.t (lower(name)); CREATE INDEX t_name ON public.t "
             "(name); CREATE INDEX t_code ON public.t (code);")
    a = _build(a_url, shape.format("varchar(10)", "numeric(10,2)", "integer", "varchar(10)") +
               "INSERT INTO public.t VALUES ('a', 1, 1, 'b');")
    b = _build(b_url, shape.format("text", "numeric(12,2)", "bigint", "varchar(20)"))
    statements = plan(a, b, diff(a, b))
    retyped = {s.subject: s for s in statements if " TYPE " in s.sql}
    assert {subject: sorted(h.kind for h in s.hazards) for subject, s in retyped.items()} == {
        "public.t.name": ["access-exclusive-lock", "long-scan"],  # t_lower built again
        "public.t.amount": ["access-exclusive-lock", "long-scan"],  # its CHECK checked again
        "public.t.code": ["table-rewrite"],
        "public.t.label": ["access-exclusive-lock"]}
    assert "Builds index `t_lower` again" in retyped["public.t.name"].hazards[1].message
    assert "no rewrite" in retyped["public.t.label"].hazards[0].message

    # PostgreSQL agrees: the table keeps its file through each statement said not to rewrite
    # it; the index on lower(name) gets a new one, the plain one on name does not.
    files = ("SELECT c.relname, pg_relation_filenode(c.oid) FROM pg_class c "
             "WHERE c.relname IN ('t', 't_lower', 't_name')")
    with psycopg.connect(a_url, autocommit=True) as conn:
        for subject in ("public.t.label", "public.t.amount", "public.t.name"):
            before = dict(conn.execute(files).fetchall())
            conn.execute(retyped[subject].sql)
            after = dict(conn.execute(files).fetchall())
            assert after["t"] == before["t"] and after["t_name"] == before["t_name"], subject
        assert after["t_lower"] != before["t_lower"]
        before = dict(conn.execute(files).fetchall())
        conn.execute(retyped["public.t.code"].sql)
        assert dict(conn.execute(files).fetchall())["t"] != before["t"]


def test_an_added_column_is_said_to_rewrite_only_where_its_default_is_volatile(
        new_database: Callable[[], str]) -> None:
    # langfuse's `time_scope text[] DEFAULT ARRAY['NEW'::text]` (and supabase's common
    # `timezone('utc'::text, now())`) were named a table-rewrite: PostgreSQL computes a
    # default without a volatile function once and keeps it in the catalog.
    a_url, b_url = new_database(), new_database()
    functions = ("CREATE FUNCTION public.pick() RETURNS text LANGUAGE plpgsql "
                 "AS 'BEGIN RETURN 1::text; END';"
                 "CREATE FUNCTION public.fixed() RETURNS text LANGUAGE sql STABLE "
                 "AS 'SELECT 1::text';")
    a = _build(a_url, functions + "CREATE TABLE public.t (id integer);"
               "INSERT INTO public.t VALUES (1);")
    b = _build(b_url, functions + "CREATE TABLE public.t (id integer, "
               "scope text[] DEFAULT ARRAY['NEW'::text], "
               "at timestamp DEFAULT timezone('utc'::text, now()), "
               "tag text DEFAULT public.fixed(), "
               "picked text DEFAULT public.pick(), "
               "uid uuid DEFAULT gen_random_uuid());")
    statements = plan(a, b, diff(a, b))
    added = {s.subject: s for s in statements if " ADD COLUMN " in s.sql}
    rewriting = {subject for subject, s in added.items()
                 if any(h.kind == "table-rewrite" for h in s.hazards)}
    assert rewriting == {"public.t.picked", "public.t.uid"}

    # PostgreSQL agrees, statement by statement
    with psycopg.connect(a_url, autocommit=True) as conn:
        for subject, statement in sorted(added.items()):
            query = "SELECT pg_relation_filenode('public.t')"
            before = conn.execute(query).fetchone()
            conn.execute(statement.sql)
            rewritten = conn.execute(query).fetchone() != before
            assert rewritten == (subject in rewriting), subject


def test_a_column_of_an_enum_is_said_to_be_rewritten_by_its_new_type(
        new_database: Callable[[], str]) -> None:
    # langfuse's audit_logs.user_project_role, "ProjectRole" to text, and
    # project_memberships.role, to the enum "Role": named "to its new collation may
    # rewrite"; the conversion through text rewrites the table every time.
    a_url, b_url = new_database(), new_database()
    enums = ("CREATE TYPE public.old_role AS ENUM ('admin', 'member');"
             "CREATE TYPE public.new_role AS ENUM ('owner', 'admin', 'member');")
    a = _build(a_url, enums + "CREATE TABLE public.t (r public.old_role, s public.old_role);"
               "INSERT INTO public.t VALUES ('admin', 'member');")
    b = _build(b_url, enums + "CREATE TABLE public.t (r text, s public.new_role);")
    statements = plan(a, b, diff(a, b))
    retyped = {s.subject: s for s in statements if " TYPE " in s.sql}
    assert sorted(retyped) == ["public.t.r", "public.t.s"]
    for subject, statement in retyped.items():
        assert [h.kind for h in statement.hazards] == ["table-rewrite"], subject
        assert " rewrites `public.t` " in statement.hazards[0].message, subject
    with psycopg.connect(a_url, autocommit=True) as conn:
        for statement in retyped.values():
            query = "SELECT pg_relation_filenode('public.t')"
            before = conn.execute(query).fetchone()
            conn.execute(statement.sql)
            assert conn.execute(query).fetchone() != before
    assert not [c for c in diff(introspect_url(a_url), b) if c.action != REORDER]


def test_a_sql_standard_function_reading_no_table_comes_before_the_default_calling_it(
        new_database: Callable[[], str]) -> None:
    # Lemmy's community.random_number DEFAULT random_smallint(), a `RETURN trunc(random()
    # * ...)` function created with the SQL-standard body after the columns: 42883.
    a_url, b_url = new_database(), new_database()
    a = _build(a_url, "CREATE TABLE public.t (id integer); INSERT INTO public.t VALUES (1);")
    b = _build(b_url, "CREATE FUNCTION public.random_smallint() RETURNS smallint "
               "LANGUAGE sql RETURN trunc(random() * 65536 - 32768);"
               "CREATE TABLE public.t (id integer, "
               "n smallint DEFAULT public.random_smallint() NOT NULL);"
               "CREATE FUNCTION public.t_count() RETURNS bigint LANGUAGE sql "
               "BEGIN ATOMIC SELECT count(*) FROM public.t; END;")
    statements = plan(a, b, diff(a, b))
    _apply(a_url, statements, b)
    assert not diff(introspect_url(a_url), b)


def test_a_new_column_does_not_take_the_not_null_name_a_dropped_one_still_holds(
        new_database: Callable[[], str], server_version: int) -> None:
    # PostgreSQL 18 keeps a NOT NULL constraint's name through a column rename: Lemmy's
    # `published` became `published_at`, still under `<table>_published_not_null`, which
    # the script's ADD COLUMN took while the old column held it until the drops (42710,
    # 44 columns). A chosen name is given once the old column is gone.
    a_url, b_url = new_database(), new_database()
    # A name past 63 bytes is cut before its `_not_null` suffix, as PostgreSQL cuts it.
    shape = ("CREATE TABLE public.t (id integer, published timestamptz DEFAULT now() "
             f"NOT NULL, a integer CONSTRAINT keep_me NOT NULL DEFAULT 0, {'c' * 60} integer "
             "NOT NULL DEFAULT 0);")
    a = _build(a_url, shape + "INSERT INTO public.t (id) VALUES (1);")
    b = _build(b_url, shape + "ALTER TABLE public.t RENAME published TO published_at;"
               f"ALTER TABLE public.t RENAME a TO b; ALTER TABLE public.t RENAME {'c' * 60} "
               f"TO {'d' * 60};")
    statements = plan(a, b, diff(a, b))
    _apply(a_url, statements, b)
    assert not [c for c in diff(introspect_url(a_url), b) if c.action != REORDER]
    if server_version < 180000:
        pytest.skip("needs PostgreSQL 18 (named NOT NULL constraints); the round trip passed")
    with psycopg.connect(a_url) as conn:
        names = conn.execute("SELECT conname FROM pg_constraint WHERE contype = 'n' "
                             "AND conrelid = 'public.t'::regclass ORDER BY 1").fetchall()
    assert ("keep_me",) in names


def test_a_new_not_valid_not_null_does_not_take_the_name_a_renamed_column_holds(
        new_database: Callable[[], str], server_version: int, tmp_path: Path) -> None:
    # The same clash (42710) for a new column whose NOT NULL is NOT VALID (PostgreSQL 18),
    # added by its own ADD CONSTRAINT after the column: under a free name, renamed after
    # the drops.
    shape = "-- PostgreSQL 18\nCREATE TABLE public.t (id integer, published integer NOT NULL);"
    _skip_below(shape, server_version)
    _, statements = _round_trip(
        new_database, tmp_path, shape + "ALTER TABLE public.t RENAME published TO published_at;"
        "INSERT INTO public.t VALUES (1, 2);",
        "CREATE TABLE public.t (id integer, published integer);"
        "ALTER TABLE public.t ADD CONSTRAINT t_published_not_null NOT NULL published "
        "NOT VALID;")
    assert any(s.sql.endswith(" NOT NULL published NOT VALID") for s in statements)
    # NOT VALID checks no row: the column is added to a table with rows without failing.
    [added] = [s for s in statements if " ADD COLUMN " in s.sql]
    assert added.hazards == ()


@pytest.mark.parametrize(("old", "new"), [("timestamp", "timestamptz"),
                                          ("timestamptz", "timestamp")])
def test_a_timestamp_gaining_or_losing_its_time_zone_may_rewrite_either_way(
        new_database: Callable[[], str], old: str, new: str) -> None:
    # Marquez's V73 (timestamp to timestamptz) taken back was said to rewrite its tables:
    # PostgreSQL rewrites in neither direction in a UTC session, in both elsewhere.
    a_url, b_url = new_database(), new_database()
    a = _build(a_url, f"CREATE TABLE public.t (at {old}); INSERT INTO public.t VALUES (now());")
    b = _build(b_url, f"CREATE TABLE public.t (at {new});")
    statements = plan(a, b, diff(a, b))
    retyped = [s for s in statements if " TYPE " in s.sql]
    assert [h.kind for h in retyped[0].hazards] == ["table-rewrite"]
    assert " may rewrite " in retyped[0].hazards[0].message
    with psycopg.connect(a_url) as conn:
        for zone, rewritten in (("UTC", False), ("Europe/Paris", True)):
            conn.execute("SELECT set_config('TimeZone', %s, false)", (zone,))
            query = "SELECT pg_relation_filenode('public.t')"
            before = conn.execute(query).fetchone()
            conn.execute(retyped[0].sql)
            assert (conn.execute(query).fetchone() != before) == rewritten, zone
            conn.rollback()


def test_a_column_in_a_partition_key_keeps_its_type_for_a_human(
        new_database: Callable[[], str]) -> None:
    # PostgreSQL refuses ALTER COLUMN ... TYPE on a column a partition key reads, a
    # partition's own key too (hatchet's v1_dags_olap: by range of a date, each partition by
    # list of a status enum that lost a value). Named as not generated instead of failing
    # the script; the other columns are still converted.
    a_url, b_url = new_database(), new_database()
    schema = ("CREATE TYPE public.status AS ENUM ('queued', 'done'{});"
              "CREATE TABLE public.runs (at date, status public.status, n {}) "
              "PARTITION BY RANGE (at);"
              "CREATE TABLE public.runs_1 PARTITION OF public.runs "
              "FOR VALUES FROM ('2026-01-01') TO ('2026-02-01') PARTITION BY LIST (status);"
              "CREATE TABLE public.runs_1_q PARTITION OF public.runs_1 FOR VALUES IN ('queued');"
              "CREATE TABLE public.keyed (k {}, m integer) PARTITION BY LIST (k);")
    a = _build(a_url, schema.format(", 'evicted'", "integer", "integer"))
    b = _build(b_url, schema.format("", "bigint", "bigint"))
    statements = plan(a, b, diff(a, b))
    skipped = [s for s in statements if any(h.kind == "not-generated" for h in s.hazards)]
    assert sorted(s.subject for s in skipped) == ["public.keyed.k", "public.status"]
    assert "public.runs.status (key of public.runs_1)" in skipped[0].sql
    _apply(a_url, statements, b)
    left = {c.subject for c in diff(introspect_url(a_url), b)}
    assert left == {"public.keyed.k", "public.status"}


@_pair("fk_unique_indexes")
def test_only_foreign_keys_holding_a_replaced_unique_index_let_go_of_it(
        new_database: Callable[[], str], tmp_path: Path) -> None:
    pair = PAIRS / "fk_unique_indexes"
    _, statements = _round_trip(new_database, tmp_path,
                                (pair / "a.sql").read_text(encoding="utf-8"),
                                (pair / "b.sql").read_text(encoding="utf-8"))
    dropped = [s.subject for s in statements if " DROP CONSTRAINT " in s.sql]
    assert sorted(dropped) == ["public.c.c_pcode_fkey", "public.c.c_pid_fkey",
                               "public.r.r_qid_fkey"]


@pytest.mark.parametrize("direction", ["serial to identity", "identity to serial"])
def test_a_column_between_serial_and_identity_keeps_numbering_after_its_rows(
        direction: str, new_database: Callable[[], str]) -> None:
    # The other kind's sequence takes the same name: the old one goes first, and the new
    # one goes on after the highest id, or the next insert would collide with a row.
    serial = "CREATE TABLE public.a (id serial PRIMARY KEY, n integer);"
    identity = ("CREATE TABLE public.a (id integer GENERATED BY DEFAULT AS IDENTITY "
                "PRIMARY KEY, n integer);")
    a_sql, b_sql = (serial, identity) if direction == "serial to identity" else (identity, serial)
    a_url, b_url = new_database(), new_database()
    a = _build(a_url, a_sql + "INSERT INTO public.a (n) SELECT g FROM generate_series(1, 3) g;")
    b = _build(b_url, b_sql)
    _apply(a_url, plan(a, b, diff(a, b)), b)
    assert [c.describe() for c in diff(introspect_url(a_url), b)] == []
    with psycopg.connect(a_url, autocommit=True) as conn:
        row = conn.execute("INSERT INTO public.a (n) VALUES (4) RETURNING id").fetchone()
    assert row == (4,)



@pytest.mark.parametrize(("start", "next_id"), [(100, 100), (2, 4)])
def test_a_column_becoming_an_identity_numbers_from_its_start_unless_rows_are_past_it(
        start: int, next_id: int, new_database: Callable[[], str]) -> None:
    # northwind's order ids up to 11077 becoming an identity STARTing WITH 20000: the next
    # order is 20000, as in the target, not 11078; rows at or past START are skipped.
    a_url, b_url = new_database(), new_database()
    a = _build(a_url, "CREATE TABLE public.a (id integer NOT NULL, n integer);"
                      "INSERT INTO public.a SELECT g, g FROM generate_series(1, 3) g;")
    b = _build(b_url, "CREATE TABLE public.a (id integer GENERATED BY DEFAULT AS IDENTITY "
                      f"(START WITH {start}), n integer);")
    _apply(a_url, plan(a, b, diff(a, b)), b)
    assert [c.describe() for c in diff(introspect_url(a_url), b)] == []
    with psycopg.connect(a_url, autocommit=True) as conn:
        row = conn.execute("INSERT INTO public.a (n) VALUES (4) RETURNING id").fetchone()
    assert row == (next_id,)

# -- seeded random pairs ------------------------------------------------------------------------

_TYPES = ("integer", "bigint", "text", "varchar(20)", "boolean", "numeric(8,2)", "date",
          "timestamptz", "jsonb")
_DEFAULTS = {"integer": "0", "bigint": "1", "text": "'x'", "varchar(20)": "'y'",
             "boolean": "true", "numeric(8,2)": "1.5", "date": "'2024-01-01'",
             "timestamptz": "now()", "jsonb": "'{}'"}
_CASTABLE = {"integer": ("bigint", "text", "numeric(8,2)"), "bigint": ("text", "integer"),
             "text": ("varchar(20)",), "varchar(20)": ("text",), "boolean": ("text",),
             "numeric(8,2)": ("integer", "text"), "date": ("timestamptz", "text"),
             "timestamptz": ("date", "text"), "jsonb": ("text",)}


def _random_schema(rng: random.Random) -> dict:
    tables = {}
    for t in range(rng.randint(2, 5)):
        columns = {"id": {"type": "integer", "null": False, "default": None}}
        for c in range(rng.randint(1, 6)):
            typ = rng.choice(_TYPES)
            columns[f"c{c}"] = {"type": typ, "null": rng.random() < 0.7,
                                "default": _DEFAULTS[typ] if rng.random() < 0.3 else None}
        tables[f"t{t}"] = {"columns": columns, "indexes": {}, "checks": {}, "fks": {}}
    for name, table in tables.items():
        for i, column in enumerate(c for c in table["columns"] if c != "id"):
            if rng.random() < 0.3:
                table["indexes"][f"{name}_{column}_idx{i}"] = column
            if rng.random() < 0.2 and table["columns"][column]["type"] in ("integer", "bigint"):
                table["checks"][f"{name}_{column}_chk"] = f"{column} >= 0"
    names = list(tables)
    for name in names[1:]:
        if rng.random() < 0.5:
            tables[name]["columns"]["ref"] = {"type": "integer", "null": True, "default": None}
            tables[name]["fks"][f"{name}_ref_fkey"] = names[0]
    views = {}
    if rng.random() < 0.7:
        first = tables[names[0]]
        views["v0"] = f"SELECT id, {list(first['columns'])[-1]} AS last FROM public.{names[0]}"
    return {"tables": tables, "views": views}


def _mutate(rng: random.Random, schema: dict) -> dict:
    import copy

    schema = copy.deepcopy(schema)
    tables = schema["tables"]
    for _ in range(rng.randint(1, 6)):
        name = rng.choice(list(tables))
        table = tables[name]
        payload = [c for c in table["columns"] if c not in ("id", "ref")]
        action = rng.choice(("add_column", "drop_column", "retype", "nullability", "default",
                             "index", "check", "add_table", "drop_table", "view"))
        if action == "add_column":
            typ = rng.choice(_TYPES)
            table["columns"][f"n{rng.randint(0, 999)}"] = {
                "type": typ, "null": True, "default": _DEFAULTS[typ] if rng.random() < 0.5
                else None}
        elif action == "drop_column" and payload:
            column = rng.choice(payload)
            del table["columns"][column]
            table["indexes"] = {k: v for k, v in table["indexes"].items() if v != column}
            table["checks"] = {k: v for k, v in table["checks"].items()
                               if not v.startswith(column + " ")}
        elif action == "retype" and payload:
            column = table["columns"][rng.choice(payload)]
            column["type"] = rng.choice(_CASTABLE[column["type"]])
            column["default"] = None
        elif action == "nullability" and payload:
            column = table["columns"][rng.choice(payload)]
            column["null"] = not column["null"]
        elif action == "default" and payload:
            column = table["columns"][rng.choice(payload)]
            column["default"] = None if column["default"] else _DEFAULTS[column["type"]]
        elif action == "index" and payload:
            if table["indexes"] and rng.random() < 0.5:
                del table["indexes"][rng.choice(list(table["indexes"]))]
            else:
                table["indexes"][f"{name}_m{rng.randint(0, 999)}_idx"] = rng.choice(payload)
        elif action == "check" and table["checks"]:
            key = rng.choice(list(table["checks"]))
            table["checks"][key] = table["checks"][key].replace(">= 0", "> -1")
        elif action == "add_table":
            tables[f"new{rng.randint(0, 999)}"] = {
                "columns": {"id": {"type": "bigint", "null": False, "default": None},
                            "v": {"type": "text", "null": True, "default": None}},
                "indexes": {}, "checks": {}, "fks": {}}
        elif action == "drop_table" and len(tables) > 1 and name != next(iter(tables)):
            del tables[name]
        elif action == "view":
            schema["views"]["v1"] = f"SELECT count(*) AS n FROM public.{name}"
    # Keep every reference valid after the mutations.
    first = next(iter(tables))
    for table in tables.values():
        table["fks"] = {k: v for k, v in table["fks"].items() if v in tables}
    views = {}
    for view, query in schema["views"].items():
        source = query.rsplit("public.", 1)[1]
        if source in tables and (view != "v0" or source == first):
            last = list(tables[source]["columns"])[-1]
            views[view] = (f"SELECT id, {last} AS last FROM public.{source}" if view == "v0"
                           else query)
    schema["views"] = views
    return schema


def _sql(schema: dict) -> str:
    out = []
    for name, table in schema["tables"].items():
        columns = []
        for column, spec in table["columns"].items():
            text = f"{column} {spec['type']}"
            if spec["default"] is not None:
                text += f" DEFAULT {spec['default']}"
            if not spec["null"]:
                text += " NOT NULL"
            columns.append(text)
        columns.append(f"CONSTRAINT {name}_pkey PRIMARY KEY (id)")
        columns += [f"CONSTRAINT {k} CHECK ({v})" for k, v in table["checks"].items()]
        out.append(f"CREATE TABLE public.{name} ({', '.join(columns)});")
        out += [f"CREATE INDEX {k} ON public.{name} ({v});" for k, v in table["indexes"].items()]
    for name, table in schema["tables"].items():
        out += [f"ALTER TABLE public.{name} ADD CONSTRAINT {k} FOREIGN KEY (ref) REFERENCES "
                f"public.{v} (id);" for k, v in table["fks"].items()]
    out += [f"CREATE VIEW public.{k} AS {v};" for k, v in schema["views"].items()]
    return "\n".join(out)


@pytest.mark.parametrize("seed", range(8))
def test_random_pair_round_trips(seed: int, new_database: Callable[[], str],
                                 tmp_path: Path) -> None:
    rng = random.Random(seed)
    a = _random_schema(rng)
    b = _mutate(rng, a)
    a_sql, b_sql = _sql(a), _sql(b)
    if a_sql == b_sql:
        pytest.skip("the mutations cancelled out")  # pragma: no cover - seeds are fixed
    _round_trip(new_database, tmp_path, a_sql, b_sql)


def test_a_new_partition_s_indexes_take_the_target_s_names(
        new_database: Callable[[], str], tmp_path: Path) -> None:
    # CREATE TABLE ... PARTITION OF makes the parent's indexes on the new partition under
    # names PostgreSQL picks (`events_2025_at_idx`); pg_dump's schema (GitLab's) has its own.
    parent = ("CREATE TABLE public.events (id bigint, at date, kind text) PARTITION BY RANGE "
              "(at); CREATE INDEX events_at ON public.events (at); "
              "CREATE INDEX events_kind ON public.events (lower(kind)) WHERE kind IS NOT NULL;")
    partition = ("CREATE TABLE public.events_2025 (LIKE public.events);"
                 "CREATE INDEX index_2cafcd1df7 ON public.events_2025 (at);"
                 "CREATE INDEX index_kind_2025 ON public.events_2025 (lower(kind)) "
                 "WHERE kind IS NOT NULL;"
                 "ALTER TABLE public.events ATTACH PARTITION public.events_2025 "
                 "FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');")
    _, statements = _round_trip(new_database, tmp_path, parent, parent + partition)
    assert sum(s.sql.startswith("DO $dbsafe$") for s in statements) == 2


def test_only_the_views_reading_a_retyped_or_dropped_column_are_created_again(
        new_database: Callable[[], str], tmp_path: Path) -> None:
    # PostgreSQL refuses to retype or drop a column a view reads, and only such a column:
    # a view of the table's other columns, of the whole row or of count(*) stays, with its
    # grants and the views on it, where every view of the table was dropped and created.
    table = "CREATE TABLE public.t (a integer, b integer, c text{});"
    views = ("CREATE VIEW public.reads_a AS SELECT a FROM public.t;"
             "CREATE VIEW public.reads_b AS SELECT b FROM public.t;"
             "CREATE VIEW public.reads_c AS SELECT c FROM public.t;"
             "CREATE VIEW public.whole_row AS SELECT t AS r FROM public.t;"
             "CREATE VIEW public.counted AS SELECT count(*) AS n FROM public.t;"
             "CREATE VIEW public.on_b AS SELECT b FROM public.reads_b;")
    _, statements = _round_trip(
        new_database, tmp_path, table.format(", d integer") + views,
        table.format("").replace("b integer", "b bigint") + views)
    dropped = sorted(s.sql.split()[2] for s in statements if s.sql.startswith("DROP VIEW"))
    assert dropped == ["public.on_b", "public.reads_b"]
    # A snapshot without the columns views read (written before dbsafe read them) errs on
    # the side of every view of the table.
    a_url, b_url = new_database(), new_database()
    a = _build(a_url, table.format("") + views)
    b = _build(b_url, table.format("").replace("b integer", "b bigint") + views)
    old = replace(a, relations=tuple(msgspec.structs.replace(r, depends_on_columns=None)
                                     for r in a.relations))
    assert len([s for s in plan(old, b, diff(old, b)) if s.sql.startswith("DROP VIEW")]) == 6


def test_an_enum_rebuild_creates_again_only_the_views_reading_its_columns_or_naming_it(
        new_database: Callable[[], str], tmp_path: Path) -> None:
    # Converting t.status to the rebuilt type is refused only under the views reading that
    # column; a view of t's other columns stays. A view of another table that names the type
    # keeps the old one from being dropped (2BP01), so it is created again too.
    views = ("CREATE VIEW public.notes AS SELECT id, note FROM public.t;"
             "CREATE VIEW public.statuses AS SELECT status FROM public.t;"
             "CREATE VIEW public.open_ones AS SELECT id FROM public.t WHERE status = 'a';"
             "CREATE VIEW public.defaults AS SELECT id, 'b'::public.status AS s FROM public.u;")
    tables = ("CREATE TABLE public.t (id integer, status public.status, note text);"
              "CREATE TABLE public.u (id integer);")
    _, statements = _round_trip(
        new_database, tmp_path,
        "CREATE TYPE public.status AS ENUM ('a', 'b', 'c');" + tables + views,
        "CREATE TYPE public.status AS ENUM ('b', 'a', 'c');" + tables + views)
    dropped = sorted(s.sql.split()[2] for s in statements if s.sql.startswith("DROP VIEW"))
    assert dropped == ["public.defaults", "public.open_ones", "public.statuses"]


def test_kept_partitions_indexes_are_attached_not_built_again(
        new_database: Callable[[], str], tmp_path: Path) -> None:
    # pg-schema-diff's 'Add a unique index when the local index already exists' and 'Attach
    # an unnattached, invalid index': a new parent index attaches a kept partition's
    # unattached index of the same definition (building it again failed with 42P07), and
    # an index made ON ONLY becomes valid by ATTACH PARTITION of the partition's left out
    # (dropped and built again, the parent's DROP took the attached ones and the build
    # failed on the unattached one, 42P07). A new partition of a parent with a primary key
    # gets the key's copy, not the key made again over it.
    tables = ("CREATE TABLE public.events (id int, kind text, PRIMARY KEY (kind, id)) "
              "PARTITION BY LIST (kind);"
              "CREATE TABLE public.events_a PARTITION OF public.events FOR VALUES IN ('a');"
              "CREATE TABLE public.events_b PARTITION OF public.events FOR VALUES IN ('b');"
              "CREATE UNIQUE INDEX events_a_local ON public.events_a (id, kind);"
              "CREATE INDEX events_id ON ONLY public.events (id);"
              "CREATE INDEX events_a_id ON public.events_a (id);"
              "ALTER INDEX public.events_id ATTACH PARTITION public.events_a_id;"
              "CREATE INDEX events_b_id ON public.events_b (id);")
    target = tables + ("ALTER INDEX public.events_id ATTACH PARTITION public.events_b_id;"
                       "CREATE UNIQUE INDEX events_id_kind ON public.events (id, kind);"
                       "CREATE TABLE public.events_c PARTITION OF public.events "
                       "FOR VALUES IN ('c');")
    _, statements = _round_trip(new_database, tmp_path, tables, target)
    assert not any(s.sql.startswith("DROP INDEX") for s in statements)


_KEY_OVER_INDEX = {
    # a partitioned table's unique index becoming its primary key is dropped with the
    # partition's copy, which is no longer renamed to the key's copy (42P01)
    "unique index to primary key": (
        "CREATE TABLE public.a (id int NOT NULL, k text NOT NULL) PARTITION BY LIST (k);"
        "CREATE TABLE public.a_1 PARTITION OF public.a FOR VALUES IN ('1');",
        "CREATE UNIQUE INDEX a_pkey ON public.a (k, id);",
        "ALTER TABLE public.a ADD CONSTRAINT a_pkey PRIMARY KEY (k, id);"),
    # an invalid one made ON ONLY, whose partition has its own key, is dropped before the
    # key of its name is added (42P07)
    "invalid index to unique key": (
        "CREATE TABLE public.b (id int NOT NULL, k text NOT NULL) PARTITION BY LIST (k);"
        "CREATE TABLE public.b_1 PARTITION OF public.b FOR VALUES IN ('1');",
        "CREATE UNIQUE INDEX b_k_id_key ON ONLY public.b (k, id);"
        "ALTER TABLE public.b_1 ADD CONSTRAINT b_1_k_id_key UNIQUE (k, id);",
        "ALTER TABLE public.b ADD CONSTRAINT b_k_id_key UNIQUE (k, id);"),
}


@pytest.mark.parametrize("case", sorted(_KEY_OVER_INDEX))
def test_a_key_takes_the_place_of_a_changed_index_of_its_name(
        case: str, new_database: Callable[[], str], tmp_path: Path) -> None:
    # pg-schema-diff's 'Add primary key constraint with existing matching base-table index'
    # cases.
    tables, source, target = _KEY_OVER_INDEX[case]
    _round_trip(new_database, tmp_path, tables + source, tables + target)


def test_a_key_takes_the_place_of_an_invalid_index_of_its_name_on_a_table(
        new_database: Callable[[], str]) -> None:
    # A failed CREATE UNIQUE INDEX CONCURRENTLY leaves an invalid index; the key of its
    # name is built after it is dropped (its CREATE INDEX failed with 42P07).
    a_url, b_url = new_database(), new_database()
    with psycopg.connect(a_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.t (id int NOT NULL)")
        conn.execute("INSERT INTO public.t VALUES (1), (1), (2)")
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("CREATE UNIQUE INDEX CONCURRENTLY t_pkey ON public.t (id)")
        conn.execute("DELETE FROM public.t WHERE ctid = (SELECT max(ctid) FROM public.t "
                     "WHERE id = 1)")
    a = introspect_url(a_url)
    assert [i.valid for r in a.relations for i in r.indexes] == [False]
    b = _build(b_url, "CREATE TABLE public.t (id int PRIMARY KEY)")
    _apply(a_url, plan(a, b, diff(a, b)), b)
    assert diff(introspect_url(a_url), b) == ()
    with psycopg.connect(a_url) as conn:
        assert conn.execute("SELECT id FROM public.t ORDER BY id").fetchall() == [(1,), (2,)]


def test_partitions_moving_to_a_parent_of_another_name_keep_their_keys_and_indexes(
        new_database: Callable[[], str], tmp_path: Path) -> None:
    # pg-schema-diff's 'Re-creating base table causes partitions to be re-created': the
    # partition's copy of its old parent's foreign key (of the same name, to another table
    # in the target) is dropped after the DETACH, IF EXISTS (the parent's drop may take it
    # first: 42704; dropped before the DETACH: 42P16), the ATTACH makes the new parent's
    # copy, and the partition's index, which the DETACH keeps, is not built again under its
    # name (42P07) but attached by the new parent's CREATE INDEX.
    shape = ("CREATE TABLE public.{p} (id int, k text) PARTITION BY LIST (k);"
             "CREATE UNIQUE INDEX {p}_k ON public.{p} (k);"
             "ALTER TABLE public.{p} ADD CONSTRAINT events_fk FOREIGN KEY (k) "
             "REFERENCES public.{r} (k);")
    refs = ("CREATE TABLE public.refs (k text PRIMARY KEY);"
            "INSERT INTO public.refs VALUES ('a');"
            "CREATE TABLE public.refs2 (k text PRIMARY KEY);"
            "INSERT INTO public.refs2 VALUES ('a');")
    source = (refs + shape.format(p="events", r="refs") + "CREATE TABLE public.events_a "
              "PARTITION OF public.events FOR VALUES IN ('a');"
              "INSERT INTO public.events VALUES (1, 'a');")
    target = (refs + shape.format(p="events_new", r="refs2") + "CREATE TABLE public.events_a "
              "PARTITION OF public.events_new FOR VALUES IN ('a');")
    _round_trip(new_database, tmp_path, source, target)


def _key_made_on_only(key: str) -> tuple[str, str]:
    """pg-schema-diff's 'Add primary key/unique constraint to partition using existing
    index': the parent's key made ON ONLY (invalid) and the partition's unique index, then
    the partition's key made over it and attached to the parent's."""
    a_sql = ("CREATE TABLE foobar (id int NOT NULL, foo varchar(255) NOT NULL) "
             "PARTITION BY LIST (foo);"
             "CREATE TABLE foobar_1 PARTITION OF foobar FOR VALUES IN ('foo_1');"
             f"ALTER TABLE ONLY foobar ADD CONSTRAINT some_key {key} (foo, id);"
             "CREATE UNIQUE INDEX foobar_1_key ON foobar_1 (foo, id);")
    return a_sql, a_sql + (f"ALTER TABLE foobar_1 ADD CONSTRAINT foobar_1_key {key} "
                           "USING INDEX foobar_1_key;"
                           "ALTER INDEX some_key ATTACH PARTITION foobar_1_key;")


@pytest.mark.parametrize("key", ["PRIMARY KEY", "UNIQUE"])
def test_a_partition_s_key_made_over_its_index_attaches_it_to_the_parent_s_key(
        key: str, new_database: Callable[[], str], tmp_path: Path) -> None:
    # The parent's key stays invalid until the partition's key index is attached to it
    # (ALTER INDEX ... ATTACH PARTITION, after ADD ... USING INDEX).
    a_sql, b_sql = _key_made_on_only(key)
    _, statements = _round_trip(new_database, tmp_path, a_sql, b_sql)
    assert [s.sql for s in statements][-1] == (
        "ALTER INDEX public.some_key ATTACH PARTITION public.foobar_1_key")


@pytest.mark.parametrize("key", ["PRIMARY KEY", "UNIQUE"])
def test_a_partition_s_key_its_parent_s_key_holds_is_not_dropped(
        key: str, new_database: Callable[[], str]) -> None:
    # Backwards: PostgreSQL refuses to drop the partition's key while the parent's, which
    # the target keeps, holds it (42P16; its index built again then failed, 42P07). It is
    # named not-generated instead, and nothing PostgreSQL refuses is emitted; so is the
    # parent's key, INVALID in the target, which no statement makes so.
    b_sql, a_sql = _key_made_on_only(key)
    a_url, b_url = new_database(), new_database()
    a, b = _build(a_url, a_sql), _build(b_url, b_sql)
    statements = plan(a, b, diff(a, b))
    _apply(a_url, statements, b)
    assert [(s.subject, [h.kind for h in s.hazards]) for s in statements] == [
        ("public.foobar_1.foobar_1_key", ["not-generated"]),
        ("public.foobar.some_key", ["not-generated"])]


@pytest.mark.parametrize("key", ["PRIMARY KEY", "UNIQUE"])
def test_a_parent_s_index_a_partition_s_key_is_attached_to_is_not_dropped(
        key: str, new_database: Callable[[], str], tmp_path: Path) -> None:
    # pg-schema-diff's 'Add a partitioned index that is used by a local primary key':
    # forwards the parent's index attaches the partition's key's; backwards PostgreSQL
    # refuses to drop either while the other stands (2BP01 each). The index is named
    # not-generated instead, and nothing PostgreSQL refuses is emitted.
    a_sql = ("CREATE TABLE foobar (id int NOT NULL, v text) PARTITION BY LIST (id);"
             "CREATE TABLE foobar_1 PARTITION OF foobar FOR VALUES IN (1);"
             f"ALTER TABLE foobar_1 ADD CONSTRAINT foobar_1_key {key} (id);")
    b_sql = a_sql + "CREATE UNIQUE INDEX foobar_id_idx ON foobar (id);"
    _round_trip(new_database, tmp_path, a_sql, b_sql)
    source_url, target_url = new_database(), new_database()
    source, target = _build(source_url, b_sql), _build(target_url, a_sql)
    statements = plan(source, target, diff(source, target))
    _apply(source_url, statements, target)
    assert [(s.subject, [h.kind for h in s.hazards]) for s in statements] == [
        ("public.foobar.foobar_id_idx", ["not-generated"])]
    assert "public.foobar_1.foobar_1_key" in statements[0].sql


def test_a_parent_s_index_becoming_its_key_is_not_generated_where_cascade_takes_more(
        new_database: Callable[[], str]) -> None:
    # The pair partition_keys_on_parent_plain_indexes, with a foreign key to the
    # partition's key that both sides keep: DROP INDEX ... CASCADE would take it too (the
    # partition's key and the parent's index each refuse to go while the other stands,
    # 2BP01). The parent's key is named not-generated, and nothing PostgreSQL refuses is
    # emitted.
    table = ("CREATE TABLE orders (id int NOT NULL, region text NOT NULL) "
             "PARTITION BY LIST (region);"
             "CREATE TABLE orders_eu PARTITION OF orders FOR VALUES IN ('eu');")
    refs = ("CREATE TABLE refs (region text, id int, "
            "FOREIGN KEY (region, id) REFERENCES orders_eu (region, id));")
    a_sql = (table + "CREATE UNIQUE INDEX orders_pkey ON orders (region, id);"
             "ALTER TABLE orders_eu ADD CONSTRAINT orders_eu_pkey PRIMARY KEY "
             "USING INDEX orders_eu_region_id_idx;" + refs)
    b_sql = table + "ALTER TABLE orders ADD CONSTRAINT orders_pkey PRIMARY KEY (region, id);" \
        + refs
    a_url, b_url = new_database(), new_database()
    a, b = _build(a_url, a_sql), _build(b_url, b_sql)
    statements = plan(a, b, diff(a, b))
    _apply(a_url, statements, b)
    assert [(s.subject, [h.kind for h in s.hazards]) for s in statements] == [
        ("public.orders.orders_pkey", ["not-generated"])]


@_pair("regenerated_column_users")
def test_an_index_dropped_with_a_column_dropped_and_added_again_is_named(
        server_version: int) -> None:
    # boxes.area goes from STORED to VIRTUAL (dropped and added again) and loses its index:
    # the index is dropped on its own, with its hazard, before the column (DROP COLUMN
    # would take it without a word).
    pair = PAIRS / "regenerated_column_users"
    _skip_below((pair / "a.sql").read_text(encoding="utf-8"), server_version)
    a = _target((pair / "a.sql").read_text(encoding="utf-8"))
    b = _target((pair / "b.sql").read_text(encoding="utf-8"))
    statements = plan(a, b, diff(a, b))
    sqls = [s.sql for s in statements]
    drop = sqls.index("DROP INDEX CONCURRENTLY public.boxes_area")
    assert drop < sqls.index("ALTER TABLE public.boxes DROP COLUMN area")
    assert [h.kind for h in statements[drop].hazards] == ["index-unavailable"]


@pytest.mark.parametrize(("old", "new", "value"), [
    ("character varying(3)", "integer", "'3pt'"),  # Thunderdome's storyboard_story.points
    ("text", "uuid", "'not-a-uuid'"),
])
def test_a_column_read_by_its_new_types_input_names_the_values_it_refuses(
        old: str, new: str, value: str, new_database: Callable[[], str]) -> None:
    # `USING a::integer` reads each value's text: PostgreSQL refuses one it cannot read
    # (22P02) and changes nothing; the statement's hazard says so.
    a_url, b_url = new_database(), new_database()
    a = _build(a_url, f"CREATE TABLE public.t (a {old}); INSERT INTO public.t VALUES ({value})")
    b = _build(b_url, f"CREATE TABLE public.t (a {new})")
    statements = [s for s in plan(a, b, diff(a, b)) if not s.sql.startswith("--")]
    (retype,) = [s for s in statements if " TYPE " in s.sql]
    assert any(f"not valid {new} text makes it fail" in h.message for h in retype.hazards)
    with psycopg.connect(a_url, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InvalidTextRepresentation):
            for statement in statements:
                conn.execute(statement.sql)
        assert conn.execute("SELECT a::text FROM public.t").fetchone() == (value.strip("'"),)


@pytest.mark.parametrize(("old", "value", "refusal"), [
    ("character varying", "'c'", "not a label of e makes it fail"),  # migra's everything
    ("public.e0", "'c'", "e has no label for ('c') makes it fail"),
])
def test_a_column_made_an_enum_names_the_values_it_refuses(
        old: str, value: str, refusal: str, new_database: Callable[[], str]) -> None:
    # An enum reads each value's text: PostgreSQL refuses one naming no label (22P02) and
    # changes nothing; the statement's hazard says so.
    types = "CREATE TYPE public.e AS ENUM ('a', 'b'); CREATE TYPE public.e0 AS ENUM ('a', 'c');"
    a_url, b_url = new_database(), new_database()
    a = _build(a_url, f"{types} CREATE TABLE public.t (a {old}); "
                      f"INSERT INTO public.t VALUES ('a'), ({value})")
    b = _build(b_url, f"{types} CREATE TABLE public.t (a public.e)")
    statements = [s for s in plan(a, b, diff(a, b)) if not s.sql.startswith("--")]
    (retype,) = [s for s in statements if " TYPE " in s.sql]
    assert any(refusal in h.message for h in retype.hazards)
    with psycopg.connect(a_url, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InvalidTextRepresentation):
            conn.execute(retype.sql)
        conn.execute("DELETE FROM public.t WHERE a::text = 'c'")
        conn.execute(retype.sql)
    assert [c for c in diff(introspect_url(a_url), b) if c.kind != "enum"] == []


def test_a_column_made_an_enum_from_a_type_no_cast_leads_from_is_not_generated(
        new_database: Callable[[], str]) -> None:
    # `USING a::public.e` from integer fails whatever the rows hold (42846): only text
    # reaches an enum, so the statement is named, not emitted.
    a_url, b_url = new_database(), new_database()
    a = _build(a_url, "CREATE TYPE public.e AS ENUM ('1'); CREATE TABLE public.t (a integer)")
    b = _build(b_url, "CREATE TYPE public.e AS ENUM ('1'); CREATE TABLE public.t (a public.e)")
    (retype,) = [s for s in plan(a, b, diff(a, b)) if " TYPE " in s.sql]
    assert retype.sql.startswith("-- ")
    assert [h.kind for h in retype.hazards] == ["not-generated"]
    with psycopg.connect(a_url, autocommit=True) as conn, \
            pytest.raises(psycopg.errors.CannotCoerce):
        conn.execute(retype.sql.removeprefix("-- ").split(" USING ")[0] + " USING a::public.e")


@pytest.mark.parametrize(("owned", "moved"), [
    (" ALTER SEQUENCE {seq} OWNED BY public.t.id;", False), ("", False),
    (" ALTER SEQUENCE {seq} OWNED BY public.t.id;", True), ("", True)],
    ids=["owned-by-the-column", "default-only", "moved-owned-by-the-column",
         "moved-default-only"])
def test_a_sequence_made_by_hand_and_renamed_is_renamed_keeping_its_counter(
        new_database: Callable[[], str], tmp_path: Path, owned: str, moved: bool) -> None:
    # Matched by name, `s` was dropped and `t_ids` created: the counter started over at 1 and
    # the next row's id collided with the rows' (23505). Tied to the same column on both
    # sides (OWNED BY it, or its default's nextval()), it is one rename that keeps it, in
    # another schema too (a drop and an add until then): RENAME TO, then SET SCHEMA, which
    # PostgreSQL refuses for an owned sequence (0A000) unless it is let go of first (one in
    # another schema than its table's cannot be owned by its column: 55000).
    def schema(seq: str, owned: str) -> str:
        return (f"CREATE SCHEMA other; CREATE SEQUENCE {seq}; CREATE TABLE public.t (id "
                f"integer PRIMARY KEY DEFAULT nextval('{seq}'), v text);" + owned.format(seq=seq))

    new = "other.t_ids" if moved else "public.t_ids"
    a_url, b_url = new_database(), new_database()
    a = _build(a_url, schema("public.s", owned)
               + "INSERT INTO public.t (v) VALUES ('a'), ('b'), ('c');")
    b = _build(b_url, schema(new, "" if moved else owned))
    changes = diff(a, b)
    assert [c.describe() for c in changes] == [
        f"sequence `{new}`: name differs ({'public.s' if moved else 's'} -> "
        f"{new if moved else 't_ids'})"] + (
        [f"sequence `{new}`: owned_by differs (public.t.id -> none)"]
        if moved and owned else [])
    statements = plan(a, b, changes)
    assert [s.sql for s in statements] == ["ALTER SEQUENCE public.s RENAME TO t_ids"] + (
        (["ALTER SEQUENCE public.t_ids OWNED BY NONE"] if owned else [])
        + ["ALTER SEQUENCE public.t_ids SET SCHEMA other"] if moved else [])
    assert _lint_errors(tmp_path, statements, b) == []
    _psql(a_url, tmp_path, statements, b)
    with psycopg.connect(a_url, autocommit=True) as conn:
        assert conn.execute(f"SELECT last_value FROM {new}").fetchone() == (3,)
        conn.execute("INSERT INTO public.t (v) VALUES ('d')")
        assert conn.execute("SELECT max(id), count(*) FROM public.t").fetchone() == (4, 4)
    assert diff(introspect_url(a_url), b) == ()


def _numbered_by(seq: str, extra: str = "") -> str:
    """public.t, its id numbered by the sequence `seq`, and the schema `other`."""
    return (f"CREATE SCHEMA other; CREATE SEQUENCE {seq}; CREATE TABLE public.t (id "
            f"integer PRIMARY KEY DEFAULT nextval('{seq}'), v text);{extra}")


def test_a_sequence_renamed_into_a_name_its_old_schema_holds_moves_first(
        new_database: Callable[[], str], tmp_path: Path) -> None:
    # public.t_ids is a table the target drops: renamed first in public, the sequence hit it
    # (42P07 half way); moved first, it is renamed in `other`, where the name is free.
    a_sql, b_sql = _numbered_by("public.s", "CREATE TABLE public.t_ids (x int);"), \
        _numbered_by("other.t_ids")
    rows = "INSERT INTO public.t (v) VALUES ('a'), ('b'), ('c');"
    a_url, b_url = new_database(), new_database()
    a, b = _build(a_url, a_sql + rows), _build(b_url, b_sql)
    statements = plan(a, b, diff(a, b))
    assert [s.sql for s in statements if s.sql.startswith("ALTER SEQUENCE")] == [
        "ALTER SEQUENCE public.s SET SCHEMA other", "ALTER SEQUENCE other.s RENAME TO t_ids"]
    _psql(a_url, tmp_path, statements, b)
    with psycopg.connect(a_url, autocommit=True) as conn:
        assert conn.execute("SELECT last_value FROM other.t_ids").fetchone() == (3,)
    assert diff(introspect_url(a_url), b) == ()


def test_a_sequence_renamed_into_a_name_both_schemas_hold_is_not_generated(
        new_database: Callable[[], str]) -> None:
    # other.t_ids is a table the target drops: the name is taken where the sequence goes,
    # so neither RENAME first nor SET SCHEMA first can run (each 42P07 on PostgreSQL).
    a_url, b_url = new_database(), new_database()
    a = _build(a_url, _numbered_by("public.s", "CREATE TABLE public.t_ids (x int);"
                                         "CREATE TABLE other.t_ids (x int);"))
    b = _build(b_url, _numbered_by("other.t_ids"))
    (skipped,) = [s for s in plan(a, b, diff(a, b)) if "public.s" in s.sql]
    assert skipped.sql.startswith("-- ")
    assert [h.kind for h in skipped.hazards] == ["not-generated"]
    with psycopg.connect(a_url, autocommit=True) as conn:
        for order in ("ALTER SEQUENCE public.s RENAME TO t_ids",
                      "ALTER SEQUENCE public.s SET SCHEMA other;"
                      "ALTER SEQUENCE other.s RENAME TO t_ids"):
            with pytest.raises(psycopg.errors.DuplicateTable):
                conn.execute(order)


def test_a_partition_attaching_another_index_to_its_parent_s_is_a_difference(
        new_database: Callable[[], str]) -> None:
    # Both sides' foobar_1 has some_local_idx and foobar_1_foo_bar_idx, of the parent's
    # index's definition; the source attached some_local_idx (the older, at its ATTACH),
    # the target foobar_1_foo_bar_idx. Which one was not compared: no difference. Now it
    # is one, not generated: no DETACH for an index, and DROP INDEX of the attached one is
    # refused.
    parent = ("CREATE TABLE public.foobar (foo int, bar int) PARTITION BY LIST (foo);"
              "CREATE INDEX foobar_foo_bar_idx ON public.foobar (foo, bar);")
    a_url, b_url = new_database(), new_database()
    a = _build(a_url, parent + (
        "CREATE TABLE public.foobar_1 (foo int, bar int);"
        "CREATE INDEX some_local_idx ON public.foobar_1 (foo, bar);"
        "ALTER TABLE public.foobar ATTACH PARTITION public.foobar_1 FOR VALUES IN (1);"
        "CREATE INDEX foobar_1_foo_bar_idx ON public.foobar_1 (foo, bar);"))
    b = _build(b_url, parent + (
        "CREATE TABLE public.foobar_1 PARTITION OF public.foobar FOR VALUES IN (1);"
        "CREATE INDEX some_local_idx ON public.foobar_1 (foo, bar);"))
    changes = diff(a, b)
    assert [c.describe() for c in changes] == [
        "index `public.foobar_1.foobar_1_foo_bar_idx`: attached_to differs "
        "(none -> foobar_foo_bar_idx)",
        "index `public.foobar_1.some_local_idx`: attached_to differs "
        "(foobar_foo_bar_idx -> none)"]
    (statement,) = plan(a, b, changes)
    assert statement.sql.startswith("-- ")
    assert [h.kind for h in statement.hazards] == ["not-generated"]
    with psycopg.connect(a_url, autocommit=True) as conn, \
            pytest.raises(psycopg.errors.DependentObjectsStillExist):
        conn.execute("DROP INDEX public.some_local_idx")


def test_a_sequence_dropped_and_one_of_its_parameters_created_names_the_counter_restart(
        new_database: Callable[[], str], tmp_path: Path) -> None:
    # Not tied to the same column (here to none): still a drop and a create, the drop
    # named a possible rename whose counter would start over.
    a_url, b_url = new_database(), new_database()
    a = _build(a_url, "CREATE SEQUENCE public.s START 5; SELECT nextval('public.s');")
    b = _build(b_url, "CREATE SEQUENCE public.s2 START 5;")
    statements = plan(a, b, diff(a, b))
    (drop,) = [s for s in statements if s.sql.startswith("DROP SEQUENCE")]
    assert [h.message for h in drop.hazards] == [
        "`public.s2` is created with the same parameters: if this is a rename, use ALTER "
        "SEQUENCE public.s RENAME TO s2 instead and keep its counter; created, it starts "
        "again at 5, and a column it numbers gets ids its rows already have (duplicate keys)."]
    _psql(a_url, tmp_path, statements, b)
    assert diff(introspect_url(a_url), b) == ()


@pytest.mark.parametrize(("a_sql", "b_sql", "hazard", "next_value"), [
    # Used up to 500, a new MAXVALUE of 100 (the other way counting down): PostgreSQL
    # refuses it (22023), which the snapshot, holding no counter, can only say beforehand;
    # a RESTART would hand out values it gave again.
    ("CREATE SEQUENCE public.s; SELECT setval('public.s', 500);",
     "CREATE SEQUENCE public.s MAXVALUE 100;",
     "may-fail: Fails (22023) if its counter is above its new MAXVALUE (100)", None),
    ("CREATE SEQUENCE public.s INCREMENT -1; SELECT setval('public.s', -500);",
     "CREATE SEQUENCE public.s INCREMENT -1 MINVALUE -100;",
     "may-fail: Fails (22023) if its counter is below its new MINVALUE (-100)", None),
    # A new MINVALUE above the old MAXVALUE (the other way counting down): restarted, with no
    # hazard: no value it can have given lies inside the new bounds.
    ("CREATE SEQUENCE public.s MAXVALUE 10; SELECT setval('public.s', 10);",
     "CREATE SEQUENCE public.s MINVALUE 20 START 20;", None, 20),
    ("CREATE SEQUENCE public.s INCREMENT -1 MINVALUE -10; SELECT setval('public.s', -10);",
     "CREATE SEQUENCE public.s INCREMENT -1 MAXVALUE -20 START -20;", None, -20),
], ids=["past a new MAXVALUE", "past a new MINVALUE", "new MINVALUE above the old MAXVALUE",
        "new MAXVALUE below the old MINVALUE"])
def test_new_sequence_bounds_that_may_leave_out_a_used_counter_name_what_happens(
        a_sql: str, b_sql: str, hazard: str | None, next_value: int | None,
        new_database: Callable[[], str]) -> None:
    a_url, b_url = new_database(), new_database()
    a, b = _build(a_url, a_sql), _build(b_url, b_sql)
    (alter,) = plan(a, b, diff(a, b))
    hazards = [f"{h.kind}: {h.message}" for h in alter.hazards]
    if hazard:
        assert len(hazards) == 1 and hazards[0].startswith(hazard), hazards
    else:
        assert hazards == []
    with psycopg.connect(a_url, autocommit=True) as conn:
        if next_value is None:
            with pytest.raises(psycopg.errors.InvalidParameterValue):
                conn.execute(alter.sql)
            return
        conn.execute(alter.sql)
        assert conn.execute("SELECT nextval('public.s')").fetchone() == (next_value,)
    assert diff(introspect_url(a_url), b) == ()


def test_a_cycling_counter_moved_up_to_a_new_minvalue_names_the_values_it_gives_again(
        new_database: Callable[[], str]) -> None:
    # s and d cycled (s from 100 back to 1, d from -100 back to -1): their counters lie
    # short of the new MINVALUE (MAXVALUE counting down) after giving the values past it,
    # which the setval hands out again (said to be past every value given, no hazard); n,
    # which cannot cycle, is.
    a_url, b_url = new_database(), new_database()
    a = _build(a_url, "CREATE SEQUENCE s MAXVALUE 100 CYCLE; SELECT setval('s', 100); "
               "SELECT nextval('s'); CREATE SEQUENCE d INCREMENT -1 MINVALUE -100 CYCLE; "
               "SELECT setval('d', -100); SELECT nextval('d'); "
               "CREATE SEQUENCE n MAXVALUE 100; SELECT setval('n', 10)")
    b = _build(b_url, "CREATE SEQUENCE s MINVALUE 50 MAXVALUE 100 CYCLE; "
               "CREATE SEQUENCE d INCREMENT -1 MINVALUE -100 MAXVALUE -50 CYCLE; "
               "CREATE SEQUENCE n MINVALUE 50 MAXVALUE 100")
    statements = plan(a, b, diff(a, b))
    assert {s.sql.split(",")[0]: [f"{h.kind}: {h.message}" for h in s.hazards]
            for s in statements if s.sql.startswith("SELECT setval")} == {
        "SELECT setval('public.d'": [
            "data-loss: It cycles: a counter short of -50 may have come round past its old "
            "MINVALUE, after giving the values down to -50, which this hands out again (an "
            "insert fails, 23505, where one is still taken)."],
        "SELECT setval('public.n'": [],
        "SELECT setval('public.s'": [
            "data-loss: It cycles: a counter short of 50 may have come round past its old "
            "MAXVALUE, after giving the values from 50, which this hands out again (an insert "
            "fails, 23505, where one is still taken)."]}
    _apply(a_url, statements, b)
    with psycopg.connect(a_url, autocommit=True) as conn:  # given before they cycled
        assert conn.execute("SELECT nextval('s'), nextval('d'), nextval('n')").fetchone() \
            == (50, -50, 50)
    assert diff(introspect_url(a_url), b) == ()


def test_a_new_child_table_leaves_its_parents_columns_to_inherits(
        new_database: Callable[[], str], tmp_path: Path) -> None:
    # migra's `inherit`: the child's CREATE TABLE wrote out its parent's columns, which made
    # them its own too (attislocal): a DROP COLUMN on the parent left them in the child. Left
    # to INHERITS, with the child's own default and NOT NULL set on it alone.
    parent = "CREATE TABLE public.p (id bigint DEFAULT 0, kind text, at date);"
    a_url = _run_with_psql(new_database, tmp_path, parent, parent + (
        "CREATE TABLE public.c (extra int) INHERITS (public.p);"
        "ALTER TABLE ONLY public.c ALTER COLUMN id SET DEFAULT 7, ALTER COLUMN kind SET NOT NULL;"))
    with psycopg.connect(a_url, autocommit=True) as conn:
        assert conn.execute(
            "SELECT attname, attislocal, attnotnull, pg_get_expr(adbin, adrelid) "
            "FROM pg_attribute LEFT JOIN pg_attrdef ON adrelid = attrelid AND adnum = attnum "
            "WHERE attrelid = 'public.c'::regclass AND attnum > 0 ORDER BY attnum").fetchall() \
            == [("id", False, False, "7"), ("kind", False, True, None), ("at", False, False, None),
                ("extra", True, False, None)]
        conn.execute("ALTER TABLE public.p DROP COLUMN at")
        assert conn.execute("SELECT count(*) FROM pg_attribute WHERE attrelid = 'public.c'"
                            "::regclass AND attname = 'at' AND NOT attisdropped").fetchone() == (0,)


def test_a_childs_own_column_its_parent_gains_is_said_to_stay_its_own(
        new_database: Callable[[], str]) -> None:
    # migra's `inherit2` backwards: the parent's ADD COLUMN e merges with a's own e, which
    # stays a's own too (attislocal), where the target has it from the parent alone; so do
    # j's columns when j joins the parent (INHERIT). PostgreSQL cannot undo that but by
    # dropping the column; nothing said so.
    a_url, b_url = new_database(), new_database()
    a = _build(a_url, "CREATE TABLE public.base (created_at timestamp DEFAULT now());"
               "CREATE TABLE public.a (a1 integer, e integer) INHERITS (public.base);"
               "CREATE TABLE public.j (created_at timestamp DEFAULT now(), e integer, own int)")
    b = _build(b_url, "CREATE TABLE public.base (created_at timestamp DEFAULT now(), e int);"
               "CREATE TABLE public.a (a1 integer) INHERITS (public.base);"
               "CREATE TABLE public.j (own int) INHERITS (public.base)")
    statements = plan(a, b, diff(a, b))
    assert [(s.sql, [h.kind for h in s.hazards]) for s in statements
            if s.sql.startswith("-- column public")] == [
        (f"-- column public.{column} stays the table's own too, not its parents' alone",
         ["not-generated"]) for column in ("a.e", "j.created_at", "j.e")]
    _apply(a_url, statements, b)
    with psycopg.connect(a_url, autocommit=True) as conn:  # as PostgreSQL keeps them
        assert conn.execute(
            "SELECT attrelid::regclass::text, attname, attislocal, attinhcount FROM pg_attribute "
            "WHERE attrelid IN ('a'::regclass, 'j'::regclass) AND attname IN ('e', 'created_at')"
            " ORDER BY 1, 2").fetchall() == [
                ("a", "created_at", False, 1), ("a", "e", True, 1),
                ("j", "created_at", True, 1), ("j", "e", True, 1)]
    assert [c.action for c in diff(introspect_url(a_url), b)] == [REORDER]  # a's e, a1


def test_a_parents_column_merging_with_a_childs_type_left_for_a_human_is_left_too(
        new_database: Callable[[], str]) -> None:
    # No cast leads from the child's own `box` to the parent's new integer: its ALTER TYPE
    # is a note, and so is the parent's ADD COLUMN, which would fail on it (42804).
    a_url, b_url = new_database(), new_database()
    a = _build(a_url, "CREATE TABLE public.p (id int); CREATE TABLE public.c (e box) "
               "INHERITS (public.p)")
    b = _build(b_url, "CREATE TABLE public.p (id int, e int); CREATE TABLE public.c () "
               "INHERITS (public.p)")
    statements = plan(a, b, diff(a, b))
    assert [s.sql.split(" is not generated")[0] for s in statements
            if s.sql.startswith("-- ALTER")] == [
        "-- ALTER TABLE public.c ALTER COLUMN e TYPE integer USING <expression of e>",
        "-- ALTER TABLE public.p ADD COLUMN e"]
    _apply(a_url, statements, b)



# What the script of the `narrowed_grants` pair grants and revokes, each way (the roles'
# names shortened): only the privileges and grant options that differ, grants first.
_NARROWED_GRANTS = {
    "forward": [
        "REVOKE CREATE ON SCHEMA app FROM anon",
        "REVOKE UPDATE ON SEQUENCE public.counter FROM anon",
        "REVOKE EXECUTE ON FUNCTION public.visible() FROM PUBLIC",
        "GRANT INSERT ON TABLE public.opportunities TO PUBLIC",
        "REVOKE INSERT ON TABLE public.opportunities FROM anon",
        "GRANT SELECT ON TABLE public.opportunities TO reader WITH GRANT OPTION",
        "REVOKE GRANT OPTION FOR SELECT ON TABLE public.orders FROM reader",
        "REVOKE UPDATE ON TABLE public.orders FROM reader",
        # the REVOKE GRANT OPTION FOR on the table took the column's
        "GRANT SELECT (id) ON TABLE public.orders TO reader WITH GRANT OPTION",
        "REVOKE SELECT ON TABLE public.profiles FROM anon",  # took SELECT (id, email)
        "GRANT SELECT (email) ON TABLE public.profiles TO anon",
        "GRANT UPDATE (title) ON TABLE public.opportunities TO anon",
        "GRANT UPDATE (total) ON TABLE public.orders TO reader",
        "GRANT SELECT (id), UPDATE (id) ON TABLE public.profiles TO anon",
        "ALTER DEFAULT PRIVILEGES FOR ROLE <me> IN SCHEMA app REVOKE INSERT ON TABLES FROM anon",
    ],
    "backward": [
        "GRANT CREATE ON SCHEMA app TO anon",
        "GRANT UPDATE ON SEQUENCE public.counter TO anon",
        "GRANT EXECUTE ON FUNCTION public.visible() TO PUBLIC",
        "REVOKE INSERT ON TABLE public.opportunities FROM PUBLIC",
        "GRANT INSERT ON TABLE public.opportunities TO anon",
        "REVOKE GRANT OPTION FOR SELECT ON TABLE public.opportunities FROM reader",
        "GRANT SELECT, UPDATE ON TABLE public.orders TO reader WITH GRANT OPTION",
        "GRANT SELECT ON TABLE public.profiles TO anon",
        "REVOKE UPDATE (title) ON TABLE public.opportunities FROM anon",
        "REVOKE UPDATE (total) ON TABLE public.orders FROM reader",
        "REVOKE UPDATE (id) ON TABLE public.profiles FROM anon",
        "ALTER DEFAULT PRIVILEGES FOR ROLE <me> IN SCHEMA app GRANT INSERT ON TABLES TO anon",
    ],
}


@_pair("narrowed_grants")
@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_grants_change_by_the_privileges_that_differ_never_all_of_them(
        direction: str, new_database: Callable[[], str], tmp_path: Path) -> None:
    # `REVOKE ALL ... FROM anon` then `GRANT SELECT` narrowed SELECT, INSERT to SELECT and
    # left Supabase's anonymous reads failing in between (task 563, 568).
    a_sql = (PAIRS / "narrowed_grants" / "a.sql").read_text(encoding="utf-8")
    b_sql = (PAIRS / "narrowed_grants" / "b.sql").read_text(encoding="utf-8")
    if direction == "backward":
        a_sql, b_sql = b_sql, a_sql
    _, statements = _round_trip(new_database, tmp_path, a_sql, b_sql)
    with psycopg.connect(new_database()) as conn:
        me = conn.execute("SELECT current_user").fetchone()
    assert me is not None
    grants = [s for s in statements if s.sql.startswith(("GRANT", "REVOKE", "ALTER DEFAULT"))]
    assert not [s.sql for s in grants if "REVOKE ALL" in s.sql]
    assert [s.sql.replace("dbsafe_pair_", "").replace(f"ROLE {me[0]} ", "ROLE <me> ")
            for s in grants if "dbsafe_pair_" in s.sql or "PUBLIC" in s.sql
            ] == _NARROWED_GRANTS[direction]
    # The owner's own privileges change as others' do (SELECT, INSERT, ... it keeps).
    assert [s.sql.partition(" FROM ")[0] for s in grants
            if s.sql.endswith((f"FROM {me[0]}", f"TO {me[0]}"))] == [
        "REVOKE TRUNCATE ON TABLE public.opportunities" if direction == "forward"
        else "GRANT TRUNCATE ON TABLE public.opportunities TO " + me[0]]
    # A REVOKE on a table reaches the same privilege on its columns: what is granted again
    # after it is missing in between, and said so.
    assert [(s.sql, h.message) for s in grants for h in s.hazards] == ([(
        "REVOKE SELECT ON TABLE public.profiles FROM dbsafe_pair_anon",
        "Takes from `dbsafe_pair_anon` its SELECT on `id`, `email` of `public.profiles` "
        "too (a REVOKE on a table reaches the same privilege on its columns); granted again "
        "after it: in between, `dbsafe_pair_anon` cannot use them.")]
        if direction == "forward" else [])


@_pair("replaced_views")
@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_a_redefined_view_keeping_its_columns_is_replaced_where_it_stands(
        direction: str, new_database: Callable[[], str], tmp_path: Path) -> None:
    # HOCKIA's public_opportunities, given a column, was dropped before the script's table
    # and index steps and created after them: missing (42P01) all that time, unsaid.
    a_sql = (PAIRS / "replaced_views" / "a.sql").read_text(encoding="utf-8")
    b_sql = (PAIRS / "replaced_views" / "b.sql").read_text(encoding="utf-8")
    if direction == "backward":
        a_sql, b_sql = b_sql, a_sql
    _, statements = _round_trip(new_database, tmp_path, a_sql, b_sql)
    views = [(s.sql.split(" AS")[0], [h.kind for h in s.hazards]) for s in statements
             if " VIEW " in s.sql and not s.sql.startswith(("COMMENT", "GRANT"))]
    gap = ["view-gap"]
    if direction == "forward":  # the view reading it stays; a new one comes after it
        assert views == [
            ("DROP VIEW public.titles", gap),
            ("DROP MATERIALIZED VIEW public.statuses", gap),
            ("DROP VIEW public.ids", gap),
            ("CREATE VIEW public.ids", []),
            ("CREATE OR REPLACE VIEW public.public_opportunities WITH (security_invoker=true)",
             []),
            ("CREATE VIEW public.recent", []),
            ("CREATE MATERIALIZED VIEW public.statuses", ["long-scan"]),
            ("CREATE VIEW public.titles", []),
        ]
        assert [s.sql for s in statements].index("ALTER TABLE public.opportunities ADD "
                                                 "COLUMN featured boolean") < [
            s.sql.split(" AS")[0] for s in statements].index(views[4][0])
    else:  # a column goes: dropped and created again, the view reading it too
        assert views == [
            ("DROP VIEW public.titles", gap),
            ("DROP MATERIALIZED VIEW public.statuses", gap),
            ("DROP VIEW public.recent", ["data-loss"]),
            ("DROP VIEW public.open_count", gap),
            ("DROP VIEW public.public_opportunities", gap),
            ("DROP VIEW public.ids", gap),
            ("CREATE VIEW public.ids", []),
            ("CREATE VIEW public.public_opportunities WITH (security_invoker=true)", []),
            ("CREATE VIEW public.open_count", []),
            ("CREATE MATERIALIZED VIEW public.statuses", ["long-scan"]),
            ("CREATE VIEW public.titles", []),
        ]
        gaps = {s.subject: h.message.rpartition("(42P01). ")[2] for s in statements
                for h in s.hazards if h.kind == "view-gap"}
        assert gaps["public.public_opportunities"] == (
            "(Its columns change other than by new ones at the end, which CREATE OR REPLACE "
            "VIEW refuses, 42P16.)")
        assert gaps["public.open_count"] == (
            "(It reads what changes, which PostgreSQL refuses to change while it stands.)")
        assert gaps["public.statuses"] == "(A materialized view cannot be replaced.)"


@_pair("views_reading_dropped_columns")
def test_a_view_reading_a_column_dropped_last_is_replaced_before_it_goes(
        new_database: Callable[[], str], tmp_path: Path) -> None:
    # A view whose old query read a column the script drops was dropped before the table
    # steps and created after them (view-gap), with the views reading it; the column goes
    # only in the script's last steps, so the view is replaced by its new query before.
    pair = PAIRS / "views_reading_dropped_columns"
    _, statements = _round_trip(new_database, tmp_path,
                                (pair / "a.sql").read_text(encoding="utf-8"),
                                (pair / "b.sql").read_text(encoding="utf-8"))
    sqls = [s.sql.split(" AS\n")[0] for s in statements]
    views = [(sql, [h.kind for h in s.hazards]) for sql, s in zip(sqls, statements)
             if " VIEW " in sql and not sql.startswith(("COMMENT", "GRANT"))]
    gap = ["view-gap"]
    assert views == [
        ("DROP MATERIALIZED VIEW public.m", gap),
        ("DROP VIEW public.gone", gap),
        ("DROP VIEW public.ev_notes", gap),  # its column goes before ev_2 attaches
        ("CREATE OR REPLACE VIEW public.v", []),
        ("CREATE OR REPLACE VIEW public.both_", []),
        ("CREATE VIEW public.ev_notes", []),
        ("CREATE VIEW public.gone", []),
        ("CREATE OR REPLACE VIEW public.log_notes", []),
        ("CREATE MATERIALIZED VIEW public.m", ["long-scan"]),
    ]
    assert sqls.index("ALTER TABLE public.ev DROP COLUMN note") \
        < sqls.index("CREATE VIEW public.ev_notes")
    for view, column in (("v", "public.t DROP COLUMN old"), ("both_", "public.t DROP COLUMN old"),
                         ("log_notes", "public.logs DROP COLUMN note")):
        assert sqls.index(f"CREATE OR REPLACE VIEW public.{view}") \
            < sqls.index(f"ALTER TABLE {column}")
    # public.v keeps its grant, public.w (reading it only) is left alone
    assert not [s for s in sqls if "public.w" in s or s.startswith("GRANT")]


@_pair("serials_made_identities")
@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_a_serial_made_an_identity_alters_no_sequence_it_drops(
        direction: str, new_database: Callable[[], str], tmp_path: Path) -> None:
    # A serial made an identity `START WITH 1000` got `ALTER SEQUENCE ... START WITH 1000`
    # of the serial's sequence before its DROP SEQUENCE (task 563): useless. The new
    # sequence goes on after the rows, or from the target's START where they lie below it.
    pair = PAIRS / "serials_made_identities"
    a_sql, b_sql = ((pair / name).read_text(encoding="utf-8") for name in ("a.sql", "b.sql"))
    if direction == "backward":
        a_sql, b_sql = b_sql + "INSERT INTO public.c (n) VALUES (1), (2);", a_sql
    a_url, a = _source(new_database, a_sql)
    b = _target(b_sql)
    statements = plan(a, b, diff(a, b))
    made = [s.sql for s in statements if "SEQUENCE" in s.sql.split("(")[0]]
    if direction == "forward":  # a's counter carried over (task 584), b and c from START
        assert made == ["ALTER SEQUENCE public.a_id_seq RENAME TO a_id_seq__dbsafe_old",
                        "DROP SEQUENCE public.a_id_seq__dbsafe_old",
                        "DROP SEQUENCE public.b_id_seq", "DROP SEQUENCE public.c_id_seq"]
    else:  # DROP IDENTITY took them, renamed to be read by the new ones (task 584)
        assert made == [sql for t, kind, top in (
            ("a", "integer", 2147483647), ("b", "bigint", 9223372036854775807),
            ("c", "integer", 2147483647)) for sql in (
            f"ALTER SEQUENCE public.{t}_id_seq RENAME TO {t}_id_seq__dbsafe_old",
            f"CREATE SEQUENCE public.{t}_id_seq AS {kind} INCREMENT BY 1 MINVALUE 1 "
            f"MAXVALUE {top} START WITH 1 CACHE 1 NO CYCLE",
            f"ALTER SEQUENCE public.{t}_id_seq OWNED BY public.{t}.id")]
    _apply(a_url, statements, b)
    assert [c.describe() for c in diff(introspect_url(a_url), b)] == []
    with psycopg.connect(a_url, autocommit=True) as conn:
        ids = [conn.execute(f"INSERT INTO public.{t} (n) VALUES (0) RETURNING id").fetchone()
               for t in "abc"]
    # forward: after the 3 rows; after 1500 (past START 1000); START 1000 (rows below it);
    # backward: the identities' rows are gone but c's two, numbered from its START; each
    # serial goes on where its identity's counter was (b's never used: at its START 1000,
    # task 584, where it went back to 1 before)
    assert ids == ([(4,), (1501,), (1000,)] if direction == "forward"
                   else [(1,), (1000,), (1006,)])


@_pair("serial_counters_carried")
@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_a_column_between_serial_and_identity_goes_on_after_the_old_counter(
        direction: str, new_database: Callable[[], str], tmp_path: Path) -> None:
    # The old sequence was dropped before the new one was made, which numbered after the
    # highest row: a serial whose counter was at 10 with rows up to 3 gave 4..10 again
    # (task 584). The new one goes on where the old one was (is_called read), or after
    # the highest row; from the target's own START (h, forward) under a data-loss hazard.
    # A sequence whose name moves to another column's identity collided (42P07).
    pair = PAIRS / "serial_counters_carried"
    a_sql, b_sql = ((pair / name).read_text(encoding="utf-8") for name in ("a.sql", "b.sql"))
    if direction == "backward":
        a_sql, b_sql = b_sql, a_sql
    a_url, a = _source(new_database, a_sql)
    b = _target(b_sql)
    statements = plan(a, b, diff(a, b))
    _psql(a_url, tmp_path, statements, b)
    assert [c.describe() for c in diff(introspect_url(a_url), b)
            if c.action != REORDER] == []
    with psycopg.connect(a_url, autocommit=True) as conn:
        ids = {t: conn.execute(f"INSERT INTO public.{t} (n) VALUES (0) RETURNING id"
                               ).fetchone()[0] for t in "aesxhr"}
        left = conn.execute("SELECT relname FROM pg_class WHERE relname LIKE "
                            "'%dbsafe_old'").fetchall()
    # a: counter 10 (12 backward), rows to 3 (5); e: never used; s: setval(50 (60), false);
    # x: a row at 20 (30) past the counter; h: START 5 forward, counter 14 backward;
    # r: as a, its sequence renamed
    assert ids == ({"a": 11, "e": 1, "s": 50, "x": 21, "h": 5, "r": 11}
                   if direction == "forward"
                   else {"a": 13, "e": 1, "s": 60, "x": 31, "h": 15, "r": 13})
    assert left == []
    hazards = [(s.sql, h.kind) for s in statements for h in s.hazards
               if h.kind == "data-loss" and "COLUMN" not in s.sql]
    assert hazards == ([("DROP SEQUENCE public.h_id_seq", "data-loss")]
                       if direction == "forward" else [])
    if direction == "forward":
        with psycopg.connect(a_url, autocommit=True) as conn:
            assert conn.execute("INSERT INTO public.u (a) VALUES (0) RETURNING b"
                                ).fetchone() == (3,)
