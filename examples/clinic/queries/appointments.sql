-- Appointment queries for the front desk, loaded by name (aiosql style).
-- Parameters are :name; times are stored in UTC and shown in the clinic's zone.

-- name: day_schedule
-- One clinic's day as the front desk sees it, in local time.
SELECT
    a.id,
    a.starts_at AT TIME ZONE c.timezone AS local_start,
    a.duration_min,
    a.status,
    p.full_name
FROM appointments AS a
JOIN patients AS p ON p.id = a.patient_id
JOIN clinics AS c ON c.id = a.clinic_id
WHERE a.clinic_id = :clinic_id
  AND (a.starts_at AT TIME ZONE c.timezone)::date = :day
ORDER BY a.starts_at;

-- name: series_for_patient
-- Series with how many of their appointments are still ahead.
SELECT
    s.id,
    s.title,
    s.rrule,
    s.starts_on,
    s.ends_on,
    count(a.id) FILTER (WHERE a.starts_at >= now()) AS remaining
FROM appointment_series AS s
LEFT JOIN appointments AS a ON a.series_id = s.id
WHERE s.patient_id = :patient_id
GROUP BY s.id
ORDER BY s.starts_on DESC;

-- name: mark_no_shows!
/* Nightly job. The note is dollar-quoted because it holds a quote, a semicolon and a
   colon: a splitter that cuts on every semicolon, or takes any colon for a parameter,
   gets this statement wrong. */
UPDATE appointments
SET status = 'no_show',
    notes = coalesce(notes || E'\n', '') || $note$auto: patient didn't check in; marked by nightly job$note$
WHERE clinic_id = :clinic_id
  AND status IN ('booked', 'confirmed')
  AND starts_at + make_interval(mins => duration_min) < now() - interval '2 hours';

-- name: reschedule!
UPDATE appointments
SET starts_at = :starts_at,
    status = 'booked'
WHERE id = :appointment_id
  AND status <> 'cancelled';
