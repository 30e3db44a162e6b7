"""DBS520's reading of function bodies: which names PostgreSQL 17's maintenance `search_path`
(`pg_catalog, pg_temp`) would not find.

SQL cannot read a string body (`AS $$ ... $$`: PostgreSQL records no dependency for it and
parses it only when the function runs), so the check's query lists each index, materialized
view, stored generated column and CHECK constraint with the user functions it calls, and
`refine` reads those bodies with PostgreSQL's own parsers (pglast), following the functions
they call, inside the check's read-only transaction. Only SELECTs of the catalog are run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

# How deep the walk follows functions calling functions.
MAX_DEPTH = 5
# Characters an operator name is made of (a `BETWEEN` A_Expr is named by a keyword instead).
_OPERATOR_CHARS = frozenset("+-*/<>=~!@#%^&|`?")


@dataclass(frozen=True, slots=True)
class Body:
    """What one function body names: the names `pg_catalog` lacks that it gives with no
    schema, the functions it calls schema-qualified, and why it could not be read (None
    when it was)."""

    unqualified: tuple[str, ...] = ()
    calls: tuple[tuple[str, str], ...] = ()
    unreadable: str | None = None


@dataclass(slots=True)
class _Names:
    relations: set[str] = field(default_factory=set)
    functions: set[str] = field(default_factory=set)
    types: set[str] = field(default_factory=set)
    operators: set[str] = field(default_factory=set)
    calls: set[tuple[str, str]] = field(default_factory=set)
    ctes: set[str] = field(default_factory=set)


def read_body(language: str, source: str, catalog: Mapping[str, frozenset[str]]) -> Body:
    """The names a `sql` body (`prosrc`) or a `plpgsql` function (`pg_get_functiondef`)
    gives unqualified that `catalog` (`pg_catalog`'s names by kind: `relation`, `function`,
    `type`, `operator`) does not hold.

    >>> catalog = {"relation": frozenset({"pg_class"}), "function": frozenset({"lower"}),
    ...            "type": frozenset({"text", "int4", "bool"}), "operator": frozenset({"="})}
    >>> read_body("sql", "WITH x AS (SELECT 1) SELECT lower(plus_one(a)::text) FROM lk, x, "
    ...           "pg_class WHERE b @@@ c AND d = app.f(e)", catalog)
    Body(unqualified=('@@@', 'lk', 'plus_one'), calls=(('app', 'f'),), unreadable=None)
    >>> read_body("sql", "INSERT INTO log VALUES ($1::my_type)", catalog).unqualified
    ('log', 'my_type')
    >>> read_body("sql", "SELECT lower($1)", catalog)
    Body(unqualified=(), calls=(), unreadable=None)
    >>> read_body("plpgsql", "CREATE FUNCTION f(i int) RETURNS int LANGUAGE plpgsql AS $$ "
    ...           "DECLARE r lk%ROWTYPE; BEGIN RETURN lower(i::text); END $$", catalog)
    Body(unqualified=('lk',), calls=(), unreadable=None)
    >>> read_body("plpgsql", "CREATE FUNCTION f(s text) RETURNS int LANGUAGE plpgsql AS $$ "
    ...           "BEGIN EXECUTE s; RETURN 1; END $$", catalog).unreadable
    'runs SQL it builds when it runs (EXECUTE)'
    """
    from pglast.parser import ParseError

    statements: list[str | None]
    names = _Names()
    if language == "sql":
        statements = [source]
    elif language == "plpgsql":
        from pglast.parser import parse_plpgsql_json

        from dbsafe.pg.plpgsql import executed_sql

        try:
            tree = json.loads(parse_plpgsql_json(source))
        except (ParseError, ValueError, RecursionError):
            return Body(unreadable="has a body PostgreSQL's PL/pgSQL parser rejects")
        statements = list(executed_sql(tree, expressions=True))
        for typname in _declared_types(tree):
            _declared_type(typname, names)
    else:
        return Body(unreadable=f"is written in {language}, which dbsafe does not read")
    if None in statements:
        return Body(unreadable="runs SQL it builds when it runs (EXECUTE)")
    for sql in statements:
        try:
            _collect(sql or "", names)
        except (ParseError, RecursionError):
            return Body(unreadable="has a body PostgreSQL's parser rejects")
    unqualified = ((names.relations - names.ctes - catalog["relation"])
                   | (names.functions - catalog["function"])
                   | (names.types - catalog["type"] - catalog["relation"])
                   | (names.operators - catalog["operator"]))
    return Body(tuple(sorted(unqualified)), tuple(sorted(names.calls)))


def _declared_types(tree: Any) -> Iterator[str]:
    """The types a PL/pgSQL function's variables are declared with, as written."""
    for function in tree if isinstance(tree, list) else [tree]:
        for datum in (function or {}).get("PLpgSQL_function", {}).get("datums") or ():
            for fields in datum.values():
                typname = (fields.get("datatype") or {}).get("PLpgSQL_type", {}).get("typname")
                if isinstance(typname, str):
                    yield typname


