"""A `CALL` no procedure takes is DBS314, confirmed by PostgreSQL's Parse of it.

`CALL total_of(%s)` of a function (PostgreSQL's 42809, "is not a procedure", or 42725
when it cannot choose between functions) and a `CALL` whose arguments no overload of the
procedure takes, by number, by name or through its OUT arguments (42883), are reported; a `CALL` one overload takes, and one of a name an
extension's function has (its kind unknown), are not. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import validate_module

_SCHEMA = """
CREATE FUNCTION total_of(a int) RETURNS int LANGUAGE sql AS 'SELECT a';
CREATE PROCEDURE archive(a int, b int DEFAULT 0) LANGUAGE sql AS 'SELECT 1';
CREATE PROCEDURE close_day(day int, OUT closed int) LANGUAGE plpgsql
    AS 'BEGIN closed := day; END';
CREATE FUNCTION pick(a int, b text) RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE FUNCTION pick(a text, b int) RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE EXTENSION pg_trgm;
"""

_APP = '''\
def jobs(cur, day):
    cur.execute("CALL total_of(%s)", (day,))
    cur.execute("CALL archive(%s, 2, 3)", (day,))
    cur.execute("CALL archive(c => %s)", (day,))
    cur.execute("CALL close_day(%s)", (day,))
    cur.execute("CALL archive(%s, b => 2)", (day,))
    cur.execute("CALL close_day(%s, NULL)", (day,))
    cur.execute("CALL set_limit(0.5)")
    cur.execute("CALL pick(NULL, NULL)")
'''


@pytest.mark.db
def test_a_call_no_procedure_takes_is_confirmed(database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _SCHEMA, "jobs.py", _APP)
    # Each confirmed: PostgreSQL's error (its SQLSTATE first) points at the procedure's name.
    found = [(f.code, f.location.line, f.subject, dict(f.context).get("PostgreSQL", "")[:5])
             for f in report.findings if f.location]
    assert found == [("DBS314", 2, "total_of", "42809"), ("DBS314", 3, "archive", "42883"),
                     ("DBS314", 4, "archive", "42883"), ("DBS314", 5, "close_day", "42883"),
                     # two functions fit, PostgreSQL cannot choose: "is not unique"
                     ("DBS314", 9, "pick", "42725")]
    messages = [f.message for f in report.findings]
    assert messages[0] == ("no procedure `total_of` in any schema: CALL calls procedures "
                           "only, and `total_of` is a function")
    assert messages[1:3] == ["no procedure `archive` in any schema takes 3 arguments",
                             "no procedure `archive` in any schema takes 1 argument (c =>)"]
    assert "public.close_day(day integer, OUT closed integer)" in report.findings[3].help


@pytest.mark.db
def test_a_call_of_a_builtin_function_sqlglot_cannot_read_is_judged(database_url: str,
                                                                    tmp_path: Path) -> None:
    """`CALL lower()`: sqlglot reads no `lower()` (its Lower needs an argument), which left
    the statement unparsable; PostgreSQL's parser reads it, and PostgreSQL refuses it (42883
    `procedure lower() does not exist`), so the procedure is checked as any CALL's is. A
    misspelt column among such a CALL's arguments stays unread (not analysed), and text
    PostgreSQL's grammar rejects stays unparsable."""
    app = ('def jobs(cur):\n'
           '    cur.execute("CALL lower()")\n'
           '    cur.execute("CALL archive(1)")\n'
           '    cur.execute("CALL lower(")\n')
    report = validate_module(database_url, tmp_path, _SCHEMA, "calls.py", app)
    found = [(f.code, f.location.line, f.subject, dict(f.context).get("PostgreSQL", "")[:5])
             for f in report.findings if f.location]
    assert found == [("DBS314", 2, "lower", "42883")]
    assert report.summary["statements_unparsed"] == 1
