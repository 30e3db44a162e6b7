"""Column of type `char(n)` / `character(n)`.

## Why
`char(n)` pads values with blanks to `n` characters and ignores trailing blanks when
comparing, which surprises applications (`'ab'` comes back as `'ab   '`, and
`'ab ' = 'ab'` is true). It is never faster than `text` or `varchar` in PostgreSQL — it
is usually slower because of the padding — and the length limit is better expressed as a
`CHECK`. A bare `char` or `character` means `char(1)`.

## Bad
```sql
CREATE TABLE countries (code char(2) PRIMARY KEY, name text);
```

## Good
```sql
CREATE TABLE countries (code text PRIMARY KEY CHECK (length(code) = 2), name text);
```

## In Alembic
Use `sa.Text()` or `sa.String(n)` (varchar) instead of `sa.CHAR(n)` / `sa.types.CHAR`.

## Not flagged
`"char"` (quoted: PostgreSQL's internal one-byte type), `varchar` / `character varying`,
and `char` in casts or expressions — only column types in `CREATE TABLE`,
`ALTER TABLE ... ADD COLUMN` and `ALTER COLUMN ... TYPE` are checked.

## References
https://wiki.postgresql.org/wiki/Don%27t_Do_This#Don.27t_use_char.28n.29
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule, Statement, relation_name


def column_types(node: exp.Expression | None) -> Iterator[tuple[str, str, exp.DataType]]:
    """`(table, column, type)` for each column type a CREATE TABLE or ALTER TABLE sets.

    Covers column definitions of `CREATE TABLE`, `ALTER TABLE ... ADD COLUMN` and
    `ALTER COLUMN ... [SET DATA] TYPE`; never types inside defaults, casts or `USING`.

    >>> import sqlglot
    >>> node = sqlglot.parse_one("ALTER TABLE t ADD c int, ALTER d TYPE text", read="postgres")
    >>> [(t, c, d.sql()) for t, c, d in column_types(node)]
    [('t', 'c', 'INT'), ('t', 'd', 'TEXT')]
    """
    if isinstance(node, exp.Create) and str(node.kind or "").upper() == "TABLE":
        schema = node.this
        if not isinstance(schema, exp.Schema) or not isinstance(schema.this, exp.Table):
            return
        table = relation_name(schema.this)
        for column in schema.expressions:
            if isinstance(column, exp.ColumnDef) and isinstance(column.args.get("kind"),
                                                                exp.DataType):
                yield table, _folded(column.this), column.args["kind"]
    elif isinstance(node, exp.Alter) and str(node.args.get("kind") or "").upper() == "TABLE":
        table = relation_name(node.this)
        for action in node.args.get("actions") or ():
            if isinstance(action, exp.ColumnDef) and isinstance(action.args.get("kind"),
                                                                exp.DataType):
                yield table, _folded(action.this), action.args["kind"]
            elif isinstance(action, exp.AlterColumn) and isinstance(action.args.get("dtype"),
                                                                    exp.DataType):
                yield table, _folded(action.this), action.args["dtype"]


def _folded(identifier: exp.Expression) -> str:
    quoted = isinstance(identifier, exp.Identifier) and identifier.args.get("quoted")
    return identifier.name if quoted else identifier.name.lower()


def type_is(dtype: exp.DataType, kinds: tuple[exp.DataType.Type, ...],
            pg_catalog_names: tuple[str, ...] = ()) -> bool:
    """Is `dtype`, or its array element type, one of `kinds` (or `pg_catalog.<name>`)?"""
    for node in dtype.find_all(exp.DataType):
        if node.this in kinds:
            return True
        spelled = node.args.get("kind")
        if (node.this == exp.DataType.Type.USERDEFINED and isinstance(spelled, exp.Dot)
                and spelled.this.name.lower() == "pg_catalog"
                and spelled.expression.name in pg_catalog_names
                and not spelled.expression.args.get("quoted")):
            return True
    return False


_CHAR = (exp.DataType.Type.CHAR, exp.DataType.Type.BPCHAR)


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    for table, column, dtype in column_types(statement.node):
        if not type_is(dtype, _CHAR, ("bpchar",)):
            continue
        yield ctx.finding(
            RULE,
            f"Column `{table}.{column}` has type `{dtype.sql('postgres').lower()}`, which pads "
            "values with blanks and ignores trailing blanks in comparisons.",
            help="Use text (or varchar), with a CHECK constraint if the length matters.",
            subject=f"{table}.{column}",
        )


RULE = Rule(
    code="DBS207",
    name="char-column",
    severity=Severity.WARNING,
    since="0.1.0",
    doc=__doc__,
    check=check,
)
