-- dbsafe:check DBS519 matview-bypasses-rls
-- severity: error
-- since: 0.2.0
-- summary: Materialized view that other roles may read is filled from a table with row-level security by a role the policies do not hold back, so it shows every row.
-- help: Revoke SELECT on the materialized view from the roles the policies hold back, or let them read the table through a view with security_invoker = true (PostgreSQL 15 and later) instead: a materialized view holds the same rows for every reader.
--
-- ## Why
-- `REFRESH MATERIALIZED VIEW` (and `CREATE MATERIALIZED VIEW`) runs the query as the
-- materialized view's owner, whoever issues it, and row-level security is checked for that
-- owner: a superuser, a `BYPASSRLS` role or the table's owner (unless the table is
-- `FORCE ROW LEVEL SECURITY`) is not held back, and the materialized view stores every
-- row. Reading it then checks no policy (a materialized view cannot have row-level security
-- of its own, and `security_invoker` is no option of one: `unrecognized parameter`): every
-- role granted SELECT on it sees every row. On PostgreSQL 18, a role the policy
-- `owner = current_user` shows 1 of the 5 rows of `notes` counts 5 in
-- `CREATE MATERIALIZED VIEW all_notes AS SELECT * FROM notes` made by the table's owner or a
-- superuser. A view the query reads is read with its own owner's rights (5 rows through a
-- view a superuser owns, into a materialized view whose owner the policy holds back); a
-- `security_invoker` view with the rights of the materialized view's owner.
--
-- ## Not flagged
-- A materialized view only its owner may read: no SELECT granted on it or its columns to
-- another role or PUBLIC, nor read by a view others may read with its owner's rights (a
-- `security_invoker` view's readers need their own grant on it), nor by another
-- materialized view others may read. An owner the policies hold back: one who neither owns
-- the table (nor has its owner's rights) nor is a superuser or `BYPASSRLS`, or the table's
-- owner when the table is `FORCE ROW LEVEL SECURITY` (its readers see the rows that owner
-- may see). A table whose policies show every row to every role anyway (a permissive
-- `FOR SELECT` or `FOR ALL` policy for PUBLIC `USING (true)`, and no restrictive one). A
-- materialized view read through another materialized view is judged at that one. What a
-- function the query calls reads. The rows of an earlier owner: a materialized view whose
-- owner was changed since its last refresh holds what the earlier owner read until the next
-- `REFRESH`, and is judged by its owner now.
WITH RECURSIVE relation AS (
    -- views and materialized views, and whether a view reads its tables with the rights of
    -- the role querying it (`security_invoker`, parsed as PostgreSQL parses a boolean)
    SELECT c.oid, c.relkind, c.relowner,
           c.relkind = 'v' AND coalesce((SELECT o.option_value::boolean
                                         FROM pg_options_to_table(c.reloptions) AS o
                                         WHERE o.option_name = 'security_invoker'), false)
               AS invoker
    FROM pg_class AS c
    WHERE c.relkind IN ('v', 'm')
), reads AS (
    -- the relations each view's or materialized view's query reads
    SELECT DISTINCT r.ev_class AS reader, d.refobjid AS read
    FROM pg_rewrite AS r
    JOIN pg_depend AS d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
     AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'n'
    WHERE r.rulename = '_RETURN'
      AND d.refobjid <> r.ev_class
), readable(oid, refreshing) AS (
    -- the views and materialized views some role other than the owner may read: a SELECT
    -- grant on it or one of its columns
    SELECT rel.oid, false
    FROM relation AS rel
    JOIN pg_class AS c ON c.oid = rel.oid
    WHERE EXISTS (SELECT FROM aclexplode(c.relacl) AS a
                  WHERE a.grantee <> c.relowner AND a.privilege_type = 'SELECT')
       OR EXISTS (SELECT FROM pg_attribute AS att, aclexplode(att.attacl) AS a
                  WHERE att.attrelid = c.oid AND a.grantee <> c.relowner
                    AND a.privilege_type = 'SELECT')
    UNION
    -- and what such a relation reads on its readers' behalf: a view reads with its owner's
    -- rights, a materialized view's refresh with its owner's, and a security_invoker view
    -- with those of the role running the query, which is its own reader (who needs a grant
    -- of their own on what it reads) except inside a refresh, where it is the materialized
    -- view's owner (`refreshing`)
    SELECT inner_rel.oid, outer_rel.relkind = 'm' OR readable.refreshing
    FROM readable
    JOIN relation AS outer_rel ON outer_rel.oid = readable.oid
    JOIN reads ON reads.reader = outer_rel.oid
    JOIN relation AS inner_rel ON inner_rel.oid = reads.read
    WHERE outer_rel.relkind = 'm' OR NOT outer_rel.invoker OR readable.refreshing
), fills(matview, oid, role, via) AS (
    -- what a refresh of each such materialized view reads, down through views, and with
    -- whose rights: a view's owner's, or the materialized view's owner's (through a
    -- security_invoker view too); another materialized view is judged on its own
    SELECT m.oid, m.oid, m.relowner, NULL::oid
    FROM relation AS m
    WHERE m.relkind = 'm'
      AND m.oid IN (SELECT oid FROM readable)
    UNION
    SELECT fills.matview, v.oid,
           CASE WHEN v.invoker THEN m.relowner ELSE v.relowner END,
           CASE WHEN v.invoker THEN NULL ELSE v.oid END
    FROM fills
    JOIN reads ON reads.reader = fills.oid
    JOIN relation AS v ON v.oid = reads.read AND v.relkind = 'v'
    JOIN pg_class AS m ON m.oid = fills.matview
), bypassed AS (
    -- the tables with row-level security a refresh reads as a role their policies do not
    -- hold back: a superuser, a BYPASSRLS role, or (without FORCE) one with the table
    -- owner's rights, as PostgreSQL's check_enable_rls decides
    SELECT DISTINCT fills.matview, tab.oid AS tab, fills.role, fills.via
    FROM fills
    JOIN reads ON reads.reader = fills.oid
    JOIN pg_class AS tab ON tab.oid = reads.read
    JOIN pg_roles AS role ON role.oid = fills.role
    WHERE tab.relkind IN ('r', 'p')
      AND tab.relrowsecurity
      AND (role.rolsuper OR role.rolbypassrls
           OR (pg_has_role(fills.role, tab.relowner, 'USAGE') AND NOT tab.relforcerowsecurity))
      -- unless the policies show every row to every role anyway
      AND NOT (EXISTS (SELECT FROM pg_policy AS p
                       WHERE p.polrelid = tab.oid AND p.polpermissive
                         AND p.polcmd IN ('r', '*') AND 0::oid = ANY (p.polroles)
                         AND pg_get_expr(p.polqual, p.polrelid) = 'true')
               AND NOT EXISTS (SELECT FROM pg_policy AS p
                               WHERE p.polrelid = tab.oid AND NOT p.polpermissive
                                 AND p.polcmd IN ('r', '*')))
)
SELECT
    format('%s.%s', mn.nspname, m.relname) AS subject,
    format('Materialized view `%s.%s` is filled from every row of %s, which %s row-level '
           'security: REFRESH reads %s, whom the policies do not hold back, so every role that '
           'may read the materialized view sees what the policies would hide from it%s.',
           mn.nspname, m.relname, t.tables,
           CASE WHEN t.count = 1 THEN 'has' ELSE 'have' END, t.reads,
           CASE WHEN m.relispopulated THEN ''
                ELSE ' (from its first REFRESH on: it is not populated yet)' END) AS message
FROM pg_class AS m
JOIN pg_namespace AS mn ON mn.oid = m.relnamespace
CROSS JOIN LATERAL (
    SELECT string_agg(DISTINCT format('`%s.%s`', tn.nspname, tab.relname), ', ') AS tables,
           count(DISTINCT b.tab) AS count,
           string_agg(format('`%s.%s` %s `%s`', tn.nspname, tab.relname,
                             CASE WHEN b.via IS NULL THEN 'as the materialized view''s owner'
                                  ELSE format('through view `%s.%s` as that view''s owner',
                                              vn.nspname, v.relname) END,
                             role.rolname),
                      ', ' ORDER BY tn.nspname, tab.relname, vn.nspname, v.relname) AS reads
    FROM bypassed AS b
    JOIN pg_class AS tab ON tab.oid = b.tab
    JOIN pg_namespace AS tn ON tn.oid = tab.relnamespace
    JOIN pg_roles AS role ON role.oid = b.role
    LEFT JOIN pg_class AS v ON v.oid = b.via
    LEFT JOIN pg_namespace AS vn ON vn.oid = v.relnamespace
    WHERE b.matview = m.oid
) AS t
WHERE m.relkind = 'm'
  AND t.tables IS NOT NULL
  AND mn.nspname <> ALL (ARRAY['information_schema', 'dbsafe'])
  AND mn.nspname !~ '^pg_'
ORDER BY 1
