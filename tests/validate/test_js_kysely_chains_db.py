"""Kysely query-builder chains are read as the statement they compile to: a table or column
missing from the schema is found at its place in the string naming it.

`db.selectFrom('person').select('nickname').execute()` is sent by Kysely 0.28.20 as `select
"nickname" from "person"` (`.compile()`), which PostgreSQL refuses (42703) where the table
has no such column; dbsafe read no chain. Only chains whose every name is a string literal,
on a client known to be Kysely's (`new Kysely(...)`, typed `Kysely<...>`/`Transaction<...>`,
a transaction's callback's parameter), in a project whose clients are made without plugins
or with `CamelCasePlugin()` alone (which snake_cases every name), ending in an executor. What
cannot be read (an `eb` callback, `$if`, `with`, a subquery) is left unread, never guessed.
Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_module

pytestmark = pytest.mark.db

_SCHEMA = """\
CREATE TABLE person (id serial PRIMARY KEY, first_name text, last_name text, age int,
                     created_at timestamptz);
CREATE TABLE pet (id serial PRIMARY KEY, owner_id int REFERENCES person, name text);
CREATE SCHEMA app;
CREATE TABLE app.account (id int, email text);
CREATE FUNCTION full_name(person) RETURNS text LANGUAGE sql AS 'SELECT $1.first_name';
"""

_CLIENT = """\
import { CamelCasePlugin, Kysely, PostgresDialect, Transaction } from 'kysely';
export const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool })PLUGINS });
"""

# line 1: a chain PostgreSQL prepares once compiled, or (marked) the column it finds missing
_CHAINS = """\
export async function store(trx: Transaction<DB>) {
  await db.selectFrom('person as p').select(['p.id', 'p.last_name as ln']).orderBy('ln').execute();
  await db.selectFrom('person').select('nickname').execute();
  await db.selectFrom('persons').selectAll().execute();
  await db.selectFrom('person as p').innerJoin('pet as x', 'x.ownerid', 'p.id').select('x.name').execute();
  await db.selectFrom('person').where('age', '>', 3).where('nick', '=', 'a').selectAll().execute();
  await db.selectFrom('person as p').select(['p', 'p.full_name', 'ctid']).execute();
  await db.selectFrom('person').select('first_name as fn').groupBy('fn').orderBy('fn desc').execute();
  await trx.insertInto('person').values({ first_name: 'a', nick: 'b' }).returning('id').execute();
  await trx.updateTable('person').set({ agee: 4 }).where('id', '=', 1).executeTakeFirst();
  await db.transaction().execute(async (t) => t.deleteFrom('pets').where('id', '=', 1).execute());
  await db.withSchema('app').selectFrom('account').select('email').execute();
  await db.selectFrom('app.account').select(['app.account.email', 'emial']).execute();
  await db.selectFrom('person').select('Id').execute();
  await db.selectFrom('person').select((eb) => eb.val(1).as('v')).orderBy('v').execute();
  await db.with('c', (qb) => qb.selectFrom('person').select('id')).selectFrom('c').select('id').execute();
  await db.selectFrom('person').select('id').$if(true, (qb) => qb.where('nick', '=', 1)).execute();
  const sub = db.selectFrom('pet').select('owner_id').where('person.id', '=', 1);
}
"""

# (line, code, column) dbsafe reports: exactly where PostgreSQL refuses Kysely's SQL
_FOUND = [(3, "DBS302", 41), (4, "DBS301", 24), (5, "DBS302", 63), (6, "DBS302", 61),
          (9, "DBS302", 60), (10, "DBS302", 41), (11, "DBS301", 61), (13, "DBS302", 68),
          (14, "DBS302", 41)]

# Kysely 0.28.20's `.compile().sql` of lines 2, 3, 7, 8 (its PostgreSQL dialect)
_COMPILED = {
    2: 'select "p"."id", "p"."last_name" as "ln" from "person" as "p" order by "ln"',
    3: 'select "nickname" from "person"',
    7: 'select "p", "p"."full_name", "ctid" from "person" as "p"',
    8: 'select "first_name" as "fn" from "person" group by "fn" order by "fn" desc',
}

_PACKAGE = '{"name": "app", "dependencies": {"kysely": "^0.28.0", "pg": "^8.0.0"}}\n'


def _store(root: Path, chains: str, plugins: str = "") -> str:
    """The project's package.json, and a module making its client (`plugins` added to its
    options) before `chains`."""
    (root / "package.json").write_text(_PACKAGE, encoding="utf-8")
    return _CLIENT.replace("PLUGINS", plugins) + chains


def _found(report) -> list[tuple[int, str, int]]:
    """(line of the chains, code, column) of each finding in store.ts."""
    return sorted((f.location.line - 2, f.code, f.location.column) for f in report.findings
                  if f.location is not None and f.location.path.endswith("store.ts"))


def test_postgresql_refuses_and_prepares_what_kysely_sends(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_SCHEMA)
        for line, sql in _COMPILED.items():
            if line == 3:
                with pytest.raises(psycopg.errors.UndefinedColumn):
                    conn.execute(f"PREPARE s{line} AS {sql}")
            else:
                conn.execute(f"PREPARE s{line} AS {sql}")


def test_chains_are_checked_where_every_name_is_a_string(database_url: str,
                                                          tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _SCHEMA, "store.ts",
                             _store(tmp_path, _CHAINS))
    assert _found(report) == _FOUND


_CAMEL = """\
export async function store(db: Kysely<DB>) {
  await db.selectFrom('person as p').innerJoin('pet', 'pet.ownerId', 'p.id').select(['pet.name as petName', 'p.createdAt']).orderBy('petName').execute();
  await db.insertInto('person').values({ firstName: 'a', lastNam: 'b' }).execute();
  await db.selectFrom('person').select(['first_name', 'HTMLBody']).execute();
}
"""


def test_camel_case_plugin_names_are_snake_cased(database_url: str, tmp_path: Path) -> None:
    # Kysely sends `insert into "person" ("first_name", "last_nam") ...` and `select
    # "first_name", "htmlbody" from "person"`
    source = _store(tmp_path, _CAMEL, ", plugins: [new CamelCasePlugin()]")
    report = validate_module(database_url, tmp_path, _SCHEMA, "store.ts", source)
    assert _found(report) == [(3, "DBS302", 58), (4, "DBS302", 56)]


@pytest.mark.parametrize("plugins", [
    ", plugins: [new WithSchemaPlugin('app')]",
    ", plugins: [new CamelCasePlugin({ upperCase: true })]",
    ", plugins",
    ", ...options",
])
def test_clients_with_other_plugins_are_not_read(database_url: str, tmp_path: Path,
                                                 plugins: str) -> None:
    source = _store(tmp_path, _CHAINS, plugins)
    report = validate_module(database_url, tmp_path, _SCHEMA, "store.ts", source)
    assert _found(report) == []


def test_no_client_seen_no_chain_read(database_url: str, tmp_path: Path) -> None:
    # a client made where the project cannot be read (a package): its plugins are not known
    (tmp_path / "package.json").write_text(_PACKAGE, encoding="utf-8")
    source = "import { db } from '@acme/db';\n\n" + _CHAINS.replace(
        "(trx: Transaction<DB>)", "(db: Kysely<DB>, trx: Transaction<DB>)")
    report = validate_module(database_url, tmp_path, _SCHEMA, "store.ts", source)
    assert _found(report) == []


def test_a_client_of_another_engine_is_not_read(database_url: str, tmp_path: Path) -> None:
    source = _store(tmp_path, _CHAINS)
    (tmp_path / "local.ts").write_text(
        "export const local = new Kysely<DB>({ dialect: new SqliteDialect({ database }) });\n",
        encoding="utf-8")
    report = validate_module(database_url, tmp_path, _SCHEMA, "store.ts", source)
    assert _found(report) == []


# -- clients made in another module (task 423) -------------------------------------------

_MADE_CAMEL = ("import { CamelCasePlugin, Kysely, PostgresDialect } from 'kysely';\n"
               "export const db = new Kysely<DB>({\n  dialect: new PostgresDialect({ pool }),\n"
               "  plugins: [new CamelCasePlugin()],\n});\n")

# line 1 imports the client (MODULE, NAME); a second, plain client is made in seed.ts, so a
# client typed `Kysely<DB>` may be either: its chain (line 6) is not read
_IMPORTING = """\
import NAME from 'MODULE';
import { seedDb } from './seed';
export async function store(trx: Kysely<DB>) {
  await db.selectFrom('person').select(['firstName', 'nickName']).execute();
  await seedDb.selectFrom('person').select(['first_name', 'nick_name']).execute();
  await trx.selectFrom('person').select('nick').execute();
  await db.transaction().execute(async (t) => t.selectFrom('pet').select('ownerId').execute());
}
"""

# What Kysely 0.28.20 compiles lines 4 and 5 to (`CamelCasePlugin` on line 4's client):
# PostgreSQL refuses each at "nick_name" alone; line 4 through a plain client would be
# `select "firstName", "nickName" from "person"`, refused at "firstName"
_IMPORTED_COMPILED = ('select "first_name", "nick_name" from "person"',
                      'select "first_name", "nick_name" from "person"')
_IMPORTED_FOUND = [(4, "DBS302", 55), (5, "DBS302", 60)]

_SEED = ("import { Kysely, PostgresDialect } from 'kysely';\n"
         "export const seedDb = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });\n")


def _project(root: Path, files: dict[str, str], package: str = _PACKAGE) -> None:
    (root / "package.json").write_text(package, encoding="utf-8")
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")


def _validate_src(database_url: str, root: Path) -> list[tuple[int, str, int]]:
    from dbsafe import commands
    from dbsafe.config import load_settings

    (root / "pyproject.toml").write_text("[tool.dbsafe]\n", encoding="utf-8")
    settings = load_settings(root, {"database-url": database_url, "cache": False}, environ={})
    report = commands.validate(settings, [root])
    return sorted((f.location.line, f.code, f.location.column) for f in report.findings
                  if f.location is not None and f.location.path.endswith("store.ts"))


def test_postgresql_refuses_what_the_imported_clients_send(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_SCHEMA)
        for number, sql in enumerate(_IMPORTED_COMPILED):
            with pytest.raises(psycopg.errors.UndefinedColumn, match="nick_name"):
                conn.execute(f"PREPARE s{number} AS {sql}")


_BARREL = "export * from './client';\n"
_WORKSPACE = '{"private": true, "workspaces": ["packages/*"], ' \
    '"dependencies": {"kysely": "^0.28.0"}}\n'


@pytest.mark.parametrize(("name", "module", "files"), [
    ("{ db }", "./db", {"src/db.ts": _MADE_CAMEL}),
    ("{ db }", "@/lib/db", {"src/lib/db.ts": _MADE_CAMEL}),
    ("{ database as db }", "./db", {"src/db.ts": _MADE_CAMEL.replace(
        "export const db", "const db") + "export { db as database };\n"}),
    ("db", "./db", {"src/db.ts": _MADE_CAMEL.replace("export const db", "const db")
                    + "export default db;\n"}),
    ("{ db }", "./db", {"src/db/index.ts": _BARREL, "src/db/client.ts": _MADE_CAMEL}),
    ("{ db }", "@acme/db", {
        "packages/db/package.json": '{"name": "@acme/db", "main": "src/index.ts"}\n',
        "packages/db/src/index.ts": "export { db } from './client';\n",
        "packages/db/src/client.ts": _MADE_CAMEL}),
    # (task 432: a `const` the module binds to what its function returning `new Kysely(...)`
    # gives is that client; before, it was not read)
    ("{ db }", "./db", {"src/db.ts": _MADE_CAMEL.replace("export const db = new", "export "
                                                         "const db = makeDb();\nfunction "
                                                         "makeDb() { return new")
                        .replace("});", "}); }")}),
], ids=["relative", "alias", "renamed", "default", "barrel", "workspace-package",
        "made-by-a-function"])
def test_an_imported_client_is_read_with_its_own_plugins(
        database_url: str, tmp_path: Path, name: str, module: str,
        files: dict[str, str]) -> None:
    # Before, a chain on an imported client was not read at all
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_SCHEMA)
    store = _IMPORTING.replace("NAME", name).replace("MODULE", module)
    _project(tmp_path, {**files, "src/store.ts": store, "src/seed.ts": _SEED},
             _WORKSPACE if module.startswith("@acme") else _PACKAGE)
    assert _validate_src(database_url, tmp_path) == _IMPORTED_FOUND


@pytest.mark.parametrize(("module", "files"), [
    ("@/lib/db", {"src/lib/db.ts": _MADE_CAMEL,
                  "tools/db.ts": _MADE_CAMEL.replace("plugins: [new CamelCasePlugin()],", "")}),
    ("@/lib/db", {"src/lib/db.ts": _MADE_CAMEL, "src/db.ts": "export const x = 1;\n"}),
    # a function that may return another client than the `new Kysely(...)` it makes
    ("./db", {"src/db.ts": _MADE_CAMEL.replace("export const db = new", "export const db = "
                                               "makeDb();\nfunction makeDb() { return cached "
                                               "?? new").replace("});", "}); }")}),
    ("./db", {"src/db.ts": _MADE_CAMEL.replace("plugins: [new CamelCasePlugin()]",
                                               "plugins: [new WithSchemaPlugin('app')]")}),
], ids=["two-modules-so-named", "another-module-so-named", "made-by-a-function-or-cached",
        "other-plugin"])
def test_an_import_that_may_be_another_client_is_not_read(
        database_url: str, tmp_path: Path, module: str, files: dict[str, str]) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_SCHEMA)
    store = _IMPORTING.replace("NAME", "{ db }").replace("MODULE", module)
    _project(tmp_path, {**files, "src/store.ts": store, "src/seed.ts": _SEED})
    assert _validate_src(database_url, tmp_path) == [(5, "DBS302", 60)]


# Docmost's shape: nestjs-kysely's module makes the app's client with CamelCasePlugin, its
# repositories are given it by `@InjectKysely()` typed with the project's alias, and
# `migrate.ts` makes a plain client only for Kysely's Migrator (kysely-migration-cli's `run`)
_NEST_MODULE = """\
import { KyselyModule } from 'nestjs-kysely';
import { CamelCasePlugin } from 'kysely';
@Module({
  imports: [
    KyselyModule.forRootAsync({
      useFactory: (env: EnvironmentService) => ({
        dialect: new PostgresJSDialect({ postgres: postgres(env.getDatabaseURL()) }),
        plugins: [new CamelCasePlugin()],
        log: (event: LogEvent) => {},
      }),
    }),
  ],
})
export class DatabaseModule {}
"""
_MIGRATE = """\
import { Kysely, Migrator, FileMigrationProvider } from 'kysely';
import { run } from 'kysely-migration-cli';
const db = new Kysely<any>({
  dialect: new PostgresJSDialect({ postgres: postgres(process.env.DATABASE_URL) }),
});
const migrator = new Migrator({
  db,
  provider: new FileMigrationProvider({ fs, path, migrationFolder }),
});
run(db, migrator, migrationFolder);
"""
_REPO = """\
import { InjectKysely } from 'nestjs-kysely';
import { KyselyDB } from './kysely.types';
@Injectable()
export class UserRepo {
  constructor(@InjectKysely() private readonly db: KyselyDB) {}
  async find() {
    return this.db.selectFrom('person').select(['firstName', 'nickName']).execute();
  }
}
"""


@pytest.mark.parametrize(("migrate", "found"), [
    (_MIGRATE, [(7, "DBS302", 63)]),
    (_MIGRATE + "await db.destroy();\n", [(7, "DBS302", 63)]),
    # the plain client runs a chain, or may be given to one elsewhere: typed ones may be it
    (_MIGRATE + "await db.selectFrom('person').selectAll().execute();\n", []),
    (_MIGRATE.replace("const db", "export const db"), []),
    (_MIGRATE + "setup(db);\n", []),
], ids=["migrator-only", "destroyed", "runs-a-chain", "exported", "given-elsewhere"])
def test_typed_clients_are_the_nest_module_s_beside_a_migrator_s_client(
        database_url: str, tmp_path: Path, migrate: str,
        found: list[tuple[int, str, int]]) -> None:
    # Before, the plain migrator's client made which one `KyselyDB` is unknown: nothing read
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_SCHEMA)
    _project(tmp_path, {
        "src/database.module.ts": _NEST_MODULE, "src/migrate.ts": migrate,
        "src/kysely.types.ts": "import { Kysely } from 'kysely';\n"
                               "export type KyselyDB = Kysely<DB>;\n",
        "src/user/store.ts": _REPO})
    assert _validate_src(database_url, tmp_path) == found


def test_with_the_cache_a_client_s_module_is_read_again_only_once_its_stat_changes(
        database_url: str, tmp_path: Path) -> None:
    import os

    from dbsafe import commands
    from dbsafe.config import load_settings

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_SCHEMA)
    store = _IMPORTING.replace("NAME", "{ db }").replace("MODULE", "./db")
    _project(tmp_path, {"src/db.ts": _MADE_CAMEL, "src/store.ts": store, "src/seed.ts": _SEED})
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n", encoding="utf-8")
    settings = load_settings(tmp_path, {"database-url": database_url,
                                        "cache-dir": str(tmp_path / "cache")}, environ={})

    def found() -> list[tuple[int, str, int]]:
        return sorted((f.location.line, f.code, f.location.column)
                      for f in commands.validate(settings, [tmp_path]).findings
                      if f.location is not None and f.location.path.endswith("store.ts"))

    assert found() == _IMPORTED_FOUND
    # The same size and modification time: the facts kept are used, the file not read again
    # (its new text, a plain client, would make `firstName` a finding too)
    made = tmp_path / "src" / "db.ts"
    stat = made.stat()
    plain = _MADE_CAMEL.replace("new CamelCasePlugin()", "new CamelCaseXlugin()")
    made.write_text(plain, encoding="utf-8")
    os.utime(made, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert found() == _IMPORTED_FOUND
    # A changed stat: read again, its plugin not known, the chain not read
    os.utime(made, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    assert found() == [(5, "DBS302", 60)]


@pytest.mark.parametrize(("package", "chain", "found"), [
    ('"graphile-worker": "^0.16.2"', "selectFrom('graphile_worker._private_jobs')", []),
    ('"pg-boss": "^10.0.0"', "selectFrom('pgboss.job')", []),
    # a schema no dependency makes is still missing, as is one of the package not depended on
    ('"graphile-worker": "^0.16.2"', "selectFrom('nosuch.jobs')", [(3, "DBS301", 42)]),
    ('"pg": "^8.0.0"', "selectFrom('graphile_worker._private_jobs')", [(3, "DBS301", 42)]),
], ids=["graphile-worker", "pg-boss", "other-schema", "not-a-dependency"])
@pytest.mark.usefixtures("one_server_throwaways")
def test_a_schema_a_job_queue_package_makes_at_run_time_is_unknown(
        tmp_path: Path, package: str, chain: str, found: list[tuple[int, str, int]]) -> None:
    """OpenPipe's admin page reads `graphile_worker._private_jobs` through Kysely
    (`kysely.selectFrom("graphile_worker._private_jobs")`): graphile-worker makes its schema
    when the application starts it, never through the app's prisma migrations, so the chain
    (read since task 417) was a false DBS301. A schema a package the project depends on
    makes at run time is unknown: what is read of it is not analysed."""
    from dbsafe import commands
    from dbsafe.config import load_settings

    _project(tmp_path, {
        "prisma/migrations/20240101000000_init/migration.sql": "CREATE TABLE person (id int);\n",
        "prisma/migrations/migration_lock.toml": 'provider = "postgresql"\n',
        "src/store.ts": "import { Kysely, PostgresDialect } from 'kysely';\n"
                        "const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });\n"
                        f"export const jobs = () => db.{chain}.selectAll().execute();\n"},
             package='{"dependencies": {"kysely": "^0.28.0", ' + package + '}}\n')
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n", encoding="utf-8")

    report = commands.validate(load_settings(tmp_path, {"cache": False}, environ={}),
                               [tmp_path / "src"])

    assert sorted((f.location.line, f.code, f.location.column) for f in report.findings
                  if f.location is not None) == found


@pytest.mark.usefixtures("one_server_throwaways")
def test_a_job_queue_in_another_package_of_a_monorepo_makes_its_schema_too(
        tmp_path: Path) -> None:
    """A monorepo keeps its worker (which depends on graphile-worker and starts it) in a
    package of its own beside the one holding the migrations: its schema may exist all the
    same (the first version read only the migrations' package and the folders above it)."""
    from dbsafe import commands
    from dbsafe.config import load_settings

    _project(tmp_path, {
        "packages/db/prisma/migrations/20240101000000_init/migration.sql":
            "CREATE TABLE person (id int);\n",
        "packages/db/prisma/migrations/migration_lock.toml": 'provider = "postgresql"\n',
        "packages/db/package.json": '{"name": "@acme/db", "dependencies": {"kysely": "^0.28"}}\n',
        "packages/worker/package.json":
            '{"name": "@acme/worker", "dependencies": {"graphile-worker": "^0.16.2"}}\n',
        "packages/db/src/store.ts":
            "import { Kysely, PostgresDialect } from 'kysely';\n"
            "const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });\n"
            "export const jobs = () => db.selectFrom('graphile_worker._private_jobs')"
            ".selectAll().execute();\n"
            "export const people = () => db.selectFrom('nosuch.people').selectAll().execute();\n"},
             package='{"private": true, "workspaces": ["packages/*"]}\n')
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n", encoding="utf-8")

    report = commands.validate(load_settings(tmp_path, {"cache": False}, environ={}),
                               [tmp_path / "packages"])

    assert sorted((f.location.line, f.code) for f in report.findings
                  if f.location is not None) == [(4, "DBS301")]


# -- clients made by a subclass, a factory, or held in a class's field (task 432) ---------

# Zhadko-Bazilevych/quotes' shape: nest injects `KyselyService` (an abstract class whose
# `ctx` is the subclass of Kysely nest makes, or its transaction), the subclass giving
# CamelCasePlugin to `super(...)`
_SUBCLASS = """\
import { CamelCasePlugin, Kysely, Transaction } from 'kysely';
export type DbContext = Kysely<DB> | Transaction<DB>;
export class InternalKyselyService extends Kysely<DB> {
  constructor(dialect: PostgresDialectService) {
    super(OPTIONS);
  }
  get ctx(): DbContext { return this.storage.getStore()?.trx ?? this; }
}
export abstract class KyselyService {
  abstract get ctx(): Omit<DbContext, 'transaction' | 'startTransaction'>;
}
"""
_SERVICE_STORE = """\
import { InternalKyselyService, KyselyService } from 'src/database/kysely.service';
export class QuoteRepository {
  constructor(private readonly db: KyselyService, private readonly own: InternalKyselyService) {}
  async find() {
    await this.db.ctx.selectFrom('person').select(['firstName', 'nickName']).execute();
    await this.own.selectFrom('person').select(['first_name', 'nick_name']).execute();
  }
}
"""
# What Kysely 0.28.20 sends for lines 5 and 6 through `CamelCasePlugin` is
# `_IMPORTED_COMPILED`'s: PostgreSQL refuses each at "nick_name"
_CAMEL_FOUND = [(5, "DBS302", 66), (6, "DBS302", 64)]


@pytest.mark.parametrize(("options", "found"), [
    ("{ dialect, plugins: [new CamelCasePlugin()] }", _CAMEL_FOUND),
    ("{ dialect, plugins: [new WithSchemaPlugin('app')] }", []),
    ("options", []),
], ids=["camel-case", "other-plugin", "options-not-seen"])
def test_a_subclass_of_kysely_is_a_client_made_with_what_it_gives_super(
        database_url: str, tmp_path: Path, options: str,
        found: list[tuple[int, str, int]]) -> None:
    # Before, neither chain was read: a subclass of Kysely was no client dbsafe knew
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_SCHEMA)
    _project(tmp_path, {"src/database/kysely.service.ts": _SUBCLASS.replace("OPTIONS", options),
                        "src/quote/store.ts": _SERVICE_STORE})
    assert _validate_src(database_url, tmp_path) == found


