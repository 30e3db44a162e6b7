"""Drops a column; the downgrade adds it back, at the end (column order only: a note)."""

from alembic import op

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    op.execute("ALTER TABLE reminders DROP COLUMN id")


def downgrade() -> None:
    op.execute("ALTER TABLE reminders ADD COLUMN id bigint")
