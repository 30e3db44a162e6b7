"""supabase-js/PostgREST requests against a real schema with every kind of relationship.

`pass` cases are requests PostgREST serves: any finding is a false positive, the worst bug
dbsafe can have. `flag` cases name the offending identifier; the SQL each column or table
finding carries for confirmation is prepared on the same PostgreSQL, which must reject it
naming that identifier. The schema is `fixtures/postgrest_schema.sql`, introspected once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import psycopg
import pytest
from msgspec import structs

from dbsafe.extract.javascript import sql_in_javascript
from dbsafe.schema.model import SchemaSnapshot
from dbsafe.validate.postgrest import Checked, SelectError, check, parse_select
from tests.conftest import REPO_ROOT
from tests.helpers import module_database

SCHEMA = REPO_ROOT / "tests" / "validate" / "fixtures" / "postgrest_schema.sql"
PREAMBLE = (
    "import { createClient } from '@supabase/supabase-js';\n"
    "const supabase = createClient(url, key);\n"
)

# (id, request) pairs PostgREST accepts against postgrest_schema.sql.
PASS = [
    ("select-default", "supabase.from('clinics').select()"),
    ("star", "supabase.from('clinics').select('*')"),
    ("columns", "supabase.from('clinics').select('id, name')"),
    ("whitespace-removed", "supabase.from('clinics').select(`id,\n   name ,\n settings`)"),
    ("alias-cast-json", "supabase.from('clinics').select("
     "'title:name, id::text, settings->theme, color:settings->>color::text, settings->0')"),
    ("quoted-names", "supabase.from('clinics').select('\"DisplayName\", \"first name\"')"),
    ("count", "supabase.from('appointments').select('count()')"),
    ("aggregates", "supabase.from('appointments').select('id.count(), total:fee.sum()::int')"),
    ("many-to-one", "supabase.from('appointments').select('id, patients(full_name)')"),
    ("many-to-one-by-column", "supabase.from('appointments').select('patient_id(full_name)')"),
    ("many-to-one-by-constraint",
     "supabase.from('appointments').select('appointments_patient_fkey(full_name)')"),
    ("one-to-many", "supabase.from('clinics').select('name, patients(id, email)')"),
    ("many-to-many", "supabase.from('doctors').select('name, specialties(name)')"),
    ("many-to-many-reverse", "supabase.from('specialties').select('doctors(name)')"),
    ("many-to-many-junction-hint",
     "supabase.from('doctors').select('specialties!doctor_specialties(name)')"),
    ("hints", "supabase.from('orders').select("
     "'billing:addresses!billing(street), shipping:addresses!shipping_address_id(street)')"),
    ("hint-referenced-column", "supabase.from('appointments').select('patients!id(email)')"),
    ("inner-join", "supabase.from('appointments').select('id, patients!inner(full_name)')"),
    ("hint-and-inner",
     "supabase.from('appointments').select('patients!appointments_patient_fkey!inner(id)')"),
    ("left-then-hint", "supabase.from('appointments').select('p:patients!left!patient_id(id)')"),
    ("spread", "supabase.from('appointments').select('id, ...patients(full_name)')"),
    ("nested", "supabase.from('clinics').select('patients(appointments(doctors(name)))')"),
    ("self-reference", "supabase.from('employees').select("
     "'name, manager:manager_id(name), employees(name)')"),
    ("computed-field", "supabase.from('patients').select('full_name, patient_label')"),
    # PostgreSQL calls `row_digest(anyelement)` on the row (`"patients"."row_digest"`).
    ("computed-field-of-any-element",
     "supabase.from('patients').select('id, row_digest').order('row_digest')"),
    ("computed-relationship", "supabase.from('clinics').select('clinic_doctors(name)')"),
    # PostgREST's computed relationship (a function taking the row type, returning a
    # table's rows) leads to that table: its columns, its own embeds, filters through it.
    ("computed-relationship-columns", "supabase.from('patients')"
     ".select('id, clinic:patient_clinic!inner(name, patients(email))').eq('clinic.name', 'x')"),
    ("computed-relationship-overriding-a-foreign-key",
     "supabase.from('events').select('id, venues(name)')"),
    ("embed-without-columns", "supabase.from('clinics').select('name, patients!inner()')"
     ".eq('patients.email', 'x')"),
    ("embedded-count", "supabase.from('clinics').select('name, patients(count)')"),
    ("system-column", "supabase.from('clinics').select('ctid')"),
    ("view", "supabase.from('patient_overview').select('id, full_name, clinics(name)')"),
    # PostgREST gives a view the relationships of the table it reads and finds them by the
    # foreign key's column or constraint name too (EmbedDisambiguationSpec's
    # `projects_view!project_id(client:client_id(...))`): these embed `vets`, not the tables
    # `clinics` and `doctors`, which have no `license`.
    ("embed-from-a-view-by-a-foreign-key-column",
     "supabase.from('visit_list').select('id, clinics(license)')"),
    ("embed-from-a-view-by-a-foreign-key-name",
     "supabase.from('visit_list').select('id, doctors(license)')"),
    ("schema", "supabase.schema('billing').from('invoices').select('amount')"),
    ("other-schema-without-schema-call", "supabase.from('todos').select('task')"),
    ("same-name-in-another-schema", "supabase.from('clinics').select('api_only')"),
    ("filters", "supabase.from('patients').select('id').eq('clinic_id', 1).in('id', [1, 2])"
     ".is('email', null).neq('full_name', 'x').order('created_at', { ascending: false })"
     ".match({ full_name: 'x', email: 'y' }).not('email', 'is', null)"
     ".filter('id', 'in', '(1,2)').textSearch('full_name', 'x').limit(3)"),
    ("json-filter", "supabase.from('patients').select('id').eq('data->>kind', 'x')"),
    ("embedded-filter", "supabase.from('clinics').select('name, patients(email)')"
     ".eq('patients.email', 'x').order('email', { referencedTable: 'patients' })"),
    ("embedded-filter-by-alias", "supabase.from('clinics').select('name, p:patients(email)')"
     ".eq('p.email', 'x')"),
    ("or", "supabase.from('patients').select('id')"
     ".or('email.eq.a,and(full_name.ilike.*x*,id.not.in.(1,2)),data->>k.eq.\"a,b\"')"),
    # A template's holes are values: its column names are literal text.
    ("or-template", "supabase.from('patients').select('id')"
     ".or(`full_name.ilike.%${q}%,and(id.gte.${a},id.lte.${b + 1}),email.in.(${list})`)"),
    # A TypeScript enum's string members are those strings.
    ("table-from-enum", "enum Tables { Patients = 'patients' }\n"
     "supabase.from(Tables.Patients).select('id').eq(Columns['Email'], 'x')\n"
     "const enum Columns { Email = 'email' }"),
    # Templates joined: the holes are values still.
    ("or-templates-joined", "supabase.from('patients').select('id')"
     ".or([`full_name.ilike.%${q}%`, `email.ilike.%${q}%`, 'id.is.null'].join(','))"),
    ("or-referenced", "supabase.from('clinics').select('patients(email)')"
     ".or('email.is.null,id.gt.3', { referencedTable: 'patients' })"),
    ("order-list", "supabase.from('patients').select('id').order('full_name,id')"),
    ("order-to-one", "supabase.from('appointments').select('id, patients(full_name)')"
     ".order('patients(full_name)')"),
    # `order=rel(x)` sorts by a column the embed's subquery outputs: an alias, a JSON key
    # or an aggregate; a spread's fields too (PostgREST's AggregateFunctionsSpec).
    ("order-to-one-by-alias", "supabase.from('appointments').select('id, patients(who:full_name)')"
     ".order('patients(who)')"),
    ("order-to-one-spread-alias", "supabase.from('appointments')"
     ".select('id, ...patients(who:full_name, kind:data->>kind)').order('patients(who)')"
     ".order('patients(kind)')"),
    ("order-to-one-json-key", "supabase.from('appointments').select('patients(data->>kind)')"
     ".order('patients(kind)')"),
    # PostgREST's JSON keys are any characters but `(-:.,>)` (pJsonKeyIdentifier): JSON-LD's
    # `@type`, `1st` (digits not followed by `->`, `::`, `.`, `,` or the end are a key).
    ("json-keys-of-any-characters", "supabase.from('clinics')"
     ".select('id, settings->>@type, settings->1st, settings->a-b->>$c')"
     ".eq('settings->>@type', 'x').or('settings->>@id.eq.1').order('settings->>@id')"),
    ("insert", "supabase.from('patients').insert({ id: 1, full_name: 'x' }).select('id')"),
    ("insert-many", "supabase.from('patients').insert([{ id: 1, full_name: 'x' }, "
     "{ id: 2, 'full_name': 'y', email }])"),
    ("upsert", "supabase.from('patients').upsert({ id: 1, full_name: 'x' }, "
     "{ onConflict: ' email ' })"),
    # PostgREST's on_conflict reads quoted names (`pColumns`).
    ("upsert-quoted-conflict-column", "supabase.from('clinics').upsert({ id: 1, name: 'x', "
     "DisplayName: 'y' }, { onConflict: '\"DisplayName\"' })"),
    ("update", "supabase.from('patients').update({ email: null }).eq('id', 1).select()"),
    ("delete", "supabase.from('patients').delete().eq('id', 1)"),
    ("rpc", "supabase.rpc('search_patients', { term: 'x', max_rows: 3 })"),
    ("rpc-single-unnamed-json", "supabase.rpc('echo_body', { anything: 1 })"),
    ("rpc-optional-omitted", "supabase.rpc('search_patients', { term: 'x' })"),
    ("rpc-no-arguments", "supabase.rpc('patient_count')"),
    # A multirange's constructor taking no argument, in PostgREST's schema cache (not in the
    # snapshot, which leaves a range type's constructors to the type).
    ("rpc-multirange-constructor", "supabase.rpc('slot_ranges')"),
    # A related order on a to-one embedded resource: many-to-one, one-to-one.
    ("order-by-many-to-one-embed",
     "supabase.from('appointments').select('id, patients(id)').order('patients(id)')"),
    ("order-by-one-to-one-embed", "supabase.from('doctors')"
     ".select('id, doctor_profiles(bio)').order('doctor_profiles(bio)')"),
    # `pTreePath` reads `name` and ignores the rest; a name holds spaces.
    ("filter-key-trailing-text", "supabase.from('clinics').select('id').eq('name)', 'x')"),
    ("filter-key-with-a-space", "supabase.from('clinics').select('id').eq('first name', 'x')"),
    ("rpc-all-optional", "supabase.rpc('patient_count', { min_id: 3 })"),
    ("rpc-overload", "supabase.rpc('greet', { first: 'a', last: 'b' })"),
    ("rpc-overload-chosen-by-name", "supabase.rpc('branding', { branch: 1 })"),
    ("rpc-returns-table", "supabase.rpc('patient_stats', { min_id: 1 })"
     ".select('patient_id, visits').gt('visits', 1).order('patient_id')"),
    ("rpc-out-parameters", "supabase.rpc('clinic_totals').select('clinics, doctors')"),
    # A function returning a table's rows is read as that table (PostgREST's funcTableName).
    ("rpc-set-of-table", "supabase.rpc('search_patients', { term: 'x' })"
     ".select('id, full_name, patient_label, clinics(name)').eq('email', 'a')"
     ".order('created_at')"),
    ("rpc-scalar-select", "supabase.rpc('patient_count').select('patient_count')"),
    # A function returning a view's rows: the view's columns (its embeds are left unknown).
    ("rpc-set-of-view", "supabase.rpc('overview_search', { term: 'x' })"
     ".select('id, full_name, clinics(name)').eq('clinic_id', 1).order('full_name')"),
    # JSON.stringify leaves keys whose value is undefined out: they are never sent.
    ("undefined-value-not-sent",
     "supabase.from('patients').insert({ id: 1, full_name: 'x', nickname: undefined })"),
    ("undefined-argument-not-sent",
     "supabase.rpc('search_patients', { term: 'x', page: undefined })"),
    ("constant-select", "const COLS = 'id, name';\nsupabase.from('clinics').select(COLS)"),
    ("not-a-client", "Array.from('abc'); knex.from('nope').select('nope');"
     "supabase.storage.from('avatars').upload(path, file)"),
    ("typed-client", "function f(db: SupabaseClient) { return db.from('clinics').select('id') }"),
    ("this-client", "class R { q() { return this.supabase.from('clinics').select('id') } }"),
    # Two relationships, one picked by a hint (EmbedDisambiguationSpec.hs).
    ("ambiguity-hint-constraint",
     "supabase.from('agents').select('departments!agents_department_id_fkey(name)')"),
    ("ambiguity-hint-column", "supabase.from('agents').select('departments!head_id(name)')"),
    ("ambiguity-hint-one-to-many", "supabase.from('addresses').select('orders!billing(id)')"),
    ("ambiguity-by-constraint", "supabase.from('orders').select('shipping(street)')"),
    ("ambiguity-hint-junction", "supabase.from('sites').select('projects!jobs(name)')"),
    ("ambiguity-hint-many-to-one", "supabase.from('sites').select('projects!main_project(name)')"),
    ("client-db-schema", "const api = createClient(u, k, { db: { schema: 'api' } });\n"
     "api.from('todos').select('task'); api.from('clinics').select('api_only');\n"
     "api.schema('public').from('patients').select('email')"),
    ("payload-in-a-const", "const row: Row = { id: 1, full_name: 'x' };\n"
     "supabase.from('patients').upsert([row]).select('id')"),
    # Rows made by `.map()` from an object literal: their keys are sent.
    ("payload-mapped-rows", "supabase.from('patients').insert(ids.map((id) => ({ id, "
     "full_name: 'x' })))"),
    # Keys may be added to `args` before the call: its missing `term` is not provable.
    ("rpc-arguments-in-a-const", "const args = { max_rows: 3 };\n"
     "supabase.rpc('search_patients', args)"),
    # PostgREST's EmbedDisambiguationSpec: `big_projects!main_jobs`, a view as the junction.
    ("view-junction-hint", "supabase.from('sites').select('id, projects!main_jobs(name)')"),
    ("from-junction", "supabase.from('jobs').select('sites(id), projects(name)')"),
    ("self-references-by-column",
     "supabase.from('people').select('parent_id(name), guardian_id(name)')"),
    ("self-reference-hint", "supabase.from('people').select('children:people!parent_id(name)')"),
    # Null filtering on embedded resources (`rel=not.is.null`): whether it has rows.
    ("embedded-null-filter",
     "supabase.from('clinics').select('id, patients(id)').not('patients', 'is', null)"),
    ("embedded-null-filter-to-one",
     "supabase.from('appointments').select('id, doctors(name)').is('doctors', null)"),
    ("embedded-null-filter-by-alias",
     "supabase.from('clinics').select('id, p:patients(id)').filter('p', 'not.is', null)"),
    ("embedded-null-filter-nested", "supabase.from('clinics')"
     ".select('id, patients(id, appointments(id))').is('patients.appointments', null)"),
    ("embedded-null-filter-in-or",
     "supabase.from('clinics').select('id, patients(id)').or('patients.not.is.null,name.eq.x')"),
    # Realtime subscriptions: the table and the filter's columns exist.
    ("realtime", "supabase.channel('room').on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'appointments', filter: 'patient_id=eq.1' }, (p) => {})"
     ".subscribe()"),
    ("realtime-template-filter", "supabase.channel('room').on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'appointments', "
     "filter: `patient_id=eq.${id},doctor_id=in.(1,2)` }, onInsert)"),
    ("realtime-whole-schema", "supabase.channel('room').on('postgres_changes', { event: 'INSERT', schema: 'public', }, onChange)"),
    ("realtime-every-table", "supabase.channel('room').on('postgres_changes', { event: 'INSERT', schema: 'public', table: '*' }, onChange)"),
    ("realtime-other-event", "supabase.channel('room').on('broadcast', { event: 'nope' }, f)"),
    # An extension's function (hstore's `each(hs hstore)`) and view, absent from the snapshot.
    ("extension-function", "supabase.schema('ext').rpc('each', { hs: 'a=>1' })"),
    ("extension-view",
     "supabase.schema('ext').from('pg_stat_statements').select('query, calls')"),
    ("embedded-null-filter-in-referenced-or", "supabase.from('clinics')"
     ".select('id, patients(id, appointments(id))')"
     ".or('appointments.is.null', { referencedTable: 'patients' })"),
    # Parentheses and type operators around part of a chain leave the builder as it is.
    ("type-operators-in-the-chain", "(supabase.from('clinics') as any).select('id, name')"),
    ("embed-read-through-a-type-operator", "(supabase.from('clinics')"
     ".select('id, patients(id)') satisfies unknown as any).not('patients', 'is', null)"),
    # supabase-js sets the select parameter: the last select's `x` (doctors) is filtered.
    ("a-later-select-replaces-the-embeds", "supabase.from('appointments')"
     ".select('id, x:patients(id)').select('id, x:doctors(id)').eq('x.name', 'n')"),
]

# (id, request, code, identifier the finding's span must cover).
FLAG = [
    ("unknown-table", "supabase.from('patientz').select('id')", "DBS301", "patientz"),
    ("unknown-table-in-schema", "supabase.schema('billing').from('nope').select()", "DBS301",
     "nope"),
    ("unknown-table-misspelled", "supabase.from('appointment_series_x').select('id')", "DBS301",
     "appointment_series_x"),
    ("column", "supabase.from('clinics').select('id, title')", "DBS302", "title"),
    ("column-of-another-schema", "supabase.schema('public').from('clinics').select('api_only')",
     "DBS302", "api_only"),
    ("column-case", "supabase.from('clinics').select('displayname')", "DBS302", "displayname"),
    # A function named so that takes no row (`billing.role()`, `slugify(text)`) is no
    # computed field: PostgreSQL's `"patients"."role"` is 42703.
    ("column-named-as-a-function-taking-nothing",
     "supabase.from('patients').select('id, role')", "DBS302", "role"),
    ("column-named-as-a-function-taking-a-scalar",
     "supabase.from('patients').select('id').eq('slugify', 'x')", "DBS302", "slugify"),
    ("aliased-column", "supabase.from('clinics').select('x:nope::text')", "DBS302", "nope"),
    ("json-column", "supabase.from('clinics').select('nope->>a')", "DBS302", "nope"),
    # The rest of a select is read past a JSON key of any characters (it was left unread).
    ("column-beside-a-json-key-of-any-characters",
     "supabase.from('clinics').select('settings->>@type, settings->1st, nope')", "DBS302",
     "nope"),
    ("filter-column-before-a-json-key-of-any-characters",
     "supabase.from('clinics').select('id').eq('nope->>@type', 'x')", "DBS302", "nope"),
    ("aggregate-column", "supabase.from('appointments').select('nope.sum()')", "DBS302", "nope"),
    ("embedded-column", "supabase.from('appointments').select('id, patients(nope)')", "DBS302",
     "nope"),
    ("column-next-to-an-embed-without-columns",
     "supabase.from('appointments').select('nope, patients()')", "DBS302", "nope"),
    ("spread-column", "supabase.from('appointments').select('...patients(nope)')", "DBS302",
     "nope"),
    ("computed-relationship-column",
     "supabase.from('patients').select('id, patient_clinic(nope)')", "DBS302", "nope"),
    ("filter-through-a-computed-relationship", "supabase.from('patients')"
     ".select('id, c:patient_clinic(name)').eq('c.nope', 1)", "DBS302", "nope"),
    # PostgREST's docs: `premieres(films) RETURNS SETOF premieres` overrides the relationship
    # to the table it is named after.
    ("computed-relationship-overriding-a-foreign-key-column",
     "supabase.from('events').select('id, venues(nope)')", "DBS302", "nope"),
    ("many-to-many-column", "supabase.from('doctors').select('specialties(title)')", "DBS302",
     "title"),
    ("no-relationship", "supabase.from('clinics').select('doctors(name)')", "DBS305", "doctors"),
    ("bad-hint", "supabase.from('orders').select('addresses!nope(street)')", "DBS305",
     "addresses"),
    # PostgREST relates only tables of the request's schema (findRel's lookup, Plan.hs; and
    # removeInternal drops those to a schema it does not expose): a foreign key to or from
    # a table of another schema is no relationship, by its name or its column (PGRST200).
    ("embed-one-to-many-of-another-schema",
     "supabase.from('patients').select('id, invoices(amount)')", "DBS305", "invoices"),
    ("embed-by-column-to-another-schema",
     "supabase.schema('billing').from('invoices').select('amount, patient_id(full_name)')",
     "DBS305", "patient_id"),
    ("embed-by-name-to-another-schema",
     "supabase.schema('billing').from('invoices').select('p:patients(full_name)')", "DBS305",
     "patients"),
    ("ambiguous-many-to-one", "supabase.from('orders').select('addresses(street)')", "DBS307",
     "addresses"),
    ("ambiguous-one-to-many", "supabase.from('addresses').select('id, orders(id)')", "DBS307",
     "orders"),
    ("ambiguous-circular", "supabase.from('agents').select('*, departments(*)')", "DBS307",
     "departments"),
    ("ambiguous-many-to-many", "supabase.from('sites').select('projects(name)')", "DBS307",
     "projects"),
    ("ambiguous-reverse-many-to-many", "supabase.from('projects').select('sites(id)')",
     "DBS307", "sites"),
    ("ambiguous-self", "supabase.from('people').select('people(name)')", "DBS307", "people"),
    ("ambiguous-spread", "supabase.from('orders').select('id, ...addresses(street)')", "DBS307",
     "addresses"),
    ("ambiguous-nested", "supabase.from('agents').select('departments!head_id(agents(name))')",
     "DBS307", "agents"),
    ("ambiguous-hint-referenced-column",
     "supabase.from('orders').select('addresses!id(street)')", "DBS307", "addresses"),
    # A client created with `db: { schema: 'api' }` reads api.clinics, which has no `name`.
    ("client-db-schema-column", "const api = createClient(u, k, { db: { schema: 'api' } });\n"
     "api.from('clinics').select('name')", "DBS302", "name"),
    ("client-db-schema-table", "const api = createClient(u, k, { db: { schema: 'api' } });\n"
     "api.from('patients').select('id')", "DBS301", "patients"),
    ("filter", "supabase.from('patients').select('id').eq('nope', 1)", "DBS302", "nope"),
    # PostgREST filters the column a cast follows (the cast is dropped): it must exist.
    ("filter-column-with-a-cast", "supabase.from('patients').select('id').eq('nope::text', 1)",
     "DBS302", "nope"),
    ("json-filter-column-with-a-cast",
     "supabase.from('patients').select('id').gt('nope->>n::int', 1)", "DBS302", "nope"),
    ("embedded-filter-column-with-a-cast", "supabase.from('clinics').select('patients(id)')"
     ".eq('patients.nope::date', '2024-01-01')", "DBS302", "nope"),
    # An aliased embed is known by its alias only: `patients` is then a column filter.
    ("embedded-null-filter-by-name-when-aliased",
     "supabase.from('clinics').select('p:patients(id)').not('patients', 'is', null)", "DBS302",
     "patients"),
    ("embedded-filter-not-a-null-test",
     "supabase.from('clinics').select('patients(id)').or('patients.eq.1')", "DBS302",
     "patients"),
    ("embedded-filter", "supabase.from('clinics').select('patients(id)').eq('patients.nope', 1)",
     "DBS302", "nope"),
    ("order", "supabase.from('patients').select('id').order('nope')", "DBS302", "nope"),
    ("order-to-one", "supabase.from('appointments').select('id, patients(who:full_name)')"
     ".order('patients(nope)')", "DBS302", "nope"),
    # `patients.order=nope` orders the embedded resource's own subquery: a column of it.
    ("order-of-an-embedded-resource", "supabase.from('clinics').select('p:patients(email)')"
     ".order('nope', { referencedTable: 'p' })", "DBS302", "nope"),
    # An aggregate's output name is no column to order the top level by (`ORDER BY
    # "public"."appointments"."sum"`: 42703).
    ("order-by-an-aggregate-name", "supabase.from('appointments').select('fee.sum()')"
     ".order('sum')", "DBS302", "sum"),
    ("or", "supabase.from('patients').select('id').or('id.eq.1,nope.gt.2')", "DBS302", "nope"),
    ("or-template", "supabase.from('patients').select('id')"
     ".or(`full_name.ilike.%${q}%,nope.ilike.%${q}%`)", "DBS302", "nope"),
    ("or-templates-joined", "supabase.from('patients').select('id')"
     ".or([`full_name.ilike.%${q}%`, `nope.ilike.%${q}%`].join())", "DBS302", "nope"),
    ("table-from-enum", "enum Tables { Patients = 'patients', Nope = 'nope' }\n"
     "supabase.from(Tables.Nope).select('id')", "DBS301", "nope"),
    ("match", "supabase.from('patients').select('id').match({ nope: 1 })", "DBS302", "nope"),
    ("insert-key-in-a-const", "const row = { full_name: 'x', nope: 1 };\n"
     "supabase.from('patients').insert(row)", "DBS302", "nope"),
    ("insert-key", "supabase.from('patients').insert({ full_name: 'x', nope: 1 })", "DBS302",
     "nope"),
    # `.map()` with a callback returning object literals: each row has their keys.
    ("insert-key-of-mapped-rows", "supabase.from('patients').insert(ids.map((id) => "
     "({ full_name: 'x', nope: id })))", "DBS302", "nope"),
    ("upsert-key-of-rows-mapped-by-a-block", "supabase.from('patients').upsert(rows.map("
     "function (r) { const n = f(r); if (n) { return { id: n }; } return { id: 0, nope: 1 }; }))",
     "DBS302", "nope"),
    ("insert-key-of-mapped-rows-in-a-const", "const rows = ids.map((id) => ({ full_name: id, "
     "nope: 1 }));\nsupabase.from('patients').insert(rows)", "DBS302", "nope"),
    ("on-conflict", "supabase.from('patients').upsert({ id: 1 }, { onConflict: 'id, nope' })",
     "DBS302", "nope"),
    ("on-conflict-quoted", "supabase.from('clinics').upsert({ id: 1 }, "
     "{ onConflict: 'id,\"displayname\"' })", "DBS302", "displayname"),
    ("rpc-function", "supabase.rpc('nope_fn', {})", "DBS306", "nope_fn"),
    # PostgREST's schema cache holds the functions of its exposed schemas only
    # (`funcsSqlQuery`: `pronamespace = ANY(db-schemas)`): pg_catalog's `now()` is not
    # `public.now` (PGRST202).
    ("rpc-catalog-function", "supabase.rpc('now')", "DBS306", "now"),
    # `pTreePath` reads a filter's key without `eof`: `nope)` filters `nope`.
    ("filter-key-trailing-text", "supabase.from('clinics').select('id').eq('nope)', 'x')",
     "DBS302", "nope"),
    # A select whose first item fails before it reads a character is empty (`*`): the
    # request's filters are still PostgREST's.
    ("filter-after-an-empty-select", "supabase.from('clinics').select('*x').eq('nope', 1)",
     "DBS302", "nope"),
    # PGRST118: a related order on a one-to-many or many-to-many embedded resource.
    ("order-by-many-to-many-embed", "supabase.from('doctors').select('name, specialties(name)')"
     ".order('specialties(name)')", "DBS313", "specialties"),
    ("order-by-one-to-many-embed", "supabase.from('employees').select('name, employees(name)')"
     ".order('employees(name).desc')", "DBS313", "employees"),
    ("order-by-aliased-to-many-embed", "supabase.from('clinics')"
     ".select('id, patients(id, visits:appointments(id))')"
     ".order('visits(id)', { referencedTable: 'patients' })", "DBS313", "visits"),
    # Two overloads take the names sent: by type (`string text`, `string bytea`), or one
    # with none and one whose only argument has a default.
    ("rpc-ambiguous-by-type", "supabase.rpc('urlencode', { string: 'a b' })", "DBS309",
     "urlencode"),
    ("rpc-ambiguous-by-default", "supabase.rpc('branding')", "DBS309", "branding"),
    # The columns of a function's `TABLE(...)` or OUT parameters.
    ("rpc-returns-table-column", "supabase.rpc('patient_stats').select('patient_id, vistis')",
     "DBS302", "vistis"),
    ("rpc-out-parameter-filter", "supabase.rpc('clinic_totals').select('clinics')"
     ".eq('doctor', 1)", "DBS302", "doctor"),
    ("realtime-table", "supabase.channel('room').on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'appointmentz' }, f)", "DBS301", "appointmentz"),
    ("realtime-filter-column", "supabase.channel('room').on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'appointments', filter: 'patientid=eq.1' }, f)",
     "DBS302", "patientid"),
    ("realtime-template-filter-column", "supabase.channel('room').on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'appointments', "
     "filter: `patient_id=eq.${p},doctorid=eq.${d}` }, f)", "DBS302", "doctorid"),
    # A schema an extension is installed in: only its own functions' names are unknowns.
    ("rpc-function-beside-an-extension", "supabase.schema('ext').rpc('eachh', { hs: 'a' })",
     "DBS306", "eachh"),
    ("rpc-argument", "supabase.rpc('search_patients', { query: 'x' })", "DBS306", "query"),
    # PostgREST's findProc: the keys must be every required argument (else PGRST202).
    ("rpc-missing-required", "supabase.rpc('search_patients', { max_rows: 3 })", "DBS306",
     "search_patients"),
    ("rpc-without-required", "supabase.rpc('search_patients')", "DBS306", "search_patients"),
    ("rpc-no-overload", "supabase.rpc('greet', { last: 'b' })", "DBS306", "greet"),
    ("rpc-result-column", "supabase.rpc('search_patients', { term: 'x' }).select('id, nope')",
     "DBS302", "nope"),
    ("rpc-result-filter", "supabase.rpc('search_patients', { term: 'x' }).eq('nope', 1)",
     "DBS302", "nope"),
    # PostgREST reads the result of a function returning a view's rows as the view (42703).
    ("rpc-set-of-view-column", "supabase.rpc('overview_search', { term: 'x' })"
     ".select('id, email')", "DBS302", "email"),
    ("rpc-procedure", "supabase.rpc('archive_patients', { before: '2024-01-01' })", "DBS306",
     "archive_patients"),
    # Parentheses and TypeScript's type operators around part of a chain (`x as T`, `x!`,
    # `x satisfies T`, `<T>x`): the calls after them are the same builder's.
    ("after-as", "(supabase.from('clinics') as any).select('id, title')", "DBS302", "title"),
    ("after-non-null", "(supabase.from('patients').select('id')!).eq('nope', 1)", "DBS302",
     "nope"),
    ("after-satisfies", "(supabase.from('patients') satisfies object).select('nope')",
     "DBS302", "nope"),
    ("after-angle-bracket-assertion", "(<any>supabase.from('clinics')).select('nope')",
     "DBS302", "nope"),
    ("client-in-angle-bracket-assertion", "(<any>supabase).from('clinics').select('nope')",
     "DBS302", "nope"),
    ("rpc-method-in-a-type-operator", "(supabase.rpc as any)('nope_fn', {})", "DBS306",
     "nope_fn"),
    ("from-method-in-a-type-operator", "(supabase.from as any)('clinics').select('nope')",
     "DBS302", "nope"),
    ("embedded-filter-after-a-later-select", "supabase.from('appointments')"
     ".select('id, x:patients(id)').select('id, x:doctors(id)').eq('x.full_name', 'n')",
     "DBS302", "full_name"),
]

# (id, request): built at run time, reported as a DBS304 note and never guessed at.
DYNAMIC = [
    ("table-variable", "supabase.from(table).select('id')"),
    ("select-variable", "supabase.from('clinics').select(columns)"),
    # `columns` may embed `patients`: then this tests whether it has rows, no column.
    ("null-test-after-a-select-variable",
     "supabase.from('clinics').select(columns).not('patients', 'is', null)"),
    ("null-test-in-or-after-a-select-variable",
     "supabase.from('clinics').select(columns).or('patients.is.null,id.eq.1')"),
    ("select-template", "supabase.from('clinics').select(`id, ${extra}`)"),
    ("filter-variable", "supabase.from('clinics').select('id').eq(field, 1)"),
    ("or-template-column", "supabase.from('clinics').select('id').or(`${field}.eq.1,id.gt.2`)"),
    ("or-template-unread", "supabase.from('clinics').select('id').or(`id.eq.1,${more}`)"),
    # a numeric member; a parameter shadowing the enum
    ("table-from-enum-number", "enum Tables { Patients }\nsupabase.from(Tables.Patients).select('id')"),
    ("table-from-enum-shadowed", "enum T { P = 'patients' }\n"
     "function f(T) { return supabase.from(T.P).select('id') }"),
    ("or-templates-joined-column",
     "supabase.from('clinics').select('id').or([`${field}.eq.1`, 'id.gt.2'].join(','))"),
    ("or-templates-joined-unread",
     "supabase.from('clinics').select('id').or([`id.eq.${a}`, clause(b)].join(','))"),
    ("spread-payload", "supabase.from('patients').insert({ ...row, id: 1 })"),
    ("spread-in-mapped-rows", "supabase.from('patients').insert(rows.map((r) => ({ ...r })))"),
    ("mapped-by-a-named-function", "supabase.from('patients').insert(ids.map(toRow))"),
    ("mapped-to-a-variable", "supabase.from('patients').insert(ids.map((id) => rows[id]))"),
    # A return of something else, or a callback that may end without one.
    ("mapped-by-a-block-returning-a-variable", "supabase.from('patients').insert(ids.map("
     "(id) => { if (id) { return { id }; } return other; }))"),
    ("mapped-by-an-async-callback",
     "supabase.from('patients').insert(ids.map(async (id) => ({ id })))"),
    ("realtime-table-variable", "supabase.channel('room').on('postgres_changes', { event: 'INSERT', schema: 'public', table: tableName }, f)"),
    ("realtime-filter-template-column", "supabase.channel('room').on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'appointments', "
     "filter: `${column}=eq.1` }, f)"),
    ("spread-rpc-arguments", "supabase.rpc('search_patients', { ...filters })"),
    # The parameter, not the `const` of the same name in another function.
    ("parameter-named-like-a-const", "function f() { const cols = 'email'; }\n"
     "function g(cols: string) { return supabase.from('clinics').select(cols) }"),
    ("loop-variable-named-like-a-const", "function f() { const row = { full_name: 'x' }; }\n"
     "for (const row of rows) { supabase.from('clinics').insert(row) }"),
]


# A query held in a variable, followed within its scope: (id, code, rule, identifier). Each
# names exactly one offending identifier, checked against the table of its own `.from()`.
FOLLOWED = [
    ("held-then-selected", "const q = supabase.from('clinics');\n"
     "const { data } = await q.select('id, title');", "DBS302", "title"),
    ("conditional-filter", "let query = supabase.from('patients').select('id');\n"
     "if (x) query = query.eq('nope', 1);\nif (y) query = query.order('full_name');\n"
     "const { data } = await query;", "DBS302", "nope"),
    ("conditional-order", "let query = supabase.from('patients').select('id');\n"
     "if (x) { query = query.eq('id', 1) }\nif (y) { query = query.order('nope') }\n"
     "return query;", "DBS302", "nope"),
    ("embedded-filter-on-the-declared-select",
     "let q = supabase.from('clinics').select('id, patients(id)');\n"
     "if (x) q = q.eq('patients.nope', 1);", "DBS302", "nope"),
    ("insert-then-select", "const q = supabase.from('patients').insert({ full_name: 'x' });\n"
     "await q.select('id, nope');", "DBS302", "nope"),
    ("rpc-then-filter", "let q = supabase.rpc('search_patients', { term: 'x' });\n"
     "if (x) q = q.eq('nope', 1);", "DBS302", "nope"),
    ("type-operators-on-the-variable", "const q = supabase.from('clinics') as any;\n"
     "await (q as SomeBuilder)!.select('nope');", "DBS302", "nope"),
    ("filter-added-in-a-loop", "let q = supabase.from('patients').select('id');\n"
     "for (const id of ids) q = q.neq('nope', id);", "DBS302", "nope"),
    ("assigned-to-another-variable", "let q = supabase.from('clinics').select('id');\n"
     "let r;\nif (x) r = q.eq('nope', 1);\nawait r;", "DBS302", "nope"),
    ("const-read-in-a-closure", "const q = supabase.from('clinics');\n"
     "export const list = () => q.select('nope');", "DBS302", "nope"),
    # `full_name` is a column of patients, not of clinics.
    ("each-variable-its-own-table", "let a = supabase.from('clinics').select('id');\n"
     "let b = supabase.from('patients').select('id');\n"
     "a = a.eq('full_name', 1);\nb = b.eq('full_name', 1);", "DBS302", "full_name"),
    # A later select replaces the earlier one: `x` is then doctors, which has no full_name.
    ("a-later-select-replaces-the-embeds",
     "const q = supabase.from('appointments').select('id, x:patients(id)');\n"
     "await q.select('id, x:doctors(id)').eq('x.full_name', 'n');", "DBS302", "full_name"),
]

# What makes a followed query's finding a guess: these requests are served (or may be), and
# a follower that took the variable for its first `.from()` would report them.
NOT_FOLLOWED = [
    ("reassigned-from-another-table",
     "let q = supabase.from('clinics').select('id');\n"
     "if (x) q = supabase.from('patients').select('id');\nq = q.eq('full_name', 'a');"),
    ("reassigned-from-a-function", "let q = supabase.from('clinics').select('id');\n"
     "q = applyFilters(q);\nq = q.eq('full_name', 'a');"),
    ("reassigned-from-a-conditional", "let q = supabase.from('clinics').select('id');\n"
     "q = x ? q.eq('id', 1) : other;\nq = q.eq('full_name', 'a');"),
    ("reassigned-in-a-closure", "let q = supabase.from('clinics').select('id');\n"
     "const reset = () => { q = supabase.from('patients').select('id') };\n"
     "q = q.eq('full_name', 1);"),
    ("reassigned-by-destructuring", "let q = supabase.from('clinics').select('id');\n"
     "({ q } = { q: supabase.from('patients').select('id') });\nq = q.eq('full_name', 1);"),
    ("a-parameter-of-the-same-name", "let q = supabase.from('clinics').select('id');\n"
     "function f(q) { return q.eq('full_name', 1) }"),
    # Which branch's select holds is not known: `x` is patients where the filter runs.
    ("selects-in-branches", "let q = supabase.from('appointments').select('id');\n"
     "if (a) q = q.select('id, x:patients(id)');\n"
     "else q = q.select('id, x:doctors(id)');\nif (a) q = q.eq('x.full_name', 'n');"),
    ("a-later-select-replaces-the-embeds",
     "const q = supabase.from('appointments').select('id, x:patients(id)');\n"
     "await q.select('id, x:doctors(id)').eq('x.name', 'n');"),
    # The builders of one `.from()` share their URL: another use's select is the one sent.
    ("another-use-sets-the-select",
     "const q = supabase.from('appointments').select('id, x:doctors(id)');\n"
     "await q.select('id, x:patients(id)');\nawait q.eq('x.full_name', 'n');"),
    ("another-use-embeds-what-a-null-test-names",
     "const q = supabase.from('clinics').select('id');\n"
     "await q.select('id, patients(id)');\nawait q.not('patients', 'is', null);"),
]


@pytest.fixture(scope="module")
def database(pg_server) -> Iterator[psycopg.Connection]:
    """A database holding postgrest_schema.sql for this module (one, not one per case)."""
    with module_database(pg_server, "dbsafe_postgrest_tests", SCHEMA.read_text(encoding="utf-8")) as conn:
        yield conn


@pytest.fixture(scope="module")
def snapshot(database: psycopg.Connection) -> SchemaSnapshot:
    from dbsafe.schema.introspect import introspect

    return introspect(database)


def _check(code: str, snapshot: SchemaSnapshot) -> tuple[str, list[Checked]]:
    source = PREAMBLE + code + "\n"
    result = sql_in_javascript(source, "app.ts")
    return source, [check(request, snapshot) for request in result.requests]


def _covered(source: str, finding, identifier: str) -> bool:
    """The finding's span in the source is exactly the identifier."""
    loc = finding.location
    line = source.splitlines()[loc.line - 1]
    assert loc.end_line == loc.line
    return line[loc.column - 1 : loc.end_column] == identifier


