"""No downgrade() at all."""

from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.execute("CREATE TABLE step_5 (id bigint PRIMARY KEY)")
