-- dbsafe's stand-in for what the Supabase platform creates before a project's first
-- migration runs, so that `supabase/migrations` replay on a plain PostgreSQL.
--
-- Not Supabase: only names and shapes migrations and applications refer to. Roles, schemas
-- and the `supabase_realtime` publication as supabase/postgres creates them
-- (migrations/schema.sql, init-scripts); `auth.users` with the columns GoTrue gives it
-- today, and `auth.mfa_factors`; `auth.uid()`, `auth.role()`, `auth.email()`, `auth.jwt()`
-- reading the request's JWT claims as Supabase's do; `storage.buckets` and
-- `storage.objects` with storage-api's columns and its `foldername`/`filename`/`extension`
-- helpers; `auth.identities`, `auth.sessions`, `auth.audit_log_entries`;
-- `supabase_functions.http_request()` for database webhooks; Realtime's `realtime.send`,
-- `realtime.topic()` and `realtime.messages`; Vault's `vault.secrets`,
-- `vault.decrypted_secrets` and `vault.create_secret`/`update_secret`. The platform's other
-- tables (auth.refresh_tokens, auth.flow_state, realtime.subscription, ...) are left out:
-- dbsafe treats every relation of these schemas it does not describe as unknown, never
-- as missing.
--
-- Roles belong to the server, not the database: created only where missing.
-- `service_role` and `supabase_read_only_user` are BYPASSRLS on Supabase (supabase/postgres's
-- initial schema): row-level security never holds them back, and DBS510/DBS518/DBS519 read
-- that attribute. Only a superuser may create such a role on PostgreSQL 15, a role that is
-- BYPASSRLS itself too on 16 and later (42501 for any other); that one gets them without it.
DO $$
DECLARE
  name text;
BEGIN
  FOREACH name IN ARRAY ARRAY['anon', 'authenticated', 'service_role', 'authenticator',
      'supabase_admin', 'supabase_auth_admin', 'supabase_storage_admin',
      'supabase_realtime_admin', 'supabase_replication_admin', 'supabase_read_only_user',
      'supabase_functions_admin', 'dashboard_user', 'pgbouncer']
  LOOP
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = name) THEN
      IF name IN ('service_role', 'supabase_read_only_user') THEN
        BEGIN
          EXECUTE format('CREATE ROLE %I NOLOGIN BYPASSRLS', name);
          CONTINUE;
        EXCEPTION WHEN insufficient_privilege THEN
          NULL;
        END;
      END IF;
      EXECUTE format('CREATE ROLE %I NOLOGIN', name);
    END IF;
  END LOOP;
END $$;

CREATE SCHEMA IF NOT EXISTS extensions;
CREATE SCHEMA IF NOT EXISTS auth;
CREATE SCHEMA IF NOT EXISTS storage;
CREATE SCHEMA IF NOT EXISTS realtime;
CREATE SCHEMA IF NOT EXISTS graphql;
CREATE SCHEMA IF NOT EXISTS graphql_public;
CREATE SCHEMA IF NOT EXISTS vault;
-- How validate knows these hold more than this file describes (dbsafe.validate.unknown).
COMMENT ON SCHEMA extensions IS 'dbsafe stand-in: the Supabase platform''s schema, in part';
COMMENT ON SCHEMA auth IS 'dbsafe stand-in: the Supabase platform''s schema, in part';
COMMENT ON SCHEMA storage IS 'dbsafe stand-in: the Supabase platform''s schema, in part';
COMMENT ON SCHEMA realtime IS 'dbsafe stand-in: the Supabase platform''s schema, in part';
COMMENT ON SCHEMA graphql IS 'dbsafe stand-in: the Supabase platform''s schema, in part';
COMMENT ON SCHEMA graphql_public IS 'dbsafe stand-in: the Supabase platform''s schema, in part';
COMMENT ON SCHEMA vault IS 'dbsafe stand-in: the Supabase platform''s schema, in part';

-- Supabase installs these in `extensions`; a server without them goes on without them.
DO $$ BEGIN CREATE EXTENSION IF NOT EXISTS "uuid-ossp" WITH SCHEMA extensions;
EXCEPTION WHEN OTHERS THEN NULL; END $$;
DO $$ BEGIN CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA extensions;
EXCEPTION WHEN OTHERS THEN NULL; END $$;

