"""The stand-ins for extensions the embedded PostgreSQL lacks (pgcrypto, uuid-ossp, pg_net,
pg_cron, pgmq), on dbsafe's throwaway servers: they create, keep the real functions' signatures, and a history
that uses them builds its schema."""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
import pytest

from dbsafe.pg.throwaway import throwaway_server

pytestmark = pytest.mark.db

# The functions of pgcrypto 1.3 and uuid-ossp 1.1 as PostgreSQL's own scripts create them:
# name(identity arguments) result, volatility.
PGCRYPTO = {
    "armor(bytea) text i", "armor(bytea, text[], text[]) text i", "crypt(text, text) text i",
    "dearmor(text) bytea i", "decrypt(bytea, bytea, text) bytea i",
    "decrypt_iv(bytea, bytea, bytea, text) bytea i", "digest(bytea, text) bytea i",
    "digest(text, text) bytea i", "encrypt(bytea, bytea, text) bytea i",
    "encrypt_iv(bytea, bytea, bytea, text) bytea i", "gen_random_bytes(integer) bytea v",
    "gen_random_uuid() uuid v", "gen_salt(text) text v", "gen_salt(text, integer) text v",
    "hmac(bytea, bytea, text) bytea i", "hmac(text, text, text) bytea i",
    "pgp_armor_headers(text, OUT key text, OUT value text) SETOF record i",
    "pgp_key_id(bytea) text i", "pgp_pub_decrypt(bytea, bytea) text i",
    "pgp_pub_decrypt(bytea, bytea, text) text i", "pgp_pub_decrypt(bytea, bytea, text, text) text i",
    "pgp_pub_decrypt_bytea(bytea, bytea) bytea i",
    "pgp_pub_decrypt_bytea(bytea, bytea, text) bytea i",
    "pgp_pub_decrypt_bytea(bytea, bytea, text, text) bytea i",
    "pgp_pub_encrypt(text, bytea) bytea v", "pgp_pub_encrypt(text, bytea, text) bytea v",
    "pgp_pub_encrypt_bytea(bytea, bytea) bytea v",
    "pgp_pub_encrypt_bytea(bytea, bytea, text) bytea v", "pgp_sym_decrypt(bytea, text) text i",
    "pgp_sym_decrypt(bytea, text, text) text i", "pgp_sym_decrypt_bytea(bytea, text) bytea i",
    "pgp_sym_decrypt_bytea(bytea, text, text) bytea i", "pgp_sym_encrypt(text, text) bytea v",
    "pgp_sym_encrypt(text, text, text) bytea v", "pgp_sym_encrypt_bytea(bytea, text) bytea v",
    "pgp_sym_encrypt_bytea(bytea, text, text) bytea v",
    "fips_mode() boolean v",  # pgcrypto 1.4 (PostgreSQL 18)
}
UUID_OSSP = {
    "uuid_generate_v1() uuid v", "uuid_generate_v1mc() uuid v",
    "uuid_generate_v3(namespace uuid, name text) uuid i", "uuid_generate_v4() uuid v",
    "uuid_generate_v5(namespace uuid, name text) uuid i", "uuid_nil() uuid i",
    "uuid_ns_dns() uuid i", "uuid_ns_oid() uuid i", "uuid_ns_url() uuid i",
    "uuid_ns_x500() uuid i",
}
# pg_net 0.19's and pg_cron 1.6's, as their install scripts create them.
PG_NET = {
    "_await_response(request_id bigint) boolean v",
    "_encode_url_with_params_array(url text, params_array text[]) text i",
    "_http_collect_response(request_id bigint, async boolean DEFAULT true) "
    "net.http_response_result v",
    "_urlencode_string(string character varying) text i", "check_worker_is_up() void v",
    "http_collect_response(request_id bigint, async boolean DEFAULT true) "
    "net.http_response_result v",
    "http_delete(url text, params jsonb DEFAULT '{}'::jsonb, headers jsonb DEFAULT "
    "'{}'::jsonb, timeout_milliseconds integer DEFAULT 5000, body jsonb DEFAULT NULL::jsonb) "
    "bigint v",
    "http_get(url text, params jsonb DEFAULT '{}'::jsonb, headers jsonb DEFAULT '{}'::jsonb, "
    "timeout_milliseconds integer DEFAULT 5000) bigint v",
    "http_post(url text, body jsonb DEFAULT '{}'::jsonb, params jsonb DEFAULT '{}'::jsonb, "
    "headers jsonb DEFAULT '{\"Content-Type\": \"application/json\"}'::jsonb, "
    "timeout_milliseconds integer DEFAULT 5000) bigint v",
    "wait_until_running() void v", "wake() void v", "worker_restart() boolean v",
}
PG_CRON = {
    "alter_job(job_id bigint, schedule text DEFAULT NULL::text, command text DEFAULT "
    "NULL::text, database text DEFAULT NULL::text, username text DEFAULT NULL::text, "
    "active boolean DEFAULT NULL::boolean) void v",
    "job_cache_invalidate() trigger v", "schedule(job_name text, schedule text, command text) "
    "bigint v", "schedule(schedule text, command text) bigint v",
    "schedule_in_database(job_name text, schedule text, command text, database text, "
    "username text DEFAULT NULL::text, active boolean DEFAULT true) bigint v",
    "unschedule(job_id bigint) boolean v", "unschedule(job_name text) boolean v",
}
_FUNCTIONS_OF = """
SELECT p.proname || '(' || pg_get_function_arguments(p.oid) || ') '
       || pg_get_function_result(p.oid) || ' ' || p.provolatile::text
FROM pg_proc AS p JOIN pg_depend AS d ON d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension AS e ON e.oid = d.refobjid WHERE e.extname = %s
"""


