"""A copy of a database's schema on a throwaway server: `pg_dump --schema-only`, read-only.

`dbsafe lint --database-url` starts its capture from it, so the pending revisions run on the
schema they will meet in production, not on what the history builds from an empty database
(projects that create their baseline with `metadata.create_all()` and stamp cannot be
replayed from empty at all).

The database is only read: pg_dump runs in a read-only, repeatable-read transaction and
takes ACCESS SHARE locks (given up after `LOCK_WAIT` rather than queued behind a migration
holding ACCESS EXCLUSIVE), and the roles are one SELECT of `pg_roles` and one of
`pg_auth_members`, which every role may read. pg_dump is run
as `dbsafe backup` runs it (`dbsafe.pg.tools.client_binary`, the password in its
environment through `tool_connection`, never in argv or in a message), its session named
`APPLICATION_NAME`: the caller's lock watch (`dbsafe.guard.blockers.BlockerWatch`) finds it
waiting and says who held the lock when it gave up. It is tried once: a preflight does not
queue on production's tables, and the lint goes on from an empty database.

On the throwaway server the roles the database has are created first, so owners and
privileges restore as they are, and a pending revision's `GRANT ... TO app_reader` or
`OWNER TO app` runs there as in production. Each has the attributes it has there that decide
what a session acting as it may do (SUPERUSER, INHERIT, CREATEROLE, CREATEDB, REPLICATION,
BYPASSRLS; never LOGIN nor a password: nobody logs in as it) and its memberships, with their
options (ADMIN; INHERIT and SET from PostgreSQL 16 on): a revision that runs `SET ROLE` to
fill a table with row-level security as a `BYPASSRLS` role, or to alter a table whose owner
the role is a member of, runs on the copy as in production. (Made bare, both failed there
alone: DBS005.) Roles belong to the server: one it has already is left as it is, and given
no membership. The
restore goes on past an object the throwaway cannot make (an extension its PostgreSQL lacks,
then what uses it): each is returned, one line, for the report to say.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dbsafe.core import OWN_SCHEMA, DatabaseError

if TYPE_CHECKING:
    from collections.abc import Callable

    import psycopg

    from dbsafe.pg.throwaway import ScratchServer

# How long pg_dump waits for a table's ACCESS SHARE lock before giving up (a migration
# holding ACCESS EXCLUSIVE): a linter must not queue on production's tables.
LOCK_WAIT = "10s"
# pg_dump's session, so named in pg_stat_activity: a lock watch finds it waiting, and a DBA
# sees whose it is.
APPLICATION_NAME = "dbsafe schema copy"

# psql's report of a failed statement: `psql:/tmp/x/schema.sql:120: ERROR:  message`.
_PSQL_ERROR = re.compile(r"^psql:.*?:(\d+): ERROR:\s+(.*)$")
# The header pg_dump writes above each object.
_HEADER = re.compile(r"^-- Name: (.*); Type: (.*); Schema: (.*?);")


# The attributes of a role copied (pg_roles' columns, CREATE ROLE's words): what a session
# acting as it may do. LOGIN and a password are not: nobody logs in to the copy as it.
_ATTRIBUTES = (("rolsuper", "SUPERUSER"), ("rolcreaterole", "CREATEROLE"),
               ("rolcreatedb", "CREATEDB"), ("rolreplication", "REPLICATION"),
               ("rolbypassrls", "BYPASSRLS"))


@dataclass(frozen=True, slots=True)
class CopiedRole:
    """A role of the database, with what a session acting as it may do."""

    name: str
    attributes: tuple[str, ...] = ()  # CREATE ROLE's words: "BYPASSRLS", "NOINHERIT", ...

    def __str__(self) -> str:
        return " ".join((self.name, *self.attributes))


@dataclass(frozen=True, slots=True)
class Membership:
    """`role` granted to `member`, with the grant's options (PostgreSQL 16 and later keeps
    INHERIT and SET per grant; before, None: the member's INHERIT decides, SET is allowed)."""

    role: str
    member: str
    admin: bool = False
    inherit: bool | None = None
    set: bool | None = None

    def __str__(self) -> str:
        return f"{self.role} TO {self.member} {self.admin} {self.inherit} {self.set}"


