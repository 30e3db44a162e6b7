"""DBS310: a Realtime subscription to a table (or an event) `supabase_realtime` does not
publish never receives a change. PostgreSQL is the judge: `pg_publication_tables` lists
what the publication carries, `pg_publication` which operations."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from dbsafe.extract.javascript import sql_in_javascript
from dbsafe.extract.python import sql_in_python
from dbsafe.schema.introspect import introspect
from dbsafe.schema.model import SchemaSnapshot, replace
from dbsafe.validate.postgrest import check
from tests.helpers import module_database

pytestmark = pytest.mark.db

PREAMBLE = ("import { createClient } from '@supabase/supabase-js';\n"
            "const supabase = createClient(url, key);\n")
PY_PREAMBLE = ("from realtime import RealtimePostgresChangesListenEvent as Event\n"
               "from supabase import acreate_client\n")
SCHEMA = """
CREATE TABLE public.messages (id bigint PRIMARY KEY, room_id bigint);
CREATE TABLE public.rooms (id bigint PRIMARY KEY);
CREATE TABLE public.events (id bigint, at date) PARTITION BY RANGE (at);
CREATE TABLE public.events_2026 PARTITION OF public.events
    FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE TABLE public.logs (id bigint PRIMARY KEY);
CREATE TABLE public.logs_archive () INHERITS (public.logs);
CREATE VIEW public.room_names AS SELECT id FROM public.rooms;
CREATE PUBLICATION supabase_realtime FOR TABLE public.messages, public.events, public.logs
    WITH (publish = 'insert, update');
"""

# (table, event): the subscriptions checked, each against what PostgreSQL publishes.
SUBSCRIPTIONS = [
    ("messages", "INSERT"),
    ("messages", "*"),
    ("messages", "DELETE"),  # published, but not its deletes
    ("rooms", "INSERT"),  # not published
    ("room_names", "*"),  # a view: nothing to publish
    ("events_2026", "INSERT"),  # a partition of a published table
    ("logs_archive", "UPDATE"),  # inherits from a published table
]


@pytest.fixture(scope="module")
def database(pg_server) -> Iterator[psycopg.Connection]:
    with module_database(pg_server, "dbsafe_realtime_tests", SCHEMA) as conn:
        yield conn


@pytest.fixture(scope="module")
def snapshot(database: psycopg.Connection) -> SchemaSnapshot:
    return introspect(database)


def _findings(snapshot: SchemaSnapshot, table: str, event: str,
              language: str = "javascript") -> list:
    if language == "javascript":
        source = (PREAMBLE + "supabase.channel('c').on('postgres_changes', "
                  f"{{ event: '{event}', schema: 'public', table: '{table}' }}, f)\n")
        requests = sql_in_javascript(source, "app.ts").requests
    else:  # supabase-py: the async client's channel, realtime-py's event names
        source = (PY_PREAMBLE + "async def listen(url, key):\n"
                  "    client = await acreate_client(url, key)\n"
                  "    channel = client.channel('c')\n"
                  f"    await channel.on_postgres_changes({_py_event(event)}, print, "
                  f"table='{table}').subscribe()\n")
        requests = sql_in_python(source, "app.py").requests
    assert len(requests) == 1
    return [i.finding for request in requests for i in check(request, snapshot).issues]


def _py_event(event: str) -> str:
    # One spelling as a string, the others as realtime-py's enum members.
    members = {"*": "Event.All", "DELETE": "Event.Delete", "UPDATE": "Event.Update"}
    return members.get(event, f"'{event}'")


def _receives(database: psycopg.Connection, table: str, event: str) -> bool:
    published = database.execute(
        "SELECT EXISTS (SELECT FROM pg_publication_tables WHERE pubname = 'supabase_realtime' "
        "AND schemaname = 'public' AND tablename = %s)", (table,)).fetchone()
    operations = database.execute(
        "SELECT pubinsert, pubupdate, pubdelete FROM pg_publication "
        "WHERE pubname = 'supabase_realtime'").fetchone()
    assert published is not None and operations is not None
    if event == "*":
        return bool(published[0])
    return bool(published[0]) and dict(zip(("INSERT", "UPDATE", "DELETE"), operations,
                                            strict=True))[event]


@pytest.mark.parametrize("language", ["javascript", "python"])
@pytest.mark.parametrize(("table", "event"), SUBSCRIPTIONS,
                         ids=[f"{t}-{e}" for t, e in SUBSCRIPTIONS])
def test_a_subscription_is_flagged_where_postgresql_publishes_nothing_for_it(
        table: str, event: str, language: str, snapshot: SchemaSnapshot,
        database: psycopg.Connection) -> None:
    findings = _findings(snapshot, table, event, language)
    if _receives(database, table, event):
        assert findings == []
    else:
        (finding,) = findings
        assert finding.code == "DBS310"
        assert "supabase_realtime" in finding.message and finding.help


@pytest.mark.parametrize("language", ["javascript", "python"])
def test_a_schema_without_the_publication_says_nothing(snapshot: SchemaSnapshot,
                                                       language: str) -> None:
    # Supabase creates supabase_realtime itself: migrations replayed elsewhere lack it.
    assert _findings(replace(snapshot, publications=()), "rooms", "INSERT", language) == []


def test_a_python_subscription_is_flagged_at_its_table(snapshot: SchemaSnapshot) -> None:
    (finding,) = _findings(snapshot, "rooms", "INSERT", "python")
    assert finding.code == "DBS310"
    assert finding.location is not None
    # Line 6: `    await channel.on_postgres_changes('INSERT', print, table='rooms')...`
    assert (finding.location.line, finding.location.column) == (6, 63)


def test_a_publication_of_the_whole_schema_publishes_the_table(
        snapshot: SchemaSnapshot, database: psycopg.Connection) -> None:
    if database.info.server_version < 150000:
        pytest.skip("FOR TABLES IN SCHEMA came in PostgreSQL 15")
    database.execute("CREATE PUBLICATION whole FOR TABLES IN SCHEMA public")
    try:
        whole = introspect(database)
    finally:
        database.execute("DROP PUBLICATION whole")
    realtime = replace(next(p for p in whole.publications if p.name == "whole"),
                       name="supabase_realtime")
    assert _findings(replace(whole, publications=(realtime,)), "rooms", "INSERT") == []
