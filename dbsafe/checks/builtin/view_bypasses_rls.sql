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
-- A view whose own WHERE keeps each reader to rows a policy shows it (PostgreSQL 16 and
-- later): `security_barrier`, reading the table alone (no join, subquery, CTE or second
-- read of it), and its WHERE holding, for each role it is granted to, each condition ANDed
-- in the USING of one permissive `FOR SELECT` or `FOR ALL` policy applying to that role
-- (PUBLIC's, or one of a role whose rights it has by membership) and in that of every
-- restrictive one: the same expression, or the same operator (its commutator, the operands
-- swapped) over the same operands, `(SELECT x)` read as `x`, no volatile function in it.
-- HOCKIA's `profiles_self` (`security_barrier`, `WHERE id = (SELECT auth.uid())`, granted
-- to `authenticated`, whose policy is `USING ((SELECT auth.uid()) = id)`): on PostgreSQL 18,
-- as `authenticated` with either of two users' `request.jwt.claims`, it showed that user's
-- row, which the table showed too (other permissive policies only show more there). Still
-- flagged: a view not `security_barrier` (a function in the reader's own WHERE with a
-- lower cost saw another user's row before the view's WHERE dropped it), one ORing the
-- condition with another, joining or reading the table twice (not followed), one a
-- restrictive policy is not implied by, and one granted to a role the policy does not apply
-- to (Supabase grants new views to `anon` too: `anon` sets the claims itself and reads a
-- user's row the table hides from it; a superuser owner's member inherits its grant, not
-- its superuser).
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
), filtering(view, tab, tree) AS (
    -- the views that may keep each reader to the rows the policies show it, by their own
    -- WHERE: `security_barrier` (else a cheap function in the reader's own WHERE runs on
    -- rows before the view's WHERE drops them: on PostgreSQL 18 a `RAISE NOTICE` showed
    -- another user's row through such a view without it), whose stored query (PostgreSQL 16
    -- and later: before, OLD and NEW had entries of their own) has one range table entry,
    -- the table's (no join, subquery, CTE or second read of the table shows other rows),
    -- and no brace escaped in a name (the node tree is cut at its braces); the tree from its
    -- WHERE (`:quals`) on
    SELECT b.view, b.tab,
           substr(r.ev_action::text, strpos(r.ev_action::text, q.quals) + length(q.quals) - 1)
    FROM bypassed AS b
    JOIN pg_class AS v ON v.oid = b.view
    JOIN pg_rewrite AS r ON r.ev_class = b.view AND r.rulename = '_RETURN',
    (VALUES (':jointree {FROMEXPR :fromlist ({RANGETBLREF :rtindex 1}) :quals {')) AS q(quals)
    WHERE current_setting('server_version_num')::int >= 160000
      AND coalesce((SELECT o.option_value::boolean
                    FROM pg_options_to_table(v.reloptions) AS o
                    WHERE o.option_name = 'security_barrier'), false)
      AND strpos(r.ev_action::text, q.quals) > 0
      AND (SELECT count(*) FROM regexp_matches(r.ev_action::text, '\{RANGETBLENTRY ', 'g')) = 1
      AND substring(r.ev_action::text FROM ':rtekind 0 :relid (\d+) ')::oid = b.tab
      AND r.ev_action::text !~ '\\[{}]'
), trees(kind, id, tab, tree, volatile) AS (
    -- those WHEREs, and the USING of their tables' FOR SELECT and FOR ALL policies: node
    -- trees (`pg_node_tree`), in which Var 1 is the table; whether a policy calls a volatile
    -- function (each call may differ, the view's from the policy's)
    SELECT 'v', view, tab, tree, false FROM filtering
    UNION ALL
    SELECT 'p', p.oid, p.polrelid, p.polqual::text,
           EXISTS (SELECT FROM regexp_matches(p.polqual::text, ':(?:op)?funcid (\d+) ', 'g') AS f
                   JOIN pg_proc AS fn ON fn.oid = f[1]::oid AND fn.provolatile = 'v')
    FROM pg_policy AS p
    WHERE p.polrelid IN (SELECT tab FROM filtering) AND p.polcmd IN ('r', '*')
      AND p.polqual IS NOT NULL AND p.polqual::text !~ '\\[{}]'
), terms(kind, id, tab, volatile, node, conjuncts, opno, commutator, collid, left_operand,
        right_operand) AS MATERIALIZED (
    -- each conjunct of those WHEREs and USINGs (what their AND holds, or the whole when it is
    -- no AND), and a binary operator's operator, its commutator, its collation and its two
    -- operands, `(SELECT x)` read as `x`: the same value, once per statement, when no
    -- function in it is volatile (checked below), for a subquery of one column and nothing
    -- else (no FROM, WHERE, GROUP BY, HAVING, ORDER BY, LIMIT). Each tree is cut into its
    -- nodes apart, from a brace to the next one closing at its depth, each in the last node
    -- a level up before it.
    SELECT t.kind, t.id, t.tab, t.volatile, c.node, c.conjuncts, o.oid, o.oprcom,
           substring(c.node FROM '^\{OPEXPR [^{]* :inputcollid (\d+) :args '),
           c.left_operand, c.right_operand
    FROM trees AS t
    CROSS JOIN LATERAL (
        WITH braces(pos, open, depth) AS (
            SELECT sum(length(p.piece)) OVER w - length(p.piece) + 1, left(p.piece, 1) = '{',
                   sum(CASE left(p.piece, 1) WHEN '{' THEN 1 WHEN '}' THEN -1 ELSE 0 END) OVER w
            FROM regexp_split_to_table(t.tree, '(?=[{}])') WITH ORDINALITY AS p(piece, n)
            WINDOW w AS (ORDER BY p.n)
        ), spans(pos, stop, depth) AS (
            -- the first node is the WHERE or the USING: what follows a view's is left out
            SELECT s.pos, s.stop, s.depth
            FROM (SELECT s.pos, s.stop, s.depth,
                         first_value(s.stop) OVER (ORDER BY s.pos) AS root_stop
                  FROM (SELECT b.pos, b.open, b.depth,
                               lead(b.pos) OVER (PARTITION BY b.depth + (NOT b.open)::int
                                                 ORDER BY b.pos) AS stop
                        FROM braces AS b) AS s
                  WHERE s.open) AS s
            WHERE s.pos <= s.root_stop
        ), nodes(pos, node, parent, siblings) AS MATERIALIZED (
            SELECT n.pos, substr(t.tree, n.pos::int, (n.stop - n.pos + 1)::int), n.parent,
                   count(*) OVER (PARTITION BY n.parent)
            FROM (SELECT s.pos, s.stop, s.outer_copy,
                         max(s.pos) FILTER (WHERE s.outer_copy)
                             OVER (PARTITION BY s.level ORDER BY s.pos) AS parent
                  FROM (SELECT pos, stop, depth AS level, false AS outer_copy FROM spans
                        UNION ALL
                        SELECT pos, stop, depth + 1, true FROM spans) AS s) AS n
            WHERE NOT n.outer_copy
        ), conjuncts(pos, node) AS (
            SELECT c.pos, c.node
            FROM nodes AS r
            JOIN nodes AS c ON c.parent = r.pos
            WHERE r.pos = 1 AND r.node LIKE '{BOOLEXPR :boolop and %'
            UNION ALL
            SELECT r.pos, r.node
            FROM nodes AS r
            WHERE r.pos = 1 AND r.node NOT LIKE '{BOOLEXPR :boolop and %'
        ), bare(pos, node) AS (
            SELECT s.pos, x.node
            FROM nodes AS s
            JOIN nodes AS q ON q.parent = s.pos
            JOIN nodes AS f ON f.parent = q.pos AND f.siblings = 2
             AND f.node = '{FROMEXPR :fromlist <> :quals <>}'
            JOIN nodes AS e ON e.parent = q.pos AND e.siblings = 2
             AND e.node LIKE '{TARGETENTRY %:resjunk false}'
            JOIN nodes AS x ON x.parent = e.pos AND x.siblings = 1
            WHERE s.node LIKE '{SUBLINK :subLinkType 4 :subLinkId 0 :testexpr <> :operName <> '
                              ':subselect {QUERY %'
        )
        SELECT c.node, count(*) OVER () AS conjuncts,
               max(coalesce(b.node, a.node)) FILTER (WHERE a.pos = min_pos) AS left_operand,
               max(coalesce(b.node, a.node)) FILTER (WHERE a.pos <> min_pos) AS right_operand
        FROM conjuncts AS c
        LEFT JOIN LATERAL (SELECT a.pos, a.node, min(a.pos) OVER () AS min_pos
                           FROM nodes AS a
                           WHERE a.parent = c.pos AND a.siblings = 2
                             AND c.node LIKE '{OPEXPR %') AS a ON true
        LEFT JOIN bare AS b ON b.pos = a.pos
        GROUP BY c.node
    ) AS c
    LEFT JOIN pg_operator AS o
      ON o.oid = substring(c.node FROM '^\{OPEXPR :opno (\d+) ')::oid
), implied(view, policy) AS (
    -- the policies each view's WHERE implies: each conjunct of the policy's USING is one of
    -- the view's, the same node, or the same operator (or its commutator, the operands
    -- swapped) over the same operands in the same collation; no volatile function in it.
    -- Each conjunct is written as each form it matches in, and a policy's conjunct goes
    -- with the views of its table that have one of its forms.
    SELECT v.view, m.id
    FROM (SELECT f.kind, f.id, f.node, f.conjuncts,
                 array_agg(f.id) FILTER (WHERE f.kind = 'v') OVER (PARTITION BY f.tab, f.form)
                     AS views
          FROM (SELECT kind, id, tab, node, conjuncts, node AS form
                FROM terms WHERE NOT volatile
                UNION ALL
                SELECT kind, id, tab, node, conjuncts,
                       format('%s %s %s %s', opno, collid, left_operand, right_operand)
                FROM terms WHERE NOT volatile AND left_operand IS NOT NULL
                 AND right_operand IS NOT NULL
                UNION ALL
                SELECT kind, id, tab, node, conjuncts,
                       format('%s %s %s %s', commutator, collid, right_operand, left_operand)
                FROM terms WHERE kind = 'v' AND commutator <> 0 AND left_operand IS NOT NULL
                 AND right_operand IS NOT NULL) AS f) AS m,
         unnest(m.views) AS v(view)
    WHERE m.kind = 'p'
    GROUP BY v.view, m.id, m.conjuncts
    HAVING count(DISTINCT m.node) = m.conjuncts
), kept(view, tab, grantee) AS (
    -- the grants through which a view shows only rows the policies show its reader: one
    -- permissive policy applying to the grantee and to each role with its rights (PUBLIC's,
    -- or a role's whose rights it has by membership: a superuser's members do not have the
    -- rights it has by being one) and every restrictive one are implied by the view's WHERE
    SELECT f.view, f.tab, g.grantee
    FROM filtering AS f
    JOIN readers AS g ON g.view = f.view
    WHERE EXISTS (SELECT FROM pg_policy AS p
                  JOIN implied AS i ON i.view = f.view AND i.policy = p.oid
                  WHERE p.polrelid = f.tab AND p.polpermissive
                    AND (0 = ANY (p.polroles)
                         OR g.grantee = ANY (p.polroles)
                         OR EXISTS (SELECT FROM unnest(p.polroles) AS r(role), pg_roles AS grantee
                                    WHERE grantee.oid = g.grantee AND NOT grantee.rolsuper
                                      AND pg_has_role(g.grantee, r.role, 'USAGE'))))
      AND NOT EXISTS (SELECT FROM pg_policy AS p
                      WHERE p.polrelid = f.tab AND NOT p.polpermissive
                        AND p.polcmd IN ('r', '*')
                        AND NOT EXISTS (SELECT FROM implied AS i
                                        WHERE i.view = f.view AND i.policy = p.oid))
), granted(relation, tab, grantee) AS (
    -- who may read those tables' rows through each such view: the roles granted SELECT
    -- on it, or on a view that reads it on their behalf (0 is PUBLIC)
    SELECT DISTINCT b.view, b.tab, g.grantee
    FROM bypassed AS b
    JOIN readers AS g ON g.view = b.view
    WHERE NOT EXISTS (SELECT FROM kept AS k
                      WHERE k.view = b.view AND k.tab = b.tab AND k.grantee = g.grantee)
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
