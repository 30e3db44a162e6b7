"""Merge the branches, with a grant."""

from alembic import op

revision = "0004"
down_revision = ("0002", "0003")


def upgrade() -> None:
    op.execute("GRANT SELECT ON visits TO PUBLIC")


def downgrade() -> None:
    op.execute("REVOKE SELECT ON visits FROM PUBLIC")
