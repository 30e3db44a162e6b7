"""An enum value and a materialized view's unique index; the downgrade only refreshes."""

from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.execute("ALTER TYPE mood ADD VALUE 'tense'")
    op.execute("CREATE UNIQUE INDEX ux_per_status ON per_status (status)")


def downgrade() -> None:
    op.execute("REFRESH MATERIALIZED VIEW per_status")
