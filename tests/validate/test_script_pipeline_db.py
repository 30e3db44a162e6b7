"""A `.sql` script reading what another of the project's scripts creates is not missing it.

Field-TM's area splitter (hotosm/field-tm, `src/backend/packages/area-splitter/
area_splitter/algorithms/`) runs its scripts one after the other on one connection:
`common/2-group-buildings.sql` creates `buildings`, `avg_building_voronoi.sql` creates
`taskpolygons`, and `common/6-extract.sql` reads both: two false DBS301, PostgreSQL
"confirming" them on the migrations' schema, where no script had run. What a script reads
before its own DDL, and what Python reads, are still checked. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import load_settings

_SCHEMA = "CREATE TABLE parcels (id int, area float)"
_STAGE_1 = ("CREATE TABLE big_parcels AS SELECT id, area FROM parcels WHERE area > 10;\n"
            "ALTER TABLE parcels ADD COLUMN grade int;\n")
_STAGE_2 = ("SELECT b.id, b.area FROM big_parcels AS b;\n"
            "SELECT grade FROM parcels;\n"
            "SELECT id FROM nosuch;\n"
            "SELECT id FROM made_below;\n"
            "CREATE TABLE made_below (id int);\n")
_MODULE = 'def big(cur):\n    cur.execute("SELECT id FROM big_parcels")\n'


def _validate(database_url: str, root: Path) -> list[tuple[str, str | None, int | None]]:
    settings = load_settings(root, {"database-url": database_url,
                                    "cache-dir": str(root / ".cache")}, environ={})
    report = commands.validate(settings, [root / "app"])
    return [(f.code, f.location.path if f.location else None,
             f.location.line if f.location else None) for f in report.findings]


@pytest.mark.db
def test_a_script_reads_what_another_script_makes(database_url: str, tmp_path: Path) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_SCHEMA)
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n", encoding="utf-8")
    stages = tmp_path / "app" / "stages"
    (stages / "common").mkdir(parents=True)
    (stages / "1-select.sql").write_text(_STAGE_1, encoding="utf-8")
    (stages / "common" / "2-extract.sql").write_text(_STAGE_2, encoding="utf-8")
    (tmp_path / "app" / "reader.py").write_text(_MODULE, encoding="utf-8")
    expected = [("DBS301", "app/reader.py", 2),
                ("DBS301", "app/stages/common/2-extract.sql", 3),
                ("DBS301", "app/stages/common/2-extract.sql", 4)]
    assert sorted(_validate(database_url, tmp_path)) == expected
    assert sorted(_validate(database_url, tmp_path)) == expected  # from the cache
    # The first script no longer makes them: the second's findings are back, although
    # its own outcome comes from the cache.
    (stages / "1-select.sql").write_text("SELECT 1;\n", encoding="utf-8")
    assert sorted(_validate(database_url, tmp_path)) == sorted([
        ("DBS301", "app/reader.py", 2),
        ("DBS301", "app/stages/common/2-extract.sql", 1),
        ("DBS302", "app/stages/common/2-extract.sql", 2),
        ("DBS301", "app/stages/common/2-extract.sql", 3),
        ("DBS301", "app/stages/common/2-extract.sql", 4)])


# Liberapay's payday (liberapay/liberapay.com, `liberapay/billing/payday.py`) creates its
# working tables at run time, `payday_transfers` and temporary ones such as `payday_tips`,
# and its tests (`tests/py/test_payday.py`) read them through the same cursor: four false
# DBS301, PostgreSQL "confirming" them on the schema, where no payday had run. What a module
# reads that another module makes is not missing; a script's tables are not made for code.
_PAYDAY = '''\
def prepare(cursor):
    cursor.run("""
        CREATE TEMPORARY TABLE payday_tips ON COMMIT DROP AS
            SELECT id AS tipper, area AS amount FROM parcels;
        DROP TABLE IF EXISTS payday_transfers;
        CREATE TABLE payday_transfers (tipper int, amount float);
    """)
'''
_TEST_PAYDAY = '''\
def test_prepare(cursor):
    cursor.all("SELECT tipper, amount FROM payday_tips")
    cursor.all("SELECT amount FROM payday_transfers WHERE tipper = %s", (1,))
    cursor.all("SELECT id FROM nosuch")
'''


def _validate_code(database_url: str, root: Path) -> list[tuple[str, str | None, int | None]]:
    settings = load_settings(root, {"database-url": database_url,
                                    "cache-dir": str(root / ".cache")}, environ={})
    report = commands.validate(settings, [root / "app"])
    return sorted((f.code, f.location.path if f.location else None,
                   f.location.line if f.location else None) for f in report.findings)


@pytest.mark.db
def test_a_module_reads_what_another_module_makes(database_url: str, tmp_path: Path) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_SCHEMA)
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n", encoding="utf-8")
    (tmp_path / "app" / "billing").mkdir(parents=True)
    (tmp_path / "app" / "tests").mkdir()
    (tmp_path / "app" / "billing" / "payday.py").write_text(_PAYDAY, encoding="utf-8")
    (tmp_path / "app" / "tests" / "test_payday.py").write_text(_TEST_PAYDAY, encoding="utf-8")
    (tmp_path / "app" / "report.sql").write_text("SELECT amount FROM payday_transfers;\n",
                                                 encoding="utf-8")
    expected = [("DBS301", "app/report.sql", 1), ("DBS301", "app/tests/test_payday.py", 4)]
    assert _validate_code(database_url, tmp_path) == expected
    assert _validate_code(database_url, tmp_path) == expected  # from the cache
    # payday no longer makes them: the test's findings are back, its outcome cached
    (tmp_path / "app" / "billing" / "payday.py").write_text("def prepare(cursor):\n    pass\n",
                                                            encoding="utf-8")
    assert _validate_code(database_url, tmp_path) == [
        ("DBS301", "app/report.sql", 1), ("DBS301", "app/tests/test_payday.py", 2),
        ("DBS301", "app/tests/test_payday.py", 3), ("DBS301", "app/tests/test_payday.py", 4)]


@pytest.mark.db
def test_what_the_test_reads_exists_once_payday_ran(postgresql: psycopg.Connection) -> None:
    postgresql.execute(_SCHEMA)
    postgresql.execute(_PAYDAY.split('"""')[1])
    postgresql.execute("PREPARE tips AS SELECT tipper, amount FROM payday_tips")
    postgresql.execute("PREPARE transfers AS SELECT amount FROM payday_transfers "
                       "WHERE tipper = $1")
    postgresql.rollback()


