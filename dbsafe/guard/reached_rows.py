"""The tables whose rows an earlier data statement of the plan changes without naming them,
for the row preflight (`guard.row_refusals`, DBS615 and DBS617): lint hands on the tables the
plan's data statements write and the events they fire there (`lint.row_checks`: INSERT,
UPDATE, DELETE, TRUNCATE), and the guard follows them on the database.

- A referential action of a foreign key referencing a written table (`pg_constraint`'s
  `confdeltype`, `confupdtype`): ON DELETE CASCADE deletes the referencing rows, SET NULL and
  SET DEFAULT update them, ON UPDATE likewise for an UPDATE (of the key: dbsafe does not tell
  which columns an UPDATE changes); a TRUNCATE ... CASCADE empties every referencing table.
  NO ACTION and RESTRICT change no row: the statement fails instead.
- An enabled trigger of a written table firing on one of those events (`tgenabled` 'O' or
  'A', 'R' or 'A' under `session_replication_role = replica`; any where the plan enables
  triggers of the table), whose function writes another table (`guard.called_writes`:
  followed through the functions it calls; one writing only its NEW row writes none).
- The column defaults (and domains' defaults) an INSERT evaluates (so do an UPDATE's `SET c
  = DEFAULT` and a key's SET DEFAULT action), the generated columns an INSERT or UPDATE does, and the enabled rules of a written table on its events
  (`pg_rewrite.ev_enabled`, as a trigger's), followed into what they write.
- The triggers, rules, defaults and foreign keys the plan adds before the write, read from
  its statements; a trigger it disables (`DISABLE TRIGGER name`, `USER`; `ALL`: the foreign
  keys' actions too) fires nothing, and `UPDATE ONLY parent` reaches none of its children.

Each is followed again from the table reached (a cascade's DELETE fires the child's own
triggers and actions), through the inheritance children and partitions of each table (a
write to a parent reaches them), until nothing new is reached. A table reached this way
holds rows that are not today's when a later statement checks it: the guard says "cannot
tell", never a pass and never a refusal. A trigger function whose writes cannot be told makes
every later check "cannot tell".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dbsafe.lint.row_changes import EVENT_BITS

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from dbsafe.guard.called_writes import CalledWrites

_ALL = frozenset({"INSERT", "UPDATE", "DELETE", "CHILDREN"})
_ACTIONS = {"c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}

# The table `%s` names (lint's folded name, unquoted: each part quoted again).
_NAMED = """
SELECT c.oid, n.nspname || '.' || c.relname FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = pg_catalog.to_regclass(%s)
"""

# What a write of the table `%(oid)s` fires: its inheritance children and partitions, the
# foreign keys referencing it with their actions, its triggers (not PostgreSQL's internal
# ones, which are the foreign keys' own) with their events and whether they are enabled.
_FIRED = """
SELECT 'child', n.nspname || '.' || c.relname, NULL, NULL, NULL, NULL::oid, true
FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE i.inhparent = %(oid)s
UNION ALL
SELECT 'key', n.nspname || '.' || c.relname, k.conname, k.confdeltype::text,
       k.confupdtype::text, NULL::oid, true
FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE k.contype = 'f' AND k.confrelid = %(oid)s
UNION ALL
SELECT 'trigger', NULL, t.tgname, t.tgtype::int::text, NULL, t.tgfoid,
       t.tgenabled = 'A' OR t.tgenabled = CASE
           WHEN pg_catalog.current_setting('session_replication_role') = 'replica' THEN 'R'
           ELSE 'O' END
FROM pg_catalog.pg_trigger t
WHERE t.tgrelid = %(oid)s AND NOT t.tgisinternal
UNION ALL
SELECT 'rule', NULL, r.rulename, r.ev_type::text, pg_catalog.pg_get_ruledef(r.oid), NULL,
       r.ev_enabled = 'A' OR r.ev_enabled = CASE
           WHEN pg_catalog.current_setting('session_replication_role') = 'replica' THEN 'R'
           ELSE 'O' END
FROM pg_catalog.pg_rewrite r
WHERE r.ev_class = %(oid)s AND r.rulename <> '_RETURN'
UNION ALL
SELECT 'default', NULL, CASE WHEN a.attgenerated <> '' THEN 'its generated column '
                             ELSE 'the default of its column ' END || quote_ident(a.attname),
       pg_catalog.pg_get_expr(d.adbin, d.adrelid),
       CASE WHEN a.attgenerated <> '' THEN '20' ELSE '4' END, NULL, true
FROM pg_catalog.pg_attrdef d JOIN pg_catalog.pg_attribute a
     ON a.attrelid = d.adrelid AND a.attnum = d.adnum
