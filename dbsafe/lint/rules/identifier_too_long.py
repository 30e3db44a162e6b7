"""Identifier longer than 63 bytes.

## Why
PostgreSQL keeps at most 63 bytes (UTF-8) of an identifier and silently cuts the rest off —
a NOTICE is all it says. The object then exists under a name that appears nowhere in your
code: an ORM or `alembic autogenerate` comparing names sees a difference on every run, code
reading the catalogs does not find it, and two long names that share their first 63 bytes
collide (`relation "..." already exists`), e.g. generated index or constraint names of
similar tables.

## Bad
```sql
CREATE INDEX ix_customer_subscription_renewals_customer_id_and_scheduled_renewal_date
    ON customer_subscription_renewals (customer_id, scheduled_renewal_date);
```

## Good
```sql
CREATE INDEX ix_renewals_customer_scheduled
    ON customer_subscription_renewals (customer_id, scheduled_renewal_date);
```

## In Alembic
Give long generated names an explicit short name (`op.create_index("ix_...", ...)`,
`sa.UniqueConstraint(..., name="uq_...")`), or set a `naming_convention` on the
`MetaData` whose templates stay under 63 bytes.

## Not flagged
Long names that are only referenced (the object was named elsewhere: it has already been
truncated). Enum labels (PostgreSQL rejects long ones with an error rather than truncating
them). Names the statement creates inside function bodies.
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import Node, Statement, last, long_identifiers, range_var, strings

MAX_BYTES = 63  # NAMEDATALEN - 1


def truncated(name: str) -> str:
    """`name` cut to 63 bytes at a character boundary, as PostgreSQL stores it.

    >>> truncated("t_" + "é" * 40) == "t_" + "é" * 30
    True
    """
    data = name.encode("utf-8")[:MAX_BYTES]
    return data.decode("utf-8", errors="ignore")


def _last_string(items: list[Node] | None) -> list[str]:
    names = strings(items)
    return [names[-1]] if names else []


def _view_columns(query: Node | None) -> Iterator[str]:
    select = (query or {}).get("SelectStmt", {})
    for target in select.get("targetList") or ():
        name = target.get("ResTarget", {}).get("name")
        if name:
            yield name


def defined_names(statement: Statement) -> list[str]:
    """Names that the statement gives to new or renamed objects (enum labels excluded)."""
    kind = statement.kind
    node = statement.node
    names: list[str] = []
    if kind in ("CreateStmt", "AlterTableStmt"):
        if kind == "CreateStmt" and statement.relation:
            names.append(last(statement.relation))
        for column in statement.columns:
            names.append(column.name)
            names.extend(c.name for c in column.constraints if c.name)
        names.extend(c.name for c in statement.constraints if c.name)
    elif kind == "IndexStmt" and node.get("idxname"):
        names.append(node["idxname"])
    elif kind in ("ViewStmt", "CreateTableAsStmt") and statement.relation:
        names.append(last(statement.relation))
        aliases = strings(node.get("aliases") or (node.get("into") or {}).get("colNames"))
        names.extend(aliases or _view_columns(node.get("query")))
    elif kind == "RenameStmt" and statement.rename is not None:
        names.append(statement.rename.new)
    elif kind == "CreateSeqStmt":
        names.extend(filter(None, [range_var(node.get("sequence"))]))
        names = [last(n) for n in names]
    elif kind in ("CreateEnumStmt", "CompositeTypeStmt", "CreateRangeStmt"):
        names.extend(_last_string(node.get("typeName")))
        if kind == "CompositeTypeStmt":
            names.extend(filter(None, [range_var(node.get("typevar"))]))
    elif kind == "CreateDomainStmt":
        names.extend(_last_string(node.get("domainname")))
    elif kind == "CreateFunctionStmt":
        names.extend(_last_string(node.get("funcname")))
    elif kind == "CreateSchemaStmt" and node.get("schemaname"):
        names.append(node["schemaname"])
    elif kind == "CreateTrigStmt" and node.get("trigname"):
        names.append(node["trigname"])
    elif kind == "CreatePolicyStmt" and node.get("policy_name"):
        names.append(node["policy_name"])
    elif kind == "RuleStmt" and node.get("rulename"):
        names.append(node["rulename"])
    elif kind == "CreateStatsStmt":
        names.extend(_last_string(node.get("defnames")))
    return [last(n) if kind == "CompositeTypeStmt" else n for n in names]


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    names = defined_names(statement)
    # PostgreSQL cut a long name at a character boundary, so it kept 60 to 63 bytes of it:
    # a statement naming nothing that long needs no scan of its tokens.
    if not any(len(name.encode("utf-8")) > MAX_BYTES - 4 for name in names):
        return
    # The parse tree holds names already truncated: find how they were written.
    written = long_identifiers(statement.sql)
    if not written:
        return
    seen = set()
    for short in names:
        name = written.get(short)
        if name is None or name in seen:
            continue
        seen.add(name)
        yield ctx.finding(
            RULE,
            f"Identifier `{name}` is {len(name.encode('utf-8'))} bytes long; PostgreSQL "
            f"silently truncates it to `{truncated(name)}`, so the name in the database no "
            "longer matches the one in your code.",
            help="Choose a name of at most 63 bytes.",
            subject=name,
        )


RULE = Rule(
    code="DBS206",
    name="identifier-too-long",
    severity=Severity.ERROR,
    since="0.1.0",
    doc=__doc__,
    check=check,
    kinds=frozenset({"CreateStmt", "AlterTableStmt", "IndexStmt", "ViewStmt", "CreateTableAsStmt",
                     "RenameStmt", "CreateSeqStmt", "CreateEnumStmt", "CompositeTypeStmt",
                     "CreateRangeStmt", "CreateDomainStmt", "CreateFunctionStmt",
                     "CreateSchemaStmt", "CreateTrigStmt", "CreatePolicyStmt", "RuleStmt",
                     "CreateStatsStmt"}),
)