def _declared_type(typname: str, names: _Names) -> None:
    # `t%ROWTYPE` names a relation, `t.c%TYPE` a relation's column, `s.t...` is qualified;
    # a quoted name keeps its case, an array keeps its brackets
    lowered = typname.split("[")[0].strip()
    if lowered.lower().endswith("%rowtype"):
        parts, kind = lowered[: -len("%rowtype")].split("."), "relation"
    elif lowered.lower().endswith("%type"):
        parts, kind = lowered[: -len("%type")].split(".")[:-1], "relation"
    else:
        parts, kind = lowered.split("("), "type"
        parts = parts[0].strip().split(".")
    if len(parts) != 1 or not parts[0]:
        return
    name = parts[0][1:-1] if parts[0].startswith('"') else parts[0].lower()
    (names.relations if kind == "relation" else names.types).add(name)


def _collect(sql: str, names: _Names) -> None:
    """Gather the names a statement gives, by kind, from its parse tree (pglast's nodes: a
    relation or a type is a field of its parent as often as a list item, which the visitor
    reaches either way).

    Raises:
        pglast.parser.ParseError: PostgreSQL's grammar rejects `sql`.
    """
    from pglast import ast, parse_sql
    from pglast.visitors import Visitor

    class _Visitor(Visitor):
        def visit_RangeVar(self, _ancestors: Any, node: ast.RangeVar) -> None:
            if not node.schemaname and node.relname:
                names.relations.add(node.relname)

        def visit_CommonTableExpr(self, _ancestors: Any, node: ast.CommonTableExpr) -> None:
            if node.ctename:
                names.ctes.add(node.ctename)

        def visit_FuncCall(self, _ancestors: Any, node: ast.FuncCall) -> None:
            parts = _strings(node.funcname)
            if len(parts) == 1:
                names.functions.add(parts[0])
            elif len(parts) == 2:
                names.calls.add((parts[0], parts[1]))

        def visit_TypeName(self, _ancestors: Any, node: ast.TypeName) -> None:
            parts = _strings(node.names)
            if len(parts) == 1:
                names.types.add(parts[0])

        def visit_A_Expr(self, _ancestors: Any, node: ast.A_Expr) -> None:
            parts = _strings(node.name)
            if len(parts) == 1 and set(parts[0]) <= _OPERATOR_CHARS:
                names.operators.add(parts[0])

    _Visitor()(parse_sql(sql))


def _strings(items: Any) -> list[str]:
    return [item.sval for item in items or () if hasattr(item, "sval")]


@dataclass(frozen=True, slots=True)
class _Function:
    signature: str  # schema-qualified, with its argument types
    language: str
    source: str
    pinned: bool  # a search_path among its SET clauses
    callees: tuple[int, ...]  # what a BEGIN ATOMIC body calls (pg_depend)


def refine(cur: psycopg.Cursor[Any], columns: Sequence[str],
           rows: Sequence[Sequence[Any]]) -> tuple[list[str], list[tuple[Any, ...]]]:
    """DBS520's findings from its query's rows (`subject`, `kind`, `fails`, `functions`):
    one row per object whose functions name something unqualified (`subject`, `message`,
    `help`), one `not_checked` row per object whose functions dbsafe could not read."""
    at = {name: i for i, name in enumerate(columns)}
    catalog = _catalog(cur)
    functions: dict[int, _Function] = {}
    bodies: dict[int, Body] = {}
    out: list[tuple[Any, ...]] = []
    for row in rows:
        subject, kind, fails = row[at["subject"]], row[at["kind"]], row[at["fails"]]
        problems, unreadable = _walk(cur, list(row[at["functions"]]), functions, bodies,
                                     catalog)
        if problems:
            out.append((subject, _message(kind, subject, fails, problems, functions),
                        _help(cur, problems, functions), None))
        elif unreadable:
            chain, why = unreadable[0]
            out.append((subject, None, None,
                        f"{kind.lower()} `{subject}` calls {_chain(chain, functions)}, which "
                        f"{why}"))
    return ["subject", "message", "help", "not_checked"], out


