"""Column added in a way that rewrites the whole table.

## Why
Since PostgreSQL 11, `ADD COLUMN` with no default or a non-volatile one only touches the
catalog. Everything else rewrites every row while holding ACCESS EXCLUSIVE — no reads, no
writes for the duration:

- a volatile default: `random()`, `gen_random_uuid()`, `uuid_generate_v4()`,
  `clock_timestamp()`, `timeofday()`, `nextval(...)` (verified on PostgreSQL 18; `now()`,
  `CURRENT_TIMESTAMP`, `statement_timestamp()`, `transaction_timestamp()` are STABLE and
  do *not* rewrite);
- `serial` / `bigserial` / `smallserial` (a `nextval` default);
- an identity column (`GENERATED ... AS IDENTITY`) and a `GENERATED ALWAYS AS (...) STORED`
  column (both verified to rewrite);
- before PostgreSQL 11, any non-null DEFAULT.

## Bad
```sql
ALTER TABLE orders ADD COLUMN public_id uuid DEFAULT gen_random_uuid();
```

## Good
```sql
ALTER TABLE orders ADD COLUMN public_id uuid;
ALTER TABLE orders ALTER COLUMN public_id SET DEFAULT gen_random_uuid();
-- then backfill existing rows in batches: UPDATE ... WHERE id BETWEEN ...
```

## In Alembic
```python
op.add_column("orders", sa.Column("public_id", sa.Uuid()))
op.alter_column("orders", "public_id", server_default=sa.text("gen_random_uuid()"))
# backfill in batches, in later revisions or a background job
```

## Not flagged
Constant and STABLE defaults (`now()`, `CURRENT_TIMESTAMP`), `GENERATED ... VIRTUAL`
columns (PostgreSQL 18), and tables created earlier in the same migration. Only the
built-in volatile functions listed above are known: a user-defined volatile function in a
default is not seen.
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.actions import (
    SERIAL_TYPES,
    Words,
    column_default,
    columns_added,
    contains,
    fold,
    is_null_default,
    top_level,
)
from dbsafe.lint.engine import LintContext, Rule, Statement

VOLATILE_FUNCTIONS = frozenset({
    "random", "random_normal", "gen_random_uuid", "uuidv4", "uuidv7", "uuid_generate_v1",
    "uuid_generate_v1mc", "uuid_generate_v4", "clock_timestamp", "timeofday", "nextval",
})


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    added = columns_added(statement)
    if added is None or ctx.created_before(added[0]):
        return
    table, columns = added
    for name, rest in columns:
        reason = _rewrite_reason(rest, ctx.target_version)
        if reason is None:
            continue
        if reason.startswith(("type", "an identity")):
            help = ("Add a plain nullable column, then SET DEFAULT nextval(...) on it and "
                    "backfill existing rows in batches.")
        elif reason.startswith("a stored"):
            help = ("Add a plain nullable column kept up to date by a trigger or the "
                    "application, and backfill existing rows in batches.")
        else:
            help = ("Add the column without the default, then SET DEFAULT separately and "
                    "backfill existing rows in batches.")
        yield ctx.finding(
            RULE,
            f"Column `{table}.{name}` is added with {reason}, which rewrites `{table}`; "
            "reads and writes wait until every row is rewritten.",
            help=help,
            subject=f"{table}.{name}",
        )


def _rewrite_reason(rest: Words, target_version: int) -> str | None:
    outer = top_level(rest)
    if rest[:1] and rest[0] in SERIAL_TYPES:
        return f"type `{rest[0].lower()}`"
    if "GENERATED" in outer:
        if contains(outer, "AS", "IDENTITY"):
            return "an identity"
        if "STORED" in outer:
            return "a stored generated expression"
    default = column_default(rest)
    if default is None or is_null_default(default):
        return None
    for i, word in enumerate(default[:-1]):
        if default[i + 1] == "(" and fold(word) in VOLATILE_FUNCTIONS:
            return f"the volatile default `{fold(word)}()`"
    if target_version < 110000:
        return "a default (before PostgreSQL 11 any default)"
    return None


RULE = Rule(
    code="DBS109",
    name="column-added-with-table-rewrite",
    severity=Severity.ERROR,
    since="0.1.0",
    doc=__doc__,
    check=check,
)
