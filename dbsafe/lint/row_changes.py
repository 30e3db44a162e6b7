"""Which tables' rows the linted revisions may change: what `dbsafe upgrade` reads before its
first revision, to compare after a way back (`guard.rows`, DBS614).

Read from the statements each revision ran on the throwaway copy (pglast's trees, no words):
every relation a data statement names (INSERT, UPDATE, DELETE, MERGE, COPY, TRUNCATE, and a
SELECT too: an ORM data migration only SELECTs on the empty copy, and on the real rows it
deletes or updates what it found; what a statement running a query writes, `Runs`: EXPLAIN
ANALYZE, EXECUTE of a PREPARE, CREATE TABLE AS, REFRESH MATERIALIZED VIEW, the one place
telling it), the tables whose column types an ALTER TABLE changes
(values converted there and back may differ), and the functions those statements call
(one may write any table), and what each function they create writes (`lint.body_writes`),
which the guard follows when a call reaches it. The functions DDL evaluates count as called
too (a default an ADD COLUMN fills into every row, one a later INSERT evaluates, a CHECK
added, an index's expressions), and an event trigger's the revisions create; the query of
a materialized view of the database a statement refreshes (`refreshed`) the guard follows,
and the default of each type not built-in the revisions give a column (`types`: a domain of
the database, whose default an ADD COLUMN fills into every row and an INSERT evaluates); `ddl` says whether any statement may
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

from dbsafe.lint.statement import function_source, range_var, same_relation, strings, walk
from dbsafe.pg.throwaway import scratch

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
# adds, a CHECK added, an index's expressions), or giving defaults later INSERTs evaluate
# (CREATE TABLE, SET DEFAULT, a domain's): the functions they call are followed as the data
# statements' are.
_EVALUATES = frozenset({"CreateStmt", "AlterTableStmt", "CreateDomainStmt",
                        "AlterDomainStmt", "IndexStmt"})
# Statements no event trigger fires on (PostgreSQL's event trigger firing matrix lists DDL
# only); any other may fire one (`ddl` in the summary).
_NO_EVENT = DATA_KINDS | frozenset({"TransactionStmt", "VariableSetStmt", "VariableShowStmt",
                                    "LockStmt", "NotifyStmt", "ListenStmt", "UnlistenStmt",
                                    "DoStmt", "PrepareStmt", "ExecuteStmt", "DeallocateStmt"})
# The command tags of the statements running a query (`Run.word`).
_WORDS = {"InsertStmt": "INSERT", "UpdateStmt": "UPDATE", "DeleteStmt": "DELETE",
          "MergeStmt": "MERGE", "SelectStmt": "SELECT", "CopyStmt": "COPY",
          "TruncateStmt": "TRUNCATE", "CallStmt": "CALL", "ExecuteStmt": "EXECUTE",
          "ExplainStmt": "EXPLAIN ANALYZE", "DeclareCursorStmt": "DECLARE CURSOR",
          "RefreshMatViewStmt": "REFRESH MATERIALIZED VIEW"}


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
    # Materialized views of the database a statement refreshes: its query's functions are
    # the database's, which the guard follows (`refreshed` in the summary).
    refreshed: set[str] = field(default_factory=set)
    _runs: Runs = field(default_factory=lambda: Runs())
    _fires_elsewhere: str | None = None

    def add(self, revision: str, statements: Sequence[Statement], *,
            cut_short: bool = False) -> None:
        """Add one revision's statements (as it ran on the throwaway copy)."""
        self.revisions.append(revision)
        self.checks.add(revision, statements)
        if cut_short:
            self._unknown(f"{revision} failed on {scratch('copy')}, and what it runs after "
                          "that was not captured")
        for s in statements:
            if s.generated or s.deferred:
                continue
            if s.error is not None:
                self._unknown(f"{revision} runs a statement PostgreSQL's parser refused")
                continue
            # (SELECT ... INTO creates a table)
            self.ddl |= s.kind not in _NO_EVENT or bool(s.node.get("intoClause"))
            run = self._runs.of(s)
            if s.unread:
                self._unknown(f"{revision}'s DO block {s.unread}")
            elif s.kind == "CreateEventTrigStmt":
                self.evaluated.add(".".join(strings(s.node.get("funcname"))))
            elif s.kind in _FIRES_ELSEWHERE:
                self._fires_elsewhere = self._fires_elsewhere or revision
            elif s.kind == "CreateFunctionStmt":
                pass  # what it writes: `created`, read once by `checks`
            elif run is not None:
                if run.unknown is not None:
                    self._unknown(f"{revision} {run.unknown}")
                self.tables.update(run.tables)
                self.functions.update(run.calls)
                self.refreshed.update(run.views)
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
        if self.refreshed:
            summary["refreshed"] = sorted(self.refreshed)
        types = self.checks.given_types()
        if types:  # (a domain's default, which an INSERT or ADD COLUMN evaluates)
            summary["types"] = types
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
    tables referencing it too; `ONLY`: `UPDATE ONLY t`, which writes none of its inheritance
    children or partitions; `DEFAULTS`: an UPDATE setting a column `= DEFAULT`, which
    evaluates its default as an INSERT does), its data-modifying CTEs' included.

    >>> from dbsafe.lint.statement import parse_statement
    >>> written_tables("InsertStmt", parse_statement(
    ...     "WITH d AS (DELETE FROM a RETURNING id) INSERT INTO b SELECT id FROM d "
    ...     "ON CONFLICT (id) DO UPDATE SET x = 1").node)
    [('b', ('INSERT', 'UPDATE')), ('a', ('DELETE',))]
    >>> written_tables("TruncateStmt", parse_statement("TRUNCATE a CASCADE").node)
    [('a', ('TRUNCATE', 'CASCADE'))]
    >>> written_tables("CopyStmt", parse_statement("COPY a TO STDOUT").node)
    []
    >>> written_tables("TruncateStmt", parse_statement("TRUNCATE ONLY a, b").node)
    [('a', ('TRUNCATE', 'ONLY')), ('b', ('TRUNCATE',))]
    >>> written_tables("UpdateStmt", parse_statement("UPDATE a SET n = DEFAULT").node)
    [('a', ('UPDATE', 'DEFAULTS'))]
    """
    found: list[tuple[str, tuple[str, ...]]] = []
    for part_kind, fields in [(kind, node), *walk(node)]:
        events = _WRITE_EVENTS.get(part_kind)
        if events is None or (part_kind == "CopyStmt" and not fields.get("is_from")):
            continue
        if (fields.get("onConflictClause") or {}).get("action") == "ONCONFLICT_UPDATE":
            events += ("UPDATE",)
        if "UPDATE" in events and any(k == "SetToDefault" for k, _ in walk(fields)):
            events += ("DEFAULTS",)
        if part_kind == "TruncateStmt":
            if fields.get("behavior") == "DROP_CASCADE":
                events += ("CASCADE",)
            targets = [r.get("RangeVar", r) for r in fields.get("relations") or ()]
        else:
            targets = [fields.get("relation") or {}]
        found += [(name, events if target.get("inh") else (*events, "ONLY"))
                  for target in targets if (name := range_var(target))]
    return found


@dataclass(frozen=True, slots=True)
class Run:
    """What a statement runs over rows (`Runs.of`): the relations it names (`tables`: a
    data statement's, each it writes or reads; of a query it runs for a table or a plan,
    those it writes and the table it fills), the functions it calls there (`calls`), the
    materialized views of the database whose query it runs (`views`: their functions are the
    database's), or why that cannot be told (`unknown`, after the revision)."""

    word: str  # its command, as PostgreSQL's tag says it: `UPDATE`, `EXPLAIN ANALYZE`
    tables: tuple[str, ...] = ()
    calls: tuple[str, ...] = ()
    views: tuple[str, ...] = ()
    unknown: str | None = None
    select: bool = False  # a SELECT: it reads the tables it names, handing the rows on


@dataclass(slots=True)
class Runs:
    """What each statement of a session runs over rows, read in the order it runs them: the
    one place that tells it, for the tables whose rows may change (`RowChanges`, DBS614),
    the checks after it (`lint.row_checks`, DBS615, DBS617) and a downgrade's schema
    questions (`guard.downgrade_rows`). A data statement runs itself; `EXPLAIN ANALYZE` the
    statement it explains (plain EXPLAIN runs nothing); `EXECUTE` the statement its PREPARE
    holds (PREPARE runs nothing); `CREATE TABLE AS`, `CREATE MATERIALIZED VIEW` and `DECLARE
    CURSOR` their query (not `WITH NO DATA`); `REFRESH MATERIALIZED VIEW` the view's query, as
    the plan created it or as the database holds it.

    >>> from dbsafe.lint.statement import parse_statement as p
    >>> runs = Runs()
    >>> runs.of(p("PREPARE fill AS UPDATE volumes SET host = f(host)")) is None
    True
    >>> runs.of(p("EXECUTE fill"))
    Run(word='EXECUTE', tables=('volumes',), calls=('f',), views=(), unknown=None, select=False)
    >>> runs.of(p("EXPLAIN ANALYZE DELETE FROM t USING u WHERE t.id = u.id")).tables
    ('t',)
    >>> runs.of(p("EXPLAIN DELETE FROM t")) is None
    True
    >>> runs.of(p("CREATE TABLE x AS SELECT g(id) FROM clean"))
    Run(word='CREATE TABLE AS', tables=('x',), calls=('g',), views=(), unknown=None, select=False)
    >>> runs.of(p("REFRESH MATERIALIZED VIEW totals")).views
    ('totals',)
    >>> runs.of(p("EXECUTE gone")).unknown
    'runs EXECUTE gone, which the plan does not PREPARE'
    """

    _prepared: dict[str, tuple[str, Any]] = field(default_factory=dict)
    # materialized views the plan creates -> what their query runs (a REFRESH runs it again)
    _views: dict[str, Run] = field(default_factory=dict)

    def of(self, s: Statement) -> Run | None:
        """What `s` runs over rows, or None where it runs no query over rows (DDL: what it
        evaluates over its table's rows is `evaluated_over_rows`)."""
        return self._of(s.kind, s.node)

    def of_parsed(self, kind: str, node: Any) -> Run | None:
        """`of` a statement as `parse_statements` gives it: its kind and fields."""
        return self._of(kind, node)

    def _of(self, kind: str, node: Any) -> Run | None:
        word = _WORDS.get(kind, kind)
        if kind in DATA_KINDS:
            return Run(word, tuple(relations(node)), tuple(called_functions(node)),
                       select=kind == "SelectStmt")
        if kind == "PrepareStmt":
            self._prepared[str(node.get("name"))] = _unwrapped(node.get("query"))
        elif kind == "DeallocateStmt":
            if node.get("isall"):
                self._prepared.clear()
            self._prepared.pop(str(node.get("name")), None)
        elif kind == "ExecuteStmt":
            prepared = self._prepared.get(str(node.get("name")))
            if prepared is None:
                return Run(word, unknown=f"runs EXECUTE {node.get('name')}, which the plan "
                                         "does not PREPARE")
            run = self._of(*prepared) or Run(word)
            params = tuple(called_functions(node.get("params")))
            return Run(word, run.tables, run.calls + params, run.views, run.unknown, run.select)
        elif (kind == "ExplainStmt" and _analyzes(node)) or kind == "DeclareCursorStmt":
            inner = self._query(node.get("query"))
            return Run(word, inner.tables, inner.calls, inner.views, inner.unknown)
        elif kind == "CreateTableAsStmt":
            return self._table_as(node)
        elif kind == "RefreshMatViewStmt":
            view = range_var(node.get("relation")) or ""
            made = next((run for name, run in self._views.items()
                         if same_relation(name, view)), None)
            if node.get("skipData"):  # (emptied)
                return Run(word, (view,))
            if made is None:  # the database's: the guard follows its query
                return Run(word, (view,), views=(view,))
            return Run(word, (view, *made.tables), made.calls, made.views, made.unknown)
        return None

    def _table_as(self, node: Any) -> Run:
        """`CREATE TABLE AS`, `CREATE MATERIALIZED VIEW`: the relation made holds the rows
        its query gives, which runs unless `WITH NO DATA`."""
        view = node.get("objtype") == "OBJECT_MATVIEW"
        word = "CREATE MATERIALIZED VIEW" if view else "CREATE TABLE AS"
        into = range_var((node.get("into") or {}).get("rel")) or ""
        query = self._query(node.get("query"))
        if view:
            self._views[into] = query
        if (node.get("into") or {}).get("skipData"):
            return Run(word, (into,))
        return Run(word, (into, *query.tables), query.calls, query.views, query.unknown)

    def _query(self, wrapped: Any) -> Run:
        """What a query run for a table or a plan (not handed to the application) runs: the
        tables it writes (a data-modifying WITH's), the functions it calls."""
        from dbsafe.lint.body_writes import statement_writes

        kind, node = _unwrapped(wrapped)
        if kind in DATA_KINDS:
            writes = statement_writes({kind: node})
            return Run(_WORDS[kind], tuple(sorted(writes.tables)),
                       tuple(called_functions(node)), unknown=writes.unknown and (
                           f"runs a query that {writes.unknown}"))
        run = self._of(kind, node)
        if run is None:
            return Run(kind, unknown=f"runs a {kind.removesuffix('Stmt')} statement dbsafe "
                                     "does not read")
        return run


def _unwrapped(wrapped: Any) -> tuple[str, Any]:
    """A wrapped node's (kind, fields): `{"UpdateStmt": {...}}` -> ("UpdateStmt", {...})."""
    if isinstance(wrapped, dict) and len(wrapped) == 1:
        ((kind, node),) = wrapped.items()
        return str(kind), node
    return "", {}


def _analyzes(explain: Any) -> bool:
    """Whether an `EXPLAIN` runs its statement: `ANALYZE` (or `ANALYZE true`, `on`, `1`)."""
    for kind, fields in walk(explain.get("options")):
        if kind == "DefElem" and fields.get("defname") == "analyze":
            arg = fields.get("arg")
            if not arg:
                return True
            value = next((str(v.get("sval", v.get("ival", 0))) for k, v in walk(arg)
                          if k in ("String", "Integer")), "true")
            return value.lower() not in ("false", "off", "0", "no")
    return False


def evaluated_over_rows(s: Statement) -> Iterator[str]:
    """The functions DDL evaluates over the rows its table holds as it runs (as named): a
    column's DEFAULT or generated expression `ADD COLUMN` fills into each row, a `USING`, a
    CHECK added, an index's expressions and WHERE, a domain's CHECK over each column of it;
    not a DEFAULT set for later INSERTs (`SET DEFAULT`, `CREATE TABLE`).

    >>> from dbsafe.lint.statement import parse_statement as p
    >>> list(evaluated_over_rows(p("ALTER TABLE t ADD COLUMN c int DEFAULT f(), "
    ...                            "ALTER COLUMN d SET DEFAULT g()")))
    ['f']
    >>> list(evaluated_over_rows(p("CREATE INDEX ON t (h(c)) WHERE k(c)")))
    ['h', 'k']
    """
    node = s.node if isinstance(s.node, dict) else {}
    if s.kind == "IndexStmt":
        yield from called_functions([node.get("indexParams"), node.get("whereClause")])
    elif s.kind == "AlterTableStmt":
        for cmd in node.get("cmds") or ():
            fields = cmd.get("AlterTableCmd", {})
            if fields.get("subtype") != "AT_ColumnDefault":
                yield from called_functions(fields.get("def"))
    elif s.kind == "AlterDomainStmt" and node.get("subtype") != "T":  # (T: SET DEFAULT)
        yield from called_functions(node.get("def"))
