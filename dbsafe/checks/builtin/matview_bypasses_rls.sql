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
-- A materialized view that no role the policies hold back may read. Its readers: the roles
-- granted SELECT on it or one of its columns (PUBLIC too) and their members that inherit
-- their rights; its owner's members that inherit its rights (not its `BYPASSRLS` or
-- `SUPERUSER`); on PostgreSQL 14 and later the roles with `pg_read_all_data`'s rights or
-- that may `SET ROLE` to it (the policies hold it back, but reading a materialized view
-- checks none), not a member that only inherits the rights of a role that may `SET ROLE` to
-- it (`WITH INHERIT TRUE, SET FALSE`: it has neither); and the readers of a view that reads
-- it with its owner's rights, when that owner may read it as the view does (every column
-- for a whole row: `SELECT m FROM m` by an owner with SELECT on some columns fails), or of
-- another materialized view copying it (a `security_invoker` view's readers need their own
-- grant on it). None of them is held back when each is a superuser, a `BYPASSRLS` role, one
-- with the table owner's rights (the table not `FORCE ROW LEVEL SECURITY`), one a
-- permissive `FOR SELECT` or `FOR ALL` policy `USING (true)` applies to (its own, PUBLIC's,
-- or that of a role whose rights it has) and no restrictive one, or one that may `SET ROLE`
-- to any of these (Supabase's `FOR SELECT TO anon, authenticated USING (true)` on a
-- materialized view granted to `anon` and `authenticated`). A member inherits a role's
-- grants but not its `BYPASSRLS`: one granted to a `BYPASSRLS` role is still flagged when a
-- member that may not `SET ROLE` to it (`WITH SET FALSE`, PostgreSQL 16 and later) inherits
-- its grants. PUBLIC's grant reaches every role, one with no membership too: flagged unless
-- a permissive policy `USING (true)` is PUBLIC's and no restrictive one holds back a role
-- (one that neither bypasses the policies nor may `SET ROLE` to one that does).
--
-- An owner the policies hold back: one who neither owns the table (nor has its owner's
-- rights) nor is a superuser or `BYPASSRLS`, or the table's owner when the table is `FORCE
-- ROW LEVEL SECURITY` (its readers see the rows that owner may see). A materialized view
-- read through another materialized view is judged at that one. What a function the query
-- calls reads. The rows of an earlier owner: a materialized view whose owner was changed
-- since its last refresh holds what the earlier owner read until the next `REFRESH`, and is
-- judged by its owner now (one whose owner may no longer read the table still holds the
-- rows its last refresh read, and is flagged).
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
), readable(oid, grantee, refreshing) AS (
    -- the views and materialized views some role may read: the roles granted SELECT on it
    -- or one of its columns (0 is PUBLIC), its owner too, whose members that inherit its
    -- rights read it (an owner may revoke its own SELECT: the default privileges when none
    -- were ever granted), and those reading every relation through pg_read_all_data
    SELECT rel.oid, a.grantee, false
    FROM relation AS rel
    JOIN pg_class AS c ON c.oid = rel.oid,
         aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) AS a
    WHERE a.privilege_type = 'SELECT'
    UNION
    SELECT rel.oid, a.grantee, false
    FROM relation AS rel
    JOIN pg_attribute AS att ON att.attrelid = rel.oid, aclexplode(att.attacl) AS a
    WHERE a.privilege_type = 'SELECT'
    UNION
    -- pg_read_all_data, standing for the roles that read every relation through it (its
    -- members that inherit its rights are such roles already; those of one that may only
    -- SET ROLE to it are not: they inherit no right to read)
    SELECT rel.oid, to_regrole('pg_read_all_data')::oid, false
    FROM relation AS rel
    WHERE EXISTS (SELECT FROM all_data_readers)
    UNION
    -- and what such a relation reads on its readers' behalf: a view reads with its owner's
    -- rights (when that owner may read it as the view does: else reading it fails), a
    -- materialized view's refresh with its owner's, and a security_invoker view with those
    -- of the role running the query, which is its own reader (who needs a grant of their
    -- own on what it reads) except inside a refresh, where it is the materialized view's
    -- owner (`refreshing`); what a refresh stored stays readable, whatever its owner may
    -- read now
    SELECT inner_rel.oid, readable.grantee, outer_rel.relkind = 'm' OR readable.refreshing
    FROM readable
    JOIN relation AS outer_rel ON outer_rel.oid = readable.oid
    JOIN reads ON reads.reader = outer_rel.oid
    JOIN relation AS inner_rel ON inner_rel.oid = reads.read
    WHERE outer_rel.relkind = 'm' OR readable.refreshing
       OR (NOT outer_rel.invoker
           AND (outer_rel.oid, inner_rel.oid) IN (SELECT reader, read FROM owner_may_read))
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
    -- owner's rights, as PostgreSQL's check_enable_rls decides (what a refresh stored stays
    -- readable, whatever that role may read now)
    SELECT DISTINCT fills.matview, tab.oid AS tab, fills.role, fills.via
    FROM fills
    JOIN reads ON reads.reader = fills.oid
    JOIN pg_class AS tab ON tab.oid = reads.read
    JOIN pg_roles AS role ON role.oid = fills.role
    WHERE tab.relkind IN ('r', 'p')
      AND tab.relrowsecurity
      AND (role.rolsuper OR role.rolbypassrls
           OR (pg_has_role(fills.role, tab.relowner, 'USAGE') AND NOT tab.relforcerowsecurity))
), granted(relation, tab, grantee) AS (
    -- who may read those tables' rows through each such materialized view: the roles
    -- granted SELECT on it, or on what reads it on their behalf (0 is PUBLIC)
    SELECT DISTINCT b.matview, b.tab, g.grantee
    FROM bypassed AS b
    JOIN readable AS g ON g.oid = b.matview
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
    format('%s.%s', mn.nspname, m.relname) AS subject,
    format('Materialized view `%s.%s` lets %s %s policies hide from them: REFRESH reads %s, '
           'whom the policies do not hold back%s.',
           mn.nspname, m.relname, l.text, CASE WHEN l.tables = 1 THEN 'its' ELSE 'their' END,
           t.reads,
           CASE WHEN m.relispopulated THEN ''
                ELSE ' (from its first REFRESH on: it is not populated yet)' END) AS message
FROM (
    SELECT b.matview,
           string_agg(format('`%s.%s` %s `%s`', tn.nspname, tab.relname,
                             CASE WHEN b.via IS NULL THEN 'as the materialized view''s owner'
                                  ELSE format('through view `%s.%s` as that view''s owner',
                                              vn.nspname, v.relname) END,
                             role.rolname),
                      ', ' ORDER BY tn.nspname, tab.relname, vn.nspname, v.relname) AS reads
    FROM bypassed AS b
    JOIN exposed AS e ON e.relation = b.matview AND e.tab = b.tab
    JOIN pg_class AS tab ON tab.oid = b.tab
    JOIN pg_namespace AS tn ON tn.oid = tab.relnamespace
    JOIN pg_roles AS role ON role.oid = b.role
    LEFT JOIN pg_class AS v ON v.oid = b.via
    LEFT JOIN pg_namespace AS vn ON vn.oid = v.relnamespace
    GROUP BY b.matview
) AS t
JOIN lets AS l ON l.relation = t.matview
JOIN pg_class AS m ON m.oid = t.matview
JOIN pg_namespace AS mn ON mn.oid = m.relnamespace
WHERE mn.nspname <> ALL (ARRAY['information_schema', 'dbsafe'])
  AND mn.nspname !~ '^pg_'
ORDER BY 1
