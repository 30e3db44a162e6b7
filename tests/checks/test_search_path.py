"""DBS520 against what PostgreSQL 18 does: an object is flagged exactly when the maintenance
(or restore) it names fails, and the check reads without writing (a pg_read_all_data role)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from dbsafe.checks import run_checks
from dbsafe.config import load_settings
from tests.checks.test_checks import FIXTURES, apply_fixture, read_fixture

pytestmark = pytest.mark.db

READER = "dbsafe_check_dbs520_reader"


@pytest.fixture
def as_reader(conninfo: str) -> Iterator[str]:
    """`conninfo` as a role with pg_read_all_data's rights and no others, dropped after the
    test: roles are the server's, and one left reading everything was listed by other
    tests' checks (DBS518 names the roles a view lets read a table's rows)."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("DO $$ BEGIN CREATE ROLE {} LOGIN PASSWORD 'reader-pw'; "
                             "EXCEPTION WHEN duplicate_object THEN NULL; END $$")
                     .format(sql.Identifier(READER)))
        conn.execute(sql.SQL("GRANT pg_read_all_data TO {}").format(sql.Identifier(READER)))
    params = conninfo_to_dict(conninfo)
    params.update(user=READER, password="reader-pw")
    try:
        yield make_conninfo(**params)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(READER)))


def _fails(conn: psycopg.Connection, statement: sql.Composable) -> bool:
    try:
        with conn.transaction():
            conn.execute(statement)
            raise _RolledBack
    except _RolledBack:
        return False
    except psycopg.Error as exc:
        assert exc.sqlstate in ("42883", "42P01", "42704"), exc
        return True


class _RolledBack(Exception):
    pass


def test_flagged_exactly_where_maintenance_or_a_restore_fails(conninfo: str, as_reader: str,
                                                             tmp_path: Path) -> None:
    for name in ("DBS520.bad.sql", "DBS520.good.sql", "DBS520.dynamic.good.sql"):
        apply_fixture(conninfo, read_fixture(FIXTURES / name))
    findings = run_checks(as_reader, only=["DBS520"],
                          settings=load_settings(tmp_path, environ={}))
    assert {f.code for f in findings} == {"DBS520"}, findings
    flagged = {f.subject for f in findings}
    assert flagged == read_fixture(FIXTURES / "DBS520.bad.sql").expected

    outcomes: dict[str, bool] = {}
    with psycopg.connect(conninfo, autocommit=True) as conn:
        indexes = conn.execute(
            "SELECT format('%s.%s', n.nspname, c.relname), c.oid::regclass::text "
            "FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid "
            "JOIN pg_namespace AS n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relname LIKE 'dbs520%'").fetchall()
        for subject, name in indexes:
            outcomes[subject] = _fails(conn, sql.SQL("REINDEX INDEX {}").format(sql.SQL(name)))
        for (subject,) in conn.execute("SELECT format('public.%s', matviewname) FROM pg_matviews "
                                       "WHERE matviewname LIKE 'dbs520%'").fetchall():
            outcomes[subject] = _fails(conn, sql.SQL("REFRESH MATERIALIZED VIEW {}")
                                       .format(sql.SQL(subject)))
        # a restore's COPY computes a generated column and checks a CHECK constraint under
        # pg_dump's empty search_path: an INSERT of a row again under it does the same
        for table, subject in (("dbs520_generated", "public.dbs520_generated.doubled"),
                               ("dbs520_good_generated", "public.dbs520_good_generated.doubled"),
                               ("dbs520_checked",
                                "public.dbs520_checked.dbs520_checked_id_check"),
                               ("dbs520_good_checked",
                                "public.dbs520_good_checked.dbs520_good_checked_id_check")):
            outcomes[subject] = _fails(conn, sql.SQL(
                "SET LOCAL search_path = ''; INSERT INTO public.{t} (id) "
                "SELECT id FROM public.{t} LIMIT 1").format(t=sql.Identifier(table)))
    assert len(outcomes) > len(flagged)  # clean objects were tried too
    assert {subject for subject, failed in outcomes.items() if failed} == flagged


def test_the_fix_it_advises_clears_the_finding_and_the_failure(conninfo: str,
                                                               tmp_path: Path) -> None:
    apply_fixture(conninfo, read_fixture(FIXTURES / "DBS520.bad.sql"))
    settings = load_settings(tmp_path, environ={})
    (finding,) = [f for f in run_checks(conninfo, only=["DBS520"], settings=settings)
                  if f.subject == "public.dbs520_unq_table"]
    assert finding.help is not None
    fix = finding.help.split("`")[1]
    assert fix == ("ALTER FUNCTION public.dbs520_reads_unq(integer) SET search_path = "
                   "public, pg_temp;")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        assert _fails(conn, sql.SQL("REINDEX INDEX public.dbs520_unq_table"))
        conn.execute(fix)
        assert not _fails(conn, sql.SQL("REINDEX INDEX public.dbs520_unq_table"))
    assert "public.dbs520_unq_table" not in {
        f.subject for f in run_checks(conninfo, only=["DBS520"], settings=settings)}