WHERE d.adrelid = %(oid)s AND NOT a.attisdropped
UNION ALL
SELECT 'default', NULL, 'the default of domain ' || t.oid::regtype::text || ' of its column '
       || quote_ident(a.attname), pg_catalog.pg_get_expr(t.typdefaultbin, 0), '4', NULL, true
FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
WHERE a.attrelid = %(oid)s AND a.attnum > 0 AND NOT a.attisdropped
  AND NOT a.atthasdef AND t.typtype = 'd' AND t.typdefaultbin IS NOT NULL
ORDER BY 1, 2, 3
"""
# A rule's event (pg_rewrite.ev_type) as pg_trigger.tgtype's bit: UPDATE, INSERT, DELETE.
_RULE_BITS = {"2": EVENT_BITS["UPDATE"], "3": EVENT_BITS["INSERT"], "4": EVENT_BITS["DELETE"]}


@dataclass(slots=True)
class Reached:
    """The tables reached (`schema.table` -> why its rows are not today's), or why every
    table may be (`unknown`)."""

    tables: dict[str, str] = field(default_factory=dict)
    unknown: str | None = None


def reached_tables(conn: Any, check: Mapping[str, Any], calls: CalledWrites) -> Reached:
    """The tables the writes before `check` (lint's `writes`, with the plan's `triggers`,
    `actions` and `enabled_triggers`) change through referential actions and triggers, on
    the database `conn` is connected to; the written tables themselves are lint's to say."""
    from dbsafe.lint.body_writes import expression_writes, rule_writes

    plan_triggers: Sequence[Sequence[Any]] = check.get("triggers") or ()
    plan_actions: Sequence[Sequence[Any]] = check.get("actions") or ()
    plan_rules: Sequence[Sequence[Any]] = check.get("rules") or ()
    plan_defaults: Sequence[Sequence[Any]] = check.get("defaults") or ()
    enabled: Mapping[str, str] = check.get("enabled_triggers") or {}
    disabled: Mapping[str, Sequence[str]] = check.get("disabled_triggers") or {}
    reached = Reached()
    done: dict[str, set[str]] = {}  # table -> the events followed from it
    # (table name, events, why its rows change, whether lint named it written); `CHILDREN`:
    # the write reaches the table's inheritance children (not `UPDATE ONLY`)
    todo: list[tuple[str, frozenset[str], str, bool]] = [
        (str(name), _inherited(events), str(why), True)
        for name, events, why in check.get("writes") or ()]
    while todo:
        name, events, why, written = todo.pop(0)
        row = conn.execute(_NAMED, (_quoted(name),)).fetchone()
        table = str(row[1]) if row else name
        if not written and table not in reached.tables and name not in reached.tables:
            reached.tables[table] = why
        fresh = set(events) - done.get(table, set())
        if not fresh:
            continue
        done.setdefault(table, set()).update(fresh)
        off = next((list(names) for t, names in disabled.items() if _same(table, t)), [])
        # (what each fires: a trigger's function, a rule's actions, a default's expression)
        fired: list[tuple[str, Any]] = []
        if row is not None:
            for kind, other, label, first, second, function, on in conn.execute(
                    _FIRED, {"oid": row[0]}):
                if kind == "child" and "CHILDREN" in fresh:
                    todo.append((str(other), frozenset(fresh),
                                 f"{why}, which reaches its child {other}", False))
                elif kind == "key" and "ALL" not in off:
                    for action, changed in _acted(fresh, str(first), str(second)):
                        todo.append((str(other), changed,
                                     f"{why}, which {_verb(changed)} {other} through its "
                                     f"foreign key {label} ({action})", False))
                elif kind == "trigger" and (on or any(_same(table, t) for t in enabled)) \
                        and not {"ALL", "USER", str(label)} & set(off) \
                        and _fires(int(first), fresh):
                    fired.append((f"fires trigger {label} on {table}", int(function)))
                elif kind == "rule" and on and _fires(_RULE_BITS.get(str(first), 0), fresh):
                    fired.append((f"fires rule {label} on {table}", rule_writes(str(second))))
                elif kind == "default" and (_fires(int(second), fresh)
                                            or "DEFAULTS" in fresh):
                    fired.append((f"evaluates {label}", expression_writes(str(first))))
        for referencing, referenced, on_delete, on_update, added in plan_actions:
            if _same(table, str(referenced)) and "ALL" not in off:
                for action, changed in _acted(fresh, str(on_delete), str(on_update)):
                    todo.append((str(referencing), changed,
                                 f"{why}, which {_verb(changed)} {referencing} through the "
                                 f"foreign key ({action}) {added}", False))
        fired += [(f"fires the trigger {created}", [str(function)])
                  for on_table, bits, function, created, named in plan_triggers
                  if _same(table, str(on_table)) and _fires(int(bits), fresh)
                  and not {"ALL", "USER", str(named)} & set(off)]
        fired += [(f"fires the rule {created}", rule_writes(str(sql)))
                  for on_table, bits, sql, created in plan_rules
                  if _same(table, str(on_table)) and _fires(int(bits), fresh)]
        fired += [(f"evaluates the default {given}", list(functions))
                  for on_table, functions, given in plan_defaults
                  if _same(table, str(on_table)) and (_fires(EVENT_BITS["INSERT"], fresh) or "DEFAULTS" in fresh)]
        for what, runs in fired:
            tables, unknown = calls.of_trigger(runs) if isinstance(runs, int) else \
                calls.of_calls(runs) if isinstance(runs, list) else calls.of_writes(runs)
            where = f"{why}, which {what}"
            if unknown is not None:
                reached.unknown = f"{where}, which runs {unknown}"
                return reached
            todo += [(t, _ALL, f"{where}, which writes {t}", False) for t in sorted(tables)]
    return reached


def _inherited(events: Sequence[str]) -> frozenset[str]:
    """Lint's events of a written table, with `CHILDREN` unless the write is `ONLY` its."""
    return frozenset(events) - {"ONLY"} | (set() if "ONLY" in events else {"CHILDREN"})


def checked_among(conn: Any, sql: str, tables: Mapping[str, str]) -> str | None:
    """Why the rows `sql` checks are not today's, where a relation it names (or an
    inheritance child or partition of one, whose rows it checks too) is one of `tables`
    (`schema.table` -> why); else None."""
    from dbsafe.lint.row_changes import relations
    from dbsafe.lint.statement import parse_statement, same_relation

    if not tables:
        return None
    for name in relations(parse_statement(sql).node):
        below = [str(r[0]) for r in conn.execute(
            "WITH RECURSIVE down(oid) AS (SELECT pg_catalog.to_regclass(%s)::oid UNION "
            "SELECT i.inhrelid FROM pg_catalog.pg_inherits i JOIN down ON i.inhparent = down.oid) "
            "SELECT n.nspname || '.' || c.relname FROM down JOIN pg_catalog.pg_class c "
            "ON c.oid = down.oid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace",
            (_quoted(name),))] or [name]
        for table, why in tables.items():
            if any(same_relation(table, each) for each in below):
                return why
    return None


def _acted(events: set[str], on_delete: str, on_update: str
           ) -> list[tuple[str, frozenset[str]]]:
    """What a foreign key's actions (`on_delete`, `on_update`: pg_constraint's letters) do
    to the referencing rows on `events` of the referenced table: (the action, as written,
    and the events it fires on the referencing table), each.

    >>> [(action, sorted(fired)) for action, fired in _acted({"DELETE", "UPDATE"}, "n", "a")]
    [('ON DELETE SET NULL', ['CHILDREN', 'UPDATE'])]
    >>> [(action, sorted(fired)) for action, fired in _acted({"TRUNCATE", "CASCADE"}, "a", "c")]
    [('TRUNCATE ... CASCADE', ['CASCADE', 'CHILDREN', 'TRUNCATE'])]
    """
    acted: list[tuple[str, frozenset[str]]] = []
    # (SET DEFAULT evaluates the referencing columns' defaults, as an INSERT does)
    if "DELETE" in events and on_delete in _ACTIONS:
        acted.append((f"ON DELETE {_ACTIONS[on_delete]}",
                      frozenset({"DELETE"} if on_delete == "c" else
                                {"UPDATE", "DEFAULTS"} if on_delete == "d" else {"UPDATE"})))
    if "UPDATE" in events and on_update in _ACTIONS:
        acted.append((f"ON UPDATE {_ACTIONS[on_update]}",
                      frozenset({"UPDATE", "DEFAULTS"} if on_update == "d" else {"UPDATE"})))
    if "CASCADE" in events:  # (whatever the key's actions)
        acted.append(("TRUNCATE ... CASCADE", frozenset({"TRUNCATE", "CASCADE"})))
    return [(action, fired | {"CHILDREN"}) for action, fired in acted]


def _verb(events: frozenset[str]) -> str:
    return "empties" if "TRUNCATE" in events else \
        "deletes rows of" if "DELETE" in events else "updates"


def _fires(bits: int, events: set[str]) -> bool:
    """Whether a trigger of `bits` (pg_trigger.tgtype) fires on one of `events`."""
    return any(bits & EVENT_BITS[event] for event in events if event in EVENT_BITS)


def _same(table: str, name: str) -> bool:
    """Whether `table` (`schema.table`, the database's) is the one lint names `name`."""
    from dbsafe.lint.statement import same_relation

    return same_relation(table, name) or same_relation(table, name.replace('"', ""))


def _quoted(name: str) -> str:
    """Lint's folded name (`schema.table`, unquoted) as `to_regclass` reads it."""
    from dbsafe.schema.ddl import quote

    return ".".join(quote(part) for part in name.split("."))