@pytest.mark.db
@pytest.mark.parametrize(("name", "code"), PASS, ids=[c[0] for c in PASS])
def test_request_postgrest_serves_is_not_flagged(
    name: str, code: str, snapshot: SchemaSnapshot
) -> None:
    _, checked = _check(code, snapshot)
    issues = [i.finding for c in checked for i in c.issues]
    assert issues == [], f"false positive on {name}"
    assert all(c.status != "dynamic" for c in checked)


@pytest.mark.db
@pytest.mark.parametrize(("name", "code", "rule", "identifier"), FLAG, ids=[c[0] for c in FLAG])
def test_request_postgrest_rejects_is_flagged_at_the_identifier(
    name: str, code: str, rule: str, identifier: str, snapshot: SchemaSnapshot,
    database: psycopg.Connection,
) -> None:
    source, checked = _check(code, snapshot)
    (request,) = checked
    (issue,) = [i for i in request.issues if i.finding.code == rule]
    assert _covered(source, issue.finding, identifier), issue.finding.location
    if issue.sql is None:
        return  # relationships and rpc: facts of the catalog, not of one statement
    # The SQL attached for confirmation fails on PostgreSQL, naming the identifier.
    assert issue.sql[issue.start : issue.end + 1].strip('"') == identifier
    with pytest.raises(psycopg.errors.Error) as raised:
        database.execute(f"PREPARE dbsafe_pgrst AS {issue.sql}")
    assert raised.value.sqlstate in ("42703", "42P01")
    assert identifier in str(raised.value)


