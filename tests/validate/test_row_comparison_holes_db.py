"""The items of a row compared with another are values: `(a, b) > (${x}, ${y})`.

Stacks' API pages by a cursor (hirosystems/stacks-blockchain-api, `pg-store-v2.ts`,
`v3/pg-store-v3.ts`): `AND (p.block_height, p.microblock_sequence, p.tx_index) >
(${firstResult.block_height}, ${firstResult.microblock_sequence}, ${firstResult.tx_index})`.
A hole right after the `(` of a row or scalar subquery that follows a comparison is where a
value goes, as postgres.js sends it (`$1`); each was "not in a value position (after ()", a
DBS304 note, and the statement went unchecked. A hole after a word inside those
parentheses (`= (SELECT b FROM q, ${t})`) is still a note: a query there may take a name.
Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_module

pytestmark = pytest.mark.db

_DDL = "CREATE TABLE principal_txs (principal text, block_height int, tx_index int)"

_STORE = """\
import postgres from 'postgres';
const sql = postgres();
export async function page(address: string, first: { block_height: number; tx_index: number }) {
  await sql`
    SELECT p.tx_index FROM principal_txs AS p
    WHERE p.principal = ${address}
      AND (p.block_height, p.tx_index) > (${first.block_height}, ${first.tx_index})
      AND p.nosuch1 IS NULL
  `;
  await sql`
    SELECT 1 FROM principal_txs WHERE block_height = (SELECT max(block_height) FROM ${first.tx_index})
      AND nosuch2 IS NULL
  `;
}
"""


def test_postgresql_takes_parameters_there(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_DDL)
        conn.execute("PREPARE q AS SELECT p.tx_index FROM principal_txs AS p "
                     "WHERE (p.block_height, p.tx_index) > ($1, $2)")


def test_row_items_are_values(database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _DDL, "store.ts", _STORE)
    found = sorted((f.code, f.location.line, f.subject) for f in report.findings
                   if f.location is not None)
    assert found == [
        ("DBS302", 8, "public.principal_txs.nosuch1"),
        ("DBS304", 10, None),
    ]
