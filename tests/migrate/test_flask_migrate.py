"""A Flask-Migrate project, run as `flask db upgrade` runs it: no `alembic-config`, no
changes to its files (tests/migrate/flask_project: `flask db init`'s migrations folder, an
application factory in app.py).

dbsafe found no `migrations/alembic.ini` from the project root ("alembic config not found",
exit 2), that alembic.ini names no `script_location` (Flask-Migrate passes the folder), and
its env.py reads Flask's `current_app`, which failed outside an application context before
any revision ran. The application's own database (SHOP_DATABASE_URL, the decoy) must stay
untouched: the sandbox sends Flask-SQLAlchemy's engine to the database dbsafe chose.
Real PostgreSQL; Flask, Flask-SQLAlchemy and Flask-Migrate in a virtualenv built once
(`flask_migrate_python`)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import psycopg.conninfo
import pytest

from dbsafe.config import default_alembic_config, flask_migrate_folder
from dbsafe.migrate import script_locations
from tests.helpers import databases, dbsafe_in_process

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_server_throwaways"),
              pytest.mark.xdist_group("flask_migrate")]  # the worker that built the venv

PROJECT = Path(__file__).parent / "flask_project"


@pytest.fixture
def new_database(conninfo: str) -> Iterator[Callable[[], str]]:
    yield from databases(conninfo, "flask_migrate")


@pytest.fixture
def decoy(new_database: Callable[[], str]) -> str:
    """The database the application's configuration names: a customers table with a row,
    as a production database would have, which no run of dbsafe may reach."""
    url = new_database()
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE customers (id int PRIMARY KEY, name text, email text)")
        conn.execute("INSERT INTO customers VALUES (1, 'Ada', 'ada@example.org')")
    return url


def _state(url: str) -> list[Any]:
    with psycopg.connect(url) as conn:
        return [
            conn.execute("SELECT table_name, column_name FROM information_schema.columns "
                         "WHERE table_schema = 'public' ORDER BY 1, 2").fetchall(),
            conn.execute("SELECT * FROM customers ORDER BY id").fetchall(),
        ]


def _project(root: Path) -> Path:
    shutil.copytree(PROJECT, root, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def _sqlalchemy_url(conninfo: str) -> str:
    params = psycopg.conninfo.conninfo_to_dict(conninfo)
    password = f":{params['password']}" if params.get("password") else ""
    return (f"postgresql+psycopg2://{params['user']}{password}@/{params['dbname']}"
            f"?host={params['host']}&port={params['port']}")


def _run(root: Path, python: str, decoy: str, *args: str,
         **env: str | None) -> tuple[int, str, str]:
    result = dbsafe_in_process(*args, cwd=root, env={
        "DBSAFE_PYTHON": python, "SHOP_DATABASE_URL": _sqlalchemy_url(decoy),
        "DBSAFE_CACHE": "false", **env})
    return result.returncode, result.stdout, result.stderr


def test_the_migrations_folder_is_found_and_is_its_own_script_location(
        tmp_path: Path) -> None:
    root = _project(tmp_path / "shop")
    ini = root / "migrations" / "alembic.ini"
    assert flask_migrate_folder(root / "migrations")
    assert default_alembic_config(root, root) == ini
    assert default_alembic_config(root / "shop", root) == ini
    assert script_locations(ini) == [root / "migrations"]
    # A folder of alembic's own (`alembic init`: no current_app) is not Flask-Migrate's
    (root / "migrations" / "env.py").write_text("from alembic import context\n")
    assert not flask_migrate_folder(root / "migrations")
    assert default_alembic_config(root, root) == root / "alembic.ini"


def test_lint_and_validate_run_from_the_project_root(
        flask_migrate_python: str, decoy: str, tmp_path: Path) -> None:
    root = _project(tmp_path / "shop")
    before = _state(decoy)

    code, out, err = _run(root, flask_migrate_python, decoy, "lint")
    assert code == 1, out + err
    # run on the throwaway server, not rendered offline; the application's query read
    assert "Linted the SQL each revision ran on a throwaway server." in out, out + err
    assert "migrations/versions/0003_drop_email.py:16:5: DBS202 [error]" in out
    assert "DBS211 [error] `customers.email` is dropped here but still used by " \
        "`shop/queries.sql:2:14`" in out

    code, out, err = _run(root, flask_migrate_python, decoy, "validate", "--format", "json")
    assert code == 1, err
    # the application's query reads customers.email, which 0003 drops: head's schema
    assert [(f["code"], f["subject"]) for f in json.loads(out)["findings"]] == [
        ("DBS302", "public.customers.email")]

    assert _state(decoy) == before


def test_upgrade_status_downgrade_of_a_real_database(
        flask_migrate_python: str, decoy: str, new_database: Callable[[], str],
        tmp_path: Path) -> None:
    root = _project(tmp_path / "shop")
    target = new_database()
    before = _state(decoy)

    code, out, err = _run(root, flask_migrate_python, decoy, "plan", "--database-url", target)
    assert "outcome: planned" in out, out + err
    assert [line for line in out.splitlines() if line[:4].isdigit()] == [
        "0001  customers", "0002  orders", "0003  customers lose their e-mail address"]

    # Its walk asks for a twin database in the same child: Flask-SQLAlchemy's engine, made
    # once, must not hand out its pooled connection to the first one (DBS413 on every
    # table: "downgrade leaves table public.customers").
    code, out, err = _run(root, flask_migrate_python, decoy, "verify-reversible")
    assert code == 0, out + err
    assert out.strip().startswith("no findings"), out + err

    # An application that migrates its database as it starts (CTFd's) does not take the
    # target to heads behind dbsafe's back: its upgrade() is skipped while it loads.
    code, out, err = _run(root, flask_migrate_python, decoy, "upgrade", "0002",
                          "--allow", "DBS209", "--database-url", target, "--no-backup",
                          SHOP_MIGRATE_ON_START="1")
    assert code == 0, out + err
    with psycopg.connect(target) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0002",)]
        assert conn.execute("SELECT to_regclass('orders_customer_id')").fetchone() == (
            "orders_customer_id",)

    code, out, err = _run(root, flask_migrate_python, decoy, "status",
                          "--database-url", target)
    assert code == 0, out + err
    assert out.splitlines()[:3] == ["current: 0002", "heads:   0003", "pending: 1"], out

    code, out, err = _run(root, flask_migrate_python, decoy, "downgrade", "0001",
                          "--database-url", target, "--no-backup", "--yes")
    assert code == 0, out + err
    with psycopg.connect(target) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0001",)]
        assert conn.execute("SELECT to_regclass('orders')").fetchone() == (None,)

    assert _state(decoy) == before


def test_an_application_that_cannot_be_loaded_is_one_line_and_exit_2(
        flask_migrate_python: str, decoy: str, tmp_path: Path) -> None:
    root = _project(tmp_path / "shop")
    (root / "app.py").rename(root / "shop_app.py")  # neither wsgi.py nor app.py

    code, out, err = _run(root, flask_migrate_python, decoy, "lint", "--offline")
    assert code == 2, out + err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert "cannot load the Flask application env.py needs" in lines[0]
    assert f"tried wsgi.py and app.py in {root}" in lines[0]
    assert "FLASK_APP=module:app" in lines[0]

    # Named so, with the config named too (as `flask db -d migrations` would), it runs.
    code, out, err = _run(root, flask_migrate_python, decoy, "lint", "--offline",
                          "--alembic-config", "migrations/alembic.ini",
                          FLASK_APP="shop_app:create_app()")
    assert code == 1, out + err
    assert "DBS202" in out


def test_an_application_that_fails_as_it_loads_is_said_once_with_what_to_give_it(
        flask_migrate_python: str, decoy: str, tmp_path: Path) -> None:
    """Found, but its own code raised as it loaded (redash's create_app() without
    REDASH_COOKIE_SECRET, or with no redis to reach): the error names that, not how to name
    an application already named; and lint's capture on a throwaway server does not fall
    back to offline rendering, which loads the application the same way (the same message
    came twice, the second "tried because it could not run on a throwaway server: ...")."""
    root = _project(tmp_path / "shop")

    code, out, err = _run(root, flask_migrate_python, decoy, "lint",
                          SHOP_DATABASE_URL=None)  # create_app() reads it: KeyError
    assert code == 2, out + err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].count("cannot load the Flask application") == 1, err
    assert "tried because" not in lines[0]
    assert "tried wsgi.py and app.py" in lines[0]
    assert "it was found but failed as it loads: KeyError: 'SHOP_DATABASE_URL'" in lines[0]
    assert "give it the settings `flask db upgrade` needs" in lines[0]
    assert "name the application as the flask command reads it" not in lines[0]


# The project's own CLI, as redash's `redash/cli/__init__.py` (`./manage.py db upgrade`)
_GROUP_CLI = '''"""The shop's command line: `./manage.py db upgrade`."""
import click
from flask.cli import FlaskGroup

