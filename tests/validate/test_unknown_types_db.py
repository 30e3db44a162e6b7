"""A cast to a type the schema lacks is DBS316, confirmed by PostgreSQL (42704); every
spelling of a built-in type, the schema's own types and relations' row types, an
extension's types and what a failed migration statement may have made are not (task 486,
SoftwareHeritage/swh-vault's `%s::cook_type`, renamed `bundle_type` by a migration)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbsafe import commands
from dbsafe.config import load_settings

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_server_throwaways")]

SCHEMA = """CREATE EXTENSION IF NOT EXISTS citext;
CREATE TYPE bundle_type AS ENUM ('flat', 'gitfast');
CREATE DOMAIN money_amount AS numeric(12, 2);
CREATE TYPE pair AS (a int, b text);
CREATE TYPE span AS RANGE (subtype = int4);
CREATE SCHEMA audit;
CREATE TABLE vault_bundle (id serial PRIMARY KEY, type bundle_type, email citext);
CREATE VIEW bundle_ids AS SELECT id FROM vault_bundle;
CREATE SEQUENCE ticket_seq;
CREATE TYPE b64;
CREATE FUNCTION b64_in(cstring) RETURNS b64 LANGUAGE internal IMMUTABLE STRICT AS 'textin';
CREATE FUNCTION b64_out(b64) RETURNS cstring LANGUAGE internal IMMUTABLE STRICT AS 'textout';
CREATE TYPE b64 (INPUT = b64_in, OUTPUT = b64_out, LIKE = text);
"""

APP = '''def run(cur, kind):
    cur.execute("SELECT id FROM vault_bundle WHERE type = %s::cook_type", (kind,))
    cur.execute("SELECT CAST(%s AS public.amount)", (kind,))
    cur.execute("SELECT ARRAY[]::audit.tag[]")
    cur.execute("SELECT %s::pg_catalog.nosuch", (kind,))
    cur.execute("SELECT %s::serial", (kind,))
    cur.execute("SELECT %s::integer, %s::int4, %s::double precision, %s::character varying(10), "
                "%s::timestamp with time zone, %s::\\"char\\", %s::char(2), %s::bit varying, "
                "interval '1' day to second, %s::regclass, %s::_int4, %s::decimal(3, 1), "
                "date '2024-01-01', %s::json, %s::pg_catalog.text[]", (kind,) * 13)
    cur.execute("SELECT %s::bundle_type, %s::public._bundle_type, %s::money_amount, "
                "ROW(1, 'a')::pair, %s::span, %s::citext, ROW(1, 'flat', 'a')::vault_bundle, "
                "ROW(1)::bundle_ids, ARRAY[]::public.vault_bundle[]", (kind,) * 4)
    cur.execute("SELECT * FROM ticket_seq WHERE (ticket_seq.*)::ticket_seq IS NOT NULL")
    cur.execute("SELECT %s::span_multirange, %s::public.b64, %s::b64[]", (kind,) * 3)
    cur.execute("SELECT %s::information_schema.cardinal_number, %s::elsewhere.t", (kind,) * 2)
'''


def _types_reported(tmp_path: Path, migration: str, app: str = APP, *, confirm: bool = False
                    ) -> list[tuple[int, str, str]]:
    """The DBS316 findings: static ones (PREPARE would drop a false one) unless `confirm`."""
    folder = tmp_path / "db" / "migrations"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "001_init.sql").write_text(migration)
    (tmp_path / "app.py").write_text(app)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'vault'\n")
    report = commands.validate(
        load_settings(tmp_path, {"confirm": confirm}, environ={}), [tmp_path / "app.py"])
    return sorted((f.location.line, f.subject or "",
                   dict(f.context).get("PostgreSQL", "")[:5])
                  for f in report.findings if f.code == "DBS316" and f.location)


def test_casts_to_types_the_schema_lacks_are_reported_and_confirmed(tmp_path: Path) -> None:
    """Each cast PostgreSQL refuses with 42704 is one DBS316, confirmed by PREPARE; the
    built-in spellings, the schema's types, row types, a range's multirange type, a base
    type (in no list of the snapshot: its input function returns it), citext's type, a
    schema the snapshot does not describe (information_schema, one it lacks) are not
    reported."""
    reported = [(2, "cook_type"), (3, "public.amount"), (4, "audit.tag"),
                (5, "pg_catalog.nosuch"), (6, "serial")]
    assert _types_reported(tmp_path, SCHEMA) == [(*r, "") for r in reported]
    assert _types_reported(tmp_path, SCHEMA, confirm=True) == [(*r, "42704") for r in reported]


@pytest.mark.parametrize("migration", [
    # A statement that failed on the throwaway names it (42704 there): it ran in
    # production, which has `cook_type`, made outside the migrations.
    SCHEMA + "CREATE TABLE jobs (kind cook_type);\n",
    # An extension whose types dbsafe does not know (postgis, refused there): any name.
    SCHEMA + "CREATE EXTENSION postgis;\n",
], ids=["named-by-a-failed-statement", "unknown-extension-failed"])
def test_a_type_a_failed_statement_may_have_made_is_not_reported(
        tmp_path: Path, migration: str) -> None:
    app = 'def run(cur, kind):\n    cur.execute("SELECT %s::cook_type", (kind,))\n'
    assert _types_reported(tmp_path, migration, app) == []


def test_a_type_the_files_own_ddl_makes_is_not_reported(tmp_path: Path) -> None:
    app = ('def run(cur, kind):\n'
           '    cur.execute("CREATE TYPE cook_type AS ENUM (\'flat\')")\n'
           '    cur.execute("SELECT %s::cook_type", (kind,))\n'
           '    cur.execute("SELECT %s::other_type", (kind,))\n')
    assert _types_reported(tmp_path, SCHEMA, app, confirm=True) == [(4, "other_type", "42704")]
