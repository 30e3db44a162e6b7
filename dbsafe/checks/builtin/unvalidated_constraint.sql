-- dbsafe:check DBS512 unvalidated-constraint
-- severity: warning
-- since: 0.1.0
-- summary: Constraint was added `NOT VALID` and never validated, so existing rows may break it.
-- help: Fix the violating rows, then run ALTER TABLE ... VALIDATE CONSTRAINT (it takes only a SHARE UPDATE EXCLUSIVE lock).
--
-- ## Why
-- Adding a CHECK or foreign key constraint `NOT VALID` and validating it in a later
-- migration is the safe way to add one to a large table (DBS106). Until `VALIDATE
-- CONSTRAINT` runs, PostgreSQL enforces it only for new and updated rows: old rows may
-- violate it, the planner cannot rely on it, and the follow-up migration is easy to forget.
-- The message counts the rows that violate it today (up to 1,000), which is what
-- `VALIDATE CONSTRAINT` would trip over (for a `MATCH FULL` foreign key, rows mixing NULLs
-- and values in its columns too).
--
-- ## Not flagged
-- Validated constraints. `NOT ENFORCED` constraints (PostgreSQL 18): they are declared not
-- to hold, and VALIDATE CONSTRAINT refuses them (55000) until ALTER CONSTRAINT ... ENFORCED,
-- which validates them. Constraints inherited by partitions (or inheriting tables) are
-- reported once, on the table that defines them. Counting scans the table, bounded by
-- `check-timeout`; a table dbsafe's role may not read (or one a foreign key references),
-- or whose row-level security applies to it (some rows hidden), is not counted, and the
-- message says so.
WITH con AS (
    SELECT
        c.oid,
        c.conname,
        c.contype,
        c.conrelid,
        n.nspname,
        t.relname,
        -- What VALIDATE CONSTRAINT reads: a CHECK or NOT NULL also holds for the rows of
        -- tables inheriting from the table, unless NO INHERIT; a foreign key holds for, and is
        -- met by, plain tables' own rows only (ONLY); a partitioned table's rows are its
        -- partitions'.
        CASE c.contype
            WHEN 'c' THEN format('SELECT FROM %s%I.%I AS child WHERE NOT (%s)', scope.own,
                                 n.nspname, t.relname, pg_get_expr(c.conbin, c.conrelid))
            WHEN 'n' THEN format('SELECT FROM %s%I.%I AS child WHERE %I IS NULL', scope.own,
                                 n.nspname, t.relname, (SELECT a.attname FROM pg_attribute AS a
                                                        WHERE a.attrelid = c.conrelid
                                                          AND a.attnum = c.conkey[1]))
            WHEN 'f' THEN (
                -- MATCH SIMPLE: a row with a NULL in any key column is fine; MATCH FULL: one
                -- with NULLs and values mixed violates it (23503), one all NULL is fine
                SELECT format('SELECT FROM %s%I.%I AS child WHERE %s NOT EXISTS '
                              '(SELECT FROM %s%I.%I AS parent WHERE %s)%s', scope.plain,
                              n.nspname, t.relname,
                              CASE WHEN c.confmatchtype = 'f'
                                   THEN format('num_nonnulls(%1$s) > 0 AND (num_nulls(%1$s) > 0 '
                                               'OR', string_agg(format('child.%I', ca.attname),
                                                                ', '))
                                   ELSE string_agg(format('child.%I IS NOT NULL', ca.attname),
                                                   ' AND ') || ' AND' END,
                              CASE WHEN p.relkind = 'r' THEN 'ONLY ' ELSE '' END,
                              pn.nspname, p.relname,
                              string_agg(format('parent.%I = child.%I', pa.attname, ca.attname),
                                         ' AND '),
                              CASE WHEN c.confmatchtype = 'f' THEN ')' ELSE '' END)
                FROM unnest(c.conkey, c.confkey) AS k (child_att, parent_att)
                JOIN pg_attribute AS ca ON ca.attrelid = c.conrelid AND ca.attnum = k.child_att
                JOIN pg_attribute AS pa ON pa.attrelid = c.confrelid
                                       AND pa.attnum = k.parent_att
                JOIN pg_class AS p ON p.oid = c.confrelid
                JOIN pg_namespace AS pn ON pn.oid = p.relnamespace
                GROUP BY pn.nspname, p.relname, p.relkind)
        END AS violations,
        -- Whether dbsafe's role may read what the count reads: the table, and for a foreign
        -- key the referenced one, each in a schema it may use (else 42501 fails the check),
        -- every row of them (row-level security that applies to the role hides rows: the
        -- count would be too low, and a hidden parent row makes its children look orphaned;
        -- VALIDATE CONSTRAINT reads them all).
        has_schema_privilege(n.oid, 'USAGE') AND has_table_privilege(t.oid, 'SELECT')
            AND NOT row_security_active(t.oid)
            AND (c.contype <> 'f'
                 OR EXISTS (SELECT FROM pg_class AS p WHERE p.oid = c.confrelid
                              AND has_schema_privilege(p.relnamespace, 'USAGE')
                              AND has_table_privilege(p.oid, 'SELECT')
                              AND NOT row_security_active(p.oid))) AS readable
    FROM pg_constraint AS c
    JOIN pg_class AS t ON t.oid = c.conrelid
    JOIN pg_namespace AS n ON n.oid = t.relnamespace
    CROSS JOIN LATERAL (
        SELECT CASE WHEN t.relkind = 'r' THEN 'ONLY ' ELSE '' END AS plain,
               CASE WHEN t.relkind = 'r' AND c.connoinherit THEN 'ONLY ' ELSE '' END AS own
    ) AS scope
    WHERE NOT c.convalidated
      AND c.contype IN ('c', 'f', 'n')
      -- NOT ENFORCED (conenforced, PostgreSQL 18) is never validated; read through to_jsonb
      -- so that the query still parses on servers without the column
      AND coalesce((to_jsonb(c) ->> 'conenforced')::boolean, true)
      -- A partition's or child's copy of its parent's constraint (a CHECK or NOT NULL is
      -- inherited with conparentid 0, a foreign key cloned with it set) goes with the
      -- parent's: VALIDATE CONSTRAINT there validates the copies, and its count reads them.
      AND c.conislocal
      AND n.nspname <> ALL (ARRAY['information_schema', 'dbsafe'])
      AND n.nspname !~ '^pg_'
),
counted AS (
    SELECT
        con.*,
        -- Dynamic SQL inside one SELECT: ts_stat() runs the query it is given and counts
        -- the rows carrying the lexeme 'x' (query_to_xml needs a server built with libxml).
        CASE WHEN con.readable THEN
            coalesce((SELECT ts.ndoc
                      FROM ts_stat(format('SELECT ''x''::tsvector FROM (%s LIMIT 1000) AS v',
                                          con.violations)) AS ts), 0)
        END AS bad_rows
    FROM con
)
SELECT
    format('%s.%s.%s', nspname, relname, conname) AS subject,
    CASE WHEN bad_rows IS NULL
         THEN format('Constraint `%s` on `%s.%s` is NOT VALID and was never validated; '
                     'dbsafe''s role may not read the rows it covers, so they were not '
                     'counted.', conname, nspname, relname)
         WHEN bad_rows = 0
         THEN format('Constraint `%s` on `%s.%s` is NOT VALID and was never validated; no row '
                     'violates it, so VALIDATE CONSTRAINT will succeed.', conname, nspname,
                     relname)
         ELSE format('Constraint `%s` on `%s.%s` is NOT VALID and was never validated; %s%s '
                     '%s it.', conname, nspname, relname,
                     CASE WHEN bad_rows >= 1000 THEN 'at least ' ELSE '' END, bad_rows,
                     CASE WHEN bad_rows = 1 THEN 'row violates' ELSE 'rows violate' END)
    END AS message,
    bad_rows AS violating_rows
FROM counted
ORDER BY 1
