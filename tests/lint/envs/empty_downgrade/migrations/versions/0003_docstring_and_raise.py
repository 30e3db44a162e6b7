"""downgrade() has a docstring and raises NotImplementedError."""

from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.execute("CREATE TABLE step_3 (id bigint PRIMARY KEY)")


def downgrade() -> None:
    """Irreversible."""
    raise NotImplementedError("cannot downgrade")
