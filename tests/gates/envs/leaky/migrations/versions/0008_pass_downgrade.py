"""Adds a table; the downgrade is pass."""

from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    op.execute("CREATE TABLE reminders (id bigint)")


def downgrade() -> None:
    pass
