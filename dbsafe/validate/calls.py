"""DBS314 (`codes.UNKNOWN_FUNCTION_CALL`): a statement calls a function no schema it can reach has.

Read with PostgreSQL's own parser (pglast): its `FuncCall` nodes are exactly the calls
PostgreSQL looks up in pg_proc. The SQL syntax that looks like a call is other nodes there
(`COALESCE`, `NULLIF`, `GREATEST`, `LEAST`: CoalesceExpr, A_Expr, MinMaxExpr; `CAST`:
TypeCast; `CURRENT_DATE`: SQLValueFunction; `ROW(...)`, `ARRAY[...]`, `XMLELEMENT`,
`JSON_OBJECT`), and the syntax PostgreSQL turns into a call of a pg_catalog function
(`EXTRACT`, `TRIM`, `SUBSTRING ... FROM`: `COERCE_SQL_SYNTAX`) is left alone.

A call is reported when nothing of its name exists where it may be found: no
function, aggregate, window function or procedure (any overload: argument types are
PostgreSQL's to judge), no type (`uuid('...')` is a cast when no function has the name),
and, for a call of one argument, no column (`name(t)` is `t.name`). An unqualified name is
looked for in every schema (the application may set another search path) and in
pg_catalog on every shipped PostgreSQL version; a qualified one in its schema, which the
schema must hold. What an extension owns counts; a snapshot that does not list an
extension's functions leaves every call unknown.

A call of a function the schema has is reported when no overload of it where the call can
reach (any schema, for an unqualified name) takes its arguments by count: PostgreSQL looks
for one whose count of IN, INOUT and VARIADIC arguments (pg_proc's `proargmodes`: OUT ones
are its result, not passed) the call's fills, through defaults (`pronargdefaults`), a
VARIADIC one's elements (one or more, unless the call says `VARIADIC array`), and named
arguments (`f(a => 1)`, `f(1, b => 2)`) matched by name (`proargnames`), and refuses the
statement with 42883 when none (`function_refusal`, `_takes` read as for a `CALL`). Types
are never judged: implicit casts and parameters of unknown type make them PostgreSQL's
alone. Not judged by count: a name pg_catalog has on a shipped version (an unqualified
call may be its), an extension's or a stand-in schema's, a type's, a column's for one
argument, one with an aggregate, window function or procedure among its overloads, a call
with `*`, DISTINCT, ORDER BY, FILTER, OVER or WITHIN GROUP, and one in a schema the
snapshot does not describe.

A statement calling, unqualified, a built-in function of SQLite or MySQL/MariaDB that
nothing here has (`datetime('now')`, `strftime`, `DATE_FORMAT`, `UNIX_TIMESTAMP`) is taken
for that engine's, sent where validate cannot tell (`other_engine_call`): none of its calls
is reported, the statement is "not analysed". The names are generated from SQLite itself
and MariaDB's documentation (`other_engine_functions.txt`, by
scripts/gen_other_engine_functions.py). So is one calling a function Amazon Aurora
PostgreSQL adds to PostgreSQL's built-ins (`aurora_replica_status()`,
`aurora_db_instance_identifier()`, `aurora_version()`), sent to an Aurora cluster: no
server validate runs has them.

A `CALL` reaches procedures only: PostgreSQL looks its name up among every function of the
name (functions, aggregates and procedures alike, `FuncnameGetCandidates` with the call's
OUT arguments counted), keeps those the call's arguments fit by number, by name (`b => 2`)
and through defaults and `VARIADIC`, and refuses the statement unless the one it picks is a
procedure (42809 `f(integer) is not a procedure`, 42883 when none fits, 42725 when several
do). pg_catalog has no procedure on any shipped version. A `CALL` of a name that exists is
reported when no procedure of it where the call can reach (any schema, for an unqualified
name) takes its arguments: `procedure_refusal`, which reads the arguments' count and names
as PostgreSQL's namespace.c does, argument types being PostgreSQL's to judge. Not when an
extension or a stand-in schema has a function of the name (its kind and arguments are not
known), nor for a schema the snapshot does not describe.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dbsafe.validate.per_snapshot import PerSnapshot

if TYPE_CHECKING:
    from dbsafe.schema.model import Argument, Function, SchemaSnapshot
    from dbsafe.validate.confirm import Rewrite

UNKNOWN_FUNCTION_CALL_DOC = """A statement calls a function the schema does not have.

