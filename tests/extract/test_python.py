"""sql_in_python: which strings are SQL, dynamic holes, and exact positions."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbsafe.extract.python import looks_like_statement, sql_in_python
from tests.helpers import assert_snapshot

FIXTURES = Path(__file__).parent / "fixtures"
SOURCE = (FIXTURES / "queries.py").read_text(encoding="utf-8")
FRAGMENTS = sql_in_python(SOURCE, "queries.py").fragments


def _truth(needle: str) -> tuple[int, int]:
    offset = SOURCE.index(needle)
    return SOURCE.count("\n", 0, offset) + 1, offset - (SOURCE.rfind("\n", 0, offset) + 1) + 1


def _fragment_with(needle: str):
    matches = [f for f in FRAGMENTS if needle in f.sql]
    assert len(matches) == 1, f"{needle!r} in {len(matches)} fragments"
    return matches[0]


def test_fragments_snapshot() -> None:
    lines = [
        f"{f.line}:{f.column} {'dynamic (' + f.dynamic + ')' if f.dynamic else 'static'}: {f.sql!r}"
        for f in FRAGMENTS
    ]
    assert_snapshot("\n".join(lines) + "\n", FIXTURES / "queries.py.expected")


@pytest.mark.parametrize(
    "needle",
    [
        "orders o",
        "customers",
        "WHERE active",
        "escape_table",
        "raw_table",
        "unicode_table",
        "users WHERE",
        "id FROM sessions",
        "app_person",
        "audit_log",
        "carts WHERE",
        "value_holes",
        "LIMIT ",
        "percent_value",
        "format_in",
        "plus_value",
        "class_attr_table",
        "expires_at",
    ],
)
def test_identifier_maps_to_its_source_position(needle: str) -> None:
    needle = needle.rstrip('"')
    fragment = _fragment_with(needle)
    offset = fragment.sql.index(needle)
    location = fragment.location(offset, offset + len(needle) - 1)
    assert (location.line, location.column) == _truth(needle)
    assert (location.end_line, location.end_column) == (
        location.line,
        location.column + len(needle) - 1,
    )


def test_every_undecoded_character_maps_to_itself() -> None:
    lines = SOURCE.split("\n")
    for fragment in FRAGMENTS:
        if fragment.dynamic:
            continue
        offset = 0
        while offset < len(fragment.sql):
            char = fragment.sql[offset]
            line, column = fragment.position(offset)
            source_char = (lines[line - 1] + "\n")[column - 1]
            if fragment.sql.startswith("NULL", offset) and source_char != "N":
                # A value hole, read as NULL, maps to where the hole starts (`{`, `%s`,
                # or the expression added with `+`).
                assert source_char in "{%" or source_char.isidentifier(), (fragment.sql, offset)
                offset += 4
                continue
            # An escape decodes to one character, which maps to its backslash.
            assert source_char == char or source_char == "\\", (fragment.sql, offset, char)
            offset += 1


def test_escapes_map_to_the_backslash() -> None:
    fragment = _fragment_with("escape_table")
    backslash = fragment.sql.index("\\n'")  # `\\n` in the source decodes to `\n`
    assert fragment.position(backslash) == _truth("\\\\n'")
    assert fragment.position(backslash + 1) == _truth("\\\\n'")[:1] + (
        _truth("\\\\n'")[1] + 2,
    )
    assert fragment.position(fragment.sql.index('"quoted')) == _truth('\\"quoted')
    unicode = _fragment_with("unicode_table")
    assert unicode.position(unicode.sql.index("é")) == _truth("\\u00e9")


def test_implicit_concatenation_across_lines() -> None:
    assert _fragment_with("customers").sql == "SELECT name FROM customers\tWHERE active"


def test_percent_percent_is_unescaped_when_parameters_are_passed() -> None:
    assert "LIKE 'gift%'" in _fragment_with("orders o").sql


def test_constant_referenced_by_a_sink_is_extracted_once() -> None:
    assert sum("orders o" in f.sql for f in FRAGMENTS) == 1


def test_value_holes_are_validated_identifier_holes_are_dynamic() -> None:
    assert _fragment_with("value_holes").dynamic is None
    assert "name = ''" in _fragment_with("value_holes").sql
    dynamic = [f.dynamic for f in FRAGMENTS if f.dynamic]
    assert len(dynamic) == 5
    assert any("after FROM" in reason for reason in dynamic)
    assert any("part of a name" in reason for reason in dynamic)


@pytest.mark.parametrize(
    "needle",
    ["docstring_table", "bytes_table", "logged_table", "refused_table", "example.com"],
)
def test_non_sql_strings_are_not_taken(needle: str) -> None:
    assert not [f for f in FRAGMENTS if needle in f.sql]


@pytest.mark.parametrize(
    "text",
    [
        "Select a file from the list",
        "select the rows from the table you want to export",
        "delete from cache",
        "Update settings from the admin panel.",
        "UPDATE your profile SET up.",
        "with care, select from these",
    ],
)
def test_prose_is_not_a_statement(text: str) -> None:
    assert not looks_like_statement(text)


@pytest.mark.parametrize(
    "text",
    [
        "SELECT id FROM users",
        "  -- list\n  select id, name from users where id = %s",
        "INSERT INTO t (a) VALUES (?)",
        "UPDATE t SET a = 1",
        "WITH x AS (SELECT 1) SELECT * FROM x",
        "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE",
    ],
)
def test_statements_are_recognised(text: str) -> None:
    assert looks_like_statement(text)


def test_syntax_error_is_reported_not_raised() -> None:
    result = sql_in_python("def broken(:\n    pass\n", "bad.py")
    assert result.fragments == ()
    (skip,) = result.skipped
    assert skip.location.path == "bad.py" and skip.location.line == 1
    assert "syntax error" in skip.reason


def test_a_syntax_error_names_the_python_that_read_the_file() -> None:
    """openlibrary requires Python 3.14: its `except A, B:` (PEP 758) and `def f[T]()`
    (PEP 695) are syntax errors to an older interpreter, and 36 of its modules were
    skipped as broken. The reason says which Python read them, and what to do."""
    import sys

    (skip,) = sql_in_python("def broken(:\n    pass\n", "bad.py").skipped
    version = f"Python {sys.version_info.major}.{sys.version_info.minor}"
    assert skip.reason.startswith(f"Python syntax error (read as {version}")
    assert "run dbsafe with the project's Python" in skip.reason


def test_non_ascii_columns_count_characters() -> None:
    source = 'x = "ü"; cur.execute("SELECT ä FROM straße")\n'
    (fragment,) = sql_in_python(source, "u.py").fragments
    assert fragment.position(fragment.sql.index("straße")) == (1, source.index("straße") + 1)


def test_crlf_triple_quoted_string() -> None:
    source = 'Q = """\r\nSELECT a\r\n  FROM crlf_table\r\n"""\r\ncur.execute(Q)\r\n'
    (fragment,) = sql_in_python(source, "c.py").fragments
    assert fragment.position(fragment.sql.index("crlf_table")) == (3, 8)


def test_a_multi_line_literal_of_a_crlf_file_is_read_as_python_reads_it() -> None:
    # friday-bot's cogs are CRLF files: each `\r\n` in a triple-quoted literal is one `\n`
    # to Python, and was read as `\r\n`, so every multi-line statement was "the literal could
    # not be mapped" (a DBS304 note, never checked).
    source = ('async def f(conn, name):\r\n  query = """SELECT id\r\n    FROM reminders\r\n'
              '    WHERE a = $1;"""\r\n  await conn.fetchrow(query, 1)\r\n'
              '  await conn.fetch(f"""SELECT id\r\n    FROM {name}_log""")\r\n')
    first, second = sql_in_python(source, "c.py").fragments
    assert (first.sql, first.dynamic) == ("SELECT id\n    FROM reminders\n    WHERE a = $1", None)
    assert first.position(first.sql.index("reminders")) == (3, 10)
    assert (second.sql, second.dynamic) == ("SELECT id\n    FROM NULL_log",
                                            "`{name}` is part of a name")
    assert second.position(second.sql.index("_log")) == (7, 16)


