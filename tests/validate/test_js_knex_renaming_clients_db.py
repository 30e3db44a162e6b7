"""A knex client that renames identifiers makes every `??` and `:name:` binding a hole.

knex's pg client writes a `??` (and a `:name:`) binding through the client's
`wrapIdentifier`: with one upper-casing names (`origImpl(value.toUpperCase())`, or
Objection's `knexSnakeCaseMappers({ upperCase: true })`), knex 3.3.0 sends
`db.raw('SELECT ?? FROM ??', ['name', 'users'])` as `SELECT "NAME" FROM "USERS"`
(`toSQL().toNative()`), which a schema made through that client prepares, and which dbsafe
read as `SELECT "name" FROM "users"`: a false DBS301. The options are in another file (a
knexfile): when a file of the project makes a client so, every binding is a hole, a DBS304
note naming where, never a finding. Without such a client the statement is still checked.
Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_module

pytestmark = pytest.mark.db

# made through the upper-casing client
_SCHEMA = 'CREATE TABLE "USERS" ("ID" int PRIMARY KEY, "NAME" text)'

_STORE = """\
export async function reads(db: Knex) {
  await db.raw('SELECT ?? FROM ??', ['name', 'users']);
  await db.raw('SELECT :col: FROM :table:', { col: 'name', table: 'users' });
}
"""

_KNEXFILE = """\
module.exports = {
  client: 'pg',
  connection: process.env.DATABASE_URL,
  wrapIdentifier: (value, origImpl) => origImpl(value.toUpperCase()),
};
"""

_OBJECTION = """\
import Knex from 'knex';
import { knexSnakeCaseMappers } from 'objection';

export const db = Knex({ client: 'pg', ...knexSnakeCaseMappers(OPTIONS) });
"""


def test_postgresql_prepares_what_the_renaming_client_sends(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_SCHEMA)
        conn.execute('PREPARE sent AS SELECT "NAME" FROM "USERS"')  # knex 3.3.0's
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute('PREPARE read AS SELECT "name" FROM "users"')  # as dbsafe read it


_PACKAGE = '{"name": "app", "dependencies": {"knex": "^3.1.0", "objection": "^3.1.0"}}\n'


def _with_knex(root: Path) -> None:
    """The project's package.json, which declares knex (node finds it only so)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "package.json").write_text(_PACKAGE, encoding="utf-8")


def _found(report) -> list[tuple[str, int]]:
    return sorted((f.code, f.location.line) for f in report.findings if f.location is not None)


@pytest.mark.parametrize(("name", "client", "said"), [
    ("knexfile.js", _KNEXFILE, "wrapIdentifier in knexfile.js:4"),
    ("src/db.ts", _OBJECTION.replace("OPTIONS", "{ upperCase: true }"),
     "knexSnakeCaseMappers({ upperCase: true }) in src/db.ts:4"),
])
def test_a_renaming_client_makes_identifier_bindings_holes(
        database_url: str, tmp_path: Path, name: str, client: str, said: str) -> None:
    _with_knex(tmp_path)
    (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / name).write_text(client, encoding="utf-8")
    report = validate_module(database_url, tmp_path, _SCHEMA, "store.ts", _STORE)
    assert _found(report) == [("DBS304", 2), ("DBS304", 3)]
    assert all(f"knex's client renames identifiers ({said})" in f.message
               for f in report.findings), [f.message for f in report.findings]


@pytest.mark.parametrize("client", [None, _OBJECTION.replace("OPTIONS", ""),
                                    _OBJECTION.replace("OPTIONS", "{ upperCase: false }")])
def test_without_a_renaming_client_the_bindings_are_checked(
        database_url: str, tmp_path: Path, client: str | None) -> None:
    _with_knex(tmp_path)
    # knex without wrapIdentifier, or the default mappers (they rename camelCase only),
    # sends `SELECT "name" FROM "users"`: 42P01 against this schema
    if client is not None:
        (tmp_path / "db.ts").write_text(client, encoding="utf-8")
    report = validate_module(database_url, tmp_path, _SCHEMA, "store.ts", _STORE)
    assert _found(report) == [("DBS301", 2), ("DBS301", 3)]


def test_the_client_is_read_project_wide_when_a_folder_is_validated(
        database_url: str, tmp_path: Path) -> None:
    _with_knex(tmp_path)
    from dbsafe import commands
    from dbsafe.config import load_settings

    validate_module(database_url, tmp_path, _SCHEMA, "knexfile.js", _KNEXFILE)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "store.ts").write_text(_STORE, encoding="utf-8")
    settings = load_settings(tmp_path, {"database-url": database_url, "cache": False},
                             environ={})
    report = commands.validate(settings, [tmp_path / "src"])
    assert _found(report) == [("DBS304", 2), ("DBS304", 3)]


def test_with_the_cache_each_file_is_read_again_only_once_its_stat_changes(
        database_url: str, tmp_path: Path) -> None:
    _with_knex(tmp_path)
    import os

    from dbsafe import commands
    from dbsafe.config import load_settings

    validate_module(database_url, tmp_path, _SCHEMA, "store.ts", _STORE)
    knexfile = tmp_path / "knexfile.js"
    knexfile.write_text(_KNEXFILE, encoding="utf-8")
    settings = load_settings(tmp_path, {"database-url": database_url,
                                        "cache-dir": str(tmp_path / "cache")}, environ={})

    def found() -> list[tuple[str, int]]:
        return _found(commands.validate(settings, [tmp_path]))

    assert found() == [("DBS304", 2), ("DBS304", 3)]
    # The same size and modification time: the answer kept is used, the file not read again
    # (its new text, which names no wrapIdentifier, would make the bindings checked).
    stat = knexfile.stat()
    knexfile.write_text(_KNEXFILE.replace("wrapIdentifier", "wrapIdentifieX"), encoding="utf-8")
    os.utime(knexfile, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert found() == [("DBS304", 2), ("DBS304", 3)]
    # A changed stat: read again
    os.utime(knexfile, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    assert found() == [("DBS301", 2), ("DBS301", 3)]


def test_a_project_declaring_no_knex_is_not_read_for_its_clients(
        database_url: str, tmp_path: Path) -> None:
    # No package.json names knex: its bindings are checked whatever a file says
    (tmp_path / "knexfile.js").write_text(_KNEXFILE, encoding="utf-8")
    report = validate_module(database_url, tmp_path, _SCHEMA, "store.ts", _STORE)
    assert _found(report) == [("DBS301", 2), ("DBS301", 3)]
