"""Which tables' rows the linted revisions may change: what `dbsafe upgrade` reads before its
first revision, to compare after a way back (`guard.rows`, DBS614).

Read from the statements each revision ran on the throwaway copy (pglast's trees, no words):
every relation a data statement names (INSERT, UPDATE, DELETE, MERGE, COPY, TRUNCATE, and a
SELECT too: an ORM data migration only SELECTs on the empty copy, and on the real rows it
deletes or updates what it found), the tables whose column types an ALTER TABLE changes
(values converted there and back may differ), and the functions those statements call
(one may write any table), and what each function they create writes (`lint.body_writes`),
which the guard follows when a call reaches it. The functions DDL evaluates count as called
too (a default an ADD COLUMN fills into every row, one a later INSERT evaluates, a CHECK
added), and an event trigger's the revisions create; `ddl` says whether any statement may
fire an event trigger (the guard then follows the database's). What cannot be told from the statements (a revision rendered
offline, a statement PostgreSQL's grammar refused, a DO block building its SQL, a trigger
created next to data statements) makes the whole answer unknown, with why: the guard then
reads every table, as before.

>>> from dbsafe.lint.statement import parse_statement
>>> changes = RowChanges()
>>> changes.add("0005", [parse_statement(
...     "WITH d AS (DELETE FROM units u USING foods f WHERE u.id = f.id RETURNING u.id) "
...     "UPDATE app.ingredients SET unit_id = pick(unit_id) WHERE unit_id IN (SELECT id FROM d)")])
>>> sorted(changes.tables), sorted(changes.functions)
(['app.ingredients', 'foods', 'units'], ['pick'])
>>> changes.add("0006", [parse_statement("CREATE INDEX ix ON units (name)")])
>>> changes.summary()["revisions"]
['0005', '0006']
>>> changes.add("0007", [parse_statement(
...     "CREATE FUNCTION app.pick(int) RETURNS int LANGUAGE sql "
...     "AS $$ UPDATE counters SET n = n + 1 RETURNING n $$")])
>>> changes.summary()["created_functions"]
{'app.pick': [{'revision': '0007', 'tables': ['counters'], 'functions': []}]}
>>> data = RowChanges()
>>> data.add("0008", [parse_statement("UPDATE units SET name = lower(name)")])
>>> data.summary()["functions"], data.summary()["ddl"]
(['lower'], False)
>>> data.add("0009", [parse_statement(
...     "ALTER TABLE invoices ADD COLUMN number int DEFAULT app.next_invoice_number()")])
>>> data.summary()["functions"], data.summary()["ddl"]
(['app.next_invoice_number', 'lower'], True)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dbsafe.lint.statement import function_source, range_var, strings, walk

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from dbsafe.lint.row_checks import RowChecks
    from dbsafe.lint.statement import Statement

# Statements that read or write rows: each relation they name is read by the guard.
DATA_KINDS = frozenset({"InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt", "SelectStmt",
                        "CopyStmt", "TruncateStmt", "CallStmt"})
# Statements that make later writes reach other tables, unseen in the statements themselves.
_FIRES_ELSEWHERE = frozenset({"CreateTrigStmt", "RuleStmt"})
# DDL evaluating the expressions it gives (a default filled into the rows an ADD COLUMN
# adds, a CHECK added), or giving defaults later INSERTs evaluate (CREATE TABLE, SET
# DEFAULT, a domain's): the functions they call are followed as the data statements' are.
_EVALUATES = frozenset({"CreateStmt", "AlterTableStmt", "CreateDomainStmt",
                        "AlterDomainStmt"})
# Statements no event trigger fires on (PostgreSQL's event trigger firing matrix lists DDL
# only); any other may fire one (`ddl` in the summary).
_NO_EVENT = DATA_KINDS | frozenset({"TransactionStmt", "VariableSetStmt", "VariableShowStmt",
                                    "LockStmt", "NotifyStmt", "ListenStmt", "UnlistenStmt",
                                    "DoStmt"})


@dataclass(slots=True)
class RowChanges:
    """What the revisions added so far may change; `unknown` says why that cannot be told."""

    revisions: list[str] = field(default_factory=list)
    tables: set[str] = field(default_factory=set)
    functions: set[str] = field(default_factory=set)
    unknown: str | None = None
    # The functions DDL evaluates, or that an event trigger the revisions create runs.
    evaluated: set[str] = field(default_factory=set)
    # Whether a statement may fire an event trigger (DDL).
    ddl: bool = False
    # The statements validating rows, and whether today's rows are what they meet
    # (`lint.row_checks`: the guard asks the database whether a row refuses one, DBS615).
    checks: RowChecks = field(default_factory=lambda: _row_checks())
    _fires_elsewhere: str | None = None

    def add(self, revision: str, statements: Sequence[Statement], *,
            cut_short: bool = False) -> None:
        """Add one revision's statements (as it ran on the throwaway copy)."""
        self.revisions.append(revision)
        self.checks.add(revision, statements)
        if cut_short:
            self._unknown(f"{revision} failed on the throwaway copy, and what it runs after "
                          "that was not captured")
        for s in statements:
            if s.generated or s.deferred:
                continue
            if s.error is not None:
                self._unknown(f"{revision} runs a statement PostgreSQL's parser refused")
                continue
            # (SELECT ... INTO creates a table)
            self.ddl |= s.kind not in _NO_EVENT or bool(s.node.get("intoClause"))
            if s.unread:
                self._unknown(f"{revision}'s DO block {s.unread}")
            elif s.kind == "CreateEventTrigStmt":
                self.evaluated.add(".".join(strings(s.node.get("funcname"))))
            elif s.kind in _FIRES_ELSEWHERE:
                self._fires_elsewhere = self._fires_elsewhere or revision
            elif s.kind == "CreateFunctionStmt":
                pass  # what it writes: `created`, read once by `checks`
            elif s.kind in DATA_KINDS:
                self.tables.update(relations(s.node))
                self.functions.update(called_functions(s.node))
            elif s.kind in _EVALUATES:
                self.evaluated.update(called_functions(s.node))
                for action in s.actions:
                    if action.subtype == "AlterColumnType" and s.relation:
                        self.tables.add(s.relation)
                        self.functions.update(called_functions(action.using))

    @property
    def created(self) -> dict[str, list[dict[str, Any]]]:
        """What each function the revisions create writes, by name as created (`name` or
        `schema.name`): an overload, or one created again, adds an entry."""
        return self.checks.created_functions

    def _unknown(self, why: str) -> None:
        self.unknown = self.unknown or why

    def summary(self) -> dict[str, Any]:
        """As lint's report hands it to the guard (`summary["row_changes"]`)."""
        unknown = self.unknown
        if unknown is None and self._fires_elsewhere and (self.tables or self.functions):
            unknown = (f"{self._fires_elsewhere} creates a trigger or rule, which the "
                       "revisions' writes may fire")
        if unknown is not None:
            return {"revisions": list(self.revisions), "unknown": unknown}
        summary: dict[str, Any] = {"revisions": list(self.revisions),
                                   "tables": sorted(self.tables),
                                   "functions": sorted(self.functions | self.evaluated),
                                   "ddl": self.ddl}
        if self.created:
            summary["created_functions"] = {name: list(entries)
                                            for name, entries in sorted(self.created.items())}
        return summary


