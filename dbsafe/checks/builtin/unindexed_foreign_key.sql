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
-- database's collation left the lookup a Seq Scan, unreported), each of an operator class
-- whose family holds the operator the lookup compares with (`$1 = col`, the key's
-- `pg_constraint.conpfeqop`, which the planner matches commuted): `text_pattern_ops`, a hash
-- index and pg_trgm's GIN one hold `=`; a GIN `jsonb_ops`, hstore's GiST or a btree_gin
-- `int4_ops` index on an `integer` key referencing a `bigint` one does not, and the lookup
-- was a Seq Scan (auto_explain of the RI trigger's query) while they counted, as would an
-- index of any extension's access method (rum) whatever its operators.
-- Foreign keys of partitions are reported once, on the partitioned table; not at all when
-- every partition has such an index of its own (the lookup reads each through it), though
-- one on the partitioned table would also give partitions created later theirs.
-- `NOT ENFORCED` foreign keys (PostgreSQL 18): they have no triggers, so no DELETE or
-- UPDATE of a parent row looks up their rows.
WITH fk AS (
    SELECT con.oid, con.conname, con.conrelid, con.conkey, con.conpfeqop, n.nspname, t.relname,
           t.relkind
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
),
-- Where the lookup reads: the key's table, and each leaf partition of a partitioned one,
-- with the key's columns as each numbers them (matched by name: a partition may number them
-- otherwise), their collations, and the operator the lookup compares each with: the RI
-- trigger's `$1 = col` (pg_constraint.conpfeqop), which the planner matches to an index
-- column commuted, `col = $1`
target AS (
    SELECT fk.oid AS fk, fk.nspname, fk.relname, fk.conname, fk.conrelid, fk.conkey, fk.relkind,
           tree.relid, tree.relid = fk.conrelid AS own,
           array_agg(a.attnum ORDER BY k.ord) AS attnums,
           array_agg(a.attcollation ORDER BY k.ord) AS collations,
           array_agg(op.oprcom ORDER BY k.ord) AS operators,
           -- the WHERE of a partial index that every lookup's `col = $1` implies
           -- (PostgreSQL proves it: = is strict), as pg_get_expr prints it: GitLab's many
           -- `index_epics_on_due_date_sourcing_epic_id ... WHERE (col IS NOT NULL)`
           array_agg(format('(%s IS NOT NULL)', quote_ident(a.attname))) AS implied
    FROM fk
    -- (pg_partition_tree has no row for a table that is not partitioned)
    CROSS JOIN LATERAL (SELECT fk.conrelid AS relid
                        UNION
                        SELECT part.relid FROM pg_partition_tree(fk.conrelid) AS part
                        WHERE part.isleaf) AS tree
    CROSS JOIN LATERAL unnest(fk.conkey, fk.conpfeqop) WITH ORDINALITY AS k (attnum, eqop, ord)
    JOIN pg_attribute AS key ON key.attrelid = fk.conrelid AND key.attnum = k.attnum
    JOIN pg_attribute AS a ON a.attrelid = tree.relid AND a.attname = key.attname
    JOIN pg_operator AS op ON op.oid = k.eqop
    GROUP BY fk.oid, fk.nspname, fk.relname, fk.conname, fk.conrelid, fk.conkey, fk.relkind,
             tree.relid
),
-- whether a valid index of its own serves the lookup on each target
served AS (
    SELECT target.*, EXISTS (
        SELECT FROM pg_index AS i
        JOIN pg_class AS ic ON ic.oid = i.indexrelid
        JOIN pg_am AS am ON am.oid = ic.relam
        WHERE i.indrelid = target.relid
          AND i.indisvalid
          -- an index the lookup finds its rows through: a BRIN index's lookup reads every
          -- block range the key's value falls in, all of them once a few rows are out of the
          -- key's order (EXPLAIN of the lookup, 2% of 200,000 rows out of order: all 1,082
          -- pages rechecked, as a Seq Scan), and a bloom index is read whole
          AND am.amname NOT IN ('brin', 'bloom')
          AND (i.indpred IS NULL OR pg_get_expr(i.indpred, i.indrelid) = ANY (target.implied))
          AND (i.indkey::int2[])[0:cardinality(target.attnums) - 1] OPERATOR(pg_catalog.@>) target.attnums
          -- each key column's, in the column's own collation (the lookup compares in it,
          -- and PostgreSQL uses no index built in another: `(code COLLATE "C")`, a Seq
          -- Scan) and of an operator class whose family holds the lookup's operator (a GIN
          -- jsonb_ops index holds no `=`, a btree_gin int4_ops one no `integer = bigint`:
          -- a Seq Scan; text_pattern_ops holds `=`)
          AND NOT EXISTS (
              SELECT FROM unnest((i.indkey::int2[])[0:cardinality(target.attnums) - 1],
                                 (i.indcollation::oid[])[0:cardinality(target.attnums) - 1],
                                 (i.indclass::oid[])[0:cardinality(target.attnums) - 1])
                          AS ik (attnum, collid, opclass)
              JOIN unnest(target.attnums, target.collations, target.operators)
                   AS k (attnum, collid, operator) ON k.attnum = ik.attnum
              WHERE ik.collid <> k.collid
                 OR NOT EXISTS (SELECT FROM pg_opclass AS opc
                                JOIN pg_amop AS amop ON amop.amopfamily = opc.opcfamily
                                WHERE opc.oid = ik.opclass AND amop.amopopr = k.operator
                                  AND amop.amoppurpose = 's')))
               AS served
    FROM target
)
SELECT
    format('%s.%s.%s', key.nspname, key.relname, key.conname) AS subject,
    format('Foreign key `%s` on `%s.%s` (%s) has no index on its columns: deleting or '
           'updating a referenced row scans the whole table.',
           key.conname, key.nspname, key.relname, cols.names) AS message
-- Each key's targets weighed in one pass (grouped), not looked up key by key: PostgreSQL
-- planned `NOT EXISTS (SELECT FROM served WHERE served.fk = fk.oid)` as a nested loop over
-- every pair of keys (6 million rows for 2,500 keys, 0.8 s).
FROM (
    SELECT served.fk, served.nspname, served.relname, served.conname, served.conrelid,
           served.conkey, served.relkind,
           bool_or(served.own AND served.served) AS own_served,
           bool_or(NOT served.own) AS partitions,
           bool_and(served.own OR served.served) AS partitions_served
    FROM served
    GROUP BY served.fk, served.nspname, served.relname, served.conname, served.conrelid,
             served.conkey, served.relkind
) AS key
CROSS JOIN LATERAL (
    SELECT string_agg(a.attname, ', ' ORDER BY k.ord) AS names
    FROM unnest(key.conkey) WITH ORDINALITY AS k (attnum, ord)
    JOIN pg_attribute AS a ON a.attrelid = key.conrelid AND a.attnum = k.attnum
) AS cols
WHERE NOT key.own_served
  -- A partitioned table without such an index of its own, whose every partition has one:
  -- the lookup reads each partition through its index.
  AND NOT (key.relkind = 'p' AND key.partitions AND key.partitions_served)
ORDER BY 1