@pytest.fixture(scope="module")
def throwaway() -> psycopg.Connection:
    with throwaway_server(database="dbsafe") as server, \
            psycopg.connect(server.conninfo("dbsafe"), autocommit=True) as conn:
        if conn.info.server_version < 180000:
            pytest.skip("extension_control_path came in PostgreSQL 18")
        conn.execute('CREATE SCHEMA extensions; CREATE EXTENSION "uuid-ossp" WITH SCHEMA '
                     "extensions; CREATE EXTENSION pgcrypto; "
                     # As Supabase's docs and its dashboard create them.
                     "CREATE EXTENSION pg_net WITH SCHEMA extensions; "
                     "CREATE EXTENSION pg_cron WITH SCHEMA pg_catalog; "
                     # As pgflow's first migration creates it.
                     "CREATE SCHEMA IF NOT EXISTS pgmq; "
                     "CREATE EXTENSION IF NOT EXISTS pgmq WITH SCHEMA pgmq")
        yield conn


@pytest.mark.parametrize(("extension", "functions"),
                         [("pgcrypto", PGCRYPTO), ("uuid-ossp", UUID_OSSP),
                          ("pg_net", PG_NET), ("pg_cron", PG_CRON)])
def test_a_stand_in_has_the_real_extensions_functions(
        throwaway: psycopg.Connection, extension: str, functions: set[str]) -> None:
    found = {row[0] for row in throwaway.execute(_FUNCTIONS_OF, (extension,))}
    assert found == functions


def test_stand_ins_carry_the_versions_of_postgresql_18(throwaway: psycopg.Connection) -> None:
    versions = dict(throwaway.execute("SELECT extname, extversion FROM pg_extension").fetchall())
    assert (versions["pgcrypto"], versions["uuid-ossp"]) == ("1.4", "1.1")


def test_stand_in_values_keep_their_shape_and_round_trip(throwaway: psycopg.Connection) -> None:
    name = "python.org"
    v3, v5, v4 = throwaway.execute(
        "SELECT extensions.uuid_generate_v3(extensions.uuid_ns_dns(), %s), "
        "extensions.uuid_generate_v5(extensions.uuid_ns_dns(), %s), "
        "extensions.uuid_generate_v4()", (name, name)).fetchone()
    assert v3 == uuid.uuid3(uuid.NAMESPACE_DNS, name)  # the real algorithm
    assert (v5.version, v4.version) == (5, 4)
    hashed, same, other, sizes, text = throwaway.execute(
        "WITH h AS (SELECT crypt('secret', gen_salt('bf')) AS hash) "
        "SELECT hash, crypt('secret', hash) = hash, crypt('guess', hash) = hash, "
        "ARRAY[length(digest('a', 'sha1')), length(digest('a', 'md5')), "
        "      length(gen_random_bytes(40)), length(hmac('a', 'k', 'sha256'))], "
        "pgp_sym_decrypt(pgp_sym_encrypt('hello', 'k'), 'k') FROM h").fetchone()
    assert hashed.startswith("$bf$") and same and not other
    assert sizes == [20, 16, 40, 32] and text == "hello"


def test_jobs_and_requests_are_recorded_as_the_real_extensions_record_them(
        throwaway: psycopg.Connection) -> None:
    jobs = throwaway.execute(
        "SELECT cron.schedule('nightly', '0 3 * * *', 'SELECT 1'), "
        "cron.schedule('nightly', '0 4 * * *', 'SELECT 2'), "
        "cron.schedule('* * * * *', 'SELECT 3')").fetchone()
    assert jobs[0] == jobs[1] != jobs[2]  # a name scheduled again is rescheduled
    assert throwaway.execute("SELECT schedule, command FROM cron.job WHERE jobname = "
                             "'nightly'").fetchall() == [("0 4 * * *", "SELECT 2")]
    assert throwaway.execute("SELECT cron.unschedule('nightly')").fetchone() == (True,)
    with pytest.raises(psycopg.errors.RaiseException, match="could not find valid entry"):
        throwaway.execute("SELECT cron.unschedule('nightly')")
    ids = throwaway.execute(
        "SELECT net.http_post('https://example.com/hook', '{\"a\": 1}'::jsonb), "
        "net.http_get('https://example.com'), "
        "net.http_delete(url := 'https://example.com/x')").fetchone()
    assert len(set(ids)) == 3
    assert throwaway.execute("SELECT (net._http_collect_response(%s)).status",
                             (ids[0],)).fetchone() == ("PENDING",)


