-- dbsafe:check DBS514 unused-index
-- severity: note
-- since: 0.1.0
-- summary: Index has not been scanned since statistics began, yet costs on every write.
-- help: Check the standbys too (their scans are not counted here), then drop it with DROP INDEX CONCURRENTLY (a partitioned table's with plain DROP INDEX, which PostgreSQL requires).
--
-- ## Why
-- Every INSERT, and every UPDATE that is not HOT, maintains every index of the table. An
-- index no query uses only slows writes and takes disk, cache and backup space. The
-- message gives the age of the statistics (`pg_stat_database.stats_reset`, else the server's
-- start), because "never scanned" means little over a few hours.
--
-- ## Configuration
-- `unused-index-min-age = "7 days"` (the default) in `[tool.dbsafe]`: nothing is reported
-- until the statistics are at least that old (the report lists the never-scanned indexes
-- as not checked until then). Read as `current_setting('dbsafe.unused_index_min_age')`.
--
-- ## Not flagged
-- Unique and primary key indexes and indexes backing any constraint (they enforce
-- something even if never scanned); invalid indexes (DBS501). Scans on standbys are not
-- counted: check them before dropping.
--
-- The only index serving a foreign key's lookup (DBS504's: the key's columns lead it, in
-- their own collations and operator classes that hold the lookup's `=`, it is not partial or its `WHERE` is `col IS NOT NULL` on one of
-- them, and it is no BRIN or bloom index, whose lookup reads the table or the index whole): PostgreSQL scans it only when a referenced row is deleted or its key updated,
-- which a week of statistics may not hold; dropped, every such delete reads the whole
-- table, and DBS504 reports the key. Another index serving the same key that stays (one
-- scanned, unique or backing a constraint) leaves it reported; when every index serving the
-- key is unused, the one with the fewest columns (then the smallest) is kept, and the
-- others are reported (each of them reported, dropping them all left the key without one).
--
-- Indexes of a table an extension owns (what `CREATE EXTENSION` made, as DBS507 leaves
-- out): the extension's script decides them, and pg_dump leaves the table and its indexes
-- to `CREATE EXTENSION`, which builds them again, so a drop does not outlive a restore.
--
-- A partitioned table's index is reported once, on the parent table, when none of its
-- partitions' copies was scanned (they are attached to it, and PostgreSQL drops them only
-- with it); the size is theirs together.
WITH stats AS (
    SELECT coalesce(d.stats_reset, pg_postmaster_start_time()) AS since
    FROM pg_stat_database AS d
    WHERE d.datname = current_database()
),
candidates AS (
    -- A partition's index attached to its parent table's goes only with it (DROP INDEX
    -- refuses it, 2BP01): a partitioned table's index is weighed whole, by its partitions'.
    SELECT i.indexrelid, i.indrelid, ic.relkind, ic.relname, n.nspname, t.relname AS table_name
    FROM pg_index AS i
    JOIN pg_class AS ic ON ic.oid = i.indexrelid
    JOIN pg_class AS t ON t.oid = i.indrelid
    JOIN pg_namespace AS n ON n.oid = ic.relnamespace
    WHERE NOT ic.relispartition
      AND NOT i.indisunique
      AND NOT i.indisprimary
      AND i.indisvalid
      AND n.nspname <> ALL (ARRAY['information_schema', 'dbsafe'])
      AND n.nspname !~ '^pg_'
      AND NOT EXISTS (SELECT FROM pg_constraint AS con WHERE con.conindid = i.indexrelid)
      -- A table an extension owns (pg_depend 'e', as DBS507 leaves out): pg_dump leaves it
      -- and its indexes to CREATE EXTENSION, which builds them again, so a drop does not stick.
      AND NOT EXISTS (SELECT FROM pg_depend AS d
                      WHERE d.classid = 'pg_class'::regclass AND d.objid = i.indrelid
                        AND d.deptype = 'e')
),
-- Each foreign key's lookup and the indexes serving it (as DBS504 counts them: the key's
-- columns lead it, in their collations and operator classes holding the lookup's `=`, and
-- it is not partial or its WHERE is `col IS NOT NULL` on one of them). Not NOT ENFORCED
-- keys (PostgreSQL 18), which have no lookup.
serving AS (
    SELECT fk.oid AS fk, i.indexrelid, i.indnkeyatts
    FROM pg_constraint AS fk
    CROSS JOIN LATERAL (
        SELECT array_agg(format('(%s IS NOT NULL)', quote_ident(a.attname))) AS implied
        FROM pg_attribute AS a
        WHERE a.attrelid = fk.conrelid AND a.attnum = ANY (fk.conkey)
    ) AS key
    JOIN pg_index AS i ON i.indrelid = fk.conrelid
    JOIN pg_class AS ic ON ic.oid = i.indexrelid
    WHERE fk.contype = 'f'
      -- only the keys of tables with an index that may be reported
      AND fk.conrelid IN (SELECT indrelid FROM candidates)
      AND coalesce((to_jsonb(fk) ->> 'conenforced')::boolean, true)
      AND i.indisvalid
      AND (i.indkey::int2[])[0:cardinality(fk.conkey) - 1] OPERATOR(pg_catalog.@>) fk.conkey
      AND (i.indpred IS NULL OR pg_get_expr(i.indpred, i.indrelid) = ANY (key.implied))
      -- a BRIN or bloom index serves no lookup (DBS504 does not count it)
      AND NOT EXISTS (SELECT FROM pg_am AS am
                      WHERE am.oid = ic.relam AND am.amname IN ('brin', 'bloom'))
      -- each key column's in its own collation, of an operator class whose family holds
      -- the lookup's operator (DBS504's: `$1 = col`, commuted)
      AND NOT EXISTS (
          SELECT FROM unnest((i.indkey::int2[])[0:cardinality(fk.conkey) - 1],
                             (i.indcollation::oid[])[0:cardinality(fk.conkey) - 1],
                             (i.indclass::oid[])[0:cardinality(fk.conkey) - 1])
                      AS ik (attnum, collid, opclass)
          JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = ik.attnum
          JOIN unnest(fk.conkey, fk.conpfeqop) AS k (attnum, eqop) ON k.attnum = ik.attnum
          JOIN pg_operator AS op ON op.oid = k.eqop
          WHERE ik.collid <> a.attcollation
             OR NOT EXISTS (SELECT FROM pg_opclass AS opc
                            JOIN pg_amop AS amop ON amop.amopfamily = opc.opcfamily
                            WHERE opc.oid = ik.opclass AND amop.amopopr = op.oprcom
                              AND amop.amoppurpose = 's'))
),
-- The only index serving a foreign key's lookup is never reported (below), and its
-- statistics need not be read: 2,500 such indexes of 10,000 relations doubled the time
sole AS (
    SELECT max(indexrelid) AS indexrelid FROM serving GROUP BY fk HAVING count(*) = 1
),
weighed AS (
    SELECT * FROM candidates WHERE indexrelid NOT IN (SELECT indexrelid FROM sole)
),
leaves AS (
    SELECT c.indexrelid, c.indexrelid AS leaf FROM weighed AS c WHERE c.relkind = 'i'
    UNION ALL
    SELECT c.indexrelid, tree.relid
    FROM weighed AS c
    CROSS JOIN LATERAL pg_partition_tree(c.indexrelid) AS tree
    WHERE c.relkind = 'I' AND tree.isleaf
),
usage AS (
    SELECT
        l.indexrelid,
        count(*) AS partitions,
        sum(s.idx_scan) AS scans,
        sum(pg_relation_size(l.leaf)) AS bytes
    FROM leaves AS l
    JOIN pg_stat_user_indexes AS s ON s.indexrelid = l.leaf
    GROUP BY l.indexrelid
),
unused AS (
    SELECT c.*, u.partitions, u.bytes
    FROM weighed AS c
    JOIN usage AS u ON u.indexrelid = c.indexrelid
    WHERE u.scans = 0
),
-- A foreign key's lookup keeps one index: when every index serving it is unused, the
-- narrowest (then the smallest) is not reported. It is scanned only when a referenced row
-- is deleted or its key updated, which may not happen for weeks; dropped, each such delete
-- scans the whole table, and DBS504 reports the key. Reported each, Tianji's
-- `WebsiteSession (websiteId)` and its ten `(websiteId, createdAt, ...)` indexes, all
-- unused, told to drop all eleven, which leaves `WebsiteSession_websiteId_fkey` without one
kept AS (
    -- NOT IN over CTEs, each a hashed subplan: as NOT EXISTS, planned as nested loops over
    -- the CTEs (estimated at a row), 10,000 relations took minutes
    SELECT DISTINCT ON (s.fk) s.indexrelid
    FROM serving AS s
    WHERE s.fk NOT IN (SELECT o.fk FROM serving AS o
                       WHERE o.indexrelid NOT IN (SELECT indexrelid FROM unused))
    ORDER BY s.fk, s.indnkeyatts, pg_relation_size(s.indexrelid), s.indexrelid
)
(SELECT
     format('%s.%s', c.nspname, c.relname) AS subject,
     format('Index `%s` on `%s.%s`%s has not been scanned since %s (%s ago) but is '
            'maintained on every write; it takes %s.', c.relname, c.nspname, c.table_name,
            CASE WHEN c.relkind = 'I' THEN format(' (on its %s partitions)', c.partitions)
                 ELSE '' END,
            to_char(stats.since, 'YYYY-MM-DD HH24:MI TZ'),
            justify_interval(date_trunc('minute', now() - stats.since)),
            pg_size_pretty(c.bytes)) AS message,
     c.bytes AS index_bytes,
     NULL AS not_checked
 FROM unused AS c
 CROSS JOIN stats
 WHERE c.indexrelid NOT IN (SELECT indexrelid FROM kept)
   AND now() - stats.since
       >= coalesce(nullif(current_setting('dbsafe.unused_index_min_age', true), ''),
                   '7 days')::interval
 ORDER BY c.bytes DESC, 1)
UNION ALL
-- statistics too young to judge by: what would be weighed is said, not passed over
SELECT NULL, NULL, NULL,
       format('%s index%s never scanned, in statistics younger than unused-index-min-age '
              '(%s), so not judged yet: %s%s', count(*),
              CASE WHEN count(*) = 1 THEN '' ELSE 'es' END,
              coalesce(nullif(current_setting('dbsafe.unused_index_min_age', true), ''),
                       '7 days'),
              array_to_string((array_agg(format('`%s.%s`', c.nspname, c.relname)
                                         ORDER BY c.nspname, c.relname))[1:5], ', '),
              CASE WHEN count(*) > 5 THEN format(' and %s more', count(*) - 5) ELSE '' END)
FROM unused AS c
CROSS JOIN stats
WHERE c.indexrelid NOT IN (SELECT indexrelid FROM kept)
  AND now() - stats.since
      < coalesce(nullif(current_setting('dbsafe.unused_index_min_age', true), ''),
                 '7 days')::interval
HAVING count(*) > 0
