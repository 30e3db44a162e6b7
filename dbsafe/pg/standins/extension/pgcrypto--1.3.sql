-- dbsafe's stand-in for pgcrypto 1.3, used only on dbsafe's throwaway servers, whose
-- PostgreSQL is built without it, so that migrations creating and calling it run there.
-- The same functions with the same signatures and volatility, in SQL. NOT CRYPTOGRAPHY:
-- digests are PostgreSQL's own (sha1 is SHA-256 cut to 20 bytes), hmac is a digest of key
-- and data, crypt() is a salted MD5 in the salt's format, and encryption returns the data
-- as it was given (decryption undoes it), so values made on the throwaway keep their shape
-- and round-trip, and mean nothing.

\echo Use "CREATE EXTENSION pgcrypto" to load this file. \quit

-- (Relocatable: a function cannot name a sibling by its schema, so each spells its
-- digest out.)
CREATE FUNCTION digest(bytea, text) RETURNS bytea IMMUTABLE STRICT PARALLEL SAFE LANGUAGE sql
AS $$
    SELECT CASE pg_catalog.lower($2)
        WHEN 'md5' THEN pg_catalog.decode(pg_catalog.md5($1), 'hex')
        WHEN 'sha1' THEN pg_catalog.substr(pg_catalog.sha256($1), 1, 20)
        WHEN 'sha224' THEN pg_catalog.sha224($1)
        WHEN 'sha256' THEN pg_catalog.sha256($1)
        WHEN 'sha384' THEN pg_catalog.sha384($1)
        WHEN 'sha512' THEN pg_catalog.sha512($1)
    END
$$;
CREATE FUNCTION digest(text, text) RETURNS bytea IMMUTABLE STRICT PARALLEL SAFE LANGUAGE sql
AS $$
    SELECT CASE pg_catalog.lower($2)
        WHEN 'md5' THEN pg_catalog.decode(pg_catalog.md5(pg_catalog.convert_to($1, 'UTF8')), 'hex')
        WHEN 'sha1' THEN pg_catalog.substr(pg_catalog.sha256(pg_catalog.convert_to($1, 'UTF8')), 1, 20)
        WHEN 'sha224' THEN pg_catalog.sha224(pg_catalog.convert_to($1, 'UTF8'))
        WHEN 'sha256' THEN pg_catalog.sha256(pg_catalog.convert_to($1, 'UTF8'))
        WHEN 'sha384' THEN pg_catalog.sha384(pg_catalog.convert_to($1, 'UTF8'))
        WHEN 'sha512' THEN pg_catalog.sha512(pg_catalog.convert_to($1, 'UTF8'))
    END
$$;
CREATE FUNCTION hmac(bytea, bytea, text) RETURNS bytea IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE sql AS $$
    SELECT CASE pg_catalog.lower($3)
        WHEN 'md5' THEN pg_catalog.decode(pg_catalog.md5($2 || $1), 'hex')
        WHEN 'sha1' THEN pg_catalog.substr(pg_catalog.sha256($2 || $1), 1, 20)
        WHEN 'sha224' THEN pg_catalog.sha224($2 || $1)
        WHEN 'sha256' THEN pg_catalog.sha256($2 || $1)
        WHEN 'sha384' THEN pg_catalog.sha384($2 || $1)
        WHEN 'sha512' THEN pg_catalog.sha512($2 || $1)
    END
$$;
CREATE FUNCTION hmac(text, text, text) RETURNS bytea IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE sql AS $$
    SELECT CASE pg_catalog.lower($3)
        WHEN 'md5' THEN pg_catalog.decode(pg_catalog.md5(pg_catalog.convert_to($2 || $1, 'UTF8')), 'hex')
        WHEN 'sha1' THEN pg_catalog.substr(pg_catalog.sha256(pg_catalog.convert_to($2 || $1, 'UTF8')), 1, 20)
        WHEN 'sha224' THEN pg_catalog.sha224(pg_catalog.convert_to($2 || $1, 'UTF8'))
        WHEN 'sha256' THEN pg_catalog.sha256(pg_catalog.convert_to($2 || $1, 'UTF8'))
        WHEN 'sha384' THEN pg_catalog.sha384(pg_catalog.convert_to($2 || $1, 'UTF8'))
        WHEN 'sha512' THEN pg_catalog.sha512(pg_catalog.convert_to($2 || $1, 'UTF8'))
    END
