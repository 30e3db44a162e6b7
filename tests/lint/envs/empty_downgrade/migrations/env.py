"""Offline-only environment: renders the revisions as PostgreSQL SQL."""

from alembic import context

context.configure(dialect_name="postgresql", literal_binds=True, transaction_per_migration=True)
with context.begin_transaction():
    context.run_migrations()
