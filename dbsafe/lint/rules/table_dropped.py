"""Table dropped (also every table of a schema dropped with `CASCADE`, or a database).

## Why
`DROP TABLE` deletes the table's data for good, and every deployed copy of the application
that still reads or writes the table fails from the moment the migration commits. During a
rolling deploy the old code is still serving traffic when the migration runs, so even a
table the new code no longer uses breaks requests. The statement also takes an ACCESS
EXCLUSIVE lock on the table (and on tables referencing it through `CASCADE`).
`DROP SCHEMA ... CASCADE` does this to every table in the schema, and `DROP DATABASE` to
every table of the database.

## Bad
```sql
DROP TABLE legacy_orders;
```

```sql
DROP SCHEMA reporting CASCADE;
```

## Good
```sql
-- expand/contract: stop using the table in one release, drop it in a later migration
-- once no deployed code references it, and keep a backup:
CREATE TABLE legacy_orders_archive AS SELECT * FROM legacy_orders;
```

## In Alembic
Remove every use of the table from the application first and deploy that. Drop it in a
later revision with `op.drop_table("legacy_orders")` and a `# dbsafe: ignore[DBS201]`
comment saying why it is safe now (`-- dbsafe: ignore[DBS201] unused since v42`).

## Not flagged
Tables created earlier in the same migration (a scratch table, or one created and dropped
by the same revision), and schemas created earlier in it. `DROP TABLE IF EXISTS` of a table
the migrations already removed -- dropped before, renamed away, or in a schema dropped with
`CASCADE` since and not made again -- drops nothing: PostgreSQL skips it with a notice and
locks nothing; nor does one of a table PostgreSQL did not have when the revisions ran on a
throwaway server (it locked none: Open WebUI's `DROP TABLE IF EXISTS _alembic_tmp_tag`). `DROP SCHEMA` without `CASCADE`
(PostgreSQL refuses it unless the schema is empty). `DROP VIEW` and
`DROP MATERIALIZED VIEW` are out of scope for this rule (no data is lost; DBS211 names a
view the application still reads).
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule, named_are
from dbsafe.lint.statement import Statement


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    if statement.kind == "DropdbStmt":
        name = str(statement.node.get("dbname") or "")
        yield ctx.finding(
            RULE,
            f"Database `{name}` is dropped; every table in it is lost for good.",
            help="Drop databases by hand, after a verified backup, never in a migration.",
            subject=name)
        return
    if statement.kind == "DropStmt" and statement.object_kind == "schema":
        yield from _schemas_dropped(statement, ctx)
        return
    if statement.kind != "DropStmt" or statement.object_kind != "table":
        return
    existing = [t for t in statement.dropped if not ctx.created_before(t)]
    if not existing:
        return
    yield ctx.finding(
        RULE,
        f"{named_are('Table', existing)} dropped; the data is lost and application code "
        f"still using {'it' if len(existing) == 1 else 'them'} fails.",
        help="Stop using the table in a release first, then drop it in a later migration "
             "with a suppression comment saying why it is safe.",
        subject=", ".join(existing),
    )


def _schemas_dropped(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    if statement.node.get("behavior") != "DROP_CASCADE":
        return  # refused unless the schema is empty
    made = {str(s.node.get("schemaname")) for s in ctx.statements[:statement.index]
            if s.kind == "CreateSchemaStmt"}
    existing = [name for name in statement.dropped if name not in made]
    if not existing:
        return
    yield ctx.finding(
        RULE,
        f"{named_are('Schema', existing)} dropped with CASCADE; every table in it is dropped "
        "with its data, and application code still using them fails.",
        help="Drop the tables one by one, each once no deployed code uses it, then the "
             "empty schema without CASCADE.",
        subject=", ".join(existing),
    )


RULE = Rule(
    code="DBS201",
    name="table-dropped",
    severity=Severity.ERROR,
    since="0.1.0",
    doc=__doc__,
    check=check,
    kinds=frozenset({"DropStmt", "DropdbStmt"}),
    weighed_by="use",
)