def _walk(cur: psycopg.Cursor[Any], roots: list[int], functions: dict[int, _Function],
          bodies: dict[int, Body], catalog: Mapping[str, frozenset[str]],
          ) -> tuple[list[tuple[list[int], Body]], list[tuple[list[int], str]]]:
    """Breadth first from `roots`: the chains (root first) to each function whose body names
    something unqualified, and to each whose body dbsafe cannot read."""
    problems: list[tuple[list[int], Body]] = []
    unreadable: list[tuple[list[int], str]] = []
    seen: set[int] = set()
    level = [[oid] for oid in roots]
    for _depth in range(MAX_DEPTH):
        _load(cur, [chain[-1] for chain in level if chain[-1] not in functions], functions)
        following: list[list[int]] = []
        wanted: list[tuple[list[int], tuple[str, str]]] = []
        for chain in level:
            oid = chain[-1]
            if oid in seen or oid not in functions:
                continue
            seen.add(oid)
            function = functions[oid]
            if function.pinned:
                continue
            following += [[*chain, callee] for callee in function.callees]
            if not function.source:
                continue  # C, internal and BEGIN ATOMIC functions: no string body to read
            if oid not in bodies:
                bodies[oid] = read_body(function.language, function.source, catalog)
            body = bodies[oid]
            if body.unreadable:
                unreadable.append((chain, body.unreadable))
                continue
            if body.unqualified:
                problems.append((chain, body))
            wanted += [(chain, call) for call in body.calls]
        following += [[*chain, oid] for chain, oid in _resolve(cur, wanted)]
        level = following
        if not level:
            break
    return problems, unreadable


def _catalog(cur: psycopg.Cursor[Any]) -> dict[str, frozenset[str]]:
    """The names `search_path = pg_catalog, pg_temp` finds unqualified, by kind."""
    cur.execute("""
        SELECT 'relation', relname::text FROM pg_catalog.pg_class
        WHERE relnamespace = 'pg_catalog'::regnamespace
        UNION SELECT 'function', proname::text FROM pg_catalog.pg_proc
        WHERE pronamespace = 'pg_catalog'::regnamespace
        UNION SELECT 'type', typname::text FROM pg_catalog.pg_type
        WHERE typnamespace = 'pg_catalog'::regnamespace
        UNION SELECT 'operator', oprname::text FROM pg_catalog.pg_operator
        WHERE oprnamespace = 'pg_catalog'::regnamespace""")
    names: dict[str, set[str]] = {"relation": set(), "function": set(), "type": set(),
                                  "operator": set()}
    for kind, name in cur.fetchall():
        names[kind].add(name)
    return {kind: frozenset(values) for kind, values in names.items()}


def _load(cur: psycopg.Cursor[Any], oids: Iterable[int],
          functions: dict[int, _Function]) -> None:
    """Read the functions `oids` from the catalog into `functions`."""
    wanted = sorted(set(oids))
    if not wanted:
        return
    # pg_get_functiondef gives a PL/pgSQL body with the declarations its parser needs (the
    # arguments' names and types); a SQL body is parsed as it is stored
    cur.execute("""
        SELECT p.oid, format('%%I.%%I(%%s)', n.nspname, p.proname,
                             pg_catalog.oidvectortypes(p.proargtypes)),
               l.lanname,
               CASE WHEN p.prokind IN ('a', 'w') OR l.lanname NOT IN ('sql', 'plpgsql')
                        OR p.prosqlbody IS NOT NULL THEN ''
                    WHEN l.lanname = 'plpgsql' THEN pg_catalog.pg_get_functiondef(p.oid)
                    ELSE p.prosrc END,
               coalesce(EXISTS (SELECT FROM unnest(p.proconfig) AS c
                                WHERE c LIKE 'search\\_path=%%'), false),
               ARRAY(SELECT d.refobjid FROM pg_catalog.pg_depend AS d
                     JOIN pg_catalog.pg_proc AS callee ON callee.oid = d.refobjid
                     WHERE p.prosqlbody IS NOT NULL
                       AND d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                       AND d.refclassid = 'pg_proc'::regclass
                       AND callee.pronamespace <> 'pg_catalog'::regnamespace
                     ORDER BY 1)
        FROM pg_catalog.pg_proc AS p
        JOIN pg_catalog.pg_namespace AS n ON n.oid = p.pronamespace
        JOIN pg_catalog.pg_language AS l ON l.oid = p.prolang
        WHERE p.oid = ANY (%s::oid[])""", (wanted,))
    for oid, signature, language, source, pinned, callees in cur.fetchall():
        # An untrusted language's body (plpython3u) is listed as unreadable; C, internal
        # and BEGIN ATOMIC ones have none to read
        if language not in ("sql", "plpgsql", "c", "internal") and not source:
            source = "-"
        functions[oid] = _Function(signature, language, source, pinned, tuple(callees))


