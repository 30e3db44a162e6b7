"""Data migration: backfill statuses. An empty downgrade is fine."""

from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.execute("UPDATE appointments SET status = 'done' WHERE starts_at < now()")


def downgrade() -> None:
    pass