-- The search path Supabase's `postgres` role has: `extensions` after `public`.
DO $$ BEGIN
  EXECUTE format('ALTER DATABASE %I SET search_path TO "$user", public, extensions',
                 current_database());
END $$;
SET search_path TO "$user", public, extensions;

GRANT USAGE ON SCHEMA public, extensions, graphql_public TO anon, authenticated, service_role;
GRANT USAGE ON SCHEMA auth, storage TO anon, authenticated, service_role;
-- The platform's services own their schemas, as on Supabase (a foreign key to auth.users is
-- checked as the table's owner, which must be able to use `auth`).
GRANT ALL ON SCHEMA auth TO supabase_auth_admin, dashboard_user;
GRANT ALL ON SCHEMA storage TO supabase_storage_admin, dashboard_user;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON FUNCTIONS TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON SEQUENCES TO anon, authenticated, service_role;

CREATE TABLE auth.users (
    instance_id uuid,
    id uuid NOT NULL PRIMARY KEY,
    aud character varying(255),
    role character varying(255),
    email character varying(255),
    encrypted_password character varying(255),
    email_confirmed_at timestamp with time zone,
    invited_at timestamp with time zone,
    confirmation_token character varying(255),
    confirmation_sent_at timestamp with time zone,
    recovery_token character varying(255),
    recovery_sent_at timestamp with time zone,
    email_change_token_new character varying(255),
    email_change character varying(255),
    email_change_sent_at timestamp with time zone,
    last_sign_in_at timestamp with time zone,
    raw_app_meta_data jsonb,
    raw_user_meta_data jsonb,
    is_super_admin boolean,
    created_at timestamp with time zone,
    updated_at timestamp with time zone,
    phone text UNIQUE DEFAULT NULL::character varying,
    phone_confirmed_at timestamp with time zone,
    phone_change text DEFAULT ''::character varying,
    phone_change_token character varying(255) DEFAULT ''::character varying,
    phone_change_sent_at timestamp with time zone,
    confirmed_at timestamp with time zone
        GENERATED ALWAYS AS (LEAST(email_confirmed_at, phone_confirmed_at)) STORED,
    email_change_token_current character varying(255) DEFAULT ''::character varying,
    email_change_confirm_status smallint DEFAULT 0,
    banned_until timestamp with time zone,
    reauthentication_token character varying(255) DEFAULT ''::character varying,
    reauthentication_sent_at timestamp with time zone,
    is_sso_user boolean DEFAULT false NOT NULL,
    deleted_at timestamp with time zone,
    is_anonymous boolean DEFAULT false NOT NULL
);
ALTER TABLE auth.users OWNER TO supabase_auth_admin;

