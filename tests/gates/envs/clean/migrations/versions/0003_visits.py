"""Branch b: a visits table, a view and a function."""

from alembic import op

revision = "0003"
down_revision = "0001"


def upgrade() -> None:
    op.execute("CREATE TABLE visits (id bigint PRIMARY KEY, patient_id bigint REFERENCES patients)")
    op.execute("CREATE VIEW visit_count AS SELECT patient_id, count(*) FROM visits GROUP BY 1")
    op.execute("CREATE FUNCTION one() RETURNS int LANGUAGE sql AS 'SELECT 1'")


def downgrade() -> None:
    op.execute("DROP FUNCTION one()")
    op.execute("DROP VIEW visit_count")
    op.execute("DROP TABLE visits")
