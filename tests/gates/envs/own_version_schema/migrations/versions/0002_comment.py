"""A comment and a column; the downgrade forgets the comment."""

from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.execute("ALTER TABLE app.tokens ADD COLUMN label text")
    op.execute("COMMENT ON TABLE app.tokens IS 'API tokens'")


def downgrade() -> None:
    op.execute("ALTER TABLE app.tokens DROP COLUMN label")
