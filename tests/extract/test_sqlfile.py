"""split_sql: statement boundaries and exact positions in the original file."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from dbsafe.extract.sqlfile import split_sql, statement_bounds

FIXTURE = Path(__file__).parent / "fixtures" / "statements.sql"
TEXT = FIXTURE.read_text(encoding="utf-8")


def _truth(needle: str) -> tuple[int, int]:
    """(line, column) of the first occurrence of `needle` in the fixture."""
    offset = TEXT.index(needle)
    line = TEXT.count("\n", 0, offset) + 1
    return line, offset - (TEXT.rfind("\n", 0, offset) + 1) + 1


def _fragments():
    return split_sql(TEXT, "statements.sql")


def test_statements_are_split_at_top_level_semicolons_only() -> None:
    starts = [f.sql.split(None, 3)[:3] for f in _fragments()]
    assert starts == [
        ["SELECT", "id,", "'it''s;"],
        ["SELECT", "E'back\\\\slash\\';", "still"],
        ["SELECT", '"weird;name"', "FROM"],
        ["CREATE", "FUNCTION", "add_one(i"],
        ["CREATE", "FUNCTION", "tagged()"],
        ["CREATE", "OR", "REPLACE"],
        ["COPY", "shipments", "FROM"],
        ["UPDATE", "products", "SET"],
    ]


def test_begin_atomic_body_is_one_statement() -> None:
    body = _fragments()[5].sql
    assert body.endswith("DELETE FROM carts;\nEND")


def test_copy_data_and_meta_commands_are_not_sql() -> None:
    sqls = [f.sql for f in _fragments()]
    assert not any("ON_ERROR_STOP" in s or "1\ta;b" in s for s in sqls)
    assert sqls[-1].endswith("(SELECT id FROM categories)")  # no trailing `;` needed


@pytest.mark.parametrize(
    "needle", ["quote_col FROM orders", "customers", '"line_items"', "DELETE FROM carts", "categories", "price * 1.1"]
)
def test_identifier_positions_map_to_the_original_file(needle: str) -> None:
    for fragment in _fragments():
        offset = fragment.sql.find(needle)
        if offset >= 0:
            location = fragment.location(offset, offset + len(needle) - 1)
            assert (location.line, location.column) == _truth(needle)
            assert location.end_column == location.column + len(needle) - 1
            return
    pytest.fail(f"{needle!r} not found in any fragment")


def test_every_character_maps_to_itself() -> None:
    lines = TEXT.split("\n")
    for fragment in _fragments():
        for offset, char in enumerate(fragment.sql):
            line, column = fragment.position(offset)
            assert (lines[line - 1] + "\n")[column - 1] == char


def test_comment_only_and_empty_input_give_nothing() -> None:
    assert split_sql("-- only;\n/* c; */ ;; \n", "x.sql") == []
    assert split_sql("", "x.sql") == []


def test_unterminated_string_keeps_the_rest_as_one_statement() -> None:
    assert [f.sql for f in split_sql("SELECT 'a; SELECT 2", "x.sql")] == ["SELECT 'a; SELECT 2"]


def test_case_inside_begin_atomic_does_not_close_the_body() -> None:
    text = "CREATE PROCEDURE p() BEGIN ATOMIC SELECT CASE WHEN 1 THEN 2 END; SELECT 3; END; SELECT 4"
    assert [f.sql[-8:] for f in split_sql(text, "x.sql")] == ["ECT 3; END"[-8:], "SELECT 4"]


def test_parenthesised_semicolon_is_not_a_separator() -> None:
    assert len(split_sql("SELECT (1;2); SELECT 3", "x.sql")) == 2


def test_dollar_sign_in_identifier_and_parameter_is_not_a_quote() -> None:
    text = "SELECT a$b, $1 FROM t; SELECT 2"
    assert [f.sql for f in split_sql(text, "x.sql")] == ["SELECT a$b, $1 FROM t", "SELECT 2"]


# -- jumping over plain text gives the same statements as reading every character ------------

_PIECES = (
    "select ", "SELECT ", "update t set a = ", "x", "1", "e", "E", "ä", "a$b", "$", "$$", "$q$",
    "$1", "'", "''", "'it''s'", "E'x\\'y'", "e'", "\\", "\\'", '"', '"a;b"', "--", "-- c\n",
    "/*", "*/", "/* x; */", ";", "(", ")", "-", "/", " ", "  ", "\t", "\n", "\r\n",
    "\n\\set x 1\n", "\n  \\gset\n", "create ", "or ", "replace ", "function ", "procedure ",
    "f() ", "begin ", "atomic ", "end", "case ", "copy ", "t ", "from ", "stdin", "\n\\.\n",
    "a,b", ".", "::", "=", "returns int language sql ",
)


def _bounds_both_ways(text: str) -> tuple[list, list]:
    return list(statement_bounds(text)), list(statement_bounds(text, skip_plain=False))


def test_plain_text_skipping_splits_random_scripts_as_reading_each_character() -> None:
    rng = random.Random(20261202)
    for _ in range(20_000):
        text = "".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 60)))
        skipped, read = _bounds_both_ways(text)
        assert skipped == read, text


def test_plain_text_skipping_splits_every_script_of_the_repository_the_same() -> None:
    root = Path(__file__).resolve().parents[2]
    scripts = [p for p in root.rglob("*.sql") if ".git" not in p.parts]
    assert len(scripts) > 20
    for path in scripts:
        text = path.read_text(encoding="utf-8", errors="replace")
        skipped, read = _bounds_both_ways(text)
        assert skipped == read, path


def test_psql_literal_variables_become_placeholders_of_the_same_length() -> None:
    # `:'name'` is psql's: it puts the variable there as a quoted literal. Quoted text,
    # comments, casts (`'a'::text`) and `:"name"` (an identifier) are left as they are.
    text = ("SELECT a FROM t WHERE id = :'uid' AND b = ':''no''' -- :'no'\n"
            "  AND c = 'a'::text AND d = :'n2'::int;\nSELECT :\"col\" FROM t;\n")
    first, second = split_sql(text, "v.sql", psql_variables=True)
    assert split_sql(text, "v.sql")[0].sql == text.split(";")[0]  # to be run: as written
    assert first.sql == ("SELECT a FROM t WHERE id = :uid   AND b = ':''no''' -- :'no'\n"
                         "  AND c = 'a'::text AND d = :n2  ::int")
    at = first.sql.index(":n2")
    assert first.location(at) == split_sql(text.replace(":'n2'", "XXXXX"), "v.sql")[0].location(at)
    assert second.sql == 'SELECT :"col" FROM t'
