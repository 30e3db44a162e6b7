"""Adds a column; the downgrade drops the wrong one and fails."""

from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    op.execute("ALTER TABLE reminders ADD COLUMN sent_at timestamptz")


def downgrade() -> None:
    op.execute("ALTER TABLE reminders DROP COLUMN sent")