@pytest.mark.db
@pytest.mark.parametrize(("name", "code", "rule", "identifier"), FOLLOWED,
                         ids=[c[0] for c in FOLLOWED])
def test_a_query_held_in_a_variable_is_checked_where_it_is_used(
    name: str, code: str, rule: str, identifier: str, snapshot: SchemaSnapshot,
    database: psycopg.Connection,
) -> None:
    source, checked = _check("async function f() {\n" + code + "\n}", snapshot)
    (issue,) = [i for c in checked for i in c.issues]
    assert issue.finding.code == rule
    assert _covered(source, issue.finding, identifier), issue.finding.location
    assert issue.sql is not None
    assert issue.sql[issue.start : issue.end + 1].strip('"') == identifier
    with pytest.raises(psycopg.errors.Error) as raised:
        database.execute(f"PREPARE dbsafe_pgrst AS {issue.sql}")
    assert raised.value.sqlstate == "42703"
    assert identifier in str(raised.value)


@pytest.mark.db
@pytest.mark.parametrize(("name", "code"), NOT_FOLLOWED, ids=[c[0] for c in NOT_FOLLOWED])
def test_a_query_whose_variable_may_hold_another_is_not_guessed_at(
    name: str, code: str, snapshot: SchemaSnapshot
) -> None:
    _, checked = _check("async function f() {\n" + code + "\n}", snapshot)
    assert [i.finding for c in checked for i in c.issues] == []


