"""Table names read through a local alias of an import, or a `let`/`var` bound to a `require`.

genghishack/mapapp-api names its tables in `constants.js` (`export default { tables: { user:
{ main: 'app_user' } } }`) and reads them as `const userTables = constants.tables.user;`
then ``SELECT * from ${userTables.main}``; others destructure (`const { user } =
constants.tables`) or bind the `require` with `let`/`var` (`let TABLES =
require('../const/tables').TABLES`). Each such name is the string the module exports, read
at the query: a misspelt table through it is DBS301. What may change stays a hole (DBS304),
never a finding: a `let` assigned again, a member written through an alias in another
module, a destructuring `let`. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import assert_prepares, findings_and_holes, validate_files

pytestmark = pytest.mark.db

_SCHEMA = """
CREATE TABLE app_user (id int PRIMARY KEY, email text);
CREATE TABLE gis_resource (id int PRIMARY KEY, name text);
CREATE TABLE users (id int PRIMARY KEY);
"""

# ESM: mapapp-api's constants, a default export of JavaScript
_CONSTANTS = """\
export default {
  appName: 'mapapp',
  regex: { uuid: /^[0-9a-f]{8}$/i },
  tables: {
    resource: { main: 'gis_resource' },
    user: { main: 'app_userz' },
    legacy: { old: 'legacy_users' },
  },
};
"""
# another module writes `legacy.old` through an alias of the import
_SETUP = """\
import constants from './constants';

const legacyTables = constants.tables.legacy;
legacyTables.old = 'users';
"""
_QUERIES = """\
import { Pool } from 'pg';
import constants from './constants';

const pool = new Pool();
const userTables = constants.tables.user;
const resourceTables = constants.tables.resource;
const { user } = constants.tables;
const { tables: { resource: r } } = constants;
const t = constants.tables;
const u = t.user;
let moving = constants.tables.user;

export async function read(id, other) {
  await pool.query(`SELECT * from ${userTables.main} WHERE id = $1`, [id]);
  await pool.query(`SELECT id, name FROM ${resourceTables.main} WHERE id = $1`, [id]);
  await pool.query(`SELECT id FROM ${user.main}`);
  await pool.query(`SELECT nme FROM ${r.main}`);
  await pool.query(`SELECT id FROM ${u.main}`);
  await pool.query(`SELECT id FROM ${constants.tables.legacy.old}`);
  if (other) moving = other;
  await pool.query(`SELECT id FROM ${moving.main}`);
}
"""


def test_postgresql_refuses_the_misspelt_names(database_url: str) -> None:
    missing = tuple(f"SELECT id FROM {table}" for table in ("app_userz", "orderz", "itemz"))
    assert_prepares(database_url, _SCHEMA, ("SELECT id, name FROM gis_resource WHERE id = $1",),
                    ("SELECT nme FROM gis_resource",), missing_tables=missing)


def test_a_local_alias_of_an_imported_member_names_the_table(
        database_url: str, tmp_path: Path) -> None:
    report = validate_files(database_url, tmp_path, _SCHEMA, {
        "package.json": '{"name": "api", "type": "module", "dependencies": {"pg": "8"}}',
        "src/constants.js": _CONSTANTS,
        "src/setup.js": _SETUP,
        "src/queries.js": _QUERIES,
    })
    found, holes = findings_and_holes(report)
    assert found == [
        ("DBS301", "src/queries.js", 14, "public.app_userz"),
        ("DBS301", "src/queries.js", 16, "public.app_userz"),
        ("DBS301", "src/queries.js", 18, "public.app_userz"),
        ("DBS302", "src/queries.js", 17, "public.gis_resource.nme"),
    ]
    # written through an alias by another module; a `let` assigned again: not constants
    assert holes == [19, 21]


# CommonJS: a `let`/`var` bound to a `require` that nothing assigns again
_TABLES = "module.exports = { TABLES: { USERS: 'users', ORDERS: 'orderz' } };\n"
_ROUTES = """\
const { Pool } = require('pg');
let TABLES = require('../db/tables').TABLES;
var T = require('../db/tables');
let R = require('../db/tables');
let { TABLES: D } = require('../db/tables');

const pool = new Pool();

async function list(id) {
  await pool.query(`SELECT id FROM ${TABLES.ORDERS} WHERE id = $1`, [id]);
  await pool.query(`SELECT id FROM ${T.TABLES.ORDERS}`);
  await pool.query(`SELECT id FROM ${TABLES.USERS}`);
  await pool.query(`SELECT id FROM ${R.TABLES.ORDERS}`);
  await pool.query(`SELECT id FROM ${D.ORDERS}`);
}

function reset() {
  R = { TABLES: { ORDERS: 'users' } };
}

module.exports = { list, reset };
"""


def test_a_let_or_var_bound_to_a_require_never_assigned_again_names_the_table(
        database_url: str, tmp_path: Path) -> None:
    report = validate_files(database_url, tmp_path, _SCHEMA, {
        "package.json": '{"name": "api", "dependencies": {"express": "4", "pg": "8"}}',
        "db/tables.js": _TABLES,
        "routes/users.js": _ROUTES,
    })
    found, holes = findings_and_holes(report)
    assert found == [
        ("DBS301", "routes/users.js", 10, "public.orderz"),
        ("DBS301", "routes/users.js", 11, "public.orderz"),
    ]
    # `R` is assigned again in `reset()`; a destructuring `let` is not read
    assert holes == [13, 14]


# A module writing ESM exports and CommonJS ones, as Babel or tsc (`module: commonjs`)
# compiles it: its CommonJS keys join the ESM ones, or `module.exports = V` replaces them
_MIXED = """\
export const USERS = 'users';
export const ORGS = 'organizations';
module.exports.ORDERS = 'orderz';
exports.ORGS = 'organisations';
"""
_REPLACED = """\
export const GONE = 'users';
const TABLES = { ITEMS: 'itemz' };
module.exports = { TABLES };
"""
_READ = """\
import { Pool } from 'pg';
import { USERS, ORDERS, ORGS } from './mixed';
import { GONE, TABLES } from './replaced';

const pool = new Pool();

export async function read(id) {
  await pool.query(`SELECT id FROM ${USERS} WHERE id = $1`, [id]);
  await pool.query(`SELECT id FROM ${ORDERS}`);
  await pool.query(`SELECT id FROM ${TABLES.ITEMS}`);
  await pool.query(`SELECT id FROM ${ORGS}`);
  await pool.query(`SELECT id FROM ${GONE}`);
}
"""


def test_a_module_mixing_esm_and_commonjs_exports_names_the_tables(
        database_url: str, tmp_path: Path) -> None:
    report = validate_files(database_url, tmp_path, _SCHEMA, {
        "package.json": '{"name": "api", "dependencies": {"pg": "8", "@babel/core": "7"}}',
        "src/mixed.js": _MIXED,
        "src/replaced.js": _REPLACED,
        "src/read.js": _READ,
    })
    found, holes = findings_and_holes(report)
    assert found == [
        ("DBS301", "src/read.js", 9, "public.orderz"),
        ("DBS301", "src/read.js", 10, "public.itemz"),
    ]
    # given two values; an ESM export `module.exports = ...` replaces: not constants
    assert holes == [11, 12]
