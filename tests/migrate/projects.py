"""Alembic test projects built in tmp_path: one history, one env.py per way projects find
their database URL (the patterns the sandbox must contain)."""

from __future__ import annotations

from pathlib import Path

ALEMBIC_INI = """\
[alembic]
script_location = %(here)s/migrations
prepend_sys_path = .
sqlalchemy.url = {url}

[loggers]
keys = root,alembic

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARNING
handlers = console
qualname =

[logger_alembic]
level = INFO
handlers =
qualname = alembic

[handler_console]
class = StreamHandler
args = (sys.stdout,)
level = NOTSET
formatter = generic

[formatter_generic]
format = %(levelname)-5.5s [%(name)s] %(message)s
"""

# alembic's own `generic` template, as `alembic init` writes it: fileConfig, offline mode
# from sqlalchemy.url, online mode through engine_from_config (so, sqlalchemy.url).
_ENV_HEAD = """\
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import engine_from_config, pool, create_engine

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name)
target_metadata = None
print("env.py of the test project says hello on stdout")

"""

_OFFLINE = """
def run_migrations_offline():
    url = config.get_main_option("sqlalchemy.url")
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True,
                      dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()

"""

_ONLINE_FROM_CONFIG = """
def run_migrations_online():
    connectable = engine_from_config(config.get_section(config.config_ini_section, {}),
                                     prefix="sqlalchemy.", poolclass=pool.NullPool)
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()

"""

# alembic's `async` template's online run: `do_run_migrations(connection)` (each project's
# own, before it) on an async engine from sqlalchemy.url.
_ASYNC_ONLINE = """
async def run_async_migrations():
    connectable = async_engine_from_config(config.get_section(config.config_ini_section, {}),
                                           prefix="sqlalchemy.", poolclass=pool.NullPool)
    async with connectable.connect() as connection:
        await connection.run_sync(do_run_migrations)
    await connectable.dispose()


def run_migrations_online():
    asyncio.run(run_async_migrations())

"""

_TAIL = """
if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
"""

ENV_PY = {
    # The cookbook's "sharing a connection" recipe: uses the connection dbsafe hands over.
    "well_behaved": _ENV_HEAD + _OFFLINE + """
def run_migrations_online():
    connection = config.attributes.get("connection")
    if connection is None:
        connectable = engine_from_config(config.get_section(config.config_ini_section, {}),
                                         prefix="sqlalchemy.", poolclass=pool.NullPool)
        with connectable.connect() as connection:
            _run(connection)
    else:
        _run(connection)


def _run(connection):
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()

""" + _TAIL,
    # url = os.environ.get("APP_DB_URL") or config.get_main_option(...)
    "environment_variable": _ENV_HEAD + _OFFLINE + """
def run_migrations_online():
    url = os.environ.get("APP_DB_URL") or config.get_main_option("sqlalchemy.url")
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()

""" + _TAIL,
    # No offline branch: online whatever the mode, its engine on the URL alembic.ini names
    # (fractal-server's env.py builds its own from POSTGRES_* the same way): offline
    # rendering renders no revision (`write_project(..., ini_url="postgresql+psycopg://...")`).
    "online_only": _ENV_HEAD + """
def run_migrations_online():
    engine = create_engine(config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
""",
    # FastAPI / cookiecutter: config.set_main_option("sqlalchemy.url", settings.DATABASE_URI)
    "settings_module": _ENV_HEAD.replace(
        "target_metadata = None",
        "target_metadata = None\nfrom app_settings import settings\n"
        'config.set_main_option("sqlalchemy.url", settings.DATABASE_URI)',
    ) + _OFFLINE + _ONLINE_FROM_CONFIG + _TAIL,
    # A URL written into env.py itself.
    "hard_coded": _ENV_HEAD + _OFFLINE + """
def run_migrations_online():
    engine = create_engine("{victim_psycopg2}", poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()

""" + _TAIL,
    # alembic's `async` template: async_engine_from_config on sqlalchemy.url (asyncpg).
    "async_engine": _ENV_HEAD + _OFFLINE + """
import asyncio
from sqlalchemy.ext.asyncio import async_engine_from_config


def do_run_migrations(connection):
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()

""" + _ASYNC_ONLINE + _TAIL,
    # Arize Phoenix's: an async engine on sqlalchemy.url (asyncpg), its tables in a schema of
    # its own, `app`, made and put on the search path by env.py on its connection (the
    # revisions name their tables unqualified), its version table there too.
    "own_schema": _ENV_HEAD + _OFFLINE + """
import asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_engine_from_config


def do_run_migrations(connection):
    connection.execute(text("CREATE SCHEMA IF NOT EXISTS app"))
    connection.execute(text("SET search_path TO app"))
    connection.commit()
    context.configure(connection=connection, target_metadata=target_metadata,
                      version_table_schema="app", transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()

""" + _ASYNC_ONLINE + _TAIL,
    # The project's own psycopg2 URL in alembic.ini, read by the stock template.
    "psycopg2_url": _ENV_HEAD + _OFFLINE + _ONLINE_FROM_CONFIG + _TAIL,
    # Goes around SQLAlchemy: a raw driver connection to the URL of its choice.
    "raw_driver": _ENV_HEAD + _OFFLINE + """
def run_migrations_online():
    import psycopg
    with psycopg.connect(os.environ["APP_DB_URL"]) as raw:
        raw.execute("SELECT 1")
    engine = create_engine(config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()

""" + _TAIL,
}

