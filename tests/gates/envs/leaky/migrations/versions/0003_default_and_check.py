"""A default and a check constraint; the downgrade forgets both."""

from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.execute("ALTER TABLE appointments ALTER COLUMN status SET DEFAULT 'booked'")
    op.execute("ALTER TABLE appointments ADD CONSTRAINT ck_status "
               "CHECK (status IN ('booked', 'done'))")
    op.execute("CREATE TABLE audit (id bigint)")


def downgrade() -> None:
    op.execute("DROP TABLE audit")
