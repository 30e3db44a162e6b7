"""Materialized view of appointments per clinic and day, for the dashboard.

The dashboard refreshes it every few minutes with REFRESH MATERIALIZED VIEW CONCURRENTLY,
so readers are never blocked; CONCURRENTLY requires a unique index covering all rows and a
populated view, hence WITH DATA (cheap here: the view is new and the data small).

Revision ID: 0004_daily_counts
Revises: 0003_appointments
Create Date: 2026-11-09 09:00:00
"""

from __future__ import annotations

from alembic import op

revision: str = "0004_daily_counts"
down_revision: str | None = "0003_appointments"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    # Days are UTC days: the dashboard aggregates across clinics in different time zones.
    op.execute(
        """
        CREATE MATERIALIZED VIEW clinic_daily_appointment_counts AS
        SELECT
            a.clinic_id,
            (a.starts_at AT TIME ZONE 'UTC')::date AS day,
            count(*) AS appointment_count
        FROM appointments AS a
        WHERE a.status <> 'cancelled'
        GROUP BY a.clinic_id, (a.starts_at AT TIME ZONE 'UTC')::date
        WITH DATA
        """
    )
    op.create_index(
        "ux_clinic_daily_appointment_counts_clinic_day",
        "clinic_daily_appointment_counts",
        ["clinic_id", "day"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index(
        "ux_clinic_daily_appointment_counts_clinic_day",
        table_name="clinic_daily_appointment_counts",
    )
    op.execute("DROP MATERIALIZED VIEW clinic_daily_appointment_counts")