from shop_app import create_app


@click.group(cls=FlaskGroup, create_app=create_app)
def manager():
    """Management script for the shop."""


if __name__ == "__main__":
    manager()
'''


def test_an_application_made_by_the_projects_flask_group_cli_is_loaded_without_flask_app(
        flask_migrate_python: str, decoy: str, tmp_path: Path) -> None:
    """redash and lemur start as `./manage.py db upgrade` / `lemur db upgrade`: a
    `FlaskGroup(create_app=...)` CLI, no wsgi.py or app.py, no FLASK_APP. dbsafe said to set
    FLASK_APP; it now loads the application as that CLI does, in the sandbox."""
    root = _project(tmp_path / "shop")
    (root / "app.py").rename(root / "shop_app.py")
    (root / "manage.py").write_text(_GROUP_CLI)
    before = _state(decoy)

    code, out, err = _run(root, flask_migrate_python, decoy, "validate", "--format", "json")
    assert code == 1, err
    assert [(f["code"], f["subject"]) for f in json.loads(out)["findings"]] == [
        ("DBS302", "public.customers.email")]

    # As it fails to load, the error names where it was found (SHOP_DATABASE_URL unset)
    code, out, err = _run(root, flask_migrate_python, decoy, "lint", "--offline",
                          SHOP_DATABASE_URL=None)
    assert code == 2, out + err
    assert "tried the create_app of the FlaskGroup CLI in manage.py (manage:create_app; " \
        "FLASK_APP is not set): it was found but failed as it loads: KeyError" in err, err

    # Two CLIs loading different applications: which one is not dbsafe's guess
    (root / "cli.py").write_text(_GROUP_CLI.replace("create_app=create_app", "create_app=other")
                                 .replace("from shop_app import create_app",
                                          "def other():\n    return None"))
    code, out, err = _run(root, flask_migrate_python, decoy, "lint", "--offline")
    assert code == 2, out + err
    assert "no Flask application there, and 2 FlaskGroup CLIs load different applications: " \
        "cli.py (cli:other), manage.py (manage:create_app); name the application" in err, err
    assert "Traceback" not in err
    assert _state(decoy) == before


def test_a_flask_group_cli_in_the_package_folder_dbsafe_runs_from_is_imported_as_its_module(
        flask_migrate_python: str, decoy: str, tmp_path: Path) -> None:
    """lemur runs from `lemur/` (its `migrations/` there), a package folder whose
    `manage.py` holds the CLI (`from lemur import create_app`): `lemur.manage`, with the folder
    above on the path, as `flask.cli.prepare_import` makes it."""
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "shop"\nversion = "1.0"\n')
    package = _project(root / "shop")
    (package / "pyproject.toml").unlink()
    (package / "__init__.py").write_text("")
    (package / "app.py").rename(package / "factory.py")
    (package / "manage.py").write_text(
        "from flask.cli import FlaskGroup\n\nfrom shop.factory import create_app\n\n"
        "cli = FlaskGroup(create_app=create_app)\n\n\ndef main():\n    cli()\n")
    before = _state(decoy)

    code, out, err = _run(package, flask_migrate_python, decoy, "lint", "--offline")
    assert code == 1, out + err
    assert "migrations/versions/0003_drop_email.py:16:5: DBS202 [error]" in out, out + err
    assert _state(decoy) == before



# The first revision of a history that starts from the application's `db.create_all()`
# (redash's adds columns to `queries`, lemur's references `certificates`)
_ALTERS_CUSTOMERS = '''"""customers get a VIP flag (customers: made by db.create_all())

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("customers", sa.Column("vip", sa.Boolean))


def downgrade():
    op.drop_column("customers", "vip")
'''


def test_a_history_starting_from_create_all_says_so_and_runs_with_its_tables_in_setup_sql(
        flask_migrate_python: str, decoy: str, tmp_path: Path) -> None:
    """redash's and lemur's histories alter tables no revision creates: their applications
    make them with `db.create_all()` and stamp the head. validate, verify-reversible and
    lint stopped at the first revision with PostgreSQL's `relation ... does not exist`
    alone; they say what the history assumes and how to give it (`setup-sql`), and with
    the tables given so the history runs."""
    root = _project(tmp_path / "shop")
    (root / "migrations" / "versions" / "0001_customers.py").write_text(_ALTERS_CUSTOMERS)
    before = _state(decoy)
    hint = ("the history starts from tables no migration creates: if the application makes "
            "them before it upgrades (`db.create_all()`, then a stamp of the head), give SQL "
            "creating them as they were before the first migration in `setup-sql`, or read a "
            "database that has them with --database-url")

    code, out, err = _run(root, flask_migrate_python, decoy, "validate")
    assert code == 2, out + err
    [line] = [line for line in err.splitlines() if line.startswith("dbsafe: error:")]
    assert line == ("dbsafe: error: revision 0001 (file migrations/versions/0001_customers.py): "
                    f'relation "customers" does not exist; {hint}'), err

    code, out, err = _run(root, flask_migrate_python, decoy, "verify-reversible",
                          "--format", "json")
    [failed] = json.loads(out)["findings"]
    assert (failed["code"], failed["subject"]) == ("DBS417", "0001"), out + err
    assert failed["help"].endswith(f"({hint}).")

    # redash's first revision catches the error and goes on: what fails is alembic's next
    # statement, "current transaction is aborted" (25P02), which said nothing of the cause
    (root / "migrations" / "versions" / "0001_customers.py").write_text(
        _ALTERS_CUSTOMERS.replace(
            '    op.add_column("customers", sa.Column("vip", sa.Boolean))\n',
            "    from sqlalchemy.exc import ProgrammingError\n\n    try:\n"
            '        op.add_column("customers", sa.Column("vip", sa.Boolean))\n'
            "    except ProgrammingError as e:\n"
            "        if 'already exists' in str(e):  # as redash's: the old migrations ran\n"
            "            raise\n"))
    code, out, err = _run(root, flask_migrate_python, decoy, "validate")
    assert code == 2, out + err
    [line] = [line for line in err.splitlines() if line.startswith("dbsafe: error:")]
    assert line == ("dbsafe: error: revision 0001 (file migrations/versions/0001_customers.py): "
                    'relation "customers" does not exist (an earlier statement\'s error, which '
                    "the code caught and went on from; then: current transaction is aborted, "
                    f"commands ignored until end of transaction block); {hint}"), err

    (root / "setup.sql").write_text(
        "-- what db.create_all() made before the first revision\n"
        "CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, email text);\n")
    with (root / "pyproject.toml").open("a") as file:
        file.write('\n[tool.dbsafe]\nsetup-sql = ["setup.sql"]\n')
    code, out, err = _run(root, flask_migrate_python, decoy, "verify-reversible",
                          "--format", "json")
    assert code == 0, out + err
    assert [f["code"] for f in json.loads(out)["findings"]] == ["DBS414"]  # vip after email
    code, out, err = _run(root, flask_migrate_python, decoy, "validate", "--format", "json")
    assert code == 1, out + err
    # setup.sql is the schema's source, not another SQL script making `customers`: the
    # query reading it is validated (it was "not analysed")
    validated = json.loads(out)
    assert [(f["code"], f["subject"]) for f in validated["findings"]] == [
        ("DBS302", "public.customers.email")]
    assert validated["summary"]["schema_files"] == 1
    assert _state(decoy) == before


# A history whose later revision alters the table the application makes as it loads
# (`settings`, SHOP_CREATE_ALL), after a revision whose failed downgrade leaves the walk's
# database changed, so that the walk goes on from a fresh database; and a revision whose
# leftover is compared with the twin database's schema.
_DOWNGRADE_FAILS_HALFWAY = '''"""orders

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.id"), nullable=False),
    )
    op.create_index("orders_customer_id", "orders", ["customer_id"])


