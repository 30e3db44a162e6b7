"""DBS314 (`codes.UNKNOWN_FUNCTION_CALL`): a statement calls a function no schema it can reach has.

Read with PostgreSQL's own parser (pglast): its `FuncCall` nodes are exactly the calls
PostgreSQL looks up in pg_proc. The SQL syntax that looks like a call is other nodes there
(`COALESCE`, `NULLIF`, `GREATEST`, `LEAST`: CoalesceExpr, A_Expr, MinMaxExpr; `CAST`:
TypeCast; `CURRENT_DATE`: SQLValueFunction; `ROW(...)`, `ARRAY[...]`, `XMLELEMENT`,
`JSON_OBJECT`), and the syntax PostgreSQL turns into a call of a pg_catalog function
(`EXTRACT`, `TRIM`, `SUBSTRING ... FROM`: `COERCE_SQL_SYNTAX`) is left alone.

A call is reported only when nothing of its name exists where it may be found: no
function, aggregate, window function or procedure (any overload: argument types are
PostgreSQL's to judge), no type (`uuid('...')` is a cast when no function has the name),
and, for a call of one argument, no column (`name(t)` is `t.name`). An unqualified name is
looked for in every schema (the application may set another search path) and in
pg_catalog on every shipped PostgreSQL version; a qualified one in its schema, which the
schema must hold. What an extension owns counts; a snapshot that does not list an
extension's functions leaves every call unknown.

A statement calling, unqualified, a built-in function of SQLite or MySQL/MariaDB that
nothing here has (`datetime('now')`, `strftime`, `DATE_FORMAT`, `UNIX_TIMESTAMP`) is taken
for that engine's, sent where validate cannot tell (`other_engine_call`): none of its calls
is reported, the statement is "not analysed". The names are generated from SQLite itself
and MariaDB's documentation (`other_engine_functions.txt`, by
scripts/gen_other_engine_functions.py).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dbsafe.schema.model import SchemaSnapshot
    from dbsafe.validate.confirm import Rewrite

UNKNOWN_FUNCTION_CALL_DOC = """A statement calls a function the schema does not have.

## Why
PostgreSQL looks a called function up when it parses the statement: with no function,
aggregate or procedure of that name where the call can reach, every run of the statement
fails with `42883: function get_stats(integer) does not exist`. A migration that forgot
the function, or one renamed or dropped since, breaks the application in production.

## Bad
```sql
SELECT public.get_stats($1);
SELECT * FROM search_items('lamp');
```

## Good
```sql
-- a migration: CREATE FUNCTION public.get_stats(team_id uuid) RETURNS jsonb ...
SELECT public.get_stats($1);
```

