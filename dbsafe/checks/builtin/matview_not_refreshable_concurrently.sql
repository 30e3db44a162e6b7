-- dbsafe:check DBS502 matview-not-refreshable-concurrently
-- severity: error
-- since: 0.1.0
-- summary: Materialized view has no unique index usable by `REFRESH MATERIALIZED VIEW CONCURRENTLY`.
-- help: Create a unique index on plain columns, without a WHERE clause, e.g. CREATE UNIQUE INDEX CONCURRENTLY ON the view (id).
--
-- ## Why
-- `REFRESH MATERIALIZED VIEW CONCURRENTLY` needs a unique index made only of column names
-- and covering every row; without one, the only refresh is the plain one, which holds an
-- ACCESS EXCLUSIVE lock: every read of the view waits until the refresh finishes.
--
-- ## Not flagged
-- A view with a valid unique index on plain columns and no predicate. Unique indexes on
-- expressions, partial unique indexes and invalid indexes do not count, because
-- PostgreSQL refuses them for a concurrent refresh.
SELECT
    format('%s.%s', n.nspname, c.relname) AS subject,
    format('Materialized view `%s.%s` has no unique index on plain columns without a '
           'predicate, so it cannot be refreshed CONCURRENTLY and every refresh blocks its '
           'readers.', n.nspname, c.relname) AS message
FROM pg_class AS c
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE c.relkind = 'm'
  AND n.nspname <> ALL (ARRAY['information_schema', 'dbsafe'])
  AND n.nspname !~ '^pg_'
  AND NOT EXISTS (
      SELECT FROM pg_index AS i
      WHERE i.indrelid = c.oid
        AND i.indisunique
        AND i.indisvalid
        AND i.indpred IS NULL
        AND i.indexprs IS NULL
  )
ORDER BY 1