-- Multi-factor authentication's factors (supabase/auth's migrations 20221003041349 to
-- 20250925093508): a project's trigger on `auth.mfa_factors` enforces its own MFA rules
-- (Cap-go's `BEFORE INSERT OR UPDATE ON auth.mfa_factors`).
CREATE TYPE auth.factor_type AS ENUM ('totp', 'webauthn', 'phone');
CREATE TYPE auth.factor_status AS ENUM ('unverified', 'verified');
CREATE TABLE auth.mfa_factors (
    id uuid NOT NULL PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    friendly_name text,
    factor_type auth.factor_type NOT NULL,
    status auth.factor_status NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    secret text,
    phone text,
    last_challenged_at timestamp with time zone UNIQUE,
    web_authn_credential jsonb,
    web_authn_aaguid uuid,
    last_webauthn_challenge_data jsonb
);
CREATE UNIQUE INDEX mfa_factors_user_friendly_name_unique ON auth.mfa_factors
    (friendly_name, user_id) WHERE trim(friendly_name) <> '';
CREATE UNIQUE INDEX unique_phone_factor_per_user ON auth.mfa_factors (user_id, phone);
ALTER TABLE auth.mfa_factors OWNER TO supabase_auth_admin;
ALTER TYPE auth.factor_type OWNER TO supabase_auth_admin;
ALTER TYPE auth.factor_status OWNER TO supabase_auth_admin;

-- A user's sign-in identities, sessions and GoTrue's audit log (supabase/auth's migrations
-- 00_init_auth_schema to 20251111201300, as a Supabase database has them in 2026): what
-- projects' SQL functions read (Tuturuuu's sign-ins by provider, active sessions, audit
-- actions; clstr's account merges moving `auth.identities` rows).
CREATE TYPE auth.aal_level AS ENUM ('aal1', 'aal2', 'aal3');
CREATE TABLE auth.identities (
    provider_id text NOT NULL,
    user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    identity_data jsonb NOT NULL,
    provider text NOT NULL,
    last_sign_in_at timestamp with time zone,
    created_at timestamp with time zone,
    updated_at timestamp with time zone,
    email text GENERATED ALWAYS AS (lower(identity_data ->> 'email')) STORED,
    id uuid DEFAULT gen_random_uuid() NOT NULL PRIMARY KEY,
    CONSTRAINT identities_provider_id_provider_unique UNIQUE (provider_id, provider)
);
CREATE TABLE auth.sessions (
    id uuid NOT NULL PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    created_at timestamp with time zone,
    updated_at timestamp with time zone,
    factor_id uuid,
    aal auth.aal_level,
    not_after timestamp with time zone,
    refreshed_at timestamp without time zone,
    user_agent text,
    ip inet,
    tag text,
    oauth_client_id uuid,
    refresh_token_hmac_key text,
    refresh_token_counter bigint,
    scopes text CONSTRAINT sessions_scopes_length CHECK (char_length(scopes) <= 4096)
);
CREATE TABLE auth.audit_log_entries (
    instance_id uuid,
    id uuid NOT NULL PRIMARY KEY,
    payload json,
    created_at timestamp with time zone,
    ip_address character varying(64) DEFAULT ''::character varying NOT NULL
);
ALTER TABLE auth.identities OWNER TO supabase_auth_admin;
ALTER TABLE auth.sessions OWNER TO supabase_auth_admin;
ALTER TABLE auth.audit_log_entries OWNER TO supabase_auth_admin;
ALTER TYPE auth.aal_level OWNER TO supabase_auth_admin;

CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''),
                  (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'))::uuid
$$;
CREATE FUNCTION auth.role() RETURNS text LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('request.jwt.claim.role', true), ''),
                  (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role'))::text
$$;
CREATE FUNCTION auth.email() RETURNS text LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('request.jwt.claim.email', true), ''),
                  (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email'))::text
$$;
CREATE FUNCTION auth.jwt() RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('request.jwt.claim', true), ''),
                  nullif(current_setting('request.jwt.claims', true), ''))::jsonb
$$;

CREATE TABLE storage.buckets (
    id text NOT NULL PRIMARY KEY,
    name text NOT NULL,
    owner uuid,
    created_at timestamp with time zone DEFAULT now(),
    updated_at timestamp with time zone DEFAULT now(),
    public boolean DEFAULT false,
    avif_autodetection boolean DEFAULT false,
    file_size_limit bigint,
    allowed_mime_types text[],
    owner_id text
);
CREATE UNIQUE INDEX bname ON storage.buckets USING btree (name);
CREATE TABLE storage.objects (
    id uuid DEFAULT gen_random_uuid() NOT NULL PRIMARY KEY,
    bucket_id text REFERENCES storage.buckets (id),
    name text,
    owner uuid,
    created_at timestamp with time zone DEFAULT now(),
    updated_at timestamp with time zone DEFAULT now(),
    last_accessed_at timestamp with time zone DEFAULT now(),
    metadata jsonb,
    path_tokens text[] GENERATED ALWAYS AS (string_to_array(name, '/')) STORED,
    version text,
    owner_id text,
    user_metadata jsonb
);
CREATE UNIQUE INDEX bucketid_objname ON storage.objects USING btree (bucket_id, name);
ALTER TABLE storage.objects ENABLE ROW LEVEL SECURITY;
ALTER TABLE storage.buckets OWNER TO supabase_storage_admin;
ALTER TABLE storage.objects OWNER TO supabase_storage_admin;

CREATE FUNCTION storage.foldername(name text) RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
  SELECT (string_to_array(name, '/'))[1:array_length(string_to_array(name, '/'), 1) - 1]
