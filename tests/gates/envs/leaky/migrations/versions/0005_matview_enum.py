"""An enum value and a materialized view's unique index; the downgrade refreshes and takes
the view's comment away: it changes the schema, but not back (a downgrade that changes
nothing is DBS411)."""

from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.execute("ALTER TYPE mood ADD VALUE 'tense'")
    op.execute("CREATE UNIQUE INDEX ux_per_status ON per_status (status)")
    op.execute("COMMENT ON MATERIALIZED VIEW per_status IS 'by status'")


def downgrade() -> None:
    op.execute("REFRESH MATERIALIZED VIEW per_status")
    op.execute("COMMENT ON MATERIALIZED VIEW per_status IS NULL")
