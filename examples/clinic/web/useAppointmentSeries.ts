// The clinic's web app reads the same tables through supabase-js (PostgREST).
import { useEffect, useState } from "react";
import { createClient } from "@supabase/supabase-js";

const supabase = createClient(
  import.meta.env.VITE_SUPABASE_URL,
  import.meta.env.VITE_SUPABASE_ANON_KEY,
);

// The series page, as the incident shipped it: appointment_series has no notes column
// (notes live on appointments), so PostgREST answers 400 and the page kept retrying.
export function useAppointmentSeries(clinicId: number) {
  const [series, setSeries] = useState<unknown[]>([]);
  useEffect(() => {
    supabase
      .from("appointment_series")
      .select("id, title, notes")
      .eq("clinic_id", clinicId)
      .order("starts_on")
      .then(({ data }) => setSeries(data ?? []));
  }, [clinicId]);
  return series;
}

// A patient's upcoming visits, each with its patient (many-to-one, aliased) and series.
export async function upcomingVisits(patientId: number) {
  return supabase
    .from("appointments")
    .select("id, starts_at, status, notes, patient:patients(full_name), appointment_series(title)")
    .eq("patient_id", patientId)
    .gte("starts_at", new Date().toISOString())
    .order("starts_at", { ascending: true });
}

// A clinic with its patients (one-to-many), newest first.
export async function clinicWithPatients(clinicId: number) {
  return supabase
    .from("clinics")
    .select("name, timezone, patients(id, full_name, email)")
    .eq("id", clinicId)
    .order("created_at", { referencedTable: "patients", ascending: false })
    .single();
}
