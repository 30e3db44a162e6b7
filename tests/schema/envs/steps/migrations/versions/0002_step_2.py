"""Add a column and an index to step_1."""

from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.execute("ALTER TABLE step_1 ADD COLUMN note text")
    op.execute("CREATE INDEX step_1_note_idx ON step_1 (note)")


def downgrade() -> None:
    op.execute("DROP INDEX step_1_note_idx")
    op.execute("ALTER TABLE step_1 DROP COLUMN note")
