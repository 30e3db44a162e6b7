"""What a failed or killed run left is removed, and what cannot be removed is said, not hidden."""

from __future__ import annotations

import psycopg
import pytest

from dbsafe.guard.leftovers import remove_leftovers, user_snapshot

pytestmark = pytest.mark.db


def test_leftovers_are_removed_and_a_locked_one_is_named(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (id int)")
    before = user_snapshot(database_url)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE left_a (id int)")
        conn.execute("CREATE TABLE left_b (id int)")
        conn.execute("ALTER TABLE kept ADD COLUMN extra int")

    with psycopg.connect(database_url) as holder:  # another session still reads left_b
        holder.execute("SELECT count(*) FROM left_b")
        removed, kept = remove_leftovers(database_url, before, lock_timeout="200ms")
        holder.rollback()

    assert sorted(removed) == ["column public.kept.extra", "table public.left_a"]
    (reason,) = kept
    assert reason.startswith("table public.left_b (") and "lock timeout" in reason
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT to_regclass('left_b') IS NOT NULL, "
                            "to_regclass('left_a') IS NULL").fetchone() == (True, True)

    assert remove_leftovers(database_url, before) == (["table public.left_b"], [])
    assert remove_leftovers(database_url, before) == ([], [])
