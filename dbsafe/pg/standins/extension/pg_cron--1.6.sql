-- dbsafe's stand-in for pg_cron 1.6, used only on dbsafe's throwaway servers, whose
-- PostgreSQL is built without it: the `cron` schema with its tables and functions, the same
-- signatures, in SQL. Jobs are recorded in `cron.job` as the real functions record them, and
-- never run: there is no scheduler.

\echo Use "CREATE EXTENSION pg_cron" to load this file. \quit

CREATE SCHEMA cron;
COMMENT ON SCHEMA cron IS 'dbsafe stand-in: pg_cron''s schema; no job ever runs';

CREATE SEQUENCE cron.jobid_seq;
CREATE TABLE cron.job (
    jobid bigint PRIMARY KEY DEFAULT pg_catalog.nextval('cron.jobid_seq'),
    schedule text NOT NULL,
    command text NOT NULL,
    nodename text NOT NULL DEFAULT 'localhost',
    -- inet_server_port() is null over a Unix socket, as dbsafe's sessions connect.
    nodeport int NOT NULL DEFAULT coalesce(pg_catalog.inet_server_port(),
                                           pg_catalog.current_setting('port')::int),
    database text NOT NULL DEFAULT pg_catalog.current_database(),
    username text NOT NULL DEFAULT current_user,
    active boolean NOT NULL DEFAULT true,
    jobname text,
    CONSTRAINT jobname_username_uniq UNIQUE (jobname, username)
);
CREATE SEQUENCE cron.runid_seq;
CREATE TABLE cron.job_run_details (
    jobid bigint,
    runid bigint PRIMARY KEY DEFAULT pg_catalog.nextval('cron.runid_seq'),
    job_pid integer,
    database text,
    username text,
    command text,
    status text,
    return_message text,
    start_time timestamptz,
    end_time timestamptz
);
GRANT USAGE ON SCHEMA cron TO public;
GRANT SELECT ON cron.job, cron.job_run_details TO public;

CREATE FUNCTION cron.schedule(schedule text, command text) RETURNS bigint STRICT LANGUAGE sql AS $$
    INSERT INTO cron.job (schedule, command) VALUES (schedule, command) RETURNING jobid
$$;
-- A name already scheduled by this user is rescheduled, as pg_cron does.
CREATE FUNCTION cron.schedule(job_name text, schedule text, command text) RETURNS bigint
LANGUAGE sql AS $$
    INSERT INTO cron.job (jobname, schedule, command) VALUES (job_name, schedule, command)
    ON CONFLICT (jobname, username)
    DO UPDATE SET schedule = excluded.schedule, command = excluded.command
    RETURNING jobid
$$;
CREATE FUNCTION cron.schedule_in_database(job_name text, schedule text, command text,
                                          database text, username text DEFAULT NULL,
                                          active boolean DEFAULT true) RETURNS bigint
LANGUAGE sql AS $$
    INSERT INTO cron.job (jobname, schedule, command, database, username, active)
    VALUES (job_name, schedule, command, database, coalesce(username, current_user), active)
    ON CONFLICT (jobname, username)
    DO UPDATE SET schedule = excluded.schedule, command = excluded.command,
                  database = excluded.database, active = excluded.active
    RETURNING jobid
$$;
CREATE FUNCTION cron.alter_job(job_id bigint, schedule text DEFAULT NULL,
                               command text DEFAULT NULL, database text DEFAULT NULL,
                               username text DEFAULT NULL, active boolean DEFAULT NULL)
RETURNS void LANGUAGE sql AS $$
    UPDATE cron.job AS j
    SET schedule = coalesce(alter_job.schedule, j.schedule),
        command = coalesce(alter_job.command, j.command),
        database = coalesce(alter_job.database, j.database),
        username = coalesce(alter_job.username, j.username),
        active = coalesce(alter_job.active, j.active)
    WHERE j.jobid = job_id
$$;
-- Unscheduling a job that does not exist is an error, as in pg_cron.
CREATE FUNCTION cron.unschedule(job_id bigint) RETURNS bool STRICT LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM cron.job WHERE jobid = job_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'could not find valid entry for job %', job_id;
    END IF;
    RETURN true;
END $$;
CREATE FUNCTION cron.unschedule(job_name text) RETURNS bool STRICT LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM cron.job WHERE jobname = job_name AND username = current_user;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'could not find valid entry for job ''%''', job_name;
    END IF;
    RETURN true;
END $$;
CREATE FUNCTION cron.job_cache_invalidate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RETURN NULL;
END $$;
