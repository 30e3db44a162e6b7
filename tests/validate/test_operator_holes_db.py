"""A hole right after a bitwise operator is an operand, a value like one after `=`:
civitai's `WHERE ("nsfwLevel" & ${flag}) != 0` (Prisma sends `$1`) made the whole statement a
DBS304 note, nothing in it checked (22 of its statements); so did one after full text search's
`@@` or a regular expression's `~` (`search @@ websearch_to_tsquery('english', ${q})`, common in
postgres.js and Prisma applications). Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import assert_prepares, validate_module

_DDL = ('CREATE TABLE "Image" (id int PRIMARY KEY, "nsfwLevel" int NOT NULL, tags int[],'
        ' title text)')
# What Prisma sends for `search` below, with the column its line names
_SEARCH = ('SELECT id FROM "Image" WHERE to_tsvector(\'english\', {})'
           ' @@ websearch_to_tsquery(\'english\', $1) AND title ~ $1')

_QUERIES = """\
import { PrismaClient } from "@prisma/client";
const prisma = new PrismaClient();
export const count = (flag: number, ids: number[]) => prisma.$queryRaw`
  SELECT count(*) FROM "Image"
  WHERE ("nsfwLevel" & ${flag}) != 0 AND tags && ${ids} AND "nsfwLevel" # ${flag} > 0`;
export const typo = (flag: number) => prisma.$queryRaw`
  SELECT id FROM "Image" WHERE ("nsfwLevl" | ${flag}) > 0`;
export const search = (q: string) => prisma.$queryRaw`
  SELECT id FROM "Image" WHERE to_tsvector('english', titel) @@ websearch_to_tsquery('english', ${q})
    AND title ~ ${q}`;
"""


@pytest.mark.db
def test_holes_after_bitwise_operators_are_values(database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _DDL, "q.ts", _QUERIES)
    assert [(f.code, f.location.line, f.subject) for f in report.findings] == [
        ("DBS302", 7, 'public.Image.nsfwLevl'),
        ("DBS302", 9, 'public.Image.titel'),
    ]
    assert report.summary["statements_analysed"] == 3
    assert_prepares(
        database_url, "",
        ('SELECT count(*) FROM "Image" WHERE ("nsfwLevel" & $1) != 0 AND tags && $2'
         ' AND "nsfwLevel" # $1 > 0',
         _SEARCH.format("title")),
        ('SELECT id FROM "Image" WHERE ("nsfwLevl" | $1) > 0', _SEARCH.format("titel")))
