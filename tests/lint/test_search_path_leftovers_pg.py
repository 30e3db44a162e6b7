"""What task 524's search_path model left matching names of any schema, held against
PostgreSQL 18 (task 561).

An unqualified `DROP TABLE kids` (or `ALTER TABLE kids`) works on the `kids` its session's
search_path finds first: the foreign keys of another schema's `kids` are not its own, and a
key to another schema's `kids` is no key to itself. Lint read both by the bare name, so the
lock `DROP TABLE kids CASCADE` takes on `other.kids` (whose key to `public.kids` it drops),
and the one dropping `public.kids`'s key to `other.kids` takes there, were missed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import Settings

pytestmark = pytest.mark.db

# A `kids` in each schema; other.kids holds a key to public.kids.
SAME_NAMES = ("CREATE SCHEMA other;\n"
              "CREATE TABLE public.kids (id int PRIMARY KEY, other_id int);\n"
              "CREATE TABLE other.kids (id int PRIMARY KEY, kid int REFERENCES public.kids);\n")
_KEY_TO_OTHER = ("ALTER TABLE kids ADD CONSTRAINT kids_other FOREIGN KEY (other_id) "
                 "REFERENCES other.kids;\n")


def _exclusive(conn: psycopg.Connection[Any], pid: int) -> set[str]:
    """The relations backend `pid` holds ACCESS EXCLUSIVE, as `schema.name` (read from
    another session: a table it dropped is still there for it until COMMIT)."""
    return {name for name, in conn.execute(
        "SELECT n.nspname || '.' || c.relname FROM pg_locks l JOIN pg_class c "
        "ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE l.pid = %s AND l.mode = 'AccessExclusiveLock' AND c.relkind = 'r'",
        (pid,)).fetchall()}


def _predicted(tmp_path: Path, schema: str, change: str, url: str | None) -> set[str]:
    """The relations `dbsafe lint --locks` says the change's last statement locks ACCESS
    EXCLUSIVE, as `schema.name` (an unqualified one on the path lint read it under)."""
    folder = tmp_path / ("database" if url else "history") / "migrations"
    folder.mkdir(parents=True)
    if url is None:
        (folder / "001_schema.sql").write_text(schema, encoding="utf-8")
    (folder / "002_change.sql").write_text(change, encoding="utf-8")
    rows = commands.lock_report(Settings(project_root=folder.parent, database_url=url),
                                [folder])
    last_line = change.rstrip("\n").count("\n") + 1
    return {row.relation if "." in (row.relation or "") else
            f"{(row.schemas or ('public',))[0]}.{row.relation}"
            for row in rows if row.location.path.endswith("002_change.sql")
            and row.location.line == last_line and row.mode == "ACCESS EXCLUSIVE"}


@pytest.mark.parametrize("change", [
    # public.kids: CASCADE drops other.kids's key to it, locking other.kids
    "DROP TABLE kids CASCADE;\n",
    # other.kids, found first on this path: its key's triggers on public.kids go
    "SET search_path TO other, public;\nDROP TABLE kids CASCADE;\n",
    # public.kids's key to other.kids: dropped with its table, or by name
    _KEY_TO_OTHER + "ALTER TABLE other.kids DROP CONSTRAINT kids_kid_fkey;\nDROP TABLE kids;\n",
    _KEY_TO_OTHER + "ALTER TABLE kids DROP CONSTRAINT kids_other;\n",
    # its column changes type: the key is dropped and added again
    _KEY_TO_OTHER + "ALTER TABLE kids ALTER COLUMN other_id TYPE bigint;\n",
])
def test_an_unqualified_table_is_the_one_of_the_path_not_its_namesake(
        conninfo: str, tmp_path: Path, change: str) -> None:
    *earlier, last_statement = change.rstrip("\n").split(";\n")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(SAME_NAMES)
        predicted = {seed: _predicted(tmp_path, SAME_NAMES, change, url)
                     for seed, url in (("history", None), ("database", conninfo))}
        for sql in earlier:
            conn.execute(sql)
    with psycopg.connect(conninfo) as migrating, \
            psycopg.connect(conninfo, autocommit=True) as other:
        migrating.execute(last_statement)
        taken = _exclusive(other, migrating.info.backend_pid)
        migrating.rollback()
    assert len(taken) == 2  # (the table the statement names, and its namesake's other end)
    assert predicted == {"history": taken, "database": taken}