@dataclass(frozen=True, slots=True)
class SchemaCopy:
    """What `dump_schema` read: the schema as SQL, and the roles it may name."""

    sql: str  # pg_dump --schema-only, plain format
    roles: tuple[CopiedRole, ...]  # pg_roles, the predefined pg_* left out
    server_version: int
    memberships: tuple[Membership, ...] = ()  # of those roles (a pg_* role granted to one too)

    @property
    def digest(self) -> str:
        """sha256 of what the copy builds: the same schema gives the same digest (psql's
        `\\restrict` key, random per dump, left out)."""
        hashed = hashlib.sha256()
        for line in self.sql.splitlines():
            if not line.startswith(("\\restrict ", "\\unrestrict ")):
                hashed.update(line.encode() + b"\n")
        hashed.update("\0".join(map(str, self.roles)).encode())
        hashed.update(b"\1" + "\0".join(map(str, self.memberships)).encode())
        return hashed.hexdigest()


def dump_schema(url: str, *, holders: Callable[[], str] = lambda: "") -> SchemaCopy:
    """Read the schema of the database `url` names (nothing is written to it).

    Args:
        holders: who held the lock pg_dump waited for, on one line ("blocked by pid ...",
            empty when nobody was seen), asked when it gave up waiting: the caller watches
            the sessions named `APPLICATION_NAME` (`dbsafe.guard.blockers`).

    Raises:
        DatabaseError: the database cannot be reached, or pg_dump failed (on a table's lock
            not granted within `LOCK_WAIT`: naming who held it); one line, no password.
    """
    from dbsafe.pg.connect import connect, tool_connection
    from dbsafe.pg.tools import _first_line, client_binary, failed_on_lock, run

    with connect(url, autocommit=False) as conn:
        conn.read_only = True
        server_version = conn.info.server_version
        reached = (conn.info.host, conn.info.port)
        roles = _roles(conn, server_version)
        memberships = _memberships(conn, server_version)
        conn.rollback()
    pg_dump = client_binary("pg_dump", server_version)
    target, env = tool_connection(url, reached=reached, application_name=APPLICATION_NAME)
    # dbsafe's own schema (its run history) is nothing a revision builds on, and a run it
    # records there would change the copy's digest: the next run's capture missed the cache
    args = [str(pg_dump), "--no-password", *target, "--schema-only", "--format=plain",
            f"--lock-wait-timeout={LOCK_WAIT}", f"--exclude-schema={OWN_SCHEMA}"]
    try:
        done = run(args, env=env, text=False)
    except OSError as exc:
        raise DatabaseError(f"cannot run {pg_dump}: {exc.strerror or exc}") from None
    if done.returncode != 0:
        errors = done.stderr.decode("utf-8", "replace")
        held = holders()
        if failed_on_lock(errors, seen_waiting=bool(held)):
            raise DatabaseError(f"pg_dump --schema-only waited {LOCK_WAIT} for a table's "
                                f"lock; {held or _first_line(errors)}")
        raise DatabaseError(f"pg_dump --schema-only failed: {_first_line(errors)}")
    return SchemaCopy(done.stdout.decode("utf-8", "replace"), roles, server_version,
                      memberships)


def _roles(conn: psycopg.Connection, server_version: int) -> tuple[CopiedRole, ...]:
    """The database's roles (not the predefined pg_*), with the attributes copied (BYPASSRLS
    from PostgreSQL 9.5 on)."""
    attributes = [(column, word) for column, word in _ATTRIBUTES
                  if column != "rolbypassrls" or server_version >= 90500]
    columns = ", ".join(column for column, _ in attributes)
    found = []
    for name, inherit, *flags in conn.execute(
            f"SELECT rolname, rolinherit, {columns} FROM pg_roles "
            "WHERE rolname !~ '^pg_' ORDER BY 1"):
        words = [word for (_, word), on in zip(attributes, flags, strict=True) if on]
        found.append(CopiedRole(name, tuple(words if inherit else ["NOINHERIT", *words])))
    return tuple(found)


def _memberships(conn: psycopg.Connection, server_version: int) -> tuple[Membership, ...]:
    """The memberships of those roles: one per role and member (PostgreSQL 16 and later may
    hold several grants of it, by different grantors: an option any of them gives counts)."""
    options = ("bool_or(a.inherit_option), bool_or(a.set_option)" if server_version >= 160000
               else "NULL::boolean, NULL::boolean")
    return tuple(Membership(role, member, admin, inherit, set_) for role, member, admin,
                 inherit, set_ in conn.execute(
        f"SELECT r.rolname, m.rolname, bool_or(a.admin_option), {options} "
        "FROM pg_auth_members AS a "
        "JOIN pg_roles AS r ON r.oid = a.roleid "
        "JOIN pg_roles AS m ON m.oid = a.member "
        "WHERE m.rolname !~ '^pg_' "
        "GROUP BY r.rolname, m.rolname ORDER BY 1, 2"))


