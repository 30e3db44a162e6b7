"""Materialized view created without the unique index `REFRESH ... CONCURRENTLY` needs.

## Why
`REFRESH MATERIALIZED VIEW` without `CONCURRENTLY` holds an ACCESS EXCLUSIVE lock: every
read of the view waits until the query is recomputed. `CONCURRENTLY` keeps the view
readable, but PostgreSQL refuses it unless the view has at least one unique index on plain
columns only — no expressions, no `WHERE`. A view created without one can never be
refreshed without blocking its readers.

## Bad
```sql
CREATE MATERIALIZED VIEW order_totals AS
    SELECT customer_id, sum(total) AS total FROM orders GROUP BY customer_id;
```

## Good
```sql
CREATE MATERIALIZED VIEW order_totals AS
    SELECT customer_id, sum(total) AS total FROM orders GROUP BY customer_id;
CREATE UNIQUE INDEX order_totals_customer ON order_totals (customer_id);
```

## In Alembic
```python
op.execute("CREATE MATERIALIZED VIEW order_totals AS ...")
op.create_index("order_totals_customer", "order_totals", ["customer_id"], unique=True)
```

## Not flagged
A unique index created anywhere later in the same migration. Unique indexes with an
expression key or a `WHERE` clause do not count, since `CONCURRENTLY` cannot use them.
Non-null key columns are advisable too (rows with a NULL key are rewritten on every
refresh), but that is not checked.

## References
https://www.postgresql.org/docs/current/sql-refreshmaterializedview.html
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule, Statement, relation_name
from dbsafe.lint.locks import qualified_name, tokens


def created_materialized_view(statement: Statement) -> str | None:
    """The folded name a `CREATE MATERIALIZED VIEW` statement creates, if it is one."""
    words = tokens(statement.sql)
    up = [w.upper for w in words[:8]]
    if up[:1] != ["CREATE"]:
        return None
    i = 1
    if up[1:3] == ["OR", "REPLACE"]:
        i = 3
    if up[i:i + 2] != ["MATERIALIZED", "VIEW"]:
        return None
    i += 2
    if up[i:i + 3] == ["IF", "NOT", "EXISTS"]:
        i += 3
    name, _ = qualified_name(words, i)
    return name


def same_relation(a: str, b: str) -> bool:
    """Equal names, or one schema-qualified and one not with the same last part."""
    return a == b or (("." in a) != ("." in b)
                      and a.rsplit(".", 1)[-1] == b.rsplit(".", 1)[-1])


def _usable_unique_index(statement: Statement, view: str) -> bool:
    node = statement.node
    if not (isinstance(node, exp.Create) and str(node.kind).upper() == "INDEX"
            and node.args.get("unique") and isinstance(node.this, exp.Index)):
        return False
    table = node.this.args.get("table")
    params = node.this.args.get("params")
    if table is None or params is None or params.args.get("where") is not None:
        return False
    if not same_relation(relation_name(table), view):
        return False
    columns = params.args.get("columns") or []
    return bool(columns) and all(
        isinstance(c.this if isinstance(c, exp.Ordered) else c, exp.Column) for c in columns)


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    view = created_materialized_view(statement)
    if view is None:
        return
    if any(_usable_unique_index(later, view) for later in ctx.later(statement)):
        return
    yield ctx.finding(
        RULE,
        f"Materialized view `{view}` has no unique index on plain columns, so it can only be "
        f"refreshed without CONCURRENTLY, which blocks every read of `{view}`.",
        help="Create a unique index on plain columns of the view in the same migration.",
        subject=view,
    )


RULE = Rule(
    code="DBS118",
    name="materialized-view-without-unique-index",
    severity=Severity.WARNING,
    since="0.1.0",
    doc=__doc__,
    check=check,
)
