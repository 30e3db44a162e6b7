"""Branch a: an email column with its index."""

from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.execute("ALTER TABLE patients ADD COLUMN email text")
    op.execute("CREATE INDEX ix_patients_email ON patients (email)")


def downgrade() -> None:
    op.execute("DROP INDEX ix_patients_email")
    op.execute("ALTER TABLE patients DROP COLUMN email")