$$;
-- crypt(password, salt): the salt's first 29 characters (a bcrypt salt is that long), then
-- an MD5 of them and the password; crypt(password, crypt(password, salt)) gives it again.
CREATE FUNCTION crypt(text, text) RETURNS text IMMUTABLE STRICT PARALLEL SAFE LANGUAGE sql
AS $$ SELECT pg_catalog.left($2, 29) || pg_catalog.md5(pg_catalog.left($2, 29) || $1) $$;
CREATE FUNCTION gen_salt(text) RETURNS text VOLATILE STRICT PARALLEL SAFE LANGUAGE sql
AS $$
    SELECT pg_catalog.rpad('$' || pg_catalog.lower($1) || '$' ||
                           pg_catalog.md5(pg_catalog.random()::text), 29, '0')
$$;
CREATE FUNCTION gen_salt(text, int4) RETURNS text VOLATILE STRICT PARALLEL SAFE LANGUAGE sql
AS $$
    SELECT pg_catalog.rpad('$' || pg_catalog.lower($1) || '$' ||
                           pg_catalog.md5(pg_catalog.random()::text), 29, '0')
$$;
CREATE FUNCTION encrypt(bytea, bytea, text) RETURNS bytea IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE sql AS $$ SELECT $1 $$;
CREATE FUNCTION decrypt(bytea, bytea, text) RETURNS bytea IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE sql AS $$ SELECT $1 $$;
CREATE FUNCTION encrypt_iv(bytea, bytea, bytea, text) RETURNS bytea IMMUTABLE STRICT
PARALLEL SAFE LANGUAGE sql AS $$ SELECT $1 $$;
CREATE FUNCTION decrypt_iv(bytea, bytea, bytea, text) RETURNS bytea IMMUTABLE STRICT
PARALLEL SAFE LANGUAGE sql AS $$ SELECT $1 $$;
CREATE FUNCTION gen_random_bytes(int4) RETURNS bytea VOLATILE STRICT PARALLEL SAFE
LANGUAGE sql
AS $$
    SELECT pg_catalog.substr(pg_catalog.string_agg(pg_catalog.uuid_send(
               pg_catalog.gen_random_uuid()), ''::bytea), 1, $1)
    FROM pg_catalog.generate_series(1, ($1 + 15) / 16)
