-- dbsafe:check DBS506 redundant-index
-- severity: note
-- since: 0.1.0
-- summary: Index's columns are a leading prefix of another index's, which serves the same queries.
-- help: Check that no query relies on its smaller size, then drop it with DROP INDEX CONCURRENTLY (a partitioned table's with plain DROP INDEX, which PostgreSQL requires).
--
-- ## Why
-- A B-tree index on `(a, b)` answers every lookup an index on `(a)` answers. The shorter
-- index costs on every write and takes disk and cache space. It is a note rather than a
-- warning: the shorter index is smaller and sometimes faster, which can be on purpose.
--
-- ## Not flagged
-- Unique indexes and indexes backing a constraint (they enforce something); partial and
-- expression indexes; a longer index that is partial or invalid, or that lacks one of the
-- shorter one's `INCLUDE` columns (the shorter index answers a query reading them from the
-- index alone, an index-only scan; the longer reads the table); different access methods,
-- operator classes, collations or orderings on the shared columns; exact duplicates
-- (reported as DBS505); a partition's index attached to its parent table's index
-- (PostgreSQL drops it only with that one, reported on the parent table when it is
-- redundant there).
WITH idx AS (
    SELECT
        i.indexrelid,
        i.indrelid,
        i.indisunique,
        i.indnkeyatts,
        (i.indkey::int2[])[0:i.indnkeyatts - 1] AS keys,
        -- every column it stores, its INCLUDE columns too (0 is an expression)
        i.indkey::int2[] AS stored,
        (i.indclass::oid[])[0:i.indnkeyatts - 1] AS classes,
        (i.indcollation::oid[])[0:i.indnkeyatts - 1] AS collations,
        (i.indoption::int2[])[0:i.indnkeyatts - 1] AS options,
        i.indpred IS NULL AND i.indexprs IS NULL AND i.indisvalid AS plain,
        ic.relam,
        ic.relispartition AS attached,
        ic.relname,
        n.nspname,
        t.relname AS table_name
    FROM pg_index AS i
    JOIN pg_class AS ic ON ic.oid = i.indexrelid
    JOIN pg_class AS t ON t.oid = i.indrelid
    JOIN pg_am AS am ON am.oid = ic.relam
    JOIN pg_namespace AS n ON n.oid = ic.relnamespace
    WHERE am.amname = 'btree'
      AND n.nspname <> ALL (ARRAY['information_schema', 'dbsafe'])
      AND n.nspname !~ '^pg_'
)
SELECT DISTINCT ON (short.indexrelid)
    format('%s.%s', short.nspname, short.relname) AS subject,
    format('Index `%s` on `%s.%s` is redundant: its columns lead index `%s`, which serves '
           'the same lookups.', short.relname, short.nspname, short.table_name,
           long.relname) AS message,
    -- printed for the indexes reported only: printing each index opens it (0.7 s for
    -- 5,000 indexes)
    pg_get_indexdef(long.indexrelid) AS covered_by
FROM idx AS short
JOIN idx AS long
  ON long.indrelid = short.indrelid
 AND long.indexrelid <> short.indexrelid
 AND long.plain
 AND long.indnkeyatts > short.indnkeyatts
 AND long.relam = short.relam
 AND long.keys[1:short.indnkeyatts] = short.keys
 AND long.classes[1:short.indnkeyatts] = short.classes
 AND long.collations[1:short.indnkeyatts] = short.collations
 AND long.options[1:short.indnkeyatts] = short.options
 -- an INCLUDE column the longer index does not store: the shorter one answers `SELECT d
 -- ... WHERE c = $1` from the index alone (an index-only scan), the longer reads the table
 AND long.stored OPERATOR(pg_catalog.@>) short.stored
WHERE short.plain
  AND NOT short.indisunique
  -- a partition's index attached to its parent's goes only with it (2BP01); the
  -- parent's index is reported on the parent
  AND NOT short.attached
  AND NOT EXISTS (SELECT FROM pg_constraint AS con WHERE con.conindid = short.indexrelid)
ORDER BY short.indexrelid, long.indnkeyatts, long.indexrelid