# pybossa's leaderboard job (bloomberg/pybossa, `pybossa/leaderboard/jobs.py`) names its
# materialized view in a local, `materialized_view = 'users_rank'` (another name under an
# `if`), and creates it with `CREATE MATERIALIZED VIEW "{}" AS ...`.format(materialized_view);
# `pybossa/leaderboard/data.py` and `pybossa/cache/users.py` read `users_rank`: four false
# DBS301, PostgreSQL "confirming" them on the schema, where no job had run. DDL whose name
# is bound to constants makes each of them for the other modules; a name bound to nothing
# known (`NOT_A_CONSTANT`) makes nothing. Its tests read the views `leaderboard(info='foo')`
# makes, `users_rank_foo` and `"users_rank_foo-dash"`: 6 false DBS301 (task 392). A name
# built of text and a piece known at run time makes, for the others, any name it may be.
_LEADERBOARD_JOB = """\
def leaderboard(db, info=None):
    materialized_view = 'users_rank'
    if info:
        materialized_view = 'users_rank_%s' % info
    sql = '''
        CREATE MATERIALIZED VIEW "{}" AS
            SELECT id, row_number() OVER (ORDER BY area DESC) AS rank FROM parcels;
    '''.format(materialized_view)
    db.session.execute(sql)


def archive(db, suffix):
    db.session.execute('CREATE TABLE "{}" AS SELECT id FROM parcels'.format(suffix))
"""
_LEADERBOARD_READER = """\
from sqlalchemy import text


def top(db):
    db.session.execute(text("SELECT id, rank FROM users_rank WHERE rank <= :n"), {"n": 3})
    db.session.execute(text("SELECT id FROM parcels_archive"))
    db.session.execute(text('SELECT id, rank FROM "users_rank_foo-dash"'))
    db.session.execute(text("SELECT id FROM users_ranking"))
"""


@pytest.mark.db
def test_a_module_reads_a_view_another_module_names_in_a_local(
        database_url: str, tmp_path: Path) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_SCHEMA)
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n", encoding="utf-8")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "jobs.py").write_text(_LEADERBOARD_JOB, encoding="utf-8")
    (tmp_path / "app" / "data.py").write_text(_LEADERBOARD_READER, encoding="utf-8")
    errors = [f for f in _validate_code(database_url, tmp_path) if f[0] != "DBS304"]
    assert errors == [("DBS301", "app/data.py", 6), ("DBS301", "app/data.py", 8)]


