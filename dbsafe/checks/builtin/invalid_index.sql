-- dbsafe:check DBS501 invalid-index
-- severity: error
-- since: 0.1.0
-- summary: Index is invalid or not ready, or is a leftover of a failed `REINDEX CONCURRENTLY`.
-- help: Drop the index (DROP INDEX CONCURRENTLY) and build it again with CREATE INDEX CONCURRENTLY, or REINDEX INDEX CONCURRENTLY it.
--
-- ## Why
-- A `CREATE INDEX CONCURRENTLY` that fails or is cancelled (a duplicate key for a unique
-- index, a deadlock, a statement timeout) leaves the index behind marked *invalid*: queries
-- never use it, but every write still maintains it, and a unique one still rejects rows.
-- A failed `REINDEX CONCURRENTLY` leaves `<name>_ccnew` (and sometimes `<name>_ccold`)
-- indexes behind. A partitioned index is invalid until every partition has its index.
--
-- ## Not flagged
-- An index whose `CREATE INDEX CONCURRENTLY` is running right now
-- (`pg_stat_progress_create_index`): it is invalid only until the build finishes. A role
-- without `pg_read_all_stats` (which `pg_monitor` has) sees another role's build without
-- its index: while one runs in the database, invalid indexes are not reported, and the
-- report lists them as not checked.
--
-- ## In Alembic
-- A revision that builds an index with `postgresql_concurrently=True` inside
-- `autocommit_block()` leaves such an index when it fails; `dbsafe upgrade` removes it before
-- retrying or rolling back, and its postflight runs this check.
WITH flagged AS (
    SELECT
        n.nspname,
        ic.relname,
        format('%s.%s', n.nspname, ic.relname) AS subject,
        CASE
            WHEN ic.relname ~ '_cc(new|old)[0-9]*$' THEN
                format('Index `%s` on `%s.%s` is a leftover of a failed REINDEX CONCURRENTLY.',
                       ic.relname, n.nspname, t.relname)
            WHEN NOT i.indisready THEN
                format('Index `%s` on `%s.%s` is not ready: its build failed before it was '
                       'complete.', ic.relname, n.nspname, t.relname)
            ELSE
                format('Index `%s` on `%s.%s` is invalid: queries never use it, but every write '
                       'still maintains it.', ic.relname, n.nspname, t.relname)
        END AS message
    FROM pg_index AS i
    JOIN pg_class AS ic ON ic.oid = i.indexrelid
    JOIN pg_class AS t ON t.oid = i.indrelid
    JOIN pg_namespace AS n ON n.oid = ic.relnamespace
    WHERE (NOT i.indisvalid OR NOT i.indisready OR ic.relname ~ '_cc(new|old)[0-9]*$')
      AND n.nspname <> ALL (ARRAY['information_schema', 'dbsafe'])
      AND n.nspname !~ '^pg_'
      AND NOT EXISTS (
          SELECT FROM pg_stat_progress_create_index AS p WHERE p.index_relid = i.indexrelid
      )
),
-- Another role's index build shows dbsafe's role its row without the index (NULLs) unless
-- it has pg_read_all_stats (pg_monitor): while one runs in this database, an invalid index
-- may be the one being built, and "drop it" would be wrong advice
hidden_build AS (
    SELECT EXISTS (SELECT FROM pg_stat_progress_create_index AS p
                   WHERE p.datid = (SELECT oid FROM pg_database
                                    WHERE datname = current_database())
                     AND p.index_relid IS NULL) AS running
)
(SELECT subject, message, NULL AS not_checked
 FROM flagged
 WHERE NOT (SELECT running FROM hidden_build)
 ORDER BY 1)
UNION ALL
SELECT NULL, NULL,
       format('%s invalid index%s, which an index build running in a session dbsafe''s role '
              'may not see (without pg_read_all_stats) may be building: %s%s', count(*),
              CASE WHEN count(*) = 1 THEN '' ELSE 'es' END,
              array_to_string((array_agg(format('`%s`', subject) ORDER BY subject))[1:5], ', '),
              CASE WHEN count(*) > 5 THEN format(' and %s more', count(*) - 5) ELSE '' END)
FROM flagged
WHERE (SELECT running FROM hidden_build)
HAVING count(*) > 0
