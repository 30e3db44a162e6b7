-- dbsafe:check DBS509 rls-without-policies
-- severity: warning
-- since: 0.1.0
-- summary: Table has row-level security enabled but no policy, so it denies every row to ordinary roles.
-- help: Create the policies the application needs (CREATE POLICY), or disable row-level security if it was enabled by mistake.
--
-- ## Why
-- With row-level security enabled and no policy, PostgreSQL applies a default-deny policy:
-- every role other than the owner, superusers and `BYPASSRLS` roles sees no rows and can
-- change none. This is usually a migration that enabled RLS before (or instead of) creating
-- the policies, and shows up as "the table is empty" in the application.
--
-- ## Not flagged
-- A partition of a partitioned table that has row-level security enabled: a query on the
-- partitioned table reads the partition's rows under the partitioned table's policies (a
-- partition's own are ignored then), so enabling row-level security on each partition with
-- no policy is how its rows are kept from being read directly, past those policies. The
-- partitioned table is reported itself when it has no policy.
SELECT
    format('%s.%s', n.nspname, c.relname) AS subject,
    format('Table `%s.%s` has row-level security enabled but no policy, so ordinary roles '
           'see no rows.', n.nspname, c.relname) AS message
FROM pg_class AS c
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p')
  AND c.relrowsecurity
  AND n.nspname <> ALL (ARRAY['information_schema', 'dbsafe'])
  AND n.nspname !~ '^pg_'
  AND NOT EXISTS (SELECT FROM pg_policy AS p WHERE p.polrelid = c.oid)
  AND NOT (c.relispartition AND EXISTS (
      SELECT FROM pg_partition_ancestors(c.oid) AS a(relid)
      JOIN pg_class AS ac ON ac.oid = a.relid
      WHERE a.relid <> c.oid AND ac.relrowsecurity
  ))
ORDER BY 1
