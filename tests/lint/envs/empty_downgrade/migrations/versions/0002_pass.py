"""downgrade() is only `pass`."""

from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.execute("CREATE TABLE step_2 (id bigint PRIMARY KEY)")


def downgrade() -> None:
    pass
