"""supabase-py requests against the schema the supabase-js tests use (`test_postgrest.py`).

The same request written with supabase-py must give the findings supabase-js's gives:
`SAME` pairs the two spellings and compares what is reported. `pass` cases are requests
PostgREST serves (any finding is a false positive); `flag` cases name the offending
identifier, and the SQL each column or table finding carries for confirmation must be
rejected by PostgreSQL naming it. Chains on what is not certainly a supabase client are
not read at all (`NOT_A_CLIENT`).
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from dbsafe.extract.javascript import sql_in_javascript
from dbsafe.extract.python import sql_in_python
from dbsafe.schema.model import SchemaSnapshot
from dbsafe.validate.postgrest import Checked, check
from tests.conftest import REPO_ROOT
from tests.helpers import module_database

SCHEMA = REPO_ROOT / "tests" / "validate" / "fixtures" / "postgrest_schema.sql"
PREAMBLE = (
    "from supabase import acreate_client, create_client, AsyncClient, Client, ClientOptions\n"
    "supabase = create_client(url, key)\n"
)
JS_PREAMBLE = (
    "import { createClient } from '@supabase/supabase-js';\n"
    "const supabase = createClient(url, key);\n"
)

# (id, supabase-js request, the same request in supabase-py)
SAME = [
    ("columns", "supabase.from('clinics').select('id, title')",
     'supabase.table("clinics").select("id, title").execute()'),
    ("select-arguments-joined", "supabase.from('clinics').select('id,title')",
     'supabase.table("clinics").select("id", "title").execute()'),
    ("select-chosen", "supabase.from('clinics').select(full ? 'id, title' : 'id, nme')",
     'supabase.table("clinics").select("id, title" if full else "id, nme").execute()'),
    ("embedded-column", "supabase.from('appointments').select('id, patients(nope)')",
     'supabase.from_("appointments").select("id, patients(nope)").execute()'),
    ("unknown-table", "supabase.from('patientz').select('id')",
     'supabase.table("patientz").select("id").execute()'),
    ("ambiguous", "supabase.from('orders').select('addresses(street)')",
     'supabase.table("orders").select("addresses(street)").execute()'),
    ("no-relationship", "supabase.from('clinics').select('doctors(name)')",
     'supabase.table("clinics").select("doctors(name)").execute()'),
    ("filters", "supabase.from('patients').select('id').eq('nope', 1).in('nope2', [1])"
     ".is('nope3', null).order('nope4', { ascending: false })",
     'supabase.table("patients").select("id").eq("nope", 1).in_("nope2", [1])'
     '.is_("nope3", None).order("nope4", desc=True).execute()'),
    ("or", "supabase.from('patients').select('id').or('id.eq.1,nope.gt.2')",
     'supabase.table("patients").select("id").or_("id.eq.1,nope.gt.2").execute()'),
    # PostgREST drops a cast after a filter's column: the column is what it compares.
    ("filter-column-with-a-cast",
     "supabase.from('patients').select('id').eq('nope::text', 1).eq('email::text', 'x')",
     'supabase.table("patients").select("id").eq("nope::text", 1).eq("email::text", "x")'
     ".execute()"),
    ("match", "supabase.from('patients').select('id').match({ nope: 1, id: 2 })",
     'supabase.table("patients").select("id").match({"nope": 1, "id": 2}).execute()'),
    ("payload", "supabase.from('patients').insert({ full_name: 'x', nope: 1 })",
     'supabase.table("patients").insert({"full_name": "x", "nope": 1}).execute()'),
    ("on-conflict", "supabase.from('patients').upsert({ id: 1 }, { onConflict: 'id, nope' })",
     'supabase.table("patients").upsert({"id": 1}, on_conflict="id, nope").execute()'),
    ("no-arbiter", "supabase.from('memberships').upsert({ org_id: 1 }, { onConflict: 'org_id' })",
     'supabase.table("memberships").upsert({"org_id": 1}, on_conflict="org_id").execute()'),
    ("rpc-argument", "supabase.rpc('search_patients', { query: 'x' })",
     'supabase.rpc("search_patients", {"query": "x"}).execute()'),
    ("rpc-without-required", "supabase.rpc('search_patients')",
     'supabase.rpc("search_patients").execute()'),
    ("rpc-ambiguous", "supabase.rpc('branding')", 'supabase.rpc("branding").execute()'),
    ("rpc-result-column", "supabase.rpc('search_patients', { term: 'x' }).select('id, nope')",
     'supabase.rpc("search_patients", {"term": "x"}).select("id, nope").execute()'),
    ("schema", "supabase.schema('billing').from('nope').select()",
     'supabase.schema("billing").table("nope").select().execute()'),
    ("dynamic", "supabase.from(table).select('id')",
     'supabase.table(table).select("id").execute()'),
    ("realtime-table", "supabase.channel('room').on('postgres_changes', "
     "{ event: 'INSERT', schema: 'public', table: 'appointmentz' }, f)",
     'supabase.channel("room").on_postgres_changes("INSERT", f, table="appointmentz")'),
    ("realtime-filter-column", "supabase.channel('room').on('postgres_changes', "
     "{ event: '*', schema: 'public', table: 'appointments', filter: 'patientid=eq.1' }, f)",
     'supabase.channel("room").on_postgres_changes("*", f, "appointments", "public", '
     '"patientid=eq.1")'),
    ("realtime-dynamic", "supabase.channel('room').on('postgres_changes', "
     "{ event: 'INSERT', schema: 'public', table: name }, f)",
     'supabase.channel("room").on_postgres_changes("INSERT", f, table=name)'),
]

# (id, request) pairs PostgREST accepts against postgrest_schema.sql.
PASS = [
    ("select-default", 'supabase.table("clinics").select().execute()'),
    ("star", 'supabase.table("clinics").select("*").execute()'),
    ("select-chosen", 'supabase.table("clinics").select("id, name" if full else "id")'
     ".execute()"),
    ("columns-as-arguments", 'supabase.table("clinics").select("id", "name", "settings")'
     ".execute()"),
    ("whitespace-removed", 'supabase.table("clinics").select("""id,\n   name ,\n settings""")'
     ".execute()"),
    ("alias-cast-json", 'supabase.table("clinics").select('
     '"title:name, id::text, settings->theme, color:settings->>color::text").execute()'),
    ("quoted-names", "supabase.table('clinics').select('\"DisplayName\", \"first name\"')"
     ".execute()"),
    ("embeds", 'supabase.table("appointments").select("id, patients(full_name), '
     'doctors!inner(name)").execute()'),
    ("many-to-many", 'supabase.table("doctors").select("name, specialties(name)").execute()'),
    ("hints", 'supabase.table("orders").select('
     '"billing:addresses!billing(street), shipping:addresses!shipping_address_id(street)")'
     ".execute()"),
    ("computed-field", 'supabase.table("patients").select("full_name, patient_label").execute()'),
    ("view", 'supabase.table("patient_overview").select("id, full_name, clinics(name)")'
     ".execute()"),
    ("schema", 'supabase.schema("billing").table("invoices").select("amount").execute()'),
    ("postgrest-schema",
     'supabase.postgrest.schema("billing").from_("invoices").select("amount").execute()'),
    ("filters", 'supabase.table("patients").select("id").eq("clinic_id", 1).neq("email", "x")'
     '.gt("id", 1).gte("id", 1).lt("id", 9).lte("id", 9).like("full_name", "%a%")'
     '.ilike("full_name", "%a%").is_("email", None).in_("id", [1, 2])'
     '.contains("data", {"a": 1}).contained_by("data", {}).filter("id", "in", "(1,2)")'
     '.text_search("full_name", "x").fts("full_name", "x").not_.is_("email", "null")'
     '.not_.in_("id", [3]).match({"full_name": "x"}).order("created_at", desc=True)'
     ".limit(3).single().execute()"),
    ("json-filter", 'supabase.table("patients").select("id").eq("data->>kind", "x").execute()'),
    ("embedded-filter", 'supabase.table("clinics").select("name, patients(email)")'
     '.eq("patients.email", "x").order("email", foreign_table="patients").execute()'),
    ("or", 'supabase.table("patients").select("id")'
     ".or_('email.eq.a,and(full_name.ilike.*x*,id.not.in.(1,2))').execute()"),
    # An f-string's fields are values: its column names are literal text.
    ("or-f-string", 'supabase.table("patients").select("id")'
     '.or_(f"full_name.ilike.%{q}%,email.ilike.%{q}%").execute()'),
    ("or-referenced", 'supabase.table("clinics").select("patients(email)")'
     '.or_("email.is.null,id.gt.3", reference_table="patients").execute()'),
    ("embedded-null-filter", 'supabase.table("clinics").select("id, patients(id)")'
     '.not_.is_("patients", "null").execute()'),
    ("embedded-null-filter-none", 'supabase.table("appointments").select("id, doctors(name)")'
     '.is_("doctors", None).execute()'),
    ("embedded-null-filter-negated-filter", 'supabase.table("clinics")'
     '.select("id, p:patients(id)").not_.filter("p", "is", "null").execute()'),
    ("insert", 'supabase.table("patients").insert({"id": 1, "full_name": "x"}).execute()'),
    ("insert-many", 'supabase.table("patients").insert([{"id": 1, "full_name": "x"}, '
     '{"id": 2, "email": None}]).execute()'),
    ("insert-comprehension", 'supabase.table("patients").insert('
     '[{"id": i, "full_name": "x"} for i in ids]).execute()'),
    ("upsert", 'supabase.table("patients").upsert({"id": 1, "full_name": "x"}, '
     'on_conflict=" email ").execute()'),
    ("update", 'supabase.table("patients").update({"email": None}).eq("id", 1).execute()'),
    ("delete", 'supabase.table("patients").delete().eq("id", 1).execute()'),
    ("rpc", 'supabase.rpc("search_patients", {"term": "x", "max_rows": 3}).execute()'),
    ("rpc-params-keyword", 'supabase.rpc("search_patients", params={"term": "x"}).execute()'),
    ("rpc-no-arguments", 'supabase.rpc("patient_count").execute()'),
    ("rpc-none-arguments", 'supabase.rpc("patient_count", None).execute()'),
    # With get=True the arguments are query parameters, where other keys are filters.
    ("rpc-get", 'supabase.rpc("search_patients", {"term": "x", "id": "eq.1"}, get=True)'
     ".execute()"),
    ("constant-select", 'COLS = "id, name"\nsupabase.table("clinics").select(COLS).execute()'),
    ("payload-in-a-variable", 'row = {"id": 1, "full_name": "x"}\nrow["email"] = "e"\n'
     'supabase.table("patients").upsert(row).execute()'),
    ("not-a-client", 'import supabase as sb\nsb.table("nope")\n'
     'supabase.storage.from_("avatars").upload("a.png", data)\n'
     'spark.table("nope").select("nope")\nclient.table("nope").select("nope")'),
    ("typed-parameter", 'def f(db: Client):\n    return db.table("clinics").select("id").execute()'),
    ("self-client", 'class R:\n    def __init__(self):\n        self.db = create_client(u, k)\n'
     '    def q(self):\n        return self.db.table("clinics").select("id").execute()'),
    ("client-db-schema", 'api = create_client(u, k, options=ClientOptions(schema="api"))\n'
     'api.table("todos").select("task").execute()\n'
     'api.table("clinics").select("api_only").execute()'),
    ("async", 'async def f():\n    client = await acreate_client(u, k)\n'
     '    return await client.table("clinics").select("id").execute()'),
]

# (id, request, code, identifier the finding's span must cover).
FLAG = [
    ("unknown-table", 'supabase.table("patientz").select("id").execute()', "DBS301",
     "patientz"),
    ("column", 'supabase.table("clinics").select("id, title").execute()', "DBS302", "title"),
    ("column-of-a-later-argument", 'supabase.table("clinics").select("id", "title")'
     ".execute()", "DBS302", "title"),
    ("column-in-a-multiline-chain", '(\n    supabase.table("clinics")\n'
     '    .select("""id,\n        nope""")\n    .execute()\n)', "DBS302", "nope"),
    ("from-underscore", 'supabase.from_("clinics").select("nope").execute()', "DBS302", "nope"),
    ("embedded-column", 'supabase.table("appointments").select("id, patients(nope)")'
     ".execute()", "DBS302", "nope"),
    ("no-relationship", 'supabase.table("clinics").select("doctors(name)").execute()',
     "DBS305", "doctors"),
    ("ambiguous", 'supabase.table("orders").select("addresses(street)").execute()', "DBS307",
     "addresses"),
    ("eq", 'supabase.table("patients").select("id").eq("nope", 1).execute()', "DBS302", "nope"),
    ("in", 'supabase.table("patients").select("id").in_("nope", [1]).execute()', "DBS302",
     "nope"),
    ("is", 'supabase.table("patients").select("id").is_("nope", None).execute()', "DBS302",
     "nope"),
    ("negated", 'supabase.table("patients").select("id").not_.eq("nope", 1).execute()',
     "DBS302", "nope"),
    ("negated-null-test-on-a-column", 'supabase.table("patients").select("id")'
     '.not_.is_("nope", "null").execute()', "DBS302", "nope"),
    ("like", 'supabase.table("patients").select("id").ilike("nope", "%a%").execute()',
     "DBS302", "nope"),
    ("contained-by", 'supabase.table("patients").select("id").contained_by("nope", {})'
     ".execute()", "DBS302", "nope"),
    ("range", 'supabase.table("patients").select("id").range_gt("nope", [1, 2]).execute()',
     "DBS302", "nope"),
    ("filter", 'supabase.table("patients").select("id").filter("nope", "eq", "1").execute()',
     "DBS302", "nope"),
    ("text-search", 'supabase.table("patients").select("id").text_search("nope", "x")'
     ".execute()", "DBS302", "nope"),
    ("match", 'supabase.table("patients").select("id").match({"nope": 1}).execute()',
     "DBS302", "nope"),
    ("or", 'supabase.table("patients").select("id").or_("id.eq.1,nope.gt.2").execute()',
     "DBS302", "nope"),
    ("or-f-string", 'supabase.table("patients").select("id")'
     '.or_(f"full_name.ilike.%{q}%,nope.ilike.%{q}%").execute()', "DBS302", "nope"),
    ("or-referenced", 'supabase.table("clinics").select("patients(email)")'
     '.or_("nope.eq.1", reference_table="patients").execute()', "DBS302", "nope"),
    ("order", 'supabase.table("patients").select("id").order("nope", desc=True).execute()',
     "DBS302", "nope"),
    ("order-foreign-table", 'supabase.table("clinics").select("patients(email)")'
     '.order("nope", foreign_table="patients").execute()', "DBS302", "nope"),
    ("insert-key", 'supabase.table("patients").insert({"full_name": "x", "nope": 1})'
     ".execute()", "DBS302", "nope"),
    ("insert-key-of-a-row", 'supabase.table("patients").insert([{"id": 1}, {"nope": 2}])'
     ".execute()", "DBS302", "nope"),
    ("insert-key-in-a-variable", 'row = {"full_name": "x", "nope": 1}\n'
     'supabase.table("patients").insert(row).execute()', "DBS302", "nope"),
    ("insert-key-of-a-comprehension", 'supabase.table("patients").insert('
     '[{"full_name": n, "nope": 1} for n in names]).execute()', "DBS302", "nope"),
    ("update-key", 'supabase.table("patients").update({"nope": 1}).eq("id", 1).execute()',
     "DBS302", "nope"),
    ("on-conflict", 'supabase.table("patients").upsert({"id": 1}, on_conflict="id, nope")'
     ".execute()", "DBS302", "nope"),
    ("rpc-function", 'supabase.rpc("nope_fn", {}).execute()', "DBS306", "nope_fn"),
    ("rpc-argument", 'supabase.rpc("search_patients", {"query": "x"}).execute()', "DBS306",
     "query"),
    ("rpc-result-filter", 'supabase.rpc("search_patients", {"term": "x"}).eq("nope", 1)'
     ".execute()", "DBS302", "nope"),
    ("schema-table", 'supabase.schema("billing").table("nope").select().execute()', "DBS301",
     "nope"),
    ("client-db-schema-column", 'api = create_client(u, k, options=ClientOptions(schema="api"))'
     '\napi.table("clinics").select("name").execute()', "DBS302", "name"),
    ("client-schema-variable", 'api = supabase.schema("api")\n'
     'api.table("patients").select("id").execute()', "DBS301", "patients"),
    ("typed-parameter", 'def f(db: Client):\n    db.table("clinics").select("nope").execute()',
     "DBS302", "nope"),
    ("typed-optional-parameter", 'def f(db: "Client | None"):\n'
     '    db.table("clinics").select("nope").execute()', "DBS302", "nope"),
    ("parameter-named-supabase", 'def f(supabase_admin):\n'
     '    supabase_admin.table("clinics").select("nope").execute()', "DBS302", "nope"),
    ("self-attribute", 'class R:\n    def __init__(self, u, k):\n'
     '        self.client: Client = create_client(u, k)\n    def q(self):\n'
     '        self.client.table("clinics").select("nope").execute()', "DBS302", "nope"),
    ("self-attribute-named-supabase", 'class R:\n    def q(self):\n'
     '        self.supabase.table("clinics").select("nope").execute()', "DBS302", "nope"),
    ("factory-function", 'def get_supabase():\n    return create_client(u, k)\n'
     'get_supabase().table("clinics").select("nope").execute()', "DBS302", "nope"),
    ("async-client", 'async def f():\n    client = await acreate_client(u, k)\n'
     '    await client.table("clinics").select("nope").execute()', "DBS302", "nope"),
    ("project-module", 'from app.core.supabase import get_client\n'
     'get_client().table("clinics").select("nope").execute()', "DBS302", "nope"),
    ("postgrest-attribute", 'supabase.postgrest.from_("clinics").select("nope").execute()',
     "DBS302", "nope"),
    ("realtime-table", 'supabase.channel("room").on_postgres_changes('
     '"INSERT", f, table="appointmentz")', "DBS301", "appointmentz"),
    ("realtime-table-positional", 'supabase.channel("room").on_postgres_changes('
     '"INSERT", f, "appointmentz")', "DBS301", "appointmentz"),
    ("realtime-schema", 'supabase.channel("room").on_postgres_changes('
     '"INSERT", f, table="appointments", schema="billing")', "DBS301", "appointments"),
    ("realtime-filter-column", 'supabase.channel("room").on_postgres_changes('
     '"INSERT", f, table="appointments", filter="patientid=eq.1")', "DBS302", "patientid"),
    ("realtime-f-string-filter-column", 'supabase.channel("room").on_postgres_changes('
     '"*", f, table="appointments", filter=f"patient_id=eq.{p},doctorid=eq.{d}")', "DBS302",
     "doctorid"),
    ("realtime-channel-variable", 'channel = supabase.channel("room")\n'
     'channel.on_postgres_changes("INSERT", f, table="appointmentz")', "DBS301",
     "appointmentz"),
    ("realtime-chained", 'supabase.channel("room").on_broadcast("b", g)'
     '.on_postgres_changes("INSERT", f, table="appointmentz").subscribe()', "DBS301",
     "appointmentz"),
    ("realtime-async", 'async def f():\n    client = await acreate_client(u, k)\n'
     '    channel = client.channel("room")\n'
     '    await channel.on_postgres_changes("*", g, table="appointmentz").subscribe()',
     "DBS301", "appointmentz"),
    ("realtime-awaited-channel", 'async def f():\n'
     '    channel = await supabase.channel("room")\n'
     '    channel.on_postgres_changes("*", g, table="appointmentz")', "DBS301", "appointmentz"),
    ("realtime-realtime-attribute", 'supabase.realtime.channel("room").on_postgres_changes('
     '"*", g, table="appointmentz")', "DBS301", "appointmentz"),
    ("realtime-self-channel", 'class Listener:\n    def __init__(self, client: Client):\n'
     '        self.channel = client.channel("room")\n    async def start(self):\n'
     '        await self.channel.on_postgres_changes("*", g, table="appointmentz").subscribe()',
     "DBS301", "appointmentz"),
    ("realtime-self-channel-none-until-made", 'class Worker:\n    def __init__(self):\n'
     '        self.channel = None\n    async def start(self):\n'
     '        self.client: AsyncClient = await acreate_client(u, k)\n'
     '        self.channel = self.client.realtime.channel("jobs")\n'
     '        self.channel.on_postgres_changes(event="INSERT", schema="public", '
     'table="appointmentz", callback=g)', "DBS301", "appointmentz"),
]

# (id, request): built at run time, a DBS304 note, never guessed at.
DYNAMIC = [
    ("table-variable", 'supabase.table(table).select("id").execute()'),
    ("select-variable", 'supabase.table("clinics").select(columns).execute()'),
    ("select-starred", 'supabase.table("clinics").select(*columns).execute()'),
    ("select-f-string", 'supabase.table("clinics").select(f"id, {extra}").execute()'),
    ("filter-variable", 'supabase.table("clinics").select("id").eq(field, 1).execute()'),
    ("or-f-string-column", 'supabase.table("clinics").select("id")'
     '.or_(f"{field}.eq.1,id.gt.2").execute()'),
    ("spread-payload", 'supabase.table("patients").insert({**row, "id": 1}).execute()'),
    ("payload-parameter", 'def f(row):\n    supabase.table("patients").insert(row).execute()'),
    # A key may be popped out of it before it is sent.
    ("payload-popped", 'row = {"full_name": "x", "nope": 1}\nrow.pop("nope")\n'
     'supabase.table("patients").insert(row).execute()'),
    ("payload-handed-to-a-function", 'row = {"full_name": "x", "nope": 1}\nclean(row)\n'
     'supabase.table("patients").insert(row).execute()'),
    ("spread-rpc-arguments", 'supabase.rpc("search_patients", {**filters}).execute()'),
    ("on-conflict-variable", 'supabase.table("patients").upsert({"id": 1}, '
     "on_conflict=columns).execute()"),
    ("realtime-table-variable", 'supabase.channel("room").on_postgres_changes('
     '"INSERT", f, table=name)'),
    ("realtime-filter-column-in-an-f-string", 'supabase.channel("room").on_postgres_changes('
     '"INSERT", f, table="appointments", filter=f"{column}=eq.1")'),
]

# Chains whose receiver is not certainly a supabase client: not read, whatever they name.
NOT_A_CLIENT = [
    ("module", 'import supabase\nsupabase.table("nope").select("nope")'),
    ("storage", 'supabase.storage.from_("avatars").upload("a", b"x")\n'
     'supabase_storage.from_("nope").select("nope")'),
    ("bucket", 'supabase.table("avatars").upload("a", b"x")'),
    ("other-library", 'import duckdb\nsupabase_db = duckdb.connect()\n'
     'supabase_db.table("nope").select("nope")'),
    ("a-class-of-the-project", 'class SupabaseWrapper:\n    pass\n'
     'supabase_wrapper = SupabaseWrapper()\nsupabase_wrapper.table("nope").select("nope")'),
    ("spark", 'spark.table("nope").select("nope")'),
    ("client-of-another-package", 'from ibis import connect\nclient = connect()\n'
     'client.table("nope").select("nope")'),
    ("name-bound-to-something-else", 'client = httpx.Client()\nclient.rpc("nope_fn", {})'),
    ("a-type-of-another-package", 'from httpx import Client as Other\n'
     'def f(c: Other):\n    c.table("nope").select("nope")'),
    ("expected-to-fail", 'import pytest\ndef test_x():\n    with pytest.raises(Exception):\n'
     '        supabase.table("nope").select("nope").execute()'),
]

# Realtime subscriptions (realtime-py's `on_postgres_changes`) Realtime accepts: each is
# read, and nothing is reported.
REALTIME_PASS = [
    ("channel-variable", 'channel = supabase.channel("room")\n'
     'channel.on_postgres_changes("INSERT", callback=f, table="appointments", '
     'filter="patient_id=eq.1").subscribe()'),
    ("positional", 'supabase.channel("room").on_postgres_changes('
     '"UPDATE", f, "appointments", "public", "patient_id=in.(1,2)").subscribe()'),
    ("f-string-filter", 'supabase.channel("room").on_postgres_changes('
     '"*", f, table="appointments", filter=f"patient_id=eq.{pid},doctor_id=eq.{d}")'),
    ("no-filter", 'supabase.channel("room").on_postgres_changes('
     '"*", f, table="appointments", schema=None, filter=None)'),
    ("schema", 'supabase.channel("room").on_postgres_changes('
     '"DELETE", f, table="invoices", schema="billing", filter="amount=gt.0")'),
    ("event-enum", 'from realtime import RealtimePostgresChangesListenEvent\n'
     'supabase.channel("room").on_postgres_changes('
     'RealtimePostgresChangesListenEvent.Insert, f, table="appointments")'),
]

# (id, a subscription that is read, the same one changed so that it is not): the change
# alone makes it name nothing to check, or its receiver no certain supabase-py channel.
REALTIME_NOT_READ = [
    ("whole-schema", 'supabase.channel("c").on_postgres_changes("*", f, table="nope")',
     'supabase.channel("c").on_postgres_changes("*", f)'),
    ("every-table", 'supabase.channel("c").on_postgres_changes("*", f, table="nope")',
     'supabase.channel("c").on_postgres_changes("*", f, table="*")'),
    ("every-schema", 'supabase.channel("c").on_postgres_changes("*", f, table="nope")',
     'supabase.channel("c").on_postgres_changes("*", f, table="nope", schema="*")'),
    ("schema-variable", 'supabase.channel("c").on_postgres_changes("*", f, table="nope")',
     'supabase.channel("c").on_postgres_changes("*", f, table="nope", schema=s)'),
    ("keyword-spread", 'supabase.channel("c").on_postgres_changes("*", f, table="nope")',
     'supabase.channel("c").on_postgres_changes("*", f, **options)'),
    ("channel-of-another-library",
     'from supabase import Client\nclient = Client(u, k)\n'
     'client.channel("c").on_postgres_changes("*", f, table="nope")',
     'import pusher\nclient = pusher.Pusher()\n'
     'client.channel("c").on_postgres_changes("*", f, table="nope")'),
    ("channel-of-an-unknown-name",
     'supabase.channel("c").on_postgres_changes("*", f, table="nope")',
     'socket.channel("c").on_postgres_changes("*", f, table="nope")'),
    ("channel-of-a-module",
     'import supabase_helpers\nsupabase.channel("c").on_postgres_changes("*", f, table="nope")',
     'import supabase\nsupabase.channel("c").on_postgres_changes("*", f, table="nope")'),
    ("channel-variable-bound-to-another",
     'from supabase import create_client\n'
     'ch = create_client(u, k).channel("c")\nif x:\n    ch = create_client(u, k).channel("d")\n'
     'ch.on_postgres_changes("*", f, table="nope")',
     'from supabase import create_client\n'
     'ch = create_client(u, k).channel("c")\nif x:\n    ch = bus.channel("c")\n'
     'ch.on_postgres_changes("*", f, table="nope")'),
    ("channel-parameter",
     'def f():\n    channel = supabase.channel("c")\n'
     '    channel.on_postgres_changes("*", f, table="nope")',
     'def f(channel):\n    channel.on_postgres_changes("*", f, table="nope")'),
    ("a-client-is-no-channel",
     'from supabase import create_client\n'
     'create_client(u, k).channel("c").on_postgres_changes("*", f, table="nope")',
     'from supabase import create_client\n'
     'create_client(u, k).on_postgres_changes("*", f, table="nope")'),
    ("self-channel-assigned-another",
     'class L:\n    def __init__(self):\n        self.ch = supabase.channel("c")\n'
     '    def go(self):\n        self.ch.on_postgres_changes("*", f, table="nope")',
     'class L:\n    def __init__(self, bus):\n        self.ch = supabase.channel("c")\n'
     '        if bus:\n            self.ch = bus.channel("c")\n'
     '    def go(self):\n        self.ch.on_postgres_changes("*", f, table="nope")'),
    ("none-and-another-library",
     'ch = None\nif x:\n    ch = supabase.channel("c")\n'
     'ch.on_postgres_changes("*", f, table="nope")',
     'ch = None\nif x:\n    ch = bus.channel("c")\n'
     'ch.on_postgres_changes("*", f, table="nope")'),
    ("only-none", 'ch = supabase.channel("c")\nch.on_postgres_changes("*", f, table="nope")',
     'ch = None\nch.on_postgres_changes("*", f, table="nope")'),
    ("chained-on-another-method",
     'supabase.channel("c").on_system(g).on_postgres_changes("*", f, table="nope")',
     'supabase.channel("c").track(g).on_postgres_changes("*", f, table="nope")'),
    ("expected-to-fail",
     'def test_x():\n    supabase.channel("c").on_postgres_changes("*", f, table="nope")',
     'import pytest\ndef test_x():\n    with pytest.raises(Exception):\n'
     '        supabase.channel("c").on_postgres_changes("*", f, table="nope")'),
]

# A query held in a variable, followed within its scope: (id, code, rule, identifier).
FOLLOWED = [
    ("conditional-filter", 'query = supabase.table("patients").select("id")\n'
     'if x:\n    query = query.eq("nope", 1)\nif y:\n    query = query.order("full_name")\n'
     "return query.execute()", "DBS302", "nope"),
    ("held-then-selected", 'q = supabase.table("clinics")\n'
     'data = q.select("id, title").execute()', "DBS302", "title"),
    ("filter-added-in-a-loop", 'q = supabase.table("patients").select("id")\n'
     'for k, v in filters.items():\n    q = q.neq("nope", v)\nq.execute()', "DBS302", "nope"),
    ("embedded-filter-on-the-declared-select",
     'q = supabase.table("clinics").select("id, patients(id)")\n'
     'if x:\n    q = q.eq("patients.nope", 1)\nq.execute()', "DBS302", "nope"),
    ("each-variable-its-own-table", 'a = supabase.table("clinics").select("id")\n'
     'b = supabase.table("patients").select("id")\n'
     'a = a.eq("full_name", 1)\nb = b.eq("full_name", 1)', "DBS302", "full_name"),
]

NOT_FOLLOWED = [
    ("reassigned-from-another-table", 'q = supabase.table("clinics").select("id")\n'
     'if x:\n    q = supabase.table("patients").select("id")\nq = q.eq("full_name", "a")'),
    ("reassigned-from-a-function", 'q = supabase.table("clinics").select("id")\n'
     'q = apply_filters(q)\nq = q.eq("full_name", "a")'),
    ("reassigned-from-a-conditional", 'q = supabase.table("clinics").select("id")\n'
     'q = q.eq("id", 1) if x else other\nq = q.eq("full_name", "a")'),
    ("a-parameter-of-the-same-name", 'q = supabase.table("clinics").select("id")\n'
     'def g(q):\n    return q.eq("full_name", 1)'),
    ("passed-to-a-function", 'q = supabase.table("clinics").select("id")\n'
     'q = paginate(q)\nq.eq("full_name", 1)'),
    ("nonlocal", 'q = supabase.table("clinics").select("id")\n'
     'def g():\n    nonlocal q\n    q = supabase.table("patients").select("id")\n'
     'q = q.eq("full_name", 1)'),
    ("selects-in-branches", 'q = supabase.table("appointments").select("id")\n'
     'if a:\n    q = q.select("id, x:patients(id)")\nelse:\n'
     '    q = q.select("id, x:doctors(id)")\nif a:\n    q = q.eq("x.full_name", "n")'),
]


@pytest.fixture(scope="module")
def database(pg_server) -> Iterator[psycopg.Connection]:
    with module_database(pg_server, "dbsafe_postgrest_py_tests",
                         SCHEMA.read_text(encoding="utf-8")) as conn:
        yield conn


@pytest.fixture(scope="module")
def snapshot(database: psycopg.Connection) -> SchemaSnapshot:
    from dbsafe.schema.introspect import introspect

    return introspect(database)


def _check(code: str, snapshot: SchemaSnapshot) -> tuple[str, list[Checked]]:
    source = PREAMBLE + code + "\n"
    result = sql_in_python(source, "app.py")
    assert not result.skipped, result.skipped
    return source, [check(request, snapshot) for request in result.requests]


def _in_function(code: str) -> str:
    return "def f():\n" + "".join(f"    {line}\n" for line in code.splitlines())


def _covered(source: str, finding, identifier: str) -> bool:
    loc = finding.location
    line = source.splitlines()[loc.line - 1]
    assert loc.end_line == loc.line
    return line[loc.column - 1 : loc.end_column] == identifier


def _seen(checked: list[Checked]) -> list[tuple[str, str, str | None, str | None]]:
    return [(i.finding.code, i.finding.message, i.finding.subject, i.finding.help)
            for c in checked for i in c.issues]


@pytest.mark.db
@pytest.mark.parametrize(("name", "js", "py"), SAME, ids=[c[0] for c in SAME])
def test_the_same_request_gives_the_same_findings_in_python_as_in_javascript(
    name: str, js: str, py: str, snapshot: SchemaSnapshot
) -> None:
    result = sql_in_javascript(JS_PREAMBLE + js + "\n", "app.ts")
    expected = _seen([check(r, snapshot) for r in result.requests])
    assert expected, "the JavaScript case reports something"
    _, checked = _check(py, snapshot)
    # The one difference: how a suppression comment is written in each language.
    assert [(code, message, subject, help and help.replace("`# dbsafe", "`// dbsafe"))
            for code, message, subject, help in _seen(checked)] == expected


@pytest.mark.db
@pytest.mark.parametrize(("name", "code"), PASS, ids=[c[0] for c in PASS])
def test_request_postgrest_serves_is_not_flagged(
    name: str, code: str, snapshot: SchemaSnapshot
) -> None:
    _, checked = _check(code, snapshot)
    assert [i.finding for c in checked for i in c.issues] == [], f"false positive on {name}"
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
        return
    assert issue.sql[issue.start : issue.end + 1].strip('"') == identifier
    with pytest.raises(psycopg.errors.Error) as raised:
        database.execute(f"PREPARE dbsafe_pgrst_py AS {issue.sql}")
    assert raised.value.sqlstate in ("42703", "42P01")
    assert identifier in str(raised.value)


@pytest.mark.db
@pytest.mark.parametrize(("name", "code"), DYNAMIC, ids=[c[0] for c in DYNAMIC])
def test_request_built_at_run_time_is_a_note(
    name: str, code: str, snapshot: SchemaSnapshot
) -> None:
    _, checked = _check(code, snapshot)
    (request,) = checked
    assert request.status == "dynamic"
    assert [i.finding.code for i in request.issues] == ["DBS304"]


@pytest.mark.parametrize(("name", "code"), NOT_A_CLIENT, ids=[c[0] for c in NOT_A_CLIENT])
def test_chain_on_what_is_not_certainly_a_client_is_not_read(name: str, code: str) -> None:
    result = sql_in_python(code + "\n", "app.py")
    assert result.requests == ()


@pytest.mark.db
@pytest.mark.parametrize(("name", "code"), REALTIME_PASS, ids=[c[0] for c in REALTIME_PASS])
def test_a_realtime_subscription_realtime_accepts_is_read_and_not_flagged(
    name: str, code: str, snapshot: SchemaSnapshot
) -> None:
    _, checked = _check(code, snapshot)
    (subscription,) = checked
    assert subscription.status == "analysed"
    assert subscription.issues == (), f"false positive on {name}"


@pytest.mark.parametrize(("name", "read", "not_read"), REALTIME_NOT_READ,
                         ids=[c[0] for c in REALTIME_NOT_READ])
def test_a_realtime_subscription_naming_nothing_or_not_on_a_channel_is_not_read(
    name: str, read: str, not_read: str
) -> None:
    (request,) = sql_in_python(read + "\n", "app.py").requests
    assert (request.kind, request.target and request.target.sql) == ("realtime", "nope")
    assert sql_in_python(not_read + "\n", "app.py").requests == ()


@pytest.mark.db
@pytest.mark.parametrize(("name", "code", "rule", "identifier"), FOLLOWED,
                         ids=[c[0] for c in FOLLOWED])
def test_a_query_held_in_a_variable_is_checked_where_it_is_used(
    name: str, code: str, rule: str, identifier: str, snapshot: SchemaSnapshot,
    database: psycopg.Connection,
) -> None:
    source, checked = _check(_in_function(code), snapshot)
    (issue,) = [i for c in checked for i in c.issues]
    assert issue.finding.code == rule
    assert _covered(source, issue.finding, identifier), issue.finding.location
    assert issue.sql is not None
    with pytest.raises(psycopg.errors.Error) as raised:
        database.execute(f"PREPARE dbsafe_pgrst_py AS {issue.sql}")
    assert raised.value.sqlstate == "42703"


@pytest.mark.db
@pytest.mark.parametrize(("name", "code"), NOT_FOLLOWED, ids=[c[0] for c in NOT_FOLLOWED])
def test_a_query_whose_variable_may_hold_another_is_not_guessed_at(
    name: str, code: str, snapshot: SchemaSnapshot
) -> None:
    _, checked = _check(_in_function(code), snapshot)
    assert [i.finding for c in checked for i in c.issues] == []


@pytest.mark.db
def test_a_dynamic_request_in_python_is_suppressed_with_a_python_comment(
        snapshot: SchemaSnapshot) -> None:
    _, checked = _check('supabase.table(table).select("id").execute()', snapshot)
    (issue,) = checked[0].issues
    assert issue.finding.help is not None
    assert "`# dbsafe: ignore[DBS304]`" in issue.finding.help
