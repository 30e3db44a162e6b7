"""A schema of its own, a table with a default from env.py's function."""

from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.execute("CREATE SCHEMA app")
    op.execute("CREATE TABLE app.tokens (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), "
               "created_at timestamp NOT NULL DEFAULT meta.now_utc())")


def downgrade() -> None:
    op.execute("DROP TABLE app.tokens")
    op.execute("DROP SCHEMA app")
