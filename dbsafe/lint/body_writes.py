"""What a function's body or a rule's actions may write, read with PostgreSQL's own grammars
(pglast): the tables its statements write, the functions it calls (one not PostgreSQL's own
may write any table), or why that cannot be told.

The guard follows a trigger or rule on a table an upgrade writes this way, a column default
of one, and an event trigger the upgrade's DDL fires (`guard.row_tables`). Only writes count: an `INSERT`, `UPDATE`, `DELETE` or `MERGE` target
(in a data-modifying CTE too), a `TRUNCATE`d table, a `COPY ... FROM` target; a table only
read changes no rows. A statement of any other kind (DDL, `DO`), SQL built at run time
(`EXECUTE` of anything but a string constant), a language other than PL/pgSQL and SQL, or a
body the grammar rejects cannot be told.

>>> writes = function_writes("plpgsql", '''CREATE FUNCTION audit() RETURNS trigger
... LANGUAGE plpgsql AS $$ BEGIN
...   NEW.updated_at := now();
...   INSERT INTO app.audit_log (op, row) SELECT TG_OP, to_jsonb(NEW) FROM lookup;
...   RETURN NEW;
... END $$''')
>>> sorted(writes.tables), sorted(writes.functions), writes.unknown
(['app.audit_log'], ['now', 'to_jsonb'], None)
>>> function_writes("plpgsql", "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS "
...                 "$$ BEGIN EXECUTE format('DELETE FROM %I', TG_ARGV[0]); RETURN NULL; END $$"
...                 ).unknown
'builds SQL at run time (EXECUTE)'
>>> sorted(rule_writes("CREATE RULE r AS ON UPDATE TO v DO INSTEAD "
...                    "(UPDATE t SET a = new.a; NOTIFY v)").tables)
['t']
>>> sorted(expression_writes("app.next_invoice_number() + lower(x)").functions)
['app.next_invoice_number', 'lower']
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from dbsafe.lint.row_changes import called_functions
from dbsafe.lint.statement import range_var, walk
from dbsafe.pg.plpgsql import executed_sql

# Statements that write the relation they name.
_WRITING = frozenset({"InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"})
# Statements that change no table's rows but through the functions they call.
_HARMLESS = frozenset({"SelectStmt", "CallStmt", "NotifyStmt", "VariableSetStmt", "LockStmt",
                       "ReturnStmt"})


@dataclass(frozen=True, slots=True)
class Writes:
    """The tables a body writes and the functions it calls, as named (`schema.name` or
    `name`); `unknown` says why what it writes cannot be told."""

    tables: frozenset[str] = field(default_factory=frozenset)
    functions: frozenset[str] = field(default_factory=frozenset)
    unknown: str | None = None


def function_writes(language: str, definition: str) -> Writes:
    """What a function may write, from its `language` and its `CREATE FUNCTION` text
    (`pg_get_functiondef`)."""
    if language == "plpgsql":
        return _plpgsql_writes(definition)
    if language == "sql":
        return _sql_function_writes(definition)
    return Writes(unknown=f"is written in {language}, which dbsafe does not read")


def rule_writes(definition: str) -> Writes:
    """What a rule's actions (and its `WHERE` condition) may write, from its `CREATE RULE`
    text (`pg_get_ruledef`); not the table the rule is on, which its own statement writes."""
    tree = _parsed(definition)
    if tree is None or not tree or "RuleStmt" not in tree[0]:
        return Writes(unknown="has a definition PostgreSQL's parser rejects")
    rule = tree[0]["RuleStmt"]
    return _tree_writes([rule.get("actions") or [], rule.get("whereClause") or {}])


def rule_replaces(definition: str) -> bool:
    """Whether a rule (its `CREATE RULE` text) replaces the statement it is on: `DO INSTEAD`
    without a `WHERE` (with one, PostgreSQL still runs the statement for the rows the
    condition leaves out), so the statement writes nothing of its table (PostgreSQL 18).

    >>> rule_replaces("CREATE RULE r AS ON DELETE TO t DO INSTEAD NOTHING")
    True
    >>> rule_replaces("CREATE RULE r AS ON DELETE TO t WHERE old.id > 5 DO INSTEAD NOTHING")
    False
    >>> rule_replaces("CREATE RULE r AS ON DELETE TO t DO ALSO NOTIFY t")
    False
    """
    tree = _parsed(definition)
    rule = tree[0].get("RuleStmt") if tree else None
    return bool(rule and rule.get("instead") and not rule.get("whereClause"))


def expression_writes(expression: str) -> Writes:
    """What evaluating an expression may write (a column's default, `pg_get_expr`): only
    through the functions it calls."""
    tree = _parsed(f"SELECT {expression}")
    if tree is None:
        return Writes(unknown="has an expression PostgreSQL's parser rejects")
    return _tree_writes(tree)


def statement_writes(tree: Any) -> Writes:
    """What running parsed statements (pglast's JSON form: a query an `EXPLAIN ANALYZE` or
    `CREATE TABLE AS` runs, `lint.row_changes.Runs`) may write.

    >>> statement_writes({"SelectStmt": {}})
    Writes(tables=frozenset(), functions=frozenset(), unknown=None)
    """
    return _tree_writes(tree)


def query_writes(query: str) -> Writes:
    """What running a query may write (a materialized view's, `pg_get_viewdef`)."""
    tree = _parsed(query)
    if tree is None:
        return Writes(unknown="has a query PostgreSQL's parser rejects")
    return _tree_writes(tree)


def _sql_function_writes(definition: str) -> Writes:
    tree = _parsed(definition)
    if tree is None or not tree or "CreateFunctionStmt" not in tree[0]:
        return Writes(unknown="has a definition PostgreSQL's parser rejects")
    function = tree[0]["CreateFunctionStmt"]
    if function.get("sql_body"):  # BEGIN ATOMIC ... END, or RETURN expression
        return _tree_writes(function["sql_body"])
    bodies = [_parsed(text) for kind, fields in walk(function.get("options") or [])
              if kind == "DefElem" and fields.get("defname") == "as"
              for text in _strings(fields.get("arg"))]
    if any(body is None for body in bodies):
        return Writes(unknown="has a body PostgreSQL's parser rejects")
    return _tree_writes(bodies)


def _plpgsql_writes(definition: str) -> Writes:
    import pglast

    try:
        tree = pglast.parse_plpgsql(definition)
    except Exception:  # noqa: BLE001 - any PL/pgSQL parser failure
        return Writes(unknown="has a body PostgreSQL's PL/pgSQL parser rejects")
    statements: list[Any] = []
    for sql in executed_sql(tree, expressions=True):
        if sql is None:
            return Writes(unknown="builds SQL at run time (EXECUTE)")
        parsed = _parsed(sql)
        if parsed is None:
            return Writes(unknown="runs SQL PostgreSQL's parser rejects")
        statements.append(parsed)
    return _tree_writes(statements)


def _tree_writes(tree: Any) -> Writes:
    tables: set[str] = set()
    for kind, fields in walk(tree):
        if kind in _WRITING:
            tables.add(range_var(fields.get("relation")) or "")
        elif kind == "TruncateStmt":
            tables.update(range_var(r) or "" for r in fields.get("relations") or ())
        elif kind == "CopyStmt":
            if fields.get("is_from"):
                tables.add(range_var(fields.get("relation")) or "")
        elif kind.endswith("Stmt") and kind not in _HARMLESS:
            return Writes(unknown=f"runs a {kind.removesuffix('Stmt')} statement")
    return Writes(frozenset(tables - {""}), frozenset(called_functions(tree)))


def _parsed(sql: str) -> list[Any] | None:
    """Each statement of `sql` as its parse tree (pglast's JSON form); None if PostgreSQL's
    parser rejects it."""
    from pglast.parser import ParseError, parse_sql_json

    try:
        return [s["stmt"] for s in json.loads(parse_sql_json(sql)).get("stmts", ())]
    except (ParseError, ValueError, RecursionError, KeyError):
        return None


def _strings(node: Any) -> list[str]:
    return [fields["sval"] for kind, fields in walk(node) if kind == "String"]
