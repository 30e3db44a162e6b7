-- dbsafe:check DBS504 unindexed-foreign-key
-- severity: warning
-- since: 0.1.0
-- summary: Foreign key has no index on its referencing columns.
-- help: Create an index whose leading columns are the foreign key's columns, with CREATE INDEX CONCURRENTLY (a partitioned table refuses it: create one ON ONLY the table, then each partition's concurrently, and attach them).
--
-- ## Why
-- Every DELETE of a parent row, and every UPDATE of its key, looks up the referencing rows;
-- without an index on the referencing columns that is a sequential scan of the child table,
-- holding locks on both tables while it runs. Joins from parent to child suffer the same way.
--
-- ## Not flagged
-- A foreign key whose columns are the leading columns of a valid index (B-tree, hash, GiST
-- or GIN; not BRIN, whose lookup reads whole block ranges, every one of them once a few
-- rows are out of the key's order, nor bloom, read whole), in any order (an
-- index on `(customer_id, created_at)` serves a foreign key on `customer_id`), that is not
-- partial or whose WHERE is `<one of its columns> IS NOT NULL`: the lookup's
-- `customer_id = $1` implies it, and PostgreSQL uses the index. The index's columns must
-- be in the columns' own collations: the lookup compares in the column's, and PostgreSQL
-- uses no index built in another (an index on `(code COLLATE "C")` of a column in the
-- database's collation left the lookup a Seq Scan, unreported).
-- Foreign keys of partitions are reported once, on the partitioned table; not at all when
-- every partition has such an index of its own (the lookup reads each through it), though
-- one on the partitioned table would also give partitions created later theirs.
-- `NOT ENFORCED` foreign keys (PostgreSQL 18): they have no triggers, so no DELETE or
-- UPDATE of a parent row looks up their rows.
WITH fk AS (
    SELECT con.oid, con.conname, con.conrelid, con.conkey, n.nspname, t.relname, t.relkind,
           (SELECT array_agg(a.attname ORDER BY a.attname) FROM pg_attribute AS a
            WHERE a.attrelid = con.conrelid AND a.attnum = ANY (con.conkey)) AS key_names,
           -- The WHERE of a partial index that every lookup's `col = $1` implies (PostgreSQL
           -- proves it: = is strict), as pg_get_expr prints it: GitLab's many
           -- `index_epics_on_due_date_sourcing_epic_id ... WHERE (col IS NOT NULL)`.
           (SELECT array_agg(format('(%s IS NOT NULL)', quote_ident(a.attname)))
            FROM pg_attribute AS a
            WHERE a.attrelid = con.conrelid AND a.attnum = ANY (con.conkey)) AS implied
    FROM pg_constraint AS con
    JOIN pg_class AS t ON t.oid = con.conrelid
    JOIN pg_namespace AS n ON n.oid = t.relnamespace
    WHERE con.contype = 'f'
      AND con.conparentid = 0
      -- NOT ENFORCED (conenforced, PostgreSQL 18) has no triggers, so no lookup; read
      -- through to_jsonb so that the query still parses on servers without the column
      AND coalesce((to_jsonb(con) ->> 'conenforced')::boolean, true)
      AND n.nspname <> ALL (ARRAY['information_schema', 'dbsafe'])
      AND n.nspname !~ '^pg_'
)
SELECT
    format('%s.%s.%s', fk.nspname, fk.relname, fk.conname) AS subject,
    format('Foreign key `%s` on `%s.%s` (%s) has no index on its columns: deleting or '
           'updating a referenced row scans the whole table.',
           fk.conname, fk.nspname, fk.relname, cols.names) AS message
FROM fk
CROSS JOIN LATERAL (
    SELECT string_agg(a.attname, ', ' ORDER BY k.ord) AS names
    FROM unnest(fk.conkey) WITH ORDINALITY AS k (attnum, ord)
    JOIN pg_attribute AS a ON a.attrelid = fk.conrelid AND a.attnum = k.attnum
) AS cols
WHERE NOT EXISTS (
    SELECT FROM pg_index AS i
    WHERE i.indrelid = fk.conrelid
      AND i.indisvalid
      -- an index the lookup finds its rows through: a BRIN index's lookup reads every block
      -- range the key's value falls in, all of them once a few rows are out of the key's
      -- order (EXPLAIN of the lookup, 2% of 200,000 rows out of order: all 1,082 pages
      -- rechecked, as a Seq Scan), and a bloom index is read whole
      AND NOT EXISTS (SELECT FROM pg_class AS ic JOIN pg_am AS am ON am.oid = ic.relam
                      WHERE ic.oid = i.indexrelid AND am.amname IN ('brin', 'bloom'))
      AND (i.indpred IS NULL OR pg_get_expr(i.indpred, i.indrelid) = ANY (fk.implied))
      AND (i.indkey::int2[])[0:cardinality(fk.conkey) - 1] @> fk.conkey
      -- in the columns' own collations: the lookup compares in the column's, and PostgreSQL
      -- uses no index built in another (`(code COLLATE "C")`: a Seq Scan)
      AND NOT EXISTS (
          SELECT FROM unnest((i.indkey::int2[])[0:cardinality(fk.conkey) - 1],
                             (i.indcollation::oid[])[0:cardinality(fk.conkey) - 1])
                      AS ik (attnum, collid)
          JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = ik.attnum
          WHERE ik.collid <> a.attcollation)
)
  -- A partitioned table without such an index of its own, whose every partition has one:
  -- the lookup reads each partition through its index (columns matched by name, as a
  -- partition may number them otherwise).
  AND NOT (fk.relkind = 'p' AND EXISTS (
      SELECT FROM pg_partition_tree(fk.conrelid) AS part WHERE part.isleaf)
    AND NOT EXISTS (
      SELECT FROM pg_partition_tree(fk.conrelid) AS part
      WHERE part.isleaf
        AND NOT EXISTS (
            SELECT FROM pg_index AS i
            WHERE i.indrelid = part.relid
              AND i.indisvalid
              AND NOT EXISTS (SELECT FROM pg_class AS ic JOIN pg_am AS am ON am.oid = ic.relam
                              WHERE ic.oid = i.indexrelid AND am.amname IN ('brin', 'bloom'))
              AND (i.indpred IS NULL OR pg_get_expr(i.indpred, i.indrelid) = ANY (fk.implied))
              AND NOT EXISTS (
                  SELECT FROM unnest((i.indkey::int2[])[0:cardinality(fk.conkey) - 1],
                                     (i.indcollation::oid[])[0:cardinality(fk.conkey) - 1])
                              AS ik (attnum, collid)
                  JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = ik.attnum
                  WHERE ik.collid <> a.attcollation)
              AND (SELECT array_agg(a.attname ORDER BY a.attname)
                   FROM unnest((i.indkey::int2[])[0:cardinality(fk.conkey) - 1]) AS k (attnum)
                   JOIN pg_attribute AS a ON a.attrelid = part.relid
                                         AND a.attnum = k.attnum) = fk.key_names)))
ORDER BY 1
