"""Appointments: fully reversible."""

from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.execute("CREATE TABLE appointments (id bigint PRIMARY KEY, clinic_id int NOT NULL, "
               "starts_at timestamptz NOT NULL, status text NOT NULL)")
    op.execute("CREATE TYPE mood AS ENUM ('calm')")
    op.execute("CREATE MATERIALIZED VIEW per_status AS "
               "SELECT status, count(*) AS n FROM appointments GROUP BY status")


def downgrade() -> None:
    op.execute("DROP MATERIALIZED VIEW per_status")
    op.execute("DROP TYPE mood")
    op.execute("DROP TABLE appointments")
