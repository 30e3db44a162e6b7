"""`DROP ... CASCADE` of a type, domain, extension, schema, function or sequence, or of a referenced key or column, which drops what uses it.

## Why
`CASCADE` drops every object that depends on the one dropped, without naming them. For a
type, a domain or an extension's type (`citext`), that includes the table columns of that
type, with their data; for a schema, its tables; for a function or a sequence, the column
defaults, triggers, views and policies that use it, so inserts start failing (verified on
PostgreSQL 18: the column is gone after `DROP TYPE ... CASCADE`). None of it is reported by
the rules about dropped tables and columns, which see only the statement's own object.

`ALTER TABLE ... DROP CONSTRAINT ... CASCADE` of a PRIMARY KEY or UNIQUE constraint drops
every foreign key of other tables that rests on it, and the table's own keys to itself
(`parent_id REFERENCES t`) (PostgreSQL's notice "drop cascades to constraint ... on table
..."): nothing checks those columns any more, and rows pointing at nothing go in. So does
`DROP COLUMN ... CASCADE` of a column foreign keys reference (without CASCADE PostgreSQL
refuses, 2BP01), and `DROP COLUMN ... CASCADE` of a column a unique index or a PRIMARY
KEY/UNIQUE constraint holds among its `INCLUDE` columns: the index goes with the column,
and with CASCADE every foreign key resting on it (PostgreSQL 18: "constraint c_pid_fkey on
table c depends on index p_id_inc"; the key's own columns stay). Where the history or
`--database-url` shows such foreign keys, the finding names them; a key or column nothing
is known to reference is not flagged. (A foreign key rests on the older of two unique
indexes on its columns: a plain index with a twin is not taken to carry one.)

A column changed to another type keeps its DEFAULT, cast to the new type but still a value
of the old one (`'USD'::"Currency"` on a `text` column): `DROP TYPE ... CASCADE` drops that
DEFAULT, and inserts leaving the column out get NULL, or fail where it is NOT NULL (23502).
Where the history saw the type created, or with `--database-url`, the finding names the
columns still of the type and the DEFAULTs holding one; with neither it is a warning saying
so (a function's argument, a view's cast, another type or a column lint cannot follow, made
by `CREATE TABLE AS`, may still use it).

`DROP SEQUENCE ... CASCADE` drops the DEFAULT of a column that takes numbers from it: the
finding names the columns the history made `serial` (their sequence is
`<table>_<column>_seq`) or gave `DEFAULT nextval('...')`, and with `--database-url` the
database's (fides' `DROP SEQUENCE data_categories_id_seq CASCADE`; PostgreSQL: "drop
cascades to default value for column id of table data_categories").

## Bad
```sql
DROP TYPE order_status CASCADE;
ALTER TABLE customers DROP CONSTRAINT customers_pkey CASCADE;  -- orders.customer_id's key
```

## Good
```sql
ALTER TABLE orders ALTER COLUMN status TYPE text;
DROP TYPE order_status;
-- drop the foreign keys by name, change the key, then add them again (NOT VALID, then
-- VALIDATE CONSTRAINT)
```

## In Alembic
`op.execute("DROP TYPE order_status")` without `CASCADE`, after the columns that use it
changed type in the same or an earlier revision: PostgreSQL then refuses the drop while
anything still depends on it, instead of dropping it silently.

## Not flagged
* `DROP ... RESTRICT` (the default): PostgreSQL refuses while something depends on it.
* Objects created earlier in the same migration. A type, domain, function or sequence by
  its schema: after `CREATE TYPE app.mood`, `DROP TYPE public.mood CASCADE` (or an
  unqualified `mood` the `search_path` finds in `public` first) is still flagged, and so is
  `DROP SEQUENCE s CASCADE` after `CREATE SEQUENCE app.s` on the default path (`"$user",
  public`: it drops the `public.s` a column's default takes numbers from).
* A type or domain that no column or DEFAULT of the database's schema or of the migrations
  uses (with `--database-url`).
* `DROP TABLE ... CASCADE` and `DROP VIEW ... CASCADE`: DBS201 and the view rules report them.
* `DROP CONSTRAINT ... CASCADE` of a key no foreign key the history or the database shows
  rests on, `DROP COLUMN ... CASCADE` of a column none references, or either whose foreign
  keys a later statement of the migration adds again by name. A foreign key on the dropped
  column itself goes with its column, CASCADE or not: DBS202 reports the column.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import ForeignKey, Node, Statement, last, same_relation, strings

# What CASCADE takes with it, by the kind of object dropped (`Statement.object_kind`).
_REACH = {
    "type": "any table column still of that type, with its data, without naming them",
    "domain": "any table column still of that domain, with its data, without naming them",
    "extension": "any table column of its types, with its data, and everything using its "
                 "functions, without naming them",
    "schema": "its tables, with their data, and everything in it, without naming them",
    "function": "any column default, trigger, view or policy that calls it, without naming "
                "them",
    "sequence": "any column default that takes numbers from it, without naming them",
}
_HOLDS_DATA = frozenset({"type", "domain", "extension", "schema"})
_CREATES = {"type": ("CreateEnumStmt", "CompositeTypeStmt", "CreateRangeStmt"),
            "domain": ("CreateDomainStmt",), "extension": ("CreateExtensionStmt",),
            "schema": ("CreateSchemaStmt",), "function": ("CreateFunctionStmt",),
            "sequence": ("CreateSeqStmt",)}


def _made_here(ctx: LintContext, kind: str, dropped: str) -> bool:
    """Is the type or domain `dropped` names (by its schema: the one written, else the
    first of the search_path holding one) one the history made? (`CREATE TYPE app.mood`
    says nothing of the database's `public.mood`.) True for the other kinds."""
    history = ctx.history
    if kind == "type":
        return history.type_key(dropped) is not None
    if kind == "domain":
        schema, _, bare = dropped.rpartition(".")
        return history.domain_key(bare, last(schema) if schema else None,
                                  history.lookup_path()) is not None
    return True


def _created(statement: Statement, ctx: LintContext, kind: str, dropped: str) -> bool:
    """Did an earlier statement of the migration create the object `dropped` names (so
    nothing uses it)? A function or a sequence by its schema: the one written, else the
    first schema of the search_path in force holding one, made earlier here or the
    database's (`CREATE SEQUENCE app.s` says nothing of the `public.s` that `DROP SEQUENCE
    s CASCADE` drops on the path `public`)."""
    name = last(dropped)
    made = [earlier for earlier in ctx.earlier(statement)
            if earlier.kind in _CREATES[kind] and name in _created_names(earlier.node)]
    if kind not in ("function", "sequence") or not made:
        return bool(made)
    schemas = {_made_in(earlier, ctx) for earlier in made} - {None}
    schema = dropped.rpartition(".")[0]
    if schema:
        return last(schema) in schemas
    before = ctx.before
    held = {f.schema for f in before.functions if f.name == name} if before is not None \
        and kind == "function" else set()
    found = next((on for on in ctx.statement_path(statement) if on in schemas or on in held
                  or (kind == "sequence" and before is not None
                      and before.relation(on, name) is not None)), None)
    return found in schemas


def _made_in(statement: Statement, ctx: LintContext) -> str | None:
    """The schema the `CREATE FUNCTION` or `CREATE SEQUENCE` `statement` makes its object
    in: the one written, else the first of the search_path in force for it; None when lint
    cannot tell (`History.session_path`)."""
    node = statement.node
    names = strings(node.get("funcname"))
    written = (node.get("sequence") or {}).get("schemaname") if statement.kind == \
        "CreateSeqStmt" else names[-2] if len(names) > 1 else None
    if written:
        return str(written)
    path = ctx.statement_path(statement)
    return path[0] if path else None


def _created_names(node: Node) -> tuple[str, ...]:
    """The name a CREATE TYPE/DOMAIN/EXTENSION/SCHEMA/FUNCTION/SEQUENCE gives, last part."""
    names = (strings(node.get("typeName")) or strings(node.get("domainname"))
             or strings(node.get("funcname")))
    if names:
        return names[-1:]
    return tuple(n for n in (node.get("extname"), node.get("schemaname"),
                             (node.get("typevar") or {}).get("relname"),
                             (node.get("sequence") or {}).get("relname")) if n)


def _of_type(text: str, name: str) -> bool:
    """Is a column type as the database prints it (`format_type`) `name`, or its array?"""
    return text.rpartition(".")[2].strip('"') in (name, f"{name}[]", f'{name}"[]')


def _casts_to(default: str, name: str) -> bool:
    """Does a default expression as the database prints it (`'USD'::"Currency"`) hold a
    value of type `name`? Read with PostgreSQL's grammar: its casts' type names."""
    from dbsafe.lint.statement import parse_statement

    found = parse_statement(f"SELECT {default}")
    return name in _cast_types(found.node)


def _cast_types(node: object) -> set[str]:
    out: set[str] = set()
    if isinstance(node, dict):
        cast = node.get("TypeCast")
        if isinstance(cast, dict):
            names = strings((cast.get("typeName") or {}).get("names"))
            out.update(names[-1:])
        for value in node.values():
            out |= _cast_types(value)
    elif isinstance(node, list):
        for item in node:
            out |= _cast_types(item)
    return out


def _uses(ctx: LintContext, dropped: str) -> tuple[list[str], list[str]] | None:
    """(columns still of type `dropped`, columns whose DEFAULT holds a value of it), from the
    history and the database's schema; None when neither can tell: the history did not see
    the type created (of the schema `dropped` names, `_made_here`), and there is no
    database's schema to show every column."""
    history = ctx.history
    name = last(dropped)
    if ctx.before is None and not _made_here(ctx, "type", dropped) and \
            not _made_here(ctx, "domain", dropped):
        return None
    columns, defaults = [], []
    for table, known in history.columns.items():
        for column, facts in known.items():
            if facts.type is not None and facts.type.name == name:
                columns.append(f"{table}.{column}")
            elif facts.default_of == name:
                defaults.append(f"{table}.{column}")
    for relation in ctx.before.relations if ctx.before is not None else ():
        known = history.columns.get(relation.name, {})
        for col in relation.columns:
            if col.name in known or relation.schema in history.kinds.get(relation.name, ()):
                continue  # (what the migrations changed or dropped: said above)
            if _of_type(col.type, name):
                columns.append(f"{relation.name}.{col.name}")
            elif col.default and col.generated is None and _casts_to(col.default, name):
                defaults.append(f"{relation.name}.{col.name}")
    return columns, defaults


def _taking_numbers(ctx: LintContext, name: str) -> list[str]:
    """The columns whose DEFAULT the history or the database's schema shows takes numbers
    from sequence `name` (a serial, `nextval('name')`)."""
    from dbsafe.lint.engine import nextval_sequence
    from dbsafe.lint.statement import parse_statement

    history = ctx.history
    found = [f"{table}.{column}" for table, known in history.columns.items()
             for column, facts in known.items() if facts.sequence == name]
    for relation in ctx.before.relations if ctx.before is not None else ():
        known = history.columns.get(relation.name, {})
        for col in relation.columns:
            if col.name in known or relation.schema in history.kinds.get(relation.name, ()) or \
                    not (col.default or "").startswith("nextval("):
                continue  # (what the migrations changed or dropped: said above)
            select = parse_statement(f"SELECT {col.default}").node
            target = (select.get("targetList") or [{}])[0].get("ResTarget") or {}
            if nextval_sequence(target.get("val")) == name:
                found.append(f"{relation.name}.{col.name}")
    return found


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    if statement.kind == "AlterTableStmt":
        yield from _dropped_keys(statement, ctx)
        return
    kind = statement.object_kind or ""
    if statement.kind != "DropStmt" or statement.node.get("behavior") != "DROP_CASCADE" or \
            kind not in _REACH:
        return
    for dropped in statement.dropped:
        name = last(dropped)
        if _created(statement, ctx, kind, dropped) and _made_here(ctx, kind, dropped):
            continue
        uses = _uses(ctx, dropped) if kind in ("type", "domain") else None
        taking = _taking_numbers(ctx, name) if kind == "sequence" else []
        if taking:
            reach = (f"the DEFAULT of {', '.join(f'`{c}`' for c in taking)}, which takes "
                     "numbers from it (inserts leaving the column out then get NULL, or fail "
                     "where it is NOT NULL), and any other default that does, without "
                     "naming them")
            severity = Severity.WARNING
        elif uses is None:
            reach = _REACH[kind]
            severity = Severity.ERROR if kind in _HOLDS_DATA else Severity.WARNING
        elif ctx.before is not None and uses == ([], []):
            continue  # nothing of the database's schema or the migrations uses it
        else:
            reach, severity = _named_reach(*uses)
        yield ctx.finding(
            RULE,
            f"`DROP {kind.upper()} {name} CASCADE` also drops {reach}.",
            help="Drop or change what uses it first, then drop it without CASCADE: "
                 "PostgreSQL then refuses while anything still depends on it.",
            subject=name, severity=severity)


def _dropped_keys(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    """`ALTER TABLE t DROP CONSTRAINT k CASCADE` of a primary key or unique constraint, or
    `DROP COLUMN c CASCADE` of a column foreign keys reference: the foreign keys resting on
    it (`Statement.keys_to`, the other tables', filled by the engine from the history and
    the database's schema; and the table's own to itself) go with it."""
    keys = dict(statement.unique_keys)
    for action in statement.actions:
        if not action.cascade or not action.name or \
                action.subtype not in ("DropConstraint", "DropColumn"):
            continue
        key = keys.get(action.name)
        if action.subtype == "DropConstraint" and key is None:
            continue
        again = _added_later(statement, ctx)
        resting = [fk for fk in (*statement.keys_to, *_own_keys(statement))
                   if (fk.rests_on(*key) if key is not None and action.subtype ==
                       "DropConstraint" else action.name in fk.referenced_columns)
                   and (last(fk.table), fk.name) not in again]
        indexes: list[str] = []
        if action.subtype == "DropColumn" and statement.relation:
            for column, index, fk in statement.resting_on_included:
                if column == action.name and fk not in resting and \
                        (last(fk.table), fk.name) not in again:
                    resting.append(fk)
                    indexes += [index] * (index not in indexes)
        if not resting:
            continue
        if action.subtype == "DropConstraint":
            what, how = f"CONSTRAINT {action.name}", "resting on it"
            help_text = ("Drop those foreign keys by name first and add them again once the "
                         "new key is in place (NOT VALID, then VALIDATE CONSTRAINT); without "
                         "CASCADE PostgreSQL refuses while one rests on the key.")
        else:
            what, how = f"COLUMN {action.name}", "referencing it"
            if indexes:  # (the index INCLUDEs the column: it goes, and the keys resting on it)
                how = ("referencing it or resting on " + ", ".join(f"`{i}`" for i in indexes)
                       + ", whose INCLUDE holds it (the index goes with the column)")
            help_text = ("Drop those foreign keys by name first, in a migration of their own; "
                         "without CASCADE PostgreSQL refuses while one references the column"
                         + (" or rests on an index holding it" if indexes else "") + ".")
        yield ctx.finding(
            RULE,
            f"`DROP {what} CASCADE` also drops "
            f"{_described(resting, statement.relation or '')} {how}, "
            "without saying so: nothing checks those columns afterwards, and rows pointing "
            "at nothing go in.",
            help=help_text,
            subject=action.name if action.subtype == "DropConstraint" else
            f"{statement.relation}.{action.name}", severity=Severity.ERROR)


def _own_keys(statement: Statement) -> list[ForeignKey]:
    """The table's foreign keys to itself (`parent_id REFERENCES t`), which `keys_to` (the
    other tables' keys) leaves out: CASCADE drops them the same way (PostgreSQL 18: "drop
    cascades to constraint t_parent_id_fkey on table t")."""
    table = statement.relation
    primary = next((columns for kind, columns in dict(statement.unique_keys).values()
                    if kind == "primary"), ())
    return [fk if fk.referenced_columns else dataclasses.replace(
                fk, referenced_columns=primary)
            for fk in statement.foreign_keys if same_relation(fk.references, table)]


def _described(keys: list[ForeignKey], table: str) -> str:
    """The foreign keys CASCADE drops, the other tables' and the table's own to itself."""
    others = [fk for fk in keys if not same_relation(fk.table, table)]
    own = [fk for fk in keys if same_relation(fk.table, table)]
    said = []
    if others:
        said.append(f"the foreign {'key' if len(others) == 1 else 'keys'} {_named(others)} "
                    f"of {'another table' if len(others) == 1 else 'other tables'}")
    if own:
        whose = "its" if others else f"`{last(table)}`'s"
        said.append(f"{whose} own foreign {'key' if len(own) == 1 else 'keys'} "
                    f"{_named(own)} to itself")
    return " and ".join(said)


def _named(keys: list[ForeignKey]) -> str:
    return ", ".join(f"`{last(fk.table)}.{fk.name}`" for fk in keys)


def _added_later(statement: Statement, ctx: LintContext) -> set[tuple[str, str]]:
    """(table, name) of the foreign keys later statements of the migration add."""
    return {(last(later.relation), action.constraint.name)
            for later in ctx.later(statement)
            if later.kind == "AlterTableStmt" and later.relation
            for action in later.actions
            if action.subtype == "AddConstraint" and action.constraint is not None
            and action.constraint.kind == "foreign" and action.constraint.name}


def _named_reach(columns: list[str], defaults: list[str]) -> tuple[str, Severity]:
    """What CASCADE drops of a type the history knows every column of, and how bad it is."""
    said = []
    if columns:
        said.append(f"{'column' if len(columns) == 1 else 'columns'} "
                    f"{', '.join(f'`{c}`' for c in columns)}, still of that type, with "
                    "their data")
    if defaults:
        said.append(f"the DEFAULT of {', '.join(f'`{c}`' for c in defaults)} (written for "
                    "that type, kept through the column's type change: inserts leaving the "
                    "column out get NULL, or fail where it is NOT NULL)")
    if said:
        return " and ".join(said) + ", without saying so", Severity.ERROR
    return ("whatever still uses it, without naming it: no column or DEFAULT the "
            "migrations wrote is of that type any more, but a function's argument or result, "
            "a view's cast, another type, or a column made where lint cannot follow it "
            "(CREATE TABLE AS, LIKE, SQL built at run time) may be"), Severity.WARNING


RULE = Rule(
    code="DBS212",
    name="drop-cascade",
    severity=Severity.ERROR,
    since="0.1.0",
    doc=__doc__,
    check=check,
    kinds=frozenset({"DropStmt", "AlterTableStmt"}),
)