@pytest.mark.db
@pytest.mark.parametrize(
    ("code", "rule"),
    [
        ("let q = supabase.from('clinics').select('nope');\nif (x) q = q.eq('id', 1);\n"
         "q = q.order('id');\nawait q.limit(1);", "DBS302"),
        ("let q = supabase.from('nope').select('id');\nif (x) q = q.eq('id', 1);", "DBS301"),
        ("let q = supabase.from('clinics').select(cols);\nif (x) q = q.eq('id', 1);",
         "DBS304"),
        ("let q = supabase.rpc('nope_fn');\nif (x) q = q.eq('id', 1);", "DBS306"),
    ],
)
def test_the_calls_a_followed_query_starts_with_are_reported_once(
    code: str, rule: str, snapshot: SchemaSnapshot
) -> None:
    _, checked = _check("async function f() {\n" + code + "\n}", snapshot)
    assert [i.finding.code for c in checked for i in c.issues] == [rule]


@pytest.mark.db
def test_a_followed_query_of_a_table_not_known_is_not_analysed(
        snapshot: SchemaSnapshot) -> None:
    # An extension's view: the snapshot names it but does not describe its columns.
    _, checked = _check("async function f() {\n"
                        "let q = supabase.schema('ext').from('pg_stat_statements')"
                        ".select('query');\n"
                        "if (x) q = q.eq('nope', 1);\n}", snapshot)
    assert [(c.status, c.issues) for c in checked] == [("not_analysed", ())] * 2


