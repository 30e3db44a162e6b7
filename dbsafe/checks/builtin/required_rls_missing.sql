-- dbsafe:check DBS510 required-rls-missing
-- severity: error
-- since: 0.1.0
-- summary: Table is configured as requiring row-level security (`require-rls`) but does not have it enabled.
-- help: Enable it with ALTER TABLE ... ENABLE ROW LEVEL SECURITY, after creating its policies.
--
-- ## Why
-- Multi-tenant and personal-data tables rely on row-level security to keep rows apart. The
-- `require-rls` setting lists them (`"public.patients"`, `"tenant.*"`, or a bare table name
-- for any schema); a table that matches and lacks `ENABLE ROW LEVEL SECURITY` exposes every
-- row to every role with table privileges.
--
-- ## Not flagged
-- Tables that match no `require-rls` pattern (the default is none). A listed table that does
-- not exist is not reported here (a schema expectation, DBS550, says it must exist); an
-- entry that matches no table is listed as not checked (a misspelt name checks nothing). A
-- partition only when a role it does not exempt holds a privilege row-level security governs
-- (SELECT, INSERT, UPDATE, DELETE) on the partition itself: queries through the partitioned
-- table apply that table's policies, but a query naming the partition applies the
-- partition's own, so such a role (Supabase's `anon` and `authenticated` get every new
-- table's privileges by default) reads and changes its every row. Roles that bypass
-- row-level security anyway (superusers, `BYPASSRLS`) and the owner are not counted.
--
-- ## Configuration
-- `require-rls = ["public.patients", "tenant.*"]` in `[tool.dbsafe]`, read by the check as
-- `current_setting('dbsafe.require_rls')`.
WITH pattern AS (
    SELECT
        p AS pattern,
        '^' || replace(regexp_replace(p, '([.^$+?()\[\]{}|\\])', '\\\1', 'g'), '*', '.*')
            || '$' AS regex
    FROM unnest(string_to_array(coalesce(current_setting('dbsafe.require_rls', true), ''),
                                ',')) AS raw (p0)
    CROSS JOIN LATERAL (SELECT btrim(raw.p0) AS p) AS trimmed
    WHERE p <> ''
)
(SELECT DISTINCT ON (n.nspname, c.relname)
     format('%s.%s', n.nspname, c.relname) AS subject,
     format('Table `%s.%s` must have row-level security (`require-rls` lists `%s`) but it is '
            'disabled%s.', n.nspname, c.relname, pattern.pattern,
            CASE WHEN c.relispartition
                 THEN format(': its partitioned table''s policies apply only to queries '
                             'through it, and %s may query the partition directly',
                             granted.roles)
                 ELSE '' END) AS message,
     NULL AS not_checked
 FROM pg_class AS c
 JOIN pg_namespace AS n ON n.oid = c.relnamespace
 -- the roles row-level security would hold back that hold privileges on the table itself
 LEFT JOIN LATERAL (
     SELECT string_agg(DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC'
                                     ELSE format('`%s`', r.rolname) END, ', ') AS roles
     FROM aclexplode(c.relacl) AS a
     LEFT JOIN pg_roles AS r ON r.oid = a.grantee
     WHERE a.privilege_type IN ('SELECT', 'INSERT', 'UPDATE', 'DELETE')
       AND a.grantee <> c.relowner
       AND (a.grantee = 0 OR NOT (r.rolsuper OR r.rolbypassrls))
 ) AS granted ON true
 JOIN pattern
   ON CASE WHEN strpos(pattern.pattern, '.') > 0
           THEN n.nspname || '.' || c.relname ~ pattern.regex
           ELSE c.relname ~ pattern.regex END
 WHERE c.relkind IN ('r', 'p')
   AND (NOT c.relispartition OR granted.roles IS NOT NULL)
   AND NOT c.relrowsecurity
   AND n.nspname <> ALL (ARRAY['information_schema', 'dbsafe'])
   AND n.nspname !~ '^pg_'
 ORDER BY n.nspname, c.relname)
UNION ALL
-- a pattern that matches no table checks nothing: a misspelt name is said, not passed over
SELECT NULL, NULL,
       format('require-rls %s no table: %s',
              CASE WHEN count(*) = 1 THEN 'entry matches' ELSE 'entries match' END,
              string_agg(format('`%s`', pattern.pattern), ', ' ORDER BY pattern.pattern))
FROM pattern
WHERE NOT EXISTS (
    SELECT FROM pg_class AS c
    JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p')
      AND n.nspname <> ALL (ARRAY['information_schema', 'dbsafe'])
      AND n.nspname !~ '^pg_'
      AND CASE WHEN strpos(pattern.pattern, '.') > 0
               THEN n.nspname || '.' || c.relname ~ pattern.regex
               ELSE c.relname ~ pattern.regex END)
HAVING count(*) > 0
