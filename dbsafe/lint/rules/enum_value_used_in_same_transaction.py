"""Enum value added inside a transaction that PostgreSQL will refuse to use or to add.

## Why
A value added with `ALTER TYPE ... ADD VALUE` cannot be used until its transaction
commits: any later statement in the same transaction that turns the literal into the enum
— an `UPDATE`, an `INSERT`, a `WHERE` comparison, a `SET DEFAULT`, a `CHECK` — fails with
`unsafe use of new value "x" of enum type ...`, and the whole migration rolls back. Before
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
* Mentions PostgreSQL accepts: `ADD VALUE 'y' AFTER 'x'` on the same type, `COMMENT ... IS
  'x'`, and the literal cast to some other type (`'x'::text`).
* The `BEFORE`/`AFTER` position of the new value: PostgreSQL accepts any order.

## References
https://www.postgresql.org/docs/current/sql-altertype.html#SQL-ALTERTYPE-NOTES
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule, Statement
from dbsafe.lint.locks import qualified_name, tokens, words_of


def added_value(statement: Statement) -> tuple[str, str] | None:
    """(type, value) of `ALTER TYPE name ADD VALUE [IF NOT EXISTS] 'value' ...`."""
    words = tokens(statement.sql)
    up = [w.upper for w in words]
    if up[:2] != ["ALTER", "TYPE"]:
        return None
    name, i = qualified_name(words, 2)
    if name is None or up[i:i + 2] != ["ADD", "VALUE"]:
        return None
    i += 2
    if up[i:i + 3] == ["IF", "NOT", "EXISTS"]:
        i += 3
    if i < len(words) and words[i].kind == "string":
        return name, words[i].name
    return None


def _same_transaction(statement: Statement, ctx: LintContext) -> Iterator[Statement]:
    for later in ctx.later(statement):
        if words_of(later)[:1] in (("COMMIT",), ("END",), ("ROLLBACK",), ("ABORT",)) or \
                not later.in_transaction:
            return
        yield later


def _type_created_in_transaction(statement: Statement, ctx: LintContext, name: str) -> bool:
    for earlier in reversed(ctx.earlier(statement)):
        if not earlier.in_transaction or words_of(earlier)[:1] in (("COMMIT",), ("END",)):
            return False
        words = tokens(earlier.sql)
        if [w.upper for w in words[:2]] == ["CREATE", "TYPE"]:
            created, _ = qualified_name(words, 2)
            if created is not None and _last(created) == _last(name):
                return True
    return False


def _last(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _uses(statement: Statement, type_name: str, value: str) -> bool:
    words = tokens(statement.sql)
    up = [w.upper for w in words]
    if up[:1] == ["COMMENT"]:
        return False
    if up[:2] == ["ALTER", "TYPE"]:
        name, _ = qualified_name(words, 2)
        if name is not None and _last(name) == _last(type_name):
            return False
    node = statement.node
    if node is not None and not isinstance(node, exp.Command):
        for literal in node.find_all(exp.Literal):
            if not (literal.is_string and literal.this == value):
                continue
            parent = literal.parent
            if isinstance(parent, exp.Cast) and _last(parent.to.sql().lower()) != _last(
                    type_name.lower()):
                continue  # cast to another type, e.g. 'x'::text
            return True
        return False
    return any(w.kind == "string" and w.name == value for w in words)


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    if not statement.in_transaction:
        return
    added = added_value(statement)
    if added is None:
        return
    type_name, value = added
    if ctx.target_version < 120000:
        yield ctx.finding(
            RULE,
            f"Adding value '{value}' to `{type_name}` inside a transaction block fails before "
            "PostgreSQL 12; the migration rolls back.",
            help="Run ALTER TYPE ... ADD VALUE outside a transaction (alembic: in an "
                 "autocommit_block()).",
            subject=type_name,
        )
        return
    if _type_created_in_transaction(statement, ctx, type_name):
        return
    for later in _same_transaction(statement, ctx):
        if _uses(later, type_name, value):
            yield ctx.finding(
                RULE,
                f"New value '{value}' of `{type_name}` is used on line "
                f"{later.location.line} before the transaction that adds it commits; "
                "PostgreSQL refuses it (unsafe use of new value) and the migration rolls "
                "back.",
                help="Add the value in an autocommit_block() or an earlier migration, and "
                     "use it after that commits.",
                subject=type_name,
            )
            return


RULE = Rule(
    code="DBS113",
    name="enum-value-used-in-same-transaction",
    severity=Severity.ERROR,
    since="0.1.0",
    doc=__doc__,
    check=check,
)