@pytest.mark.db
def test_the_leaderboard_view_exists_once_the_job_ran(postgresql: psycopg.Connection) -> None:
    postgresql.execute(_SCHEMA)
    with pytest.raises(psycopg.errors.UndefinedTable):
        postgresql.execute("PREPARE top AS SELECT id, rank FROM users_rank WHERE rank <= $1")
    postgresql.rollback()
    postgresql.execute(_SCHEMA)
    postgresql.execute('CREATE MATERIALIZED VIEW "users_rank" AS SELECT id, row_number() '
                       "OVER (ORDER BY area DESC) AS rank FROM parcels")
    postgresql.execute("PREPARE top AS SELECT id, rank FROM users_rank WHERE rank <= $1")
    postgresql.rollback()


_MODULE_SCHEMA = ("CREATE SCHEMA desk;\n"
                  "CREATE TABLE desk.projects (id uuid PRIMARY KEY, title text);\n")
_MODULE_SEED = ("INSERT INTO desk.projects (id, title) VALUES (gen_random_uuid(), 'a');\n"
                "INSERT INTO desk.tasks (id) VALUES (1);\n"
                "SELECT id FROM nosuch;\n")


@pytest.mark.db
def test_a_script_reads_what_a_migration_beside_the_schemas_makes(
        database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """supasheet's optional modules (`supabase/examples/20251005100000_desk.sql`, a dated
    file, so a migration, but not of the schema's folder) each make a schema its seed
    (`d_seed.sql`) fills; `apply.sh` runs one, then the other: 128 false DBS301 "no schema
    `desk`". What such a migration makes is there for the scripts, also on a cached run;
    a relation nothing makes is still missing."""
    from dbsafe.validate import scan

    monkeypatch.setattr(scan, "_SETTLED", 0)  # remember files written just now
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_SCHEMA)
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n", encoding="utf-8")
    examples = tmp_path / "app" / "examples"
    examples.mkdir(parents=True)
    (examples / "20251005100000_desk.sql").write_text(_MODULE_SCHEMA, encoding="utf-8")
    (examples / "d_seed.sql").write_text(_MODULE_SEED, encoding="utf-8")
    expected = [("DBS301", "app/examples/d_seed.sql", 3)]
    assert _validate(database_url, tmp_path) == expected
    assert _validate(database_url, tmp_path) == expected  # from the cache
    (examples / "20251005100000_desk.sql").write_text("SELECT 1;\n", encoding="utf-8")
    assert _validate(database_url, tmp_path) == [
        ("DBS301", "app/examples/d_seed.sql", 1), ("DBS301", "app/examples/d_seed.sql", 2),
        ("DBS301", "app/examples/d_seed.sql", 3)]


# pg_chameleon's MySQL test data (the4thdoctor/pg_chameleon, `pg_chameleon/sql/tests/`):
# `06_create_broken.sql` creates `test_broken` in MySQL's dialect, which PostgreSQL's
# parser rejects, and `07_insert_broken.sql` fills it: a false DBS301, where the table
# `01_create.sql` creates in PostgreSQL-compatible SQL was already known. The table such a
# `CREATE` makes, read by sqlglot, is made for the project's other scripts too.
_MYSQL_CREATE = """CREATE TABLE test_broken (
  id SMALLINT UNSIGNED NULL AUTO_INCREMENT,
  val_enum enum('postgresql','rocks') null,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
"""


@pytest.mark.db
def test_a_script_reads_what_another_scripts_rejected_create_makes(
        database_url: str, tmp_path: Path) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn, \
            pytest.raises(psycopg.errors.SyntaxError):
        conn.execute(_MYSQL_CREATE)  # not PostgreSQL's: it creates nothing there
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n", encoding="utf-8")
    tests = tmp_path / "app" / "tests"
    tests.mkdir(parents=True)
    (tests / "06_create_broken.sql").write_text(_MYSQL_CREATE, encoding="utf-8")
    (tests / "07_insert_broken.sql").write_text(
        "INSERT INTO test_broken (val_enum) VALUES ('rocks');\n"
        "INSERT INTO test_nowhere (id) VALUES (1);\n", encoding="utf-8")
    assert _validate(database_url, tmp_path) == [
        ("DBS301", "app/tests/07_insert_broken.sql", 2)]