def test_sink_with_unresolvable_variable_is_skipped() -> None:
    source = "def f(cur, q):\n    cur.execute(q)\n"
    assert sql_in_python(source, "v.py").fragments == ()


def test_reassigned_variable_is_not_resolved() -> None:
    source = "def f(cur, x):\n    q = 'SELECT 1 FROM a'\n    if x:\n        q = 'SELECT 2 FROM b'\n    cur.execute(q)\n"
    # Neither literal is "clearly SQL" on its own in lower-case form... but these are upper:
    sqls = [f.sql for f in sql_in_python(source, "v.py").fragments]
    assert sqls == ["SELECT 1 FROM a", "SELECT 2 FROM b"]


def test_sqlalchemy_escaped_colons_are_read_as_the_server_sees_them() -> None:
    source = (
        "from sqlalchemy import text\n"
        "def f(conn):\n"
        "    conn.execute(text(r'SELECT nope FROM t WHERE :ts\\:\\:date > now()'), {})\n"
        "    conn.execute(text(r'SELECT a FROM t WHERE :ts\\:\\:timestamptz < now()'))\n")
    fragments = sql_in_python(source, "q.py").fragments
    assert [f.sql for f in fragments] == [
        "SELECT nope FROM t WHERE :ts::date > now()",
        "SELECT a FROM t WHERE :ts::timestamptz < now()"]
    # Positions are still the file's: `nope` and the text after the removed backslashes.
    first = fragments[0]
    assert first.location(first.sql.index("nope")).column == source.splitlines()[2].index(
        "nope") + 1
    after = first.sql.index("> now()")
    assert first.location(after).column == source.splitlines()[2].index("> now()") + 1


