"""A data migration: upgrade() changes rows only, so going back through its empty
downgrade() leaves the schema as it was (ihatemoney's three data migrations)."""

from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    op.execute("UPDATE step_2 SET id = id + 1")
    op.execute("DELETE FROM step_2 WHERE id > 100")


def downgrade() -> None:
    pass
