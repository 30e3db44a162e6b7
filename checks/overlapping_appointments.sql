-- dbsafe:check DBS561 overlapping-appointments
-- severity: warning
-- since: 0.1.0
-- summary: A patient has two active appointments that overlap in time.
-- help: Cancel or move one of them; consider an exclusion constraint on (patient_id, tstzrange).
--
-- An example of a project's own check that reads a threshold: `check-variables` in
-- `[tool.dbsafe]` reaches the SQL as `current_setting('dbsafe.<name>', true)`, here
-- `[tool.dbsafe.check-variables] overlap-grace-minutes = 5`.
--
-- ## Why
-- Double bookings come from races between two receptionists; the schema cannot prevent
-- them without an exclusion constraint, so they are checked after the fact.
SELECT
    format('public.appointments.%s', a.id) AS subject,
    format('Appointments %s and %s of patient %s overlap.', a.id, b.id, a.patient_id)
        AS message
FROM appointments AS a
JOIN appointments AS b
  ON b.patient_id = a.patient_id
 AND b.id > a.id
 AND b.status NOT IN ('cancelled', 'no_show')
 AND tstzrange(a.starts_at, a.starts_at + make_interval(mins => a.duration_min))
     && tstzrange(b.starts_at + make_interval(
                      mins => coalesce(nullif(current_setting('dbsafe.overlap_grace_minutes',
                                                              true), ''), '0')::int),
                  b.starts_at + make_interval(mins => b.duration_min))
WHERE a.status NOT IN ('cancelled', 'no_show')
ORDER BY a.id, b.id
LIMIT 100