def test_a_value_hole_after_an_escaped_percent_stays_a_value() -> None:
    source = ("def f(cur, x):\n"
              "    cur.execute(f\"SELECT a FROM t WHERE b LIKE 'x%%' AND id = {x} AND c = %s\", (1,))\n")
    (fragment,) = sql_in_python(source, "q.py").fragments
    assert fragment.dynamic is None
    assert fragment.sql == "SELECT a FROM t WHERE b LIKE 'x%' AND id = NULL AND c = %s"
    assert fragment.location(fragment.sql.index("c = %s")).column == (
        source.splitlines()[1].index("c = %s") + 1)


def test_a_constant_with_format_fields_is_a_template() -> None:
    source = ('ONE = "SELECT a FROM t WHERE id = {id} AND tags = \'{{x}}\'"\n'
              'COLS = "SELECT {cols} FROM t"\n'
              "QUOTED = \"SELECT a FROM t WHERE tags = '{x,y}' AND j @> '{}'\"\n"
              "def f(cur):\n"
              "    cur.execute(sql.SQL(\"SELECT {} FROM t WHERE tags = '{{x}}'\").format(c))\n")
    one, cols, quoted, composed = sql_in_python(source, "q.py").fragments
    # Filled by str.format: the value field is a value, `{{x}}` is the text `{x}`.
    assert (one.sql, one.dynamic) == ("SELECT a FROM t WHERE id = NULL AND tags = '{x}'", None)
    assert one.location(one.sql.index("tags")).column == source.splitlines()[0].index("tags") + 1
    assert cols.dynamic is not None and "{cols}" in cols.dynamic
    # Braces inside SQL quotes only: the statement as written.
    assert (quoted.sql, quoted.dynamic) == ("SELECT a FROM t WHERE tags = '{x,y}' AND j @> '{}'",
                                            None)
    assert composed.dynamic is not None and "{}" in composed.dynamic


def test_a_format_field_is_spelled_as_str_format_spells_one() -> None:
    # A field's name is a Python identifier (any letter first) or digits; a brace then a
    # space opens no field (GraphQL's `{ query: locations {name} }`, nautobot's).
    source = ('ONE = "SELECT a FROM t WHERE id = {ñame} AND b = {0.x[k]!r:>{w}}"\n'
              "def f(cur):\n"
              '    cur.execute("{ query: locations { name } }")\n')
    (one,) = sql_in_python(source, "q.py").fragments  # the GraphQL is no statement at all
    assert (one.sql, one.dynamic) == ("SELECT a FROM t WHERE id = NULL AND b = NULL", None)


def test_statements_a_test_expects_to_fail_are_not_taken() -> None:
    source = ("import pytest\n"
              "def test_unknown_column(cur):\n"
              "    with pytest.raises(UndefinedColumn):\n"
              "        cur.execute('SELECT no_such_column FROM users')\n"
              "    cur.execute('SELECT id FROM users')\n"
              "class T(TestCase):\n"
              "    def test_it(self):\n"
              "        with self.assertRaises(ProgrammingError), open('f'):\n"
              "            query = 'SELECT missing FROM users WHERE id = 1'\n"
              "            self.cur.execute(query)\n")
    assert [f.sql for f in sql_in_python(source, "test_q.py").fragments] == [
        "SELECT id FROM users"]


def test_strings_a_test_asserts_on_are_not_statements_it_sends() -> None:
    source = ('from mylib import parse_query_file\n'
              'def test_parse(cur):\n'
              '    assert parse_query_file("""\n-- query3 --\nINSERT INTO blou VALUES(%(yay)s)\n"""'
              ') == {"query3": "INSERT INTO blou VALUES(%(yay)s)"}\n'
              '    assert cur.execute("SELECT id FROM users").fetchone() == (1,)\n'
              'class T(TestCase):\n'
              '    def test_it(self):\n'
              '        self.assertEqual(split("DELETE FROM nowhere WHERE id = 1"), [])\n'
              '        self.assertEqual(self.cur.execute("SELECT name FROM users"), None)\n'
              '        sql = "UPDATE users SET name = NULL"\n'
              # A query builder's test: the expected output, compared, never sent.
              '        expected_query = normalize("SELECT Id, Name FROM test_table")\n'
              '        expected_sql: str = "SELECT * FROM test_table_string"\n'
              '        assert build() == expected_query\n'
              # ... unless it is sent: then the sink reads it.
              '        expected = "DELETE FROM users WHERE id = 1"\n'
              '        self.cur.execute(expected)\n')
    assert [f.sql for f in sql_in_python(source, "test_q.py").fragments] == [
        "SELECT id FROM users", "SELECT name FROM users", "UPDATE users SET name = NULL",
        "DELETE FROM users WHERE id = 1"]


