"""Adds a marker table; the downgrade also drops and changes what 0001 built."""

from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.execute("CREATE TABLE marker (id int)")


def downgrade() -> None:
    op.execute("DROP TABLE marker")
    op.execute("DROP TABLE tags")
    op.execute("DROP INDEX ix_items_parent")
    op.execute("DROP INDEX ux_items_active_code")
    op.execute("ALTER TABLE items DROP CONSTRAINT ck_price, DROP CONSTRAINT fk_parent, "
               "DROP CONSTRAINT uq_items_code")
    op.execute("ALTER TABLE items DROP COLUMN note, DROP COLUMN payload, DROP COLUMN ref, "
               "DROP COLUMN born, DROP COLUMN tags")
    op.execute("ALTER TABLE items ALTER COLUMN price DROP DEFAULT")
    op.execute("ALTER TABLE items ALTER COLUMN qty TYPE bigint")
    op.execute("ALTER TABLE items ALTER COLUMN big DROP NOT NULL")
