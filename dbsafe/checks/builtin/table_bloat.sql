-- dbsafe:check DBS515 table-bloat
-- severity: note
-- since: 0.1.0
-- summary: Table takes much more space than its live rows need (estimated bloat).
-- help: Find why autovacuum falls behind (long transactions, cost limits); reclaim the space with pg_repack or pg_squeeze rather than VACUUM FULL, which locks the table.
--
-- ## Why
-- Dead rows that VACUUM has not reclaimed, or space freed by a mass DELETE, stay inside the
-- table's files: sequential scans read it, the cache holds it, backups copy it. The
-- estimate compares the table's size with what its rows need (`reltuples` rows, as many to
-- a page as fit, of the average row's width: its columns laid out in order as PostgreSQL
-- stores them, each padded to its type's alignment, a fixed-width column its type's length
-- and a varlena one its `pg_stats` average, each for its share of non-NULL rows, a NULL
-- taking no space; with the tuple header, its NULL bitmap, line pointer and fillfactor),
-- the approach of the widely used `pgexperts`/ioguix bloat queries with the padding between
-- columns counted too, so it needs up-to-date statistics (ANALYZE) and is an estimate, not
-- a measurement: within a few points of `pgstattuple`'s free space on freshly loaded tables.
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
WITH RECURSIVE big AS (
    SELECT c.oid, n.nspname, c.relname, c.relpages, c.reltuples, c.relnatts,
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
-- pg_stats read table by table (OFFSET 0 keeps it so): joined whole, the view weighs every
-- column of the database (has_column_privilege on each), not only the 200 tables'
stats AS (
    SELECT big.oid, s.attname, s.null_frac, s.avg_width
    FROM big
    CROSS JOIN LATERAL (SELECT s.attname, s.null_frac, s.avg_width FROM pg_stats AS s
                        WHERE s.schemaname = big.nspname AND s.tablename = big.relname
                          AND NOT s.inherited
                        OFFSET 0) AS s
    WHERE big.stats_visible
),
-- each column as PostgreSQL lays it out in a row (heap_fill_tuple): aligned to its type's
-- typalign, but for a short varlena value (at most 126 bytes, the 1-byte header), which is
-- stored unaligned; a fixed-width column is its typlen wide, a varlena one its pg_stats
-- average (of the non-NULL values, as stored: compressed, or the TOAST pointer). One row
-- per table, its columns in arrays in attnum order
columns AS (
    SELECT big.oid,
           count(*) AS n,
           bool_or(s.attname IS NOT NULL) AS analysed,
           -- a column without statistics (added since the last ANALYZE) is taken as never
           -- NULL, and with a NULL bitmap: at most what it takes
           bool_or(coalesce(s.null_frac, 1) > 0) AS nulls,
           array_agg(CASE WHEN t.typlen > 0 THEN t.typlen ELSE s.avg_width END
                     ORDER BY a.attnum) AS widths,
           array_agg(CASE WHEN t.typlen = -1 AND a.attstorage <> 'p' AND s.avg_width <= 127
                          THEN 1
                          ELSE CASE a.attalign WHEN 'c' THEN 1 WHEN 's' THEN 2
                                               WHEN 'i' THEN 4 ELSE 8 END END
                     ORDER BY a.attnum) AS aligns,
           array_agg(coalesce(s.null_frac, 0)::numeric ORDER BY a.attnum) AS null_fracs
    FROM big
    JOIN pg_attribute AS a ON a.attrelid = big.oid AND a.attnum > 0 AND NOT a.attisdropped
    JOIN pg_type AS t ON t.oid = a.atttypid
    LEFT JOIN stats AS s ON s.oid = big.oid AND s.attname = a.attname
    WHERE big.stats_visible
    GROUP BY big.oid
),
-- the average row's data, column after column: a column present (its non-NULL share of the
-- rows) starts at the offset so far rounded up to its alignment. Summing the widths alone
-- missed the padding between them: a freshly loaded table of bool and bigint columns in
-- turn (pgstattuple: 1% free space) was estimated 27% bloat
layout (oid, pos, data_bytes) AS (
    SELECT oid, 0, 0::numeric FROM columns
    UNION ALL
    SELECT layout.oid, layout.pos + 1,
           layout.data_bytes
           + (1 - c.null_fracs[layout.pos + 1])
             * (ceil(layout.data_bytes / c.aligns[layout.pos + 1]) * c.aligns[layout.pos + 1]
                + c.widths[layout.pos + 1] - layout.data_bytes)
    FROM layout
    JOIN columns AS c ON c.oid = layout.oid
    WHERE layout.pos < c.n
),
estimate AS (
    SELECT
        big.*,
        current_setting('block_size')::numeric AS block_size,
        -- 4-byte line pointer + the 23-byte tuple header (with a bit per column, dropped
        -- ones too, when a column holds NULLs or a dropped one is there), padded to 8 + the
        -- average row's data, padded to 8. A table without statistics, or with a varlena
        -- column without, is not estimated
        CASE WHEN c.analysed
             THEN 4 + 8 * ceil((23 + CASE WHEN c.nulls OR big.relnatts > c.n
                                          THEN ceil(big.relnatts / 8.0) ELSE 0 END) / 8.0)
                    + 8 * ceil(layout.data_bytes / 8.0)
        END AS row_bytes
    FROM big
    LEFT JOIN columns AS c ON c.oid = big.oid
    LEFT JOIN layout ON layout.oid = big.oid AND layout.pos = c.n
    WHERE big.stats_visible
),
wasted AS (
    SELECT
        estimate.*,
        relpages * block_size AS actual_bytes,
        -- whole rows to a page: what is left below a row's width stays empty
        ceil(reltuples::numeric
             / greatest(1, floor((block_size - 24) * fillfactor / 100.0 / row_bytes)))
            * block_size AS expected_bytes
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
