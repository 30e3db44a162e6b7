"""Table names another module exports through CommonJS or a default export.

Express services with node-postgres name their tables once in a CommonJS module
(`module.exports = { USERS_TABLE, TABLES: { ... } }`, `exports.ORGS = '...'`) and read
them as `const { TABLES } = require('../db/tables')` or `const T = require(...); T.USERS`;
ESM code imports a module's default export (`import T from './tables'`, `export default
{ USERS: 'users' }`) or a namespace it re-exports (`export * as names from './names'`).
Such a name is the string the module leaves in its exports, read where a `const` of the file
would be (`pool.query(\\`SELECT ... FROM ${TABLES.USERS}\\`)`): a misspelt table through it
is DBS301 at the query. What may change stays a hole (DBS304), never a finding: an export
assigned again in a branch, a key after a spread or a computed key, a member another module
of the project assigns, a TypeScript object literal without `as const`. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import assert_prepares, findings_and_holes, validate_files

pytestmark = pytest.mark.db

_SCHEMA = """
CREATE TABLE users (id int PRIMARY KEY, display_name text);
CREATE TABLE organizations (id int PRIMARY KEY, name text);
CREATE TABLE emails (id int PRIMARY KEY, user_id int);
CREATE TABLE legacy_users (id int PRIMARY KEY);
"""

# CommonJS: an Express service's constants, its pool module re-exporting them whole
_TABLES = """\
const USERS_TABLE = 'users';

module.exports = {
  USERS_TABLE,
  TABLES: { ORDERS: 'orderz', EMAILS: 'emails' },
};
"""
_NAMES = """\
exports.ORGS = 'organisations';
exports.TEMP = 'users';
if (process.env.NODE_ENV === 'test') {
  exports.TEMP = 'test_users';
}
"""
_SPREAD = """\
const extra = require('./extra');

module.exports = { SPREAD: 'spreadz', ...extra, [process.env.KEY]: 'x' };
"""
_DB = """\
const { Pool } = require('pg');
const tables = require('./tables');

const pool = new Pool();

module.exports = { pool, tables };
"""
# another module of the project assigns a member of `legacy.js`'s exports
_LEGACY = "module.exports = { LEGACY: 'old_users' };\n"
_SETUP = "const legacy = require('./db/legacy');\n\nlegacy.LEGACY = 'legacy_users';\n"
_ROUTES = """\
const { pool, tables } = require('../db');
const { USERS_TABLE, TABLES } = require('../db/tables');
const T = require('../db/names');
const S = require('../db/spread');
const { LEGACY } = require('../db/legacy');

async function list(id) {
  await pool.query(`SELECT id, display_name FROM ${USERS_TABLE}`);
  await pool.query(`SELECT id FROM ${TABLES.ORDERS} WHERE id = $1`, [id]);
  await pool.query(`SELECT id FROM ${T.ORGS}`);
  await pool.query(`SELECT user_id FROM ${tables.TABLES.EMAILS} WHERE id = $1`, [id]);
  await pool.query(`SELECT user_idd FROM ${tables.TABLES.EMAILS}`);
  await pool.query(`SELECT id FROM ${T.TEMP}`);
  await pool.query(`SELECT id FROM ${S.SPREAD}`);
  await pool.query(`SELECT id FROM ${LEGACY}`);
}

module.exports = { list };
"""


def test_postgresql_refuses_the_misspelt_names(database_url: str) -> None:
    missing = tuple(f"SELECT id FROM {table}"
                    for table in ("orderz", "organisations", "loosez", "tradez"))
    assert_prepares(database_url, _SCHEMA, ("SELECT user_id FROM emails WHERE id = $1",),
                    ("SELECT user_idd FROM emails",), missing_tables=missing)


def test_commonjs_exports_name_the_tables_of_node_postgres_queries(
        database_url: str, tmp_path: Path) -> None:
    report = validate_files(database_url, tmp_path, _SCHEMA, {
        "package.json": '{"name": "api", "dependencies": {"express": "4", "pg": "8"}}',
        "db/tables.js": _TABLES,
        "db/names.js": _NAMES,
        "db/spread.js": _SPREAD,
        "db/extra.js": "module.exports = {};\n",
        "db/index.js": _DB,
        "db/legacy.js": _LEGACY,
        "setup.js": _SETUP,
        "routes/users.js": _ROUTES,
    })
    found, holes = findings_and_holes(report)
    assert found == [
        ("DBS301", "routes/users.js", 9, "public.orderz"),
        ("DBS301", "routes/users.js", 10, "public.organisations"),
        ("DBS302", "routes/users.js", 12, "public.emails.user_idd"),
    ]
    # assigned again in a branch, given again by a spread or a computed key after it,
    # assigned by another module: not constants
    assert holes == [13, 14, 15]


# ESM: a default export (of JavaScript: a plain object literal; of TypeScript: `as const`),
# a CommonJS module's exports imported as its default, a namespace re-exported
_DEFAULT = "export default { USERS: 'users', ORGS: 'organisations' };\n"
_LOOSE = "export default { LOOSE: 'loosez' };\n"
_FIXED = "const TABLES = { EMAILS: 'emails', TRADES: 'tradez' } as const;\nexport default TABLES;\n"
_INDEX = "export * as names from './names';\n"
_NAMED = "export const TRADES = 'tradez';\nexport const USERS = 'users';\n"
_ESM = """\
import { Pool } from 'pg';
import T from './tables.js';
import legacy from './legacy.cjs';
import loose from './loose';
import fixed from './fixed';
import { names } from './index';

const pool = new Pool();

export async function read(id) {
  await pool.query(`SELECT id, display_name FROM ${T.USERS} WHERE id = $1`, [id]);
  await pool.query(`SELECT id FROM ${T.ORGS}`);
  await pool.query(`SELECT id FROM ${legacy.LEGACY}`);
  await pool.query(`SELECT id FROM ${loose.LOOSE}`);
  await pool.query(`SELECT user_id FROM ${fixed.EMAILS}`);
  await pool.query(`SELECT id FROM ${fixed.TRADES}`);
  await pool.query(`SELECT id FROM ${names.USERS}`);
  await pool.query(`SELECT id FROM ${names.TRADES}`);
}
"""


def test_default_exports_and_a_namespace_reexport_name_the_tables(
        database_url: str, tmp_path: Path) -> None:
    report = validate_files(database_url, tmp_path, _SCHEMA, {
        "package.json": '{"name": "web", "type": "module", "dependencies": {"pg": "8"}}',
        "src/tables.js": _DEFAULT,
        "src/legacy.cjs": "module.exports = { LEGACY: 'legacy_userz' };\n",
        "src/loose.ts": _LOOSE,
        "src/fixed.ts": _FIXED,
        "src/index.ts": _INDEX,
        "src/names.ts": _NAMED,
        "src/read.js": _ESM,
    })
    found, holes = findings_and_holes(report)
    assert found == [
        ("DBS301", "src/read.js", 12, "public.organisations"),
        ("DBS301", "src/read.js", 13, "public.legacy_userz"),
        ("DBS301", "src/read.js", 16, "public.tradez"),
        ("DBS301", "src/read.js", 18, "public.tradez"),
    ]
    # a TypeScript object literal without `as const`: any module may assign its members
    assert holes == [14]
