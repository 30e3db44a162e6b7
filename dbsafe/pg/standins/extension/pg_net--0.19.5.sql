-- dbsafe's stand-in for pg_net 0.19, used only on dbsafe's throwaway servers, whose
-- PostgreSQL is built without it: the `net` schema with the tables, types and functions
-- migrations and applications name, the same signatures, in SQL. No request is ever sent:
-- a request is queued and nothing works the queue, as if the background worker were down.

\echo Use "CREATE EXTENSION pg_net" to load this file. \quit

CREATE SCHEMA IF NOT EXISTS net;
COMMENT ON SCHEMA net IS 'dbsafe stand-in: pg_net''s schema; no request is ever sent';

CREATE DOMAIN net.http_method AS text
    CHECK (VALUE ILIKE 'get' OR VALUE ILIKE 'post' OR VALUE ILIKE 'delete');

CREATE UNLOGGED TABLE net.http_request_queue (
    id bigserial,
    method net.http_method NOT NULL,
    url text NOT NULL,
    headers jsonb,
    body bytea,
    timeout_milliseconds int NOT NULL
);

CREATE UNLOGGED TABLE net._http_response (
    id bigint,
    status_code integer,
    content_type text,
    headers jsonb,
    content text,
    timed_out bool,
    error_msg text,
    created timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX ON net._http_response (created);

CREATE TYPE net.request_status AS ENUM ('PENDING', 'SUCCESS', 'ERROR');
CREATE TYPE net.http_response AS (status_code integer, headers jsonb, body text);
CREATE TYPE net.http_response_result AS (
    status net.request_status,
    message text,
    response net.http_response
);

CREATE FUNCTION net.check_worker_is_up() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the pg_net background worker is not up'
        USING DETAIL = 'this is dbsafe''s stand-in for pg_net: it has no worker';
END $$;
CREATE FUNCTION net.worker_restart() RETURNS bool LANGUAGE sql AS $$ SELECT false $$;
CREATE FUNCTION net.wait_until_running() RETURNS void LANGUAGE sql AS $$ SELECT $$;
CREATE FUNCTION net.wake() RETURNS void LANGUAGE sql AS $$ SELECT $$;

CREATE FUNCTION net._urlencode_string(string varchar) RETURNS text IMMUTABLE LANGUAGE sql
AS $$ SELECT string::text $$;
CREATE FUNCTION net._encode_url_with_params_array(url text, params_array text[]) RETURNS text
IMMUTABLE LANGUAGE sql
AS $$ SELECT url || coalesce('?' || nullif(pg_catalog.array_to_string(params_array, '&'), ''), '') $$;
-- No response ever arrives; the real one waits for it.
CREATE FUNCTION net._await_response(request_id bigint) RETURNS bool
LANGUAGE sql AS $$ SELECT false $$;

CREATE FUNCTION net.http_get(
    url text,
    params jsonb DEFAULT '{}'::jsonb,
    headers jsonb DEFAULT '{}'::jsonb,
    timeout_milliseconds int DEFAULT 5000
) RETURNS bigint LANGUAGE sql AS $$
    INSERT INTO net.http_request_queue (method, url, headers, timeout_milliseconds)
    VALUES ('GET', url, headers, timeout_milliseconds) RETURNING id
$$;

CREATE FUNCTION net.http_post(
    url text,
    body jsonb DEFAULT '{}'::jsonb,
    params jsonb DEFAULT '{}'::jsonb,
    headers jsonb DEFAULT '{"Content-Type": "application/json"}'::jsonb,
    timeout_milliseconds int DEFAULT 5000
) RETURNS bigint LANGUAGE sql AS $$
    INSERT INTO net.http_request_queue (method, url, headers, body, timeout_milliseconds)
    VALUES ('POST', url, headers, pg_catalog.convert_to(body::text, 'UTF8'), timeout_milliseconds)
    RETURNING id
$$;

CREATE FUNCTION net.http_delete(
    url text,
    params jsonb DEFAULT '{}'::jsonb,
    headers jsonb DEFAULT '{}'::jsonb,
    timeout_milliseconds int DEFAULT 5000,
    body jsonb DEFAULT NULL
) RETURNS bigint LANGUAGE sql AS $$
    INSERT INTO net.http_request_queue (method, url, headers, body, timeout_milliseconds)
    VALUES ('DELETE', url, headers, pg_catalog.convert_to(body::text, 'UTF8'),
            timeout_milliseconds)
    RETURNING id
$$;

CREATE FUNCTION net._http_collect_response(request_id bigint, async bool DEFAULT true)
RETURNS net.http_response_result LANGUAGE sql AS $$
    SELECT ROW('PENDING', 'request matching request_id not found', NULL)::net.http_response_result
$$;
CREATE FUNCTION net.http_collect_response(request_id bigint, async bool DEFAULT true)
RETURNS net.http_response_result LANGUAGE sql AS $$
    SELECT net._http_collect_response(request_id, async)
$$;

GRANT USAGE ON SCHEMA net TO PUBLIC;
GRANT ALL ON ALL SEQUENCES IN SCHEMA net TO PUBLIC;
GRANT ALL ON ALL TABLES IN SCHEMA net TO PUBLIC;