SQLITE_AND_POSTGRES = '''\
import sqlite3
from aiosqlite import connect as open_cache
from sqlite3 import Connection

import psycopg

CACHE_DDL = "CREATE TABLE IF NOT EXISTS cache (key text PRIMARY KEY, value text)"


def warm(path, pg):
    cache = sqlite3.connect(path)
    cache.execute(CACHE_DDL)
    cur = cache.cursor()
    cur.execute("SELECT key, value FROM cache WHERE key = ?", ("a",))
    cache.executescript("DELETE FROM cache; VACUUM;")
    pg.execute("SELECT id, name FROM users")


def evict(db: Connection, other: "sqlite3.Cursor"):
    db.execute("DELETE FROM cache WHERE key = ?", ("b",))
    other.execute("SELECT count(*) FROM cache")


async def fetch(path):
    async with open_cache(path) as db:
        await db.execute("SELECT value FROM cache WHERE key = 'c'")
    with sqlite3.connect(path) as conn, psycopg.connect("") as pg:
        conn.execute("SELECT 1 FROM cache")
        pg.execute("SELECT id FROM orders")


def either(path, flag):
    conn = sqlite3.connect(path) if flag else psycopg.connect(path)
    conn.execute("SELECT id FROM invoices")
'''


def test_sql_sent_to_sqlite_is_skipped_and_said_so() -> None:
    """A repository that also keeps a SQLite cache: those statements name tables the
    PostgreSQL schema never has, and would each be a false DBS301."""
    result = sql_in_python(SQLITE_AND_POSTGRES, "cache.py")
    # PostgreSQL's statements, and one whose connection may be either, are still checked.
    assert [f.sql for f in result.fragments] == [
        "SELECT id, name FROM users", "SELECT id FROM orders", "SELECT id FROM invoices"]
    # Each statement at its text (CACHE_DDL's where it is defined, line 7).
    assert [(s.location.line, s.location.column, s.reason) for s in result.skipped] == [
        (line, column, "sent to SQLite, not PostgreSQL")
        for line, column in ((7, 13), (14, 17), (15, 25), (20, 16), (21, 19), (26, 26),
                             (28, 22))]


def test_sql_through_sqlalchemy_or_pandas_to_sqlite_is_skipped() -> None:
    source = '''\
import pandas as pd
from sqlalchemy import create_engine, text

local = create_engine("sqlite:///cache.db")
remote = create_engine(DATABASE_URL)


def report(sqlite_conn):
    with local.connect() as conn:
        conn.execute(text("SELECT key FROM cache_entries"))
    with remote.begin() as conn:
        conn.execute(text("SELECT id FROM users"))
    frame = pd.read_sql("SELECT * FROM cache_entries", local)
    other = pd.read_sql_query("SELECT id FROM orders", con=remote)
'''
    result = sql_in_python(source, "report.py")
    assert [f.sql for f in result.fragments] == ["SELECT id FROM users", "SELECT id FROM orders"]
    assert [(s.location.line, s.location.column) for s in result.skipped] == [(10, 27), (13, 25)]


def test_a_sqlite_connection_closed_by_contextlib_is_still_sqlite() -> None:
    """openlibrary's open_syllabus_project.py: `with closing(sqlite3.connect(db)) as conn`
    reads a SQLite file; `closing()` and `nullcontext()` hand back the connection itself."""
    source = '''\
import contextlib
import sqlite3
from contextlib import closing


def total(db_file, olid, pg):
    with closing(sqlite3.connect(db_file)) as conn:
        cursor = conn.cursor()
        cursor.execute("SELECT total FROM data WHERE olid = ?", (olid,))
    with contextlib.nullcontext(sqlite3.connect(db_file)) as other:
        other.execute("SELECT total FROM data")
    with closing(pg.cursor()) as cur:
        cur.execute("SELECT id FROM users")
'''
    result = sql_in_python(source, "osp.py")
    assert [f.sql for f in result.fragments] == ["SELECT id FROM users"]
    assert [(s.location.line, s.reason) for s in result.skipped] == [
        (9, "sent to SQLite, not PostgreSQL"), (11, "sent to SQLite, not PostgreSQL")]