@pytest.mark.db
def test_confirmation_sql_of_a_valid_column_is_accepted(
    snapshot: SchemaSnapshot, database: psycopg.Connection
) -> None:
    # The translation itself is sound: the same shape with an existing column prepares.
    _, checked = _check("supabase.from('clinics').select('nope')", snapshot)
    (issue,) = checked[0].issues
    assert issue.sql is not None
    database.execute("PREPARE dbsafe_ok AS " + issue.sql.replace('"nope"', '"DisplayName"'))
    database.execute("DEALLOCATE dbsafe_ok")


@pytest.mark.db
@pytest.mark.parametrize(("name", "code"), DYNAMIC, ids=[c[0] for c in DYNAMIC])
def test_request_built_at_run_time_is_a_note(
    name: str, code: str, snapshot: SchemaSnapshot
) -> None:
    _, checked = _check(code, snapshot)
    (request,) = checked
    assert request.status == "dynamic"
    assert [i.finding.code for i in request.issues] == ["DBS304"]
    assert request.issues[0].finding.severity.value == "note"


@pytest.mark.db
def test_ambiguous_embed_is_reported_as_postgrest_does(snapshot: SchemaSnapshot) -> None:
    _, checked = _check("supabase.from('orders').select('addresses(street)')", snapshot)
    (issue,) = checked[0].issues
    finding = issue.finding
    assert finding.message == "`orders` has more than one relationship to `addresses`"
    # PostgREST's hint lists `target!constraint` per relationship (relHint in Error.hs).
    assert finding.help == ("Name the relationship with a hint: one of `addresses!billing`, "
                            "`addresses!shipping`.")
    assert finding.context == (
        ("Relationship", "many-to-one: billing using orders(billing_address_id) and addresses(id)"),
        ("Relationship",
         "many-to-one: shipping using orders(shipping_address_id) and addresses(id)"),
        ("PostgREST", "PGRST201: Could not embed because more than one relationship was found "
                      "for 'orders' and 'addresses'"),
    )
    _, checked = _check("supabase.from('sites').select('projects(name)')", snapshot)
    assert checked[0].issues[0].finding.help == (
        "Name the relationship with a hint: one of `projects!main_project`, `projects!jobs`.")


