"""Column type changed in place, rewriting the table under an ACCESS EXCLUSIVE lock.

## Why
`ALTER TABLE ... ALTER COLUMN ... TYPE` holds an ACCESS EXCLUSIVE lock — no reads, no
writes — while PostgreSQL rewrites every row and rebuilds every index of the table, unless
the old type converts to the new one without changing the stored bytes. Only a few changes
are that cheap (verified on PostgreSQL 18 by comparing `pg_relation_filenode` before and
after):

| from | to | rewrite? |
| --- | --- | --- |
| `varchar(n)` | `varchar(m)`, m ≥ n; `varchar`; `text` | no |
| `text`, `varchar` | `varchar` (no length), `text` | no |
| `numeric(p,s)` | `numeric(q,s)`, q ≥ p; `numeric` | no |
| `bit varying(n)`, `bit(n)` | `bit varying(m)`, m ≥ n; `bit varying` (from `bit(n)` only unlimited) | no |
| `timestamp(p)`, `timestamptz(p)`, `time(p)`, `timetz(p)`, `interval(p)` | same type, more or unlimited precision | no |
| `cidr` | `inet` | no |
| `timestamp` | `timestamptz` | only when the session's TimeZone is UTC — flagged |
| `char(n)` | `text`, `varchar`, `char(m)` | **yes** |
| shorter length, smaller precision or scale change, `int` → `bigint`, `json` → `jsonb` | | **yes** |

A `USING` expression other than the column itself (optionally cast) always rewrites.

## Bad
```sql
ALTER TABLE orders ALTER COLUMN quantity TYPE bigint;
```

## Good
```sql
ALTER TABLE orders ADD COLUMN note varchar(50);
ALTER TABLE orders ALTER COLUMN note TYPE varchar(200);
```

## In Alembic
`op.alter_column("orders", "quantity", type_=sa.BigInteger())` rewrites the table. Instead
add a new column, backfill it in batches, switch the application over, then drop the old
column (expand/contract) — or make the change in a maintenance window.

## Not flagged
* Changes known not to rewrite (the table above), when dbsafe knows the old type — from the
  database snapshot taken before the migration, or from an earlier `ADD COLUMN` / type
  change in the same migration.
* Tables created earlier in the same migration.

When the old type is unknown (no snapshot), dbsafe says it could not tell. The finding is an
**error** when the new type is one no other type reaches without a rewrite (`bigint`,
`uuid`, `jsonb`, ...), and a **warning** when the new type could be a cheap widening
(`text`, `varchar(n)`, `numeric`, `inet`, ...): pass the database (`--database`) so dbsafe
can decide.

## References
https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-NOTES
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule, Statement, relation_name
from dbsafe.lint.locks import Word, tokens

# (base, modifiers, is_array)
TypeKey = tuple[str, tuple[int, ...], bool]

_BASES = {
    ("CHARACTER", "VARYING"): "varchar", ("CHAR", "VARYING"): "varchar",
    ("VARCHAR",): "varchar", ("CHARACTER",): "bpchar", ("CHAR",): "bpchar",
    ("BPCHAR",): "bpchar", ("TEXT",): "text", ("NUMERIC",): "numeric",
    ("DECIMAL",): "numeric", ("DEC",): "numeric", ("BIT", "VARYING"): "varbit",
    ("VARBIT",): "varbit", ("BIT",): "bit", ("TIMESTAMPTZ",): "timestamptz",
    ("TIMESTAMP",): "timestamp", ("TIMETZ",): "timetz", ("TIME",): "time",
    ("INTERVAL",): "interval", ("INT",): "int4", ("INTEGER",): "int4", ("INT4",): "int4",
    ("BIGINT",): "int8", ("INT8",): "int8", ("SMALLINT",): "int2", ("INT2",): "int2",
    ("DOUBLE", "PRECISION"): "float8", ("FLOAT8",): "float8", ("REAL",): "float4",
    ("FLOAT4",): "float4", ("BOOLEAN",): "bool", ("BOOL",): "bool",
}

# New types some other type reaches without a rewrite (besides the same type).
_CHEAP_TARGETS = {"varchar", "text", "numeric", "varbit", "timestamp", "timestamptz", "time",
                  "timetz", "interval", "inet"}


def type_key(words: list[Word]) -> TypeKey | None:
    """Normalise a type written as words (`character varying(20)`, `VARCHAR(20)`).

    >>> type_key(list(tokens("character varying(20)")))
    ('varchar', (20,), False)
    >>> type_key(list(tokens("timestamp(3) with time zone")))
    ('timestamptz', (3,), False)
    """
    up = [w.upper for w in words]
    while len(up) >= 2 and up[1] == "." :  # pg_catalog.varchar, public.mood
        up, words = up[2:], words[2:]
    if not up:
        return None
    is_array = "[" in up or "ARRAY" in up
    base = None
    length = 0
    for size in (2, 1):
        if tuple(up[:size]) in _BASES:
            base, length = _BASES[tuple(up[:size])], size
            break
    if base is None:
        end = up.index("(") if "(" in up else len(up)
        base = " ".join(w.name for w in words[:end] if w.upper not in ("[", "]"))
        length = end
    mods: list[int] = []
    rest = up[length:]
    if rest[:1] == ["("]:
        close = rest.index(")") if ")" in rest else len(rest)
        mods = [int(x) for x in rest[1:close] if x.isdigit()]
        rest = rest[close + 1:]
    if base in ("timestamp", "time") and rest[:3] == ["WITH", "TIME", "ZONE"]:
        base += "tz"
    if base in ("bpchar", "bit") and not mods:
        mods = [1]  # char and bit mean char(1) and bit(1)
    return base, tuple(mods), is_array


def rewrites(old: TypeKey, new: TypeKey) -> bool | None:
    """False when PostgreSQL changes `old` to `new` without a rewrite, True when it rewrites,
    None for timestamp → timestamptz (depends on the session's TimeZone).

    >>> rewrites(("varchar", (10,), False), ("text", (), False))
    False
    >>> rewrites(("bpchar", (5,), False), ("text", (), False))
    True
    """
    if old == new:
        return False
    (ob, om, oa), (nb, nm, na) = old, new
    if oa or na:
        return True
    if (ob, nb) == ("timestamp", "timestamptz") and not nm:
        return None
    if ob in ("varchar", "text") and nb == "text":
        return False
    if ob == "text" and nb == "varchar":
        return bool(nm)
    if ob == nb and ob in ("varchar", "varbit"):
        return bool(nm) and (not om or nm[0] < om[0])
    if (ob, nb) == ("bit", "varbit"):
        return bool(nm)
    if ob == nb == "numeric":
        if not nm:
            return False
        if not om:
            return True
        old_scale = om[1] if len(om) > 1 else 0
        new_scale = nm[1] if len(nm) > 1 else 0
        return not (nm[0] >= om[0] and new_scale == old_scale)
    if ob == nb and ob in ("timestamp", "timestamptz", "time", "timetz", "interval"):
        return bool(nm) and (not om or nm[0] < om[0])
    if (ob, nb) == ("cidr", "inet"):
        return False
    return True


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    node = statement.node
    if not (isinstance(node, exp.Alter) and str(node.args.get("kind")).upper() == "TABLE"):
        return
    table = relation_name(node.this)
    if ctx.created_before(table):
        return
    for action in node.args.get("actions") or []:
        if not (isinstance(action, exp.AlterColumn) and action.args.get("dtype")):
            continue
        column = _ident(action.this)
        new_words = _type_words(statement, action)
        new = type_key(new_words) if new_words else None
        if new is None:
            continue
        new_text = _show(new)
        using = action.args.get("using")
        if using and not _is_plain_column(using, column):
            yield _finding(ctx, table, column, f"The USING expression for `{table}.{column}` "
                           f"rewrites `{table}` under an ACCESS EXCLUSIVE lock")
            continue
        old = _old_type(ctx, statement, table, column)
        if old is None:
            severity = Severity.WARNING if new[0] in _CHEAP_TARGETS else Severity.ERROR
            yield ctx.finding(
                RULE,
                f"Changing `{table}.{column}` to `{new_text}` may rewrite `{table}` under an "
                "ACCESS EXCLUSIVE lock; dbsafe could not tell because the column's current "
                "type is unknown.",
                help="Lint with the database (or a schema snapshot) so dbsafe knows the old "
                     "type, or add a new column and backfill it instead.",
                subject=f"{table}.{column}", severity=severity)
            continue
        verdict = rewrites(old, new)
        if verdict is False:
            continue
        if verdict is None:
            yield _finding(ctx, table, column,
                           f"Changing `{table}.{column}` from `timestamp` to `timestamptz` "
                           f"rewrites `{table}` under an ACCESS EXCLUSIVE lock unless the "
                           "session's TimeZone is UTC")
            continue
        yield _finding(ctx, table, column, f"Changing `{table}.{column}` from "
                       f"`{_show(old)}` to `{new_text}` rewrites `{table}` under an ACCESS "
                       "EXCLUSIVE lock")


def _finding(ctx: LintContext, table: str, column: str, what: str) -> Finding:
    return ctx.finding(
        RULE,
        f"{what}; reads and writes on `{table}` wait until every row is rewritten.",
        help="Add a new column, backfill it in batches and switch over, or run the change "
             "in a maintenance window.",
        subject=f"{table}.{column}")


def _show(key: TypeKey) -> str:
    base, mods, is_array = key
    names = {"bpchar": "char", "varbit": "bit varying", "int4": "integer", "int8": "bigint",
             "int2": "smallint", "float8": "double precision", "float4": "real",
             "bool": "boolean"}
    text = names.get(base, base)
    if mods:
        text += "(" + ",".join(str(m) for m in mods) + ")"
    return text + ("[]" if is_array else "")


def _ident(node: exp.Expression) -> str:
    return node.name if node.args.get("quoted") else node.name.lower()


def _is_plain_column(using: exp.Expression, column: str) -> bool:
    while isinstance(using, (exp.Cast, exp.Paren)):
        using = using.this
    return isinstance(using, exp.Column) and _ident(using.this) == column


def _type_words(statement: Statement, action: exp.AlterColumn) -> list[Word]:
    """The new type as written: the words after this column's `TYPE`."""
    words = tokens(statement.sql)
    column = _ident(action.this)
    for i, word in enumerate(words):
        if word.upper != "TYPE" or i < 1:
            continue
        # ALTER [COLUMN] c [SET DATA] TYPE
        j = i - 1
        if words[j].upper == "DATA" and j >= 2 and words[j - 1].upper == "SET":
            j -= 2
        if words[j].name != column:
            continue
        out: list[Word] = []
        depth = 0
        for w in words[i + 1:]:
            if depth == 0 and (w.upper in ("USING", "COLLATE", ",", ";")):
                break
            depth += (w.upper == "(") - (w.upper == ")")
            out.append(w)
        return out
    return []


def _old_type(ctx: LintContext, statement: Statement, table: str,
              column: str) -> TypeKey | None:
    # The most recent definition in this migration wins: ADD COLUMN or an earlier TYPE change.
    for earlier in reversed(ctx.earlier(statement)):
        node = earlier.node
        if not (isinstance(node, exp.Alter) and relation_name(node.this) == table):
            continue
        for action in reversed(node.args.get("actions") or []):
            if isinstance(action, exp.ColumnDef) and _ident(action.this) == column:
                kind = action.args.get("kind")
                if kind is None or "VARYING" in (w.upper for w in tokens(earlier.sql)):
                    return None  # sqlglot renders `bit varying(n)` as BIT: do not guess
                return type_key(list(tokens(kind.sql("postgres"))))
            if isinstance(action, exp.AlterColumn) and action.args.get("dtype") and \
                    _ident(action.this) == column:
                return type_key(_type_words(earlier, action))
    if ctx.before is None:
        return None
    schema, _, name = table.rpartition(".")
    relation = ctx.before.find_relation(name, schema or None)
    col = relation.column(column) if relation is not None else None
    return type_key(list(tokens(col.type))) if col is not None else None


RULE = Rule(
    code="DBS110",
    name="column-type-change-rewrites-table",
    severity=Severity.ERROR,
    since="0.1.0",
    doc=__doc__,
    check=check,
)
