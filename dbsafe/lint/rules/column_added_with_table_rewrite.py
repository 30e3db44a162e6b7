"""Column added in a way that rewrites the whole table.

## Why
Since PostgreSQL 11, `ADD COLUMN` with no default or a non-volatile one only touches the
catalog. Everything else rewrites every row while holding ACCESS EXCLUSIVE — no reads, no
writes for the duration:

- a volatile default: `random()`, `gen_random_uuid()`, `uuid_generate_v4()`,
  `clock_timestamp()`, `timeofday()`, `nextval(...)`, `currval(...)`, and every other
  built-in whose each overload is VOLATILE (verified on PostgreSQL 18; `now()`,
  `CURRENT_TIMESTAMP`, `statement_timestamp()`, `transaction_timestamp()` are STABLE and
  do *not* rewrite);
- `serial` / `bigserial` / `smallserial` (a `nextval` default);
- an identity column (`GENERATED ... AS IDENTITY`) and a `GENERATED ALWAYS AS (...) STORED`
  column (both verified to rewrite);
- a domain type with a constraint (`CHECK`, `NOT NULL`): PostgreSQL checks it on every row
  by rewriting them, even with a constant default; and a domain whose own default is
  volatile, when the column has none of its own (verified on PostgreSQL 18);
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

For a domain with a CHECK, add the column with the domain's base type and put the check on
the table, where it can be validated without a rewrite:

```sql
ALTER TABLE orders ADD COLUMN quantity integer;
ALTER TABLE orders ADD CONSTRAINT orders_quantity_positive CHECK (quantity > 0) NOT VALID;
ALTER TABLE orders VALIDATE CONSTRAINT orders_quantity_positive;
```

## In Alembic
```python
op.add_column("orders", sa.Column("public_id", sa.Uuid()))
op.alter_column("orders", "public_id", server_default=sa.text("gen_random_uuid()"))
# backfill in batches, in later revisions or a background job
```

## Not flagged
Constant and STABLE defaults (`now()`, `CURRENT_TIMESTAMP`), `GENERATED ... VIRTUAL`
columns (PostgreSQL 18), a domain with neither a constraint nor a volatile default, an array
of a domain (not checked when added), tables created earlier in the same migration, and
a table a `TRUNCATE` earlier in the same transaction emptied (no row added since: the
work reads the new, empty file, under the ACCESS EXCLUSIVE lock TRUNCATE already holds). A
domain is known from an earlier statement of the history or from the database's schema.
Besides the built-in volatile functions listed above, a user-defined function counts as
volatile when an earlier statement of the history created it VOLATILE (PostgreSQL's
default), or the database's schema has it so, unless PostgreSQL inlines it: a `LANGUAGE sql`
function whose body is one `SELECT` of one expression or a `RETURN` (not SECURITY DEFINER,
no `SET`) calling no volatile function is replaced by that expression, so ente's
`now_utc_micro_seconds()` (`SELECT CAST(extract(EPOCH from now() at time zone 'utc') *
1000000 AS BIGINT)`, VOLATILE by saying nothing) rewrites nothing. A STRICT one is inlined
only when its body is strict too and uses each argument: it calls only STRICT functions and
operators (`+`, `*`, `=`, ..., not `||`, not `coalesce` or `concat`) and has no CASE,
`IS NULL`, AND, OR, `IN (...)` or `ARRAY[...]`; dbsafe keeps DBS109 for any other STRICT
body (and for a call of a user function in it, whose strictness it does not read). The
function a default calls is the one of its schema: the schema written, else the first
schema of the `search_path` in force holding one, made earlier in the migrations or the
database's (a VOLATILE `audit.now_utc()` made here says nothing of the IMMUTABLE
`public.now_utc()` an unqualified call on the path `public` reaches). With no `SET
search_path` and no `--database-url` the path is the one an `ALTER DATABASE ... SET
search_path` of the history stored for the migrations' session, else PostgreSQL's default
`"$user", public`: a function of no schema on it is not known, never another schema's.
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.locks import column_rewrites
from dbsafe.lint.statement import ColumnDef, Statement, function_names, is_null
from dbsafe.lint.transactions import truncated_first
from dbsafe.pg.volatility import VOLATILE_FUNCTIONS


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    if statement.kind != "AlterTableStmt" or not statement.columns:
        return
    table = statement.relation or ""
    if ctx.created_before(table) or truncated_first(statement, ctx, table):
        return
    for column in statement.columns:
        reason = column_rewrites(column, ctx.volatile_function) or _domain_rewrites(column, ctx)
        if reason is None and ctx.target_version < 110000:
            default = column.default
            if default is not None and not is_null(default):
                reason = "a default (before PostgreSQL 11 any default)"
        if reason is None:
            continue
        if reason.startswith(("type", "an identity")):
            help = ("Add a plain nullable column, then SET DEFAULT nextval(...) on it and "
                    "backfill existing rows in batches.")
        elif reason.startswith("the constrained domain"):
            help = ("Add the column with the domain's base type, then its check as a table "
                    "constraint NOT VALID, and VALIDATE it (no rewrite).")
        elif reason.endswith(f"of domain `{column.type}`"):
            help = ("Add the column with DEFAULT NULL (the domain's default is then not "
                    "evaluated), and backfill existing rows in batches.")
        elif reason.startswith("a stored"):
            help = ("Add a plain nullable column kept up to date by a trigger or the "
                    "application, and backfill existing rows in batches.")
        else:
            help = ("Add the column without the default, then SET DEFAULT separately and "
                    "backfill existing rows in batches.")
        yield ctx.finding(
            RULE,
            f"Column `{table}.{column.name}` is added with {reason}, which rewrites `{table}`; "
            "reads and writes wait until every row is rewritten.",
            help=help,
            subject=f"{table}.{column.name}",
        )


def _domain_rewrites(column: ColumnDef, ctx: LintContext) -> str | None:
    """Why adding a column of a domain type rewrites the table, None when it does not."""
    domain = ctx.domain(column.type)
    if domain is None:
        return None
    if domain.constrained:
        return f"the constrained domain type `{column.type}` (a CHECK or NOT NULL)"
    if column.default is None:
        for called in function_names(domain.default, qualified=True):
            name = called.rpartition(".")[2]
            if name in VOLATILE_FUNCTIONS or ctx.volatile_function(called):
                return f"the volatile default `{name}()` of domain `{column.type}`"
    return None


RULE = Rule(
    code="DBS109",
    name="column-added-with-table-rewrite",
    severity=Severity.ERROR,
    since="0.1.0",
    doc=__doc__,
    check=check,
    kinds=frozenset({"AlterTableStmt"}),
    claim="rewrite",
    weighed_by="size",
)
