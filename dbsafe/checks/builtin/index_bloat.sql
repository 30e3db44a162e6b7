-- dbsafe:check DBS516 index-bloat
-- severity: note
-- since: 0.1.0
-- summary: B-tree index takes much more space than its entries need (estimated bloat).
-- help: Rebuild it with REINDEX INDEX CONCURRENTLY (PostgreSQL 12+), which does not block writes.
--
-- ## Why
-- B-tree pages emptied by deletes and updates are reused only for keys in the same range,
-- so indexes on ever-growing keys or after mass deletes grow far beyond their entries:
-- more pages to cache and to scan. The estimate compares the index's size with what its
-- entries need (`reltuples` times the key width from `pg_stats`, with the 8-byte index tuple
-- header, line pointer and the default 90% fillfactor; an entry whose key is NULL stores
-- no value for it, with a 16-byte header (deduplicated, such entries are one key for each
-- value of the other key columns); a single numeric or text key padded as each of
-- the values `pg_stats` keeps is; where B-tree deduplication applies (PostgreSQL 13: not
-- unique, no INCLUDE, no numeric, jsonb or float key, a deterministic collation), a key's
-- further rows a 6-byte row pointer each, the rows to a key from `n_distinct`), so it
-- needs up-to-date statistics (ANALYZE) and is an estimate. An index built before an
-- upgrade from PostgreSQL 12 is not deduplicated until rebuilt, and is estimated as if it
-- were (its bloat overstated, to be cured by the REINDEX advised). A partial index is weighed by its own `reltuples`, the
-- rows its WHERE selects, whose widths the table's statistics do not tell: a fixed-width
-- key column is taken at its type's length and never NULL (at most what an entry takes), a
-- variable-width one only when the WHERE is `col IS NOT NULL` on it (the statistics'
-- width is that of the non-NULL values), an expression by the index's own statistics
-- (ANALYZE gathers them from the rows the WHERE selects).
--
-- ## Configuration
-- `bloat-min-size` and `bloat-ratio`, as for DBS515. Only the 200 largest indexes are
-- estimated (the report says how many more were not).
--
-- ## Not flagged
-- Non-B-tree indexes, indexes smaller than `bloat-min-size`. A partial index on a
-- variable-width column its WHERE is not `col IS NOT NULL` on (a `WHERE length(body) > 100`
-- index holds the column's widest values): not estimated, and the report lists it as not
-- checked (partial indexes were all left out in silence). An index on
-- an expression is estimated from the expression's own statistics, which `ANALYZE` keeps
-- under the index's name (such indexes, `lower(email)` ones among them, were left out in
-- silence). Indexes whose key columns have no statistics, or whose statistics dbsafe's
-- role may not see (as DBS515; an expression's are shown only to the index's owner and
-- `pg_read_all_data`): not estimated, and the report lists them as not checked. An index
-- counted empty (`reltuples` 0, its table emptied and analysed: ANALYZE keeps no
-- statistics of an empty table) needs none, and all of it but the metapage is reported as
-- waste. An index
-- of a table an extension owns is reported, unlike DBS514's unused ones (a drop does not
-- stick): REINDEX rebuilds it in place.
WITH big AS (
    SELECT i.indexrelid, i.indrelid, i.indkey, ic.relpages, ic.reltuples, n.nspname,
           ic.relname, t.relname AS table_name,
           coalesce((SELECT substring(o FROM 'fillfactor=([0-9]+)')::int
                     FROM unnest(ic.reloptions) AS o WHERE o LIKE 'fillfactor=%'), 90)
               AS fillfactor,
           -- pg_stats shows dbsafe's role only the columns it may read, and nothing of a
           -- table whose row-level security applies to it; an expression's statistics are
           -- the index's own (pg_stats under the index's name), shown only to its owner
           NOT row_security_active(i.indrelid)
           AND NOT EXISTS (SELECT FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k (attnum, pos)
                           WHERE NOT CASE WHEN k.attnum = 0
                                          THEN has_column_privilege(i.indexrelid, k.pos::int2,
                                                                    'SELECT')
                                          ELSE has_column_privilege(i.indrelid, k.attnum,
                                                                    'SELECT') END)
               AS stats_visible,
           i.indexprs IS NOT NULL AS on_expression,
           t.reltuples AS table_rows,
           -- whether B-tree deduplication (PostgreSQL 13) stores its duplicates as one key
           -- and a list of row pointers: not a unique index's, one with INCLUDE columns or
           -- `deduplicate_items = off`, nor one on a key whose operator class has no
           -- equalimage support function (numeric, jsonb, float, arrays...) or whose
           -- collation is nondeterministic
           NOT i.indisunique AND i.indnatts = i.indnkeyatts
           AND NOT coalesce('deduplicate_items=off' = ANY (ic.reloptions), false)
           AND NOT EXISTS (
               SELECT FROM unnest(i.indclass::oid[], i.indcollation::oid[]) AS k (opclass, coll)
               JOIN pg_opclass AS opc ON opc.oid = k.opclass
               LEFT JOIN pg_collation AS co ON co.oid = k.coll
               WHERE NOT EXISTS (SELECT FROM pg_amproc AS p
                                 WHERE p.amprocfamily = opc.opcfamily AND p.amprocnum = 4
                                   AND p.amproclefttype = opc.opcintype)
                  OR NOT coalesce(co.collisdeterministic, true)) AS deduplicated,
           pg_get_expr(i.indpred, i.indrelid) AS predicate,
           count(*) OVER () AS above_min_size  -- before the LIMIT: all of them
    FROM pg_index AS i
    JOIN pg_class AS ic ON ic.oid = i.indexrelid
    JOIN pg_class AS t ON t.oid = i.indrelid
    JOIN pg_namespace AS n ON n.oid = ic.relnamespace
    JOIN pg_am AS am ON am.oid = ic.relam
    WHERE am.amname = 'btree'
      AND i.indisvalid
      AND ic.reltuples >= 0
      AND ic.relpages::bigint * current_setting('block_size')::bigint
          >= coalesce(nullif(current_setting('dbsafe.bloat_min_size', true), ''),
                      '10485760')::bigint
      AND n.nspname <> ALL (ARRAY['information_schema', 'dbsafe'])
      AND n.nspname !~ '^pg_'
    ORDER BY ic.relpages DESC
    LIMIT 200
),
-- pg_stats of each index's table, and its own (an expression's statistics are the index's),
-- read table by table (OFFSET 0 keeps it so): joined whole, the view weighs every column of
-- the database (has_column_privilege on each) for every index, a minute for 200 indexes of
-- a database of 2,000 tables. Read once (MATERIALIZED): inlined, PostgreSQL may plan it
-- read again for each key column (a nested loop), 1 s for the 100 indexes of a 20-table one
stats AS MATERIALIZED (
    SELECT big.indexrelid, s.*
    FROM big
    CROSS JOIN LATERAL unnest(ARRAY[big.table_name, big.relname]) AS r (name)
    CROSS JOIN LATERAL (SELECT s.tablename, s.attname, s.null_frac, s.avg_width, s.n_distinct,
                               -- as arrays: written out as text here, every column's
                               -- were, not only a numeric or text key's (below)
                               s.most_common_vals AS common_values,
                               s.most_common_freqs AS common_freqs,
                               s.histogram_bounds AS bounds
                        FROM pg_stats AS s
                        WHERE s.schemaname = big.nspname AND s.tablename = r.name
                          AND NOT s.inherited
                        OFFSET 0) AS s
    WHERE big.stats_visible
),
keys AS (
    SELECT big.indexrelid, s.avg_width,
           -- A partial index holds only the rows its WHERE selects, whose widths and NULLs
           -- the table's statistics do not tell (the table's widest or narrowest values may
           -- be the ones indexed; reltuples is the index's own count): a fixed-width column
           -- is its type's length, never NULL (at most what an entry takes), a
           -- variable-width one is known only when the WHERE is `col IS NOT NULL` on it (its
           -- statistics are of its non-NULL values). An expression's statistics are of the
           -- index's own rows
           CASE WHEN big.predicate IS NULL OR k.attnum = 0 THEN s.avg_width
                WHEN t.typlen > 0 THEN t.typlen
                WHEN big.predicate = format('(%s IS NOT NULL)', quote_ident(a.attname))
                THEN s.avg_width
           END AS width,
           CASE WHEN big.predicate IS NULL OR k.attnum = 0 THEN s.null_frac ELSE 0
           END AS null_frac,
           -- its distinct values (a negative n_distinct is a share of the table's rows)
           CASE WHEN s.n_distinct >= 0 THEN s.n_distinct
                ELSE -s.n_distinct * greatest(big.table_rows, 0) END AS distinct_values,
           vw.padded::numeric AS padded
    FROM big
    CROSS JOIN LATERAL unnest(big.indkey::int2[]) WITH ORDINALITY AS k (attnum, pos)
    -- a column's statistics are its table's; an expression's (indkey 0) the index's own,
    -- which ANALYZE of the table gathers under the index's name and column
    JOIN pg_attribute AS a
      ON (k.attnum <> 0 AND a.attrelid = big.indrelid AND a.attnum = k.attnum)
      OR (k.attnum = 0 AND a.attrelid = big.indexrelid AND a.attnum = k.pos)
    JOIN pg_type AS t ON t.oid = a.atttypid
    LEFT JOIN stats AS s ON s.indexrelid = big.indexrelid
                        AND s.tablename = CASE WHEN k.attnum = 0 THEN big.relname
                                               ELSE big.table_name END
                        AND s.attname = a.attname
    -- A numeric or text key's entry padded to 8 bytes, on average, from the widths of the
    -- values pg_stats keeps (its most common ones, weighed by their frequencies, and its
    -- histogram's bounds, sharing the rest), as stored (a short value has a 1-byte header):
    -- avg_width, truncated to a byte and padded as one, took a numeric index's entries of 16
    -- and 24 bytes, as many of each, as 16 (a fresh index estimated 17% bloat; pgstatindex:
    -- 90% leaf density, none). As DBS515 reads them (a check file cannot share SQL)
    LEFT JOIN LATERAL (
        SELECT sum(v.weight * 8 * ceil(v.width / 8.0)) / sum(v.weight) AS padded
        -- the values' weights summed by width first: a key's hundred or so values have a few
        -- widths, each worked out once (a grouping key)
        FROM (SELECT CASE WHEN a.atttypid = 'numeric'::regtype
                          -- a numeric as numeric_in makes it has a 4-byte header
                          THEN pg_column_size(v.value::numeric) - 3
                          ELSE octet_length(v.value)
                               + CASE WHEN octet_length(v.value) < 127 THEN 1 ELSE 4 END
                     END AS width,
                     sum(v.weight) AS weight
              -- the arrays read once a key, and only a numeric or text one's (OFFSET 0 keeps
              -- it so). Each value as its type's output function writes it, split at a
              -- separator (\x1f), not the array's text form parsed back (::text::text[], its
              -- quotes and escapes); when a value holds the separator (more pieces than
              -- values), the array is parsed
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
                      AND (big.predicate IS NULL OR k.attnum = 0)
                      AND s.attname IS NOT NULL
                    OFFSET 0) AS arr
              CROSS JOIN LATERAL (SELECT m.value, m.freq::float8 AS weight
                                  FROM unnest(arr.common_values, s.common_freqs) AS m (value, freq)
                                  UNION ALL
                                  SELECT h.value, arr.rest / cardinality(arr.bounds)
                                  FROM unnest(arr.bounds) AS h (value)) AS v
              GROUP BY 1) AS v
        HAVING sum(v.weight) > 0
    ) AS vw ON true
    WHERE big.stats_visible
),
estimate AS (
    SELECT
        big.*,
        current_setting('block_size')::numeric AS block_size,
        -- 8-byte index tuple header + 4-byte line pointer + the key, padded to 8 bytes.
        -- pg_stats' avg_width is the width of the non-NULL values only: an entry with a
        -- NULL key (the share of the column NULL most often) stores no value for it and has
        -- a 16-byte header (with its NULL bitmap). Taking every entry at full width put the
        -- expected size of an index on a mostly NULL wide column above the index's own, and
        -- one three-quarters empty went unreported
        --
        -- Deduplicated (PostgreSQL 13), a key's rows beyond the first take a 6-byte row
        -- pointer each in one entry (of at most about 800 bytes, as CREATE INDEX and
        -- REINDEX build them): taking an entry a row put an index on a column of 1,000
        -- distinct values in 200,000 rows at three times its size, and its bloat went
        -- unreported. Rows to a key: the rows over the key columns' distinct values (their
        -- product, at most the rows). An index counted empty (reltuples 0: measured by the
        -- VACUUM or ANALYZE that measured its relpages) needs its metapage alone, whatever
        -- its keys' width: its table emptied between two ANALYZEs, pg_stats keeps nothing
        -- of it, and another ANALYZE changes nothing
        CASE WHEN big.reltuples = 0 THEN 0
             WHEN key.analysed AND big.deduplicated
             THEN (1 - key.null_frac)
                  * least(12 + key.padded,
                          (4 + 8 * ceil((8 + key.padded + 6 * dup.value_rows) / 8.0))
                          / dup.value_rows)
                  + key.null_frac
                    * least(20 + key.padded_rest,
                            (4 + 8 * ceil((16 + key.padded_rest + 6 * dup.null_rows) / 8.0))
                            / dup.null_rows)
             WHEN key.analysed
             THEN (1 - key.null_frac) * (12 + key.padded)
                  + key.null_frac * (20 + key.padded_rest)
        END AS entry_bytes,
        key.analysed
    FROM big
    JOIN (SELECT indexrelid,
                 count(avg_width) = count(*) AS analysed,
                 sum(width) AS width,
                 -- the key padded to 8 bytes: a single numeric or text key's by its values
                 coalesce(CASE WHEN count(*) = 1 THEN max(padded) END,
                          8 * ceil(sum(width) / 8.0)) AS padded,
                 8 * ceil((sum(width) - (array_agg(width ORDER BY null_frac DESC))[1]) / 8.0)
                     AS padded_rest,
                 max(null_frac)::numeric AS null_frac,
                 exp(sum(ln(greatest(distinct_values, 1))))::numeric AS distinct_values,
                 -- the distinct values of the other key columns than the one NULL most
                 -- often (the one padded_rest leaves out): what tells its NULL entries apart
                 exp(sum(ln(greatest(distinct_values, 1)))
                     - ln(greatest((array_agg(distinct_values ORDER BY null_frac DESC))[1], 1)))
                     ::numeric AS distinct_rest
          FROM keys
          GROUP BY indexrelid) AS key ON key.indexrelid = big.indexrelid
    CROSS JOIN LATERAL (
        SELECT greatest(1, floor((800 - 8 - key.padded) / 6)) AS most_rows
    ) AS posting
    -- rows to an entry: a key's rows, up to an entry's most. The rows whose column NULL
    -- most often is NULL are one key for each value of the other key columns (for a
    -- single-column index, one key): taken as one key whatever the other columns held, a
    -- freshly built index on `(website_id, created_at, event_name)`, event_name always
    -- NULL, was estimated at a 130th of its entries' size and reported 82% bloated
    -- (pgstatindex: 90% leaf density; REINDEX left its size as it was)
    CROSS JOIN LATERAL (
        SELECT greatest(1, least(posting.most_rows,
                                 (1 - key.null_frac) * big.reltuples::numeric
                                 / greatest(1, least(key.distinct_values::numeric,
                                                     big.reltuples::numeric))))
                   AS value_rows,
               greatest(1, least(posting.most_rows,
                                 key.null_frac * big.reltuples::numeric
                                 / greatest(1, least(key.distinct_rest,
                                                     key.null_frac
                                                     * big.reltuples::numeric))))
                   AS null_rows
    ) AS dup
    WHERE big.stats_visible
),
wasted AS (
    SELECT
        estimate.*,
        relpages * block_size AS actual_bytes,
        -- one metapage, plus leaf pages (page header 24 bytes, btree special space 16)
        (1 + ceil(reltuples::numeric * entry_bytes / ((block_size - 40) * fillfactor / 100.0)))
            * block_size AS expected_bytes
    FROM estimate
    WHERE entry_bytes IS NOT NULL
)
(SELECT
     format('%s.%s', nspname, relname) AS subject,
     format('Index `%s` on `%s.%s` takes %s, of which about %s%% (%s) is estimated to be bloat.',
            relname, nspname, table_name, pg_size_pretty(actual_bytes),
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
       format('%s index%s %s: %s%s', count(*), CASE WHEN count(*) = 1 THEN '' ELSE 'es' END,
              why, array_to_string((array_agg(format('`%s.%s`', nspname, relname)
                                              ORDER BY nspname, relname))[1:5], ', '),
              CASE WHEN count(*) > 5 THEN format(' and %s more', count(*) - 5) ELSE '' END)
FROM (
    SELECT nspname, relname,
           CASE WHEN on_expression
                THEN 'whose statistics dbsafe''s role may not see (pg_stats shows an '
                     'index''s expressions only to its owner and pg_read_all_data, its '
                     'table''s columns only those it may SELECT, none under row-level '
                     'security applying to it)'
                ELSE 'whose table''s statistics dbsafe''s role may not see (pg_stats shows it '
                     'only columns it may SELECT, none under row-level security applying to '
                     'it)' END AS why
    FROM big
    WHERE NOT stats_visible
    UNION ALL
    SELECT nspname, relname,
           'whose key columns have no statistics to estimate bloat from (run ANALYZE on the '
           'table)'
    FROM estimate
    WHERE NOT analysed AND reltuples <> 0
    UNION ALL
    SELECT nspname, relname,
           'whose WHERE selects rows the table''s statistics cannot size (partial, on a '
           'variable-width column, but for one its WHERE is `col IS NOT NULL` on)'
    FROM estimate
    WHERE analysed AND entry_bytes IS NULL
) AS unseen
GROUP BY why
UNION ALL
SELECT NULL, NULL, NULL,
       format('%s more index%s above bloat-min-size, smaller than the 200 largest, not '
              'estimated', max(above_min_size) - 200,
              CASE WHEN max(above_min_size) = 201 THEN '' ELSE 'es' END)
FROM big
HAVING max(above_min_size) > 200
