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
  'A', 'R' or 'A' under `session_replication_role = replica`: the plan's SET of it, else the
  session's; any where the plan enables triggers of the table), whose function writes
  another table (`guard.called_writes`: followed through the functions it calls; one writing
  only its NEW row writes none). Under replica no referential action fires either (their
  triggers are enabled for origin), nor the plan's own triggers, rules and keys.
- The column defaults (and domains' defaults) an INSERT evaluates (so do an UPDATE's `SET c
  = DEFAULT` and a key's SET DEFAULT action), the generated columns an INSERT or UPDATE
  does, and the enabled rules of a written table on its events (`pg_rewrite.ev_enabled`, as
  a trigger's), followed into what they write (`guard.firing`). A rule `DO INSTEAD` without
  a WHERE runs in place of the write: through that event, no trigger, key or child of its
  table is reached, nor the table itself.
- The triggers, rules, defaults and foreign keys the plan adds before the write, read from
  its statements, and the domains' defaults it gives: of a domain it creates or alters, for
  its columns and the database's of that domain; of the database's domain, for a column it
  gives that type (`typed`; `ADD COLUMN` fills it into each row there, written or not), and
  of a column whose own DEFAULT the plan drops (`undefaulted`, of the table or a parent of
  it: its type looked up on the database; not found there, a column whose type cannot be told, every later check cannot
  tell); a
  trigger it disables (`DISABLE TRIGGER name`, `USER`; `ALL`: the foreign keys' actions
  too) fires nothing, and `UPDATE ONLY parent` reaches none of its children. Lint hands each
  on as it stood when the plan's data statements ran (a default set, a trigger made or
  disabled, a role SET after the last write counts for none; a domain's default changed
  after an INSERT still counts for it; writes under different roles: cannot tell). A default
  the plan gives a table, drops there, or a column of a type it gives it, counts for its
  inheritance children and partitions too; its row trigger (and key) for a partitioned
  table's partitions.
- A table the plan creates `PARTITION OF` or `INHERITS` a table of the database
  (`created_under`, through the plan's own tables between): its parents' column defaults,
  generated columns and domains' defaults are its own, and a partition's also their row
  triggers and the foreign keys referencing them.

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
    from dbsafe.guard.firing import Firing

_ALL = frozenset({"INSERT", "UPDATE", "DELETE", "CHILDREN"})
_ACTIONS = {"c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}

# The table `%s` names (lint's folded name, unquoted: each part quoted again), and whether
# it is a partition.
_NAMED = """
SELECT c.oid, n.nspname || '.' || c.relname, c.relispartition FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = pg_catalog.to_regclass(%s)
"""

# What a write of the table `%(oid)s` reaches: its inheritance children and partitions, the
# foreign keys referencing it with their actions and the states of their action triggers
# (on the table: `DISABLE TRIGGER ALL`, ENABLE ALWAYS) (its triggers, rules and defaults:
# `guard.firing`).
_LINKED = """
SELECT 'child', n.nspname || '.' || c.relname, NULL, NULL, NULL, NULL
FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE i.inhparent = %(oid)s
UNION ALL
SELECT 'key', n.nspname || '.' || c.relname, k.conname::text, k.confdeltype::text,
       k.confupdtype::text, ARRAY(SELECT t.tgenabled::text FROM pg_catalog.pg_trigger t
                                  WHERE t.tgconstraint = k.oid AND t.tgrelid = k.confrelid)
FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE k.contype = 'f' AND k.confrelid = %(oid)s
ORDER BY 1, 2, 3
"""
# The default of the domain `%s` names (a type of the database a column the plan adds has).
_DOMAIN_DEFAULT = """
SELECT t.oid::regtype::text, pg_catalog.pg_get_expr(t.typdefaultbin, 0)
FROM pg_catalog.pg_type t
WHERE t.oid = pg_catalog.to_regtype(%s) AND t.typtype = 'd' AND t.typdefaultbin IS NOT NULL
"""
# The columns of the table `%s` of the domain `%s` names, without a DEFAULT of their own.
_OF_DOMAIN = """
SELECT a.attname::text FROM pg_catalog.pg_attribute a
WHERE a.attrelid = %s AND a.atttypid = pg_catalog.to_regtype(%s) AND a.attnum > 0
  AND NOT a.attisdropped AND NOT a.atthasdef ORDER BY a.attnum
"""
# Which of the columns named (`%s`, whose DEFAULT the plan drops) the table `%s` holds.
_COLUMNS = """
SELECT a.attname::text FROM pg_catalog.pg_attribute a
WHERE a.attname = ANY(%s) AND a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped
"""
# The tables the table `%s` inherits from (a partition's parents too), at any depth.
_ANCESTORS = """
WITH RECURSIVE up(oid) AS (
    SELECT i.inhparent FROM pg_catalog.pg_inherits i WHERE i.inhrelid = %s
  UNION
    SELECT i.inhparent FROM pg_catalog.pg_inherits i JOIN up ON i.inhrelid = up.oid)
SELECT n.nspname || '.' || c.relname FROM up JOIN pg_catalog.pg_class c ON c.oid = up.oid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
"""
# pg_trigger.tgtype's bit of a trigger FOR EACH ROW: one of a partitioned table is cloned to
# each partition (a new one's too); an inheritance parent's is not its children's.
_ROW = 1
# The events a rule replaces (and a write is: not CHILDREN, DEFAULTS, CASCADE).
_WRITE_EVENTS = frozenset(EVENT_BITS)


@dataclass(frozen=True, slots=True)
class _Lineage:
    """A table written, as the plan's facts and the database's catalogs reach it."""

    # the table and those it inherits from (a partition's parents too), at any depth: the
    # database's, and the plan's it was created under (`created_under`)
    names: list[str]
    # the database's tables whose defaults (and, for a partition, row triggers and the keys
    # referencing it) it has: itself, or, for one the plan creates, the parents it was
    # created under (`CREATE TABLE ... PARTITION OF parent`: their columns, defaults, row
    # triggers are its own)
    sources: list[int]
    own: bool  # whether `sources` is the table itself
    partition: bool  # a partition: its parents' row triggers and keys are its own

    def holds(self, name: str, *, inherited: bool = True) -> bool:
        """Whether what the plan gives the table lint names `name` counts here: given this
        table, or (`inherited`) a table it inherits from (a default set, dropped or a
        column added recurse to the children; a partition is made with its parent's)."""
        return _same(self.names[0], name) or (
            inherited and any(_same(up, name) for up in self.names[1:]))


@dataclass(slots=True)
class Reached:
    """The tables reached (`schema.table` -> why its rows are not today's), or why every
    table may be (`unknown`)."""

    tables: dict[str, str] = field(default_factory=dict)
    unknown: str | None = None


def reached_tables(conn: Any, check: Mapping[str, Any], calls: CalledWrites) -> Reached:
    """The tables the writes before `check` (lint's `writes`, with the plan's `triggers`,
    `actions`, `rules`, `defaults`, `domains`, `typed`, `undefaulted`, `enabled_triggers`,
    `disabled_triggers` and `settings`) change through referential actions, triggers, rules
    and defaults, on the database `conn` is connected to; the written tables themselves are
    lint's to say."""
    from dbsafe.guard.firing import firing
    from dbsafe.lint.body_writes import expression_writes, rule_replaces, rule_writes

    plan_triggers: Sequence[Sequence[Any]] = check.get("triggers") or ()
    plan_actions: Sequence[Sequence[Any]] = check.get("actions") or ()
    plan_rules: Sequence[Sequence[Any]] = check.get("rules") or ()
    plan_defaults: Sequence[Sequence[Any]] = check.get("defaults") or ()
    plan_domains: Sequence[Sequence[Any]] = check.get("domains") or ()
    typed: Sequence[Sequence[Any]] = check.get("typed") or ()
    undefaulted: Sequence[Sequence[Any]] = check.get("undefaulted") or ()
    enabled: Mapping[str, str] = check.get("enabled_triggers") or {}
    disabled: Mapping[str, Sequence[str]] = check.get("disabled_triggers") or {}
    created_under: Mapping[str, Sequence[Any]] = check.get("created_under") or {}
    reached = Reached()
    roles = _roles(conn, check)
    if len(roles) > 1:
        reached.unknown = (f"the plan's writes before it run under session_replication_role "
                           f"{' and '.join(sorted(roles))}")
        return reached
    role = roles.pop()
    replica = role == "replica"  # (the plan's own triggers, rules and keys: origin's)
    done: dict[str, set[str]] = {}  # table -> the events followed from it
    # (table name, events, why its rows change, whether lint named it written); `CHILDREN`:
    # the write reaches the table's inheritance children (not `UPDATE ONLY`)
    todo: list[tuple[str, frozenset[str], str, bool]] = [
        (str(name), _inherited(events), str(why), True)
        for name, events, why in check.get("writes") or ()]
    # (what each fires: a trigger's function, a rule's actions, a default's expression)
    fired: list[tuple[str, Any]] = [
        (f"{why}, which fills its rows with the default of domain {domain}",
         expression_writes(default))
        for _, _, name, why in typed if why
        for domain, default in conn.execute(_DOMAIN_DEFAULT, (_type(str(name)),))]
    while True:
        for where, runs in fired:
            tables, unknown = calls.of_trigger(runs) if isinstance(runs, int) else \
                calls.of_calls(runs) if isinstance(runs, list) else calls.of_writes(runs)
            if unknown is not None:
                reached.unknown = f"{where}, which runs {unknown}"
                return reached
            todo += [(t, _ALL, f"{where}, which writes {t}", False) for t in sorted(tables)]
        fired = []
        if not todo:
            return reached
        name, events, why, written = todo.pop(0)
        row = conn.execute(_NAMED, (_quoted(name),)).fetchone()
        table = str(row[1]) if row else name
        line = _lineage(conn, name, row, created_under)
        # (the plan enables some of its own, or of a parent's: ENABLE recurses)
        on = any(_same(t, e) for t in line.names for e in enabled)
        off = next((list(names) for t, names in disabled.items() if _same(table, t)), [])
        its = firing(conn, line.sources) if line.own else [
            each for each in firing(conn, line.sources)
            if each.kind in ("default", "generated", "domain", "shadowed")
            or (each.kind == "trigger" and line.partition and each.bits & _ROW)]
        rules = [(f"rule {each.name} on {table}", str(each.body), each.bits)
                 for each in its if each.kind == "rule" and (each.enabled_as(role) or on)] + [
            (f"the rule {created}", str(sql), int(bits))
            for on_table, bits, sql, created in plan_rules
            if _same(table, str(on_table)) and (not replica or on)]
        # (a rule DO INSTEAD, unconditional, runs in place of the write: no row of the table
        # written, no trigger, key or child of it reached; its defaults a NEW of the rule's
        # actions may read, still evaluated)
        acting = _acting(events, {event for _, sql, bits in rules if rule_replaces(sql)
                                  for event in _WRITE_EVENTS if bits & EVENT_BITS[event]})
        if not written and acting & _WRITE_EVENTS and table not in reached.tables \
                and name not in reached.tables:
            reached.tables[table] = why
        fresh = set(acting) - done.get(table, set())
        if not fresh:
            continue
        done.setdefault(table, set()).update(fresh)
        inserts = _fires(EVENT_BITS["INSERT"], fresh) or "DEFAULTS" in fresh
        # (a partition the plan creates: the keys referencing its parents reference it)
        for source in line.sources if line.own or line.partition else ():
            for kind, other, label, on_delete, on_update, states in conn.execute(
                    _LINKED, {"oid": source}):
                if kind == "child" and "CHILDREN" in fresh and line.own:
                    todo.append((str(other), frozenset(fresh),
                                 f"{why}, which reaches its child {other}", False))
                elif kind == "key" and "ALL" not in off:
                    # (a partition's key has none: its parent's act for it)
                    acts = not states or any(state == "A" or state == (
                        "R" if replica else "O") for state in states)
                    for action, changed in _acted(fresh, str(on_delete), str(on_update),
                                                  acts=acts):
                        todo.append((str(other), changed,
                                     f"{why}, which {_verb(changed)} {other} through its "
                                     f"foreign key {label} ({action})", False))
        # (the columns whose DEFAULT the plan drops, of the table or a parent of it, whose
        # DROP DEFAULT drops its children's: their domain's default applies)
        undone = [(str(column), str(why)) for on_table, column, why in undefaulted
                  if inserts and line.holds(str(on_table))]
        dropped = {column for column, _ in undone}
        found = {str(name) for source in line.sources if dropped
                 for (name,) in conn.execute(_COLUMNS, (sorted(dropped), source))}
        lost = next((why for column, why in undone if column not in found), None)
        if lost is not None:  # (the plan's own column, or one it renamed: its type untold)
            reached.unknown = f"{why}, where {lost}, a column whose type cannot be told"
            return reached
        fired += [(f"{why}, which {_evaluated(each)}", expression_writes(str(each.body)))
                  for each in its if (each.kind in ("default", "generated", "domain")
                                      or (each.kind == "shadowed" and each.name in dropped))
                  and (_fires(each.bits, fresh) or "DEFAULTS" in fresh)]
        fired += [(f"{why}, which fires {what}", rule_writes(sql))
                  for what, sql, bits in rules if _fires(bits, fresh)]
        fired += [(f"{why}, which fires trigger {each.name} on {table}", int(each.function or 0))
                  for each in its if each.kind == "trigger" and (each.enabled_as(role) or on)
                  and not {"ALL", "USER", each.name} & set(off) and _fires(each.bits, fresh)]
        for domain, functions, given in plan_domains if inserts else ():
            fired += [(f"{why}, which evaluates the default {given} (of its column {column})",
                       list(functions)) for source in line.sources
                      for (column,) in conn.execute(_OF_DOMAIN, (source, _type(str(domain))))]
        for referencing, referenced, on_delete, on_update, added in plan_actions:
            if line.holds(str(referenced), inherited=line.partition) and "ALL" not in off:
                for action, changed in _acted(fresh, str(on_delete), str(on_update),
                                              acts=not replica):
                    todo.append((str(referencing), changed,
                                 f"{why}, which {_verb(changed)} {referencing} through the "
                                 f"foreign key ({action}) {added}", False))
        fired += [(f"{why}, which fires the trigger {created}", [str(function)])
                  for on_table, bits, function, created, named in plan_triggers
                  if line.holds(str(on_table), inherited=line.partition and bool(
                      int(bits) & _ROW))
                  and _fires(int(bits), fresh)
                  and (not replica or on) and not {"ALL", "USER", str(named)} & set(off)]
        fired += [(f"{why}, which evaluates the default {given}", list(functions))
                  for on_table, functions, given in plan_defaults
                  if line.holds(str(on_table)) and inserts]
        fired += [(f"{why}, which evaluates the default of domain {domain} of its column "
                   f"{column}", expression_writes(default))
                  for on_table, column, type_name, fills in typed
                  if not fills and line.holds(str(on_table)) and inserts
                  for domain, default in conn.execute(_DOMAIN_DEFAULT,
                                                      (_type(str(type_name)),))]


def _roles(conn: Any, check: Mapping[str, Any]) -> set[str]:
    """The `session_replication_role`s the plan's writes before `check` run under: those its
    SET gave the session as each ran (`write_roles`: None, or left out, the session's own)."""
    given: Sequence[str | None] = check.get("write_roles") or [None]
    own = None if all(given) else conn.execute(
        "SELECT pg_catalog.current_setting('session_replication_role')").fetchone()[0]
    return {str(each if each is not None else own).strip().lower() for each in given}


def _lineage(conn: Any, name: str, row: Sequence[Any] | None,
             created_under: Mapping[str, Sequence[Any]]) -> _Lineage:
    """What `name` (lint's; `row`: `_NAMED`'s of it, None where the database holds no such
    table) inherits: of the database's, its ancestors; of one the plan creates PARTITION OF
    or INHERITS (`created_under`: table -> [[parent, ...], partition]), the plan's tables
    it was created under and the database's they were, and their ancestors."""
    from dbsafe.lint.statement import same_relation

    if row is not None:
        return _Lineage([str(row[1]), *(str(up) for (up,) in conn.execute(
            _ANCESTORS, (row[0],)))], [int(row[0])], own=True, partition=bool(row[2]))
    names, sources, links, todo = [name], [], [], [name]
    while todo:
        each = todo.pop(0)
        under = next((given for table, given in created_under.items()
                      if same_relation(table, each)), None)
        if under is None:
            continue
        parents, partition = under
        links.append(bool(partition))
        for parent in map(str, parents):
            if any(same_relation(parent, n) for n in names):
                continue  # (named twice)
            found = conn.execute(_NAMED, (_quoted(parent),)).fetchone()
            if found is None:  # (the plan's)
                names.append(parent)
                todo.append(parent)
            else:
                names += [str(found[1]), *(str(up) for (up,) in conn.execute(
                    _ANCESTORS, (found[0],)))]
                sources.append(int(found[0]))
    return _Lineage(names, sources, own=False, partition=bool(links) and all(links))


def _acting(events: frozenset[str], replaced: set[str]) -> frozenset[str]:
    """`events` but those a rule DO INSTEAD `replaced`, and `CHILDREN` where no write is
    left (the children are written only by the statement the rule replaces).

    >>> sorted(_acting(frozenset({"DELETE", "CHILDREN"}), {"DELETE"}))
    []
    >>> sorted(_acting(frozenset({"DELETE", "UPDATE", "CHILDREN"}), {"DELETE"}))
    ['CHILDREN', 'UPDATE']
    """
    left = events - replaced
    return left if left & _WRITE_EVENTS else left - {"CHILDREN"}


def _evaluated(each: Firing) -> str:
    """What evaluating a default of the database is said to be."""
    from dbsafe.schema.ddl import quote

    column = quote(each.name)
    return {"generated": f"evaluates its generated column {column}",
            "domain": f"evaluates the default of domain {each.domain} of its column "
                      f"{column}",
            "shadowed": f"evaluates the default of domain {each.domain} of its column "
                        f"{column}"}.get(each.kind, f"evaluates the default of its column {column}")


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


def _acted(events: set[str], on_delete: str, on_update: str, *, acts: bool = True
           ) -> list[tuple[str, frozenset[str]]]:
    """What a foreign key's actions (`on_delete`, `on_update`: pg_constraint's letters) do
    to the referencing rows on `events` of the referenced table: (the action, as written,
    and the events it fires on the referencing table), each; `acts`: whether its action
    triggers fire (not under `session_replication_role = replica`, nor disabled: a TRUNCATE
    ... CASCADE empties the referencing table whatever they say).

    >>> [(action, sorted(fired)) for action, fired in _acted({"DELETE", "UPDATE"}, "n", "a")]
    [('ON DELETE SET NULL', ['CHILDREN', 'UPDATE'])]
    >>> [(action, sorted(fired)) for action, fired in _acted({"TRUNCATE", "CASCADE"}, "a", "c")]
    [('TRUNCATE ... CASCADE', ['CASCADE', 'CHILDREN', 'TRUNCATE'])]
    """
    acted: list[tuple[str, frozenset[str]]] = []
    # (SET DEFAULT evaluates the referencing columns' defaults, as an INSERT does)
    if "DELETE" in events and on_delete in _ACTIONS and acts:
        acted.append((f"ON DELETE {_ACTIONS[on_delete]}",
                      frozenset({"DELETE"} if on_delete == "c" else
                                {"UPDATE", "DEFAULTS"} if on_delete == "d" else {"UPDATE"})))
    if "UPDATE" in events and on_update in _ACTIONS and acts:
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


def _type(name: str) -> str | None:
    """A type's name as lint gives it (`schema.name` or `name`, unquoted) as `to_regtype`
    reads it; None for one naming a database too, which it refuses (PostgreSQL refused it
    before: no type of the database).

    >>> _type("app.Mood"), _type("a.b.c")
    ('app."Mood"', None)
    """
    return _quoted(name) if name.count(".") <= 1 else None


def _quoted(name: str) -> str:
    """Lint's folded name (`schema.table`, unquoted) as `to_regclass` reads it."""
    from dbsafe.schema.ddl import quote

    return ".".join(quote(part) for part in name.split("."))
