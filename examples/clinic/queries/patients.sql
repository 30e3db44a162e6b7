-- Patient lookups (aiosql style: -- name: header, :name parameters).

-- name: search_patients
-- Case-insensitive name search, optionally narrowed to patients carrying all given tags.
SELECT p.id, p.full_name, p.email, p.tags
FROM patients AS p
WHERE p.clinic_id = :clinic_id
  AND p.full_name ILIKE '%' || :term || '%'
  AND p.tags @> CAST(:tags AS text[])
ORDER BY p.full_name
LIMIT 50;

-- name: patients_without_upcoming
-- Patients to call back: active this year, nothing booked ahead.
SELECT p.id, p.full_name, p.email
FROM patients AS p
WHERE p.clinic_id = :clinic_id
  AND EXISTS (
      SELECT 1 FROM appointments AS past
      WHERE past.patient_id = p.id
        AND past.starts_at >= date_trunc('year', now())
  )
  AND NOT EXISTS (
      SELECT 1 FROM upcoming_appointments AS u
      WHERE u.patient_id = p.id
  );

-- name: patient_history
WITH visits AS (
    SELECT a.starts_at, a.status, a.notes, s.title AS series_title
    FROM appointments AS a
    LEFT JOIN appointment_series AS s ON s.id = a.series_id
    WHERE a.patient_id = :patient_id
)
SELECT starts_at, status, notes, series_title
FROM visits
ORDER BY starts_at DESC;
