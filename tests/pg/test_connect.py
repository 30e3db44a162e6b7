"""`dbsafe.pg.connect`: the one way dbsafe opens a connection to a database a user named."""

from __future__ import annotations

import pytest

from dbsafe.core import DatabaseError
from dbsafe.pg.connect import connect, connection_params, libpq_settings, target_url

SECRET = "s3cr3t-Pa55"


@pytest.mark.db
def test_a_sqlalchemy_url_connects_with_dbsafe_defaults(database_url: str) -> None:
    url = database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    with connect(url) as conn:
        assert conn.autocommit
        assert conn.execute("SHOW application_name").fetchone() == ("dbsafe",)
        assert conn.info.get_parameters().get("connect_timeout") == "10"
    with connect(database_url, autocommit=False, application_name="dbsafe lock") as conn:
        assert not conn.autocommit
        assert conn.execute("SHOW application_name").fetchone() == ("dbsafe lock",)


@pytest.mark.db
def test_what_the_url_sets_wins_over_the_defaults(database_url: str) -> None:
    separator = "&" if "?" in database_url else "?"
    url = f"{database_url}{separator}application_name=nightly&connect_timeout=3"
    with connect(url) as conn:
        assert conn.execute("SHOW application_name").fetchone() == ("nightly",)
        assert conn.info.get_parameters().get("connect_timeout") == "3"


@pytest.mark.db
@pytest.mark.parametrize("schema", ["billing", "Sales 2024"])
def test_prisma_s_database_url_connects_in_its_schema(database_url: str, schema: str) -> None:
    # prisma users hand dbsafe their DATABASE_URL: `?schema=` is the schema prisma's
    # connection works in, `connection_limit` and `pgbouncer` its pool's; libpq refused all
    # three ("invalid URI query parameter").
    from urllib.parse import quote

    with connect(database_url) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{database_url}&schema={quote(schema)}&connection_limit=5&pgbouncer=true"
    with connect(url) as conn:
        assert conn.execute("SELECT current_schema()").fetchone() == (schema,)


@pytest.mark.parametrize("url", [
    f"postgresql://app:{SECRET}@127.0.0.1:1/shop?connect_timeout=2",
    f"postgresql+asyncpg://app:{SECRET}@127.0.0.1:1/shop?connect_timeout=2",
    f"postgresql://app:{SECRET}@db/shop?nonsense=1",
    f"host=127.0.0.1 port=1 user=app password={SECRET} connect_timeout=2",
])
def test_a_failed_connection_is_one_line_naming_the_target_without_its_password(
        url: str) -> None:
    with pytest.raises(DatabaseError) as caught:
        connect(url)
    message = str(caught.value)
    assert message.startswith("could not connect to ")
    assert "***" in message and SECRET not in message
    assert "\n" not in message


@pytest.mark.parametrize(("url", "said"), [
    # libpq reads password `pa` for host `Wordz-9x@127.0.0.1`, which does not resolve.
    ("postgresql://app:pa@Wordz-9x@127.0.0.1:1/shop?connect_timeout=2",
     "failed to resolve host '***@127.0.0.1'"),
    # ... password `P`, host `ss`, port `w`, and a database `rd%#x@...` it cannot decode.
    ("postgresql://app:P@ss:w/rd%#x@127.0.0.1:1/shop",
     'invalid percent-encoded token: "***@127.0.0.1:1/shop"'),
])
def test_a_password_libpq_splits_is_not_quoted_in_its_error(url: str, said: str) -> None:
    # Its `@` or `/` not percent-encoded, a password is split where libpq splits a URL, and
    # libpq's (or psycopg's) error quoted the part it read as a host or a database.
    with pytest.raises(DatabaseError) as caught:
        connect(url)
    message = str(caught.value)
    assert said in message, message
    assert "Wordz-9x" not in message and "rd%#x" not in message


def test_a_migration_runner_s_url_parameters_are_told_in_libpq_s_terms() -> None:
    # golang-migrate and dbmate hand `search_path` to lib/pq, which sends it to the server;
    # libpq refuses it (and golang-migrate's own `x-` parameters) before connecting.
    with pytest.raises(DatabaseError) as caught:
        connect(f"postgres://app:{SECRET}@127.0.0.1:1/shop?sslmode=disable&search_path=app"
                "&x-migrations-table=schema_om")
    message = str(caught.value)
    assert 'invalid URI query parameter: "search_path"' in message
    assert message.endswith(
        "; libpq takes lib/pq's `search_path` (golang-migrate's, dbmate's URL) as "
        "`options=-csearch_path%3Dapp`; golang-migrate's `x-` parameters are its own: leave "
        "them out (its `x-migrations-table` is dbsafe's `sql-migrations-history-table`)")
    assert SECRET not in message and "\n" not in message


@pytest.mark.db
def test_the_search_path_libpq_takes_instead_is_the_session_s(database_url: str) -> None:
    with connect(database_url) as conn:
        conn.execute("CREATE SCHEMA app")
    with connect(database_url + "&options=-csearch_path%3Dapp,public") as conn:
        assert conn.execute("SELECT current_schemas(false)::text[]").fetchone() == (
            ["app", "public"],)


def test_an_error_names_the_url_the_user_gave_when_asked() -> None:
    derived = f"host=127.0.0.1 port=1 dbname=postgres password={SECRET} connect_timeout=2"
    with pytest.raises(DatabaseError) as caught:
        connect(derived, shown_as=f"postgresql://app:{SECRET}@127.0.0.1:1/shop")
    message = str(caught.value)
    assert message.startswith("could not connect to postgresql://app:***@127.0.0.1:1/shop: ")
    assert SECRET not in message


def test_libpq_settings_carry_how_a_url_connects_not_where() -> None:
    settings = libpq_settings(
        "postgresql://app:pw@db:6432/shop?sslmode=verify-full&sslrootcert=/etc/ca.pem"
        "&options=-cstatement_timeout%3D5s&target_session_attrs=read-write")
    assert settings == {"PGSSLMODE": "verify-full", "PGSSLROOTCERT": "/etc/ca.pem",
                        "PGOPTIONS": "-cstatement_timeout=5s",
                        "PGTARGETSESSIONATTRS": "read-write"}


def test_target_url_reads_back_as_the_same_target() -> None:
    target = connection_params(
        "postgresql://a%40b:p%2Fw%3F@/my%20db?host=/tmp/sock&port=5433&hostaddr=127.0.0.1")
    assert target["hostaddr"] == "127.0.0.1"
    assert connection_params(target_url(target)) == target


@pytest.mark.parametrize(("url", "said"), [
    (f"mysql://app:{SECRET}@db/shop", "mysql:// is not a PostgreSQL URL"),
    ("/var/run/postgresql",
     "not a URL: a socket folder is given as postgresql:///DATABASE?host=/var/run/postgresql"),
    ("shop", "not a URL: postgresql://USER@HOST/DATABASE, or key=value pairs"),
], ids=["other-scheme", "socket-folder", "a-word"])
def test_what_is_not_a_postgresql_url_is_said_so(url: str, said: str) -> None:
    # libpq's word for each was `missing "=" after "mysql://..." in connection info string`.
    with pytest.raises(DatabaseError) as caught:
        connect(url)
    message = str(caught.value)
    assert said in message, message
    assert "missing" not in message and SECRET not in message
