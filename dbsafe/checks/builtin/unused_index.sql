-- dbsafe:check DBS514 unused-index
-- severity: note
-- since: 0.1.0
-- summary: Index has not been scanned since statistics began, yet costs on every write.
-- help: Check the standbys too (their scans are not counted here), then drop it with DROP INDEX CONCURRENTLY.
--
-- ## Why
-- Every INSERT, and every UPDATE that is not HOT, maintains every index of the table. An
-- index no query uses only slows writes and takes disk, cache and backup space. The
-- message gives the age of the statistics (`pg_stat_database.stats_reset`, else the server's
-- start), because "never scanned" means little over a few hours.
--
-- ## Configuration
-- `unused-index-min-age = "7 days"` (the default) in `[tool.dbsafe]`: nothing is reported
-- until the statistics are at least that old. Read as
-- `current_setting('dbsafe.unused_index_min_age')`.
--
-- ## Not flagged
-- Unique and primary key indexes and indexes backing any constraint (they enforce
-- something even if never scanned); invalid indexes (DBS501). Scans on standbys are not
-- counted: check them before dropping.
WITH stats AS (
    SELECT coalesce(d.stats_reset, pg_postmaster_start_time()) AS since
    FROM pg_stat_database AS d
    WHERE d.datname = current_database()
)
SELECT
    format('%s.%s', s.schemaname, s.indexrelname) AS subject,
    format('Index `%s` on `%s.%s` has not been scanned since %s (%s ago) but is maintained '
           'on every write; it takes %s.', s.indexrelname, s.schemaname, s.relname,
           to_char(stats.since, 'YYYY-MM-DD HH24:MI TZ'),
           justify_interval(date_trunc('minute', now() - stats.since)),
           pg_size_pretty(pg_relation_size(s.indexrelid))) AS message,
    pg_relation_size(s.indexrelid) AS index_bytes
FROM pg_stat_user_indexes AS s
JOIN pg_index AS i ON i.indexrelid = s.indexrelid
CROSS JOIN stats
WHERE s.idx_scan = 0
  AND NOT i.indisunique
  AND NOT i.indisprimary
  AND i.indisvalid
  AND s.schemaname <> ALL (ARRAY['information_schema', 'dbsafe'])
  AND NOT EXISTS (SELECT FROM pg_constraint AS con WHERE con.conindid = s.indexrelid)
  AND now() - stats.since
      >= coalesce(nullif(current_setting('dbsafe.unused_index_min_age', true), ''),
                  '7 days')::interval
ORDER BY pg_relation_size(s.indexrelid) DESC, 1
