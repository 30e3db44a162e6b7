"""What rows the tables hold before a guarded upgrade, and which differ after its way back.

The way back (`alembic downgrade` to where the upgrade started) verifies the schema only. A
data migration's `DELETE` or `UPDATE` is in no schema, and most downgrades leave such rows
as the upgrade left them (mealie's dded3119c1fe deleted 5 duplicate units and pointed 2,000
ingredients at the ones kept; both stayed so after the rollback, and nothing said so). So
before the first revision each table's rows are counted (`count(*)`) and summed into an
order-free checksum (the sum of a 64-bit hash of each row as JSON: its columns by name, so
a column the way back adds back last does not change it; no sort), and compared after the
way back.

The tables read are those the pending revisions may change (`guard.row_tables`, from what
lint captured of them), or every application table when that cannot be told; smallest
first, until `READ_BUDGET` bytes (`pg_table_size`) are read; the tables left over are named
as not compared, never passed over in silence.

`dbsafe downgrade` compares the tables it keeps the same way, on the columns it keeps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dbsafe.core import Finding, RuleInfo, Severity

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping

ROWS_LEFT_CHANGED = RuleInfo(
    "DBS614", "rollback-left-row-changes",
    "After rolling back, tables hold other rows than before the upgrade (a data migration's "
    "changes stay); the backup taken before it holds them as they were.",
    Severity.WARNING, "0.2.0")

# At most this many bytes of tables (pg_table_size) are read before the upgrade, and again
# after a way back: about what pg_dump reads in a few seconds to a minute.
READ_BUDGET = 1 << 30

# The application's tables (not PostgreSQL's, not dbsafe's, not temporary), or those named
# (`%(only)s`, NULL for every one), each with its size, smallest first. A partitioned table
# holds no rows of its own: its partitions are read. (`pg_table_size` opens the table, so it
# waits behind an ACCESS EXCLUSIVE: only the tables chosen are sized, never one not read.)
_TABLES = """
SELECT n.nspname, c.relname, pg_catalog.pg_table_size(c.oid)
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'dbsafe')
  AND n.nspname NOT LIKE 'pg\\_%%'
  AND (%(only)s::text[] IS NULL OR n.nspname || '.' || c.relname = ANY (%(only)s::text[]))
ORDER BY 3, 1, 2
"""


@dataclass(frozen=True, slots=True)
class Rows:
    """Each table's rows as (count, checksum), by `schema.table`; the tables too big to
    read within the budget, with their size in bytes."""

    tables: dict[str, tuple[int, str]]
    not_read: dict[str, int]

    def total(self) -> int:
        return sum(count for count, _ in self.tables.values())


def read_rows(conn: Any, only: Iterable[str] | None = None, *,
              leave_out: Mapping[str, Collection[str]] | None = None) -> Rows:
    """Count and checksum each application table's rows (or those of `only`, by
    `schema.table`, that still exist), smallest first within `READ_BUDGET`; in one
    statement, so one snapshot. `leave_out`: columns, by table, the checksum leaves out (a
    downgrade's rows are compared on the columns it keeps)."""
    from psycopg import sql

    wanted = set(only) if only is not None else None
    chosen: list[tuple[str, str]] = []
    not_read: dict[str, int] = {}
    spent = 0
    if wanted == set():
        return Rows({}, {})
    for schema, table, size in conn.execute(
            _TABLES, {"only": sorted(wanted) if wanted is not None else None}).fetchall():
        name = f"{schema}.{table}"
        if spent + size > READ_BUDGET:
            not_read[name] = int(size)
            continue
        spent += size
        chosen.append((schema, table))
    if not chosen:
        return Rows({}, not_read)
    rows = conn.execute(sql.SQL(" UNION ALL ").join(
        sql.SQL("SELECT {}, count(*), coalesce(sum(pg_catalog.hashtextextended("
                "(pg_catalog.to_jsonb(t) OPERATOR(pg_catalog.-) {}::text[])::text, 0)), 0)::text "
                "FROM ONLY {} AS t").format(
            sql.Literal(i), sql.Literal(sorted((leave_out or {}).get(f"{schema}.{table}", ()))),
            sql.Identifier(schema, table))
        for i, (schema, table) in enumerate(chosen))).fetchall()
    by_index = {int(r[0]): (int(r[1]), str(r[2])) for r in rows}
    return Rows({f"{schema}.{table}": by_index[i] for i, (schema, table) in enumerate(chosen)},
                not_read)


def differences(before: Rows, after: Rows) -> list[str]:
    """Each table read both times whose rows differ: `before -> after` rows, or "changed"
    where the count is the same and the checksum is not.

    >>> differences(Rows({"public.units": (25, "7"), "public.foods": (9, "3"),
    ...                   "public.ingredients": (2000, "11")}, {}),
    ...             Rows({"public.units": (20, "5"), "public.foods": (9, "3"),
    ...                   "public.ingredients": (2000, "12")}, {}))
    ['public.ingredients: 2,000 rows, changed', 'public.units: 25 -> 20 rows']
    """
    lines = []
    for name in sorted(before.tables.keys() & after.tables.keys()):
        (count, checksum), (count_after, checksum_after) = before.tables[name], after.tables[name]
        if count != count_after:
            lines.append(f"{name}: {count:,} -> {count_after:,} rows")
        elif checksum != checksum_after:
            lines.append(f"{name}: {count:,} rows, changed")
    return lines


def not_compared(before: Rows, after: Rows) -> list[str]:
    """The tables whose rows were not compared: too big to read within the budget, before
    or after (the way back cannot read more than the upgrade did)."""
    from dbsafe.schema.stats import _bytes

    sizes = {**before.not_read, **after.not_read}
    return [f"{name} ({_bytes(sizes[name])})" for name in sorted(sizes)]


def left_changed(start: str, changed: list[str], unread: list[str],
                 backup_file: str | None) -> Finding:
    """DBS614: the tables the way back to `start` left with other rows than before."""
    if backup_file:
        help_ = (f"The backup taken before the upgrade holds the rows as they were: `dbsafe "
                 f"restore {backup_file}` restores it into a new database next to this one "
                 "(`--into NAME`), to compare and copy them back from; rows other sessions "
                 "wrote during the run differ too.")
    else:
        help_ = ("No backup was taken (--no-backup): the rows as they were are kept nowhere "
                 "by dbsafe; rows other sessions wrote during the run differ too.")
    context: tuple[tuple[str, str], ...] = (
        ("Tables (before the upgrade -> after the way back)", "\n".join(changed)),)
    if unread:
        context += (("Not compared (over the read budget)", "\n".join(unread)),)
    return Finding(
        ROWS_LEFT_CHANGED.code,
        f"After the rollback to {start}, {len(changed)} table(s) hold other rows than before "
        "the upgrade: the way back brings back the schema, not the rows the revisions "
        "changed.",
        ROWS_LEFT_CHANGED.default_severity, subject=", ".join(
            line.split(":", 1)[0] for line in changed), context=context, help=help_)