# A FastAPI service's settings (pydantic-settings): the database URL typed as pydantic's
# `PostgresDsn`, read from SQLALCHEMY_DATABASE_URI (Tasking Manager's), put in
# sqlalchemy.url unescaped, and reached through each driver straight from that URL too;
# APP_OTHER_DATABASE names a database the raw connections go to instead (the sandbox's).
ENV_PY["typed_settings"] = _ENV_HEAD.replace("target_metadata = None", """\
target_metadata = None
from pydantic import PostgresDsn
from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    SQLALCHEMY_DATABASE_URI: PostgresDsn


settings = Settings()
config.set_main_option("sqlalchemy.url", str(settings.SQLALCHEMY_DATABASE_URI))""") + _OFFLINE + """
def run_migrations_online():
    import asyncio
    import asyncpg
    import psycopg
    import psycopg2

    url = str(settings.SQLALCHEMY_DATABASE_URI)
    if os.environ.get("APP_OTHER_DATABASE"):
        url = url.rpartition("/")[0] + "/" + os.environ["APP_OTHER_DATABASE"]
    with psycopg.connect(url) as raw:
        raw.execute("SELECT 1")
    psycopg2.connect(url).close()

    async def reach():
        await (await asyncpg.connect(url)).close()

    asyncio.run(reach())
    connectable = engine_from_config(config.get_section(config.config_ini_section, {}),
                                     prefix="sqlalchemy.", poolclass=pool.NullPool)
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()

""" + _TAIL

# As "own_schema", and its offline branch puts the schema on the rendered script's search
# path too (`context.execute("SET search_path TO app")`, before the revisions' SQL): their
# unqualified names are app's in `alembic upgrade --sql`'s output as well.
ENV_PY["own_schema_offline_path"] = ENV_PY["own_schema"].replace(_OFFLINE, _OFFLINE.replace(
    "        context.run_migrations()",
    '        context.execute("SET search_path TO app")\n        context.run_migrations()'), 1)
assert ENV_PY["own_schema_offline_path"] != ENV_PY["own_schema"]

REVISIONS = {
    "0001_patients.py": '''"""patients"""
from alembic import op

revision = "0001"
down_revision = None


def upgrade():
    op.execute("CREATE TABLE patients (id bigint PRIMARY KEY, name text NOT NULL, email text)")


def downgrade():
    op.execute("DROP TABLE patients")
''',
    "0002_orders.py": '''"""orders"""
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade():
    op.execute("CREATE TABLE orders (id bigint PRIMARY KEY, patient_id bigint REFERENCES patients)")


def downgrade():
    op.execute("DROP TABLE orders")
''',
    "0003_drop_email.py": '''"""drop patients.email"""
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade():
    op.drop_column("patients", "email")


def downgrade():
    op.execute("ALTER TABLE patients ADD COLUMN email text")
''',
    "0004_index.py": '''"""index orders.patient_id concurrently"""
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade():
    with op.get_context().autocommit_block():
        op.create_index("ix_orders_patient", "orders", ["patient_id"],
                        postgresql_concurrently=True)


def downgrade():
    with op.get_context().autocommit_block():
        op.drop_index("ix_orders_patient", table_name="orders", postgresql_concurrently=True)
''',
}

# Application code that still reads the column revision 0003 drops.
APP_SQL = "SELECT id, name, email FROM patients WHERE id = 1;\n"


def write_project(root: Path, pattern: str, *, victim_url: str = "",
                  ini_url: str = "driver://user:pass@localhost/dbname") -> Path:
    """Write the project for `pattern` under `root`; return its alembic.ini."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "alembic.ini").write_text(ALEMBIC_INI.format(url=ini_url.replace("%", "%%")))
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    env = ENV_PY[pattern].replace("{victim_psycopg2}", sqlalchemy_url(victim_url, "psycopg2"))
    (root / "migrations" / "env.py").write_text(env)
    for name, text in REVISIONS.items():
        (versions / name).write_text(text)
    (root / "app_settings.py").write_text(
        "class settings:\n"
        f"    DATABASE_URI = {sqlalchemy_url(victim_url, 'psycopg')!r}\n"
    )
    (root / "app").mkdir(exist_ok=True)
    (root / "app" / "queries.sql").write_text(APP_SQL)
    (root / "pyproject.toml").write_text('[tool.dbsafe]\nsource-paths = ["app"]\n')
    return root / "alembic.ini"


def sqlalchemy_url(libpq_url: str, driver: str) -> str:
    """`postgresql:///?host=..&dbname=..` (the test fixtures' form) for a SQLAlchemy driver."""
    if not libpq_url:
        return ""
    from urllib.parse import parse_qsl, urlsplit

    params = dict(parse_qsl(urlsplit(libpq_url).query))
    query = f"host={params['host']}&port={params['port']}"
    if driver == "asyncpg":
        # asyncpg takes the socket directory as host, like libpq.
        query = f"host={params['host']}&port={params['port']}"
    password = f":{params['password']}" if params.get("password") else ""
    return f"postgresql+{driver}://{params['user']}{password}@/{params['dbname']}?{query}"
