"""The demo alembic environment (alembic.ini, migrations/) and the demo app (examples/clinic).

The README quick start runs `dbsafe validate examples/clinic` against these, so they must stay
honest on their own terms, checked here without any dbsafe module: the migrations apply
online through a shared connection and offline as SQL, every downgrade restores the previous
schema exactly, and the app's SQL is valid at head except for the one planted
`appointment_series.notes` bug -- verified by PostgreSQL itself (PREPARE), not by dbsafe.
"""

from __future__ import annotations

import argparse
import ast
import io
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from psycopg import errors
from sqlalchemy.dialects.postgresql import psycopg as sa_psycopg

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.db

CLINIC = REPO_ROOT / "examples" / "clinic"
HEAD = "0005_upcoming_appointments"

# The planted bug, as `dbsafe validate` must report it: the `notes` identifier.
NOTES_BUG = ("examples/clinic/app/repository.py", 97, 34)


# -- helpers -----------------------------------------------------------------------------


def _alembic_config(**attributes: object) -> Config:
    cfg = Config(str(REPO_ROOT / "alembic.ini"), output_buffer=io.StringIO())
    # Leave pytest's logging setup alone (env.py would otherwise run fileConfig).
    cfg.attributes["configure_logger"] = False
    cfg.attributes.update(attributes)
    return cfg


def _engine(database_url: str) -> sa.Engine:
    # NullPool: pytest-postgresql drops the database after the test and refuses while a
    # pooled connection is still open.
    return sa.create_engine(
        database_url.replace("postgresql://", "postgresql+psycopg://", 1), poolclass=sa.NullPool
    )


def _migrate(engine: sa.Engine, verb: str, target: str) -> None:
    """Run `alembic <verb> <target>` on a connection shared through config.attributes."""
    with engine.begin() as connection:
        getattr(command, verb)(_alembic_config(connection=connection), target)


@pytest.fixture
def engine(database_url: str, postgresql: psycopg.Connection) -> Iterator[sa.Engine]:
    # Autocommit, so our catalog queries and PREPAREs hold no locks that DROP would wait on.
    postgresql.autocommit = True
    engine = _engine(database_url)
    yield engine
    engine.dispose()


# Everything a migration can create in `public`, as comparable text; alembic's own
# bookkeeping table is left out because it stays behind after a downgrade to base.
_CATALOG = """
SELECT 'relation', c.relname, c.relkind::text
FROM pg_class AS c
WHERE c.relnamespace = 'public'::regnamespace
UNION ALL
SELECT 'column', c.relname || '.' || a.attname,
       concat_ws(' ', format_type(a.atttypid, a.atttypmod),
                 CASE WHEN a.attnotnull THEN 'not null' END,
                 'default ' || pg_get_expr(d.adbin, d.adrelid),
                 NULLIF('identity ' || a.attidentity::text, 'identity '), 'pos ' || a.attnum)
FROM pg_attribute AS a
JOIN pg_class AS c ON c.oid = a.attrelid
LEFT JOIN pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'constraint', c.relname || '.' || con.conname, pg_get_constraintdef(con.oid)
FROM pg_constraint AS con
JOIN pg_class AS c ON c.oid = con.conrelid
WHERE con.connamespace = 'public'::regnamespace
UNION ALL
SELECT 'index', i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
FROM pg_index AS i
JOIN pg_class AS c ON c.oid = i.indexrelid
WHERE c.relnamespace = 'public'::regnamespace
UNION ALL
SELECT 'view', c.relname, pg_get_viewdef(c.oid)
FROM pg_class AS c
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('v', 'm')
UNION ALL
SELECT 'function', p.oid::regprocedure::text, pg_get_function_result(p.oid)
FROM pg_proc AS p
WHERE p.pronamespace = 'public'::regnamespace
UNION ALL
SELECT 'type', t.typname, t.typtype::text
FROM pg_type AS t
WHERE t.typnamespace = 'public'::regnamespace AND t.typtype IN ('e', 'd', 'r')
"""


def _catalog(conn: psycopg.Connection) -> list[tuple[str, str, str]]:
    rows = conn.execute(_CATALOG).fetchall()
    return sorted(row for row in rows if not row[1].startswith("alembic_version"))


