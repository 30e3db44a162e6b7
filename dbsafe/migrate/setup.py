"""A project's setup SQL (`setup-sql`): what its databases get before the first migration.

Some projects prepare a new database before their migration tool runs: Letta's `init.sql`,
which the PostgreSQL image runs from `/docker-entrypoint-initdb.d`, creates the `vector`
extension its first alembic revision's columns use, and no revision does. Built from the
migrations alone, that history fails at its first revision (42704: type "vector" does not
exist), under plain alembic on an empty database too.

Every database dbsafe builds from the migrations (the schema validate, diff and schema dump
read, lint's capture, verify-reversible's walk, drift's expected schema, downgrade's schema
of the target revision; alembic's and SQL folders alike) runs the `setup-sql` files first,
in order, each as `psql -v ON_ERROR_STOP=1 -f FILE` runs it (`dbsafe.extract.psql`): in one
session, each statement on its own unless the file opens a transaction, `\\i`, `\\ir`,
`\\set` and `\\if` as psql reads them; the first statement PostgreSQL refuses ends the run
(`SetupSqlError`, exit 2). A database dbsafe is given (`--database-url`: upgrade, downgrade,
drift, status, a scratch database for verify-reversible) never runs them: it got them
before its first migration. Nor does a copy of such a database's schema (lint's seeded
capture): it holds what they made.

A server holding several databases built so (lint's capture run again past a failing
revision, verify-reversible's twin and rebuilt databases) runs the files once, in the first;
the others are copies of it as it was right after them (`pristine_copy`, `copy_database`),
so a role they create is made once per server, as in production.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dbsafe.core import SourceError
from dbsafe.extract.newer_python import parse
from dbsafe.pg.throwaway import scratch

if TYPE_CHECKING:
    from dbsafe.config import Settings
    from dbsafe.extract.migration import MigrationStatement
    from dbsafe.pg.throwaway import ScratchServer


class SetupSqlError(SourceError):
    """A `setup-sql` file is missing, cannot be read, or PostgreSQL refused a statement of it.

    Never a reason to go on without it (lint's capture does not fall back to offline
    rendering): the schema would not be the project's."""


@dataclass(frozen=True, slots=True)
class SetupSql:
    """The `setup-sql` files, in the order they run."""

    files: tuple[Path, ...]
    root: Path  # the project root: paths are shown relative to it

    @classmethod
    def of(cls, settings: Settings) -> SetupSql | None:
        """The configured files; None when there are none."""
        return cls(settings.setup_sql, settings.project_root) if settings.setup_sql else None

    def check(self) -> None:
        """Fail now, before a server starts, when a file is not there.

        Raises:
            SetupSqlError: naming the first missing file.
        """
        for file in self.files:
            if not file.is_file():
                raise SetupSqlError(f"setup-sql: no such file: {self._shown(file)}")

    def scripts(self) -> list[tuple[tuple[MigrationStatement, ...], tuple[Path, ...]]]:
        """Each file's statements, as psql runs them, and the other files it includes.

        Raises:
            SetupSqlError: a file is missing or cannot be read, or psql would stop before
                running it (an include missing or looping).
        """
        from dbsafe.extract.migration import psql_script

        self.check()
        scripts = []
        for file in self.files:
            try:
                scripts.append(psql_script(file, self.root))
            except SourceError as exc:
                raise SetupSqlError(f"setup-sql: {exc}") from None
        return scripts

    def cache_key(self) -> str:
        """What a schema built after these files is cached under: every statement they run,
        where it is written (an included file's too).

        Raises:
            SetupSqlError: as `scripts`.
        """
        digest = hashlib.sha256()
        for statements, _ in self.scripts():
            for statement in statements:
                where = statement.location
                digest.update(f"{where.path}:{where.line}\0".encode())
                digest.update((statement.raw or statement.sql.encode()) + b"\0")
            digest.update(b"\1")
        return digest.hexdigest()[:16]

    def run(self, url: str) -> None:
        """Run the files, in order, on the (new, dbsafe's own) database at `url`.

        Raises:
            SetupSqlError: a file cannot be read, or PostgreSQL refused one of its
                statements (named by file and line, with PostgreSQL's message).
            DatabaseError: the database cannot be reached.
        """
        from dbsafe.migrate.sqlfiles import run_script

        for statements, _ in self.scripts():
            failure = run_script(url, statements)
            if failure is not None:
                where = failure.location
                raise SetupSqlError(
                    f"setup-sql {where.path}:{where.line}:{where.column}: {failure.message} "
                    f"(on {scratch('database')}, before the first migration)")

    def _shown(self, file: Path) -> str:
        from dbsafe.extract.files import display_path

        return display_path(file, self.root)


@contextlib.contextmanager
def pristine_copy(server: ScratchServer, database: str,
                  suffix: str = "setup") -> Iterator[str]:
    """A copy of `database` on `server` as it is now (right after `SetupSql.run`; with
    `suffix` "loaded", after the application loaded in it), for the other databases a run
    needs (`copy_database`), dropped afterwards; yields its name.

    Raises:
        psycopg.Error: `database` is in use (55006: another connection is open to it).
    """
    import psycopg
    from psycopg import sql

    name = f"{database}_{suffix}"
    copy_database(server, database, name)
    try:
        yield name
    finally:
        with contextlib.suppress(psycopg.Error), \
                psycopg.connect(server.conninfo(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(server.name(name))))