@pytest.mark.db
def test_a_statement_reading_what_another_script_makes_is_counted_not_analysed(
        database_url: str, tmp_path: Path) -> None:
    # Mathesar's example data: `library_add_checkouts.sql` fills "Checkouts", which
    # another script creates; -v listed 14,930 references not analysed while the summary
    # counted their statements analysed.
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_SCHEMA)
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n", encoding="utf-8")
    data = tmp_path / "app" / "data"
    data.mkdir(parents=True)
    (data / "create.sql").write_text('CREATE TABLE "Checkouts" (id int, item int);\n',
                                     encoding="utf-8")
    (data / "fill.sql").write_text('INSERT INTO "Checkouts" VALUES (1, 2);\n'
                                   'INSERT INTO "Checkouts" (id, item) VALUES (2, 3);\n'
                                   'SELECT id FROM parcels;\n'
                                   'SELECT p.id, c.item FROM parcels p JOIN "Checkouts" c '
                                   'ON c.id = p.id;\n', encoding="utf-8")
    settings = load_settings(tmp_path, {"database-url": database_url,
                                        "cache-dir": str(tmp_path / ".cache")}, environ={})
    for _ in range(2):  # analysed, then from the cache
        report = commands.validate(settings, [tmp_path / "app"])
        assert report.findings == ()
        assert (report.summary["statements_analysed"],
                report.summary["statements_not_analysed"]) == (1, 3)
        assert len(report.skipped) == 3  # each statement's `Checkouts`, listed with -v
    # What was left unchecked: PostgreSQL refuses it on the schema as it is.
    with psycopg.connect(database_url) as conn, pytest.raises(psycopg.errors.UndefinedTable):
        conn.execute('PREPARE p AS INSERT INTO "Checkouts" VALUES (1, 2)')


# v4codeit/prato-rinaldo-webapp's `_docs_backup/.../seed-badges.sql` fills `slug` and
# `category` of `badges`, which `migration-add-badge-slug.sql` beside it adds: its references
# to `badges` were left unchecked, but `DO UPDATE SET category = EXCLUDED.category` was still
# reported (6 DBS302): EXCLUDED's columns are the target's, and a column looked for in
# several relations (`FROM badges, tenants`) may be in the one another script alters.
_BADGES = ("CREATE TABLE badges (id int PRIMARY KEY, name text);\n"
           "CREATE TABLE tenants (tid int PRIMARY KEY, title text);\n")
_ADD_SLUG = "ALTER TABLE badges ADD COLUMN slug text, ADD COLUMN category text;\n"
_SEED_BADGES = (
    "INSERT INTO badges (id, slug, category) VALUES (1, 'first', 'starter')\n"
    "ON CONFLICT (id) DO UPDATE SET slug = EXCLUDED.slug, category = EXCLUDED.category;\n"
    "SELECT category FROM badges, tenants;\n"
    "INSERT INTO tenants (tid) VALUES (1) ON CONFLICT (tid) DO UPDATE SET title = EXCLUDED.category;\n"
    "SELECT category FROM tenants AS a, tenants AS b;\n")


@pytest.mark.db
def test_excluded_reads_the_columns_another_script_adds_to_the_target(
        database_url: str, tmp_path: Path) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_BADGES)
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n", encoding="utf-8")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "migration-add-badge-slug.sql").write_text(_ADD_SLUG, encoding="utf-8")
    (tmp_path / "app" / "seed-badges.sql").write_text(_SEED_BADGES, encoding="utf-8")
    expected = [("DBS302", "app/seed-badges.sql", 4), ("DBS302", "app/seed-badges.sql", 5)]
    assert sorted(_validate(database_url, tmp_path)) == expected
    assert sorted(_validate(database_url, tmp_path)) == expected  # from the cache
    # The script no longer alters `badges`: its findings are back, the outcome cached.
    (tmp_path / "app" / "migration-add-badge-slug.sql").write_text("SELECT 1;\n",
                                                                   encoding="utf-8")
    assert sorted(_validate(database_url, tmp_path)) == sorted([
        *expected, *[("DBS302", "app/seed-badges.sql", line) for line in (1, 1, 2, 2, 2, 2, 3)]])


@pytest.mark.db
def test_excluded_has_the_columns_the_other_script_adds(
        postgresql: psycopg.Connection) -> None:
    postgresql.execute(_BADGES)
    statements = [s.strip() for s in _SEED_BADGES.split(";\n") if s.strip()]
    for statement in statements:  # before the script, each one is refused
        with pytest.raises(psycopg.errors.UndefinedColumn):
            postgresql.execute(f"PREPARE s AS {statement}")
        postgresql.rollback()
        postgresql.execute(_BADGES)
    postgresql.execute(_ADD_SLUG)
    for statement in statements[:2]:
        postgresql.execute(f"PREPARE s AS {statement}")
        postgresql.execute("DEALLOCATE s")
    for statement in statements[2:]:  # tenants has no `category` still
        with pytest.raises(psycopg.errors.UndefinedColumn):
            postgresql.execute(f"PREPARE s AS {statement}")
        postgresql.rollback()
        postgresql.execute(_BADGES)
        postgresql.execute(_ADD_SLUG)