## Why
PostgreSQL looks a called function up when it parses the statement: with no function,
aggregate or procedure of that name where the call can reach, every run of the statement
fails with `42883: function get_stats(integer) does not exist`. A migration that forgot
the function, or one renamed or dropped since, breaks the application in production.
A call of a function the schema has with a count of arguments none of its overloads takes
fails the same way: pgmq's `pgmq.create(queue_name text)` called as `SELECT
pgmq.create($1, $2::text, $3::text)` is refused on every run with `42883: function
pgmq.create(unknown, text, text) does not exist`.
A `CALL` reaches procedures only, with the arguments one of them takes (its OUT arguments
too): `CALL` of a function fails with `42809: refresh_totals(integer) is not a procedure`,
and a `CALL` no overload of the procedure takes with `42883: procedure archive(integer,
integer, integer) does not exist`.

## Bad
```sql
SELECT public.get_stats($1);
SELECT * FROM search_items('lamp');
-- refresh_totals is a function; archive(a int, b int DEFAULT 0) a procedure
CALL refresh_totals(1);
CALL archive(1, 2, 3);
-- pgmq.create(queue_name text); score(a int, b int DEFAULT 0)
SELECT pgmq.create($1, $2::text, $3::text);
SELECT score(b => 1);
```

## Good
```sql
-- a migration: CREATE FUNCTION public.get_stats(team_id uuid) RETURNS jsonb ...
SELECT public.get_stats($1);
SELECT refresh_totals(1);
CALL archive(1);
SELECT pgmq.create($1);
SELECT score(1), score(a => 1, b => 2);
```

## Not flagged
A statement calling a built-in function of SQLite or MySQL/MariaDB that PostgreSQL lacks
(`datetime('now')`, `strftime`, `json_extract`, `DATE_FORMAT`): SQL for that engine,
listed as not analysed; so is one calling a built-in function Amazon Aurora PostgreSQL adds
(`aurora_replica_status()`, `aurora_db_instance_identifier()`), sent to an Aurora cluster. SQL syntax that is no function (`COALESCE`, `NULLIF`, `GREATEST`, `CAST`, `EXTRACT`,
`CURRENT_DATE`, `ROW(...)`), any name pg_catalog has on a PostgreSQL version dbsafe ships
(15, 17, 18), a type's name (a cast), a call of one argument naming a column (`name(t)`), a
function an extension makes, one the file's own DDL makes, pgTAP's functions in a pgTAP test
(a file calling `plan`, `no_plan` or `runtests`), and calls in a schema the schema does not
describe; in a `CALL`, only a procedure counts (pg_catalog has none: `CALL lower('x')` is
flagged, so is a type's or a column's name). Argument types are never judged: a name with
any overload is not reported, except by a call that no overload of the name takes by the
count and names of its arguments (defaults, `VARIADIC` and, for a `CALL`, OUT arguments
counted as PostgreSQL counts them). Not judged by count: a name pg_catalog has (`lower('a',
'b')`), an extension's or a stand-in schema's, a type's, a column's for one argument, a
name with an aggregate, window function or procedure among its overloads, an aggregate's or
window function's call (`count(*)`, `string_agg(x, ',' ORDER BY y)`, `percentile_cont(0.5)
WITHIN GROUP (ORDER BY x)`, `OVER`), and a call in a schema the schema does not describe.
A `CALL` of a name an extension's function has (its kind unknown) is not reported, nor an
unqualified one of a procedure in any schema: the application may set a search path
reaching it. A statement in a branch the code runs on none of the shipped versions (the
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
    inclusive: the function's name in `sql`), and the schema it was qualified with.

    `refusal` is set for a call of a name that exists when no overload takes its
    arguments: a `CALL`'s procedure (`procedure_refusal`), another call's function
    (`function_refusal`)."""

    name: str
    schema: str | None
    start: int
    end: int
    refusal: Refusal | None = None

    def described(self) -> tuple[str, str]:
        """The problem's message and help."""
        where = f"in schema `{self.schema}`" if self.schema else "in any schema"
        refusal = self.refusal
        if refusal is None:
            return (f"no function, aggregate or procedure `{self.name}` {where}",
                    "Create the function in a migration, or call one the schema has "
                    "(PostgreSQL refuses the statement: 42883).")
        if not refusal.procedure:
            return (f"no function `{self.name}` {where} takes {refusal.arguments}",
                    f"Pass the arguments one of its overloads takes: "
                    f"{'; '.join(refusal.overloads)} (PostgreSQL refuses the statement: 42883).")
        if not refusal.overloads:
            return (f"no procedure `{self.name}` {where}: CALL calls procedures only"
                    + (f", and `{self.name}` is {refusal.kinds}" if refusal.kinds else ""),
                    "Run a function with SELECT, or CALL a procedure the schema has "
                    "(PostgreSQL refuses the CALL: 42809 `is not a procedure`, or 42883 "
                    "when no function takes its arguments either).")
        return (f"no procedure `{self.name}` {where} takes {refusal.arguments}",
                f"Pass the arguments one of its overloads takes: "
                f"{'; '.join(refusal.overloads)} (PostgreSQL refuses the CALL: 42883).")


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why PostgreSQL refuses a call of a name that exists: the overloads of the name where
    it can reach (their signatures: the procedures a `CALL` may reach, the functions another
    call may), what else has the name there ('a function', 'an aggregate', ...; '' when not
    known or not said), the call's arguments as PostgreSQL counts them, and whether the call
    is a `CALL` (`procedure`: 42809, 42883 or 42725) or one in a query (42883)."""

    overloads: tuple[str, ...]
    kinds: str
    arguments: str
    procedure: bool = True


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
        stand_ins = snapshot.stand_in_schemas()
        self.schemas = frozenset(snapshot.schemas) - stand_ins - _UNDESCRIBED_SCHEMAS
        # What a CALL may reach: the procedures by name, the other kinds of each name, and
        # the names whose functions' kinds and arguments are unknown (an extension's, a
        # stand-in's).
        self.procedures: dict[str, list[Function]] = {}
        self.kinds: dict[tuple[str, str], set[str]] = {}
        # What another call may reach, for its count of arguments: every overload by name.
        self.overloads: dict[str, list[Function]] = {}
        for function in snapshot.functions:
            self.overloads.setdefault(function.name, []).append(function)
            if function.kind == "procedure":
                self.procedures.setdefault(function.name, []).append(function)
            else:
                self.kinds.setdefault((function.schema, function.name), set()).add(
                    function.kind)
        # A call of a type's name may be a cast (`money_t(x)`, a table's row type too).
        self.types = frozenset(name for _, name in types) | frozenset(
            r.name for r in snapshot.relations)
        self.opaque = frozenset(
            [f for e in snapshot.extensions for f in e.functions or ()]
            + [f.name for f in snapshot.functions if f.schema in stand_ins])

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

    def procedure_refusal(self, name: str, schema: str | None, call: dict[str, Any]
                          ) -> Refusal | None:
        """Why PostgreSQL surely refuses `CALL [schema.]name(...)` (`call`: pglast's
        FuncCall) of a name that exists: no procedure of it it can reach takes the call's
        arguments. None when one may, or when that cannot be told."""
        from dbsafe.validate.syscatalog import catalog_callables

        if self.unknown or name in self.opaque:
            return None
        if schema is not None and schema not in self.schemas and schema != "pg_catalog":
            return None
        shape = _arguments(call)
        if shape is None:
            return None
        positional, names, variadic = shape
        reachable = [p for p in self.procedures.get(name, ())
                     if schema is None or p.schema == schema]
        if any(_takes(p.arguments, positional, names, variadic) for p in reachable):
            return None
        overloads = tuple(sorted(_signature(p, p.arguments) for p in reachable))
        kinds = [f"an {kind}" if kind[0] in "aeiou" else f"a {kind}" for kind in sorted(
            {kind for (s, n), found in self.kinds.items()
             if n == name and (schema is None or s == schema) for kind in found})]
        if schema in (None, "pg_catalog") and name in catalog_callables():
            kinds.append("a built-in function or type")
        return Refusal(overloads, " or ".join(kinds),
                       _described_arguments(positional, names, variadic))

    def function_refusal(self, name: str, schema: str | None, call: dict[str, Any]
                         ) -> Refusal | None:
        """Why PostgreSQL surely refuses a call `[schema.]name(...)` in a query (`call`:
        pglast's FuncCall, no `CALL`'s) of a name the schema has: no overload where the call
        can reach (any schema, for an unqualified name) takes its number of arguments, or
        the names it passes (42883). Counted as `FuncnameGetCandidates` counts a function's
        arguments (IN, INOUT and VARIADIC ones: `Function.input_arguments`), through
        defaults and `VARIADIC`; never their types (implicit casts, parameters of unknown
        type). None when one may take them, or when that cannot be told: a name pg_catalog,
        an extension or a stand-in schema has, a type's (a cast), a column's for one
        argument (`name(t)` is `t.name`), one of an aggregate, window function or procedure,
        an aggregate's or window's call (`count(*)`, `ORDER BY`, `FILTER`, `OVER`, `WITHIN
        GROUP`), and a schema the snapshot does not describe."""
        from dbsafe.validate.syscatalog import catalog_callables

        found = self.overloads.get(name)
        if not found or self.unknown or name in self.opaque or name in self.types:
            return None
        if schema is None:
            if name in catalog_callables() or (
                    len(call.get("args", ())) == 1 and name in self.columns):
                return None
        elif schema not in self.schemas:
            return None
        reachable = [f for f in found if schema is None or f.schema == schema]
        if not reachable or any(f.kind != "function" for f in reachable):
            return None
        shape = _arguments(call)
        if shape is None:
            return None
        positional, names, variadic = shape
        if any(_takes(f.input_arguments, positional, names, variadic) for f in reachable):
            return None
        return Refusal(tuple(sorted(_signature(f, f.input_arguments) for f in reachable)), "",
                       _described_arguments(positional, names, variadic), procedure=False)


def _arguments(call: dict[str, Any]) -> tuple[int, tuple[str, ...], bool] | None:
    """A call's arguments as PostgreSQL matches them to a function or procedure: how many
    are positional, the names of the named ones (`b => 2`), and whether the last is marked
    VARIADIC; None for a call PostgreSQL refuses before looking (a positional argument
    after a named one, a name given twice) or one of an aggregate or window function (`*`,
    DISTINCT, ORDER BY, FILTER, OVER, WITHIN GROUP), whose count is not judged.

    >>> from pglast.parser import parse_sql_json
    >>> def shape(sql):
    ...     return _arguments(json.loads(parse_sql_json(sql))["stmts"][0]["stmt"]
    ...                       ["CallStmt"]["funccall"])
    >>> shape("CALL p(1, b => 2, VARIADIC c => ARRAY[3])"), shape("CALL p()")
    ((1, ('b', 'c'), True), (0, (), False))
    >>> shape("CALL p(a => 1, 2)"), shape("CALL p(a => 1, a => 2)")
    (None, None)
    """
    if any(call.get(flag) for flag in ("agg_star", "agg_distinct", "agg_order",
                                       "agg_filter", "over", "agg_within_group")):
        return None
    positional = 0
    names: list[str] = []
    for argument in call.get("args", ()):
        named = argument.get("NamedArgExpr") if isinstance(argument, dict) else None
        if named is None:
            if names:
                return None
            positional += 1
        elif not isinstance(named.get("name"), str) or named["name"] in names:
            return None
        else:
            names.append(named["name"])
    return positional, tuple(names), bool(call.get("func_variadic"))


def _takes(arguments: tuple[Argument, ...], positional: int, names: tuple[str, ...],
           variadic: bool) -> bool:
    """Whether PostgreSQL counts an overload of `arguments` among the candidates of a call
    of `positional` positional arguments then `names` named ones (`variadic`: the last is
    marked VARIADIC), as FuncnameGetCandidates and MatchNamedCall (namespace.c) do: the
    arguments it counts (a CALL's every one, OUT ones too: `include_out_arguments`; another
    call's IN, INOUT and VARIADIC ones), defaults filling the last ones, and a VARIADIC
    overload taking any number from its own count on when the call does not say VARIADIC
    (`expand_variadic`), positionally only.

    >>> from dbsafe.schema.model import Argument
    >>> joined = (Argument("sep", "text"), Argument("parts", "text[]", "variadic"))
    >>> [_takes(joined, n, (), False) for n in (1, 2, 3)], _takes(joined, 2, (), True)
    ([False, True, True], True)
    >>> _takes(joined, 0, ("sep", "parts"), False), _takes(joined, 1, ("parts",), True)
    (False, True)
    """
    count = len(arguments)
    given = positional + len(names)
    defaults = sum(1 for a in arguments if a.has_default)
    expands = not variadic and any(a.mode == "variadic" for a in arguments)
    if count > given:
        if given + defaults < count:
            return False
    elif count != given and not (expands and not names):
        return False
    if not names:
        return True
    if expands:
        return False  # named notation never matches the elements of a VARIADIC array
    filled = [i < positional for i in range(count)]
    for name in names:
        at = next((i for i, a in enumerate(arguments) if a.name == name), None)
        if at is None or filled[at]:
            return False
        filled[at] = True
    return all(filled[i] or i >= count - defaults for i in range(count))


def _signature(function: Function, arguments: tuple[Argument, ...]) -> str:
    """`schema.name(a integer, b integer DEFAULT ...)`: the arguments a call passes."""
    shown = ", ".join(
        " ".join(part for part in ("" if a.mode == "in" else a.mode.upper(), a.name or "",
                                   a.type) if part) + (" DEFAULT ..." if a.has_default else "")
        for a in arguments)
    return f"{function.schema}.{function.name}({shown})"


def _described_arguments(positional: int, names: tuple[str, ...], variadic: bool) -> str:
    """'no arguments', '1 argument', '3 arguments (b =>, c =>, the last VARIADIC)'.

    >>> _described_arguments(1, ("b", "c"), True)
    '3 arguments (b =>, c =>; the last VARIADIC)'
    """
    count = positional + len(names)
    text = "no arguments" if not count else f"{count} argument{'s' if count != 1 else ''}"
    details = ", ".join(f"{name} =>" for name in names)
    if variadic:
        details = "; ".join(filter(None, (details, "the last VARIADIC")))
    return f"{text} ({details})" if details else text


_CALLABLES: PerSnapshot[Callables] = PerSnapshot(lambda snapshot: Callables(snapshot))


def callables_of(snapshot: SchemaSnapshot) -> Callables:
    """`Callables` of `snapshot`, built once per process."""
    return _CALLABLES(snapshot)


def missing_calls(sql: str, snapshot: SchemaSnapshot) -> list[Call]:
    """The calls in the queries of `sql` (SELECT, INSERT, UPDATE, DELETE, MERGE, CALL) of a
    function the schema lacks, or of one no overload of which takes the call's arguments
    (`Callables.function_refusal`, `Callables.procedure_refusal`), as PostgreSQL's parser
    reads them (driver placeholders numbered in place); none when it cannot read them so.

    >>> from dbsafe.schema.model import Argument, Function, SchemaSnapshot
    >>> snapshot = SchemaSnapshot(schemas=("public",), functions=(
    ...     Function("public", "get_stats", (Argument("team", "uuid"),)),))
    >>> [(c.name, c.schema, c.start, c.end) for c in missing_calls(
    ...     "SELECT coalesce(a, 1), get_stats(%s), public.nope(2), extract(day from b), "
    ...     "uuid('x'), lower(c) FROM search_items($1)", snapshot)]
    [('nope', 'public', 45, 48), ('search_items', None, 100, 111)]
    >>> [(c.name, c.refusal.arguments) for c in missing_calls(
    ...     "SELECT get_stats(%s, 2), get_stats(team => %s)", snapshot)]
    [('get_stats', '2 arguments')]
    """
    read = read_statements(sql)
    if read is None:
        return []
    callables = callables_of(snapshot)
    found: list[Call] = []
    for call, parts in _function_calls(read.statements):
        name, schema = parts[-1], parts[0] if len(parts) == 2 else None
        refusal = None
        if not callables.missing(name, schema, len(call.get("args", ()))):
            refusal = (callables.procedure_refusal(name, schema, call) if call.get(_CALLED)
                       else callables.function_refusal(name, schema, call))
            if refusal is None:
                continue
        start = read.offset(call.get("location", 0))
        if start is not None:
            found.append(replace(_call(sql, start, parts), refusal=refusal))
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
        read = read_statements(sql)
        if read is not None and any(
                parts[-1] in _PGTAP_ENTRIES for _, parts in _function_calls(read.statements)):
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


# The built-in functions Amazon Aurora PostgreSQL adds to PostgreSQL's, in every database
# of an Aurora cluster (AWS's "Aurora PostgreSQL functions reference"; `aurora_list_builtins()`
# lists them on a cluster). Stack Auth reads `aurora_replica_status()` when its replication
# strategy is "aurora".
_AURORA_FUNCTIONS = frozenset({
    "aurora_ccm_status", "aurora_db_instance_identifier", "aurora_global_db_instance_status",
    "aurora_global_db_status", "aurora_list_builtins", "aurora_replica_status",
    "aurora_stat_activity", "aurora_stat_backend_waits", "aurora_stat_bgwriter",
    "aurora_stat_database", "aurora_stat_dml_activity", "aurora_stat_file",
    "aurora_stat_get_db_commit_latency", "aurora_stat_logical_wal_cache",
    "aurora_stat_memctx_usage", "aurora_stat_optimized_reads_cache", "aurora_stat_plans",
    "aurora_stat_reset_wal_cache", "aurora_stat_statements", "aurora_stat_system_waits",
    "aurora_stat_wait_event", "aurora_stat_wait_type", "aurora_version",
    "aurora_volume_logical_start_lsn", "aurora_wait_report",
})


def other_engine_call(calls: Iterable[Call]) -> str | None:
    """Why the statement making `calls` (functions the schema lacks) is another engine's:
    one is an unqualified call of a built-in function of SQLite or MySQL/MariaDB, or of
    one Amazon Aurora PostgreSQL adds to PostgreSQL's (`_AURORA_FUNCTIONS`: a server
    validate cannot stand in for); None when none is.

    >>> other_engine_call([Call("get_stats", None, 7, 15), Call("datetime", None, 20, 27)])
    "calls `datetime`, a built-in function of SQLite, not PostgreSQL's: SQL for SQLite"
    >>> other_engine_call([Call("aurora_version", None, 7, 21)])[-16:]
    ': SQL for Aurora'
    >>> other_engine_call([Call("datetime", "public", 7, 21)]) is None
    True
    """
    functions = other_engine_functions()
    for call in calls:
        name = call.name.lower() if call.schema is None else None
        engines = functions.get(name) if name is not None else None
        if engines is not None:
            return (f"calls `{call.name}`, a built-in function of {engines}, not "
                    f"PostgreSQL's: SQL for {engines.replace(' and ', ' or ')}")
        if name in _AURORA_FUNCTIONS:
            return (f"calls `{call.name}`, a built-in function of Amazon Aurora PostgreSQL "
                    "that PostgreSQL lacks: SQL for Aurora")
    return None


@dataclass(frozen=True, slots=True)
class ReadStatements:
    """The statements of a SQL text as PostgreSQL's parser reads them (JSON), and where in
    that text, as written, a node of theirs is (`offset`)."""

    statements: list[dict[str, Any]]
    sent: Rewrite | None  # what numbered its driver placeholders for the parser; None: none
    read: bytes  # the text the parser read

    def offset(self, location: int) -> int | None:
        """The offset in the SQL as written of a node's `location` (a byte offset in the
        text the parser read); None where the rewrite has no place for it."""
        at = len(self.read[:location].decode("utf-8", "replace"))
        return self.sent.original_offset(at) if self.sent is not None else at


def read_statements(sql: str) -> ReadStatements | None:
    """`sql` as PostgreSQL's parser reads it (its driver placeholders numbered); None when
    it cannot read it."""
    from dbsafe.validate.confirm import parse_as_sent

    parsed = parse_as_sent(sql)
    if parsed.text is None:
        return None
    sent = parsed.sent
    return ReadStatements(
        [s.get("stmt", {}) for s in json.loads(parsed.text).get("stmts", [])], sent,
        (sent.text if sent is not None else sql).encode())


# Marks the FuncCall a CALL statement makes (pglast's JSON has no such key).
_CALLED = "dbsafe_called"


def _function_calls(statements: list[dict[str, Any]]
                    ) -> Iterator[tuple[dict[str, Any], list[str]]]:
    """The `FuncCall` nodes of the queries among `statements` that are calls PostgreSQL
    looks up (not SQL syntax it turns into one), with their name's one or two parts; the
    one a `CALL` makes carries `_CALLED`."""
    for node in query_nodes([
            {"FuncCall": {**s["CallStmt"].get("funccall", {}), _CALLED: True}}
            if "CallStmt" in s else s
            for s in statements if next(iter(s), None) in _DML_NODES]):
        call = node.get("FuncCall")
        if isinstance(call, dict) and call.get("funcformat") != "COERCE_SQL_SYNTAX":
            parts = [p.get("String", {}).get("sval") for p in call.get("funcname", ())]
            if 1 <= len(parts) <= 2 and all(parts):
                yield call, parts


def query_nodes(roots: list[object]) -> Iterator[dict[str, Any]]:
    """Every JSON object (a node, or a node's fields) under `roots`, parse trees of
    PostgreSQL's parser (`read_statements`), depth first."""
    stack = list(roots)
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            yield node
            stack.extend(node.values())


def _call(sql: str, start: int, parts: list[str]) -> Call:
    from dbsafe.validate.resolver import _name_spans

    first, last = _name_spans(sql, start, parts)[-1]
    return Call(parts[-1], parts[0] if len(parts) == 2 else None, first, last)
