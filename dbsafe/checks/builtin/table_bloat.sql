-- dbsafe:check DBS515 table-bloat
-- severity: note
-- since: 0.1.0
-- summary: Table takes much more space than its live rows need (estimated bloat).
-- help: Find why autovacuum falls behind (long transactions, cost limits); reclaim the space with pg_repack or pg_squeeze rather than VACUUM FULL, which locks the table.
--
-- ## Why
-- Dead rows that VACUUM has not reclaimed, or space freed by a mass DELETE, stay inside the
-- table's files: sequential scans read it, the cache holds it, backups copy it. The
-- estimate compares the table's size with what its rows need (`reltuples` times the row
-- width from `pg_stats`: each column's average width times its share of non-NULL rows, a
-- NULL taking no space, with the tuple header, its NULL bitmap, alignment, line pointer and
-- fillfactor), the same
-- approach as the widely used `pgexperts` bloat queries, so it needs up-to-date statistics
-- (ANALYZE) and is an estimate, not a measurement.
--
-- ## Configuration
-- `bloat-min-size = "10MB"` and `bloat-ratio = 0.5` (the defaults) in `[tool.dbsafe]`:
-- tables smaller than the size are skipped, and a table is reported when at least that
-- share of it is estimated to be waste. Only the 200 largest tables are estimated (the
-- report says how many more were not).
--
-- ## Not flagged
-- Tables below `bloat-min-size`. Tables without statistics (never analysed), and tables
-- whose statistics dbsafe's role may not see (`pg_stats` shows it only the columns it may
-- `SELECT`, and nothing of a table whose row-level security applies to it): not estimated,
-- and the report lists them as not checked. A table an extension owns is reported, unlike
-- DBS507 and DBS514, whose fixes change what the extension defines: its space is reclaimed
-- in place, and a restore does not bring it back.
WITH big AS (
    SELECT c.oid, n.nspname, c.relname, c.relpages, c.reltuples,
           coalesce((SELECT substring(o FROM 'fillfactor=([0-9]+)')::int
                     FROM unnest(c.reloptions) AS o WHERE o LIKE 'fillfactor=%'), 100)
               AS fillfactor,
           -- pg_stats shows dbsafe's role only the columns it may read, and nothing of a
           -- table whose row-level security applies to it: the width of the others would be
           -- missing, and the bloat overestimated
           NOT row_security_active(c.oid)
           AND NOT EXISTS (SELECT FROM pg_attribute AS a
                           WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                             AND NOT has_column_privilege(c.oid, a.attnum, 'SELECT'))
               AS stats_visible,
           count(*) OVER () AS above_min_size  -- before the LIMIT: all of them
    FROM pg_class AS c
    JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'm')
      AND c.relpages::bigint * current_setting('block_size')::bigint
          >= coalesce(nullif(current_setting('dbsafe.bloat_min_size', true), ''),
                      '10485760')::bigint
      AND n.nspname <> ALL (ARRAY['information_schema', 'dbsafe'])
      AND n.nspname !~ '^pg_'
    ORDER BY c.relpages DESC
    LIMIT 200
),
estimate AS (
    SELECT
        big.*,
        current_setting('block_size')::numeric AS block_size,
        -- 4-byte line pointer + the 23-byte tuple header (with a bit per column when a
        -- column holds NULLs), padded to 8 + the average row's data, padded to 8.
        -- pg_stats' avg_width is the width of the non-NULL values only, and a NULL takes
        -- no space in the row: each column counts for its non-NULL share of the rows (a
        -- mostly NULL wide column taken at full width put the expected size above the
        -- table's, and a table two-thirds empty went unreported)
        (SELECT 4 + 8 * ceil((23 + CASE WHEN max(s.null_frac) > 0
                                        THEN ceil(count(*) / 8.0) ELSE 0 END) / 8.0)
                  + 8 * ceil(sum(s.avg_width * (1 - s.null_frac))::numeric / 8.0)
         FROM pg_stats AS s
         WHERE s.schemaname = big.nspname AND s.tablename = big.relname
           AND NOT s.inherited
         HAVING count(*) > 0) AS row_bytes
    FROM big
    WHERE stats_visible
),
wasted AS (
    SELECT
        estimate.*,
        relpages * block_size AS actual_bytes,
        ceil(reltuples::numeric * row_bytes / ((block_size - 24) * fillfactor / 100.0)) * block_size
            AS expected_bytes
    FROM estimate
    WHERE row_bytes IS NOT NULL AND reltuples >= 0
)
(SELECT
     format('%s.%s', nspname, relname) AS subject,
     format('Table `%s.%s` takes %s, of which about %s%% (%s) is estimated to be bloat.',
            nspname, relname, pg_size_pretty(actual_bytes),
            round(100 * (actual_bytes - expected_bytes) / actual_bytes),
            pg_size_pretty(actual_bytes - expected_bytes)) AS message,
     round((actual_bytes - expected_bytes) / actual_bytes, 3) AS bloat_ratio,
     NULL AS not_checked
 FROM wasted
 WHERE (actual_bytes - expected_bytes) / actual_bytes
       >= coalesce(nullif(current_setting('dbsafe.bloat_ratio', true), ''), '0.5')::numeric
 ORDER BY actual_bytes - expected_bytes DESC, 1)
UNION ALL
-- what could not be estimated is said, not passed over
SELECT NULL, NULL, NULL,
       format('%s table%s %s: %s%s', count(*), CASE WHEN count(*) = 1 THEN '' ELSE 's' END,
              why, array_to_string((array_agg(format('`%s.%s`', nspname, relname)
                                              ORDER BY nspname, relname))[1:5], ', '),
              CASE WHEN count(*) > 5 THEN format(' and %s more', count(*) - 5) ELSE '' END)
FROM (
    SELECT nspname, relname,
           'whose statistics dbsafe''s role may not see (pg_stats shows it only columns it '
           'may SELECT, none under row-level security applying to it)' AS why
    FROM big
    WHERE NOT stats_visible
    UNION ALL
    SELECT nspname, relname, 'without statistics to estimate bloat from (run ANALYZE)'
    FROM estimate
    WHERE row_bytes IS NULL OR reltuples < 0
) AS unseen
GROUP BY why
UNION ALL
SELECT NULL, NULL, NULL,
       format('%s more table%s above bloat-min-size, smaller than the 200 largest, not '
              'estimated', max(above_min_size) - 200,
              CASE WHEN max(above_min_size) = 201 THEN '' ELSE 's' END)
FROM big
HAVING max(above_min_size) > 200
