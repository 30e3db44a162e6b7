"""supabase-js requests through a client of ANOTHER Supabase project are not this schema's.

nihontowatch reads a second Supabase project beside its own: `createClient(process.env.
YUHINKAI_SUPABASE_URL || process.env.OSHI_V2_SUPABASE_URL || '', key)`, whose
`.env.example` gives those variables another hosted project's URL than
`NEXT_PUBLIC_SUPABASE_URL`'s, and scripts hard-coding `https://<ref>.supabase.co` of a ref
not its own (`supabase/.temp/project-ref`): 97 false DBS301/DBS306 against its migrations.
Those requests are "sent to another Supabase project", not analysed; every client the
project does not set apart so (its own variables, one tied to them, a deployment's name, a
variable no example lists, a parameter, a ref when the project names none of its own) is
the app's own, checked. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import validate_files

_SCHEMA = "CREATE TABLE notes (id int PRIMARY KEY, body text);\n"

_OWN_REF, _OTHER_REF = "abcdefghijklmnopqrst", "zyxwvutsrqponmlkjihg"
_OLD_REF = "oldprojectrefoldproj"  # the own URL's fallback in the project's code

_ENV_EXAMPLE = """\
# main database
NEXT_PUBLIC_SUPABASE_URL=https://YOUR_PROJECT.supabase.co
SUPABASE_SERVICE_ROLE_KEY=your-key
# Archive: a separate Supabase project, read-only
ARCHIVE_SUPABASE_URL=https://YOUR_ARCHIVE_PROJECT.supabase.co
KURA_SUPABASE_URL="https://YOUR_ARCHIVE_PROJECT.supabase.co"  # its old name
STAGING_SUPABASE_URL=https://YOUR_STAGING_PROJECT.supabase.co
MIRROR_SUPABASE_URL=${NEXT_PUBLIC_SUPABASE_URL}
KOBO_SUPABASE_URL=https://YOUR_KOBO_PROJECT.supabase.co
SHARED_SUPABASE_URL=https://YOUR_SHARED_PROJECT.supabase.co
"""

_CONFIG = f"""\
export const url = process.env.NEXT_PUBLIC_SUPABASE_URL || 'https://{_OLD_REF}.supabase.co';
export const koboUrl = process.env.KOBO_SUPABASE_URL ?? process.env.SUPABASE_URL;
"""

_OLD = f"""\
import {{ createClient }} from '@supabase/supabase-js';

const old = createClient('https://{_OLD_REF}.supabase.co', 'key');
const kobo = createClient(process.env.KOBO_SUPABASE_URL!, 'key');
await old.from('missing_old').select('id')
await kobo.from('missing_kobo').select('id')
"""

_ARCHIVE = """\
import { createClient } from '@supabase/supabase-js';
import { createBrowserClient } from '@supabase/ssr';

const archiveUrl = process.env.ARCHIVE_SUPABASE_URL || process.env.KURA_SUPABASE_URL || '';
export const archive = createClient(archiveUrl || 'https://placeholder.supabase.co', 'key');
const own = createClient(process.env.NEXT_PUBLIC_SUPABASE_URL!, 'key');
const either = createClient(process.env.SHARED_SUPABASE_URL ?? process.env.SUPABASE_URL!, 'k');
const staging = createClient(process.env.STAGING_SUPABASE_URL!, 'key');
const mirror = createClient(process.env.MIRROR_SUPABASE_URL!, 'key');
const unlisted = createClient(process.env.ANALYTICS_SUPABASE_URL!, 'key');
const browser = createBrowserClient(import.meta.env.ARCHIVE_SUPABASE_URL, 'key');

