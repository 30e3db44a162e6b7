-- dbsafe:check DBS520 expression-function-without-search-path
-- severity: error
-- since: 0.2.0
-- summary: Index, materialized view, stored generated column or CHECK constraint calls a function with no `SET search_path` whose body names objects unqualified, so REINDEX, ANALYZE, REFRESH, restores and upgrades fail on PostgreSQL 17 and later.
-- help: Pin the function's search path with `ALTER FUNCTION ... SET search_path = <the schemas its names live in>, pg_temp`, or schema-qualify the names in its body.
--
-- ## Why
-- PostgreSQL 17 runs maintenance with `search_path = pg_catalog, pg_temp` for the functions
-- it calls ("Change functions to use a safe search_path during maintenance operations":
-- REINDEX, CREATE INDEX, CLUSTER, REFRESH MATERIALIZED VIEW, VACUUM and ANALYZE), and a
-- dump is restored with an empty `search_path` (pg_dump has set it since 10.3). A function
-- with no `SET search_path` whose string body (`AS $$ ... $$`, read when it runs) names a
-- table, function, type or operator of another schema unqualified then fails with 42P01 or
-- 42883. Measured on PostgreSQL 18, a function made clean and reset afterwards (a database
-- from 16, or `CREATE OR REPLACE` since; CREATE INDEX refuses it on 17+):
--
-- - an index on an expression or with a WHERE calling it: `REINDEX` fails, `ANALYZE` of its
--   table fails (autovacuum's too: the expression is computed for statistics), pg_restore's
--   `CREATE INDEX` fails, and so does a schema-only restore (pg_upgrade's) when the
--   function is SQL (inlined even on an empty table; a PL/pgSQL one runs only on rows);
-- - a materialized view: `REFRESH MATERIALIZED VIEW` fails, and so does the restore's;
-- - a stored generated column or a CHECK constraint: restoring a dump fails (its `COPY`
--   computes them under pg_dump's empty `search_path`); VACUUM FULL, ANALYZE and INSERT
--   pass. A virtual generated column (PostgreSQL 18) cannot call a user function at all.
--
-- `dbsafe backup --verify-restore` would report such a restore as DBS611.
--
-- ## How it is told
-- The catalog gives the functions each expression calls (`pg_depend`). dbsafe reads each
-- SQL and PL/pgSQL body with PostgreSQL's own parsers (pglast), in the read-only
-- transaction of the check, and follows the functions it calls schema-qualified, and those
-- a `BEGIN ATOMIC` body calls (`pg_depend`), to a depth of 5; a qualified call reaches the
-- overloads taking its number of arguments (defaults and `VARIADIC` counted). The reader is
-- the one lint's DBS142 uses (`dbsafe.pg.function_body`, run by
-- `dbsafe.schema.maintenance_path`). A name is unqualified when it
-- has no schema and `pg_catalog` has no relation, function, type or operator of that name
-- (what the restricted `search_path` would find). A function with a `search_path` in its
-- `SET` clauses (`proconfig`) stops the walk: it and what it calls run under its own path.
--
-- ## Not flagged
-- A function with `SET search_path`, a `BEGIN ATOMIC` body (its names were resolved when it
-- was created) that calls no such function, a body naming only what `pg_catalog` holds
-- (`lower(t)`), or other schemas' objects qualified. A name `pg_catalog` has under another
-- signature (a `lower(citext)` of another schema) is taken as resolved. A name inside a
-- string (`nextval('seq')`, `'t'::regclass`), a custom operator class's support functions
-- and extended statistics' expressions are not read. A body dbsafe cannot read (another
-- language, `EXECUTE` of a built string, a body the parser rejects) is listed as not
-- checked, not flagged; one running SQL it builds that names such a name besides is
-- flagged.
SELECT
    format('%s.%s', ns.nspname, obj.name) AS subject,
    NULL::text AS message,
    obj.kind,
    obj.fails,
    array_agg(DISTINCT d.refobjid ORDER BY d.refobjid) AS functions
FROM (
    -- indexes on expressions or with a WHERE (of a matview too; a partitioned one as well)
    SELECT 'pg_class'::regclass AS classid, i.indexrelid AS objid, 'Index' AS kind,
           idx.relnamespace AS nsp, idx.relname::text AS name,
           format('REINDEX and ANALYZE of `%s.%s` (autovacuum''s too) fail on PostgreSQL 17 '
                  'and later, and so does the CREATE INDEX of a restore (pg_upgrade''s too, '
                  'for a SQL function)', tn.nspname, tab.relname) AS fails
    FROM pg_index AS i
    JOIN pg_class AS idx ON idx.oid = i.indexrelid
    JOIN pg_class AS tab ON tab.oid = i.indrelid
    JOIN pg_namespace AS tn ON tn.oid = tab.relnamespace
    WHERE i.indexprs IS NOT NULL OR i.indpred IS NOT NULL
    UNION ALL
    SELECT 'pg_rewrite'::regclass, r.oid, 'Materialized view', m.relnamespace, m.relname::text,
           'REFRESH MATERIALIZED VIEW fails on PostgreSQL 17 and later, and so does the '
           'refresh of a restore'
    FROM pg_rewrite AS r
    JOIN pg_class AS m ON m.oid = r.ev_class AND m.relkind = 'm'
    WHERE r.rulename = '_RETURN'
    UNION ALL
    SELECT 'pg_attrdef'::regclass, ad.oid, 'Generated column', t.relnamespace,
           format('%s.%s', t.relname, a.attname),
           'restoring a dump fails (its COPY computes the column under pg_dump''s empty search_path)'
    FROM pg_attrdef AS ad
    JOIN pg_attribute AS a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
    JOIN pg_class AS t ON t.oid = ad.adrelid
    WHERE a.attgenerated = 's'
    UNION ALL
    SELECT 'pg_constraint'::regclass, c.oid, 'CHECK constraint', t.relnamespace,
           format('%s.%s', t.relname, c.conname),
           'restoring a dump fails (its COPY checks the constraint under pg_dump''s empty search_path)'
    FROM pg_constraint AS c
    JOIN pg_class AS t ON t.oid = c.conrelid
    WHERE c.contype = 'c'
) AS obj
JOIN pg_namespace AS ns ON ns.oid = obj.nsp
-- the functions it calls: directly, or as an operator's
JOIN LATERAL (
    SELECT dep.refobjid
    FROM pg_depend AS dep
    WHERE dep.classid = obj.classid AND dep.objid = obj.objid
      AND dep.refclassid = 'pg_proc'::regclass
    UNION
    SELECT o.oprcode::oid
    FROM pg_depend AS dep
    JOIN pg_operator AS o ON o.oid = dep.refobjid
    WHERE dep.classid = obj.classid AND dep.objid = obj.objid
      AND dep.refclassid = 'pg_operator'::regclass
) AS d(refobjid) ON true
JOIN pg_proc AS p ON p.oid = d.refobjid
WHERE p.pronamespace <> 'pg_catalog'::regnamespace
  AND ns.nspname <> ALL (ARRAY['information_schema', 'dbsafe'])
  AND ns.nspname !~ '^pg_'
GROUP BY ns.nspname, obj.name, obj.kind, obj.fails
ORDER BY 1