def copy_database(server: ScratchServer, source: str, name: str) -> str:
    """Create database `name` on `server` as a copy of `source` (`CREATE DATABASE ...
    TEMPLATE`), with the settings `ALTER DATABASE source SET` and `ALTER ROLE ... IN DATABASE
    source SET` gave it, which a copy does not take; returns its URL."""
    import psycopg
    from psycopg import sql

    source, made = server.name(source), server.name(name)  # (a dev server's names)
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(made), sql.Identifier(source)))
        rows = conn.execute(
            "SELECT r.rolname, s.setconfig FROM pg_db_role_setting s "
            "JOIN pg_database d ON d.oid = s.setdatabase "
            "LEFT JOIN pg_roles r ON r.oid = s.setrole WHERE d.datname = %s",
            (source,)).fetchall()
        target = sql.SQL("ALTER DATABASE {}").format(sql.Identifier(made))
        for role, settings in rows:
            alter = target if role is None else sql.SQL("ALTER ROLE {} IN DATABASE {}").format(
                sql.Identifier(role), sql.Identifier(made))
            for setting in settings or ():
                key, _, value = setting.partition("=")
                # The value as the catalog keeps it, set for this transaction and stored
                # FROM CURRENT: no quoting of a list (search_path) to get wrong.
                with conn.transaction():
                    conn.execute("SELECT set_config(%s, %s, true)", (key, value))
                    conn.execute(alter + sql.SQL(" SET {} FROM CURRENT").format(
                        sql.SQL(".").join(map(sql.Identifier, key.split(".")))))
    return server.url(name)


# What a database may get from SQL run before its first migration, and a revision (or SQL
# migration) that uses it without creating it fails with on an empty one: an undefined
# object (a type, an extension, a role: 42704) or schema (3F000).
_SETUP_STATES = frozenset({"42704", "3F000"})

SETUP_HINT = ("if the project's database gets it before its first migration (from a "
              "docker-entrypoint-initdb.d script, say), name that SQL file in `setup-sql`")


# A first migration that alters or references a table (or view, sequence) that no migration
# creates fails with 42P01: the history starts from tables made another way. redash's first
# revision adds columns to `queries`, lemur's references `certificates`: their applications
# make the tables with `db.create_all()` and stamp the head (redash's `create_tables`, lemur's
# `init`), and the history only upgrades databases made before it.
_TABLES_STATE = "42P01"

TABLES_HINT = ("the history starts from tables no migration creates: if the application makes "
               "them before it upgrades (`db.create_all()`, then a stamp of the head), give "
               "SQL creating them as they were before the first migration in `setup-sql`, or "
               "read a database that has them with --database-url")


def setup_hint(sqlstate: str | None, *, first: bool) -> str:
    """`SETUP_HINT` for a failure with `sqlstate` of the first migration (`first`) on an
    empty database, when the error is an undefined object or schema; `TABLES_HINT` when
    it is an undefined table; else "".

    >>> [{SETUP_HINT: "setup", TABLES_HINT: "tables", "": ""}[setup_hint(state, first=first)]
    ...  for state, first in (("42704", True), ("3F000", True), ("42704", False),
    ...                       ("42P01", True), ("42P01", False), (None, True))]
    ['setup', 'setup', '', 'tables', '', '']
    """
    if not first:
        return ""
    if sqlstate == _TABLES_STATE:
        return TABLES_HINT
    return SETUP_HINT if sqlstate in _SETUP_STATES else ""


def first_revision(revision_file: str | Path | None) -> bool:
    """Whether the alembic revision at `revision_file` starts a history (`down_revision =
    None`), read from the file's text without running it; False when it cannot be read."""
    if not revision_file:
        return False
    try:
        tree = parse(Path(revision_file).read_bytes())
    except (OSError, SyntaxError, ValueError):
        return False
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if any(isinstance(t, ast.Name) and t.id == "down_revision" for t in targets):
            return isinstance(value, ast.Constant) and value.value is None
    return False


# PostgreSQL's words for a feature its build left out (`ICU is not supported in this build`,
# `compression method lz4 not supported`'s `... this build does not support ...`), 0A000:
# the embedded server dbsafe runs migrations on is built without ICU.
_NOT_IN_BUILD = re.compile(r"not supported in this build|this build does not support",
                           re.IGNORECASE)

BUILD_HINT = ("dbsafe's throwaway server (embedded PostgreSQL, built without it) cannot run "
              "this; the revision is not at fault where the project's server has it")


def build_hint(sqlstate: str | None, message: str) -> str:
    """`BUILD_HINT` for a failure on dbsafe's throwaway server (or the dev server) of a
    feature its PostgreSQL build lacks (0A000, in PostgreSQL's words for that); else "".

    >>> [bool(build_hint(state, text)) for state, text in (
    ...     ("0A000", "ICU is not supported in this build"),
    ...     ("0A000", "cannot alter type of a column used by a view or rule"),
    ...     ("42704", "ICU is not supported in this build"))]
    [True, False, False]
    """
    if sqlstate != "0A000" or not _NOT_IN_BUILD.search(message):
        return ""
    from dbsafe.pg.throwaway import dev_url

    return BUILD_HINT if dev_url() is None else BUILD_HINT.replace(
        "dbsafe's throwaway server (embedded PostgreSQL, built without it)",
        "the dev server (built without it)")