def test_a_subclass_without_a_constructor_is_made_with_options_not_seen(
        database_url: str, tmp_path: Path) -> None:
    # `new Database(options)` may be given any plugin: no typed chain is read; an abstract
    # one, never made, leaves the project's other clients to say
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_SCHEMA)
    store = ("export async function find(db: Database) {\n"
             "  await db.selectFrom('person').select(['firstName', 'nickName']).execute();\n}\n")
    made = ("export const db = new Kysely<DB>({ dialect, plugins: [new CamelCasePlugin()] });\n"
            "export class Database extends Kysely<DB> {}\n")
    _project(tmp_path, {"src/db.ts": made, "src/store.ts": store})
    assert _validate_src(database_url, tmp_path) == []
    _project(tmp_path, {"src/db.ts": made.replace("export class", "export abstract class")})
    assert _validate_src(database_url, tmp_path) == [(2, "DBS302", 55)]


_FACTORY = """\
import { CamelCasePlugin, Kysely, PostgresDialect } from 'kysely';
export function createDb(url: string): Kysely<DB> {
  return new Kysely<DB>({ dialect: new PostgresDialect({ pool }), plugins: [new CamelCasePlugin()] });
}
export const setupDb = async (url: string): Promise<Kysely<DB>> => {
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }), plugins: [new CamelCasePlugin()] });
  await sql`SELECT 1`.execute(db);
  return db;
};
export const cachedDb = (url: string) => cache.get(url) ?? new Kysely<DB>({ dialect });
"""
_FACTORY_STORE = """\
import { cachedDb, createDb, setupDb } from './db';
export async function find(url: string) {
  const db = createDb(url);
  await db.selectFrom('person').select(['firstName', 'nickName']).execute();
  const set = await setupDb(url);
  await set.selectFrom('person').select(['firstName', 'nickName']).execute();
  const cached = cachedDb(url);
  await cached.selectFrom('person').select(['first_name', 'nick']).execute();
}
"""