def _revisions() -> list[tuple[str, str]]:
    """(revision, down_revision or "base") from base to head."""
    script = ScriptDirectory.from_config(_alembic_config())
    revisions = reversed(list(script.walk_revisions("base", "heads")))
    return [(r.revision, r.down_revision or "base") for r in revisions]


# -- the migrations ------------------------------------------------------------------------


def test_migrations_form_one_linear_chain_ending_at_head() -> None:
    script = ScriptDirectory.from_config(_alembic_config())
    assert script.get_heads() == [HEAD]
    assert len(_revisions()) == 5


def test_upgrade_head_through_a_shared_connection(
    engine: sa.Engine, postgresql: psycopg.Connection
) -> None:
    # engine.connect(), not begin(): alembic then owns the transactions (one per revision)
    # and must commit them, or this separate connection would see nothing.
    with engine.connect() as connection:
        command.upgrade(_alembic_config(connection=connection), "head")

    relations = dict(
        postgresql.execute(
            "SELECT relname, relkind::text FROM pg_class "
            "WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'v', 'm')"
        ).fetchall()
    )
    assert relations == {
        "alembic_version": "r",
        "clinics": "r",
        "patients": "r",
        "appointment_series": "r",
        "appointments": "r",
        "clinic_daily_appointment_counts": "m",
        "upcoming_appointments": "v",
    }
    assert postgresql.execute("SELECT version_num FROM alembic_version").fetchall() == [(HEAD,)]
    series_columns = {
        name
        for (name,) in postgresql.execute(
            "SELECT attname FROM pg_attribute "
            "WHERE attrelid = 'appointment_series'::regclass AND attnum > 0"
        )
    }
    assert "notes" not in series_columns  # the column the demo app wrongly queries
    (unique_index,) = postgresql.execute(
        "SELECT pg_get_indexdef(indexrelid) FROM pg_index "
        "WHERE indrelid = 'clinic_daily_appointment_counts'::regclass AND indisunique"
    ).fetchone()
    assert "(clinic_id, day)" in unique_index
    # What the unique index is for: this fails without it (or on an unpopulated view).
    postgresql.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY clinic_daily_appointment_counts")


def test_each_downgrade_restores_the_schema_before_its_upgrade(
    engine: sa.Engine, postgresql: psycopg.Connection
) -> None:
    for revision, down_revision in _revisions():
        before = _catalog(postgresql)
        _migrate(engine, "upgrade", revision)
        after_upgrade = _catalog(postgresql)
        assert after_upgrade != before, f"Failing revision: {revision} changes nothing"
        _migrate(engine, "downgrade", down_revision)
        after_downgrade = _catalog(postgresql)
        assert after_downgrade == before, (
            f"Failing revision: {revision}\n"
            f"left behind: {sorted(set(after_downgrade) - set(before))}\n"
            f"not restored: {sorted(set(before) - set(after_downgrade))}"
        )
        _migrate(engine, "upgrade", revision)
    assert _catalog(postgresql) == after_upgrade


