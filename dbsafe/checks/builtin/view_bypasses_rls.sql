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
-- A view that no role the policies hold back may read. Its readers: the roles granted
-- SELECT on it or one of its columns (PUBLIC too) and their members that inherit their
-- rights; its owner's members that inherit its rights (they inherit its SELECT on the view,
-- not its `BYPASSRLS` or `SUPERUSER`: on PostgreSQL 18 a member `WITH INHERIT TRUE, SET
-- FALSE` of a `BYPASSRLS` owner counted 5 rows through a view granted to nobody, 1 in the
-- table); and on PostgreSQL 14 and later the roles with `pg_read_all_data`'s rights or that
-- may `SET ROLE` to it (it reads every relation, and the policies hold it back: a member
-- counted 5 through such a view of a superuser, 1 in the table), not a member that only
-- inherits the rights of a role that may `SET ROLE` to it (`WITH INHERIT TRUE, SET FALSE`:
-- it has neither, and PostgreSQL 18 refused it the view). None of them is held back when
-- each is a superuser, a `BYPASSRLS` role, one with the table owner's rights (the table not
-- `FORCE ROW LEVEL SECURITY`), one a permissive `FOR SELECT` or `FOR ALL` policy
-- `USING (true)` applies to (its own, PUBLIC's, or that of a role whose rights it has) and
-- no restrictive one, or one that may `SET ROLE` to any of these.
-- Supabase's `FOR SELECT TO anon, authenticated USING (true)` on a view granted to `anon`
-- and `authenticated`: a reader counts as many rows through the view as in the table. A
-- member inherits a role's grants but not its `BYPASSRLS`: a view granted to a `BYPASSRLS`
-- role is still flagged when a member that may not `SET ROLE` to it (`WITH SET FALSE`,
-- PostgreSQL 16 and later) inherits its grants. PUBLIC's grant reaches every role, one with
-- no membership too: such a view is flagged unless a permissive policy `USING (true)` is
-- PUBLIC's and no restrictive one holds back a role (one that neither bypasses the policies
-- nor may `SET ROLE` to one that does). A reader granted SELECT on one column of the view
-- reads every row of it.
--
-- A view whose owner may not read what it reads as the view reads it: no SELECT on the
-- table, nor on each column the view reads of it (every column for a whole row, as in
-- `SELECT t FROM t` or `row_to_json(t)`; the table's for a system column such as `ctid`),
-- as after `ALTER VIEW ... OWNER TO` a role without one, or a `REVOKE`: reading it fails
-- with `permission denied`, as PostgreSQL 18 answered a `BYPASSRLS` owner with SELECT on
-- `id` only. (Before PostgreSQL 16, a whole row read of a table sampled with `TABLESAMPLE`
-- whose arguments hold a subquery with a `FROM` is not seen, and that view is still
-- flagged; a `TABLESAMPLE` alone is seen, on PostgreSQL 15 too.)
--
-- A table the owner is held back on: an owner who neither owns the table (nor has its
-- owner's rights) nor is a superuser or `BYPASSRLS`, or the table's owner when the table is
-- `FORCE ROW LEVEL SECURITY`. A view that reads the table through another view is judged at
-- the view that reads the table, whose owner is the one checked: that view is flagged when
-- a view others may read reads it with its owner's rights (not `security_invoker`, and that
-- owner may read it), though it has no grant of its own.
--
-- What a function the view calls reads: a `SECURITY DEFINER` function reads with its
-- owner's rights, which DBS518 does not follow (on PostgreSQL 18, a role counting 1 row in
-- `notes` got 6 from a view selecting a `count(*)` of `notes` that such a function a
-- superuser owns returns); any other function reads with the rights of the role querying
-- the view. A materialized view: DBS519
-- `matview-bypasses-rls` (its rows are those its owner read at its last refresh, and
-- `security_invoker` is no option of one).
WITH RECURSIVE reads AS (
    -- the relations each view's query reads (one row each, whatever columns it reads)
    SELECT DISTINCT r.ev_class AS reader, r.oid AS rule, d.refobjid AS read
    FROM pg_rewrite AS r
    JOIN pg_depend AS d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
     AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'n'
    WHERE r.rulename = '_RETURN'
      AND d.refobjid <> r.ev_class
), owner_may_read(reader, read) AS (
    -- what each view reads that its owner may read as the view reads it, as PostgreSQL
    -- checks a query: SELECT on the relation, or else on each column the view reads of it (a
    -- system column such as `ctid` needs the relation's), on every column for a whole row
    -- (`SELECT t FROM t`: the catalog records it as the relation's, only the stored query's
    -- `selectedCols` says it, as attribute 0, bit 7), on any one when it reads none
    -- (`count(*)`); else reading the view fails with `permission denied`
    SELECT reads.reader, reads.read
    FROM reads
    JOIN pg_class AS v ON v.oid = reads.reader AND v.relkind = 'v'
    WHERE has_table_privilege(v.relowner, reads.read, 'SELECT')
       OR (has_any_column_privilege(v.relowner, reads.read, 'SELECT')
           AND NOT EXISTS (SELECT FROM pg_depend AS c
                           WHERE c.classid = 'pg_rewrite'::regclass AND c.objid = reads.rule
                             AND c.refclassid = 'pg_class'::regclass
                             AND c.refobjid = reads.read AND c.refobjsubid <> 0
                             AND NOT has_column_privilege(v.relowner, reads.read,
                                                          c.refobjsubid::smallint, 'SELECT'))
           AND NOT (EXISTS (SELECT FROM pg_rewrite AS r,
                            -- the stored query cut where each permission entry (PostgreSQL
                            -- 16 and later) or range table entry (before) begins: a piece's
                            -- first `:relid` and first `:selectedCols` are its entry's (a
                            -- TABLESAMPLE clause, before 16, lies between them); one of
                            -- `reads.read` whose selected columns hold 7
                            regexp_split_to_table(r.ev_action::text,
                                                  '\{(?:RTEPERMISSIONINFO|RANGETBLENTRY) ')
                                AS entry
                            WHERE r.oid = reads.rule
                              AND substring(entry FROM ':relid (\d+) ')::oid = reads.read
                              AND substring(entry FROM ':selectedCols \(b((?: \d+)*)\)')
                                  || ' ' LIKE '% 7 %')
                    AND EXISTS (SELECT FROM pg_attribute AS a
                                WHERE a.attrelid = reads.read AND a.attnum > 0
                                  AND NOT a.attisdropped
                                  AND NOT has_column_privilege(v.relowner, reads.read, a.attnum,
                                                               'SELECT'))))
), all_data_readers(role) AS (
    -- the roles that may read every relation through `pg_read_all_data` (PostgreSQL 14 and
    -- later): those with its rights or that may SET ROLE to it (not the role itself, as
    -- which nobody logs in; a superuser is not held back)
    SELECT r.oid
    FROM pg_roles AS r, pg_roles AS all_data
    WHERE all_data.rolname = 'pg_read_all_data'
      AND r.oid <> all_data.oid AND NOT r.rolsuper
      AND (pg_has_role(r.oid, all_data.oid, 'USAGE')
           OR pg_has_role(r.oid, all_data.oid,
                          CASE WHEN current_setting('server_version_num')::int >= 160000
                               THEN 'SET' ELSE 'MEMBER' END))
), readers(view, grantee) AS (
    -- the roles granted SELECT on a view or one of its columns (0 is PUBLIC), its owner too,
    -- whose members that inherit its rights read it (an owner may revoke its own SELECT:
    -- the default privileges when none were ever granted)
    SELECT v.oid, a.grantee
    FROM pg_class AS v, aclexplode(coalesce(v.relacl, acldefault('r', v.relowner))) AS a
    WHERE v.relkind = 'v' AND a.privilege_type = 'SELECT'
    UNION
    SELECT v.oid, a.grantee
    FROM pg_class AS v
    JOIN pg_attribute AS att ON att.attrelid = v.oid, aclexplode(att.attacl) AS a
    WHERE v.relkind = 'v' AND a.privilege_type = 'SELECT'
    UNION
    -- pg_read_all_data, standing for the roles that read every relation through it (its
    -- members that inherit its rights are such roles already; those of one that may only
    -- SET ROLE to it are not: they inherit no right to read)
    SELECT v.oid, to_regrole('pg_read_all_data')::oid
    FROM pg_class AS v
    WHERE v.relkind = 'v' AND EXISTS (SELECT FROM all_data_readers)
    UNION
    -- and those of a view that reads it with its owner's rights (not security_invoker),
    -- when that owner may read it as it does: its readers read it too
    SELECT inner_view.oid, readers.grantee
    FROM readers
    JOIN pg_class AS outer_view ON outer_view.oid = readers.view
    JOIN owner_may_read AS r ON r.reader = outer_view.oid
    JOIN pg_class AS inner_view ON inner_view.oid = r.read AND inner_view.relkind = 'v'
    WHERE NOT coalesce((SELECT o.option_value::boolean
                        FROM pg_options_to_table(outer_view.reloptions) AS o
                        WHERE o.option_name = 'security_invoker'), false)
), bypassed(view, tab) AS (
    -- the tables with row-level security a view others may read (not security_invoker)
    -- reads, whose policies its owner bypasses: a superuser, a BYPASSRLS role, or (without
    -- FORCE) one with the table owner's rights, as PostgreSQL's check_enable_rls decides;
    -- and which that owner may read as the view does (else reading the view fails)
    SELECT r.reader, tab.oid
    FROM owner_may_read AS r
    JOIN pg_class AS v ON v.oid = r.reader
    JOIN pg_roles AS owner ON owner.oid = v.relowner
    JOIN pg_class AS tab ON tab.oid = r.read
    WHERE tab.relkind IN ('r', 'p')
      AND tab.relrowsecurity
      AND v.oid IN (SELECT view FROM readers)
      -- the value parsed as PostgreSQL parses a boolean option (`on`, `1`, `yes`, ...)
      AND NOT coalesce((SELECT o.option_value::boolean
                        FROM pg_options_to_table(v.reloptions) AS o
                        WHERE o.option_name = 'security_invoker'), false)
      AND (owner.rolsuper OR owner.rolbypassrls
           OR (pg_has_role(v.relowner, tab.relowner, 'USAGE') AND NOT tab.relforcerowsecurity))
), granted(relation, tab, grantee) AS (
    -- who may read those tables' rows through each such view: the roles granted SELECT
    -- on it, or on a view that reads it on their behalf (0 is PUBLIC)
    SELECT DISTINCT b.view, b.tab, g.grantee
    FROM bypassed AS b
    JOIN readers AS g ON g.view = b.view
), policy_roles(tab, permissive, role) AS (
    -- the roles each FOR SELECT or FOR ALL policy of those tables applies to (0 is PUBLIC):
    -- the permissive ones that show every row (USING (true)), and the restrictive ones
    SELECT p.polrelid, p.polpermissive, unnest(p.polroles)
    FROM pg_policy AS p
    WHERE p.polrelid IN (SELECT tab FROM granted)
      AND p.polcmd IN ('r', '*')
      AND (NOT p.polpermissive OR pg_get_expr(p.polqual, p.polrelid) = 'true')
), tab_kind(tab, owner, forced, shown, restricted) AS (
    -- what decides whom a table's policies hold back: its owner, FORCE, and the roles of
    -- those policies (tables alike in these are judged once)
    SELECT tab.oid, tab.relowner, tab.relforcerowsecurity,
           ARRAY(SELECT DISTINCT p.role FROM policy_roles AS p
                 WHERE p.tab = tab.oid AND p.permissive ORDER BY 1),
           ARRAY(SELECT DISTINCT p.role FROM policy_roles AS p
                 WHERE p.tab = tab.oid AND NOT p.permissive ORDER BY 1)
    FROM pg_class AS tab
    WHERE tab.oid IN (SELECT tab FROM granted)
), kind(id, owner, forced, shown, restricted) AS MATERIALIZED (
    -- those decisions, one row each
    SELECT row_number() OVER (), owner, forced, shown, restricted
    FROM (SELECT DISTINCT owner, forced, shown, restricted FROM tab_kind) AS k
), table_kind(tab, kind) AS MATERIALIZED (
    -- which of them each table's is
    SELECT t.tab, k.id
    FROM tab_kind AS t
    JOIN kind AS k USING (owner, forced, shown, restricted)
), kind_policy(kind, permissive, role) AS (
    -- the roles of its permissive policies USING (true) and of its restrictive ones
    SELECT k.id, true, unnest(k.shown) FROM kind AS k
    UNION ALL
    SELECT k.id, false, unnest(k.restricted) FROM kind AS k
), membership(member, role) AS (
    -- each role, and the roles it is a member of, directly or through others: those it may
    -- have the rights of or SET ROLE to (a superuser may to any, but nothing holds it back)
    SELECT oid, oid FROM pg_roles
    UNION
    SELECT d.datdba, owners.oid
    FROM pg_database AS d, pg_roles AS owners
    WHERE d.datname = current_database() AND owners.rolname = 'pg_database_owner'
    UNION
    SELECT membership.member, m.roleid
    FROM membership
    JOIN pg_auth_members AS m ON m.member = membership.role
), rights(member, role) AS MATERIALIZED (
    -- the roles with the rights of a role granted SELECT, of a table's owner or of a
    -- policy's role: itself, and its members that inherit them (BYPASSRLS and SUPERUSER are
    -- not inherited)
    SELECT m.member, m.role
    FROM membership AS m
    WHERE m.role IN (SELECT grantee FROM granted
                     UNION SELECT owner FROM kind
                     UNION SELECT role FROM policy_roles)
      AND pg_has_role(m.member, m.role, 'USAGE')
), granted_kind(relation, tab, kind, grantee) AS MATERIALIZED (
    -- each grant through which a table is read, with the kind of the table
    SELECT g.relation, g.tab, t.kind, g.grantee
    FROM granted AS g
    JOIN table_kind AS t ON t.tab = g.tab
), kind_grant(kind, grantee) AS MATERIALIZED (
    -- the grants through which each kind of table is read
    SELECT DISTINCT kind, grantee FROM granted_kind
), candidate(kind, grantee, role) AS MATERIALIZED (
    -- the roles that may read a table's rows through a relation granted to `grantee`: it,
    -- and those with its rights; for pg_read_all_data, the roles reading every relation
    -- through it (not itself, as which nobody logs in); for PUBLIC's grant, a role with no
    -- attribute or membership (0), as any role may be, and those a restrictive policy
    -- applies to (the policies hold back any other role only if they hold back that one)
    SELECT g.kind, g.grantee, rights.member
    FROM kind_grant AS g
    JOIN rights ON rights.role = g.grantee
    WHERE g.grantee IS DISTINCT FROM to_regrole('pg_read_all_data')
    UNION
    SELECT g.kind, g.grantee, all_data.role
    FROM kind_grant AS g
    JOIN all_data_readers AS all_data ON g.grantee = to_regrole('pg_read_all_data')
    UNION
    SELECT g.kind, 0, 0
    FROM kind_grant AS g
    WHERE g.grantee = 0
    UNION
    SELECT g.kind, 0, rights.member
    FROM kind_grant AS g
    JOIN kind_policy AS p ON p.kind = g.kind AND NOT p.permissive
    JOIN rights ON rights.role = p.role
    WHERE g.grantee = 0
), settable(member, role) AS MATERIALIZED (
    -- the other roles each of those may SET ROLE to (PostgreSQL 16 grants that apart from
    -- inheriting rights; a member always could before)
    SELECT m.member, m.role
    FROM membership AS m
    WHERE m.member IN (SELECT role FROM candidate)
      AND m.role <> m.member
      AND pg_has_role(m.member, m.role,
                      CASE WHEN current_setting('server_version_num')::int >= 160000
                           THEN 'SET' ELSE 'MEMBER' END)
), judged(kind, role) AS (
    -- each candidate, and each role it may SET ROLE to
    SELECT kind, role FROM candidate
    UNION
    SELECT c.kind, s.role
    FROM candidate AS c
    JOIN settable AS s ON s.member = c.role
), unrestricted(kind, role) AS MATERIALIZED (
    -- those the policies do not hold back: a superuser, a BYPASSRLS role, one with the
    -- table owner's rights (without FORCE), or one a permissive policy USING (true) applies
    -- to (its own, PUBLIC's, or one of a role whose rights it has) and no restrictive one
    SELECT j.kind, j.role
    FROM judged AS j
    JOIN pg_roles AS role ON role.oid = j.role
    WHERE role.rolsuper OR role.rolbypassrls
    UNION
    SELECT j.kind, j.role
    FROM judged AS j
    JOIN kind AS k ON k.id = j.kind AND NOT k.forced
    JOIN rights ON rights.member = j.role AND rights.role = k.owner
    UNION
    (SELECT j.kind, j.role
     FROM judged AS j
     JOIN kind_policy AS p ON p.kind = j.kind AND p.permissive AND p.role = 0
     UNION
     SELECT j.kind, j.role
     FROM judged AS j
     JOIN kind_policy AS p ON p.kind = j.kind AND p.permissive
     JOIN rights ON rights.member = j.role AND rights.role = p.role
     EXCEPT
     (SELECT j.kind, j.role
      FROM judged AS j
      JOIN kind_policy AS p ON p.kind = j.kind AND NOT p.permissive AND p.role = 0
      UNION
      SELECT j.kind, j.role
      FROM judged AS j
      JOIN kind_policy AS p ON p.kind = j.kind AND NOT p.permissive
      JOIN rights ON rights.member = j.role AND rights.role = p.role))
), held(kind, role) AS MATERIALIZED (
    -- the roles the policies hold back: candidates that neither see every row of the table
    -- themselves nor may SET ROLE to a role that does
    SELECT kind, role FROM candidate
    EXCEPT
    SELECT kind, role FROM unrestricted
    EXCEPT
    SELECT u.kind, s.member
    FROM settable AS s
    JOIN unrestricted AS u ON u.role = s.role
), held_reader(kind, grantee, role) AS MATERIALIZED (
    -- and the grants through which they read the table
    SELECT c.kind, c.grantee, c.role
    FROM candidate AS c
    JOIN held AS h ON h.kind = c.kind AND h.role = c.role
), held_grant(kind, grantee) AS MATERIALIZED (
    -- those grants
    SELECT DISTINCT kind, grantee FROM held_reader
), exposed(relation, tab, kind, grantees) AS MATERIALIZED (
    -- the tables each relation shows rows of that their policies hide from a role, and the
    -- grants through which such roles read them
    SELECT g.relation, g.tab, g.kind, array_agg(DISTINCT g.grantee ORDER BY g.grantee)
    FROM granted_kind AS g
    JOIN held_grant AS h ON h.kind = g.kind AND h.grantee = g.grantee
    GROUP BY g.relation, g.tab, g.kind
), audience(kind, grantees, who) AS MATERIALIZED (
    -- those roles as the message names them, once for each kind of table and set of grants:
    -- every role when PUBLIC's grant reaches one with no attribute or membership (0), else
    -- five by name and how many more
    SELECT a.kind, a.grantees,
           CASE WHEN bool_or(h.role = 0) THEN 'every role (through a grant to PUBLIC)'
                ELSE array_to_string((array_agg(DISTINCT format('`%s`', r.rolname)
                                                ORDER BY format('`%s`', r.rolname)))[1:5], ', ')
                     || CASE WHEN count(DISTINCT h.role) > 5
                             THEN format(' and %s more', count(DISTINCT h.role) - 5)
                             ELSE '' END
           END
    FROM (SELECT DISTINCT kind, grantees FROM exposed) AS a
    CROSS JOIN LATERAL unnest(a.grantees) AS g(grantee)
    JOIN held_reader AS h ON h.kind = a.kind AND h.grantee = g.grantee
    LEFT JOIN pg_roles AS r ON r.oid = h.role
    GROUP BY a.kind, a.grantees
), lets(relation, text, tables) AS (
    -- `a`, `b` read rows of `t1`, `t2`, and `c` rows of `t3`: the tables grouped by who
    SELECT w.relation,
           string_agg(format('%s %srows of %s', w.who, CASE WHEN w.n = 1 THEN 'read ' ELSE '' END,
                             w.tables), ', and ' ORDER BY w.n),
           sum(w.count)
    FROM (SELECT e.relation, a.who,
                 string_agg(format('`%s.%s`', tn.nspname, tab.relname), ', '
                            ORDER BY tn.nspname, tab.relname) AS tables,
                 count(*) AS count,
                 row_number() OVER (PARTITION BY e.relation
                                    ORDER BY min(format('%s.%s', tn.nspname, tab.relname)))
                     AS n
          FROM exposed AS e
          JOIN audience AS a ON a.kind = e.kind AND a.grantees = e.grantees
          JOIN pg_class AS tab ON tab.oid = e.tab
          JOIN pg_namespace AS tn ON tn.oid = tab.relnamespace
          GROUP BY e.relation, a.who) AS w
    GROUP BY w.relation
)
SELECT
    format('%s.%s', vn.nspname, v.relname) AS subject,
    format('View `%s.%s` lets %s %s policies hide from them: the view reads %s with the '
           'rights of its owner `%s`, whom the policies do not hold back.', vn.nspname,
           v.relname, l.text, CASE WHEN l.tables = 1 THEN 'its' ELSE 'their' END,
           CASE WHEN l.tables = 1 THEN 'it' ELSE 'them' END, owner.rolname) AS message
FROM lets AS l
JOIN pg_class AS v ON v.oid = l.relation
JOIN pg_namespace AS vn ON vn.oid = v.relnamespace
JOIN pg_roles AS owner ON owner.oid = v.relowner
WHERE vn.nspname <> ALL (ARRAY['information_schema', 'dbsafe'])
  AND vn.nspname !~ '^pg_'
ORDER BY 1