## Not flagged
A statement calling a built-in function of SQLite or MySQL/MariaDB that PostgreSQL lacks
(`datetime('now')`, `strftime`, `json_extract`, `DATE_FORMAT`): SQL for that engine,
listed as not analysed. SQL syntax that is no function (`COALESCE`, `NULLIF`, `GREATEST`, `CAST`, `EXTRACT`,
`CURRENT_DATE`, `ROW(...)`), any name pg_catalog has on a PostgreSQL version dbsafe ships
(15, 18), a type's name (a cast), a call of one argument naming a column (`name(t)`), a
function an extension makes, one the file's own DDL makes, pgTAP's functions in a pgTAP test
(a file calling `plan`, `no_plan` or `runtests`), and calls in a schema the schema does not
describe. Argument types are never judged: a name with any overload is
not reported. A statement in a branch the code runs on none of the shipped versions (the
`else` of `if server_version >= 100000:`) calling a name no shipped pg_catalog has
(`pg_xlogfile_name`, renamed in 10): a built-in of the versions it is sent to, listed as not
analysed.
"""

# The statements whose calls are checked, as PostgreSQL's parser names them (`CALL`: the
# procedure it calls is looked up as a function is, by name and argument types: 42883).
_DML_NODES = frozenset({"SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt",
                        "CallStmt"})
# pgTAP's calls a test starts its tests with (`SELECT plan(3)`, `SELECT * FROM runtests()`).
_PGTAP_ENTRIES = frozenset({"plan", "no_plan", "runtests"})
# Schemas whose functions no snapshot lists.
_UNDESCRIBED_SCHEMAS = frozenset({"information_schema", "pg_toast"})


@dataclass(frozen=True, slots=True)
class Call:
    """A call of a function the schema lacks: its name as written, where (0-based,
    inclusive: the function's name in `sql`), and the schema it was qualified with."""

    name: str
    schema: str | None
    start: int
    end: int


class Callables:
    """What a call may reach in one snapshot; see the module docstring."""

    def __init__(self, snapshot: SchemaSnapshot) -> None:
        from dbsafe.validate.syscatalog import catalog_callables

        self.unknown = any(e.functions is None for e in snapshot.extensions)
        types = [(t.schema, t.name) for t in snapshot.enums] + [
            (t.schema, t.name) for t in snapshot.domains] + [
            (t.schema, t.name) for t in snapshot.composite_types] + [
            (t.schema, t.name) for t in snapshot.range_types]
        self.in_schema = frozenset(
            [(f.schema, f.name) for f in snapshot.functions]
            + [(e.schema, f) for e in snapshot.extensions for f in e.functions or ()]
            + [(r.schema, r.name) for r in snapshot.relations] + types)
        self.anywhere = frozenset(name for _, name in self.in_schema) | catalog_callables()
        self.columns = frozenset(c.name for r in snapshot.relations for c in r.columns)
        self.schemas = frozenset(snapshot.schemas) - snapshot.stand_in_schemas() \
            - _UNDESCRIBED_SCHEMAS

    def missing(self, name: str, schema: str | None, arguments: int) -> bool:
        """Whether nothing a call `[schema.]name(...)` of `arguments` arguments may reach
        exists."""
        if self.unknown:
            return False
        if schema is None:
            return name not in self.anywhere and not (arguments == 1 and name in self.columns)
        if schema == "pg_catalog":
            return name not in self.anywhere
        return schema in self.schemas and (schema, name) not in self.in_schema


_CALLABLES: dict[int, tuple[SchemaSnapshot, Callables]] = {}


def callables_of(snapshot: SchemaSnapshot) -> Callables:
    """`Callables` of `snapshot`, built once per process."""
    entry = _CALLABLES.get(id(snapshot))
    if entry is None or entry[0] is not snapshot:
        if len(_CALLABLES) >= 8:
            _CALLABLES.clear()
        entry = (snapshot, Callables(snapshot))
        _CALLABLES[id(snapshot)] = entry
    return entry[1]


def missing_calls(sql: str, snapshot: SchemaSnapshot) -> list[Call]:
    """The calls in the queries of `sql` (SELECT, INSERT, UPDATE, DELETE, MERGE) of a
    function the schema lacks, as PostgreSQL's parser reads them (driver placeholders
    numbered in place); none when it cannot read them so.

    >>> from dbsafe.schema.model import Function, SchemaSnapshot
    >>> snapshot = SchemaSnapshot(schemas=("public",),
    ...                           functions=(Function("public", "get_stats"),))
    >>> [(c.name, c.schema, c.start, c.end) for c in missing_calls(
    ...     "SELECT coalesce(a, 1), get_stats(%s), public.nope(2), extract(day from b), "
    ...     "uuid('x'), lower(c) FROM search_items($1)", snapshot)]
    [('nope', 'public', 45, 48), ('search_items', None, 100, 111)]
    """
    read = _read(sql)
    if read is None:
        return []
    statements, sent = read
    callables = callables_of(snapshot)
    data = (sent.text if sent is not None else sql).encode()
    found: list[Call] = []
    for call, parts in _function_calls(statements):
        if callables.missing(parts[-1], parts[0] if len(parts) == 2 else None,
                             len(call.get("args", ()))):
            at = len(data[:call.get("location", 0)].decode("utf-8", "replace"))
            start = sent.original_offset(at) if sent is not None else at
            if start is not None:
                found.append(_call(sql, start, parts))
    return sorted(found, key=lambda c: c.start)


def pgtap_test(statements: Iterable[str]) -> bool:
    """Whether `statements` are a pgTAP test's: one calls pgTAP's `plan`, `no_plan` or
    `runtests`, the calls every pgTAP test starts its tests with, as PostgreSQL's parser
    reads them (a comment or a string saying `plan(` is none).

    >>> pgtap_test(["begin", "select plan(3)", "select is(1, 1, 'one')"])
    True
    >>> pgtap_test(["select * from plans where name = 'plan(3)'", "select plan_of(1)"])
    False
    """
    for sql in statements:
        read = _read(sql)
        if read is not None and any(
                parts[-1] in _PGTAP_ENTRIES for _, parts in _function_calls(read[0])):
            return True
    return False


@functools.cache
def pgtap_functions() -> frozenset[str]:
    """The names of the functions and aggregates pgTAP makes (`pgtap_functions.txt`,
    generated from pgTAP's SQL by scripts/gen_pgtap_functions.py)."""
    path = Path(__file__).with_name("pgtap_functions.txt")
    return frozenset(path.read_text(encoding="utf-8").split())


# The engines of `other_engine_functions.txt`'s lines, as a reason names them.
_ENGINES = {"sqlite": "SQLite", "mysql": "MySQL/MariaDB"}


@functools.cache
def other_engine_functions() -> dict[str, str]:
    """The built-in functions of SQLite and MySQL/MariaDB (`other_engine_functions.txt`,
    generated by scripts/gen_other_engine_functions.py), each with its engines' names."""
    engines: dict[str, list[str]] = {}
    path = Path(__file__).with_name("other_engine_functions.txt")
    for line in path.read_text(encoding="utf-8").splitlines():
        engine, name = line.split()
        engines.setdefault(name, []).append(_ENGINES[engine])
    return {name: " and ".join(sorted(found)) for name, found in engines.items()}


def other_engine_call(calls: Iterable[Call]) -> str | None:
    """Why the statement making `calls` (functions the schema lacks) is another engine's:
    one is an unqualified call of a built-in function of SQLite or MySQL/MariaDB; None when
    none is.

    >>> other_engine_call([Call("get_stats", None, 7, 15), Call("datetime", None, 20, 27)])
    "calls `datetime`, a built-in function of SQLite, not PostgreSQL's: SQL for SQLite"
    >>> other_engine_call([Call("datetime", "public", 7, 21)]) is None
    True
    """
    functions = other_engine_functions()
    for call in calls:
        engines = functions.get(call.name.lower()) if call.schema is None else None
        if engines is not None:
            return (f"calls `{call.name}`, a built-in function of {engines}, not "
                    f"PostgreSQL's: SQL for {engines.replace(' and ', ' or ')}")
    return None


def _read(sql: str) -> tuple[list[dict[str, Any]], Rewrite | None] | None:
    """The statements of `sql` as PostgreSQL's parser reads them (JSON), and the rewrite
    that numbered its driver placeholders for it (None: none was needed); None when it
    cannot read them."""
    from dbsafe.validate.confirm import parse_as_sent

    parsed = parse_as_sent(sql)
    if parsed.text is None:
        return None
    return [s.get("stmt", {}) for s in json.loads(parsed.text).get("stmts", [])], parsed.sent


def _function_calls(statements: list[dict[str, Any]]
                    ) -> Iterator[tuple[dict[str, Any], list[str]]]:
    """The `FuncCall` nodes of the queries among `statements` that are calls PostgreSQL
    looks up (not SQL syntax it turns into one), with their name's one or two parts."""
    stack: list[object] = [
        {"FuncCall": s["CallStmt"].get("funccall")} if "CallStmt" in s else s
        for s in statements if next(iter(s), None) in _DML_NODES]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        call = node.get("FuncCall")
        if isinstance(call, dict) and call.get("funcformat") != "COERCE_SQL_SYNTAX":
            parts = [p.get("String", {}).get("sval") for p in call.get("funcname", ())]
            if 1 <= len(parts) <= 2 and all(parts):
                yield call, parts
        stack.extend(node.values())


def _call(sql: str, start: int, parts: list[str]) -> Call:
    from dbsafe.validate.resolver import _name_spans

    first, last = _name_spans(sql, start, parts)[-1]
    return Call(parts[-1], parts[0] if len(parts) == 2 else None, first, last)
