"""Every check against real PostgreSQL: its bad fixture must trigger it, naming the right
subjects, and its good fixture must not. Parametrized over the check files, so a check
without fixtures fails the suite.

Fixture files (`fixtures/<CODE>.bad.sql`, `fixtures/<CODE>.good.sql`) are setup SQL, one
statement per `;`-terminated line group, run one by one outside a transaction (so
`CONCURRENTLY` and `VACUUM` work). Header comments: `-- expect: <subject>` (bad fixtures:
the exact set of subjects), `-- settings: key = value` (TOML, as in `[tool.dbsafe]`), and
`-- expect-error` before a statement that must fail (a failed concurrent build), and
`-- server-version: N` (the fixture needs PostgreSQL N or later: skipped on an older server
`DBSAFE_TEST_DATABASE_URL` names), and `-- not-checked: <line>` (exactly the lines the check
says it could not look at, `CheckResult.not_checked`; none when there is no such line). What only a newer server can build goes in a fixture of its
own, `<CODE>.<what>.bad.sql` (snapshot `<CODE>.<what>.expected`) or `<CODE>.<what>.good.sql`,
so the rest still runs on every server.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from dbsafe.checks import CheckResult, builtin_checks, connect, run, run_checks, select_checks
from dbsafe.commands import catalog
from dbsafe.config import load_settings
from dbsafe.core import Report
from dbsafe.report import render_text
from tests.helpers import assert_snapshot

FIXTURES = Path(__file__).parent / "fixtures"
CHECKS = builtin_checks()

pytestmark = pytest.mark.db

# Messages that carry sizes, ages or estimates vary from run to run: no text snapshot.
UNSTABLE_MESSAGES = {"DBS514", "DBS515", "DBS516"}


@dataclass
class Fixture:
    statements: list[tuple[str, bool]]  # (sql, error expected)
    expected: set[str]
    settings: dict[str, object]
    server_version: int = 0  # the major version it needs (0: any)
    not_checked: set[str] = field(default_factory=set)


def fixture_cases(kind: str) -> list:
    """Each check with its `<CODE>.<kind>.sql` fixture (required), then its other fixtures
    of that kind (`<CODE>.<what>.<kind>.sql`, optional)."""
    cases = []
    for check in CHECKS:
        cases.append(pytest.param(check, FIXTURES / f"{check.code}.{kind}.sql", id=check.code))
        cases += [pytest.param(check, path, id=path.name.removesuffix(f".{kind}.sql"))
                  for path in sorted(FIXTURES.glob(f"{check.code}.*.{kind}.sql"))]
    return cases


def read_fixture(path: Path) -> Fixture:
    statements: list[tuple[str, bool]] = []
    expected: set[str] = set()
    settings: dict[str, object] = {}
    server_version = 0
    not_checked: set[str] = set()
    current: list[str] = []
    error_expected = False
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped.startswith("-- expect:"):
            expected.add(stripped.removeprefix("-- expect:").strip())
        elif stripped.startswith("-- settings:"):
            settings.update(tomllib.loads(stripped.removeprefix("-- settings:")))
        elif stripped.startswith("-- not-checked:"):
            not_checked.add(stripped.removeprefix("-- not-checked:").strip())
        elif stripped.startswith("-- server-version:"):
            server_version = int(stripped.removeprefix("-- server-version:"))
        elif stripped == "-- expect-error":
            error_expected = True
        elif stripped.startswith("--") or not stripped:
            continue
        else:
            current.append(line)
            if stripped.endswith(";"):
                statements.append(("\n".join(current), error_expected))
                current, error_expected = [], False
    assert not current, f"{path.name}: statement without a final `;`"
    return Fixture(statements, expected, settings, server_version, not_checked)


def apply_fixture(conninfo: str, fixture: Fixture) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        if conn.info.server_version < fixture.server_version * 10000:
            pytest.skip(f"the fixture needs PostgreSQL {fixture.server_version}")
        for sql, error_expected in fixture.statements:
            if error_expected:
                with pytest.raises(psycopg.Error):
                    conn.execute(sql)
            else:
                conn.execute(sql)


def findings_for(code: str, conninfo: str, fixture: Fixture, tmp_path: Path):
    settings = load_settings(tmp_path, overrides=fixture.settings, environ={})
    return run_checks(conninfo, only=[code], settings=settings)


def results_for(code: str, conninfo: str, fixture: Fixture, tmp_path: Path) -> list[CheckResult]:
    settings = load_settings(tmp_path, overrides=fixture.settings, environ={})
    with connect(conninfo) as conn:
        return run(conn, select_checks(CHECKS, [code]), settings)


def assert_not_checked(results: list[CheckResult], fixture: Fixture, path: Path) -> None:
    said = {line for r in results for line in r.not_checked}
    assert said == fixture.not_checked, f"{path.name}: not checked {said}"


@pytest.mark.parametrize(("check", "path"), fixture_cases("bad"))
def test_bad_fixture_triggers_the_check(check, path: Path, conninfo: str,
                                        tmp_path: Path) -> None:
    assert path.is_file(), f"{check.code} ({check.path}) has no bad fixture {path.name}"
    fixture = read_fixture(path)
    assert fixture.expected, f"{path.name} names no `-- expect:` subject"
    apply_fixture(conninfo, fixture)
    results = results_for(check.code, conninfo, fixture, tmp_path)
    assert_not_checked(results, fixture, path)
    findings = [f for r in results for f in r.findings]
    assert {f.code for f in findings} == {check.code}, findings
    assert {f.subject for f in findings} == fixture.expected
    assert all(f.message.endswith(".") and f.help for f in findings)
    assert len(findings) == len(fixture.expected), "one finding per subject"
    if check.code not in UNSTABLE_MESSAGES:
        assert_snapshot(render_text(Report(tuple(findings)), catalog()),
                        path.with_name(path.name.replace(".bad.sql", ".expected")))


@pytest.mark.parametrize(("check", "path"), fixture_cases("good"))
def test_good_fixture_does_not_trigger_the_check(check, path: Path, conninfo: str,
                                                 tmp_path: Path) -> None:
    assert path.is_file(), f"{check.code} ({check.path}) has no good fixture {path.name}"
    fixture = read_fixture(path)
    apply_fixture(conninfo, fixture)
    results = results_for(check.code, conninfo, fixture, tmp_path)
    assert [f for r in results for f in r.findings] == []
    assert_not_checked(results, fixture, path)


def test_every_fixture_belongs_to_a_check() -> None:
    codes = {c.code for c in CHECKS}
    strays = [p.name for p in FIXTURES.iterdir() if p.name.split(".")[0] not in codes]
    assert not strays


def test_another_sessions_temporary_objects_draw_no_finding(conninfo: str, tmp_path: Path) -> None:
    """Temporary objects live in schemas pg_temp_N while their session lasts; a check that
    reads them fails (no other session may, 0A000) or reports what nobody else can fix."""
    fixture = read_fixture(Path(__file__).parent / "temporary_objects.sql")
    with psycopg.connect(conninfo, autocommit=True) as session:
        for sql, _ in fixture.statements:
            session.execute(sql)
        results = results_for("DBS5", conninfo, fixture, tmp_path)
        assert [f for r in results for f in r.findings] == []
        # nothing left unlooked at but what is no table of this database's to check
        assert [line for r in results for line in r.not_checked_lines()] == [
            "DBS510 required-rls-missing not checked: require-rls entry matches no table: "
            "`scratch_*`"]
    # the same objects, made permanent, draw every check the fixture is shaped for
    permanent = Fixture([(sql.replace("CREATE TEMP ", "CREATE "), error)
                         for sql, error in fixture.statements], set(), fixture.settings)
    apply_fixture(conninfo, permanent)
    codes = {f.code for f in findings_for("DBS5", conninfo, permanent, tmp_path)}
    assert codes == {f"DBS5{n:02}" for n in (1, *range(4, 19))}


PLANTED = {f"DBS5{n:02}" for n in (1, *range(4, 19))}
# What a role without table privileges cannot look at: a sequence's value, rows, statistics.
UNSEEN_WITHOUT_PRIVILEGES = {"DBS511", "DBS513", "DBS515", "DBS516", "DBS517"}


@pytest.mark.parametrize("role", ["owner", "monitor", "connect_only"])
def test_every_planted_problem_is_found_or_said_not_checked(role: str, conninfo: str,
                                                            tmp_path: Path) -> None:
    """The problems of `temporary_objects.sql`, made permanent and owned by a role that is no
    superuser, checked as that owner, as a `pg_monitor` member without table privileges and
    as a role with CONNECT only: each is found, or its check says it was not checked (a
    monitoring role's run was a silent pass for five checks)."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    fixture = read_fixture(Path(__file__).parent / "temporary_objects.sql")
    database = conninfo_to_dict(conninfo)["dbname"]
    names = {r: f"dbs_{r}_{database}"[:63] for r in ("owner", "monitor", "connect_only")}
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {names['owner']}")
        conn.execute(f"CREATE ROLE {names['monitor']} IN ROLE pg_monitor")
        conn.execute(f"CREATE ROLE {names['connect_only']}")
        try:
            conn.execute(f"GRANT CREATE ON SCHEMA public TO {names['owner']}")
            for sql, _ in fixture.statements:
                # marking an index invalid takes a superuser
                conn.execute("RESET ROLE" if "pg_index" in sql else f"SET ROLE {names['owner']}")
                conn.execute(sql.replace("CREATE TEMP ", "CREATE "))
            conn.execute("RESET ROLE")
            settings = load_settings(tmp_path, overrides=fixture.settings, environ={})
            as_role = make_conninfo(conninfo, options=f"-c role={names[role]}")
            with connect(as_role) as checking:
                assert checking.execute("SELECT current_user").fetchone() == (names[role],)
                checking.rollback()
                results = run(checking, select_checks(CHECKS, ["DBS5"]), settings)
        finally:
            conn.execute("RESET ROLE")
            for name in names.values():
                conn.execute(f"DROP OWNED BY {name}")
                conn.execute(f"DROP ROLE {name}")
    found = {f.code for r in results for f in r.findings}
    unseen = {r.check.code for r in results if r.not_checked}
    assert not any(r.error for r in results)
    assert found | unseen >= PLANTED
    if role == "owner":
        assert (found, unseen) == (PLANTED, set())
    else:
        assert (found, unseen) == (PLANTED - UNSEEN_WITHOUT_PRIVILEGES, UNSEEN_WITHOUT_PRIVILEGES)


def test_an_index_another_role_is_building_is_not_called_failed(conninfo: str,
                                                               tmp_path: Path) -> None:
    """A CREATE INDEX CONCURRENTLY waiting for a writer leaves its index not ready while it
    runs; a role without pg_read_all_stats sees the build's progress row without the index,
    and DBS501 called the index a failed build to drop. It is now said not checked."""
    import threading

    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    role = f"dbs_plain_{conninfo_to_dict(conninfo)['dbname']}"[:63]
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("CREATE TABLE visits (id int)")
        conn.execute(f"CREATE ROLE {role}")
    writer = psycopg.connect(conninfo)
    writer.execute("INSERT INTO visits VALUES (1)")  # the build waits for this transaction
    failures: list[Exception] = []

    def build() -> None:
        try:
            with psycopg.connect(conninfo, autocommit=True) as builder:
                builder.execute("CREATE INDEX CONCURRENTLY visits_id ON visits (id)")
        except psycopg.Error as exc:
            failures.append(exc)

    thread = threading.Thread(target=build)
    thread.start()
    try:
        with psycopg.connect(conninfo, autocommit=True) as watcher:
            while thread.is_alive() and watcher.execute(
                    "SELECT count(*) FROM pg_index WHERE indexrelid = to_regclass('visits_id')"
            ).fetchone() != (1,):
                watcher.execute("SELECT pg_sleep(0.05)")
        with connect(make_conninfo(conninfo, options=f"-c role={role}")) as checking:
            plain = run(checking, select_checks(CHECKS, ["DBS501"]),
                        load_settings(tmp_path, environ={}))
        with connect(conninfo) as checking:
            superuser = run(checking, select_checks(CHECKS, ["DBS501"]),
                            load_settings(tmp_path, environ={}))
    finally:
        writer.rollback()
        writer.close()
        thread.join()
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f"DROP ROLE {role}")
    assert not failures
    assert [r.findings for r in superuser + plain] == [(), ()]
    assert [r.not_checked for r in plain] == [(
        "1 invalid index, which an index build running in a session dbsafe's role may not see "
        "(without pg_read_all_stats) may be building: `public.visits_id`",)]


