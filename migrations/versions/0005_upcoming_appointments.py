"""View of appointments still to come, with the patient's name, for reminder jobs.

Revision ID: 0005_upcoming_appointments
Revises: 0004_daily_counts
Create Date: 2026-11-12 09:00:00
"""

from __future__ import annotations

from alembic import op

revision: str = "0005_upcoming_appointments"
down_revision: str | None = "0004_daily_counts"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    # A plain view, not materialized: reminders must see a booking the moment it is made.
    op.execute(
        """
        CREATE VIEW upcoming_appointments AS
        SELECT
            a.id AS appointment_id,
            a.clinic_id,
            a.patient_id,
            p.full_name AS patient_name,
            p.email AS patient_email,
            a.starts_at,
            a.duration_min,
            a.status
        FROM appointments AS a
        JOIN patients AS p ON p.id = a.patient_id
        WHERE a.status IN ('booked', 'confirmed')
          AND a.starts_at >= now()
        """
    )


def downgrade() -> None:
    op.execute("DROP VIEW upcoming_appointments")
