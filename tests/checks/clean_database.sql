-- A database with none of the problems the built-in checks look for: every check must
-- return nothing on it (with the default settings).
-- intarray in the search path (Sourcegraph's schema has it) makes an unqualified
-- `int2[] @> int2[]` ambiguous (42725): the checks qualify pg_catalog's operator.
CREATE EXTENSION intarray;
CREATE TABLE clinics (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL);
CREATE TABLE patients (
    id bigserial PRIMARY KEY,
    clinic_id bigint NOT NULL REFERENCES clinics,
    email text UNIQUE,
    born date CHECK (born > '1900-01-01')
);
CREATE INDEX ix_patients_clinic ON patients (clinic_id);
CREATE POLICY clinic_isolation ON patients USING (clinic_id = current_setting('app.clinic_id')::bigint);
ALTER TABLE patients ENABLE ROW LEVEL SECURITY;
CREATE TABLE appointments (
    id bigserial PRIMARY KEY,
    clinic_id bigint NOT NULL REFERENCES clinics,
    patient_id bigint NOT NULL REFERENCES patients,
    starts_at timestamptz NOT NULL
);
CREATE INDEX CONCURRENTLY ix_appointments_clinic_starts ON appointments (clinic_id, starts_at);
CREATE INDEX ix_appointments_patient ON appointments (patient_id);
-- an index for the app's queries alone (the others serve foreign keys, which DBS514 leaves
-- alone): never scanned yet, in statistics seconds old
CREATE INDEX ix_appointments_starts ON appointments (starts_at);
INSERT INTO clinics (name) VALUES ('north'), ('south');
INSERT INTO patients (clinic_id, email) SELECT 1 + g % 2, 'p' || g FROM generate_series(1, 100) AS g;
INSERT INTO appointments (clinic_id, patient_id, starts_at) SELECT 1, g, now() FROM generate_series(1, 100) AS g;
-- added NOT VALID on a big table, validated by the next migration
ALTER TABLE appointments ADD CONSTRAINT appointments_future CHECK (starts_at > '2000-01-01') NOT VALID;
ALTER TABLE appointments VALIDATE CONSTRAINT appointments_future;
CREATE MATERIALIZED VIEW daily_appointments AS
    SELECT clinic_id, starts_at::date AS day, count(*) AS n FROM appointments GROUP BY 1, 2;
CREATE UNIQUE INDEX ux_daily_appointments ON daily_appointments (clinic_id, day);
CREATE SCHEMA reporting;
CREATE VIEW reporting.v_patients AS SELECT id, clinic_id FROM patients;
CREATE SEQUENCE invoice_numbers;
SELECT nextval('invoice_numbers');
ANALYZE;
