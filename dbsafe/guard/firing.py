"""What a write of a table may run besides itself, as the database holds it: its triggers,
its rules, and the column defaults it evaluates (a generated column's expression, a domain's
default where the column has none, or has one a plan may drop). One query, read by the
tables a guarded upgrade reads (`guard.row_tables`, DBS614: every one, enabled or not) and
by the row preflight
(`guard.reached_rows`, DBS615, DBS617: those that fire on the events written, enabled under
the plan's `session_replication_role`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dbsafe.guard.called_writes import BUILT_IN
from dbsafe.lint.row_changes import EVENT_BITS

if TYPE_CHECKING:
    from collections.abc import Sequence

# A rule's event (pg_rewrite.ev_type) as pg_trigger.tgtype's bit: UPDATE, INSERT, DELETE (a
# SELECT rule, a view's, none); a default evaluated by an INSERT, a generated column's by an
# UPDATE too. (PostgreSQL's internal triggers are the foreign keys' own; a view's `_RETURN`
# rule is the view.)
_FIRING = f"""
SELECT 'trigger', t.tgrelid::regclass::text, t.tgname::text, NULL, t.tgtype::int, t.tgfoid,
       {BUILT_IN}, NULL, t.tgenabled::text
FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid
WHERE t.tgrelid = ANY(%(oids)s::oid[]) AND NOT t.tgisinternal
UNION ALL
SELECT 'rule', r.ev_class::regclass::text, r.rulename::text, NULL,
       CASE r.ev_type WHEN '2' THEN {EVENT_BITS["UPDATE"]} WHEN '3' THEN {EVENT_BITS["INSERT"]}
                      WHEN '4' THEN {EVENT_BITS["DELETE"]} ELSE 0 END,
       NULL, false, pg_catalog.pg_get_ruledef(r.oid), r.ev_enabled::text
FROM pg_catalog.pg_rewrite r
WHERE r.ev_class = ANY(%(oids)s::oid[]) AND r.rulename <> '_RETURN'
UNION ALL
SELECT CASE WHEN a.attgenerated <> '' THEN 'generated' ELSE 'default' END,
       a.attrelid::regclass::text, a.attname::text, NULL,
       CASE WHEN a.attgenerated <> '' THEN {EVENT_BITS["INSERT"] | EVENT_BITS["UPDATE"]}
            ELSE {EVENT_BITS["INSERT"]} END,
       NULL, false, pg_catalog.pg_get_expr(d.adbin, d.adrelid), 'A'
FROM pg_catalog.pg_attrdef d JOIN pg_catalog.pg_attribute a
     ON a.attrelid = d.adrelid AND a.attnum = d.adnum
WHERE d.adrelid = ANY(%(oids)s::oid[]) AND NOT a.attisdropped
UNION ALL
SELECT CASE WHEN a.atthasdef THEN 'shadowed' ELSE 'domain' END,
       a.attrelid::regclass::text, a.attname::text, t.oid::regtype::text,
       {EVENT_BITS["INSERT"]}, NULL, false, pg_catalog.pg_get_expr(t.typdefaultbin, 0), 'A'
FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
WHERE a.attrelid = ANY(%(oids)s::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
  AND t.typtype = 'd' AND t.typdefaultbin IS NOT NULL
"""


@dataclass(frozen=True, slots=True)
class Firing:
    """One trigger, rule or default of a table (`firing`)."""

    # "trigger", "rule", "default", "generated" (a column's), "domain" (its default, where
    # the column has none), "shadowed" (a domain's default under the column's own, which
    # applies once that is dropped: `ALTER COLUMN ... DROP DEFAULT`)
    kind: str
    table: str  # the table's name, as `regclass` prints it (qualified where not visible)
    name: str  # the trigger's, the rule's, the column's
    domain: str | None  # the domain whose default it is ("domain", "shadowed")
    bits: int  # the events it fires on, as pg_trigger.tgtype's bits (`EVENT_BITS`)
    function: int | None  # a trigger's function (oid)
    built_in: bool  # a trigger's function is PostgreSQL's own (`called_writes.BUILT_IN`)
    body: str | None  # a rule's `CREATE RULE`, a default's expression
    enabled: str  # pg_trigger.tgenabled, pg_rewrite.ev_enabled: 'O', 'R', 'A', 'D'

    def enabled_as(self, role: str) -> bool:
        """Whether it fires under `session_replication_role` `role` (`origin`, `local`,
        `replica`): 'A' always, 'R' only under replica, 'O' otherwise, 'D' never."""
        return self.enabled == "A" or self.enabled == ("R" if role == "replica" else "O")


def firing(conn: Any, oids: Sequence[int]) -> list[Firing]:
    """The triggers, rules and defaults of the tables `oids` (all of them, enabled or not),
    ordered by kind, table and name."""
    found = [Firing(str(kind), str(table), str(name), domain, int(bits), function,
                    bool(built_in), body, str(enabled))
             for kind, table, name, domain, bits, function, built_in, body, enabled
             in conn.execute(_FIRING, {"oids": list(oids)})]
    return sorted(found, key=lambda f: (f.kind, f.table, f.name))
