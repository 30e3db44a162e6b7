"""Dashboard reports, on SQLAlchemy Core with `text()` and `:name` parameters."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import text

if TYPE_CHECKING:
    import datetime as dt

    from sqlalchemy.orm import Session


def daily_counts(
    session: Session, clinic_id: int, first_day: dt.date, last_day: dt.date,
) -> list[Any]:
    return session.execute(
        text(
            "SELECT day, appointment_count FROM clinic_daily_appointment_counts "
            "WHERE clinic_id = :clinic_id AND day BETWEEN :first_day AND :last_day "
            "ORDER BY day"
        ),
        {"clinic_id": clinic_id, "first_day": first_day, "last_day": last_day},
    ).all()


def reminders_due(session: Session, clinic_id: int, days: int = 1) -> list[Any]:
    return session.execute(
        text(
            """
            SELECT appointment_id, patient_name, patient_email, starts_at
            FROM upcoming_appointments
            WHERE clinic_id = :clinic_id
              AND patient_email IS NOT NULL
              AND starts_at < now() + make_interval(days => :days)
            ORDER BY starts_at
            """
        ),
        {"clinic_id": clinic_id, "days": days},
    ).all()


def no_show_rate(session: Session, clinic_id: int) -> list[Any]:
    # ::numeric casts next to :name parameters: text() must tell them apart.
    return session.execute(
        text(
            """
            WITH per_patient AS (
                SELECT
                    a.patient_id,
                    count(*) FILTER (WHERE a.status = 'no_show')::numeric AS no_shows,
                    count(*)::numeric AS total
                FROM appointments AS a
                WHERE a.clinic_id = :clinic_id
                  AND a.starts_at < now()
                GROUP BY a.patient_id
            )
            SELECT p.full_name, round(pp.no_shows / nullif(pp.total, 0), 2) AS rate
            FROM per_patient AS pp
            JOIN patients AS p ON p.id = pp.patient_id
            WHERE pp.no_shows > 0
            ORDER BY rate DESC
            """
        ),
        {"clinic_id": clinic_id},
    ).all()


def clinics_overview(session: Session) -> list[Any]:
    return session.execute(
        text(
            "SELECT c.id, c.name, c.timezone, count(p.id) AS patients "
            "FROM clinics c LEFT JOIN patients p ON p.clinic_id = c.id "
            "GROUP BY c.id ORDER BY c.name"
        )
    ).all()
