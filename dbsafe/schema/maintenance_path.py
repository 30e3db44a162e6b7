"""Which functions an index, a materialized view, a stored generated column or a CHECK
constraint of a live database calls that PostgreSQL 17's maintenance `search_path`
(`pg_catalog, pg_temp`, and a restore's empty one) leaves without what their bodies name.

Check DBS520's step after its query (`dbsafe.checks.runner` runs it for that check): SQL
cannot read a string body (`AS $$ ... $$`: PostgreSQL records no dependency for it and parses
it only when the function runs), so the query lists each object with the user functions it
calls and `refine` reads their definitions with the reader lint's DBS142 uses too
(`dbsafe.pg.function_body`), following the functions they call, inside the check's read-only
transaction. Only SELECTs of the catalog are run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dbsafe.pg.function_body import Call, CatalogNames, FunctionBody, read_function

if TYPE_CHECKING:
    import psycopg

# How deep the walk follows functions calling functions.
MAX_DEPTH = 5


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
    bodies: dict[int, FunctionBody] = {}
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
          bodies: dict[int, FunctionBody], catalog: CatalogNames,
          ) -> tuple[list[tuple[list[int], FunctionBody]], list[tuple[list[int], str]]]:
    """Breadth first from `roots`: the chains (root first) to each function whose body names
    something unqualified, and to each whose body dbsafe cannot read."""
    problems: list[tuple[list[int], FunctionBody]] = []
    unreadable: list[tuple[list[int], str]] = []
    seen: set[int] = set()
    level = [[oid] for oid in roots]
    for _depth in range(MAX_DEPTH):
        _load(cur, [chain[-1] for chain in level if chain[-1] not in functions], functions)
        following: list[list[int]] = []
        wanted: list[tuple[list[int], Call]] = []
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
                bodies[oid] = read_function(function.source, catalog)
            body = bodies[oid]
            if body.unreadable:
                unreadable.append((chain, body.unreadable))
                continue
            if body.unqualified:
                problems.append((chain, body))
            elif body.builds_sql:
                unreadable.append((chain, "runs SQL it builds when it runs (EXECUTE)"))
            # (what a qualified call reaches runs under this function's path too)
            wanted += [(chain, call) for call in body.calls if call.schema is not None]
        following += [[*chain, oid] for chain, oid in _resolve(cur, wanted)]
        level = following
        if not level:
            break
    return problems, unreadable


def _catalog(cur: psycopg.Cursor[Any]) -> CatalogNames:
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
    return CatalogNames(relations=frozenset(names["relation"]),
                        functions=frozenset(names["function"]),
                        types=frozenset(names["type"]),
                        operators=frozenset(names["operator"]))


def _load(cur: psycopg.Cursor[Any], oids: Iterable[int],
          functions: dict[int, _Function]) -> None:
    """Read the functions `oids` from the catalog into `functions`."""
    wanted = sorted(set(oids))
    if not wanted:
        return
    # pg_get_functiondef gives the body with what its readers need: a PL/pgSQL one's
    # declarations (the arguments' names and types), a SET search_path among its clauses
    cur.execute("""
        SELECT p.oid, format('%%I.%%I(%%s)', n.nspname, p.proname,
                             pg_catalog.oidvectortypes(p.proargtypes)),
               l.lanname,
               CASE WHEN p.prokind IN ('a', 'w') OR l.lanname IN ('c', 'internal')
                        OR p.prosqlbody IS NOT NULL THEN ''
                    ELSE pg_catalog.pg_get_functiondef(p.oid) END,
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
        functions[oid] = _Function(signature, language, source, pinned, tuple(callees))


def _resolve(cur: psycopg.Cursor[Any], wanted: list[tuple[list[int], Call]],
             ) -> list[tuple[list[int], int]]:
    """The functions each schema-qualified call may reach, outside pg_catalog: every
    overload taking its number of arguments (the arguments' types are not known here)."""
    if not wanted:
        return []
    calls = sorted({call for _chain, call in wanted}, key=repr)
    cur.execute("""
        SELECT w.i, p.oid
        FROM unnest(%s::text[], %s::text[], %s::int[]) WITH ORDINALITY AS w(nsp, name, arity, i)
        JOIN pg_catalog.pg_namespace AS n ON n.nspname = w.nsp
        JOIN pg_catalog.pg_proc AS p ON p.pronamespace = n.oid AND p.proname = w.name
        WHERE n.nspname <> 'pg_catalog'
          AND (w.arity IS NULL OR (p.pronargs - p.pronargdefaults <= w.arity
                                   AND (w.arity <= p.pronargs OR p.provariadic <> 0)))
        ORDER BY p.oid""", ([c.schema for c in calls], [c.name for c in calls],
                            [c.arity for c in calls]))
    found: dict[Call, list[int]] = {}
    for i, oid in cur.fetchall():
        found.setdefault(calls[i - 1], []).append(oid)
    return [(chain, oid) for chain, call in wanted for oid in found.get(call, ())]


def _chain(chain: list[int], functions: Mapping[int, _Function]) -> str:
    return ", which calls ".join(f"`{functions[oid].signature}`" for oid in chain)


def _shown(body: FunctionBody) -> list[str]:
    return sorted({name.name for name in body.unqualified})


def _listed(names: Sequence[str], limit: int = 3) -> str:
    shown = ", ".join(f"`{n}`" for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _message(kind: str, subject: str, fails: str, problems: list[tuple[list[int], FunctionBody]],
             functions: Mapping[int, _Function]) -> str:
    chain, body = problems[0]
    more = (f" (and {len(problems) - 1} more such function{'s' if len(problems) > 2 else ''})"
            if len(problems) > 1 else "")
    return (f"{kind} `{subject}` calls {_chain(chain, functions)}, which has no "
            f"`SET search_path` and names {_listed(_shown(body))} unqualified{more}, "
            f"which neither PostgreSQL 17's maintenance search_path (`pg_catalog, pg_temp`) "
            f"nor a restore's empty one finds: {fails} (42883, 42P01 or 42704).")


def _help(cur: psycopg.Cursor[Any], problems: list[tuple[list[int], FunctionBody]],
          functions: Mapping[int, _Function]) -> str:
    fixes = []
    for chain, body in problems:
        schemas = _schemas_of(cur, _shown(body)) or ["<schema>"]
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
