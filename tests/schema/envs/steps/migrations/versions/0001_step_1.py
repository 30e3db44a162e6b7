"""Create step_1."""

from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.execute("CREATE TABLE step_1 (id bigint PRIMARY KEY)")


def downgrade() -> None:
    op.execute("DROP TABLE step_1")
