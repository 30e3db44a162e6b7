"""Data access for the clinic scheduler, on psycopg 3 with SQL written inline.

The SQL is embedded the ways real code embeds it: literals passed to `execute`, an
implicitly concatenated string, a triple-quoted block, a module-level constant and one
f-string. Placeholders are psycopg's `%s` and `%(name)s`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import datetime as dt

    import psycopg

# Shared by the login flow and the booking form.
FIND_PATIENT_BY_EMAIL = "SELECT id, clinic_id FROM patients WHERE lower(email) = lower(%s)"


def find_patient_by_email(conn: psycopg.Connection, email: str) -> tuple[Any, ...] | None:
    return conn.execute(FIND_PATIENT_BY_EMAIL, (email,)).fetchone()


def list_patients(conn: psycopg.Connection, clinic_id: int, tag: str) -> list[tuple[Any, ...]]:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT p.id, p.full_name, p.email FROM patients p "
            "WHERE p.clinic_id = %(clinic_id)s AND %(tag)s = ANY (p.tags) "
            "ORDER BY p.full_name",
            {"clinic_id": clinic_id, "tag": tag},
        )
        return cur.fetchall()


def create_patient(
    conn: psycopg.Connection, clinic_id: int, full_name: str, email: str | None,
    tags: Sequence[str] = (),
) -> int:
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO patients (clinic_id, full_name, email, tags) "
            "VALUES (%s, %s, %s, %s) "
            "RETURNING id",
            (clinic_id, full_name, email, list(tags)),
        )
        return cur.fetchone()[0]


def book_appointment(
    conn: psycopg.Connection, *, clinic_id: int, patient_id: int, starts_at: dt.datetime,
    duration_min: int = 30, series_id: int | None = None,
) -> int:
    row = conn.execute(
        """
        INSERT INTO appointments (clinic_id, patient_id, series_id, starts_at, duration_min)
        VALUES (%(clinic_id)s, %(patient_id)s, %(series_id)s, %(starts_at)s, %(duration_min)s)
        RETURNING id
        """,
        {
            "clinic_id": clinic_id, "patient_id": patient_id, "series_id": series_id,
            "starts_at": starts_at, "duration_min": duration_min,
        },
    ).fetchone()
    return row[0]


def cancel_appointment(conn: psycopg.Connection, appointment_id: int, reason: str) -> bool:
    cur = conn.execute(
        "UPDATE appointments SET status = 'cancelled', notes = %s "
        "WHERE id = %s AND status IN ('booked', 'confirmed')",
        (reason, appointment_id),
    )
    return cur.rowcount == 1


def create_series(
    conn: psycopg.Connection, *, clinic_id: int, patient_id: int, title: str, rrule: str,
    starts_on: dt.date, ends_on: dt.date | None = None,
) -> int:
    row = conn.execute(
        """
        INSERT INTO appointment_series (clinic_id, patient_id, title, rrule, starts_on, ends_on)
        VALUES (%s, %s, %s, %s, %s, %s)
        RETURNING id
        """,
        (clinic_id, patient_id, title, rrule, starts_on, ends_on),
    ).fetchone()
    return row[0]


def list_series(conn: psycopg.Connection, clinic_id: int) -> list[tuple[Any, ...]]:
    # The series page. appointment_series has no notes column (notes live on appointments),
    # so PostgreSQL rejects this query -- the incident dbsafe validate exists to catch.
    return conn.execute(
        "SELECT s.id, s.title, s.notes FROM appointment_series s WHERE s.clinic_id = %s",
        (clinic_id,),
    ).fetchall()


def recent_appointments(
    conn: psycopg.Connection, patient_id: int, limit: int = 20,
) -> list[tuple[Any, ...]]:
    # int() means only a number can reach the SQL, so the f-string hole is a value, never
    # an identifier or an injection.
    return conn.execute(
        f"SELECT a.id, a.starts_at, a.status, a.notes FROM appointments a "
        f"WHERE a.patient_id = %s ORDER BY a.starts_at DESC LIMIT {int(limit)}",
        (patient_id,),
    ).fetchall()


def series_appointments(conn: psycopg.Connection, series_id: int) -> list[tuple[Any, ...]]:
    return conn.execute(
        """
        SELECT a.id, a.starts_at, a.status, s.title
        FROM appointments a
        JOIN appointment_series s ON s.id = a.series_id
        WHERE a.series_id = %s
        ORDER BY a.starts_at
        """,
        (series_id,),
    ).fetchall()