@pytest.mark.parametrize("where", ["imported", "in-the-file"])
def test_a_client_a_function_returns_is_read_with_its_plugins(
        database_url: str, tmp_path: Path, where: str) -> None:
    # Before, none was read: a client returned by a function was not one dbsafe knew. One
    # that may return another client (`cache.get(url) ?? ...`) is still not read
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_SCHEMA)
    if where == "imported":
        files = {"src/db.ts": _FACTORY, "src/store.ts": _FACTORY_STORE}
        first = 4
    else:
        files = {"src/store.ts": _FACTORY + _FACTORY_STORE.split("\n", 1)[1]}
        first = 13
    _project(tmp_path, files)
    assert _validate_src(database_url, tmp_path) == [(first, "DBS302", 55),
                                                     (first + 2, "DBS302", 56)]


# bluesky's atproto shape: a `Database` class holds the client in its field `db` (typed with
# the project's alias), and gives it `LeakyTxPlugin` in a transaction, a plugin of the
# project whose `transformQuery` returns the query it is given; chains run on `db.db`
_HOLDER = """\
import { Kysely, PostgresDialect, type KyselyPlugin } from 'kysely';
export type DatabaseSchema = Kysely<DatabaseSchemaType>;
export class Database {
  db: DatabaseSchema;
  constructor(public opts: PgOptions) {
    this.db = new Kysely<DatabaseSchemaType>({ dialect: new PostgresDialect({ pool }) });
  }
  async transaction<T>(fn: (db: Database) => Promise<T>): Promise<T> {
    const leakyTxPlugin = new LeakyTxPlugin();
    return this.db.withPlugin(leakyTxPlugin).transaction()
      .execute(async (txn) => fn(new Database(this.opts, { db: txn })));
  }
}
class LeakyTxPlugin implements KyselyPlugin {
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    if (this.txOver) { throw new Error('tx already failed'); }
    return RETURNED;
  }
  async transformResult(args: PluginTransformResultArgs) { return args.result; }
}
"""
_HOLDER_STORE = """\
import type { Database } from '../db/db';
export default (db: Database) => ({
  async find() { return db.db.selectFrom('person').select(['first_name', 'nick']).execute(); },
});
export class Indexer {
  constructor(private db: Database) {}
  async run() { await this.db.db.selectFrom('person').select(['nick', 'age']).execute(); }
}
"""
# Kysely 0.28.20 sends `select "first_name", "nick" from "person"` and `select "nick",
# "age" from "person"`: PostgreSQL refuses each at "nick"
_HOLDER_COMPILED = ('select "first_name", "nick" from "person"',
                    'select "nick", "age" from "person"')