def downgrade():
    with op.get_context().autocommit_block():  # dropped for good, then it fails
        op.drop_index("orders_customer_id", table_name="orders")
    op.execute("SELECT no_such_function()")
'''

_ALTERS_SETTINGS = '''"""settings get a value

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("settings", sa.Column("value", sa.Text))


def downgrade():
    op.drop_column("settings", "value")
'''

_LEAVES_AN_INDEX = '''"""settings are found by value

Revision ID: 0005
Revises: 0004
"""
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("settings_value", "settings", ["value"])


def downgrade():
    op.execute("COMMENT ON TABLE settings IS NULL")  # and the index stays
'''


def test_the_walks_fresh_databases_have_what_the_application_made_as_it_loaded(
        flask_migrate_python: str, decoy: str, tmp_path: Path) -> None:
    """Superset's Flask-AppBuilder makes its `ab_*` tables in `create_app()`, once per
    process: in the walk's first database only. After a downgrade that failed halfway the
    walk went on from a fresh database, where a later revision altering `ab_user` failed
    (DBS417 `relation "ab_user" does not exist`) and the 315 revisions after it were not
    verified. The fresh databases (the rebuilt one, the twin) are copies of the first one
    right after env.py's first run now: `settings` is there, and the walk goes to the end.
    The application's own database (the decoy) is never reached."""
    root = _project(tmp_path / "shop")
    versions = root / "migrations" / "versions"
    (versions / "0002_orders.py").write_text(_DOWNGRADE_FAILS_HALFWAY)
    (versions / "0004_settings_value.py").write_text(_ALTERS_SETTINGS)
    (versions / "0005_settings_value_index.py").write_text(_LEAVES_AN_INDEX)
    before = _state(decoy)

    code, out, err = _run(root, flask_migrate_python, decoy, "verify-reversible",
                          "--format", "json", SHOP_CREATE_ALL="1")
    report = json.loads(out)
    assert [(f["code"], f["subject"]) for f in report["findings"]] == [
        ("DBS412", "0002"), ("DBS411", "0005")], out + err
    left = {c["title"]: c["text"] for c in report["findings"][1]["context"]}["Left behind"]
    assert left == "index `public.settings.settings_value`: only in the source"  # the twin has `settings`
    assert report["summary"]["revisions_verified"] == 5, out
    assert code == 1
    assert _state(decoy) == before
    with psycopg.connect(decoy) as conn:  # the application made it on dbsafe's database
        assert conn.execute("SELECT to_regclass('settings')").fetchone() == (None,)
