"""downgrade() is `...` (a stub)."""

from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.execute("CREATE TABLE step_4 (id bigint PRIMARY KEY)")


def downgrade() -> None: ...
