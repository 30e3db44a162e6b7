"""`SELECT ... INTO TEMP x` makes `x` for the statements reading it, as `CREATE TEMP TABLE x
AS` does; and every column PostgreSQL refuses in a statement reading a temporary table is
reported, not only the first (task 598). Real PostgreSQL.

Task 569 let PostgreSQL judge a statement reading a temporary table its file makes one way,
after making it in a savepoint rolled back. A table made by `SELECT ... INTO TEMP` was not
taken as made: its readers stayed "not analysed". Now it is sent as the `CREATE TEMPORARY
TABLE x AS SELECT ... WITH NO DATA` PostgreSQL itself turns it into (pglast's tree, deparsed),
with the same one-way rules. And PostgreSQL stops at a statement's first undefined column:
as the confirm step does for the resolver's candidates, the statement is sent again with
that reference replaced by NULL (`confirm.repair`), round after round, until it is accepted
or refuses something else.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import validate_built

_EARLIER = "not analysed: uses what DDL earlier in this file created or changed"
_SCHEMA = "CREATE TABLE users (id int PRIMARY KEY, name text)"

_SCRIPT = """SELECT id, name INTO TEMP picked FROM users WHERE id > 1;
SELECT nosuch FROM picked;
SELECT id, name FROM picked;
SELECT p.id INTO TEMPORARY TABLE chained FROM picked p UNION SELECT id FROM users;
SELECT idd FROM chained;
SELECT id INTO UNLOGGED kept FROM users;
SELECT idd FROM kept;
SELECT id INTO permanent FROM users;
SELECT idd FROM permanent;
"""
_MODULE = '''def load(cur):
    cur.execute("select id into temp table ids from users")
    cur.execute("SELECT i.idd FROM ids i")
'''


@pytest.mark.db
@pytest.mark.usefixtures("one_server_throwaways")
def test_a_table_select_into_temp_makes_is_made_for_its_readers(tmp_path: Path) -> None:
    """`SELECT ... INTO TEMP` (`TEMPORARY TABLE`, a UNION's, one from another such table)
    makes its table, sent as `CREATE TEMPORARY TABLE ... AS ... WITH NO DATA`: a misspelt
    column of it is DBS302, a right one clean. `INTO UNLOGGED` or a plain `INTO` makes a
    permanent table, never made: its readers stay not analysed."""
    report = validate_built(tmp_path, _SCHEMA, {"report.sql": _SCRIPT, "app/load.py": _MODULE})
    assert sorted((f.code, f.location.path, f.location.line, f.location.column,
                   f.location.end_column, f.subject) for f in report.findings) == [
        ("DBS302", "app/load.py", 3, 25, 29, "i.idd"),
        ("DBS302", "report.sql", 2, 8, 13, "nosuch"),
        ("DBS302", "report.sql", 5, 8, 10, "idd"),
    ]
    idd = next(f for f in report.findings if f.location.line == 5)
    assert idd.message == ("no column `idd` in scope: PostgreSQL refuses it after making the "
                           "temporary table `chained` as this file does")
    assert dict(idd.context)["Made first"] == (
        "CREATE TEMPORARY TABLE picked AS SELECT id, name FROM users WHERE id > 1 WITH NO DATA; "
        "CREATE TEMPORARY TABLE chained AS SELECT p.id FROM picked AS p UNION SELECT id "
        "FROM users WITH NO DATA")
    assert [(s.location.path, s.location.line, s.reason) for s in report.skipped] == [
        ("report.sql", 7, _EARLIER), ("report.sql", 9, _EARLIER)]


_SEVERAL = """CREATE TEMP TABLE scratch AS SELECT id, name FROM users;
SELECT nosuch, id, s.namee FROM scratch s WHERE other > 1 ORDER BY id;
SELECT id INTO TEMP twice FROM users;
SELECT idd, name FROM twice JOIN scratch USING (id) WHERE namee = 'x';
INSERT INTO scratch (idd, namee) VALUES (1, 'a');
"""


@pytest.mark.db
@pytest.mark.usefixtures("one_server_throwaways")
def test_every_column_postgresql_refuses_in_a_statement_is_reported(tmp_path: Path) -> None:
    """Each undefined column of a statement reading temporary tables, not only the first:
    the statement goes again with it replaced by NULL. An INSERT's target column is not
    replaced (as in the confirm step): only its first is reported."""
    report = validate_built(tmp_path, _SCHEMA, {"several.sql": _SEVERAL})
    assert [(f.code, f.location.line, f.location.column, f.subject)
            for f in report.findings] == [
        ("DBS302", 2, 8, "nosuch"), ("DBS302", 2, 20, "s.namee"), ("DBS302", 2, 49, "other"),
        ("DBS302", 4, 8, "idd"), ("DBS302", 4, 59, "namee"),
        ("DBS302", 5, 22, "idd"),
    ]
    other = next(f for f in report.findings if f.subject == "other")
    assert dict(other.context)["PostgreSQL"] == '42703: column "other" does not exist'
    assert report.skipped == ()
    assert report.summary["statements_analysed"] == 4  # (and the CREATE, not a query)
