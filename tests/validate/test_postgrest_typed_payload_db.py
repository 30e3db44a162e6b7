"""A supabase-js payload that is a parameter typed with an object type literal is checked by
the keys the type says it always holds.

revcom's data layer writes `export async function createListing(payload: { seller_id: string;
title: string; image_url?: string }) { ... .from('listings').insert(payload) }`: each such
request was a DBS304 note ("the payload `payload` is not a literal"), its columns never
checked. A required property whose type is never `undefined` is in the JSON supabase-js
sends, whatever the caller passes, so PostgREST refuses it when the table has no such column
(PGRST204, 42703 in PostgreSQL). An optional property (`image_url?:`, `Partial<{...}>`), one
that may be `undefined`, `any` or `unknown`, or a function (which `JSON.stringify` leaves
out), may never be sent and is not reported; nor is anything of a parameter the function
writes or `delete`s a key of, nor of a named type, which stay notes. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import validate_module

_SCHEMA = """\
CREATE TABLE listings (id serial PRIMARY KEY, seller_id uuid, title text, price int);
"""

_MODULE = """\
export async function createListing(payload: {
  seller_id: string; titel: string; price: number
  image_url?: string; note: string | undefined; meta: any; onSave: () => void
}) {
  await supabase.from('listings').insert(payload)
}

export const updateListing = async (id: number, updates: Partial<{ titel: string }>) =>
  supabase.from('listings').update(updates).eq('id', id)

export async function written(payload: { prize: number }) {
  payload = { ...payload, price: payload.prize }
  await supabase.from('listings').insert(payload)
}

export async function deleted(payload: { id: number; title: string }) {
  delete payload.id
  await supabase.from('listings').update(payload).eq('id', 1)
}

export async function named(payload: ListingInput) {
  await supabase.from('listings').insert([payload])
}
"""


@pytest.mark.db
def test_required_keys_of_a_typed_payload_parameter_are_checked(
        database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _SCHEMA, "listings.ts", _MODULE)
    assert sorted((f.code, f.location.line, f.location.column, f.subject)
                  for f in report.findings) == [
        ("DBS302", 2, 22, "public.listings.titel"),
        # `Partial<...>`; written; a key deleted; a named type: not literals
        ("DBS304", 9, 12, "listings"),
        ("DBS304", 13, 18, "listings"),
        ("DBS304", 18, 18, "listings"),
        ("DBS304", 22, 18, "listings"),
    ]