def test_pgmq_queues_work_and_their_tables_are_read_with_their_columns(
        throwaway: psycopg.Connection) -> None:
    """pgmq 1.5.1's own script (Supabase Queues), its queue tables left out of the
    extension: dbsafe reads them as tables of the `pgmq` schema, which is marked a stand-in
    (queues made at run time are unknown to validate, never missing)."""
    from dbsafe.schema.introspect import introspect

    throwaway.execute("SELECT pgmq.create('jobs'), pgmq.create_unlogged('fast'), "
                      "pgmq.create('gone')")
    first, second = (row[0] for row in throwaway.execute(
        "SELECT * FROM pgmq.send_batch('jobs', ARRAY['{\"n\": 1}', '{\"n\": 2}']::jsonb[])"))
    assert throwaway.execute("SELECT msg_id, read_ct, message, headers "
                             "FROM pgmq.read('jobs', 30, 1)").fetchall() == [
        (first, 1, {"n": 1}, None)]
    assert throwaway.execute("SELECT msg_id FROM pgmq.read_with_poll('jobs', 30, 5, 1, 10)"
                             ).fetchall() == [(second,)]
    assert throwaway.execute("SELECT msg_id FROM pgmq.set_vt('jobs', %s, 0)",
                             (first,)).fetchall() == [(first,)]
    assert throwaway.execute("SELECT pgmq.archive('jobs', %s::bigint), "
                             "pgmq.delete('jobs', %s::bigint)", (first, second)).fetchone() == (
        True, True)
    assert throwaway.execute("SELECT queue_length, total_messages FROM pgmq.metrics('jobs')"
                             ).fetchone() == (0, 2)
    assert throwaway.execute("SELECT msg_id FROM pgmq.a_jobs").fetchall() == [(first,)]
    assert throwaway.execute("SELECT pgmq.drop_queue('gone')").fetchone() == (True,)

    snapshot = introspect(throwaway)
    queue = snapshot.relation("pgmq", "q_jobs")
    assert queue is not None
    assert [c.name for c in queue.columns] == [
        "msg_id", "read_ct", "enqueued_at", "vt", "message", "headers"]
    assert {r.name for r in snapshot.relations if r.schema == "pgmq"} == {
        "q_jobs", "a_jobs", "q_fast", "a_fast"}
    assert "pgmq" in snapshot.stand_in_schemas()
    pgmq = next(e for e in snapshot.extensions if e.name == "pgmq")
    assert (pgmq.version, pgmq.relations) == ("1.5.1", ("meta",))


def test_a_history_that_creates_them_builds_its_schema(tmp_path: Path) -> None:
    from dbsafe.migrate.runner import AlembicProject
    from dbsafe.migrate.throwaway import migrated_database
    from dbsafe.schema.introspect import introspect_url
    from tests.migrate.projects import write_project

    ini = write_project(tmp_path, "well_behaved")
    versions = tmp_path / "migrations" / "versions"
    for old in versions.iterdir():
        old.unlink()
    (versions / "0001_tokens.py").write_text('''"""tokens"""
from alembic import op

revision = "0001"
down_revision = None


def upgrade():
    op.execute('CREATE EXTENSION IF NOT EXISTS "uuid-ossp"')
    op.execute("CREATE EXTENSION IF NOT EXISTS pgcrypto")
    op.execute("CREATE TABLE tokens (id uuid DEFAULT uuid_generate_v4() PRIMARY KEY, "
               "secret text DEFAULT encode(gen_random_bytes(16), 'hex'), "
               "digest bytea GENERATED ALWAYS AS (digest(id::text, 'sha256')) STORED)")
    op.execute("INSERT INTO tokens DEFAULT VALUES")


def downgrade():
    op.execute("DROP TABLE tokens")
''')
    with migrated_database(AlembicProject(ini)) as url:
        snapshot = introspect_url(url)
    tokens = snapshot.relation("public", "tokens")
    assert tokens is not None
    assert [c.name for c in tokens.columns] == ["id", "secret", "digest"]
    assert {e.name for e in snapshot.extensions} >= {"uuid-ossp", "pgcrypto"}