def test_a_name_formatted_or_extended_at_the_sink_is_read_with_its_holes() -> None:
    """synapse: `sql = "... coalesce(old.%s, 0) ..."` sent as `sql % ("unread_count",)`
    twice; the `%s` is a hole in a name, not a placeholder (read as one, the resolver
    failed on `old.$1`). And `sql + " JOIN ..."`: the literal alone is not the statement
    (`stream_ordering` comes from the joined table)."""
    source = ('def f(txn, rotate):\n'
              '    sql = "SELECT coalesce(old.%s, 0) FROM summary AS old WHERE ? < old.pos"\n'
              '    txn.execute(sql % ("unread_count",), (rotate,))\n'
              '    txn.execute(sql % ("notif_count",), (rotate,))\n'
              'def g(txn, room):\n'
              '    sql = "SELECT room_id, stream_ordering FROM rooms"\n'
              '    txn.execute(sql + " JOIN events USING (room_id) WHERE room_id = %s", (room,))\n'
              'TEMP = "_temp_rooms"\n'
              'def h(txn):\n'
              '    txn.execute("SELECT count(*) FROM " + TEMP + "_rooms")\n')
    formatted, extended, piece = sql_in_python(source, "q.py").fragments
    assert formatted.dynamic == "`%s` is part of a name"
    # A name bound to a piece of a statement is still a hole: the table is made at run time.
    assert piece.dynamic == "`TEMP` is part of a name"
    assert (extended.sql, extended.dynamic) == (
        "SELECT room_id, stream_ordering FROM rooms JOIN events USING (room_id) "
        "WHERE room_id = %s", None)
    # Positions stay the file's, in both literals.
    lines = source.splitlines()
    assert extended.location(extended.sql.index("stream_ordering")).line == 6
    assert extended.location(extended.sql.index("JOIN")).column == lines[6].index("JOIN") + 1


def test_a_statement_extended_later_is_read_with_its_rest_as_a_hole() -> None:
    """`sql += " JOIN ..."` after `sql = "SELECT ..."`: the literal alone is not what is
    sent (read alone, `stream_ordering`, a column of the joined `events`, was DBS302 on
    `rooms`)."""
    source = ('def f(txn, joined):\n'
              '    sql = "SELECT room_id, stream_ordering FROM rooms"\n'
              '    if joined:\n'
              '        sql += " JOIN events USING (room_id)"\n'
              '    txn.execute(sql)\n'
              'def g(txn):\n'
              '    sql = "SELECT room_id FROM rooms WHERE creator = %s"\n'
              '    sql = sql + " LIMIT 1"\n'
              '    txn.execute(sql, ("@a:b",))\n')
    augmented, extended = sql_in_python(source, "q.py").fragments
    assert augmented.dynamic == '`sql += " JOIN events USING (room_id)"` is part of a name'
    # After WHERE, what is added cannot bring a table into scope: the start is checked.
    assert extended.dynamic is None
    assert extended.sql.rstrip() == "SELECT room_id FROM rooms WHERE creator = %s"


@pytest.mark.parametrize(("start", "checked"), [
    ("SELECT a FROM t WHERE b = ?", True),
    ("SELECT a FROM t WHERE b = %s ORDER BY a", True),
    ("SELECT a FROM t LIMIT 10", True),
    ("UPDATE t SET a = 1 WHERE b = 2", True),
    ("SELECT a FROM t WHERE b = 'x' /* then more */", True),
    ("SELECT a FROM t", False),  # a JOIN may follow
    ("SELECT a FROM t WHERE b = 1 UNION SELECT a FROM u", False),
    ("SELECT a FROM t WHERE b = 1 AND", False),
    ("SELECT a FROM t ORDER BY", False),
    ("UPDATE t SET a = 1", False),
    ("SELECT a FROM t WHERE b IN (SELECT c FROM u WHERE d = 1", False),
])
def test_text_added_at_the_end_leaves_the_start_checked_once_its_tables_are_given(
        start: str, checked: bool) -> None:
    source = ('def f(txn, extra):\n'
              f'    sql = {start!r}\n'
              '    sql += extra\n'
              '    txn.execute(sql)\n')
    (fragment,) = sql_in_python(source, "q.py").fragments
    assert (fragment.dynamic is None) is checked, fragment.dynamic
    if checked:  # as written, without the comment at its end
        assert fragment.sql.rstrip() == start.split(" /*")[0]


