"""A client of another engine returned by a function another module of the project
defines (`extract.py_clients`).

Tendenci (tendenci/tendenci, 914b2eacb8) makes its Salesforce client in
`tendenci/apps/base/utils.py`'s `get_salesforce_access()`, `Salesforce(...)` or None when
the settings lack credentials; `tendenci/apps/events/utils.py` imports it and sends SOQL
through what it returns (`sf.query("SELECT Id FROM Contact WHERE Email='%s'" % ...)`):
one false DBS301 (`contact`) on its built schema. The same factory read in its own module
was known (task 498); imported (`from x import f`, `import x` then `x.f()`, a relative
import, a package's re-export, a wrapper in a third module), it is known too. A function
returning a PostgreSQL connection (or None), or either engine's client by a setting,
stays PostgreSQL's. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_files

_BASE_UTILS = '''\
from django.conf import settings
from simple_salesforce import Salesforce


def get_salesforce_access():
    required_settings = (hasattr(settings, 'SALESFORCE_USERNAME'),
                         hasattr(settings, 'SALESFORCE_PASSWORD'))
    if all(required_settings):
        try:
            sf = Salesforce(username=settings.SALESFORCE_USERNAME,
                            password=settings.SALESFORCE_PASSWORD)
            return sf
        except:
            print('Salesforce authentication failed')
    return None
'''

_EVENTS_UTILS = '''\
from tendenci.apps.base.utils import get_salesforce_access


def add_sf_attendance(registrant, db):
    sf = get_salesforce_access()
    if sf:
        result = sf.query("SELECT Id FROM Contact WHERE Email='%s'" % registrant.email)
        db.execute("SELECT nickname FROM supporter")
        return result
'''

# The same factory by the other ways a module reaches it.
_OTHER_IMPORTS = '''\
import tendenci.apps.base.utils
from tendenci.apps.base import utils as base_utils
from ..base.utils import get_salesforce_access as access


def by_module():
    return tendenci.apps.base.utils.get_salesforce_access().query(
        "SELECT Id FROM Account")


def by_module_alias():
    return base_utils.get_salesforce_access().query("SELECT Id FROM Lead")


def relative():
    return access().query("SELECT Id FROM Opportunity")
'''

# Another engine's clients, each from a factory of `stats/factories.py` named for no
# engine, re-exported by the package and wrapped in a third module.
_FACTORIES = '''\
import sqlite3

import clickhouse_connect
import duckdb
import MySQLdb
import snowflake.connector
from google.cloud import bigquery
from simple_salesforce import Salesforce
import psycopg


def events_store(host=None):
    if host is None:
        return None
    return clickhouse_connect.get_client(host=host)


def local_file(path):
    return duckdb.connect(path)


def legacy():
    return MySQLdb.connect(host="legacy")


def warehouse():
    conn = snowflake.connector.connect(account="a")
    return conn


def reports():
    return bigquery.Client()


def cache(path):
    return sqlite3.connect(path)


def main_db(url=None):
    if not url:
        return None
    return psycopg.connect(url)


def either(settings):
    if settings.REMOTE:
        return Salesforce(username="u")
    return psycopg.connect(settings.URL)
'''

_PACKAGE = '''\
from .factories import events_store, local_file, legacy, warehouse, reports, cache
'''

_SESSION = '''\
from stats.factories import warehouse


def session():
    return warehouse()
'''

_JOBS = '''\
from stats import events_store, local_file, legacy, reports, cache
from stats.factories import main_db, either
from stats.session import session


def run(settings, db):
    events_store("h").query("SELECT count() FROM events")
    local_file("x").execute("SELECT * FROM read_parquet('e.parquet')")
    legacy().cursor().execute("SELECT id FROM legacy_users")
    session().cursor().execute("SELECT id FROM warehouse_orders")
    reports().query("SELECT id FROM dataset.report_rows")
    cache("c").execute("SELECT key FROM cache_entries")
    main_db(settings.URL).execute("SELECT id FROM local_users")
    either(settings).execute("SELECT id FROM remote_users")
    db.execute("SELECT nickname FROM supporter")
'''


@pytest.mark.db
def test_a_client_a_function_of_another_module_returns_is_that_engines(
        database_url: str, tmp_path: Path) -> None:
    files = {"tendenci/__init__.py": "", "tendenci/apps/__init__.py": "",
             "tendenci/apps/base/__init__.py": "",
             "tendenci/apps/base/utils.py": _BASE_UTILS,
             "tendenci/apps/events/__init__.py": "",
             "tendenci/apps/events/utils.py": _EVENTS_UTILS,
             "tendenci/apps/events/sync.py": _OTHER_IMPORTS,
             "stats/__init__.py": _PACKAGE, "stats/factories.py": _FACTORIES,
             "stats/session.py": _SESSION, "jobs.py": _JOBS}
    report = validate_files(database_url, tmp_path, "CREATE TABLE supporter (name text)", files)
    assert sorted((f.location.path, f.location.line, f.code, f.subject)
                  for f in report.findings if f.location) == [
        ("jobs.py", 13, "DBS301", "public.local_users"),  # psycopg's, or None
        ("jobs.py", 14, "DBS301", "public.remote_users"),  # Salesforce's or psycopg's
        ("jobs.py", 15, "DBS302", "public.supporter.nickname"),
        ("tendenci/apps/events/utils.py", 8, "DBS302", "public.supporter.nickname")]
    assert sorted((s.location.path, s.location.line, s.reason) for s in report.skipped) == [
        ("jobs.py", 7, "sent to ClickHouse, not PostgreSQL"),
        ("jobs.py", 8, "sent to DuckDB, not PostgreSQL"),
        ("jobs.py", 9, "sent to MySQL, not PostgreSQL"),
        ("jobs.py", 10, "sent to Snowflake, not PostgreSQL"),
        ("jobs.py", 11, "sent to BigQuery, not PostgreSQL"),
        ("jobs.py", 12, "sent to SQLite, not PostgreSQL"),
        ("tendenci/apps/events/sync.py", 8, "sent to Salesforce, not PostgreSQL"),
        ("tendenci/apps/events/sync.py", 12, "sent to Salesforce, not PostgreSQL"),
        ("tendenci/apps/events/sync.py", 16, "sent to Salesforce, not PostgreSQL"),
        ("tendenci/apps/events/utils.py", 7, "sent to Salesforce, not PostgreSQL")]


@pytest.mark.db
def test_a_cached_run_reads_again_a_caller_of_a_factory_that_now_returns_postgresqls(
        database_url: str, tmp_path: Path) -> None:
    from dbsafe import commands
    from dbsafe.config import load_settings

    root = tmp_path / "project"
    files = {"tendenci/apps/base/utils.py": _BASE_UTILS,
             "tendenci/apps/events/utils.py": _EVENTS_UTILS}
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE supporter (name text)")
    root.mkdir()
    (root / "pyproject.toml").write_text("[tool.dbsafe]\n", encoding="utf-8")
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    settings = load_settings(root, {"database-url": database_url,
                                    "cache-dir": str(tmp_path / "cache")}, environ={})
    first = commands.validate(settings, [root])
    assert [f.location.line for f in first.findings if f.location] == [8]
    (root / "tendenci/apps/base/utils.py").write_text(_BASE_UTILS.replace(
        "Salesforce(username=", "psycopg.connect(user="), encoding="utf-8")
    second = commands.validate(settings, [root])
    # the caller, unchanged, is read again: its query goes to PostgreSQL now
    assert [(f.location.line, f.code, f.subject) for f in second.findings if f.location] == [
        (7, "DBS301", "public.contact"), (8, "DBS302", "public.supporter.nickname")]
