"""SQL a Sails app sends through Waterline's `sendNativeQuery` is read.

Planka (plankanban/planka) keeps its counters and locks in raw SQL its models send with
`sails.sendNativeQuery(sql, values).usingConnection(db)` (`UPDATE card SET comments_total =
comments_total + 1, updated_at = $1 WHERE id = $2`): none of its 14 statements was read, so
a column misspelt there went unreported. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_module

pytestmark = pytest.mark.db

_DDL = "CREATE TABLE card (id bigint PRIMARY KEY, comments_total int, updated_at timestamptz)"

_MODULE = """\
const incrementCommentsTotal = async (id, db) => {
  await sails
    .sendNativeQuery(
      'UPDATE card SET comments_total = comments_total + 1, updated_at = $1 WHERE id = $2',
      [new Date().toISOString(), id],
    )
    .usingConnection(db);
  const datastore = sails.getDatastore();
  return datastore.sendNativeQuery('SELECT comment_total FROM card WHERE id = $1', [id]);
};

module.exports = { incrementCommentsTotal };
"""


def test_a_statement_sent_by_send_native_query_is_checked(database_url: str,
                                                          tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _DDL, "Comment.js", _MODULE)
    assert [(f.code, f.location.line, f.subject) for f in report.findings
            if f.location is not None] == [("DBS302", 9, "public.card.comment_total")]
    assert report.summary["statements"] == 2
    with psycopg.connect(database_url, autocommit=True) as conn:
        # the first, as sails-postgresql sends it: it prepares
        conn.execute("PREPARE counted AS UPDATE card SET comments_total = comments_total + 1, "
                     "updated_at = $1 WHERE id = $2")