@pytest.mark.parametrize(("additions", "checked"), [
    # openlibrary's ratings.py: a clause added at the end, in an `if` or not
    (["' WHERE created >= $since'"], True),
    (["' WHERE created >= $since'", "' group by work_id order by cnt desc limit $limit'"],
     True),
    (["' ORDER BY id'"], True),
    (["' WHERE a > 1'", "' AND b < 2'"], True),
    (['f" WHERE a = {n}"'], True),  # an f-string starting with its clause
    # what may bring a table into scope, or may come first without its clause
    (["' JOIN u ON u.id = t.id'"], False),
    (["' WHERE a > 1'", "' JOIN u ON u.id = t.id'"], False),
    (["', u'"], False),
    (["'WHERE a > 1'"], False),  # glued to the table's name
    (["' AS x WHERE x.a = 1'"], False),
    (['f"{clause}"'], False),
    (["clause"], False),
])
def test_known_clauses_added_at_the_end_leave_the_start_checked(
        additions: list[str], checked: bool) -> None:
    added = "".join(f"    if extra:\n        sql += {code}\n" for code in additions)
    source = ('def f(txn, extra, n, clause):\n'
              '    sql = "SELECT a FROM t"\n'
              f'{added}'
              '    txn.execute(sql)\n')
    (fragment,) = sql_in_python(source, "q.py").fragments
    assert (fragment.dynamic is None) is checked, fragment.dynamic
    if checked:
        assert fragment.sql.rstrip() == "SELECT a FROM t"


_WHERE_OR_NOTHING = {
    # openlibrary's bookshelves.py
    "if_expression": ('    where = "WHERE bookshelf_id IN $ids" if ids else ""\n'
                      '    sql = f"SELECT * FROM t {where} ORDER BY a DESC LIMIT $limit"\n'),
    # critiquebrainz's moderation_log.py and comment.py
    "format_keyword": ('    where_clause = str()\n'
                       '    if ids:\n'
                       '        where_clause = "WHERE " + " AND ".join(ids)\n'
                       '    sql = """SELECT count(*) FROM t {where_clause} GROUP BY a""".format(\n'
                       '        where_clause=where_clause)\n'),
    "format_positional": ("    cond = ''\n"
                          "    if ids:\n"
                          "        cond = 'WHERE {}'.format(' AND '.join(ids))\n"
                          "    sql = 'SELECT a FROM t {} ORDER BY a'.format(cond)\n"),
    "concatenated": ('    extra = f" AND b IN ({ids})" if ids else ""\n'
                     '    sql = "SELECT a FROM t WHERE c = 1 " + extra + " LIMIT 5"\n'),
    # inside a CTE (Outline's recursive CTE, in JavaScript): it brings no table there either
    "in_a_cte": ('    where = "WHERE b IN $ids" if ids else ""\n'
                 '    sql = f"WITH x AS (SELECT a FROM t {where}) SELECT a FROM x"\n'),
    # right after a value's hole, which ends its operand as a literal would
    "after_a_value": ('    where = "AND b IN $ids" if ids else ""\n'
                      '    sql = f"SELECT a FROM t WHERE c = {len(ids)} {where} ORDER BY a"\n'),
}


@pytest.mark.parametrize("name", _WHERE_OR_NOTHING)
def test_a_piece_that_is_a_clause_or_nothing_leaves_the_rest_checked(name: str) -> None:
    source = f"def f(db, ids):\n{_WHERE_OR_NOTHING[name]}    db.execute(sql)\n"
    (fragment,) = sql_in_python(source, "q.py").fragments
    assert fragment.dynamic is None
    assert " ".join(fragment.sql.split()) in (
        "SELECT * FROM t ORDER BY a DESC LIMIT $limit", "SELECT count(*) FROM t GROUP BY a",
        "SELECT a FROM t ORDER BY a", "SELECT a FROM t WHERE c = 1 LIMIT 5",
        "WITH x AS (SELECT a FROM t ) SELECT a FROM x",
        "SELECT a FROM t WHERE c = NULL ORDER BY a")


@pytest.mark.parametrize("pieces", [
    # bound once to what may bring a table into scope
    '    where = "WHERE a = 1" if ids else " AND ".join(ids)\n'
    '    sql = f"SELECT a FROM t {where} ORDER BY a"\n',
    '    where = "JOIN u ON u.id = t.id" if ids else ""\n'
    '    sql = f"SELECT a FROM t {where} ORDER BY a"\n',
    # a parameter: anything
    '    sql = f"SELECT a FROM t {ids} ORDER BY a"\n',
    # glued to the table's name, or where a table goes
    '    where = "WHERE a = 1" if ids else ""\n'
    '    sql = f"SELECT a FROM t{where} ORDER BY a"\n',
    '    where = "WHERE a = 1" if ids else ""\n'
    '    sql = f"SELECT a FROM {where} ORDER BY a"\n',
])
def test_a_piece_that_may_be_more_than_a_clause_keeps_the_note(pieces: str) -> None:
    source = f"def f(db, ids):\n{pieces}    db.execute(sql)\n"
    (fragment,) = sql_in_python(source, "q.py").fragments
    assert fragment.dynamic is not None


