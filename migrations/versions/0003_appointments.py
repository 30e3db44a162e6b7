"""Single appointments, optionally generated from a series.

Revision ID: 0003_appointments
Revises: 0002_appointment_series
Create Date: 2026-11-05 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003_appointments"
down_revision: str | None = "0002_appointment_series"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None

STATUSES = ("booked", "confirmed", "cancelled", "completed", "no_show")


def upgrade() -> None:
    op.create_table(
        "appointments",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        # NULL for one-off bookings.
        sa.Column("series_id", sa.BigInteger(), nullable=True),
        sa.Column("patient_id", sa.BigInteger(), nullable=False),
        # Denormalised from the patient so the day view needs no join to filter by clinic.
        sa.Column("clinic_id", sa.BigInteger(), nullable=False),
        sa.Column("starts_at", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("duration_min", sa.Integer(), server_default=sa.text("30"), nullable=False),
        sa.Column("status", sa.Text(), server_default=sa.text("'booked'"), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_appointments"),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["appointment_series.id"],
            name="fk_appointments_series_id_appointment_series",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name="fk_appointments_patient_id_patients"
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name="fk_appointments_clinic_id_clinics"
        ),
        # A CHECK rather than an enum type: adding a status later is a cheap constraint
        # swap (NOT VALID + VALIDATE), not an ALTER TYPE.
        sa.CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in STATUSES) + ")",
            name="ck_appointments_status",
        ),
        sa.CheckConstraint("duration_min > 0", name="ck_appointments_duration_min"),
    )
    # The day view: WHERE clinic_id = ? AND starts_at in [day, day + 1).
    op.create_index(
        "ix_appointments_clinic_starts_at", "appointments", ["clinic_id", "starts_at"]
    )
    op.create_index("ix_appointments_patient_id", "appointments", ["patient_id"])


def downgrade() -> None:
    op.drop_index("ix_appointments_patient_id", table_name="appointments")
    op.drop_index("ix_appointments_clinic_starts_at", table_name="appointments")
    op.drop_table("appointments")