@pytest.mark.db
def test_an_embed_through_a_foreign_key_to_another_schema_says_where_it_leads(
        snapshot: SchemaSnapshot) -> None:
    _, checked = _check("supabase.schema('billing').from('invoices')"
                        ".select('patient_id(full_name)')", snapshot)
    (issue,) = checked[0].issues
    assert issue.finding.message == "`invoices` has no relationship to `patient_id`"
    assert issue.finding.help == (
        "`patient_id` relates it to `public.patients`, in another schema: PostgREST embeds "
        "only tables of the request's schema (`billing`). Embed a view of it made there, by "
        "the view's name.")


# `onConflict` of `.upsert()` against `memberships`: whether PostgreSQL infers an arbiter.
UPSERTS = [
    ("id", True),  # the primary key
    ("org_id,user_id", True),
    ("user_id, org_id", True),  # a unique constraint's columns in another order
    ("org_id", False),  # part of one
    ("org_id,user_id,email", False),  # more than one
    ("email", False),  # a partial unique index
    ("slug", False),  # a unique index on an expression of it
    ("code", False),  # a deferrable unique constraint
]


@pytest.mark.db
@pytest.mark.parametrize(("conflict", "accepted"), UPSERTS, ids=[c for c, _ in UPSERTS])
def test_an_upsert_postgresql_finds_no_arbiter_for_is_dbs308(
        conflict: str, accepted: bool, snapshot: SchemaSnapshot,
        database: psycopg.Connection) -> None:
    columns = ", ".join(c.strip() for c in conflict.split(","))
    try:
        with database.transaction():
            database.execute("INSERT INTO memberships (id, org_id, user_id, email, slug, code) "
                             f"VALUES (1, 2, 3, 'e', 's', 'c') ON CONFLICT ({columns}) "
                             "DO NOTHING")
            raise psycopg.Rollback
        on_server = None
    except psycopg.Error as exc:
        on_server = exc.sqlstate
    source, checked = _check("supabase.from('memberships')"
                             f".upsert({{ org_id: 1, user_id: 2 }}, {{ onConflict: '{conflict}' }})",
                             snapshot)
    found = [i.finding for c in checked for i in c.issues]
    if accepted:
        assert on_server is None and found == []
    else:
        assert on_server in ("42P10", "55000"), on_server  # 55000: a deferrable one
        (finding,) = found
        assert finding.code == "DBS308" and _covered(source, finding, conflict)