def test_a_statement_built_into_a_longer_one_is_not_read_alone() -> None:
    """listenbrainz's feedback.py: `query_msid` reads the CTE `rf` that `query_base`
    defines; what is sent is `query_base + query_remaining` (read alone, `rf` was DBS301)."""
    source = ('def get(conn, msids, mbids):\n'
              '    query_base = "WITH rf AS (SELECT recording_msid, score FROM feedback) "\n'
              '    query_msid = "SELECT COALESCE(rf.score, 0) FROM unnest(:ids) AS recording_msid"'
              ' " LEFT JOIN rf USING (recording_msid)"\n'
              '    query_mbid = "SELECT COALESCE(rf.score, 0) FROM unnest(:ids) AS recording_mbid"'
              ' " LEFT JOIN rf USING (recording_mbid)"\n'
              '    if msids and mbids:\n'
              '        query_remaining = query_msid + " UNION " + query_mbid\n'
              '    else:\n'
              '        query_remaining = query_msid\n'
              '    query = query_base + query_remaining\n'
              '    conn.execute(text(query), {"ids": msids})\n'
              'def send(txn):\n'
              '    sql_update = "UPDATE delayed_events SET is_processed = TRUE"\n'
              '    txn.execute(f"WITH sent AS ({sql_update} RETURNING *) SELECT * FROM sent")\n')
    sent, cte = sql_in_python(source, "q.py").fragments
    assert sent.sql.startswith("WITH rf AS")
    assert sent.dynamic == "`query_remaining` is not in a value position (after ))"
    # `sql_update` is only a piece of the statement sent, not a statement of its own.
    assert cte.dynamic == "`{sql_update}` is not in a value position (after ()"


CLICKHOUSE_AND_POSTGRES = '''\
import clickhouse_connect
from clickhouse_connect import get_async_client
from clickhouse_connect.driver.client import Client

import psycopg


async def count_rows(limit, pg):
    client = await get_async_client(host="clickhouse")
    query = """
    SELECT * FROM otel_2.otel_traces
    WHERE mapContains(SpanAttributes, 'session.id')
    LIMIT {limit}
    """
    query = query.format(limit=limit)
    result = await client.query(query)
    tables = clickhouse_connect.get_client().query("SELECT name FROM system.tables")
    pg.execute("SELECT id, name FROM users")
    return result, tables


def usage(client: Client, project_ids):
    return client.command("SELECT count() FROM otel_2.otel_traces WHERE project_id IN %(p)s",
                          {"p": project_ids})


def shared(client: Client, path):
    sql = "SELECT id FROM invoices"
    client.query(sql)
    with psycopg.connect(path) as conn:
        conn.execute(sql)
        conn.execute("SELECT id FROM orders")


def unknown(warehouse, get_client):
    warehouse.query("SELECT id FROM payments")
    other = get_client()
    other.query("SELECT id FROM refunds")


def named(clickhouse_client, get_async_clickhouse):
    clickhouse_client.query("SELECT id FROM payments")
    other = get_async_clickhouse()
    other.query("SELECT id FROM refunds")
'''


def test_sql_sent_to_clickhouse_is_skipped_and_said_so() -> None:
    """AgentOps' API sends ClickHouse its spans (`otel_2.otel_traces`, `system.tables`)
    through clickhouse-connect beside its PostgreSQL: with SQLite's rules, named."""
    result = sql_in_python(CLICKHOUSE_AND_POSTGRES, "spans.py")
    # PostgreSQL's statements, one also sent to PostgreSQL, and clients whose origin
    # neither the module nor their name shows (a fixture, a factory of another module) are
    # still checked.
    assert [f.sql for f in result.fragments] == [
        "SELECT id, name FROM users", "SELECT id FROM invoices", "SELECT id FROM orders",
        "SELECT id FROM payments", "SELECT id FROM refunds"]
    assert [f.line for f in result.fragments][-2:] == [36, 38]
    # The statement text a name holds, formatted in place, is the one sent; a fixture or a
    # factory named after the engine is its client.
    assert [(s.location.line, s.location.column, s.reason) for s in result.skipped] == [
        (10, 13, "sent to ClickHouse, not PostgreSQL"),
        (17, 52, "sent to ClickHouse, not PostgreSQL"),
        (23, 27, "sent to ClickHouse, not PostgreSQL"),
        (29, 18, "sent to ClickHouse, not PostgreSQL"),
        (42, 29, "sent to ClickHouse, not PostgreSQL"),
        (44, 17, "sent to ClickHouse, not PostgreSQL")]


