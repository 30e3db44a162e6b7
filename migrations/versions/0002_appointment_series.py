"""Recurring appointment series (weekly physio, monthly check-ups).

There is deliberately no `notes` column: notes belong to single appointments (0003).
The app in examples/clinic still queries `appointment_series.notes`, the incident dbsafe
was built to catch.

Revision ID: 0002_appointment_series
Revises: 0001_clinics
Create Date: 2026-11-03 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002_appointment_series"
down_revision: str | None = "0001_clinics"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    op.create_table(
        "appointment_series",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("clinic_id", sa.BigInteger(), nullable=False),
        sa.Column("patient_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        # RFC 5545 recurrence rule, e.g. "FREQ=WEEKLY;BYDAY=TU"; expanded by the app.
        sa.Column("rrule", sa.Text(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        # NULL: the series runs until cancelled.
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_appointment_series"),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name="fk_appointment_series_clinic_id_clinics"
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name="fk_appointment_series_patient_id_patients"
        ),
        sa.CheckConstraint(
            "ends_on IS NULL OR ends_on >= starts_on", name="ck_appointment_series_dates"
        ),
    )
    op.create_index(
        "ix_appointment_series_patient_id", "appointment_series", ["patient_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_appointment_series_patient_id", table_name="appointment_series")
    op.drop_table("appointment_series")
