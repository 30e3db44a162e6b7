"""DDL sqlglot refuses is DDL, which validate never checks, not an unparsable statement.

pain-point-studio's `supabase/seed.sql` (and any Supabase project's seed, tests or scripts)
writes `CREATE FUNCTION ... LANGUAGE sql SECURITY DEFINER SET search_path TO '' AS $$...$$`:
sqlglot reads `sql SECURITY DEFINER` as MySQL's `SQL SECURITY DEFINER` and refuses the
statement ("Required keyword: 'this' missing for LanguageProperty"), so it was listed as
unparsed. PostgreSQL's parser reads it as the `CREATE FUNCTION` it is. Real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_files

_SEED = """\
CREATE OR REPLACE FUNCTION public.get_user_id_by_email(lookup_email text)
RETURNS integer
LANGUAGE sql
SECURITY DEFINER
SET search_path TO ''
AS $$
  SELECT id FROM public.items LIMIT 1;
$$;
CREATE FUNCTION public.item_count() RETURNS bigint LANGUAGE sql SECURITY INVOKER STABLE
AS $$ SELECT count(*) FROM public.items $$;
SELECT nope FROM items;
"""


@pytest.mark.db
def test_a_create_function_sqlglot_refuses_is_ignored_not_unparsable(
        database_url: str, tmp_path: Path) -> None:
    report = validate_files(database_url, tmp_path, "CREATE TABLE items (id int)",
                            {"seed/seed.sql": _SEED})
    assert [(f.code, f.location.line) for f in report.findings if f.location] == [
        ("DBS302", 11)]
    assert (report.summary["statements_ignored"], report.summary["statements_unparsed"]) == \
        (2, 0), report.summary
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS items (id int)")
        conn.execute(_SEED.split("SELECT nope")[0])  # both functions: PostgreSQL makes them
