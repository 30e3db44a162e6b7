-- dbsafe:check DBS505 duplicate-index
-- severity: warning
-- since: 0.1.0
-- summary: Index duplicates another index on the same table.
-- help: Drop the duplicate with DROP INDEX CONCURRENTLY (plain DROP INDEX on a partitioned table; drop the constraint instead if it backs one).
--
-- ## Why
-- Two indexes with the same columns, operator classes, collations, ordering, expressions
-- and predicate answer exactly the same queries; the second one only slows every write and
-- takes disk, cache and backup space.
--
-- A unique index a foreign key uses (on the table it references) goes only once that key is
-- re-created to use the kept one: PostgreSQL refuses to drop it first (2BP01). The finding
-- names such keys.
--
-- ## Not flagged
-- The index that is kept: the one backing a constraint, else a unique one, else one
-- `NULLS NOT DISTINCT`, else a partition's index attached to its parent table's index, else
-- the oldest. An attached
-- index is never reported: PostgreSQL drops it only with the parent's (2BP01), and a
-- duplicate index of the parent table is reported on the parent.
-- Indexes that differ in any of the above, in access method or in INCLUDE columns. A
-- unique index beside one that does not enforce all it does: a non-unique one (an
-- exclusion constraint's too, which no `ON CONFLICT (col)` infers, 42P10, nor a foreign
-- key uses, 42830), a
-- `DEFERRABLE` constraint's (which no foreign key may use nor `ON CONFLICT`, both
-- 55000) beside an immediate one or the other way round, one with `NULLS NOT DISTINCT`
-- beside one without (PostgreSQL 15; dropping it lets two NULLs in).
-- pg_constraint once, grouped by index: it has no index on conindid, so a subquery per
-- index read all of it for each (7 s on 5,000 indexes and 7,500 constraints).
WITH by_index AS (
    SELECT
        con.conindid,
        string_agg(format('%s.%s.%s', fn.nspname, f.relname, con.conname), ', ' ORDER BY 1)
            FILTER (WHERE con.contype = 'f') AS foreign_keys,
        bool_or(con.contype IN ('p', 'u', 'x')) AS backs_constraint
    FROM pg_constraint AS con
    JOIN pg_class AS f ON f.oid = con.conrelid
    JOIN pg_namespace AS fn ON fn.oid = f.relnamespace
    WHERE con.conindid <> 0
    GROUP BY con.conindid
),
idx AS (
    SELECT
        i.indexrelid,
        i.indrelid,
        i.indkey::text AS keys,
        i.indclass::text AS classes,
        i.indcollation::text AS collations,
        i.indoption::text AS options,
        i.indnkeyatts,
        ic.relam,
        i.indisunique,
        i.indimmediate,
        nnd.nulls_not_distinct,
        coalesce(pg_get_expr(i.indexprs, i.indrelid), '') AS exprs,
        coalesce(pg_get_expr(i.indpred, i.indrelid), '') AS pred,
        ic.relname,
        n.nspname,
        t.relname AS table_name,
        -- A partition's index attached to its parent's cannot be dropped alone (2BP01):
        -- it goes with the parent's, which is reported on the parent.
        ic.relispartition AS attached,
        -- foreign keys that use the index (it goes only after they are re-created, 2BP01)
        con.foreign_keys,
        -- Which of two duplicates to keep: constraint-backed, then unique, then NULLS NOT
        -- DISTINCT, then attached to the parent's index, then oldest.
        coalesce(con.backs_constraint, false)::int * 8 + i.indisunique::int * 4
            + nnd.nulls_not_distinct::int * 2
            + ic.relispartition::int AS keep_rank
    FROM pg_index AS i
    JOIN pg_class AS ic ON ic.oid = i.indexrelid
    JOIN pg_class AS t ON t.oid = i.indrelid
    JOIN pg_namespace AS n ON n.oid = ic.relnamespace
    LEFT JOIN by_index AS con ON con.conindid = i.indexrelid
    -- NULLS NOT DISTINCT (PostgreSQL 15), read through to_jsonb so that the query still
    -- parses on servers without the column; once per index: to_jsonb of a whole pg_index
    -- row takes 30 us (0.2 s for 7,700 indexes)
    CROSS JOIN LATERAL (
        SELECT coalesce((to_jsonb(i) ->> 'indnullsnotdistinct')::boolean, false)
                   AS nulls_not_distinct
        OFFSET 0  -- not pulled up into both uses
    ) AS nnd
    WHERE i.indisvalid
      AND n.nspname <> ALL (ARRAY['information_schema', 'dbsafe'])
      AND n.nspname !~ '^pg_'
)
SELECT DISTINCT ON (dup.indexrelid)
    format('%s.%s', dup.nspname, dup.relname) AS subject,
    format('Index `%s` on `%s.%s` duplicates index `%s`.',
           dup.relname, dup.nspname, dup.table_name, kept.relname) AS message,
    dup.foreign_keys AS used_by_foreign_keys
FROM idx AS dup
JOIN idx AS kept
  ON kept.indrelid = dup.indrelid
 AND kept.indexrelid <> dup.indexrelid
 AND kept.keys = dup.keys
 AND kept.classes = dup.classes
 AND kept.collations = dup.collations
 AND kept.options = dup.options
 AND kept.indnkeyatts = dup.indnkeyatts
 AND kept.relam = dup.relam
 AND kept.exprs = dup.exprs
 AND kept.pred = dup.pred
 AND (kept.keep_rank, -kept.indexrelid::bigint) > (dup.keep_rank, -dup.indexrelid::bigint)
 -- a unique duplicate goes only when the kept index enforces all it does: unique too,
 -- checked at the same moment (a DEFERRABLE constraint's index serves no foreign key
 -- and no ON CONFLICT, both 55000; an immediate one refuses what a deferred check lets
 -- a transaction pass through), and NULLS NOT DISTINCT if it is (else two NULLs pass)
 AND (NOT dup.indisunique
      OR (kept.indisunique AND kept.indimmediate = dup.indimmediate
          AND (kept.nulls_not_distinct OR NOT dup.nulls_not_distinct)))
WHERE NOT dup.attached
ORDER BY dup.indexrelid, kept.keep_rank DESC, kept.indexrelid
