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
-- width from `pg_stats`, with the tuple header, line pointer and fillfactor), the same
-- approach as the widely used `pgexperts` bloat queries, so it needs up-to-date statistics
-- (ANALYZE) and is an estimate, not a measurement.
--
-- ## Configuration
-- `bloat-min-size = "10MB"` and `bloat-ratio = 0.5` (the defaults) in `[tool.dbsafe]`:
-- tables smaller than the size are skipped, and a table is reported when at least that
-- share of it is estimated to be waste. Only the 200 largest tables are estimated.
--
-- ## Not flagged
-- Tables without statistics (never analysed); tables below `bloat-min-size`. A table an
-- extension owns is reported, unlike DBS507 and DBS514, whose fixes change what the
-- extension defines: its space is reclaimed in place, and a restore does not bring it back.
WITH big AS (
    SELECT c.oid, n.nspname, c.relname, c.relpages, c.reltuples,
           coalesce((SELECT substring(o FROM 'fillfactor=([0-9]+)')::int
                     FROM unnest(c.reloptions) AS o WHERE o LIKE 'fillfactor=%'), 100)
               AS fillfactor
    FROM pg_class AS c
    JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'm')
      AND c.reltuples >= 0
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
        -- 24-byte tuple header + 4-byte line pointer + the average row width
        (SELECT 28 + sum(s.avg_width) FROM pg_stats AS s
         WHERE s.schemaname = big.nspname AND s.tablename = big.relname
           AND NOT s.inherited) AS row_bytes
    FROM big
),
wasted AS (
    SELECT
        estimate.*,
        relpages * block_size AS actual_bytes,
        ceil(reltuples::numeric * row_bytes / ((block_size - 24) * fillfactor / 100.0)) * block_size
            AS expected_bytes
    FROM estimate
    WHERE row_bytes IS NOT NULL
)
SELECT
    format('%s.%s', nspname, relname) AS subject,
    format('Table `%s.%s` takes %s, of which about %s%% (%s) is estimated to be bloat.',
           nspname, relname, pg_size_pretty(actual_bytes),
           round(100 * (actual_bytes - expected_bytes) / actual_bytes),
           pg_size_pretty(actual_bytes - expected_bytes)) AS message,
    round((actual_bytes - expected_bytes) / actual_bytes, 3) AS bloat_ratio
FROM wasted
WHERE (actual_bytes - expected_bytes) / actual_bytes
      >= coalesce(nullif(current_setting('dbsafe.bloat_ratio', true), ''), '0.5')::numeric
ORDER BY actual_bytes - expected_bytes DESC, 1
