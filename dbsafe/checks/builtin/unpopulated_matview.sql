-- dbsafe:check DBS503 unpopulated-matview
-- severity: error
-- since: 0.1.0
-- summary: Materialized view was never populated, so selecting from it fails.
-- help: Populate it once with REFRESH MATERIALIZED VIEW (not CONCURRENTLY, which needs a populated view).
--
-- ## Why
-- A materialized view created `WITH NO DATA` (as `pg_restore --section=pre-data` and some
-- migrations do) raises `materialized view "..." has not been populated` on every SELECT
-- until it is refreshed, and cannot be refreshed `CONCURRENTLY` the first time.
SELECT
    format('%s.%s', n.nspname, c.relname) AS subject,
    format('Materialized view `%s.%s` has not been populated: every SELECT from it fails.',
           n.nspname, c.relname) AS message
FROM pg_class AS c
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE c.relkind = 'm'
  AND NOT c.relispopulated
  AND n.nspname <> ALL (ARRAY['information_schema', 'dbsafe'])
  AND n.nspname !~ '^pg_'
ORDER BY 1
