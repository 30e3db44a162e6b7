"""Enum value added inside a transaction that PostgreSQL will refuse to use or to add.

## Why
A value added with `ALTER TYPE ... ADD VALUE` cannot be used until its transaction
commits: any later statement in the same transaction that turns the literal into the enum
— an `UPDATE`, an `INSERT`, a `WHERE` comparison, a `SET DEFAULT`, a `CHECK`, a cast
through text (`'x'::text::status`), the body of a `LANGUAGE sql` function being created —
fails with `unsafe use of new value "x" of enum type ...`, and the whole migration rolls
back. Before
PostgreSQL 12, `ADD VALUE` cannot run inside a transaction block at all.

## Bad
```sql
-- in transaction
ALTER TYPE order_status ADD VALUE 'archived';
UPDATE orders SET status = 'archived' WHERE closed_at < now() - interval '1 year';
```

## Good
```sql
-- in transaction
ALTER TYPE order_status ADD VALUE 'archived';
COMMIT;
BEGIN;
UPDATE orders SET status = 'archived' WHERE closed_at < now() - interval '1 year';
```

## In Alembic
```python
with op.get_context().autocommit_block():
    op.execute("ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'archived'")
op.execute("UPDATE orders SET status = 'archived' WHERE ...")
```
or put the data change in the next revision.

## Not flagged
* The value used only after the transaction commits (or in the next migration).
* Enum types created earlier in the same transaction: their new values are usable at once.
  The same type by its schema: after `CREATE TYPE app.mood`, `ALTER TYPE public.mood ADD
  VALUE` (or an unqualified `mood` the `search_path` finds in `public` first) is still
  flagged.
* Mentions PostgreSQL accepts: `ADD VALUE 'y' AFTER 'x'` on the same type, `COMMENT ... IS
  'x'`, and the literal cast to some other type (`'x'::text`).
* The `BEFORE`/`AFTER` position of the new value: PostgreSQL accepts any order.
* A PL/pgSQL function's body (checked only when the function runs), and a `LANGUAGE sql`
  body created after `SET check_function_bodies = off`.
* The literal passed to a function of the migrations (or the database's) whose parameter
  there is declared `text` or another string type: PostgreSQL gives it that type, not the
  enum's (a policy's `USING (has_permission(ws_id, 'manage_forms'))` with `has_permission(uuid,
  text)`). Where the function's overloads of that many parameters differ, or it is not
  known, the literal counts as a use.

## References
https://www.postgresql.org/docs/current/sql-altertype.html#SQL-ALTERTYPE-NOTES
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import (
    Node,
    Statement,
    TypeName,
    function_source,
    last,
    parse_statements,
    qualified,
    setting_changes,
    strings,
    type_name,
)

_ENDS = ("commit", "rollback", "prepare")


def added_value(statement: Statement) -> tuple[str, str] | None:
    """(type, value) of `ALTER TYPE name ADD VALUE [IF NOT EXISTS] 'value' ...`."""
    if statement.kind != "AlterEnumStmt" or statement.node.get("oldVal") is not None:
        return None
    value = statement.node.get("newVal")
    if value is None:
        return None
    return qualified(*strings(statement.node.get("typeName"))), value


def _same_transaction(statement: Statement, ctx: LintContext) -> Iterator[Statement]:
    for later in ctx.later(statement):
        if later.transaction in _ENDS or not later.in_transaction:
            return
        yield later


def _type_created_in_transaction(statement: Statement, ctx: LintContext, name: str) -> bool:
    """Is the enum `name` names at `statement` one this transaction created? The same one
    by its schema, where both schemas are known (`_enum_schema`): `CREATE TYPE app.mood`
    says nothing of the database's `public.mood`."""
    altered = _enum_schema(statement, ctx, name)
    for earlier in reversed(ctx.earlier(statement)):
        if not earlier.in_transaction or earlier.transaction in _ENDS:
            return False
        if earlier.kind == "CreateEnumStmt":
            created = qualified(*strings(earlier.node.get("typeName")))
            if last(created) == last(name) and (
                    altered is None or _created_schema(earlier, ctx, created) in (None, altered)):
                return True
    return False


def _created_schema(statement: Statement, ctx: LintContext, created: str) -> str | None:
    """The schema `CREATE TYPE created` makes its enum in: the one written, else the first of
    the search_path in force; None where no path is known."""
    if "." in created:
        return created.rpartition(".")[0]
    path = ctx.statement_path(statement)
    return path[0] if path else None


def _enum_schema(statement: Statement, ctx: LintContext, name: str) -> str | None:
    """The schema of the enum `name` names at `statement`: the one written, else the first
    schema of the search_path in force holding an enum of the name, made earlier here or
    the database's; None where that is not known."""
    if "." in name:
        return name.rpartition(".")[0]
    path = ctx.statement_path(statement)
    if not path:
        return None
    made = {_created_schema(s, ctx, created) for s in ctx.earlier(statement)
            if s.kind == "CreateEnumStmt"
            and last(created := qualified(*strings(s.node.get("typeName")))) == name}
    database = {e.schema for e in ctx.before.enums if e.name == name} \
        if ctx.before is not None else set()
    return next((schema for schema in path if schema in made or schema in database), None)


# (qualified function name, positional argument count) -> its parameters' declared types
Parameters = Callable[[str, int], "tuple[TypeName | None, ...] | None"]