export async function read(supabase) {
  await archive.from('artisans').select('id, name')
  await archive.schema('public').rpc('resolve_school', { code: 'x' })
  await own.from('missing_own').select('id')
  await either.from('missing_either').select('id')
  await staging.from('missing_staging').select('id')
  await mirror.from('missing_mirror').select('id')
  await unlisted.from('missing_unlisted').select('id')
  await browser.from('artisans').select('id')
  await supabase.from('missing_parameter').select('id')
  const q = archive.from('artisans').select('id')
  await q.eq('id', 1)
}
"""

_SCRIPT = f"""\
import {{ createClient }} from '@supabase/supabase-js';

const OTHER_URL = 'https://{_OTHER_REF}.supabase.co';
const other = createClient(OTHER_URL, 'key');
const own = createClient('https://{_OWN_REF}.supabase.co/', 'key');
await other.from('gold_values').select('id')
await own.from('missing_ref').select('id')
await own.from('notes').select('id, body')
"""


@pytest.mark.db
def test_requests_to_another_supabase_project_are_not_analysed(
        database_url: str, tmp_path: Path) -> None:
    report = validate_files(database_url, tmp_path, _SCHEMA, {
        ".env.example": _ENV_EXAMPLE,
        "supabase/.temp/project-ref": _OWN_REF + "\n",
        "src/lib/archive.ts": _ARCHIVE,
        "scripts/gold.mjs": _SCRIPT,
        "src/lib/config.ts": _CONFIG,
        "scripts/old.mjs": _OLD,
    })
    assert sorted((f.location.path, f.location.line, f.subject) for f in report.findings
                  if f.code == "DBS301") == [
        ("scripts/gold.mjs", 7, "public.missing_ref"),  # the project's own ref
        ("scripts/old.mjs", 5, "public.missing_old"),  # the own URL's fallback in code
        ("scripts/old.mjs", 6, "public.missing_kobo"),  # read with the own URL in code
        ("src/lib/archive.ts", 16, "public.missing_own"),
        ("src/lib/archive.ts", 17, "public.missing_either"),  # the code ties it to own
        ("src/lib/archive.ts", 18, "public.missing_staging"),  # a deployment of this schema
        ("src/lib/archive.ts", 19, "public.missing_mirror"),  # the example ties it to own
        ("src/lib/archive.ts", 20, "public.missing_unlisted"),  # no example says whose
        ("src/lib/archive.ts", 22, "public.missing_parameter"),  # whose client: not known
    ]
    assert [f for f in report.findings if f.code != "DBS301"] == []
    elsewhere = sorted((s.location.path, s.location.line, s.reason) for s in report.skipped
                       if "another Supabase project" in s.reason)
    assert [(path, line) for path, line, _ in elsewhere] == [
        ("scripts/gold.mjs", 6),
        ("src/lib/archive.ts", 14), ("src/lib/archive.ts", 15), ("src/lib/archive.ts", 21),
        ("src/lib/archive.ts", 23), ("src/lib/archive.ts", 24)]
    assert elsewhere[0][2] == (
        "sent to another Supabase project, whose schema is not this one (`https://"
        f"{_OTHER_REF}.supabase.co`: not the project's own ref, `{_OWN_REF}` of "
        f"supabase/.temp/project-ref, `{_OLD_REF}` of src/lib/config.ts:1)")
    assert elsewhere[1][2] == (
        "sent to another Supabase project, whose schema is not this one "
        "(`ARCHIVE_SUPABASE_URL`: .env.example gives it another project's URL than "
        "`NEXT_PUBLIC_SUPABASE_URL`'s; `KURA_SUPABASE_URL`: .env.example gives it another "
        "project's URL than `NEXT_PUBLIC_SUPABASE_URL`'s)")
    assert report.summary["statements_not_analysed"] >= 6


@pytest.mark.db
def test_a_hard_coded_ref_is_checked_when_the_project_names_none_of_its_own(
        database_url: str, tmp_path: Path) -> None:
    report = validate_files(database_url, tmp_path, _SCHEMA, {"scripts/gold.mjs": _SCRIPT})
    assert sorted((f.location.line, f.subject) for f in report.findings) == [
        (6, "public.gold_values"), (7, "public.missing_ref")]
