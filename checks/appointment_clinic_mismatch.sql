-- dbsafe:check DBS560 appointment-clinic-mismatch
-- severity: error
-- since: 0.1.0
-- summary: Appointment's denormalised `clinic_id` differs from its patient's clinic.
-- help: Set the appointment's clinic_id to its patient's, and fix the code path that wrote it.
--
-- An example of a project's own check (see docs/checks.md). `appointments.clinic_id` is
-- copied from the patient so the day view needs no join; nothing in the schema keeps the
-- copy right, so this check does.
--
-- ## Why
-- The day view filters on `appointments.clinic_id`: an appointment with the wrong clinic
-- shows up in another clinic's calendar, and row-level security by clinic hides it from
-- the right one.
SELECT
    format('public.appointments.%s', a.id) AS subject,
    format('Appointment %s is at clinic %s but its patient %s belongs to clinic %s.',
           a.id, a.clinic_id, p.id, p.clinic_id) AS message,
    a.starts_at
FROM appointments AS a
JOIN patients AS p ON p.id = a.patient_id
WHERE a.clinic_id <> p.clinic_id
ORDER BY a.id
LIMIT 100