def _literals(node: Any, type_name_: str, value: str, cast_elsewhere: bool = False,
              parameters: Parameters | None = None) -> bool:
    """Is `value` used as a string literal that is not cast to some other type?

    A literal passed to a user function's parameter declared `text` (or another string
    type) stays a string: PostgreSQL resolves it to the parameter's type, not the enum's
    (a policy's `has_permission(ws_id, 'new_value')`), when `parameters` knows the call's
    one function."""
    if isinstance(node, list):
        return any(_literals(item, type_name_, value, cast_elsewhere, parameters)
                   for item in node)
    if not isinstance(node, dict):
        return False
    if "FuncCall" in node and parameters is not None:
        call = node["FuncCall"]
        args = call.get("args") or []
        types = parameters(".".join(strings(call.get("funcname"))), len(args)) \
            if not any(isinstance(a, dict) and "NamedArgExpr" in a for a in args) else None
        if types is not None:
            rest = {k: v for k, v in call.items() if k != "args"}
            return any(_literals(arg, type_name_, value, False, parameters)
                       for arg, declared in zip(args, types)
                       if not (_is_string_type(declared) and "A_Const" in arg)) or \
                _literals(rest, type_name_, value, False, parameters)
    if "TypeCast" in node:
        cast = node["TypeCast"]
        target = type_name(cast.get("typeName"))
        other = target is not None and last(target.name) != last(type_name_)
        arg = cast.get("arg")
        if not other:
            # 'x'::text::enum: the string reaches the enum all the same, when the cast runs
            while isinstance(arg, dict) and "TypeCast" in arg and _is_string_type(
                    type_name(arg["TypeCast"].get("typeName"))):
                arg = arg["TypeCast"].get("arg")
        return _literals(arg, type_name_, value, other, parameters)
    if "A_Const" in node:
        constant = node["A_Const"].get("sval")
        return not cast_elsewhere and constant is not None and constant.get("sval") == value
    return any(_literals(child, type_name_, value, False, parameters)
               for child in node.values() if isinstance(child, (dict, list)))


def _is_string_type(cast_to: TypeName | None) -> bool:
    return cast_to is not None and cast_to.name in _STRING_TYPES and not cast_to.array


_STRING_TYPES = frozenset({"text", "varchar", "bpchar", "name", "unknown"})


def _uses(statement: Statement, type_name_: str, value: str, checks_bodies: bool,
          parameters: Parameters) -> bool:
    if statement.kind == "CommentStmt" or statement.deferred:
        return False  # (a PL/pgSQL body's statement runs when the function is called)
    if statement.kind == "AlterEnumStmt" and last(qualified(*strings(
            statement.node.get("typeName")))) == last(type_name_):
        return False
    if checks_bodies and any(_literals(node, type_name_, value, parameters=parameters)
                             for node in sql_function_body(statement)):
        return True
    return _literals(statement.node, type_name_, value, parameters=parameters)


def sql_function_body(statement: Statement) -> list[Node]:
    """The statements of a `LANGUAGE sql` function's body written as a string, which
    PostgreSQL analyses when the function is created (check_function_bodies); a body
    written with BEGIN ATOMIC is part of the parse tree already."""
    language, body = function_source(statement)
    if language != "sql" or body is None:
        return []
    return [item[1] for item in parse_statements(body) if isinstance(item, tuple)]


def _checks_bodies(statement: Statement, now: bool) -> bool:
    """Is check_function_bodies on after `statement` (`now`: on before it)?"""
    for name, value, _local in setting_changes(statement):
        if name in ("check_function_bodies", "*"):
            now = value is None or value.lower() not in ("off", "false", "no", "0")
    return now


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    if not statement.in_transaction:
        return
    added = added_value(statement)
    if added is None:
        return
    type_name_, value = added
    if ctx.target_version < 120000:
        yield ctx.finding(
            RULE,
            f"Adding value '{value}' to `{type_name_}` inside a transaction block fails before "
            "PostgreSQL 12; the migration rolls back.",
            help="Run ALTER TYPE ... ADD VALUE outside a transaction (alembic: in an "
                 "autocommit_block()).",
            subject=type_name_,
        )
        return
    if _type_created_in_transaction(statement, ctx, type_name_):
        return
    checks_bodies = True
    for earlier in ctx.earlier(statement):
        checks_bodies = _checks_bodies(earlier, checks_bodies)
    for later in _same_transaction(statement, ctx):
        checks_bodies = _checks_bodies(later, checks_bodies)
        if _uses(later, type_name_, value, checks_bodies, ctx.parameter_types):
            yield ctx.finding(
                RULE,
                f"New value '{value}' of `{type_name_}` is used on line "
                f"{later.location.line} before the transaction that adds it commits; "
                "PostgreSQL refuses it (unsafe use of new value) and the migration rolls "
                "back.",
                # `autocommit_block()` is alembic's: a folder of SQL files (supabase's,
                # dbmate's, ...) commits the value in a transaction of its own instead
                help=("Add the value in an autocommit_block() or an earlier migration, and "
                      "use it after that commits." if ctx.migration.kind == "alembic" else
                      "Add the value in a transaction of its own or an earlier migration, "
                      "and use it after that commits."),
                subject=type_name_,
            )
            return


RULE = Rule(
    code="DBS113",
    name="enum-value-used-in-same-transaction",
    severity=Severity.ERROR,
    since="0.1.0",
    doc=__doc__,
    check=check,
    kinds=frozenset({"AlterEnumStmt"}),
)
