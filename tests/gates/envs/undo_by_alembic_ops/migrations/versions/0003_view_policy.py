"""A view and a policy; the downgrade forgets both."""

from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.execute("CREATE VIEW cheap_items AS SELECT id, code FROM items WHERE price < 10")
    op.execute("ALTER TABLE items ENABLE ROW LEVEL SECURITY")
    op.execute("CREATE POLICY positive ON items USING (price >= 0)")


def downgrade() -> None:
    op.execute("ALTER TABLE items DISABLE ROW LEVEL SECURITY")
