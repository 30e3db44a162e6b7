"""A view, a function and a trigger; the downgrade drops only the view."""

from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.execute("CREATE VIEW upcoming AS SELECT id, starts_at FROM appointments")
    op.execute("CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS "
               "$$BEGIN RETURN NEW; END$$")
    op.execute("CREATE TRIGGER tr_touch BEFORE UPDATE ON appointments "
               "FOR EACH ROW EXECUTE FUNCTION touch()")


def downgrade() -> None:
    op.execute("DROP VIEW upcoming")
