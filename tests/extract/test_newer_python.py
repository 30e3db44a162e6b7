"""Python of a newer interpreter than dbsafe's, read through libcst's rewrite
(`dbsafe.extract.newer_python`): every statement at its line and column, where the module was
skipped as a syntax error; what cannot be rewritten without moving SQL text stays skipped
with the reason it had; the project-wide indexes and alembic revision readers read such
modules too; and an ordinary module never pays for it (libcst is not even imported).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dbsafe.extract.newer_python import read
from dbsafe.extract.python import sql_in_python

_READ_AS = f"Python syntax error (read as Python {sys.version_info.major}."


def _where(source: str, word: str) -> list[tuple[int, int]]:
    """(line, column) of `word` in each fragment of `source` holding it."""
    return [(at.line, at.column) for fragment in sql_in_python(source, "m.py").fragments
            if word in fragment.sql
            for at in [fragment.location(fragment.sql.index(word))]]


@pytest.mark.parametrize(("construct", "source"), [
    ("PEP 695 def", "def first[T](items: list[T]) -> T:\n"
                    "    return cur.execute('SELECT id FROM users')\n"),
    ("PEP 695 class", "class Box[T](Base):\n    q = cur.execute('SELECT id FROM users')\n"),
    ("PEP 695 type", "type Rows[K] = dict[K, str]\ncur.execute('SELECT id FROM users')\n"),
    ("PEP 695 over lines", "def f[\n    T,\n    U,\n](x):\n"
                           "    cur.execute('SELECT id FROM users')\n"),
    ("PEP 696", "class Box[T = int]: pass\ncur.execute('SELECT id FROM users')\n"),
    ("PEP 701", "x = f\"{d[\"a\"]}\"\ncur.execute(f\"SELECT id FROM users {d[\"b\"]}\")\n"),
    ("PEP 758", "try:\n    pass\nexcept KeyError, IndexError:\n    pass\n"
                "cur.execute('SELECT id FROM users')\n"),
    ("PEP 758 except*", "try:\n    pass\nexcept* KeyError, IndexError:\n    pass\n"
                        "cur.execute('SELECT id FROM users')\n"),
    ("PEP 750", "q = t'x {y}'\ncur.execute('SELECT id FROM users')\n"),
    ("lazy import", "lazy import os\ncur.execute('SELECT id FROM users')\n"),
])
def test_a_newer_construct_is_read_and_what_follows_keeps_its_place(
        construct: str, source: str) -> None:
    assert sql_in_python(source, "m.py").skipped == ()
    line = source.count("\n")
    text = source.splitlines()[-1]
    assert _where(source, "users") == [(line, text.index("users") + 1)]


def test_a_field_quoting_as_its_f_string_is_read_where_it_is() -> None:
    source = 'cur.execute(f"SELECT {", ".join(cols)} FROM userz WHERE a = {d["k"]}")\n'
    (fragment,) = sql_in_python(source, "m.py").fragments
    assert fragment.location(fragment.sql.index("userz")).column == source.index("userz") + 1


def test_a_psycopg_t_string_sends_its_fields_as_parameters() -> None:
    source = ("import psycopg\n"
              "cur.execute(t\"SELECT name FROM users WHERE id = {uid} ORDER BY {col}\")\n"
              "cur.execute(t\"SELECT name FROM users WHERE id = {uid:l}\")\n"
              "cur.execute(t\"SELECT name FROM {table:i}\")\n"
              "cur.execute(t\"SELECT name FROM users WHERE id = {uid!r}\")\n")
    first, literal, name, refused = sql_in_python(source, "m.py").fragments
    assert (first.sql, first.dynamic) == (
        "SELECT name FROM users WHERE id = $1 ORDER BY $2", None)
    assert first.location(first.sql.index("$2")).column == source.splitlines()[1].index(
        "{col}") + 1
    assert (literal.sql, literal.dynamic) == ("SELECT name FROM users WHERE id = NULL", None)
    assert name.dynamic == "`{table:i}` is not in a value position (after FROM)"
    assert refused.dynamic == ("`{uid!r}` is a t-string field psycopg refuses "
                               "(a conversion or another spec)")
    # without psycopg, a t-string is read as the f-string of its text
    (other, *_) = sql_in_python(source.replace("psycopg", "asyncpg"), "m.py").fragments
    assert other.dynamic == "`{col}` is not in a value position (after BY)"


@pytest.mark.parametrize(("construct", "source"), [
    # a string after a clause that must grow: it would move
    ("PEP 758 with its body on its line", "try:\n    pass\n"
                                         "except A,B: cur.execute('SELECT 1')\n"),
    # Python 3.12 allows a backslash in a field; nothing before it does
    ("PEP 701 backslash", "x = f\"{'\\n'.join(rows)}\"\ncur.execute('SELECT 1')\n"),
    # both quotes inside: no other quote to give it
    ("PEP 701 both quotes", "x = f\"{d[\"it's\"]}\"\ncur.execute('SELECT 1')\n"),
    # a line starting with a form feed: libcst's columns are not Python's there, and no
    # edit lands anywhere but where it is meant to
    ("form feed", "\x0cdef f[T](): pass\ncur.execute('SELECT 1')\n"),
    # libcst cannot parse it either
    ("broken", "def broken(:\n    pass\ncur.execute('SELECT 1')\n"),
])
def test_what_cannot_be_rewritten_stays_skipped_with_its_reason(
        construct: str, source: str) -> None:
    result = sql_in_python(source, "m.py")
    (skip,) = result.skipped
    assert result.fragments == () and skip.reason.startswith(_READ_AS)
    assert "run dbsafe with the project's Python" in skip.reason


def test_a_rewrite_keeps_every_line() -> None:
    source = ("def f[\n    T: int = str,\n](x): pass\ntype X[K] = dict[K, str]\n"
              "try:\n    pass\nexcept A, B:\n    pass\n")
    module = read(source)
    assert module.text.count("\n") == source.count("\n")
    assert [type(node).__name__ for node in module.tree.body] == ["FunctionDef", "Assign", "Try"]


def test_the_project_indexes_read_a_newer_module(tmp_path: Path) -> None:
    from dbsafe.extract.py_clients import client_functions
    from dbsafe.extract.py_migrations import migration_functions
    from dbsafe.extract.py_parsers import PythonFiles, parsing_functions

    newer = "def first[T](items: list[T]) -> T:\n    return items[0]\n"
    (tmp_path / "parse.py").write_text(
        newer + "import sqlglot\ndef parse_sql(sql, *, dialect):\n"
        "    return sqlglot.parse_one(sql, read=dialect)\n")
    (tmp_path / "core.py").write_text(
        newer + "from alembic import command\ndef run_migrations(name, revision='heads'):\n"
        "    command.upgrade(config(name), revision)\n")
    (tmp_path / "utils.py").write_text(
        newer + "import duckdb\ndef warehouse(path=None):\n    if path is None:\n"
        "        return None\n    return duckdb.connect(path)\n")
    files = PythonFiles([(str(tmp_path / name), f"app/{name}")
                         for name in ("parse.py", "core.py", "utils.py")], {})
    assert parsing_functions(files)["app.parse.parse_sql"] == ((0, "sql"),)
    assert migration_functions(files)["app.core.run_migrations"][0] == "upgrade"
    assert client_functions(files)["app.utils.warehouse"] == "DuckDB"


def test_an_alembic_revision_of_a_newer_python_is_read(tmp_path: Path) -> None:
    from dbsafe.migrate.revisions import find_downgrade

    revision = tmp_path / "0001_init.py"
    revision.write_text("def upgrade():\n    op.create_table('t')\n\n\n"
                        "def downgrade():\n    try:\n        pass\n"
                        "    except KeyError, IndexError:\n        pass\n")
    assert find_downgrade(revision).line == 5


def test_an_ordinary_module_does_not_import_libcst() -> None:
    code = ("import sys\nfrom dbsafe.extract.python import sql_in_python\n"
            "sql_in_python('cur.execute(\"SELECT 1\")', 'm.py')\n"
            "print('libcst' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