def test_a_clean_database_draws_no_finding(conninfo: str, tmp_path: Path) -> None:
    apply_fixture(conninfo, read_fixture(Path(__file__).parent / "clean_database.sql"))
    settings = load_settings(tmp_path, environ={})
    assert run_checks(conninfo, settings=settings) == []
    # and nothing was left unlooked at, but the indexes no query has used yet: statistics a
    # few seconds old cannot say they are unused
    with connect(conninfo) as conn:
        said = [line for r in run(conn, CHECKS, settings) for line in r.not_checked_lines()]
    assert [line.split(": ")[0] for line in said] == [
        "DBS514 unused-index not checked"]
    assert "statistics younger than unused-index-min-age (7 days)" in said[0]


def test_not_enforced_constraints_are_left_alone(conninfo: str, tmp_path: Path) -> None:
    """PostgreSQL 18's NOT ENFORCED constraints are never validated (convalidated false), and
    VALIDATE CONSTRAINT refuses them (55000): rows that break them are declared allowed. A
    NOT ENFORCED foreign key has no triggers: no parent's DELETE looks up its rows."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        if conn.info.server_version < 180000:
            pytest.skip("NOT ENFORCED constraints came in PostgreSQL 18")
        conn.execute("CREATE TABLE customers (id bigint PRIMARY KEY)")
        conn.execute("CREATE TABLE orders (id bigint, customer_id bigint,"
                     " CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id)"
                     " REFERENCES customers NOT ENFORCED,"
                     " CONSTRAINT orders_id_positive CHECK (id > 0) NOT ENFORCED)")
        conn.execute("INSERT INTO orders VALUES (-1, 99)")
        with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState):
            conn.execute("ALTER TABLE orders VALIDATE CONSTRAINT orders_customer_fk")
        assert conn.execute("SELECT count(*) FROM pg_trigger WHERE tgconstraint = "
                            "(SELECT oid FROM pg_constraint WHERE conname = 'orders_customer_fk')"
                            ).fetchone() == (0,)
    fixture = Fixture([], set(), {})
    assert findings_for("DBS512", conninfo, fixture, tmp_path) == []
    assert findings_for("DBS513", conninfo, fixture, tmp_path) == []
    assert findings_for("DBS504", conninfo, fixture, tmp_path) == []


def test_a_partitions_own_row_level_security_governs_direct_reads(conninfo: str) -> None:
    """DBS509 leaves out a partition with row-level security and no policy under a
    partitioned table with row-level security (leadminer's hash partitions): read through
    the partitioned table, its rows follow the partitioned table's policies; read directly,
    none, which is what the partition's own row-level security is for. DBS510 reports a
    listed partition without it that a role may query: read directly, every row."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("CREATE ROLE dbs509_reader")
        try:
            conn.execute("CREATE TABLE messages (owner text, body text) PARTITION BY LIST (owner)")
            conn.execute("CREATE TABLE messages_a PARTITION OF messages FOR VALUES IN ('a')")
            conn.execute("ALTER TABLE messages ENABLE ROW LEVEL SECURITY")
            conn.execute("CREATE POLICY own ON messages USING (owner = 'a')")
            conn.execute("CREATE TABLE messages_b PARTITION OF messages FOR VALUES IN ('b')")
            conn.execute("ALTER TABLE messages_a ENABLE ROW LEVEL SECURITY")
            conn.execute("INSERT INTO messages VALUES ('a', 'hello'), ('b', 'not yours')")
            conn.execute("GRANT SELECT ON messages, messages_a, messages_b TO dbs509_reader")
            conn.execute("SET ROLE dbs509_reader")
            assert conn.execute("SELECT count(*) FROM messages").fetchone() == (1,)
            assert conn.execute("SELECT count(*) FROM messages_a").fetchone() == (0,)
            assert conn.execute("SELECT body FROM messages_b").fetchall() == [("not yours",)]
            conn.execute("RESET ROLE")
        finally:
            conn.execute("RESET ROLE")
            conn.execute("DROP TABLE IF EXISTS messages")
            conn.execute("DROP ROLE dbs509_reader")


def test_a_views_column_is_never_widened_nor_made_identity(conninfo: str) -> None:
    """DBS511 reports a sequence feeding a view's column default (ALTER VIEW ... SET
    DEFAULT) on the view's table only: PostgreSQL refuses a view's column the type change
    its help gives (42809), and identity too (it needs NOT NULL first, 55000, which a
    view's column cannot take, 42809)."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("CREATE TABLE orders (id serial PRIMARY KEY)")
        conn.execute("CREATE VIEW orders_v AS SELECT id FROM orders")
        conn.execute("ALTER VIEW orders_v ALTER COLUMN id SET DEFAULT nextval('orders_id_seq')")
        with pytest.raises(psycopg.errors.WrongObjectType):
            conn.execute("ALTER TABLE orders_v ALTER COLUMN id TYPE bigint")
        with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState):
            conn.execute("ALTER TABLE orders_v ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY")
        with pytest.raises(psycopg.errors.WrongObjectType):
            conn.execute("ALTER TABLE orders_v ALTER COLUMN id SET NOT NULL")


def test_an_extension_tables_indexes_are_its_own_and_its_bloat_is_reclaimed_in_place(
        conninfo: str) -> None:
    """What DBS514 leaves out and DBS515/DBS516 report on a table an extension owns: pg_dump
    leaves the table and every index on it to CREATE EXTENSION (a dropped index comes back,
    an added one is lost), while VACUUM FULL and REINDEX CONCURRENTLY work on it in place."""
    import subprocess

    from dbsafe.pg.throwaway import bin_dir

    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS citext")
        conn.execute("CREATE TABLE citext_log (id bigint, at timestamptz, note text)")
        conn.execute("CREATE INDEX citext_log_at ON citext_log (at)")
        conn.execute("ALTER EXTENSION citext ADD TABLE citext_log")
        conn.execute("CREATE INDEX citext_log_note ON citext_log (note)")
        conn.execute("REINDEX INDEX CONCURRENTLY citext_log_at")
        conn.execute("VACUUM FULL citext_log")
    dump = subprocess.run([str(bin_dir() / "pg_dump"), "--schema-only", "-d", conninfo],
                          capture_output=True, text=True, check=True).stdout
    assert "CREATE EXTENSION IF NOT EXISTS citext" in dump
    assert "citext_log" not in dump
