-- dbsafe:check DBS507 table-without-primary-key
-- severity: warning
-- since: 0.1.0
-- summary: Table has no primary key.
-- help: Add a primary key: build a unique index CONCURRENTLY, then ALTER TABLE ... ADD PRIMARY KEY USING INDEX (a partitioned table refuses both, 0A000: do so on each partition, then ALTER TABLE ... ADD PRIMARY KEY on the partitioned table, which attaches their keys' indexes; it must include the partition key's columns).
--
-- ## Why
-- Without a primary key, rows cannot be addressed reliably: logical replication cannot
-- replicate UPDATE and DELETE (unless REPLICA IDENTITY FULL, which is slow), ORMs cannot map
-- the table, and duplicate rows creep in unnoticed.
--
-- A partitioned table refuses `CREATE INDEX CONCURRENTLY` and `ADD PRIMARY KEY USING
-- INDEX` (0A000): each partition gets its key that way, and `ALTER TABLE ... ADD PRIMARY
-- KEY` on the partitioned table then attaches their indexes (PostgreSQL builds none
-- again), where it alone would build every partition's under its lock.
--
-- ## Not flagged
-- Partitions (the partitioned table is reported once), tables that belong to an extension,
-- and dbsafe's own schema.
SELECT
    format('%s.%s', n.nspname, c.relname) AS subject,
    format('Table `%s.%s` has no primary key.', n.nspname, c.relname) AS message
FROM pg_class AS c
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p')
  AND NOT c.relispartition
  AND n.nspname <> ALL (ARRAY['information_schema', 'dbsafe'])
  AND n.nspname !~ '^pg_'
  AND NOT EXISTS (
      SELECT FROM pg_constraint AS con WHERE con.conrelid = c.oid AND con.contype = 'p'
  )
  AND NOT EXISTS (
      SELECT FROM pg_depend AS d
      WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
  )
ORDER BY 1
