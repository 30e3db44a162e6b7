"""A SQL template inside a `${...}` of another SQL template is a piece of that query.

postgres.js, slonik and Prisma put a `sql`...`` fragment written in a hole of another
`sql`...`` where the hole is: Stacks' API (hirosystems/stacks-blockchain-api,
`src/datastore/pg-store.ts`, `getNftHoldings`) ends `WITH nft AS (SELECT ... FROM
nft_custody AS nft ...)` with `${args.includeTxMetadata ? this.sql`SELECT ... FROM nft INNER
JOIN txs ...` : this.sql`SELECT * FROM nft`}`: `nft` is the CTE of the query it goes into.
Read alone, `SELECT * FROM nft` was a false DBS301 (PostgreSQL prepares the whole query). A
fragment is not a statement of its own, as a Python string that is only a piece of a longer
one is not; a template that is not inside another SQL template is still read, and so is the
query around the fragment. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_module

pytestmark = pytest.mark.db

_DDL = "CREATE TABLE nft_custody (recipient text, asset_identifier text, tx_id bytea);" \
       "CREATE TABLE txs (tx_id bytea, canonical boolean)"

_STORE = """\
import postgres from 'postgres';
export class PgStore {
  sql = postgres();
  async getNftHoldings(args: { principal: string; withTx: boolean }) {
    return await this.sql<{ asset_identifier: string }[]>`
      WITH nft AS (
        SELECT * FROM nft_custody AS nft WHERE nft.recipient = ${args.principal}
      )
      ${args.withTx
        ? this.sql`SELECT nft.asset_identifier FROM nft INNER JOIN txs USING (tx_id)`
        : this.sql`SELECT * FROM nft`}
    `;
  }
  async rows(ids: string[]) {
    return await this.sql`
      SELECT * FROM nft_custody WHERE recipient IN ${this.sql(ids)}
      ${ids.length ? this.sql`AND tx_id IS NOT NULL` : this.sql``}
    `;
  }
  async typo() {
    await this.sql`SELECT * FROM nft_custdy`;
    return await this.sql`SELECT nosuch FROM nft_custody WHERE recipient = 'a' ${this.sql`LIMIT 1`}`;
  }
}
"""

_WHOLE = """
WITH nft AS (
  SELECT * FROM nft_custody AS nft WHERE nft.recipient = $1
)
SELECT * FROM nft
"""


def test_the_fragment_is_part_of_the_query_postgresql_prepares(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_DDL)
        conn.execute(f"PREPARE whole AS {_WHOLE}")  # what postgres.js sends: it prepares
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute("PREPARE alone AS SELECT * FROM nft")


def test_a_nested_fragment_is_not_a_statement(database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _DDL, "store.ts", _STORE)
    found = sorted((f.code, f.location.line, f.subject) for f in report.findings
                   if f.location is not None and f.code != "DBS304")
    assert found == [
        ("DBS301", 21, "public.nft_custdy"),
        ("DBS302", 22, "public.nft_custody.nosuch"),
    ]