def _resolve(cur: psycopg.Cursor[Any], wanted: list[tuple[list[int], tuple[str, str]]],
             ) -> list[tuple[list[int], int]]:
    """The functions each schema-qualified call names (every overload: the arguments' types
    are not known here), outside pg_catalog."""
    if not wanted:
        return []
    pairs = sorted({call for _chain, call in wanted})
    cur.execute("""
        SELECT n.nspname::text, p.proname::text, p.oid
        FROM pg_catalog.pg_proc AS p
        JOIN pg_catalog.pg_namespace AS n ON n.oid = p.pronamespace
        JOIN unnest(%s::text[], %s::text[]) AS w(nsp, name)
          ON w.nsp = n.nspname AND w.name = p.proname
        WHERE n.nspname <> 'pg_catalog'
        ORDER BY p.oid""", ([s for s, _ in pairs], [f for _, f in pairs]))
    found: dict[tuple[str, str], list[int]] = {}
    for schema, name, oid in cur.fetchall():
        found.setdefault((schema, name), []).append(oid)
    return [(chain, oid) for chain, call in wanted for oid in found.get(call, ())]


def _chain(chain: list[int], functions: Mapping[int, _Function]) -> str:
    return ", which calls ".join(f"`{functions[oid].signature}`" for oid in chain)


def _listed(names: Sequence[str], limit: int = 3) -> str:
    shown = ", ".join(f"`{n}`" for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _message(kind: str, subject: str, fails: str, problems: list[tuple[list[int], Body]],
             functions: Mapping[int, _Function]) -> str:
    chain, body = problems[0]
    more = (f" (and {len(problems) - 1} more such function{'s' if len(problems) > 2 else ''})"
            if len(problems) > 1 else "")
    return (f"{kind} `{subject}` calls {_chain(chain, functions)}, which has no "
            f"`SET search_path` and names {_listed(body.unqualified)} unqualified{more}, "
            f"which neither PostgreSQL 17's maintenance search_path (`pg_catalog, pg_temp`) "
            f"nor a restore's empty one finds: {fails} (42883, 42P01 or 42704).")


def _help(cur: psycopg.Cursor[Any], problems: list[tuple[list[int], Body]],
          functions: Mapping[int, _Function]) -> str:
    fixes = []
    for chain, body in problems:
        schemas = _schemas_of(cur, body.unqualified) or ["<schema>"]
        fixes.append(f"`ALTER FUNCTION {functions[chain[-1]].signature} SET search_path = "
                     f"{', '.join(schemas)}, pg_temp;`")
    return (f"Pin the search path: {' '.join(fixes)} (the schemas holding those names now), "
            "or schema-qualify the names in the body.")


def _schemas_of(cur: psycopg.Cursor[Any], names: Sequence[str]) -> list[str]:
    """The schemas outside pg_catalog holding a relation, function, type or operator named
    one of `names`, in the order of the session's search_path first."""
    cur.execute("""
        SELECT pg_catalog.quote_ident(n.nspname)
        FROM pg_catalog.pg_namespace AS n
        WHERE n.nspname <> 'pg_catalog' AND n.nspname !~ '^pg_(toast|temp)'
          AND (EXISTS (SELECT FROM pg_catalog.pg_class AS c
                       WHERE c.relnamespace = n.oid AND c.relname = ANY (%(names)s::text[]))
               OR EXISTS (SELECT FROM pg_catalog.pg_proc AS p
                          WHERE p.pronamespace = n.oid AND p.proname = ANY (%(names)s::text[]))
               OR EXISTS (SELECT FROM pg_catalog.pg_type AS t
                          WHERE t.typnamespace = n.oid AND t.typname = ANY (%(names)s::text[]))
               OR EXISTS (SELECT FROM pg_catalog.pg_operator AS o
                          WHERE o.oprnamespace = n.oid
                            AND o.oprname = ANY (%(names)s::text[])))
        ORDER BY array_position(current_schemas(false), n.nspname), n.nspname""",
                {"names": list(names)})
    return [row[0] for row in cur.fetchall()]

