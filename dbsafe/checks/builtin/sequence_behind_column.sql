-- dbsafe:check DBS517 sequence-behind-column
-- severity: error
-- since: 0.1.0
-- summary: Sequence hands out a value its column already holds, so the next insert that takes its default collides.
-- help: Move the sequence past the column's values with the `setval` call shown (the highest value, the lowest for a descending sequence).
--
-- ## Why
-- Rows loaded with their ids (`COPY`, `INSERT` with explicit values, a data-only dump, a
-- script moving data between databases) leave the sequence where it was. The next insert
-- that takes the column's default gets a value a row already has: with a primary key or
-- unique constraint it fails (`duplicate key value violates unique constraint`, 23505),
-- and keeps failing for every value up to the highest; without one the value is silently
-- duplicated.
--
-- The sequence's next value is read from the sequence itself (what `nextval()` returns,
-- `setval(..., false)` included) and compared with the highest value of every column it
-- feeds (an identity column, or one whose default calls nextval() on it, as serial's does,
-- or on its name as text, as serial's did before PostgreSQL 8.1: `nextval('s'::text)`); the
-- lowest for a descending sequence.
--
-- ## Not flagged
-- Sequences that `CYCLE` (their values are meant to come round again), columns of other
-- than integer and numeric types, partitions whose parent's column the same sequence feeds
-- (the parent's values include theirs). Sequences or columns dbsafe's role may not read
-- (or whose schema it may not use), and tables whose row-level security applies to it (the
-- rows it hides may hold the highest value), are not compared: the report lists them as not
-- checked.
-- Columns whose default only names the sequence (`currval()`, a `regclass` value), and a
-- column the sequence is left OWNED BY after it moved to another (serial to identity): their
-- inserts take no value from it. A default naming the sequence as text is looked up on
-- every call, by the inserting session's search_path: it is followed only when the name is
-- qualified, or when this session's search_path finds it and no other sequence has that
-- name. A view's column default feeds its table's column, which is checked. A table others
-- inherit from is weighed by its own rows, each inheriting table by its own. Finding the
-- highest value reads an index on the column when there is one, else scans the table,
-- bounded by `check-timeout`.
WITH feeds AS (
    -- identity columns (deptype 'i'); a sequence OWNED BY a column (deptype 'a') feeds it
    -- only through its default, below: a sequence left owned when the column moved to
    -- another (serial to identity, integer to a new bigint sequence) feeds nothing
    SELECT d.objid AS seq_oid, d.refobjid AS table_oid, d.refobjsubid AS attnum
    FROM pg_depend AS d
    WHERE d.classid = 'pg_class'::regclass
      AND d.refclassid = 'pg_class'::regclass
      AND d.deptype = 'i'
      AND d.refobjsubid > 0
    UNION
    -- a column default that calls nextval() on the sequence (serial's too): pg_depend links
    -- a default to every relation it names (currval('s') and 's'::regclass too), and only
    -- PostgreSQL's own printing of the default says which function takes it
    SELECT d.refobjid, ad.adrelid, ad.adnum
    FROM pg_depend AS d
    JOIN pg_attrdef AS ad ON ad.oid = d.objid
    WHERE d.classid = 'pg_attrdef'::regclass
      AND d.refclassid = 'pg_class'::regclass
      AND strpos(pg_get_expr(ad.adbin, ad.adrelid),
                 format('nextval(''%s''::regclass)',
                        replace(d.refobjid::regclass::text, '''', ''''''))) > 0
    UNION
    -- a default calling nextval() on the sequence's name as text (`nextval('s'::text)`, as
    -- serial's default was before PostgreSQL 8.1): looked up on every call, so no catalog
    -- entry links the two. Followed when one sequence alone can be meant: a qualified name,
    -- or an unqualified one that this session's search_path finds and no other sequence
    -- has (another session's finds it or nothing, and its insert fails). Looked up in the
    -- catalog: to_regclass fails without USAGE on the schema (42501).
    SELECT named.seq_oid, named.adrelid, named.adnum
    FROM (
        SELECT ad.adrelid, ad.adnum, ident.parts,
               (SELECT c.oid
                FROM unnest(CASE WHEN cardinality(ident.parts) = 2
                                 THEN ARRAY[ident.parts[1]]
                                 ELSE current_schemas(true) END)
                     WITH ORDINALITY AS path (nspname, position)
                JOIN pg_namespace AS n ON n.nspname = path.nspname
                JOIN pg_class AS c ON c.relnamespace = n.oid
                                  AND c.relname = ident.parts[cardinality(ident.parts)]
                ORDER BY path.position
                LIMIT 1) AS seq_oid
        FROM pg_attrdef AS ad
        CROSS JOIN LATERAL regexp_matches(
            pg_get_expr(ad.adbin, ad.adrelid),
            'nextval\(\(''((?:[^'']|'''')+)''::(?:text|character varying)\)::regclass\)',
            'g') AS call (found)
        -- PostgreSQL's own printing of a text constant doubles its quotes; parse_ident fails
        -- on text that is no name (22023), so only a plain or quoted name, optionally
        -- qualified, is read
        CROSS JOIN LATERAL (
            SELECT CASE WHEN spelled ~ '^(([[:alpha:]_][[:alnum:]_$]*|"([^"]|"")+")\.)?([[:alpha:]_][[:alnum:]_$]*|"([^"]|"")+")$'
                        THEN parse_ident(spelled) END AS parts
            FROM replace(call.found[1], '''''', '''') AS spelled
        ) AS ident
        WHERE ident.parts IS NOT NULL
    ) AS named
    JOIN pg_class AS seq ON seq.oid = named.seq_oid AND seq.relkind = 'S'
    WHERE cardinality(named.parts) = 2
       OR NOT EXISTS (SELECT FROM pg_class AS other
                      WHERE other.relkind = 'S' AND other.relname = seq.relname
                        AND other.oid <> seq.oid AND other.relpersistence <> 't')
),
fed AS (
    SELECT
        sn.nspname AS seq_schema,
        sc.relname AS seq_name,
        s.seqincrement,
        tn.nspname,
        t.relname,
        a.attname,
        format('SELECT array_to_tsvector(ARRAY[CASE WHEN is_called THEN last_value + %s '
               'ELSE last_value END::text]) FROM %I.%I', s.seqincrement, sn.nspname,
               sc.relname) AS next_query,
        -- A table others inherit from holds its own rows only (a unique constraint does not
        -- reach its children, each checked with its own); a partitioned table, its partitions'.
        format('SELECT array_to_tsvector(ARRAY[v::text]) FROM (SELECT %s(%I) AS v FROM %s%I.%I) '
               'AS m WHERE v IS NOT NULL',
               CASE WHEN s.seqincrement > 0 THEN 'max' ELSE 'min' END, a.attname,
               CASE WHEN t.relkind = 'r' THEN 'ONLY ' ELSE '' END, tn.nspname, t.relname)
            AS held_query,
        -- Whether dbsafe's role may read both (reading either by name needs its schema too:
        -- 42501 failed the whole check) and every row (row-level security that applies to
        -- the role hides some, and the highest value with them); what it may not is said.
        has_sequence_privilege(s.seqrelid, 'SELECT')
            AND has_column_privilege(a.attrelid, a.attnum, 'SELECT')
            AND has_schema_privilege(sn.oid, 'USAGE')
            AND has_schema_privilege(tn.oid, 'USAGE')
            AND NOT row_security_active(t.oid) AS readable
    FROM feeds AS f
    JOIN pg_sequence AS s ON s.seqrelid = f.seq_oid
    JOIN pg_class AS sc ON sc.oid = f.seq_oid
    JOIN pg_namespace AS sn ON sn.oid = sc.relnamespace
    JOIN pg_class AS t ON t.oid = f.table_oid
    JOIN pg_namespace AS tn ON tn.oid = t.relnamespace
    JOIN pg_attribute AS a ON a.attrelid = f.table_oid AND a.attnum = f.attnum
    WHERE NOT s.seqcycle
      AND t.relkind IN ('r', 'p')
      AND a.atttypid = ANY (ARRAY['int2', 'int4', 'int8', 'numeric']::regtype[])
      AND NOT (t.relispartition
               AND EXISTS (SELECT FROM pg_inherits AS i
                           JOIN feeds AS parent ON parent.table_oid = i.inhparent
                                               AND parent.seq_oid = f.seq_oid
                           WHERE i.inhrelid = f.table_oid))
      AND tn.nspname <> ALL (ARRAY['information_schema', 'dbsafe'])
      AND tn.nspname !~ '^pg_'
),
compared AS (
    SELECT
        fed.*,
        -- Dynamic SQL inside one SELECT: ts_stat() runs the query it is given, and the one
        -- lexeme it returns is the value (query_to_xml needs a server built with libxml).
        (SELECT ts.word::numeric FROM ts_stat(fed.next_query) AS ts) AS next_value,
        (SELECT ts.word::numeric FROM ts_stat(fed.held_query) AS ts) AS held_value
    FROM fed
    WHERE readable
)
(SELECT
     format('%s.%s.%s', nspname, relname, attname) AS subject,
     format('Sequence `%s.%s` hands out %s next, but `%s.%s.%s` already holds values %s %s: '
            'inserts that take its default collide with existing rows.',
            seq_schema, seq_name, next_value, nspname, relname, attname,
            CASE WHEN seqincrement > 0 THEN 'up to' ELSE 'down to' END, held_value) AS message,
     format('SELECT setval(%L, %s);', format('%I.%I', seq_schema, seq_name), held_value) AS fix,
     NULL AS not_checked
 FROM compared
 WHERE CASE WHEN seqincrement > 0 THEN held_value >= next_value
            ELSE held_value <= next_value END
 ORDER BY 1)
UNION ALL
SELECT NULL, NULL, NULL,
       format('%s column%s whose rows or sequence dbsafe''s role may not read in full (SELECT '
              'on both, USAGE on their schemas, no row-level security applying to it): %s%s',
              count(*), CASE WHEN count(*) = 1 THEN '' ELSE 's' END,
              array_to_string((array_agg(format('`%s.%s.%s`', nspname, relname, attname)
                                         ORDER BY nspname, relname, attname))[1:5], ', '),
              CASE WHEN count(*) > 5 THEN format(' and %s more', count(*) - 5) ELSE '' END)
FROM fed
WHERE NOT readable
HAVING count(*) > 0
