"""A policy and a grant; the downgrade revokes nothing."""

from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.execute("ALTER TABLE appointments ENABLE ROW LEVEL SECURITY")
    op.execute("CREATE POLICY own_clinic ON appointments USING (clinic_id > 0)")
    op.execute("GRANT SELECT ON appointments TO PUBLIC")


def downgrade() -> None:
    op.execute("DROP POLICY own_clinic ON appointments")
    op.execute("ALTER TABLE appointments DISABLE ROW LEVEL SECURITY")