def test_postgresql_refuses_what_the_held_client_sends(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_SCHEMA)
        for number, sql in enumerate(_HOLDER_COMPILED):
            with pytest.raises(psycopg.errors.UndefinedColumn, match="nick"):
                conn.execute(f"PREPARE s{number} AS {sql}")


@pytest.mark.parametrize(("returned", "found"), [
    ("args.node", [(3, "DBS302", 75), (7, "DBS302", 64)]),
    # a plugin that may change the query: what the client sends is not known
    ("this.rename(args.node)", []),
], ids=["passes-the-query", "changes-the-query"])
def test_a_client_a_class_holds_in_a_field_is_read_from_outside(
        database_url: str, tmp_path: Path, returned: str,
        found: list[tuple[int, str, int]]) -> None:
    # Before, neither was read (`withPlugin(...)` left typed chains unread, and `db.db` of a
    # `Database` was no client)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_SCHEMA)
    _project(tmp_path, {"src/db/db.ts": _HOLDER.replace("RETURNED", returned),
                        "src/routes/store.ts": _HOLDER_STORE})
    assert _validate_src(database_url, tmp_path) == found


def test_a_member_of_a_class_so_named_that_is_no_client_is_not_read(
        database_url: str, tmp_path: Path) -> None:
    # another class named `Database` whose `db` is not typed a client: `db.db` may be it
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_SCHEMA)
    _project(tmp_path, {"src/db/db.ts": _HOLDER.replace("RETURNED", "args.node"),
                        "src/other/db.ts": "// not Kysely's\nexport class Database {\n"
                                           "  db: Kysely2Wrapper;\n}\n",
                        "src/routes/store.ts": _HOLDER_STORE})
    assert _validate_src(database_url, tmp_path) == []
