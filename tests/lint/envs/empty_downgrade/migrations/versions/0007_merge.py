"""A merge revision (`alembic merge`): upgrade() runs nothing, so there is nothing to undo."""

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