$$;
CREATE FUNCTION storage.filename(name text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT (string_to_array(name, '/'))[array_length(string_to_array(name, '/'), 1)]
$$;
CREATE FUNCTION storage.extension(name text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT split_part(storage.filename(name), '.', 2)
$$;

-- Database webhooks: triggers that `EXECUTE FUNCTION supabase_functions.http_request(url,
-- method, headers, params, timeout)`, as the dashboard writes them and `supabase db diff`
-- dumps them (supabase/supabase docker/volumes/db/webhooks.sql creates the schema, its
-- `hooks` and `migrations` tables and the function). The function here sends nothing.
CREATE SCHEMA IF NOT EXISTS supabase_functions;
COMMENT ON SCHEMA supabase_functions IS 'dbsafe stand-in: the Supabase platform''s schema, in part';
GRANT USAGE ON SCHEMA supabase_functions TO anon, authenticated, service_role;
CREATE TABLE IF NOT EXISTS supabase_functions.migrations (
    version text PRIMARY KEY,
    inserted_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS supabase_functions.hooks (
    id bigserial PRIMARY KEY,
    hook_table_id integer NOT NULL,
    hook_name text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    request_id bigint
);
CREATE OR REPLACE FUNCTION supabase_functions.http_request() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
  RETURN NEW;
END $$;

-- Realtime's broadcast from the database (supabase/realtime's migrations): `realtime.send`,
-- and the `messages` table policies authorise private channels on (partitioned by day
-- there; one table here). Nothing is broadcast.
CREATE TABLE IF NOT EXISTS realtime.messages (
    topic text NOT NULL,
    extension text NOT NULL,
    payload jsonb,
    event text,
    private boolean DEFAULT false,
    updated_at timestamp without time zone NOT NULL DEFAULT now(),
    inserted_at timestamp without time zone NOT NULL DEFAULT now(),
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    binary_payload bytea,
    PRIMARY KEY (id, inserted_at)
);
ALTER TABLE realtime.messages ENABLE ROW LEVEL SECURITY;
CREATE OR REPLACE FUNCTION realtime.send(payload jsonb, event text, topic text,
                                         private boolean DEFAULT true) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
END $$;
-- The topic of the channel being joined, which policies on `realtime.messages` authorise by
-- (`USING (realtime.topic() = 'room:' || ...)`); Realtime sets it for the check.
CREATE OR REPLACE FUNCTION realtime.topic() RETURNS text LANGUAGE sql STABLE AS $$
  SELECT nullif(current_setting('realtime.topic', true), '')::text
$$;
GRANT USAGE ON SCHEMA realtime TO anon, authenticated, service_role;

-- Vault (supabase/vault): secrets kept encrypted, read decrypted through a view. Here the
-- secret is kept as given, and the view shows it.
CREATE TABLE IF NOT EXISTS vault.secrets (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text UNIQUE,
    description text NOT NULL DEFAULT '',
    secret text NOT NULL,
    key_id uuid,
    nonce bytea,
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE OR REPLACE VIEW vault.decrypted_secrets AS
    SELECT id, name, description, secret, secret AS decrypted_secret, key_id, nonce,
           created_at, updated_at
    FROM vault.secrets;
CREATE OR REPLACE FUNCTION vault.create_secret(new_secret text, new_name text DEFAULT NULL,
                                               new_description text DEFAULT '',
                                               new_key_id uuid DEFAULT NULL) RETURNS uuid
LANGUAGE sql AS $$
  INSERT INTO vault.secrets (secret, name, description, key_id)
  VALUES (new_secret, new_name, new_description, new_key_id) RETURNING id
$$;
CREATE OR REPLACE FUNCTION vault.update_secret(secret_id uuid, new_secret text DEFAULT NULL,
                                               new_name text DEFAULT NULL,
                                               new_description text DEFAULT NULL,
                                               new_key_id uuid DEFAULT NULL) RETURNS void
LANGUAGE sql AS $$
  UPDATE vault.secrets SET secret = coalesce(new_secret, secret),
      name = coalesce(new_name, name), description = coalesce(new_description, description),
      key_id = coalesce(new_key_id, key_id), updated_at = CURRENT_TIMESTAMP
  WHERE id = secret_id
$$;

-- Which tables it publishes is often set in Supabase's dashboard, outside the migrations:
-- marked as a stand-in, it names no table missing from it (DBS310).
CREATE PUBLICATION supabase_realtime;
COMMENT ON PUBLICATION supabase_realtime IS 'dbsafe stand-in: Realtime''s publication; the dashboard may add tables';
