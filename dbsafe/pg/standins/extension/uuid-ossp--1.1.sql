-- dbsafe's stand-in for uuid-ossp 1.1, used only on dbsafe's throwaway servers, whose
-- PostgreSQL is built without it: the same functions with the same signatures and
-- volatility, in SQL. v1 and v1mc are random (v4) UUIDs; v5 hashes with SHA-256, not SHA-1.

\echo Use "CREATE EXTENSION ""uuid-ossp""" to load this file. \quit

CREATE FUNCTION uuid_nil() RETURNS uuid IMMUTABLE STRICT PARALLEL SAFE LANGUAGE sql
AS $$ SELECT '00000000-0000-0000-0000-000000000000'::uuid $$;
CREATE FUNCTION uuid_ns_dns() RETURNS uuid IMMUTABLE STRICT PARALLEL SAFE LANGUAGE sql
AS $$ SELECT '6ba7b810-9dad-11d1-80b4-00c04fd430c8'::uuid $$;
CREATE FUNCTION uuid_ns_url() RETURNS uuid IMMUTABLE STRICT PARALLEL SAFE LANGUAGE sql
AS $$ SELECT '6ba7b811-9dad-11d1-80b4-00c04fd430c8'::uuid $$;
CREATE FUNCTION uuid_ns_oid() RETURNS uuid IMMUTABLE STRICT PARALLEL SAFE LANGUAGE sql
AS $$ SELECT '6ba7b812-9dad-11d1-80b4-00c04fd430c8'::uuid $$;
CREATE FUNCTION uuid_ns_x500() RETURNS uuid IMMUTABLE STRICT PARALLEL SAFE LANGUAGE sql
AS $$ SELECT '6ba7b814-9dad-11d1-80b4-00c04fd430c8'::uuid $$;
CREATE FUNCTION uuid_generate_v1() RETURNS uuid VOLATILE STRICT PARALLEL SAFE LANGUAGE sql
AS $$ SELECT pg_catalog.gen_random_uuid() $$;
CREATE FUNCTION uuid_generate_v1mc() RETURNS uuid VOLATILE STRICT PARALLEL SAFE LANGUAGE sql
AS $$ SELECT pg_catalog.gen_random_uuid() $$;
CREATE FUNCTION uuid_generate_v4() RETURNS uuid VOLATILE STRICT PARALLEL SAFE LANGUAGE sql
AS $$ SELECT pg_catalog.gen_random_uuid() $$;
-- A name-based UUID: the hash of the namespace's bytes and the name, with the version and
-- variant bits set (RFC 9562).
CREATE FUNCTION uuid_generate_v3(namespace uuid, name text) RETURNS uuid
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE sql
AS $$
    SELECT pg_catalog.encode(pg_catalog.set_byte(pg_catalog.set_byte(h, 6,
               (pg_catalog.get_byte(h, 6) & 15) | 48), 8, (pg_catalog.get_byte(h, 8) & 63) | 128),
           'hex')::uuid
    FROM (SELECT pg_catalog.decode(pg_catalog.md5(pg_catalog.uuid_send(namespace)
                 || pg_catalog.convert_to(name, 'UTF8')), 'hex') AS h) AS hashed
$$;
CREATE FUNCTION uuid_generate_v5(namespace uuid, name text) RETURNS uuid
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE sql
AS $$
    SELECT pg_catalog.encode(pg_catalog.set_byte(pg_catalog.set_byte(h, 6,
               (pg_catalog.get_byte(h, 6) & 15) | 80), 8, (pg_catalog.get_byte(h, 8) & 63) | 128),
           'hex')::uuid
    FROM (SELECT pg_catalog.substr(pg_catalog.sha256(pg_catalog.uuid_send(namespace)
                 || pg_catalog.convert_to(name, 'UTF8')), 1, 16) AS h) AS hashed
$$;
