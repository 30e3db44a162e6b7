"""A project's env.py: a schema and a function created before the first revision (as
projects create extensions), the version table in `meta`."""

from alembic import context
from sqlalchemy import engine_from_config, pool, text

config = context.config


def include_object(obj, name, type_, reflected, compare_to):
    return not (type_ == "table" and name.startswith("tmp_"))


connectable = engine_from_config(config.get_section(config.config_ini_section, {}),
                                 prefix="sqlalchemy.", poolclass=pool.NullPool)
with connectable.connect() as connection:
    connection.execute(text("CREATE SCHEMA IF NOT EXISTS meta"))
    # Runs on every connection, so it must be idempotent.
    connection.execute(text("CREATE OR REPLACE FUNCTION meta.now_utc() RETURNS timestamp LANGUAGE sql "
                            "AS $$SELECT now() AT TIME ZONE 'utc'$$"))
    connection.commit()
    context.configure(connection=connection, target_metadata=None,
                      version_table_schema="meta", include_object=include_object,
                      include_schemas=True)
    with context.begin_transaction():
        context.run_migrations()
