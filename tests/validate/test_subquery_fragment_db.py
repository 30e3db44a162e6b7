"""A SQL template that is one parenthesised query is a subquery built to be embedded.

Shelf.nu builds `const QR_ID_SUBQUERY = Prisma.sql`(SELECT q.id FROM public."Qr" q WHERE
q."assetId" = a.id LIMIT 1)`` and puts it in the select list of a query reading `FROM
public."Asset" a`: `a` is the embedding query's alias, which the fragment cannot name. It
was a false DBS302 ("`a` is not a table or alias in scope"). Read as a subquery of an
unknown query, what it names itself is still checked. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_module

_DDL = '''
CREATE TABLE "Asset" (id text PRIMARY KEY, title text);
CREATE TABLE "Qr" (id text PRIMARY KEY, "assetId" text, "createdAt" timestamptz);
'''

_QR_ID = '''(
  SELECT q.id FROM public."Qr" q
  WHERE q."assetId" = a.id
  ORDER BY q."createdAt" ASC
  LIMIT 1
)'''

_APP = f'''\
import {{ Prisma }} from "@prisma/client";
const QR_ID_SUBQUERY = Prisma.sql`{_QR_ID}`;
const UNQUALIFIED = Prisma.sql`(SELECT count(*) FROM "Qr" WHERE "assetId" = title)`;
const WRONG_OWN_COLUMN = Prisma.sql`(SELECT q.nope FROM "Qr" q WHERE q."assetId" = a.id)`;
const MISSING_TABLE = Prisma.sql`(SELECT count(*) FROM "Qrs" WHERE "assetId" = a.id)`;
const WHOLE_STATEMENT = Prisma.sql`(SELECT q.id FROM "Qr" q) UNION (SELECT b.id FROM "Asset" a)`;
'''


@pytest.mark.db
def test_a_parenthesised_query_may_name_the_query_it_is_embedded_in(
        database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _DDL, "assets.ts", _APP)
    found = sorted((f.code, f.location.line, f.subject) for f in report.findings if f.location)
    assert found == [
        ("DBS301", 10, "public.Qrs"),
        ("DBS302", 9, "public.Qr.nope"),
        # A parenthesised query followed by more is a whole statement, checked as one.
        ("DBS302", 11, "b.id"),
    ], found
    with psycopg.connect(database_url) as conn:
        # Embedded as the application embeds them, both fragments plan on PostgreSQL.
        conn.execute(f'PREPARE qr AS SELECT a.id, {_QR_ID} AS "qrId" FROM "Asset" a')
        conn.execute('PREPARE n AS SELECT (SELECT count(*) FROM "Qr" WHERE "assetId" = title) '
                     'FROM "Asset"')
