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
-- (`pg_stat_progress_create_index`): it is invalid only until the build finishes.
--
-- ## In Alembic
-- A revision that builds an index with `postgresql_concurrently=True` inside
-- `autocommit_block()` leaves such an index when it fails; `dbsafe upgrade` removes it before
-- retrying or rolling back, and its postflight runs this check.
SELECT
    format('%s.%s', n.nspname, ic.relname) AS subject,
    CASE
        WHEN ic.relname ~ '_cc(new|old)[0-9]*$' THEN
            format('Index `%s` on `%s.%s` is a leftover of a failed REINDEX CONCURRENTLY.',
                   ic.relname, n.nspname, t.relname)
        WHEN NOT i.indisready THEN
            format('Index `%s` on `%s.%s` is not ready: its build failed before it was complete.',
                   ic.relname, n.nspname, t.relname)
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
ORDER BY 1
