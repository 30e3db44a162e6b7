"""Runs nothing on PostgreSQL (a MySQL-only change) and has no downgrade() at all: alembic
cannot go back through it (AttributeError), where an empty downgrade() would do."""

from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    if op.get_context().dialect.name != "mysql":
        return
    op.execute("ALTER TABLE step_5 ENGINE=InnoDB")