@pytest.mark.db
def test_with_an_older_snapshot_any_function_beside_an_extension_is_unchecked(
        snapshot: SchemaSnapshot) -> None:
    # dbsafe before 0.2 recorded an extension's relations but not its functions.
    older = dataclasses.replace(snapshot, extensions=tuple(
        structs.replace(e, functions=None) for e in snapshot.extensions))
    _, checked = _check("supabase.schema('ext').rpc('eachh', { hs: 'a' })", older)
    assert [i.finding for c in checked for i in c.issues] == []
    _, checked = _check("supabase.rpc('nope_fn', {})", older)
    assert [i.finding.code for c in checked for i in c.issues] == ["DBS306"]


@pytest.mark.db
def test_rpc_without_a_required_argument_says_which(snapshot: SchemaSnapshot) -> None:
    _, checked = _check("supabase.rpc('search_patients', { max_rows: 3 })", snapshot)
    (issue,) = checked[0].issues
    assert issue.finding.message == ("no overload of `public.search_patients` takes these "
                                     "arguments: `max_rows` (missing `term`)")
    _, checked = _check("supabase.rpc('greet')", snapshot)
    assert checked[0].issues[0].finding.message == (
        "no overload of `public.greet` takes no arguments (missing `first`, `last`)")


@pytest.mark.db
def test_unknown_column_message_and_help(snapshot: SchemaSnapshot) -> None:
    _, checked = _check("supabase.from('patients').select('id, ful_name')", snapshot)
    (issue,) = checked[0].issues
    assert issue.finding.message == "`patients` has no column `ful_name`"
    assert issue.finding.subject == "public.patients.ful_name"
    assert issue.finding.help == "Did you mean `full_name`?"


@pytest.mark.db
def test_a_cast_after_a_filters_column_is_dbs312_and_the_column_still_checked(
        snapshot: SchemaSnapshot) -> None:
    # PostgREST drops a cast written in a filter's column: `name` is compared uncast, and
    # `patients::text=not.is.null` is still the embedded resource's null test; each cast is
    # a DBS312 warning at the cast, no column is missing (no DBS302).
    code = ("supabase.from('clinics').select('id, patients(id)')"
            ".eq('name::text', 'x').gt('settings->>n::int', 1).match({ 'id::text': '1' })"
            ".eq('patients.email::text', 'x').not('patients::text', 'is', null)")
    source, checked = _check(code, snapshot)
    findings = [i.finding for c in checked for i in c.issues]
    assert [(f.code, f.severity.value, f.subject) for f in findings] == [
        ("DBS312", "warning", "name"), ("DBS312", "warning", "settings"),
        ("DBS312", "warning", "id"), ("DBS312", "warning", "patients.email"),
        ("DBS312", "warning", "patients")]
    assert [_covered(source, f, cast) for f, cast in zip(
        findings, ["::text", "::int", "::text", "::text", "::text"], strict=True)] == [True] * 5
    assert findings[0].message == ("PostgREST drops the cast `::text` of the filtered column "
                                   "`name`: the filter compares `name` as it is, uncast")
    assert [c.status for c in checked] == ["analysed"]


@pytest.mark.db
def test_a_dropped_filter_cast_compares_the_column_uncast_on_postgresql(
        snapshot: SchemaSnapshot, database: psycopg.Connection) -> None:
    # `.eq('created_at::date', '2024-05-01')` is `?created_at::date=eq.2024-05-01`, which
    # PostgREST runs as `"public"."patients"."created_at" = $1` ($1 of type unknown,
    # `unknownLiteral` in its SqlFragment.hs): the day matches the row stamped at midnight
    # alone, where the cast the code wrote matches both rows of the day.
    from dbsafe.validate.postgrest import parse_path

    code = "supabase.from('patients').select('id').eq('created_at::date', '2024-05-01')"
    _, checked = _check(code, snapshot)
    (issue,) = [i for c in checked for i in c.issues]
    assert issue.finding.code == "DBS312"
    column = parse_path("created_at::date")
    sent = f'SELECT count(*) FROM "public"."patients" WHERE "public"."patients"."{column.name}" = $1'
    meant = 'SELECT count(*) FROM "public"."patients" WHERE "public"."patients"."created_at"::date = $1'
    with database.transaction(force_rollback=True):
        database.execute("SET LOCAL TimeZone = 'UTC'")
        database.execute("INSERT INTO patients (id, full_name, created_at) VALUES "
                         "(90001, 'a', '2024-05-01 00:00'), (90002, 'b', '2024-05-01 14:30')")
        database.execute(f"PREPARE dbsafe_sent AS {sent}")
        database.execute(f"PREPARE dbsafe_meant AS {meant}")
        try:
            types = database.execute("SELECT parameter_types::text[] FROM pg_prepared_statements"
                                     " WHERE name = 'dbsafe_sent'").fetchone()
            (uncast,) = database.execute("EXECUTE dbsafe_sent('2024-05-01')").fetchone()
            (cast,) = database.execute("EXECUTE dbsafe_meant('2024-05-01')").fetchone()
        finally:
            database.execute("DEALLOCATE dbsafe_sent")
            database.execute("DEALLOCATE dbsafe_meant")
    assert types == (["timestamp with time zone"],)
    assert (uncast, cast) == (1, 2)


@pytest.mark.db
def test_a_select_is_read_as_far_as_postgrest_reads_it(snapshot: SchemaSnapshot) -> None:
    # PostgREST parses `select` without `eof`: after `patients(id)`, `.nope(zzz)` is never
    # read (no finding for it), and what it reads is checked (`nope` is 42703).
    _, checked = _check("supabase.from('clinics').select('id, patients(id).nope(zzz)')",
                        snapshot)
    assert [(c.status, c.issues) for c in checked] == [("analysed", ())]
    source, checked = _check("supabase.from('clinics').select('nope, patients(id).zzz(id)')",
                             snapshot)
    (issue,) = [i for c in checked for i in c.issues]
    assert issue.finding.code == "DBS302"
    assert _covered(source, issue.finding, "nope")