def restore_schema(copy: SchemaCopy, server: ScratchServer, database: str) -> tuple[str, ...]:
    """Build `copy` in `database` of the throwaway `server`: its roles, then its schema.

    Returns one line per object that could not be made, `TYPE schema.name: error`.

    Raises:
        DatabaseError: psql could not run at all.
    """
    import psycopg
    from psycopg import sql

    failed: list[str] = []
    with psycopg.connect(server.conninfo(database), autocommit=True) as conn:
        existing = {r[0] for r in conn.execute("SELECT rolname FROM pg_roles")}
        made: set[str] = set()
        for role in copy.roles:
            if role.name in existing:
                continue  # the server's: left as it is
            create = sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role.name))
            try:
                try:
                    conn.execute(sql.SQL(" ").join([create, *map(sql.SQL, role.attributes)]))
                except psycopg.errors.InsufficientPrivilege as exc:
                    # (the throwaway is dbsafe's, its role a superuser: not expected)
                    failed.append(f"ROLE {role.name}: made without {' '.join(role.attributes)}"
                                  f": {_first(exc)}")
                    conn.execute(create)
                made.add(role.name)
            except psycopg.Error as exc:
                failed.append(f"ROLE {role.name}: {_first(exc)}")
        per_grant = conn.info.server_version >= 160000
        for grant in copy.memberships:
            if grant.member not in made:
                continue  # a role the server had: not altered
            # (an option not known, from a server before 16: the member's INHERIT decides)
            options = ([sql.SQL(f"{word} {value}") for word, value in (
                           ("ADMIN", grant.admin), ("INHERIT", grant.inherit),
                           ("SET", grant.set)) if value is not None] if per_grant
                       else [sql.SQL("ADMIN OPTION")] if grant.admin else [])
            statement = sql.SQL("GRANT {} TO {}").format(sql.Identifier(grant.role),
                                                         sql.Identifier(grant.member))
            if options:
                statement += sql.SQL(" WITH ") + sql.SQL(", ").join(options)
            try:
                conn.execute(statement)
            except psycopg.Error as exc:
                failed.append(f"ROLE {grant.member}: not granted {grant.role}: {_first(exc)}")
    with tempfile.TemporaryDirectory(prefix="dbsafe-schema-") as tmp:
        script = Path(tmp) / "schema.sql"
        script.write_text(copy.sql, encoding="utf-8")
        from dbsafe.pg.connect import tool_connection

        # (a dev server's password goes through the environment, never psql's argv)
        target, env = tool_connection(server.conninfo(database))
        args = [str(server.bin_dir / "psql"), "--no-psqlrc", "--quiet",
                "--set=ON_ERROR_STOP=0", *target, f"--file={script}"]
        try:
            done = subprocess.run(args, capture_output=True, check=False, env=env)
        except OSError as exc:
            raise DatabaseError(f"cannot run psql: {exc.strerror or exc}") from None
    errors = done.stderr.decode("utf-8", "replace")
    if done.returncode not in (0, 3):  # 3: a statement failed, and psql went on
        from dbsafe.pg.tools import _first_line

        raise DatabaseError(f"psql could not restore the schema: {_first_line(errors)}")
    return tuple(failed) + tuple(_failed_objects(copy.sql, errors))


def _first(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]


def _failed_objects(script: str, errors: str) -> list[str]:
    """`TYPE schema.name: error` per object whose statements psql reported failing, named by
    the header pg_dump wrote above them: its first error (the `ALTER TABLE ... OWNER TO`
    after a failed `CREATE TABLE` fails only for want of the table). The `SET
    transaction_timeout` a pg_dump of 17 or later writes first, which a dev server before 17
    refuses (a PostgreSQL 15 database dumped by the embedded pg_dump 18), is no object: its
    error is let through (it was "1 object(s) ... could not be made: line 13")."""
    from dbsafe.pg.tools import NEWER_ONLY_SETTING

    lines = script.splitlines()
    headers: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        found = _HEADER.match(line)
        if found:
            name, kind, schema = found.groups()
            qualified = name if schema == "-" else f"{schema}.{name}"
            headers.append((number, f"{kind} {qualified}"))
    out: dict[str, str] = {}
    for line in errors.splitlines():
        found = _PSQL_ERROR.match(line)
        if not found:
            continue
        at = int(found.group(1))
        if 0 < at <= len(lines) and lines[at - 1].strip() == NEWER_ONLY_SETTING:
            continue
        what = next((h for n, h in reversed(headers) if n <= at), f"line {at}")
        out.setdefault(what, found.group(2))
    return [f"{what}: {error}" for what, error in out.items()]
