"""A downgrade that does something, even if only conditionally: not flagged."""

from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.execute("CREATE TABLE step_6 (id bigint PRIMARY KEY)")


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TABLE step_6")
