"""A `${...}` of a template no tag takes that writes a clause or nothing.

Outline's `Document.findAllChildDocumentIds` sends, through `sequelize.query`,
``WITH RECURSIVE children AS (SELECT ... FROM documents WHERE documents."parentDocumentId" =
:parentDocumentId ${anchorFilter} UNION ALL ... ${recursiveFilter}) SELECT id FROM children``
with `const anchorFilter = whereConditions ? `AND (${whereConditions})` : ""`: JavaScript
writes `AND (...)` or nothing there, which cannot bring a table into scope, so the rest is
checked without it, as Python's `{where}` bound to `""` or `"WHERE ..."` is (before: a
DBS304 note, the statement never checked). Inside a CTE or subquery too, where Outline's
sit. A tag's `${...}` is a parameter, never text; a `let`, a parameter or a `JOIN` may
bring a table: those stay notes. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import assert_prepares, validate_module

pytestmark = pytest.mark.db

_SCHEMA = 'CREATE TABLE documents (id uuid PRIMARY KEY, "parentDocumentId" uuid, title text)'

_MODULE = """\
import { Sequelize } from 'sequelize';
const sequelize = new Sequelize('postgres://localhost/app');

export async function children(id: string, where: string) {
  const anchorFilter = where ? `AND (${where})` : "";
  const recursiveFilter = where ? `WHERE (${where})` : '';
  return sequelize.query(`
    WITH RECURSIVE children AS (
      SELECT documents.id, 1 AS depth FROM documents
      WHERE documents."parentDocumentsId" = :id
        ${anchorFilter}
      UNION ALL
      SELECT documents.id, children.depth + 1 FROM documents
      INNER JOIN children ON documents."parentDocumentId" = children.id
      ${recursiveFilter}
    )
    SELECT id FROM children ORDER BY depth`, { replacements: { id } });
}

export async function titles(id: string, all: boolean) {
  const filter = all ? '' : 'AND title IS NOT NULL';
  await sequelize.query(`SELECT title FROM documents WHERE id = :id ${filter} ORDER BY title`);
  await sequelize.query(`SELECT titel FROM documents WHERE id = :id ${filter} ORDER BY id`);
}

export async function notes(id: string, all: boolean, where: string) {
  const join = all ? 'JOIN documents p ON p.id = documents."parentDocumentId"' : '';
  let later = all ? '' : 'AND title IS NOT NULL';
  const filter = all ? '' : 'AND title IS NOT NULL';
  await sequelize.query(`SELECT titel FROM documents ${join} WHERE documents.id = :id`);
  await sequelize.query(`SELECT titel FROM documents WHERE id = :id ${later} ORDER BY id`);
  await sequelize.query(`SELECT titel FROM documents WHERE id = :id ${where} ORDER BY id`);
  await sql`SELECT titel FROM documents WHERE id = ${id} ${filter} ORDER BY id`;
}
"""


def test_postgresql_reads_the_rest_alike(database_url: str) -> None:
    children = ('WITH RECURSIVE children AS (SELECT documents.id, 1 AS depth FROM documents '
                'WHERE documents."{0}" = $1 {1} UNION ALL SELECT documents.id, '
                'children.depth + 1 FROM documents INNER JOIN children ON '
                'documents."parentDocumentId" = children.id {2}) SELECT id FROM children')
    assert_prepares(
        database_url, _SCHEMA,
        sent=(children.format("parentDocumentId", "", ""),
              children.format("parentDocumentId", "AND (title <> '')", "WHERE (title <> '')"),
              "SELECT title FROM documents WHERE id = $1 ORDER BY title"),
        refused=(children.format("parentDocumentsId", "", ""),
                 children.format("parentDocumentsId", "AND (title <> '')",
                                 "WHERE (title <> '')"),
                 "SELECT titel FROM documents WHERE id = $1 ORDER BY id",
                 "SELECT titel FROM documents WHERE id = $1 AND title IS NOT NULL ORDER BY id"))


def test_a_clause_or_nothing_leaves_the_rest_checked(database_url: str,
                                                     tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _SCHEMA, "documents.ts", _MODULE)
    found = sorted((f.code, f.location.line) for f in report.findings if f.location)
    # The CTE's misspelled column and `titel` are read past the clauses; a `JOIN`, a `let`,
    # a parameter and a tag's `${filter}` (a parameter) keep their notes.
    assert found == [("DBS302", 10), ("DBS302", 23),
                     ("DBS304", 30), ("DBS304", 31), ("DBS304", 32), ("DBS304", 33)]
    assert report.summary["statements_analysed"] == 3
