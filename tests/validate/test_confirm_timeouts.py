"""Confirmation's timeouts hold for every candidate of a session, and bad ones are errors.

The timeouts are set once per confirming connection (not in every transaction); these tests
show they still bound each Parse, on a real PostgreSQL with a lock held elsewhere.
"""

from __future__ import annotations

import psycopg
import pytest

from dbsafe.core import DatabaseError
from dbsafe.validate.confirm import confirm

pytestmark = pytest.mark.db


def test_every_candidate_gives_up_at_lock_timeout(conninfo: str, database_url: str) -> None:
    with psycopg.connect(conninfo, autocommit=True) as setup:
        setup.execute("CREATE TABLE locked (id int)")
    with psycopg.connect(conninfo) as holder:
        holder.execute("LOCK TABLE locked IN ACCESS EXCLUSIVE MODE")  # kept until rollback
        verdicts = confirm(database_url, ["SELECT id FROM locked", "SELECT nosuch FROM locked",
                                          "SELECT nosuch FROM missing"],
                           lock_timeout="100ms", statement_timeout="5s")
        holder.rollback()
    # Parse analysis waits for the table's lock: both statements on it give up (55P03, not
    # a finding); the third needs no lock and is judged as usual.
    assert [(v.sqlstate, v.rejected) for v in verdicts] == [
        ("55P03", False), ("55P03", False), ("42P01", True)]


def test_a_bad_timeout_is_an_error(database_url: str) -> None:
    with pytest.raises(DatabaseError, match="invalid lock-timeout or statement-timeout"):
        confirm(database_url, ["SELECT 1"], lock_timeout="soon")