def created_function(revision: str, s: Statement) -> tuple[str, dict[str, Any]]:
    """A `CREATE FUNCTION` statement's name as created (`name` or `schema.name`), and what
    its body writes (`summary["row_changes"]["created_functions"]`'s entry), read from the
    revision's own statement: the database before the upgrade has another body, or none,
    under that name."""
    from dbsafe.lint.body_writes import function_writes

    writes = function_writes(function_source(s)[0] or "sql", s.sql)
    entry: dict[str, Any] = {"revision": revision}
    if writes.unknown is not None:
        entry["unknown"] = writes.unknown
    else:
        entry |= {"tables": sorted(writes.tables), "functions": sorted(writes.functions)}
    return ".".join(strings(s.node.get("funcname"))), entry


def _row_checks() -> RowChecks:
    from dbsafe.lint.row_checks import RowChecks  # it reads this module's names

    return RowChecks()


def relations(node: Any) -> Iterator[str]:
    """Every relation a statement's tree names (a RangeVar anywhere: its target, FROM,
    USING, subqueries, CTEs), not the CTEs' own names."""
    ctes = {fields.get("ctename") for kind, fields in walk(node) if kind == "CommonTableExpr"}
    for found in _range_vars(node):
        name = range_var(found)
        if name and name not in ctes:
            yield name


