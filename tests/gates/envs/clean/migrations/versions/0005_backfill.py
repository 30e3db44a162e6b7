"""Data migration with an empty downgrade (a note, not an error)."""

from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.execute("UPDATE patients SET email = lower(email)")


def downgrade() -> None:
    pass
