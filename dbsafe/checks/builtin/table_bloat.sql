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
-- stores them, each padded to its type's alignment, a fixed-width column its type's length,
-- a numeric or text one the widths of the values `pg_stats` keeps (its most common values
-- and histogram bounds) and another varlena one its `pg_stats` average, each for its share
-- of non-NULL rows, a NULL taking no space; each row's data padded to 8 bytes where it ends,
-- which differs from row to row when widths vary; with the tuple header, its NULL bitmap,
-- line pointer and fillfactor), the approach of the widely used `pgexperts`/ioguix bloat
-- queries with the padding within and after the columns counted too, so it needs
-- up-to-date statistics (ANALYZE) and is an estimate, not a measurement: within a point of
-- `pgstattuple`'s free space on the freshly loaded tables measured.
--
-- ## Configuration
-- `bloat-min-size = "10MB"` and `bloat-ratio = 0.5` (the defaults) in `[tool.dbsafe]`:
-- tables smaller than the size are skipped, and a table is reported when at least that
-- share of it is estimated to be waste. Only the 200 largest tables are estimated (the
-- report says how many more were not).
--
-- ## Not flagged
-- Tables below `bloat-min-size`. Tables without statistics (never analysed; one analysed
-- while empty has no column statistics either, and needs no page: all of it is reported as
-- waste), and tables
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
    SELECT big.oid, s.*
    FROM big
    CROSS JOIN LATERAL (SELECT s.attname, s.null_frac, s.avg_width,
                               s.most_common_vals AS common_values,
                               s.most_common_freqs AS common_freqs,
                               s.histogram_bounds AS bounds
                        FROM pg_stats AS s
                        WHERE s.schemaname = big.nspname AND s.tablename = big.relname
                          AND NOT s.inherited
                        OFFSET 0) AS s
    WHERE big.stats_visible
),
-- each column as PostgreSQL lays it out in a row (heap_fill_tuple): aligned to its type's
-- typalign, but for a short varlena value (at most 126 bytes, the 1-byte header), which is
-- stored unaligned; a fixed-width column is its typlen wide, a numeric or text one its
-- values' (above), another varlena one its pg_stats average (of the non-NULL values, as
-- stored: compressed, or the TOAST pointer). One row per table, its columns in arrays in
-- attnum order
columns AS (
    SELECT big.oid,
           count(*) AS n,
           bool_or(s.attname IS NOT NULL) AS analysed,
           -- a column without statistics (added since the last ANALYZE) is taken as never
           -- NULL, and with a NULL bitmap: at most what it takes
           bool_or(coalesce(s.null_frac, 1) > 0) AS nulls,
           array_agg(col.width::float8 ORDER BY a.attnum) AS widths,
           -- how often a value's width leaves each remainder modulo 8 (one row of 8 a column)
           array_agg(CASE WHEN w.shares IS NULL
                          THEN array_fill(0::float8, ARRAY[coalesce(col.width::int, 0) % 8]) || 1::float8
                               || array_fill(0::float8, ARRAY[7 - coalesce(col.width::int, 0) % 8])
                          ELSE ARRAY(SELECT share / w.weight
                                     FROM unnest(w.shares) WITH ORDINALITY AS sh (share, k)
                                     ORDER BY k) END
                     ORDER BY a.attnum) AS residues,
           -- the remainder every value leaves, when it is never NULL and all leave one (a
           -- fixed-width column, most of them)
           array_agg(CASE WHEN coalesce(s.null_frac, 0) = 0
                          THEN CASE WHEN w.shares IS NULL THEN coalesce(col.width::int, 0) % 8
                                    ELSE array_position(w.shares, w.weight) - 1 END
                     END ORDER BY a.attnum) AS every_widths,
           array_agg(CASE WHEN t.typlen = -1 AND a.attstorage <> 'p' AND s.avg_width <= 127
                          THEN 1
                          ELSE CASE a.attalign WHEN 'c' THEN 1 WHEN 's' THEN 2
                                               WHEN 'i' THEN 4 ELSE 8 END END
                     ORDER BY a.attnum) AS aligns,
           array_agg(coalesce(s.null_frac, 0)::float8 ORDER BY a.attnum) AS null_fracs
    FROM big
    JOIN pg_attribute AS a ON a.attrelid = big.oid AND a.attnum > 0 AND NOT a.attisdropped
    JOIN pg_type AS t ON t.oid = a.atttypid
    LEFT JOIN stats AS s ON s.oid = big.oid AND s.attname = a.attname
    -- A numeric or text column's widths, from the values pg_stats keeps (its most common
    -- ones, weighed by their frequencies, and its histogram's bounds, sharing the rest), as
    -- stored (a short value has a 1-byte header): their mean, as avg_width is the mean
    -- truncated to a whole byte (a numeric of 7.93 bytes said 7), and how often a value's
    -- width leaves each remainder modulo 8 (below). Per column, not joined: PostgreSQL
    -- planned such a join as a nested loop over every column's, 0.3 s for 200 tables
    LEFT JOIN LATERAL (
        SELECT sum(v.weight * v.width) / sum(v.weight) AS mean, sum(v.weight) AS weight,
               ARRAY[sum(v.weight * (v.width % 8 = 0)::int), sum(v.weight * (v.width % 8 = 1)::int),
                     sum(v.weight * (v.width % 8 = 2)::int), sum(v.weight * (v.width % 8 = 3)::int),
                     sum(v.weight * (v.width % 8 = 4)::int), sum(v.weight * (v.width % 8 = 5)::int),
                     sum(v.weight * (v.width % 8 = 6)::int), sum(v.weight * (v.width % 8 = 7)::int)]
               AS shares
        -- the values' weights summed by width first: a column's hundred or so values have a
        -- few widths (ten sums a value and the width worked out in each: 40 of the 140 ms of
        -- server time 200 tables took)
        FROM (SELECT CASE WHEN a.atttypid = 'numeric'::regtype
                          -- a numeric as numeric_in makes it has a 4-byte header
                          THEN pg_column_size(v.value::numeric) - 3
                          ELSE octet_length(v.value)
                               + CASE WHEN octet_length(v.value) < 127 THEN 1 ELSE 4 END
                     END AS width,
                     sum(v.weight) AS weight
              -- the arrays read once a column, and only a numeric or text one's (OFFSET 0
              -- keeps it so: inlined, each value read them again, seconds for 200 tables).
              -- Each value as its type's output function writes it, split at a separator
              -- (\x1f), not the array's text form parsed back (::text::text[], its quotes and
              -- escapes: 20 ms more of 100); when a value holds the separator (more pieces
              -- than values), the array is parsed
              FROM (SELECT CASE WHEN cardinality(split.common_values) = cardinality(s.common_values)
                                THEN split.common_values
                                ELSE s.common_values::text::text[] END AS common_values,
                           CASE WHEN cardinality(split.bounds) = cardinality(s.bounds)
                                THEN split.bounds ELSE s.bounds::text::text[] END AS bounds,
                           (1 - s.null_frac - coalesce((SELECT sum(f) FROM unnest(s.common_freqs)
                                                        AS f), 0))::float8 AS rest
                    FROM (SELECT string_to_array(array_to_string(s.common_values, E'\x1f'), E'\x1f')
                                     AS common_values,
                                 string_to_array(array_to_string(s.bounds, E'\x1f'), E'\x1f')
                                     AS bounds) AS split
                    WHERE a.atttypid IN ('numeric'::regtype, 'text'::regtype, 'varchar'::regtype)
                      AND a.attstorage <> 'p'
                      AND s.attname IS NOT NULL
                    OFFSET 0) AS arr
              CROSS JOIN LATERAL (SELECT m.value, m.freq::float8 AS weight
                                  FROM unnest(arr.common_values, s.common_freqs) AS m (value, freq)
                                  UNION ALL
                                  SELECT h.value, arr.rest / cardinality(arr.bounds)
                                  FROM unnest(arr.bounds) AS h (value)) AS v
              -- each value's width worked out once, a grouping key
              GROUP BY 1) AS v
        HAVING sum(v.weight) > 0
    ) AS w ON true
    CROSS JOIN LATERAL (SELECT CASE WHEN t.typlen > 0 THEN t.typlen
                                    ELSE coalesce(w.mean, s.avg_width) END AS width) AS col
    WHERE big.stats_visible
    GROUP BY big.oid
),
-- the average row's data, column after column: a column present (its non-NULL share of the
-- rows) starts at the offset so far rounded up to its alignment. Summing the widths alone
-- missed the padding between them: a freshly loaded table of bool and bigint columns in
-- turn (pgstattuple: 1% free space) was estimated 27% bloat. Rows whose widths vary end at
-- different offsets, and padding the average row's offset is not padding each row's (a
-- bigint and a numeric of 7 or 9 bytes, rows of 40 and 48 bytes, was taken as 15 bytes
-- padded to 16, every row 40, and a fresh table 8% bloat; pgstattuple: 0.2%): `ends` is how
-- often a row's data so far ends at each remainder modulo 8, which is all an alignment (1,
-- 2, 4 or 8) depends on, carried column by column (a NULL moves no row's end; the columns'
-- widths taken as independent)
layout (oid, pos, data_bytes, ends) AS (
    SELECT oid, 0, 0::float8, '{1,0,0,0,0,0,0,0}'::float8[] FROM columns
    UNION ALL
    SELECT layout.oid, layout.pos + 1,
           layout.data_bytes + (1 - col.null_frac) * (step.padding + col.width),
           step.ends
    FROM layout
    JOIN columns AS c ON c.oid = layout.oid
    CROSS JOIN LATERAL (
        SELECT c.aligns[layout.pos + 1] AS align, c.null_fracs[layout.pos + 1] AS null_frac,
               c.widths[layout.pos + 1] AS width, c.every_widths[layout.pos + 1] AS every_width,
               -- where every row's data ends so far, when all end at one remainder
               array_position(layout.ends, 1::float8) - 1 AS every_end
    ) AS col
    -- r: where a row's data ended, e: where it ends after this column; each row's start
    -- padded to the column's alignment. Said without the sums over r and e where they are
    -- not needed (they took 0.2 s for 200 tables): when every row ended at one remainder
    -- and every value leaves one, or the column is 8-aligned, every row ends at one
    -- remainder again; a 1-aligned column moves every row by its one remainder
    CROSS JOIN LATERAL (
        SELECT CASE WHEN col.every_end IS NOT NULL
                    THEN (col.align - col.every_end % col.align) % col.align
                    ELSE (SELECT sum(layout.ends[r + 1]
                                     * ((col.align - r % col.align) % col.align))
                          FROM generate_series(0, 7) AS r)
               END AS padding,
               CASE WHEN col.every_width IS NOT NULL
                         AND (col.every_end IS NOT NULL OR col.align = 8)
                    THEN array_fill(0::float8, ARRAY[next.e]) || 1::float8
                         || array_fill(0::float8, ARRAY[7 - next.e])
                    WHEN col.every_width IS NOT NULL AND col.align = 1
                    THEN layout.ends[9 - col.every_width:8] || layout.ends[1:8 - col.every_width]
                    ELSE (SELECT ARRAY[sum(w * (e = 0)::int), sum(w * (e = 1)::int),
                                       sum(w * (e = 2)::int), sum(w * (e = 3)::int),
                                       sum(w * (e = 4)::int), sum(w * (e = 5)::int),
                                       sum(w * (e = 6)::int), sum(w * (e = 7)::int)]
                          FROM (-- the rows where it is NULL stay where they ended
                                SELECT col.null_frac * r.share AS w, r.k - 1 AS e
                                FROM unnest(layout.ends) WITH ORDINALITY AS r (share, k)
                                UNION ALL
                                -- the others, aligned, then moved by their value's width
                                SELECT (1 - col.null_frac) * r.share
                                       * c.residues[layout.pos + 1][v.k],
                                       (r.k - 1 + (col.align - (r.k - 1) % col.align)
                                                  % col.align + v.k - 1) % 8
                                FROM unnest(layout.ends) WITH ORDINALITY AS r (share, k)
                                CROSS JOIN generate_series(1, 8) AS v (k)
                                WHERE r.share > 0
                                  AND c.residues[layout.pos + 1][v.k] > 0) AS moved)
               END AS ends
        -- where every row ends, when one place: its start (0 when 8-aligned), padded, and
        -- its one width's remainder
        FROM (SELECT (CASE WHEN col.align = 8 THEN 0
                           ELSE coalesce(col.every_end, 0)
                                + (col.align - coalesce(col.every_end, 0) % col.align)
                                  % col.align END
                      + coalesce(col.every_width, 0)) % 8 AS e) AS next
    ) AS step
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
                    + padded.data_bytes::numeric
        END AS row_bytes
    FROM big
    LEFT JOIN columns AS c ON c.oid = big.oid
    LEFT JOIN layout ON layout.oid = big.oid AND layout.pos = c.n
    -- each row's data padded to 8 bytes: by what its end's remainder leaves
    CROSS JOIN LATERAL (
        SELECT layout.data_bytes + sum(layout.ends[r + 1] * ((8 - r) % 8)) AS data_bytes
        FROM generate_series(0, 7) AS r
    ) AS padded
    WHERE big.stats_visible
),
wasted AS (
    SELECT
        estimate.*,
        relpages * block_size AS actual_bytes,
        -- whole rows to a page: what is left below a row's width stays empty. A table
        -- counted empty (reltuples 0: measured by the VACUUM or ANALYZE that measured its
        -- relpages; never measured is -1 since PostgreSQL 14, and relpages 0 before) needs
        -- no page, whatever its rows' width: emptied between two ANALYZEs, pg_stats keeps
        -- nothing of it, and another ANALYZE changes nothing
        CASE WHEN reltuples = 0 THEN 0
             ELSE ceil(reltuples::numeric
                       / greatest(1, floor((block_size - 24) * fillfactor / 100.0 / row_bytes)))
                  * block_size END AS expected_bytes
    FROM estimate
    WHERE (row_bytes IS NOT NULL AND reltuples >= 0) OR reltuples = 0
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
    WHERE (row_bytes IS NULL OR reltuples < 0) AND reltuples <> 0
) AS unseen
GROUP BY why
UNION ALL
SELECT NULL, NULL, NULL,
       format('%s more table%s above bloat-min-size, smaller than the 200 largest, not '
              'estimated', max(above_min_size) - 200,
              CASE WHEN max(above_min_size) = 201 THEN '' ELSE 's' END)
FROM big
HAVING max(above_min_size) > 200
