"""A migration that fails on the throwaway server because an extension's object is missing
(pg_trgm's `gin_trgm_ops`, uuid-ossp's `uuid_generate_v4()`) ran in production, where the
extension was created by hand: the functions it gives are unknown, never reported missing
(task 473, lmaotrigine/Ayaka)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbsafe import commands
from dbsafe.config import load_settings

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_server_throwaways")]

APP = '''async def find(conn, name):
    await conn.fetch("SELECT name FROM tags ORDER BY similarity(name, $1) DESC LIMIT 3", name)
    await conn.fetchval("SELECT uuid_generate_v4()")
    await conn.fetchval("SELECT no_such_function(name) FROM tags")
'''


def _calls_reported(tmp_path: Path, migration: str) -> list[tuple[str, int]]:
    folder = tmp_path / "db" / "migrations"
    folder.mkdir(parents=True)
    (folder / "001_init.sql").write_text(migration)
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'bot'\n")
    report = commands.validate(load_settings(tmp_path, environ={}), [tmp_path / "app.py"])
    return sorted((f.code, f.location.line) for f in report.findings if f.code == "DBS314")


@pytest.mark.parametrize(("migration", "expected"), [
    # Nothing failed: every call of a function the schema lacks is reported.
    ("CREATE TABLE tags (id serial PRIMARY KEY, name text);\n"
     "CREATE INDEX tags_name_idx ON tags (name);\n",
     [("DBS314", 2), ("DBS314", 3), ("DBS314", 4)]),
    # Its GIN index names pg_trgm's operator class: production has pg_trgm, whose functions
    # are unknown (a misspelt one too: which functions an extension gives is not listed).
    ("CREATE TABLE tags (id serial PRIMARY KEY, name text);\n"
     "CREATE INDEX tags_name_trgm_idx ON tags USING GIN (name gin_trgm_ops);\n", []),
    # A default calling uuid-ossp's function: production has that function, not any other.
    ("CREATE TABLE tags (id uuid PRIMARY KEY DEFAULT uuid_generate_v4(), name text);\n"
     "CREATE TABLE labels (id serial PRIMARY KEY, name text);\n",
     [("DBS314", 2), ("DBS314", 4)]),
])
def test_a_migration_refused_for_an_extensions_object_leaves_its_functions_unknown(
        tmp_path: Path, migration: str, expected: list[tuple[str, int]]) -> None:
    """Ayaka's `CREATE INDEX ... USING GIN (name gin_trgm_ops)` (its database got pg_trgm
    by hand) failed on the throwaway server (42704), and its four `similarity(...)` calls
    were DBS314 errors, which PostgreSQL prepares where the migration ran."""
    assert _calls_reported(tmp_path, migration) == expected