def test_offline_sql_renders_without_a_database_and_builds_the_same_schema(
    engine: sa.Engine, postgresql: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DBSAFE_DATABASE_URL", raising=False)
    cfg = _alembic_config()
    command.upgrade(cfg, "head", sql=True)
    script = cfg.output_buffer.getvalue()
    assert "CREATE MATERIALIZED VIEW clinic_daily_appointment_counts" in script
    assert "CREATE UNIQUE INDEX ux_clinic_daily_appointment_counts_clinic_day" in script
    assert f"UPDATE alembic_version SET version_num='{HEAD}'" in script
    # transaction_per_migration: one BEGIN/COMMIT pair per revision.
    assert script.count("COMMIT;") == len(_revisions())

    cfg = _alembic_config()
    command.downgrade(cfg, f"{HEAD}:base", sql=True)
    assert "DROP TABLE clinics;" in cfg.output_buffer.getvalue()

    # The rendered script is real: run it, then compare with the online result.
    postgresql.execute(script)
    offline = _catalog(postgresql)
    _migrate(engine, "downgrade", "base")
    _migrate(engine, "upgrade", "head")
    assert _catalog(postgresql) == offline


def test_url_from_x_argument_wins_over_environment(
    database_url: str, postgresql: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nothing listens on port 1: using this URL would fail the upgrade.
    monkeypatch.setenv("DBSAFE_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/nowhere")
    cfg = _alembic_config()
    cfg.cmd_opts = argparse.Namespace(x=[f"url={database_url}"])
    command.upgrade(cfg, "0001_clinics")
    assert postgresql.execute("SELECT version_num FROM alembic_version").fetchall() == [
        ("0001_clinics",)
    ]


def test_url_from_environment_is_a_libpq_url_run_with_psycopg_3(
    database_url: str, postgresql: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A plain postgresql:// URL would make SQLAlchemy load psycopg2, which is not installed.
    assert database_url.startswith("postgresql://")
    monkeypatch.setenv("DBSAFE_DATABASE_URL", database_url)
    command.upgrade(_alembic_config(), "0001_clinics")
    assert postgresql.execute("SELECT version_num FROM alembic_version").fetchall() == [
        ("0001_clinics",)
    ]


def test_online_without_connection_or_url_says_how_to_provide_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DBSAFE_DATABASE_URL", raising=False)
    with pytest.raises(CommandError, match="DBSAFE_DATABASE_URL"):
        command.upgrade(_alembic_config(), "head")


# -- the demo app ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Statement:
    path: str  # repository-relative
    line: int
    sql: str  # with $n parameters, ready for PREPARE

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


def _statements() -> list[Statement]:
    """Every SQL statement of examples/clinic, found simply.

    Deliberately not dbsafe.extract: this test checks the demo, so it must not depend on the
    code the demo demonstrates. `.sql` files are split at aiosql's `-- name:` headers; in
    Python, every string literal that starts with an SQL verb is a statement.
    """
    found = []
    for path in sorted(CLINIC.rglob("*.sql")):
        found += _sql_file_statements(path)
    for path in sorted(CLINIC.rglob("*.py")):
        found += _python_statements(path)
    return found


def _sql_file_statements(path: Path) -> Iterator[Statement]:
    lines = path.read_text(encoding="utf-8").splitlines()
    headers = [i for i, line in enumerate(lines) if line.startswith("-- name:")]
    for start, end in itertools.pairwise([*headers, len(lines)]):
        body = "\n".join(lines[start + 1 : end]).strip()
        yield Statement(_relative(path), start + 2, _from_sqlalchemy(body))


_SQL_VERB = re.compile(r"\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\s")


def _python_statements(path: Path) -> Iterator[Statement]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    in_text_call = {
        id(arg)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "text"
        for arg in node.args
    }
    f_string_parts = {
        id(part)
        for node in ast.walk(tree)
        if isinstance(node, ast.JoinedStr)
        for part in node.values
    }
    for node in ast.walk(tree):
        if id(node) in f_string_parts:
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            sql = node.value
        elif isinstance(node, ast.JoinedStr):
            # A hole in an f-string stands for a value here, so a parameter can replace it.
            sql = "".join(
                part.value if isinstance(part, ast.Constant) else "%s" for part in node.values
            )
        else:
            continue
        if not _SQL_VERB.match(sql):
            continue
        convert = _from_sqlalchemy if id(node) in in_text_call else _from_psycopg
        yield Statement(_relative(path), node.lineno, convert(sql))


def _from_sqlalchemy(sql: str) -> str:
    # Let SQLAlchemy itself turn :name into $n: it knows `::type` is not a parameter.
    dialect = sa_psycopg.dialect(paramstyle="numeric_dollar")
    return str(sa.text(sql).compile(dialect=dialect))


def _from_psycopg(sql: str) -> str:
    numbers: dict[str, int] = {}
    positional = itertools.count(1)

    def dollar(match: re.Match[str]) -> str:
        if match[0] == "%%":
            return "%"
        if match[1] is None:
            return f"${next(positional)}"
        return f"${numbers.setdefault(match[1], next(positional))}"

    # psycopg's placeholder grammar (not SQL): %s, %(name)s and the %% escape.
    return re.sub(r"%%|%\((\w+)\)s|%s", dollar, sql)


def _relative(path: Path) -> str:
    return path.relative_to(REPO_ROOT).as_posix()


def _prepare(conn: psycopg.Connection, statement: Statement) -> None:
    sql = statement.sql.rstrip().removesuffix(";")
    conn.execute(f"PREPARE demo_statement AS {sql}")
    conn.execute("DEALLOCATE demo_statement")


def test_demo_app_is_small_and_embeds_sql_every_usual_way() -> None:
    statements = _statements()
    assert 15 <= len(statements) <= 25
    files = {s.path.rsplit("/", 1)[-1] for s in statements}
    assert files == {"appointments.sql", "patients.sql", "repository.py", "reports.py"}


def test_demo_app_sql_is_valid_at_head_except_the_notes_query(
    engine: sa.Engine, postgresql: psycopg.Connection
) -> None:
    _migrate(engine, "upgrade", "head")
    failures = {}
    for statement in _statements():
        try:
            _prepare(postgresql, statement)
        except psycopg.Error as exc:
            failures[str(statement)] = exc
    path, line, column = NOTES_BUG
    assert set(failures) == {f"{path}:{line}"}, failures
    exc = failures[f"{path}:{line}"]
    assert isinstance(exc, errors.UndefinedColumn)
    assert exc.diag.message_primary == "column s.notes does not exist"
    # NOTES_BUG's column really points at the `notes` identifier.
    source_line = (REPO_ROOT / path).read_text(encoding="utf-8").splitlines()[line - 1]
    assert source_line[column - 1 :].startswith("notes FROM appointment_series")


# The web app's supabase-js hook, and for each of its requests the SQL PostgREST runs for it,
# written by hand (this test must not depend on dbsafe's reading of PostgREST), with the
# foreign keys PostgREST embeds through.
HOOK = CLINIC / "web" / "useAppointmentSeries.ts"
HOOK_REQUESTS = [
    (
        '.from("appointment_series")\n      .select("id, title, notes")',
        "SELECT id, title, notes FROM appointment_series WHERE clinic_id = $1 ORDER BY starts_on",
    ),
    (
        '.select("id, starts_at, status, notes, patient:patients(full_name), '
        'appointment_series(title)")',
        "SELECT a.id, a.starts_at, a.status, a.notes, p.full_name, s.title FROM appointments a "
        "JOIN patients p ON p.id = a.patient_id "
        "LEFT JOIN appointment_series s ON s.id = a.series_id "
        "WHERE a.patient_id = $1 AND a.starts_at >= $2 ORDER BY a.starts_at",
    ),
    (
        '.select("name, timezone, patients(id, full_name, email)")',
        "SELECT c.name, c.timezone, p.id, p.full_name, p.email FROM clinics c "
        "LEFT JOIN patients p ON p.clinic_id = c.id WHERE c.id = $1 ORDER BY p.created_at DESC",
    ),
]
HOOK_FOREIGN_KEYS = {
    ("appointments", "patient_id", "patients"),
    ("appointments", "series_id", "appointment_series"),
    ("patients", "clinic_id", "clinics"),
}


def test_demo_web_hook_is_valid_at_head_except_the_notes_request(
    engine: sa.Engine, postgresql: psycopg.Connection
) -> None:
    _migrate(engine, "upgrade", "head")
    source = HOOK.read_text(encoding="utf-8")
    failures = {}
    for request, sql in HOOK_REQUESTS:
        assert request in source, request
        try:
            _prepare(postgresql, Statement(_relative(HOOK), 0, sql))
        except psycopg.Error as exc:
            failures[request] = exc
    assert list(failures) == [HOOK_REQUESTS[0][0]], failures
    assert isinstance(failures[HOOK_REQUESTS[0][0]], errors.UndefinedColumn)
    foreign_keys = set(postgresql.execute(
        "SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text "
        "FROM pg_constraint AS c "
        "JOIN pg_attribute AS a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey) "
        "WHERE c.contype = 'f'"
    ).fetchall())
    assert foreign_keys >= HOOK_FOREIGN_KEYS