@pytest.mark.db
def test_an_rpc_to_a_range_types_constructor_is_not_reported(
        snapshot: SchemaSnapshot, database: psycopg.Connection) -> None:
    # The snapshot leaves a range type's constructors to the type; PostgreSQL has them, and
    # PostgREST's schema cache holds the multirange's `slot_ranges()` (its other
    # constructors take unnamed arguments, which PostgREST's cache leaves out).
    assert not [f for f in snapshot.functions if f.name in ("slot_range", "slot_ranges")]
    assert database.execute("SELECT public.slot_ranges()").fetchone() == ("{}",)
    database.execute("SELECT public.slot_range(now(), now(), '[]')")
    database.rollback()
    for code in ("supabase.rpc('slot_ranges')",
                 "supabase.rpc('slot_range', { lower: 'a', upper: 'b' })"):
        _, checked = _check(code, snapshot)
        assert [(c.status, c.issues) for c in checked] == [("not_analysed", ())], code


@pytest.mark.db
@pytest.mark.parametrize("name", ["count", "max", "min", "to_json"])
def test_a_select_of_a_function_postgresql_calls_on_the_row_is_not_reported(
        name: str, snapshot: SchemaSnapshot, database: psycopg.Connection) -> None:
    # PostgREST sends `select=max` as `"clinics"."max"`, which PostgreSQL reads as
    # `max(clinics)` (from PostgreSQL 18; `count` always): the request is served. (Beside
    # another column, or in a filter, PostgreSQL refuses the aggregate: not a missing column.)
    if name in ("max", "min") and database.info.server_version < 180000:
        pytest.skip("max(record) and min(record) are PostgreSQL 18's")
    database.execute(f'PREPARE dbsafe_row_function AS SELECT "clinics"."{name}" '
                     'FROM "public"."clinics"')
    database.execute("DEALLOCATE dbsafe_row_function")
    _, checked = _check(f"supabase.from('clinics').select('{name}')", snapshot)
    assert [(c.status, c.issues) for c in checked] == [("analysed", ())]


# -- the select grammar (PostgREST's QueryParams.hs doctests, and supabase-js cleaning) -------


@pytest.mark.parametrize(
    ("select", "expected"),
    [
        ("id", [("field", "id")]),
        ("client(id)", [("embed", "client", [("field", "id")])]),
        ("*,client(*,nested(*))",
         [("star", "*"), ("embed", "client", [("star", "*"), ("embed", "nested", [("star", "*")])])]),
        ("*,...client(*),other(*)",
         [("star", "*"), ("spread", "client", [("star", "*")]), ("embed", "other", [("star", "*")])]),
        ("identifier-with-dashes", [("field", "identifier-with-dashes")]),
        ('"a:b",  "x y"', [("field", "a:b"), ("field", "x y")]),
        ("alias:name->jsonpath::cast", [("field", "name")]),
        ("count(), c:count()::int", [("count", "count"), ("count", "count")]),
        ("rel!hint!inner(*)", [("embed", "rel", [("star", "*")])]),
        ("x:rel!inner!hint(*)", [("embed", "rel", [("star", "*")])]),
        ("data->0->>a,b->-1", [("field", "data"), ("field", "b")]),
        ("rel(count)", [("embed", "rel", [("field", "count")])]),
        ("message,users()", [("field", "message"), ("embed", "users", [])]),
        ("", []),
        # `P.parse pFieldForest` without `eof`: the text after the last top-level item no
        # comma follows is not read.
        ("*,billing_services!left(provider_id,provider).service_id(id)",
         [("star", "*"), ("embed", "billing_services", [("field", "provider_id"),
                                                        ("field", "provider")])]),
        ("a(b)(c)", [("embed", "a", [("field", "b")])]),
        ("id,name)x", [("field", "id"), ("field", "name")]),
        # `sepBy` is `sepBy1 p sep <|> return []`: a first item that fails before it has
        # consumed a character (every alternative of `pFieldTree` but the name's is a `try`)
        # is no item, and the select is empty, PostgREST's `*` (`defSelect`).
        ("*x", []), ("*!hint", []), ("!a", []), (",a", []), ("(id)", []), ("-a", []),
        ("...rel", []), ("..rel(*)", []), ("...rel!a!b!c(id)", []),
    ],
)
def test_select_grammar(select: str, expected: list) -> None:
    def shape(items):
        return [(i.kind, i.name, shape(i.children)) if i.kind in ("embed", "spread")
                else (i.kind, i.name) for i in items]

    assert shape(parse_select(select)) == expected


@pytest.mark.parametrize(
    "select", ["name!hint", "name::", "id,clients(name[])", "rel->json(*)", "a,,b",
               "rel(id", "alias:...rel(*)", "id.x", "a(b(c).d)", "a(b),c.d", "...rel(!x)",
               "count()x", "*,!a", "rel(*x)"],
)
def test_select_postgrest_rejects_is_not_read(select: str) -> None:
    with pytest.raises(SelectError):
        parse_select(select)


@pytest.mark.db
@pytest.mark.parametrize(
    ("code", "reason"),
    [
        # pSpreadRelationSelect takes no alias (PGRST100): nothing else of it is read.
        ("supabase.from('appointments').select('id, x:...patients(nope)')",
         "select string not read: a spread cannot be aliased (`x:...`)"),
        # PostgREST's order grammar takes no cast (`order=id::text` is PGRST100), nor does its
        # logic tree (`or=(id::text.eq.1)`).
        ("supabase.from('patients').select('id').order('nope::text')",
         "order not read: unexpected ':'"),
        ("supabase.from('patients').select('id').or('nope::text.eq.1')",
         "`.or()` filter not read: expected '.' at 4"),
    ],
)
def test_what_postgrest_rejects_is_left_unread_with_a_reason(
        code: str, reason: str, snapshot: SchemaSnapshot) -> None:
    _, checked = _check(code, snapshot)
    assert [(c.status, c.reason, c.issues) for c in checked] == [("not_analysed", reason, ())]


def test_select_offsets_point_into_the_string_as_written() -> None:
    raw = 'id,\n  patients ( "full name" ),  x:nope'
    items = parse_select(raw)
    embed = items[1]
    assert raw[embed.start : embed.end + 1] == "patients"
    quoted = embed.children[0]
    assert raw[quoted.start : quoted.end + 1] == '"full name"'
    assert raw[items[2].start : items[2].end + 1] == "nope"


def test_a_run_over_supabase_requests_only_never_loads_the_sql_parser(tmp_path) -> None:
    # `--changed-since` with one edited .ts file: sqlglot would be a third of the run, and
    # PostgreSQL's parser (pglast) has nothing to read either.
    import json
    import subprocess
    import sys

    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "hook.ts").write_text(
        PREAMBLE + "supabase.from('patients').select('id, nickname');\n", encoding="utf-8")
    probe = (
        "import json, sys\nfrom pathlib import Path\nfrom dbsafe import commands\n"
        "from dbsafe.config import load_settings\n"
        "root, snapshot = map(Path, sys.argv[1:3])\n"
        "settings = load_settings(root, {'snapshot': str(snapshot), 'cache': False}, environ={})\n"
        "report = commands.validate(settings, [root / 'web'])\n"
        "print(json.dumps([[f.code, f.location.line] for f in report.findings]"
        " + [sorted(m for m in sys.modules if m.startswith(('sqlglot', 'pglast')))]))\n"
    )
    snapshot = REPO_ROOT / "tests" / "validate" / "fixtures" / "clinic_schema.json"
    out = subprocess.run([sys.executable, "-c", probe, str(tmp_path), str(snapshot)],
                         capture_output=True, text=True, check=True)
    *findings, loaded = json.loads(out.stdout.splitlines()[-1])
    assert findings == [["DBS302", 3]]
    assert loaded == []


def test_the_graphs_of_two_snapshots_checked_in_turn_are_both_kept() -> None:
    # lint's DBS211 checks every request against the schema with and without the removed
    # objects: rebuilding the foreign-key graph at each switch cost O(relations) per request.
    import dataclasses

    from dbsafe.validate.postgrest import _graph

    first = SchemaSnapshot.load(REPO_ROOT / "tests" / "validate" / "fixtures"
                                / "clinic_schema.json")
    second = dataclasses.replace(first)
    graph = _graph(first)
    assert _graph(second) is not graph
    assert _graph(first) is graph
