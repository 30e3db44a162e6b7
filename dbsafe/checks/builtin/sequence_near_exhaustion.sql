-- dbsafe:check DBS511 sequence-near-exhaustion
-- severity: warning
-- since: 0.1.0
-- summary: Sequence, or the integer column it feeds, has used more than `sequence-usage-threshold` of its range.
-- help: Widen the column and the sequence to bigint (ALTER SEQUENCE ... AS bigint), with the integer columns whose foreign keys reference it when the message names some (each column change rewrites its table, so plan it), before the range runs out; a limit that is the sequence's own MAXVALUE (MINVALUE) is raised with ALTER SEQUENCE ... NO MAXVALUE instead, rewriting nothing.
--
-- ## Why
-- When a sequence reaches its maximum, `nextval()` fails and so does every INSERT that
-- needs an id. A `serial`/identity `integer` column runs out at 2,147,483,647 even if its
-- sequence is `bigint`. Changing the column type later rewrites the whole table under an
-- ACCESS EXCLUSIVE lock, so the time to act is well before the end. The `smallint` and
-- `integer` columns whose foreign keys reference the column hold the same values and run
-- out with it: widened alone (the column, or the integer sequence of a `bigint` column),
-- it hands out an id the first insert of it into them refuses (22003, integer out of
-- range). The message names them. A sequence stopping at a `MAXVALUE` (or, descending, a
-- `MINVALUE`) of its own, short of its column's type, needs no widening: the message says
-- so, and `ALTER SEQUENCE ... NO MAXVALUE` moves the bound without rewriting anything. A
-- `CYCLE` sequence reaching its own bound starts again at the other one instead: the message
-- says so, since inserts then fail only where an id handed out again is still taken (23505).
-- A column already wider than its sequence's type (a `bigint` one fed by an `integer`
-- sequence, or a `text` or `numeric` one: bitcart's ids moved to `text` with their serial
-- default left) needs the sequence widened alone, which rewrites nothing: the help says so. A
-- `bigint` sequence at its type's limit has nothing wider to go to, and could not get there
-- one value at a time (a million a second take 290,000 years): the help says what moves one
-- that far (`setval()`, a large `INCREMENT`, `START` or `CACHE`, ids written by hand) and
-- what is left, the other half of the range (`ALTER SEQUENCE ... INCREMENT BY -1 NO
-- MINVALUE MAXVALUE -1 START -1 RESTART`, where no id is negative), `CYCLE` or a new key.
--
-- The subject is the column when the sequence feeds one (an identity column, or one whose
-- default calls nextval() on it, as serial's does, or on its name as text, as serial's did
-- before PostgreSQL 8.1: `nextval('s'::text)`; not one whose default only names it, as
-- `currval()` or a `regclass` value, nor one it is left OWNED BY after the column moved to
-- another sequence), else the sequence. Descending sequences count towards their minimum.
--
-- ## Configuration
-- `sequence-usage-threshold = 0.75` (the default) in `[tool.dbsafe]`, read as
-- `current_setting('dbsafe.sequence_usage_threshold')`.
--
-- ## Not flagged
-- A partition's column (or an inheriting table's) that the sequence feeds through its
-- parent's: it is reported once, on the parent, where its type is changed for all of them.
-- Sequences never used (`nextval` never called). Sequences dbsafe's role may not read (no
-- `SELECT` or `USAGE` on them): not weighed, and the report lists them as not checked.
-- A view's column given the sequence as its default (`ALTER VIEW ... SET DEFAULT`): its
-- inserts land in its table's column, reported there (a view's column takes no type
-- change, 42809). A default naming the sequence as text is looked up on every call, by the
-- inserting session's search_path: it is followed when the name is qualified, or when this
-- session's search_path finds it and no other sequence has that name; otherwise which
-- sequence feeds the column is not known, and the sequence is weighed by its own range.
WITH seq AS (
    SELECT
        c.oid,
        n.nspname,
        c.relname,
        s.seqincrement,
        s.seqcycle,
        s.seqmin::numeric AS seqmin,
        s.seqmax::numeric AS seqmax,
        -- a bound set below the sequence's type (`MAXVALUE 99999`): raised in place
        CASE WHEN s.seqincrement > 0
             THEN s.seqmax < CASE s.seqtypid WHEN 'int2'::regtype THEN 32767
                                             WHEN 'int4'::regtype THEN 2147483647
                                             ELSE 9223372036854775807 END
             ELSE s.seqmin > CASE s.seqtypid WHEN 'int2'::regtype THEN -32768
                                             WHEN 'int4'::regtype THEN -2147483648
                                             ELSE -9223372036854775808 END
        END AS own_bound,
        has_sequence_privilege(c.oid, 'SELECT') OR has_sequence_privilege(c.oid, 'USAGE')
            AS readable,
        CASE WHEN has_sequence_privilege(c.oid, 'SELECT')
                  OR has_sequence_privilege(c.oid, 'USAGE')
             THEN pg_sequence_last_value(c.oid) END::numeric AS last_value
    FROM pg_sequence AS s
    JOIN pg_class AS c ON c.oid = s.seqrelid
    JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE n.nspname <> ALL (ARRAY['information_schema', 'dbsafe'])
      AND n.nspname !~ '^pg_'
),
feeds AS (
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
target AS (
    SELECT
        seq.*,
        CASE WHEN a.attnum IS NOT NULL
             THEN format('%s.%s.%s', tn.nspname, t.relname, a.attname)
             ELSE format('%s.%s', seq.nspname, seq.relname) END AS subject,
        a.attname IS NOT NULL AS is_column,
        format_type(a.atttypid, a.atttypmod) AS column_type,
        CASE a.atttypid WHEN 'int2'::regtype THEN 32767
                        WHEN 'int4'::regtype THEN 2147483647
                        WHEN 'int8'::regtype THEN 9223372036854775807 END::numeric AS type_max,
        CASE a.atttypid WHEN 'int2'::regtype THEN -32768
                        WHEN 'int4'::regtype THEN -2147483648
                        WHEN 'int8'::regtype THEN -9223372036854775808 END::numeric AS type_min,
        f.table_oid AS fed_table,
        f.attnum AS fed_attnum
    FROM seq
    LEFT JOIN feeds AS f
      ON f.seq_oid = seq.oid
      -- A view's column default (ALTER VIEW ... SET DEFAULT) feeds its table's column, which
      -- is the one to widen: PostgreSQL refuses a view's column any type change (42809).
     AND EXISTS (SELECT FROM pg_class AS fed
                 WHERE fed.oid = f.table_oid AND fed.relkind IN ('r', 'p', 'f'))
      -- A partition's or inheriting table's column that the sequence also feeds through the
      -- parent's goes with the parent's: the type is changed there, for all of them
      -- (PostgreSQL refuses it on an inherited column alone, 42P16).
     AND NOT EXISTS (SELECT FROM pg_inherits AS i
                     JOIN feeds AS parent ON parent.table_oid = i.inhparent
                                         AND parent.seq_oid = f.seq_oid
                     JOIN pg_attribute AS pa ON pa.attrelid = parent.table_oid
                                            AND pa.attnum = parent.attnum
                     JOIN pg_attribute AS ca ON ca.attrelid = f.table_oid
                                            AND ca.attnum = f.attnum
                     WHERE i.inhrelid = f.table_oid AND ca.attname = pa.attname)
    LEFT JOIN pg_class AS t ON t.oid = f.table_oid
    LEFT JOIN pg_namespace AS tn ON tn.oid = t.relnamespace
    LEFT JOIN pg_attribute AS a ON a.attrelid = f.table_oid AND a.attnum = f.attnum
    WHERE seq.last_value IS NOT NULL
),
usage AS (
    SELECT
        target.*,
        CASE WHEN seqincrement > 0
             THEN (last_value - seqmin + 1)
                  / (least(seqmax, coalesce(type_max, seqmax)) - seqmin + 1)
             ELSE (seqmax - last_value + 1)
                  / (seqmax - greatest(seqmin, coalesce(type_min, seqmin)) + 1)
        END AS used,
        CASE WHEN seqincrement > 0 THEN least(seqmax, coalesce(type_max, seqmax))
             ELSE greatest(seqmin, coalesce(type_min, seqmin)) END AS limit_value,
        -- a CYCLE sequence reaching its own bound first (not its column's type) wraps to
        -- the other one instead of failing
        seqcycle AND CASE WHEN seqincrement > 0 THEN seqmax <= coalesce(type_max, seqmax)
                          ELSE seqmin >= coalesce(type_min, seqmin) END AS cycles,
        CASE WHEN seqincrement > 0 THEN seqmin ELSE seqmax END AS restart_value
    FROM target
)
(SELECT
     subject,
     CASE WHEN is_column
          THEN format('Column `%s` (%s, fed by sequence `%s.%s`) has used %s%% of its range: '
                      '%s%s', subject, column_type, nspname, relname, round(used * 100, 1),
                      CASE WHEN cycles
                           THEN format('it starts again at %s when it reaches %s (CYCLE): an '
                                       'insert then fails (23505) wherever an id it hands out '
                                       'again is still taken.', restart_value, limit_value)
                           ELSE format('inserts fail when it reaches %s.', limit_value) END,
                      CASE WHEN own_limit
                           THEN format(' That is the sequence''s own %1$s, short of its '
                                       'column''s type: `ALTER SEQUENCE %2$I.%3$I NO %1$s` '
                                       '(or a further one) gives it room, rewriting nothing.',
                                       CASE WHEN seqincrement > 0 THEN 'MAXVALUE'
                                            ELSE 'MINVALUE' END, nspname, relname)
                           WHEN narrow_references IS NOT NULL
                           THEN format(' The columns whose foreign keys reference it hold '
                                       'its values and run out with it; widen them too: %s.',
                                       narrow_references) END)
          WHEN cycles
          THEN format('Sequence `%s` has used %s%% of its range: nextval() starts again at %s '
                      'when it reaches %s (CYCLE), handing out its values again.', subject,
                      round(used * 100, 1), restart_value, limit_value)
          ELSE format('Sequence `%s` has used %s%% of its range: nextval() fails when it '
                      'reaches %s.', subject, round(used * 100, 1), limit_value)
     END AS message,
     -- the header's help widens the type, which moves no bound of the sequence's own, and
     -- nothing is wider than bigint
     CASE WHEN own_limit
          THEN format('Raise the sequence''s own %1$s (ALTER SEQUENCE ... NO %1$s, or a '
                      'further one), which rewrites nothing, before it is reached.',
                      CASE WHEN seqincrement > 0 THEN 'MAXVALUE' ELSE 'MINVALUE' END)
          WHEN limit_value IN (9223372036854775807, -9223372036854775808)
          THEN format('No sequence is wider than bigint: its range cannot grow. A million '
                      'values a second take 290,000 years to use it up, so find what moved '
                      'it this far (setval() or RESTART, a large INCREMENT, START or CACHE: '
                      'a session''s unused cached values are lost; ids written by hand and '
                      'the sequence set past them; failed inserts and upserts use values '
                      'too). Then, if no id is %1$s and nothing needs ids %2$s, run it '
                      'through the other half of the range (ALTER SEQUENCE ... %3$s START '
                      '%4$s RESTART, which rewrites nothing), CYCLE it if the ids from its '
                      'start are no longer in use, or re-key the table.',
                      CASE WHEN seqincrement > 0 THEN 'negative' ELSE 'positive' END,
                      CASE WHEN seqincrement > 0 THEN 'positive or increasing'
                           ELSE 'negative or decreasing' END,
                      CASE WHEN seqincrement > 0
                           THEN 'INCREMENT BY -1 NO MINVALUE MAXVALUE -1'
                           ELSE 'INCREMENT BY 1 MINVALUE 1 NO MAXVALUE' END,
                      CASE WHEN seqincrement > 0 THEN -1 ELSE 1 END)
          -- the sequence's type is the limit, its column's is wider already
          WHEN is_column
               AND CASE WHEN seqincrement > 0
                        THEN coalesce(type_max, 9223372036854775807) > limit_value
                        ELSE coalesce(type_min, -9223372036854775808) < limit_value END
          -- (a text or numeric column, as bitcart's ids moved to text with their serial
          -- default left, has no integer type to name: the sequence goes to bigint)
          THEN format('Widen the sequence to %1$s%2$s, which rewrites nothing, with the '
                      'integer columns whose foreign keys reference the column when the '
                      'message names some (each change rewrites its table), before the range '
                      'runs out.',
                      CASE column_type WHEN 'integer' THEN 'integer' ELSE 'bigint' END,
                      CASE WHEN column_type IN ('integer', 'bigint')
                           THEN format(', its column''s type (ALTER SEQUENCE ... AS %s)',
                                       column_type)
                           ELSE format(' (ALTER SEQUENCE ... AS bigint; its %s column takes '
                                       'bigint''s values as they are)', column_type) END)
     END AS help,
     last_value,
     limit_value,
     NULL AS not_checked
 FROM usage
 -- the limit is a bound of the sequence's own, set short of its type's (and its column's)
 CROSS JOIN LATERAL (
     SELECT own_bound AND limit_value IN (seqmin, seqmax)
            AND limit_value IS DISTINCT FROM
                CASE WHEN seqincrement > 0 THEN type_max ELSE type_min END AS own_limit
 ) AS bound
 -- the smallint/integer columns whose foreign keys reference the column hold the same
 -- values and cannot go past the same limit: widened alone (the column, or an integer
 -- sequence feeding a bigint column), it hands out ids the first insert of one there
 -- refuses (22003); a partition's copy of a foreign key goes with its parent's
 LEFT JOIN LATERAL (
     SELECT string_agg(format('`%s.%s.%s` (%s)', rn.nspname, rc.relname, ra.attname,
                              format_type(ra.atttypid, ra.atttypmod)), ', '
                       ORDER BY rn.nspname, rc.relname, ra.attname) AS narrow_references
     FROM pg_constraint AS fk
     CROSS JOIN LATERAL unnest(fk.conkey, fk.confkey) AS k (attnum, refattnum)
     JOIN pg_class AS rc ON rc.oid = fk.conrelid
     JOIN pg_namespace AS rn ON rn.oid = rc.relnamespace
     JOIN pg_attribute AS ra ON ra.attrelid = fk.conrelid AND ra.attnum = k.attnum
     WHERE fk.contype = 'f' AND fk.conparentid = 0
       AND fk.confrelid = usage.fed_table AND k.refattnum = usage.fed_attnum
       AND CASE WHEN usage.seqincrement > 0
                THEN CASE ra.atttypid WHEN 'int2'::regtype THEN 32767
                                      WHEN 'int4'::regtype THEN 2147483647 END
                     <= usage.limit_value
                ELSE CASE ra.atttypid WHEN 'int2'::regtype THEN -32768
                                      WHEN 'int4'::regtype THEN -2147483648 END
                     >= usage.limit_value END
 ) AS refs ON usage.is_column
 WHERE used >= coalesce(nullif(current_setting('dbsafe.sequence_usage_threshold', true), ''),
                        '0.75')::numeric
 ORDER BY used DESC, subject)
UNION ALL
-- a sequence whose value is not readable (pg_sequence_last_value gives NULL, or fails before
-- PostgreSQL 18) was not weighed: said, not passed over
SELECT NULL, NULL, NULL, NULL, NULL,
       format('%s sequence%s dbsafe''s role may not read (no SELECT or USAGE on it): %s%s', count(*), CASE WHEN count(*) = 1 THEN '' ELSE 's' END,
              array_to_string((array_agg(format('`%s.%s`', nspname, relname)
                                         ORDER BY nspname, relname))[1:5], ', '),
              CASE WHEN count(*) > 5 THEN format(' and %s more', count(*) - 5) ELSE '' END)
FROM seq
WHERE NOT readable
HAVING count(*) > 0