# LNbits (lnbits/lnbits, `lnbits/core/migrations.py`) keeps its migrations in code: `m001`
# runs `CREATE TABLE IF NOT EXISTS apipayments (... wallet ...)`, `m023` `ALTER TABLE apipayments
# RENAME COLUMN wallet TO wallet_id`, and `core/crud/payments.py` still deletes `... AND wallet =
# :wallet` (42703 on the migrated schema), a bug listed as "not analysed: reads `apipayments`,
# which another module creates or alters". Where the schema has the table and the module's
# DDL of it is followed, only the columns it adds or renames to are made for the others. A
# `CREATE TABLE` built at run time (`invoices`, a type from `db.big_int` as in LNbits' m001)
# changes nothing either: pglast rejects it only for its holes.
_MIGRATIONS = '''\
async def m001_initial(db):
    await db.execute("CREATE TABLE IF NOT EXISTS payments (id int, wallet text)")
    await db.execute("DROP TABLE IF EXISTS ledger")
    await db.execute("CREATE TABLE ledger (id int, note text)")
    await db.execute(f"CREATE TABLE IF NOT EXISTS invoices (id {db.big_int}, wallet text)")


async def m002_rename(db):
    await db.execute("ALTER TABLE payments RENAME COLUMN wallet TO wallet_id")
    await db.execute("ALTER TABLE payments ADD COLUMN extra text")
    await db.execute("CREATE INDEX by_wallet ON payments (wallet_id)")
    await db.execute("CREATE TEMP TABLE shadow (id int, memo text)")
    await db.execute("ALTER TABLE invoices RENAME COLUMN wallet TO wallet_id")
'''
_CRUD = '''\
async def delete(db, wallet):
    await db.execute("DELETE FROM payments WHERE id = 1 AND wallet = :wallet", {"wallet": wallet})
    await db.fetchall("SELECT extra FROM payments")
    await db.fetchall("SELECT note FROM ledger")
    await db.fetchall("SELECT memo FROM shadow")
    await db.fetchall("SELECT wallet FROM invoices")
'''
# The schema as the application's own database has it before `m002` ran: the module may
# still add `extra` at run time; `ledger` is dropped and made anew; `shadow` is a temporary
# table shadowing the schema's.
_MIGRATED = ("CREATE TABLE payments (id int, wallet_id text);"
             "CREATE TABLE ledger (id int); CREATE TABLE shadow (id int);"
             "CREATE TABLE invoices (id bigint, wallet_id text)")


@pytest.mark.db
def test_a_column_the_modules_followed_ddl_renamed_away_is_missing(
        database_url: str, tmp_path: Path) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_MIGRATED)
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n", encoding="utf-8")
    (tmp_path / "app" / "crud").mkdir(parents=True)
    (tmp_path / "app" / "migrations.py").write_text(_MIGRATIONS, encoding="utf-8")
    (tmp_path / "app" / "crud" / "payments.py").write_text(_CRUD, encoding="utf-8")
    expected = [("DBS302", "app/crud/payments.py", 2), ("DBS302", "app/crud/payments.py", 6)]
    assert _validate_code(database_url, tmp_path) == expected
    assert _validate_code(database_url, tmp_path) == expected  # from the cache


@pytest.mark.db
def test_the_renamed_column_is_gone_once_the_migrations_ran(
        postgresql: psycopg.Connection) -> None:
    statements = [s.replace("{db.big_int}", "bigint") for s in _MIGRATIONS.split('"')[1::2]]
    for statement in statements:
        postgresql.execute(statement)
    for gone in ("DELETE FROM payments WHERE id = 1 AND wallet = $1", "SELECT wallet FROM invoices"):
        with pytest.raises(psycopg.errors.UndefinedColumn):
            postgresql.execute(f"PREPARE gone AS {gone}")
        postgresql.rollback()
        for statement in statements:
            postgresql.execute(statement)
    for name, query in (("extra", "SELECT extra FROM payments"), ("note", "SELECT note FROM ledger"),
                        ("memo", "SELECT memo FROM shadow")):
        postgresql.execute(f"PREPARE {name} AS {query}")
    postgresql.rollback()
