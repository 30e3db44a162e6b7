-- dbsafe:check DBS508 policies-without-rls
-- severity: error
-- since: 0.1.0
-- summary: Table has row-level security policies but row-level security is disabled, so they are ignored.
-- help: Enable it with ALTER TABLE ... ENABLE ROW LEVEL SECURITY (and FORCE it if the owner must obey the policies too).
--
-- ## Why
-- Policies apply only while `ENABLE ROW LEVEL SECURITY` is set on the table. A migration
-- that recreates a table, a restore, or a `DISABLE ROW LEVEL SECURITY` left from debugging
-- keeps the policies in place but turns them off: every role with table privileges sees and
-- changes every row.
SELECT
    format('%s.%s', n.nspname, c.relname) AS subject,
    format('Table `%s.%s` has %s row-level security polic%s but row-level security is '
           'disabled, so every role sees every row.', n.nspname, c.relname, p.policies,
           CASE WHEN p.policies = 1 THEN 'y' ELSE 'ies' END) AS message
FROM pg_class AS c
JOIN pg_namespace AS n ON n.oid = c.relnamespace
JOIN (SELECT polrelid, count(*) AS policies FROM pg_policy GROUP BY polrelid) AS p
  ON p.polrelid = c.oid
WHERE c.relkind IN ('r', 'p')
  AND NOT c.relrowsecurity
  AND n.nspname <> ALL (ARRAY['information_schema', 'dbsafe'])
  AND n.nspname !~ '^pg_'
ORDER BY 1
