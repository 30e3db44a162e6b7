-- dbsafe:check DBS518 view-bypasses-rls
-- severity: error
-- since: 0.2.0
-- summary: View that other roles may read reads a table with row-level security as an owner the policies do not apply to, so it shows every row.
-- help: ALTER VIEW ... SET (security_invoker = true) (PostgreSQL 15 and later), so the policies apply to the role reading the view; or revoke SELECT on the view from the roles the policies hold back.
--
-- ## Why
-- A view reads its tables with its owner's rights unless it is `security_invoker`
-- (PostgreSQL 15 and later), and row-level security is checked for that owner too. The
-- owner who created the view by migration is usually the table's owner (or a superuser),
-- whom the policies do not hold back (unless the table is `FORCE ROW LEVEL SECURITY`, which
-- still does not hold back a superuser or a `BYPASSRLS` role): every role allowed to read
-- the view sees every row of the table, whatever its policies say. On PostgreSQL 18, a role
-- the policy `owner = current_user` leaves no row of `notes` counts 0 rows in `notes` and 1
-- in `CREATE VIEW all_notes AS SELECT * FROM notes`. Supabase grants `anon` and
-- `authenticated` SELECT on every new view of `public`, so such a view hands the table to
-- the API.
--
-- ## Not flagged
-- A view only its owner may read (no SELECT granted on it or its columns to another role
-- or PUBLIC): nobody else reads through it. A table the owner is held back on: an owner who
-- neither owns the table (nor has its owner's rights) nor is a superuser or `BYPASSRLS`, or
-- the table's owner when the table is `FORCE ROW LEVEL SECURITY`. A table whose policies
-- show every row to every role anyway (a permissive `FOR SELECT` or `FOR ALL` policy for
-- PUBLIC `USING (true)`, as Supabase's user-management example gives public profiles, and no
-- restrictive one): a reader counts as many rows through the view as in the table. A view
-- that reads the table through another view is judged at the view that reads the table,
-- whose owner is the one checked: that view is flagged when a view others may read reads it
-- with its owner's rights (not `security_invoker`), though it has no grant of its own. A
-- materialized view: DBS519 `matview-bypasses-rls` (its rows are those its owner read at
-- its last refresh, and `security_invoker` is no option of one).
WITH RECURSIVE readable(oid) AS (
    -- the views some role other than the owner may read: a SELECT grant on the view or one
    -- of its columns
    SELECT v.oid
    FROM pg_class AS v
    WHERE v.relkind = 'v'
      AND (EXISTS (SELECT FROM aclexplode(v.relacl) AS a
                   WHERE a.grantee <> v.relowner AND a.privilege_type = 'SELECT')
           OR EXISTS (SELECT FROM pg_attribute AS att, aclexplode(att.attacl) AS a
                      WHERE att.attrelid = v.oid AND a.grantee <> v.relowner
                        AND a.privilege_type = 'SELECT'))
    UNION
    -- and the views such a view reads with its owner's rights: its readers read them too
    -- (an owner reading its own view needs no grant on it)
    SELECT inner_view.oid
    FROM readable
    JOIN pg_class AS outer_view ON outer_view.oid = readable.oid
    JOIN pg_rewrite AS r ON r.ev_class = outer_view.oid AND r.rulename = '_RETURN'
    JOIN pg_depend AS d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
     AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'n'
    JOIN pg_class AS inner_view ON inner_view.oid = d.refobjid AND inner_view.relkind = 'v'
    WHERE NOT coalesce((SELECT o.option_value::boolean
                        FROM pg_options_to_table(outer_view.reloptions) AS o
                        WHERE o.option_name = 'security_invoker'), false)
)
SELECT
    format('%s.%s', vn.nspname, v.relname) AS subject,
    format('View `%s.%s` reads %s, which %s row-level security, with the rights of its owner '
           '`%s`, whom the policies do not hold back, so every role that may read the view '
           'sees every row.', vn.nspname, v.relname, t.tables,
           CASE WHEN t.count = 1 THEN 'has' ELSE 'have' END, owner.rolname) AS message
FROM pg_class AS v
JOIN pg_namespace AS vn ON vn.oid = v.relnamespace
JOIN pg_roles AS owner ON owner.oid = v.relowner
CROSS JOIN LATERAL (
    -- the tables with row-level security the view's query reads, whose policies its owner
    -- bypasses: a superuser, a BYPASSRLS role, or (without FORCE) one with the table
    -- owner's rights, as PostgreSQL's check_enable_rls decides
    SELECT string_agg(DISTINCT format('`%s.%s`', tn.nspname, tab.relname), ', ') AS tables,
           count(DISTINCT tab.oid) AS count
    FROM pg_rewrite AS r
    JOIN pg_depend AS d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
     AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'n'
    JOIN pg_class AS tab ON tab.oid = d.refobjid
    JOIN pg_namespace AS tn ON tn.oid = tab.relnamespace
    WHERE r.ev_class = v.oid
      AND r.rulename = '_RETURN'
      AND tab.relkind IN ('r', 'p')
      AND tab.relrowsecurity
      AND (owner.rolsuper OR owner.rolbypassrls
           OR (pg_has_role(v.relowner, tab.relowner, 'USAGE') AND NOT tab.relforcerowsecurity))
      -- unless the policies show every row to every role anyway
      AND NOT (EXISTS (SELECT FROM pg_policy AS p
                       WHERE p.polrelid = tab.oid AND p.polpermissive
                         AND p.polcmd IN ('r', '*') AND 0::oid = ANY (p.polroles)
                         AND pg_get_expr(p.polqual, p.polrelid) = 'true')
               AND NOT EXISTS (SELECT FROM pg_policy AS p
                               WHERE p.polrelid = tab.oid AND NOT p.polpermissive
                                 AND p.polcmd IN ('r', '*')))
) AS t
WHERE v.relkind = 'v'
  AND t.tables IS NOT NULL
  AND vn.nspname <> ALL (ARRAY['information_schema', 'dbsafe'])
  AND vn.nspname !~ '^pg_'
  -- the value parsed as PostgreSQL parses a boolean option (`on`, `1`, `yes`, ...)
  AND NOT coalesce((SELECT o.option_value::boolean
                    FROM pg_options_to_table(v.reloptions) AS o
                    WHERE o.option_name = 'security_invoker'), false)
  -- some role other than the owner may read it, or a view it may read reads it
  AND v.oid IN (SELECT oid FROM readable)
ORDER BY 1