$$;
CREATE FUNCTION gen_random_uuid() RETURNS uuid VOLATILE PARALLEL SAFE LANGUAGE sql
AS $$ SELECT pg_catalog.gen_random_uuid() $$;
CREATE FUNCTION pgp_sym_encrypt(text, text) RETURNS bytea STRICT PARALLEL SAFE LANGUAGE sql
AS $$ SELECT pg_catalog.convert_to($1, 'UTF8') $$;
CREATE FUNCTION pgp_sym_encrypt_bytea(bytea, text) RETURNS bytea STRICT PARALLEL SAFE
LANGUAGE sql AS $$ SELECT $1 $$;
CREATE FUNCTION pgp_sym_encrypt(text, text, text) RETURNS bytea STRICT PARALLEL SAFE
LANGUAGE sql AS $$ SELECT pg_catalog.convert_to($1, 'UTF8') $$;
CREATE FUNCTION pgp_sym_encrypt_bytea(bytea, text, text) RETURNS bytea STRICT PARALLEL SAFE
LANGUAGE sql AS $$ SELECT $1 $$;
CREATE FUNCTION pgp_sym_decrypt(bytea, text) RETURNS text IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE sql AS $$ SELECT pg_catalog.convert_from($1, 'UTF8') $$;
CREATE FUNCTION pgp_sym_decrypt_bytea(bytea, text) RETURNS bytea IMMUTABLE STRICT
PARALLEL SAFE LANGUAGE sql AS $$ SELECT $1 $$;
CREATE FUNCTION pgp_sym_decrypt(bytea, text, text) RETURNS text IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE sql AS $$ SELECT pg_catalog.convert_from($1, 'UTF8') $$;
CREATE FUNCTION pgp_sym_decrypt_bytea(bytea, text, text) RETURNS bytea IMMUTABLE STRICT
PARALLEL SAFE LANGUAGE sql AS $$ SELECT $1 $$;
CREATE FUNCTION pgp_pub_encrypt(text, bytea) RETURNS bytea STRICT PARALLEL SAFE LANGUAGE sql
AS $$ SELECT pg_catalog.convert_to($1, 'UTF8') $$;
CREATE FUNCTION pgp_pub_encrypt_bytea(bytea, bytea) RETURNS bytea STRICT PARALLEL SAFE
LANGUAGE sql AS $$ SELECT $1 $$;
CREATE FUNCTION pgp_pub_encrypt(text, bytea, text) RETURNS bytea STRICT PARALLEL SAFE
LANGUAGE sql AS $$ SELECT pg_catalog.convert_to($1, 'UTF8') $$;
CREATE FUNCTION pgp_pub_encrypt_bytea(bytea, bytea, text) RETURNS bytea STRICT PARALLEL SAFE
LANGUAGE sql AS $$ SELECT $1 $$;
CREATE FUNCTION pgp_pub_decrypt(bytea, bytea) RETURNS text IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE sql AS $$ SELECT pg_catalog.convert_from($1, 'UTF8') $$;
CREATE FUNCTION pgp_pub_decrypt_bytea(bytea, bytea) RETURNS bytea IMMUTABLE STRICT
PARALLEL SAFE LANGUAGE sql AS $$ SELECT $1 $$;
CREATE FUNCTION pgp_pub_decrypt(bytea, bytea, text) RETURNS text IMMUTABLE STRICT
PARALLEL SAFE LANGUAGE sql AS $$ SELECT pg_catalog.convert_from($1, 'UTF8') $$;
CREATE FUNCTION pgp_pub_decrypt_bytea(bytea, bytea, text) RETURNS bytea IMMUTABLE STRICT
PARALLEL SAFE LANGUAGE sql AS $$ SELECT $1 $$;
CREATE FUNCTION pgp_pub_decrypt(bytea, bytea, text, text) RETURNS text IMMUTABLE STRICT
PARALLEL SAFE LANGUAGE sql AS $$ SELECT pg_catalog.convert_from($1, 'UTF8') $$;
CREATE FUNCTION pgp_pub_decrypt_bytea(bytea, bytea, text, text) RETURNS bytea IMMUTABLE STRICT
PARALLEL SAFE LANGUAGE sql AS $$ SELECT $1 $$;
CREATE FUNCTION pgp_key_id(bytea) RETURNS text IMMUTABLE STRICT PARALLEL SAFE LANGUAGE sql
AS $$ SELECT 'SYMKEY'::text $$;
CREATE FUNCTION armor(bytea) RETURNS text IMMUTABLE STRICT PARALLEL SAFE LANGUAGE sql
AS $$
    SELECT E'-----BEGIN PGP MESSAGE-----\n\n' || pg_catalog.encode($1, 'base64')
           || E'\n-----END PGP MESSAGE-----\n'
$$;
CREATE FUNCTION armor(bytea, text[], text[]) RETURNS text IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE sql
AS $$
    SELECT E'-----BEGIN PGP MESSAGE-----\n\n' || pg_catalog.encode($1, 'base64')
           || E'\n-----END PGP MESSAGE-----\n'
$$;
CREATE FUNCTION dearmor(text) RETURNS bytea IMMUTABLE STRICT PARALLEL SAFE LANGUAGE sql
AS $$
    SELECT pg_catalog.decode(pg_catalog.regexp_replace($1,
               '^.*?\n\n(.*?)\n-----END .*$', '\1', 's'), 'base64')
$$;
CREATE FUNCTION pgp_armor_headers(text, key OUT text, value OUT text) RETURNS SETOF record
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE sql
AS $$ SELECT NULL::text, NULL::text WHERE false $$;
