"""A statement built as a literal and later `sql += "..."` literals is read whole, once
per path, where every piece is a literal (folksonomy_api, openfoodfacts/folksonomy_api
b74cd52, `folksonomy/api.py:817` and `:885`). Real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import validate_module

_DDL = "CREATE TABLE folksonomy (product text, k text, v text, owner text)"

_VALUES = '''\
async def unique_values(db, k, owner, q, limit):
    sql = """
        SELECT json_agg(j.j)::json
        FROM (
            SELECT json_build_object('v', v, 'product_count', count(*)) AS j
            FROM folksonomy
            WHERE owner=%s AND k=%s
    """
    params = [owner, k]
    if q:
        sql += " AND value ILIKE %s"
        params.append(q)
    sql += """
            GROUP BY v
            ORDER BY count(*) DESC
            LIMIT %s
        ) AS j;
    """
    params.append(limit)
    return await db.db_exec(sql, params)


async def by_codes_and_keys(db, owner, codes_list, keys_list):
    sql = """
        SELECT json_agg(j)::json FROM (
            SELECT json_build_object('product', product, 'k', k, 'edtor', edtor) AS j
            FROM folksonomy
            WHERE owner = %s
    """
    params = [owner]
    if codes_list:
        placeholders = ", ".join(["%s"] * len(codes_list))
        sql += f" AND product IN ({placeholders})"
        params.extend(codes_list)
    if keys_list:
        placeholders = ", ".join(["%s"] * len(keys_list))
        sql += f" AND k IN ({placeholders})"
        params.extend(keys_list)
    sql += " ORDER BY product, k) AS j;"
    return await db.db_exec(sql, tuple(params))


async def one_table_or_the_other(db, kind):
    # Two `if`s each bringing the FROM: no run takes neither (nor both), so these paths
    # are not read, and `SELECT v` alone is no finding.
    sql = "SELECT v"
    if kind == "a":
        sql += " FROM folksonomy"
    if kind == "b":
        sql += " FROM folksonomy AS f"
    return await db.db_exec(sql, ())
'''


@pytest.mark.db
def test_a_statement_completed_by_appended_literals_is_read_whole(
        database_url: str, tmp_path: Path) -> None:
    # Before, the first literal was read alone, its `FROM (` unclosed: "unparsed", and the
    # misspelt `value` and `edtor` (42703 on PostgreSQL) went unreported.
    report = validate_module(database_url, tmp_path, _DDL, "api.py", _VALUES)
    assert sorted((f.code, f.location.line, f.subject) for f in report.findings
                  if f.location and f.code != "DBS304") == [
        ("DBS302", 11, "public.folksonomy.value"), ("DBS302", 26, "public.folksonomy.edtor")]