def _range_vars(node: Any) -> Iterator[dict[str, Any]]:
    # A statement's own target (`relation`) is a RangeVar's fields unwrapped, which `walk`
    # does not yield: every dict holding a RangeVar's fields is one.
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "relname" in item and "relpersistence" in item:
                yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def called_functions(node: Any) -> Iterator[str]:
    """Each function a tree calls, as named (`name` or `schema.name`); a CALL's procedure."""
    for kind, fields in walk(node or {}):
        if kind == "FuncCall":
            names = strings(fields.get("funcname"))
            if names:
                yield ".".join(names)


# The events a data statement fires on the table it writes (pg_trigger.tgtype's bits:
# INSERT 4, DELETE 8, UPDATE 16, TRUNCATE 32), by kind: the triggers and referential actions
# they fire may change other tables (`guard.reached_rows`).
EVENT_BITS = {"INSERT": 4, "DELETE": 8, "UPDATE": 16, "TRUNCATE": 32}
_WRITE_EVENTS = {"InsertStmt": ("INSERT",), "UpdateStmt": ("UPDATE",),
                 "DeleteStmt": ("DELETE",), "MergeStmt": ("INSERT", "UPDATE", "DELETE"),
                 "CopyStmt": ("INSERT",), "TruncateStmt": ("TRUNCATE",)}


def written_tables(kind: str, node: Any) -> list[tuple[str, tuple[str, ...]]]:
    """The tables a data statement (its `kind` and fields) writes, each with the events it
    fires there (`EVENT_BITS`' names; `CASCADE`: a TRUNCATE ... CASCADE, which empties the
    tables referencing it too), its data-modifying CTEs' included.

    >>> from dbsafe.lint.statement import parse_statement
    >>> written_tables("InsertStmt", parse_statement(
    ...     "WITH d AS (DELETE FROM a RETURNING id) INSERT INTO b SELECT id FROM d "
    ...     "ON CONFLICT (id) DO UPDATE SET x = 1").node)
    [('b', ('INSERT', 'UPDATE')), ('a', ('DELETE',))]
    >>> written_tables("TruncateStmt", parse_statement("TRUNCATE a CASCADE").node)
    [('a', ('TRUNCATE', 'CASCADE'))]
    >>> written_tables("CopyStmt", parse_statement("COPY a TO STDOUT").node)
    []
    """
    found: list[tuple[str, tuple[str, ...]]] = []
    for part_kind, fields in [(kind, node), *walk(node)]:
        events = _WRITE_EVENTS.get(part_kind)
        if events is None or (part_kind == "CopyStmt" and not fields.get("is_from")):
            continue
        if (fields.get("onConflictClause") or {}).get("action") == "ONCONFLICT_UPDATE":
            events += ("UPDATE",)
        if part_kind == "TruncateStmt":
            if fields.get("behavior") == "DROP_CASCADE":
                events += ("CASCADE",)
            targets = [range_var(r) for r in fields.get("relations") or ()]
        else:
            targets = [range_var(fields.get("relation"))]
        found += [(name, events) for name in targets if name]
    return found
