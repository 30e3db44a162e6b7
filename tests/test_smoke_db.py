import psycopg
import pytest


@pytest.mark.db
def test_each_test_gets_a_fresh_database(postgresql: psycopg.Connection, database_url: str) -> None:
    postgresql.execute("CREATE TABLE t (id int)")
    postgresql.commit()
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)
