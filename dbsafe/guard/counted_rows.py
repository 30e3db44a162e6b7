"""Lint's findings weighed again by the rows the row preflight counted (`guard.row_refusals`):
`dbsafe upgrade`'s preflight, and `dbsafe plan` as it asks what the preflight asks.

Lint weighs a finding by the table's statistics (`schema.stats`: `pg_total_relation_size`
and `reltuples`, `lint.run._weigh`), which a `DELETE` leaves as they were until the next
ANALYZE. The row preflight then counts the rows of a table a column is added to NOT NULL
without a DEFAULT (every row would hold NULL: `Probe.every_row`), up to 1,000. tacker's
`vnf_lcm_op_occs`, its 3,602 rows archived and deleted, was refused on DBS108 (`the ALTER
fails if vnf_lcm_op_occs has any rows`, `Table size: 944.0 kB, ~3.6k rows`) in the report
whose rows line said `12 passes`; and where it did hold them, DBS615 said `at least 1,000
row(s)` beside `~3.6k rows` (task 546). So, of a table counted:

- every finding's `Table size` says its rows as one figure, with how it was got
  (`Counted.said`: `0 rows (counted)`, `~3.6k rows (estimated; the count stops at
  1,000)`), as DBS615 and the plan's lock lines say them; its bytes stay the statistics';
- DBS108 at the statement whose count found no row is a warning, not an error: today's rows
  cannot refuse the ALTER (DBS615 asked them: it passes), rows written between the
  preflight and the ALTER can.

The findings weighed by size (a lock, a rewrite, a scan) keep their weight: they weigh the
table's bytes, which a scan reads, dead rows too, and which no count changes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable, Sequence
from typing import TYPE_CHECKING

from dbsafe.core import Finding, Severity

if TYPE_CHECKING:
    from dbsafe.guard.row_refusals import Counted, Verdict

SIZE_CONTEXT = "Table size"
NOT_NULL_WITHOUT_DEFAULT = "DBS108"


def counted_tables(verdicts: Sequence[Verdict]) -> dict[str, Counted]:
    """The tables the preflight counted the rows of, by their name as the statement wrote it
    (to_regclass's reading) and as `schema.name`; the first count of each (the later ones
    count the same rows: a check over rows a statement before it changes is not asked)."""
    out: dict[str, Counted] = {}
    for verdict in verdicts:
        counted = verdict.counted
        if counted is None:
            continue
        for name in (counted.table, counted.relation):
            out.setdefault(name, counted)
    return out


def weighed_by_counts(findings: Iterable[Finding], verdicts: Sequence[Verdict],
                      overridden: Collection[str] = ()) -> list[Finding]:
    """`findings` with the rows the preflight counted (`verdicts`) said in their `Table
    size`, and DBS108 at a statement whose table was counted empty a warning, unless its
    severity is the user's (`overridden`: the codes `severity` in [tool.dbsafe] sets)."""
    tables = counted_tables(verdicts)
    if not tables:
        return list(findings)
    empty = {(v.revision, v.sql) for v in verdicts
             if v.outcome == "passes" and v.counted is not None and v.counted.rows == 0}
    if NOT_NULL_WITHOUT_DEFAULT in overridden:
        empty = set()
    return [_weighed(f, tables, empty) for f in findings]


def _weighed(finding: Finding, tables: dict[str, Counted],
             empty: set[tuple[str, str]]) -> Finding:
    context = dict(finding.context)
    size = context.get(SIZE_CONTEXT)
    counted = _table_of(finding, tables) if size is not None else None
    if counted is None or size is None or not size.endswith(" rows") or ", " not in size:
        return finding  # (not sized from the statistics: "none yet: a migration ...")
    said = f"{size.rpartition(', ')[0]}, {counted.said}"
    new_context = tuple((k, said if k == SIZE_CONTEXT else v) for k, v in finding.context)
    severity = finding.severity
    if (finding.code == NOT_NULL_WITHOUT_DEFAULT and severity is Severity.ERROR
            and (context.get("Revision"), context.get("Statement")) in empty):
        severity = Severity.WARNING
        new_context += (("Rows", "none when the preflight counted them (DBS615 passes): "
                         "the ALTER fails only if rows are written before it runs"),)
    return dataclasses.replace(finding, context=new_context, severity=severity)


def _table_of(finding: Finding, tables: dict[str, Counted]) -> Counted | None:
    """The counted table a finding is about (its `Table` context, an index's; else its
    subject: `table`, `schema.table`, or a column of one)."""
    from dbsafe.lint.engine import TABLE_CONTEXT
    from dbsafe.lint.run import subject_names

    subject = dict(finding.context).get(TABLE_CONTEXT) or finding.subject or ""
    for name in subject_names(subject.split(", ")[0]):
        found = tables.get(name) or tables.get(f'"{name}"')
        if found is None and "." not in name:
            found = next((c for c in tables.values()
                          if c.relation.partition(".")[2] == name), None)
        if found is not None:
            return found
    return None
