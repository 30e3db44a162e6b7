-- dbsafe's stand-in for pgcrypto 1.4 (PostgreSQL 18): see pgcrypto--1.3.sql.

\echo Use "ALTER EXTENSION pgcrypto UPDATE TO '1.4'" to load this file. \quit

CREATE FUNCTION fips_mode() RETURNS bool VOLATILE STRICT PARALLEL SAFE LANGUAGE sql
AS $$ SELECT false $$;
