"""Tables a JavaScript/TypeScript application makes itself are not missing from its schema.

readest (readest/readest, `apps/readest-app`) keeps local SQLite databases beside its
Supabase one: `services/database/migrations/index.ts` lists the `CREATE TABLE` of each
(SQLite's `id integer PRIMARY KEY autoincrement`, `INSERT OR IGNORE` beside them), its stores
read them through a `DatabaseService` of another module, its TTS cache keeps its own
`CREATE TABLE IF NOT EXISTS entries (...)` in an array it hands to `db.batch()`, its tests
create their tables in strings (`vector32(${dim})` in one), and its benchmarks open Turso
(`@tursodatabase/database`). None of those modules loads a driver dbsafe knows: 74 false
DBS301. What no module makes
is still missing. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import load_settings

pytestmark = pytest.mark.db

_MIGRATIONS = """\
export const migrations = {
  statistics: [{
    name: '2026061501_statistics',
    sql: `
      CREATE TABLE IF NOT EXISTS book (
        id integer PRIMARY KEY autoincrement, title text, md5 text
      );
      INSERT OR IGNORE INTO numbers(number) SELECT 1;
      CREATE TABLE IF NOT EXISTS page_stat_data (id_book integer, page integer);
    `,
  }],
};
"""
_STORE = """\
import type { DatabaseService } from '@/types/database';
export class StatisticsDb {
  constructor(private db: DatabaseService) {}
  async pages(id: number) {
    await this.db.execute('SELECT b.title, p.page FROM page_stat_data p JOIN book b ON b.id = p.id_book WHERE b.id = ?', [id]);
    await this.db.execute('SELECT id FROM nosuch');
  }
}
"""
_CACHE = """\
import type { DatabaseService } from '@/types/database';
const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, audio BLOB)`,
];
export async function get(db: DatabaseService, key: string) {
  await db.batch(SCHEMA);
  return db.execute('SELECT audio FROM entries WHERE key = ?', [key]);
}
"""
_TEST = """\
const V1 = `CREATE TABLE bookmarks (id INTEGER PRIMARY KEY AUTOINCREMENT, cfi TEXT)`;
it('migrates', async () => {
  await migrate(db, V1);
  await db.execute('INSERT INTO bookmarks (cfi) VALUES (?)', ['/2/8']);
});
"""
_BENCH = """\
import { connect } from '@tursodatabase/database';
const db = await connect('bench.db');
await db.execute("INSERT INTO c (book_hash, embedding) VALUES ('a', vector32(?))");
"""


def _validate(database_url: str, root: Path) -> list[tuple[str, int]]:
    settings = load_settings(root, {"database-url": database_url,
                                    "cache-dir": str(root / ".cache")}, environ={})
    report = commands.validate(settings, [root / "src"])
    return sorted((f.location.path, f.code, f.location.line) for f in report.findings
                  if f.location is not None)


def _project(root: Path, database_url: str, files: dict[str, str]) -> Path:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE profiles (id uuid PRIMARY KEY)")
    (root / "pyproject.toml").write_text("[tool.dbsafe]\n", encoding="utf-8")
    files = {"src/control.ts": "export const q = (db) => db.execute('SELECT id FROM nosuch');\n",
             **files}
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


_STILL_MISSING = [("src/control.ts", "DBS301", 1)]


def test_what_a_script_migration_makes_is_there_for_the_modules(
        database_url: str, tmp_path: Path) -> None:
    root = _project(tmp_path, database_url, {
        "src/services/database/migrations/index.ts": _MIGRATIONS,
        "src/services/statistics/statisticsDb.ts": _STORE})

    assert _validate(database_url, root) == [
        *_STILL_MISSING, ("src/services/statistics/statisticsDb.ts", "DBS301", 6)]


def test_ddl_no_sql_call_takes_makes_its_table_for_the_module(
        database_url: str, tmp_path: Path) -> None:
    root = _project(tmp_path, database_url, {"src/cache.ts": _CACHE})

    assert _validate(database_url, root) == _STILL_MISSING


def test_a_create_only_sqlite_reads_makes_its_table(database_url: str, tmp_path: Path) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn, \
            pytest.raises(psycopg.errors.SyntaxError):
        conn.execute("CREATE TABLE bookmarks (id INTEGER PRIMARY KEY AUTOINCREMENT)")
    root = _project(tmp_path, database_url, {"src/migrate.test.ts": _TEST})

    assert _validate(database_url, root) == _STILL_MISSING


_EMBEDDINGS = """\
export async function ensure(db: DatabaseService, dim: number) {
  await db.batch([
    `CREATE TABLE reedy_embeddings (chunk_id TEXT PRIMARY KEY, embedding vector32(${dim}))`,
  ]);
  return db.execute('SELECT chunk_id FROM reedy_embeddings WHERE chunk_id = ?', ['c']);
}
"""


def test_a_hole_in_a_column_type_still_makes_the_table(
        database_url: str, tmp_path: Path) -> None:
    root = _project(tmp_path, database_url, {"src/reedy.ts": _EMBEDDINGS})

    assert _validate(database_url, root) == _STILL_MISSING


def test_turso_is_sqlite(database_url: str, tmp_path: Path) -> None:
    root = _project(tmp_path, database_url, {"src/vector.bench.ts": _BENCH})

    assert _validate(database_url, root) == _STILL_MISSING