def test_a_string_formatted_on_a_name_saying_clickhouse_sends_no_argument() -> None:
    """`format` fills in a ClickHouse client's statement (openreplay's `cur.format(query=...)`),
    and is a string's too: on a name that only says the engine, its argument is no
    statement sent there, while the statement a client fills in is."""
    result = sql_in_python('''\
from chalicelib.utils import ch_client

CLICKHOUSE_COUNT = "SELECT count(*) FROM {}"


def count(table):
    return CLICKHOUSE_COUNT.format("events")


def issue():
    with ch_client.ClickHouseClient() as cur:
        return cur.execute(cur.format("SELECT * FROM product_analytics.events", {}))
''', "counts.py")
    assert [(s.location.line, s.reason) for s in result.skipped] == [
        (12, "sent to ClickHouse, not PostgreSQL")]


def test_sql_sent_to_other_engines_is_skipped_with_the_engine_named() -> None:
    source = '''\
import duckdb
import mysql.connector
import pandas as pd
import pymysql
import snowflake.connector
from google.cloud import bigquery
from pyspark.sql import SparkSession
from sqlalchemy import create_engine, text

warehouse = create_engine("mysql+pymysql://u@h/db")
lake = create_engine("duckdb:///lake.db")
main = create_engine(DATABASE_URL)
clicks = create_engine("clickhouse+native://h/db")


def run(pg, path):
    duckdb.sql("SELECT * FROM 'events.parquet'")
    con = duckdb.connect(path)
    con.execute("SELECT count(*) FROM lake_events")
    with pymysql.connect(host="h") as my:
        with my.cursor() as cur:
            cur.execute("SELECT id FROM wp_posts")
    cnx = mysql.connector.connect(user="u")
    cnx.cursor().execute("SELECT id FROM wp_users")
    sf = snowflake.connector.connect(user="u")
    sf.cursor().execute("SELECT id FROM raw.events")
    bigquery.Client().query("SELECT id FROM `proj.ds.events`")
    spark = SparkSession.builder.appName("x").getOrCreate()
    spark.sql("SELECT id FROM spark_listens")
    with warehouse.connect() as conn:
        conn.execute(text("SELECT id FROM wp_comments"))
    pd.read_sql("SELECT id FROM lake_orders", lake)
    pd.read_sql("SELECT id FROM click_orders", con=clicks)
    pd.read_sql("SELECT id FROM users", main)
    with main.begin() as conn:
        conn.execute(text("SELECT id FROM orders"))
    pg.execute("SELECT id FROM invoices")
    either = duckdb.connect(path) if path else pg
    either.execute("SELECT id FROM payments")
    pg.query("SELECT id FROM refunds")


def annotated(db: "duckdb.DuckDBPyConnection", session: SparkSession | None):
    db.execute("SELECT id FROM lake_refunds")
    session.sql("SELECT id FROM spark_refunds")
'''
    result = sql_in_python(source, "etl.py")
    assert [f.sql for f in result.fragments] == [
        "SELECT id FROM users", "SELECT id FROM orders", "SELECT id FROM invoices",
        "SELECT id FROM payments", "SELECT id FROM refunds"]
    assert [(s.location.line, s.reason.split(",")[0]) for s in result.skipped] == [
        (17, "sent to DuckDB"), (19, "sent to DuckDB"), (22, "sent to MySQL"),
        (24, "sent to MySQL"), (26, "sent to Snowflake"), (27, "sent to BigQuery"),
        (29, "sent to Spark"), (31, "sent to MySQL"), (32, "sent to DuckDB"),
        (33, "sent to ClickHouse"), (44, "sent to DuckDB"), (45, "sent to Spark")]


def test_a_statement_a_name_holds_is_skipped_where_it_only_goes_to_sqlite() -> None:
    """synapse's contrib/graph/graph2.py: `sql` is assigned two statements, one extended
    (`sql += " ORDER BY ..."`), each sent to a SQLite connection (and logged); the sink's
    argument is the name, not a literal bound once."""
    source = '''\
import sqlite3


def make_graph(db_name, room_id, limit, pg):
    conn = sqlite3.connect(db_name)
    sql = "SELECT room_version FROM rooms WHERE room_id = ?"
    c = conn.execute(sql, (room_id,))
    sql = "SELECT json FROM event_json AS j WHERE j.room_id = ?"
    if limit:
        sql += " LIMIT ?"
    c = conn.execute(sql, (room_id, limit))
    log.debug(f"graph of {room_id}: {sql}")
    query = "SELECT id FROM events WHERE room_id = ?"
    conn.execute(query, (room_id,))
    pg.execute(query.replace("?", "%s"), (room_id,))
'''
    result = sql_in_python(source, "graph2.py")
    # `query` is read elsewhere (given to PostgreSQL, rewritten): it stays checked.
    assert [f.sql for f in result.fragments] == ["SELECT id FROM events WHERE room_id = ?"]
    assert [(s.location.line, s.location.column) for s in result.skipped] == [
        (6, 11), (8, 11), (14, 18)]
