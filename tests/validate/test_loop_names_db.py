"""A `for` loop over strings written in the code (`for t in ("users", "orders"):`, or a
tuple bound once to a name) running a statement built from its name in each round is each
of those statements: `cur.execute(f"SELECT count(*) FROM {t}")` was a DBS304 note, and the
table a loop creates (`CREATE TABLE IF NOT EXISTS {t}`) was missing for the other modules
(a false DBS301). A round the loop may pass by (an `if`, `try`, `continue`, `assert`, ...
on the way), a name bound again in the body, strings that are not names, a list something
may change and any other iterable stay holes. What the module's own statements do when it
runs on PostgreSQL is the truth the findings are held to.
Real PostgreSQL.
"""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_module

_SCHEMA = ("CREATE TABLE users (id int PRIMARY KEY, name text);\n"
           "CREATE TABLE orders (id int PRIMARY KEY, total int);\n")

_READS = '''\
from contextlib import suppress

from psycopg import sql

TABLES = ("users", "userz")
KINDS = ["users", "orders"]


def counts(cur):
    for t in ("users", "orders", "ordrs"):
        cur.execute(f"SELECT count(*) FROM {t}")
    for t in TABLES:
        cur.execute("SELECT id FROM %s" % t)
    for table in KINDS:
        cur.execute(sql.SQL("SELECT {} FROM {}").format(sql.Identifier("nmae"),
                                                        sql.Identifier(table)))
    for name in ("users",):
        cur.execute("SELECT titel FROM {}".format(name))
        cur.execute("SELECT id FROM " + name + " WHERE id = 1")
    for a in ("users", "orders"):
        for b in ("id", "total"):
            cur.execute(f"SELECT {b} FROM {a}")
    for t in ("log_a", "log_b"):
        cur.execute(f"CREATE TABLE IF NOT EXISTS {t} (id int, msg text)")
        cur.execute(f"INSERT INTO {t} (id, msg) VALUES (1, 'x')")


MUTATED = ["users", "missing_i"]
MUTATED.remove("missing_i")


def not_each_round(cur, tables, found):
    for t in ("users", "missing_a"):
        if t in found:
            cur.execute(f"SELECT * FROM {t}")
    for t in ("users", "missing_b"):
        if t == "missing_b":
            continue
        cur.execute(f"SELECT * FROM {t}")
    for t in ("users", "missing_c"):
        try:
            cur.execute(f"SELECT * FROM {t}")
        except Exception:
            pass
    for t in ("users", "missing_d"):
        t = t + "_v2"
        cur.execute(f"SELECT * FROM {t}")
    for t in ["users", "missing e"]:
        cur.execute(f"SELECT * FROM {t}")
    for t in tables:
        cur.execute(f"SELECT * FROM {t}")
    for t in MUTATED:
        cur.execute(f"SELECT * FROM {t}")
    for t in ("users", "missing_g"):
        with suppress(Exception):
            cur.execute(f"SELECT * FROM {t}")
    for t in ("users", "missing_h"):
        assert t in found
        cur.execute(f"SELECT * FROM {t}")
    for t in ("users", "missing_j"):
        cur.execute(f"SELECT * FROM {t!r}")
    for t in ("users", "missing_k"):
        pass
    cur.execute(f"SELECT * FROM {t}")


def setup(cur, fresh):
    for t in ("log_c", "log_d"):
        if fresh:
            cur.execute(f"CREATE TABLE IF NOT EXISTS {t} (id int)")
'''

# Another module reads tables the loops above create (the second only in some rounds).
_OTHER = ('def read(cur):\n    cur.execute("SELECT msg FROM log_b WHERE id = 1")\n'
          '    cur.execute("SELECT id FROM log_d")\n')


class _Recorder:
    """A real psycopg cursor that keeps going past a failing statement, noting what
    PostgreSQL said to each."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        self.missing: set[str] = set()

    def execute(self, query: object) -> None:
        try:
            with self.conn.transaction():
                self.conn.execute(query)  # type: ignore[arg-type]
        except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn) as exc:
            self.missing.add(re.findall(r'"([^"]+)"', str(exc))[0])


@pytest.mark.db
def test_a_statement_a_loop_over_names_builds_is_checked_for_each_name(
        database_url: str, tmp_path: Path) -> None:
    (tmp_path / "other.py").write_text(_OTHER, encoding="utf-8")
    report = validate_module(database_url, tmp_path, _SCHEMA, "reads.py", _READS)
    files = {"reads.py": _READS.splitlines(), "other.py": _OTHER.splitlines()}

    def written(path: str, line: int, column: int) -> str:
        text = files[path][line - 1][column - 1:]
        return text[1:].split('"')[0] if text.startswith('"') else text.split('"')[0]

    found = sorted((f.location.path, f.location.line,
                    written(f.location.path, f.location.line, f.location.column),
                    f.subject, dict(f.context).get("PostgreSQL", "")[:5])
                   for f in report.findings if f.code != "DBS304")
    # each at the name where the code writes it: the loop's string, or `"nmae"`; none in
    # other.py, whose `log_b` and `log_d` the loops create (`log_d` in the rounds `fresh`
    # is true: what a loop may create is there, never reported missing)
    assert found == [
        ("reads.py", 5, "userz", "public.userz", "42P01"),
        ("reads.py", 10, "ordrs", "public.ordrs", "42P01"),
        ("reads.py", 15, "nmae", "public.orders.nmae", "42703"),
        ("reads.py", 15, "nmae", "public.users.nmae", "42703"),
        ("reads.py", 18, "titel FROM {}", "public.users.titel", "42703"),
        ("reads.py", 21, "total", "public.users.total", "42703")]
    # the rounds a loop may pass by, or whose name is not one of its strings for sure,
    # stay SQL built at run time
    assert sorted(f.location.line for f in report.findings if f.code == "DBS304") == [
        35, 39, 42, 47, 49, 51, 53, 56, 59, 61, 64]
    # what PostgreSQL says running `counts` is what the findings say
    namespace: dict[str, object] = {}
    exec(compile(_READS, "reads.py", "exec"), namespace)
    with psycopg.connect(database_url, autocommit=True) as conn:
        recorder = _Recorder(conn)
        namespace["counts"](recorder)  # type: ignore[operator]
    assert recorder.missing == {subject.rsplit(".", 1)[-1] for *_, subject, _ in found}
