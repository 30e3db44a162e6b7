"""Note column and an index; the downgrade forgets the index."""

from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.execute("ALTER TABLE appointments ADD COLUMN note text")
    op.execute("CREATE INDEX ix_a ON appointments (clinic_id)")


def downgrade() -> None:
    op.execute("ALTER TABLE appointments DROP COLUMN note")
