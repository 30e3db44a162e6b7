-- dbsafe:check DBS513 orphaned-rows
-- severity: error
-- since: 0.1.0
-- summary: Rows reference a parent row that does not exist, through a foreign key that is not enforced for them.
-- help: Delete or repair the orphaned rows (or restore their parents), then VALIDATE the constraint or re-enable its triggers.
--
-- ## Why
-- A foreign key guarantees that every referencing row has its parent only once it is
-- validated and while its triggers fire. Rows written before a `NOT VALID` foreign key was
-- added, or while its triggers were disabled (`ALTER TABLE ... DISABLE TRIGGER ALL`, common
-- in bulk loads and restores), can point at nothing: joins silently drop them and
-- `VALIDATE CONSTRAINT` fails. The message counts them (up to 1,000).
--
-- ## Not flagged
-- Validated foreign keys whose triggers are enabled: PostgreSQL guarantees them, and
-- scanning every table would be slow. `NOT ENFORCED` foreign keys (PostgreSQL 18): declared
-- not to hold, they have no triggers and VALIDATE CONSTRAINT refuses them (55000). Rows with a NULL in any key column (MATCH
-- SIMPLE, the default), or in every key column (MATCH FULL: a row with NULLs and values
-- mixed is counted, VALIDATE CONSTRAINT fails on it, 23503).
-- Rows of tables inheriting from the table (its foreign key does not reach them; a
-- partitioned table's partitions are checked through it).
-- Rows loaded with `session_replication_role = replica` are not detected. Foreign keys
-- between tables dbsafe's role may not read (or in schemas it may not use, or whose
-- row-level security applies to it): their rows are not counted, and the report lists them
-- as not checked (DBS512 still names a NOT VALID one).
WITH fk AS (
    SELECT
        c.oid,
        c.conname,
        t.oid AS oid_child,
        n.oid AS child_schema,
        p.oid AS oid_parent,
        pn.oid AS parent_schema,
        n.nspname,
        t.relname,
        format('%s.%s', pn.nspname, p.relname) AS parent,
        NOT c.convalidated AS not_valid,
        -- A foreign key holds for its table's own rows and is met by the referenced
        -- table's own rows, not those of tables inheriting from either (ONLY, as
        -- PostgreSQL reads them); a partitioned table's rows are its partitions'.
        -- MATCH SIMPLE: a row with a NULL in any key column references nothing and is
        -- fine; MATCH FULL: a row with NULLs and values mixed breaks the key
        -- (VALIDATE CONSTRAINT fails on it, 23503), one all NULL is fine.
        format('SELECT FROM %s%I.%I AS child WHERE %s NOT EXISTS '
               '(SELECT FROM %s%I.%I AS parent WHERE %s)%s',
               CASE WHEN t.relkind = 'r' THEN 'ONLY ' ELSE '' END, n.nspname, t.relname,
               CASE WHEN c.confmatchtype = 'f'
                    THEN format('num_nonnulls(%1$s) > 0 AND (num_nulls(%1$s) > 0 OR',
                                keys.columns)
                    ELSE keys.not_null || ' AND' END,
               CASE WHEN p.relkind = 'r' THEN 'ONLY ' ELSE '' END,
               pn.nspname, p.relname, keys.matches,
               CASE WHEN c.confmatchtype = 'f' THEN ')' ELSE '' END) AS orphans
    FROM pg_constraint AS c
    JOIN pg_class AS t ON t.oid = c.conrelid
    JOIN pg_namespace AS n ON n.oid = t.relnamespace
    JOIN pg_class AS p ON p.oid = c.confrelid
    JOIN pg_namespace AS pn ON pn.oid = p.relnamespace
    CROSS JOIN LATERAL (
        SELECT string_agg(format('child.%I IS NOT NULL', ca.attname), ' AND ') AS not_null,
               string_agg(format('child.%I', ca.attname), ', ') AS columns,
               string_agg(format('parent.%I = child.%I', pa.attname, ca.attname), ' AND ')
                   AS matches
        FROM unnest(c.conkey, c.confkey) AS k (child_att, parent_att)
        JOIN pg_attribute AS ca ON ca.attrelid = c.conrelid AND ca.attnum = k.child_att
        JOIN pg_attribute AS pa ON pa.attrelid = c.confrelid AND pa.attnum = k.parent_att
    ) AS keys
    WHERE c.contype = 'f'
      AND c.conparentid = 0
      -- NOT ENFORCED (conenforced, PostgreSQL 18) is never validated; read through to_jsonb
      -- so that the query still parses on servers without the column
      AND coalesce((to_jsonb(c) ->> 'conenforced')::boolean, true)
      AND n.nspname <> ALL (ARRAY['information_schema', 'dbsafe'])
      AND n.nspname !~ '^pg_'
      AND (NOT c.convalidated
           OR EXISTS (SELECT FROM pg_trigger AS tg
                      WHERE tg.tgconstraint = c.oid AND tg.tgenabled = 'D'))
),
access AS (
    -- counting reads both tables, each in its schema, every row of them: what dbsafe's role
    -- may not read is not counted (42501 failed the whole check), nor a table whose
    -- row-level security applies to it (hidden children go uncounted, a hidden parent row
    -- orphans its children; PostgreSQL's foreign key reads them all), and said so
    SELECT fk.*,
           has_schema_privilege(fk.child_schema, 'USAGE')
           AND has_table_privilege(fk.oid_child, 'SELECT')
           AND NOT row_security_active(fk.oid_child)
           AND has_schema_privilege(fk.parent_schema, 'USAGE')
           AND has_table_privilege(fk.oid_parent, 'SELECT')
           AND NOT row_security_active(fk.oid_parent) AS readable
    FROM fk
),
counted AS (
    SELECT
        access.*,
        -- Dynamic SQL inside one SELECT: ts_stat() runs the query it is given and counts
        -- the rows carrying the lexeme 'x' (query_to_xml needs a server built with libxml).
        coalesce((SELECT ts.ndoc
                  FROM ts_stat(format('SELECT ''x''::tsvector FROM (%s LIMIT 1000) AS v',
                                      access.orphans)) AS ts), 0) AS orphan_rows
    FROM access
    WHERE readable
)
(SELECT
     format('%s.%s.%s', nspname, relname, conname) AS subject,
     format('%s%s row%s of `%s.%s` reference%s no row of `%s` through foreign key `%s`, which '
            '%s.', CASE WHEN orphan_rows >= 1000 THEN 'At least ' ELSE '' END, orphan_rows,
            CASE WHEN orphan_rows = 1 THEN '' ELSE 's' END, nspname, relname,
            CASE WHEN orphan_rows = 1 THEN 's' ELSE '' END, parent, conname,
            CASE WHEN not_valid THEN 'is NOT VALID' ELSE 'has its triggers disabled' END)
         AS message,
     orphan_rows,
     NULL AS not_checked
 FROM counted
 WHERE orphan_rows > 0
 ORDER BY 1)
UNION ALL
SELECT NULL, NULL, NULL,
       format('%s foreign key%s whose tables dbsafe''s role may not read in full (SELECT on '
              'both, USAGE on their schemas, no row-level security applying to it): %s%s', count(*), CASE WHEN count(*) = 1 THEN '' ELSE 's' END,
              array_to_string((array_agg(format('`%s.%s.%s`', nspname, relname, conname)
                                         ORDER BY nspname, relname, conname))[1:5], ', '),
              CASE WHEN count(*) > 5 THEN format(' and %s more', count(*) - 5) ELSE '' END)
FROM access
WHERE NOT readable
HAVING count(*) > 0
