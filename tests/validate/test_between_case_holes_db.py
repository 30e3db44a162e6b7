"""A hole bounding a `BETWEEN`, right after a `CASE`'s `WHEN` or an `ARRAY[`, is a value.

Prisma code writes `WHERE "createdAt" BETWEEN ${start}::timestamp AND ${end}::timestamp`
, `CASE WHEN ${period} = 'day' THEN ...` and `= ANY(ARRAY[${Prisma.join(ids)}])` in
`$queryRaw` templates (cal.com's insights queries): each statement was a DBS304 note, "`${start}` is not in a value position (after
BETWEEN)", never checked. Prisma sends each hole as a bind parameter, which is what PREPARE
takes below. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_module

_DDL = 'CREATE TABLE "Booking" (id int, "createdAt" timestamp, status text)'

_APP = '''\
export async function counts(prisma, start, end, period) {
  await prisma.$queryRaw`SELECT id FROM "Booking"
    WHERE "createdAt" BETWEEN ${start}::timestamp AND ${end}::timestamp`;
  await prisma.$queryRaw`SELECT "nope" FROM "Booking"
    WHERE "createdAt" NOT BETWEEN SYMMETRIC ${start} AND ${end}`;
  await prisma.$queryRaw`SELECT CASE WHEN ${period} = 'day' THEN 1 END AS d, "statuss"
    FROM "Booking"`;
  await prisma.$queryRaw`SELECT id FROM "Booking" WHERE "createdAt" BETWEEN ${start} AND ${end}
    AND ${Prisma.raw(filter)} AND "missing" = 1`;
  await prisma.$queryRaw`SELECT id FROM "Booking" WHERE id = ANY(ARRAY[${Prisma.join(ids)}])
    AND "stat" = 'x'`;
}
'''


@pytest.mark.db
def test_between_bounds_and_case_when_holes_are_values(database_url: str,
                                                       tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _DDL, "insights.ts", _APP)
    located = sorted((f.code, f.location.line, f.subject)
                     for f in report.findings if f.location)
    assert located == [
        ("DBS302", 4, 'public.Booking.nope'),
        ("DBS302", 6, 'public.Booking.statuss'),
        ("DBS302", 11, 'public.Booking.stat'),
        # The raw fragment after the BETWEEN's AND keeps this one unchecked.
        ("DBS304", 8, None),
    ]
    dynamic = next(f for f in report.findings if f.code == "DBS304")
    assert "${Prisma.raw(filter)}` is not in a value position (after AND)" in dynamic.message
    with psycopg.connect(database_url) as conn:
        # What the holes are read as prepares; what is flagged fails as PostgreSQL says.
        conn.execute('PREPARE ok AS SELECT id FROM "Booking" '
                     'WHERE "createdAt" BETWEEN $1::timestamp AND $2::timestamp')
        conn.execute('PREPARE a (int, int) AS SELECT id FROM "Booking" '
                     'WHERE id = ANY(ARRAY[$1, $2])')
        conn.execute('PREPARE w AS SELECT CASE WHEN $1 = \'day\' THEN 1 END AS d FROM "Booking"')
        for flagged in ('AS SELECT "nope" FROM "Booking" '
                        'WHERE "createdAt" NOT BETWEEN SYMMETRIC $1 AND $2',
                        'AS SELECT CASE WHEN $1 = \'day\' THEN 1 END AS d, "statuss" '
                        'FROM "Booking"',
                        '(int) AS SELECT id FROM "Booking" WHERE id = ANY(ARRAY[$1]) '
                        'AND "stat" = \'x\''):
            with pytest.raises(psycopg.errors.UndefinedColumn):  # 42703
                conn.execute(f"PREPARE bad {flagged}")
            conn.rollback()


# alerta (alerta/alerta 4ac01063, `alerta/database/backends/postgres/base.py`) keeps an
# alert's last changes with `history=(%(change)s || history)[1:{limit}]`, the bound filled
# in with `.format(limit=...)`: six statements were DBS304 notes, "`{limit}` is not in a
# value position (after :)". A `:` inside brackets is a slice's; its bound is a value.
_ALERTS = '''\
def set_status(cur, limit, vars):
    update = """
        UPDATE alerts
        SET status=%(status)s, history=(%(change)s || history)[1:{limit}]
        WHERE id=%(id)s
        RETURNING *
    """.format(limit=limit)
    cur.execute(update, vars)
    cur.execute(f"SELECT (history)[{limit}:{limit} + 1], statuz FROM alerts WHERE id = %(id)s",
                vars)
    cur.execute(f"SELECT id FROM alerts WHERE {limit}:{limit}")
'''


@pytest.mark.db
def test_a_slices_bound_is_a_value(database_url: str, tmp_path: Path) -> None:
    ddl = "CREATE TABLE alerts (id text, status text, history text[])"
    report = validate_module(database_url, tmp_path, ddl, "base.py", _ALERTS)
    assert sorted((f.code, f.location.line, f.subject) for f in report.findings) == [
        ("DBS302", 9, "public.alerts.statuz"),
        ("DBS304", 11, None)]  # a `:` outside brackets is no slice: not read as one
    assert dict(next(f for f in report.findings if f.code == "DBS302").context)[
        "PostgreSQL"][:5] == "42703"
    with psycopg.connect(database_url) as conn:
        conn.execute("PREPARE ok (text, text, text, int) AS UPDATE alerts SET status = $1, "
                     "history = ($2 || history)[1:$4] WHERE id = $3 RETURNING *")
