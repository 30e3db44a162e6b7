"""DBS317: what the SQL migrations do not make but the project's supabase `Database` types list.

A Supabase project's migrations are often not its whole history: tables made in the
dashboard, a first migration never committed, a column added by hand. The schema dbsafe
builds from the folder then lacks them, and the application's requests reading them were
DBS301/DBS302/DBS306 errors. The `Database` type a project commits
(`extract.supabase_types`: `supabase gen types typescript` run on its database) is a witness
of what that database has: a relation, column or function the folder does not make that
the types list was made outside the migrations. So was a foreign key its `Relationships`
list between two relations, which a request embeds (`games` -> `members`, hint
`fk_games_members`: a DBS305 error without the types), also by what PostgREST takes as the
target with no hint: the constraint's name, or the origin's one foreign-key column
(Coursify's `parent (...)` on `announcements`, `announcements_parent_fkey`). Such a finding becomes this code's
warning (the history is not whole: add the migration that made it), not an error.

An `.rpc()` call is matched as PostgREST's `findProc` (`Plan.hs`) matches it, against the
overloads the types' `Args` list, by the names of the arguments it sends (the finding's
`postgrest.ARGUMENTS_SENT`): it is made outside the migrations when one listed overload
takes them (also where the migrations make the function with other arguments: blunari's
`provision_tenant(p_tenant_data, p_owner_email, p_owner_user_id)`, an overload made by hand
in `scripts/fixes`), and stays the error it was when none does (production refuses the
call too, PGRST202) or several do (PGRST203). Where the names sent or the `Args` are not
known, a function made by no migration the types list is made outside them, as before.

What the migrations drop or rename (a relation, a column, a function, a foreign key's
constraint) stays an error whatever the types say: types generated
before a migration dropped `contributions.amount` (or renamed it `actual_amount`) still
list it, and the request reading it fails once that migration runs. A drop or rename
counts wherever it is in the folder, a later migration making the name again or not (the
types cannot tell which of the two they saw), and inside a `DO` block whose SQL dbsafe can
read. Applied to the findings of every file, cached or not, on each run (as
`scan._made_elsewhere`): a change to the types changes other files' findings.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dbsafe.core import Finding, RuleInfo, Severity

if TYPE_CHECKING:
    from dbsafe.extract.supabase_types import DatabaseTypes, Overload
    from dbsafe.sources import SchemaSource

log = logging.getLogger(__name__)

MADE_OUTSIDE_MIGRATIONS = RuleInfo(
    code="DBS317",
    name="made-outside-migrations",
    summary="A statement names a table, view, column, function or foreign key the SQL "
            "migrations do not make but the project's supabase `Database` types list: it was "
            "made outside the migrations, which are not the whole history.",
    default_severity=Severity.WARNING,
    since="0.2.0",
)
MADE_OUTSIDE_MIGRATIONS_DOC = """A statement names a table, view, column, function or foreign key the SQL migrations do not make but the project's supabase `Database` types list: it was made outside the migrations, which are not the whole history.

## Why
`dbsafe validate` builds the schema from the folder of SQL migrations. When the folder is
not the whole history (a table made in Supabase's dashboard, a first migration never
committed, a column added by hand), a request reading what was made outside it would be
reported missing (DBS301, DBS302, DBS306; DBS305 for a foreign key a request embeds
through), though production has it. The `Database` type
the project commits, which `supabase gen types typescript` wrote from a live database, says
it does: the request works there, and breaks on every database built from the migrations
alone (a preview branch, `supabase db reset`, a new environment).

## Bad
```sql
-- supabase/migrations/027_activity_logs.sql: production's table predates it
CREATE TABLE IF NOT EXISTS activity_logs (id uuid PRIMARY KEY, action text);
```
```ts
// src/lib/database.types.ts (generated from production)
export type Database = { public: { Tables: { activity_logs: {
  Row: { id: string; action: string; details: Json | null } } } } }
// src/lib/api/audit.ts
await supabase.from('activity_logs').insert({ action, details })
```

## Good
```sql
-- a migration making what production has
ALTER TABLE activity_logs ADD COLUMN IF NOT EXISTS details jsonb;
```

## How to fix
Add the migration that makes it (`supabase db diff` against the database it was made in,
or `supabase db pull`), so that every database built from the folder has it. If the types
were edited by hand and the database does not have it, it is the error it would have been
without them: add the migration, or fix the name.

## Not flagged
A name the migrations drop or rename (`DROP TABLE`, `DROP COLUMN`, `RENAME`, `DROP
FUNCTION`, `DROP CONSTRAINT`) stays the error it was (DBS301, DBS302, DBS305, DBS306):
types generated before that migration still list it. So does a name no `Database` type
lists, an `.rpc()` sending arguments no overload the types' `Args` list takes (or more than
one: PostgREST cannot choose, PGRST203), and any finding of a schema read from a database or
a snapshot (`--database-url`, `--snapshot`): their schema is the database's. An `.rpc()`
whose function the migrations make with other arguments is this warning only when the call
sends literal keys (no spread, no object built elsewhere, not `{ get: true }`) that one
listed overload takes, as PostgREST matches them: every argument without a default (`a:`),
any of those with one (`b?:`), or any keys for a single unnamed `Json` parameter (`"":
Json`) when no overload takes their names. An embed the types relate only through a junction table, or by a
hint naming no foreign key or column of one, or by the constraint's name of a key of the
origin to itself (PostgREST takes its column, never its name), stays DBS305; an embed the migrations make
ambiguous (DBS307) stays an error though the types list one relationship: types never take
away what the migrations make. Nor is what only a Supabase project's seed files make
(`supabase/seed.sql`, `[db.seed] sql_paths`): types generated from the seeded local database
list it, production never runs the seed. The application's code reading it stays the error,
saying the seed makes it; a test's is not reported (it runs on the seeded database).

## Suppressing
A `dbsafe: ignore[...]` comment, `--ignore`/`--select` or the `ignore`/`select` settings
naming the code the finding had without the types (DBS301, DBS302, DBS305, DBS306) reach
it as they reach DBS317: silencing a false error by hand before the types were read keeps
it silenced. A severity override of the former code does not: DBS317 has its own.
"""

# The codes of a name the schema lacks that the types may list.
_TABLE, _COLUMN, _RPC, _RELATIONSHIP = "DBS301", "DBS302", "DBS306", "DBS305"
# Only statements holding one of these can remove a name (a filter on the raw text; the
# parser decides).
_REMOVING_WORDS = ("DROP", "RENAME")


def made_outside(findings: Sequence[Finding], source: SchemaSource,
                 types: Callable[[], DatabaseTypes], *,
                 kept: Collection[Finding] = ()) -> tuple[list[Finding], dict[Finding, str]]:
    """`findings`, each naming a relation, column or function the migrations do not make
    but the project's `Database` types list (`types()`, read only when a finding may be
    one) recoded DBS317, unless the migrations drop or rename it; and each recoded finding's
    code before (a `dbsafe: ignore[DBS302]` written before the types were read still
    suppresses it: `extract.suppressions.apply`'s `recoded`). Those in `kept` are left as
    they are (what only the seed files make: types generated from the seeded local
    database list it, production has none, `validate.seeded`)."""
    folder = source.sql_folder
    if folder is None or source.kind != "sql-migrations" or not any(
            _named(f) is not None for f in findings if f not in kept):
        return list(findings), {}
    listed = types()
    if not listed:
        return list(findings), {}
    removed: _Removals | None = None
    where = os.path.relpath(folder.path, folder.root)
    out = []
    recoded: dict[Finding, str] = {}
    for finding in findings:
        named = _named(finding) if finding not in kept else None
        witness = _witness(named, listed, source) if named is not None else None
        if named is not None and witness is not None:
            if removed is None:
                removed = _removals(m.statements for m in folder.read())
            if named.code == _RELATIONSHIP:
                named = dataclasses.replace(named, keys=_relationship_keys(named, listed))
            if named.code == _RPC:
                named = dataclasses.replace(named, made=bool(
                    source.snapshot.functions_named(named.name, named.schema)))
            if not removed.removes(named):
                code = finding.code
                finding = _recoded(finding, named, witness, where)
                recoded[finding] = code
        elif named is not None and named.code == _RPC:
            finding = _listed_otherwise(finding, named, listed)
        out.append(finding)
    return out, recoded


def _listed_otherwise(finding: Finding, named: _Named, listed: DatabaseTypes) -> Finding:
    """A DBS306 of a call sending arguments none of the overloads the types list takes
    (the error stays): with the overloads they list, which production has."""
    where = listed.functions.get((named.schema, named.name))
    overloads = listed.overloads.get((named.schema, named.name))
    if where is None or not overloads or named.arguments is None \
            or _called(overloads, named.arguments):
        return finding
    several = sum(1 for o in overloads if named.arguments - o.optional == o.required) > 1
    shown = " | ".join(sorted("(" + ", ".join(
        [f"`{a or '(unnamed)'}`" for a in sorted(o.required)]
        + [f"`{a}` (has a default)" for a in sorted(o.optional)]) + ")" for o in overloads))
    return dataclasses.replace(finding, context=finding.context + ((
        "Listed by the `Database` type",
        f"{where} lists `{named.name}` taking {shown}: "
        + ("more than one takes the arguments sent (PostgREST cannot choose: PGRST203)"
           if several else "none takes the arguments sent")),))


@dataclass(frozen=True, slots=True)
class _Named:
    """What a finding says the schema lacks: a relation, a relation's column, a function."""

    code: str
    schema: str
    name: str
    column: str | None = None
    # a relationship's (DBS305): the relation embedded, the hint, the constraints of the
    # foreign keys the types list for it
    target: str | None = None
    hint: str | None = None
    keys: tuple[str, ...] = ()
    # a function's (DBS306): the names of the arguments the call sends, when known
    arguments: frozenset[str] | None = None
    # ... and whether the migrations make the function (with other arguments)
    made: bool = False

    @property
    def shown(self) -> str:
        """What it names, in backticks."""
        if self.made and self.arguments is not None:
            return f"`{self.name}` taking " + (", ".join(
                f"`{a}`" for a in sorted(self.arguments)) or "no arguments")
        if self.target is not None:
            return f"`{self.name}` -> `{self.target}`" + (
                f" (hint `{self.hint}`)" if self.hint is not None else "")
        return f"`{self.name}.{self.column}`" if self.column else f"`{self.name}`"


def _named(finding: Finding) -> _Named | None:
    """What a DBS301, DBS302, DBS305 or DBS306 finding says is missing, from its subject
    (`schema.name`, `schema.relation.column`, `schema.relation->embedded[!hint]`); None for
    any other (a missing schema, a column looked for in several relations, a function
    given an argument it lacks unless the names the call sends are known)."""
    if finding.code == _RELATIONSHIP:
        origin, _, embedded = (finding.subject or "").partition("->")
        target, _, hint = embedded.partition("!")
        parts = origin.split(".")
        if len(parts) != 2 or not target:
            return None
        return _Named(finding.code, parts[0], parts[1], target=target, hint=hint or None)
    parts = (finding.subject or "").split(".")
    if finding.code == _RPC:
        # (here, not at the module's top: a fully cached run loads no PostgREST reader)
        from dbsafe.validate.postgrest import arguments_sent

        sent = arguments_sent(finding)
        # (`schema.function.argument`: the function has no argument so named)
        if len(parts) == 2 or (len(parts) == 3 and sent is not None):
            return _Named(finding.code, parts[0], parts[1], arguments=sent)
        return None
    if finding.code == _TABLE and len(parts) == 2:
        return _Named(finding.code, parts[0], parts[1])
    if finding.code == _COLUMN and len(parts) == 3:
        return _Named(finding.code, parts[0], parts[1], parts[2])
    return None


def _witness(named: _Named, listed: DatabaseTypes, source: SchemaSource) -> str | None:
    """The file whose `Database` type lists what `named` names, if one does."""
    if named.code == _RELATIONSHIP:
        return next((where for _, where in _relationships(named, listed)), None)
    if named.code == _RPC:
        where = listed.functions.get((named.schema, named.name))
        if where is None:
            return None
        overloads = listed.overloads.get((named.schema, named.name))
        if named.arguments is None or overloads is None:
            # Which overload the call reaches is not known: one the migrations make with
            # other arguments is not made elsewhere; one they do not make is.
            made = source.snapshot.functions_named(named.name, named.schema)
            return None if made else where
        return where if _called(overloads, named.arguments) else None
    found = listed.columns(named.schema, named.name)
    if found is None:
        return None
    columns, path = found
    if named.column is None:
        return path
    return path if columns is not None and named.column in columns else None


def _called(overloads: Sequence[Overload], keys: frozenset[str]) -> bool:
    """Whether PostgREST calls one of `overloads` (those of one function) with arguments
    named `keys`: as `findProc` (`Plan.hs`) does, exactly one whose parameters the names
    match (all without a default, any of those with one; none for none), else exactly one
    taking its JSON body as a single unnamed json parameter.

    >>> from dbsafe.extract.supabase_types import Overload as O
    >>> f = [O(frozenset({"a"}), frozenset({"b"})), O(frozenset())]
    >>> [_called(f, frozenset(k)) for k in ({"a"}, {"a", "b"}, {"b"}, set(), {"c"})]
    [True, True, False, True, False]
    >>> _called([O(frozenset({""}), body=True)], frozenset({"c"}))
    True
    >>> _called([O(frozenset({"a"})), O(frozenset({"a"}), frozenset({"x"}))], frozenset({"a"}))
    False
    """
    named = [o for o in overloads if keys - o.optional == o.required]
    if named:
        return len(named) == 1
    return sum(1 for o in overloads if o.body) == 1


def _relationships(named: _Named, listed: DatabaseTypes) -> list[tuple[str, str]]:
    """(constraint, file) of each foreign key the types list between the relation and the
    one it embeds (`named`, a DBS305's), in either direction, matching its hint (the
    constraint's name or one of its columns, as PostgREST reads a hint) when it has one."""
    found = []
    for holder, referenced in ((named.name, named.target), (named.target, named.name)):
        keys, where = listed.foreign_keys.get((named.schema, holder or ""), ((), ""))
        found += [(key.name, where) for key in keys if key.referenced == referenced
                  and (named.hint is None or named.hint == key.name
                       or named.hint in key.columns)]
    if named.hint is None and not found:
        # PostgREST's `findRel` (`Plan.hs`) also takes, with no hint, the target as the
        # name of a foreign key's constraint (`projects_client_id_fkey(*)`, either
        # direction; not a key of the origin to itself) or as the origin's one foreign-key
        # column (`client_id(*)`; Coursify's self-referencing `announcements.parent`,
        # embedded as `parent(...)`).
        for (schema, holder), (keys, where) in listed.foreign_keys.items():
            if schema != named.schema:
                continue
            found += [(key.name, where) for key in keys if (
                key.name == named.target and named.name in (holder, key.referenced)
                and holder != key.referenced) or (
                holder == named.name and key.columns == (named.target,))]
    return found


def _relationship_keys(named: _Named, listed: DatabaseTypes) -> tuple[str, ...]:
    return tuple(name for name, _ in _relationships(named, listed))


def _recoded(finding: Finding, named: _Named, witness: str, folder: str) -> Finding:
    what = {"DBS301": "relation", "DBS302": "column", "DBS306": "function",
            "DBS305": "relationship"}[named.code]
    if named.made and named.arguments is not None:
        what = "an overload of function"
    return dataclasses.replace(
        finding, code=MADE_OUTSIDE_MIGRATIONS.code,
        severity=MADE_OUTSIDE_MIGRATIONS.default_severity,
        message=(f"{what} {named.shown} is made by no migration in {folder}, but the "
                 f"`Database` type in {witness} lists it: it was made outside the migrations"),
        help=("Add the migration that makes it (`supabase db diff` against the database it "
              "was made in), so that a database built from the migrations has it."),
        context=finding.context + (("Reported without the types",
                                    f"{finding.code}: {finding.message}"),))


@dataclass
class _Removals:
    """What the migrations drop or rename (names folded as PostgreSQL folds them; a schema
    None where the statement names none, which may be any)."""

    relations: set[tuple[str | None, str]] = field(default_factory=set)
    columns: set[tuple[str | None, str, str]] = field(default_factory=set)
    functions: set[tuple[str | None, str]] = field(default_factory=set)
    schemas: set[str] = field(default_factory=set)
    constraints: set[str] = field(default_factory=set)  # dropped or renamed, any table's

    def removes(self, named: _Named) -> bool:
        """Whether `named` is (or lies in) something the migrations drop or rename."""
        if named.schema in self.schemas:
            return True
        if named.code == _RPC:
            return bool({(None, named.name), (named.schema, named.name)} & self.functions)
        if {(None, named.name), (named.schema, named.name)} & self.relations:
            return True
        if named.target is not None:
            return bool({(None, named.target), (named.schema, named.target)} & self.relations
                        or set(named.keys) & self.constraints)
        return named.column is not None and bool(
            {(None, named.name, named.column), (named.schema, named.name, named.column)}
            & self.columns)


def _removals(statements: Iterable[Iterable[Any]]) -> _Removals:
    """What the statements of the migrations (each `MigrationStatement`-like, with `sql`)
    drop or rename.

    >>> from types import SimpleNamespace as S
    >>> r = _removals([[S(sql="ALTER TABLE contributions RENAME COLUMN amount TO actual_amount"),
    ...                 S(sql="DROP FUNCTION IF EXISTS app.f(int)"),
    ...                 S(sql="DO $$ BEGIN ALTER TABLE t DROP COLUMN x; END $$"),
    ...                 S(sql="ALTER TABLE g DROP CONSTRAINT g_m_fkey")]])
    >>> sorted(r.columns, key=str), sorted(r.functions, key=str), r.constraints
    ([(None, 'contributions', 'amount'), (None, 't', 'x')], [('app', 'f')], {'g_m_fkey'})
    """
    removals = _Removals()
    for migration in statements:
        for statement in migration:
            sql = statement.sql
            if any(word in sql.upper() for word in _REMOVING_WORDS):
                _read_removals(sql, removals, depth=0)
    return removals


def _read_removals(sql: str, removals: _Removals, *, depth: int) -> None:
    from pglast.parser import ParseError, parse_sql_json

    try:
        parsed = json.loads(parse_sql_json(sql))
    except ParseError:
        return  # the throwaway server refused it too: it removed nothing (a DBS006 note)
    for raw in parsed.get("stmts", ()):
        for kind, node in raw.get("stmt", {}).items():
            _statement_removals(kind, node, removals, depth)


def _statement_removals(kind: str, node: dict, removals: _Removals, depth: int) -> None:
    if kind == "DropStmt":
        remove_type = node.get("removeType")
        for target in node.get("objects", ()):
            if remove_type in _RELATION_TYPES:
                names = _strings(target.get("List", {}).get("items", ()))
                if names:
                    removals.relations.add((_schema_of(names), names[-1]))
            elif remove_type in _ROUTINE_TYPES:
                names = _strings(target.get("ObjectWithArgs", {}).get("objname", ()))
                if names:
                    removals.functions.add((_schema_of(names), names[-1]))
            elif remove_type == "OBJECT_SCHEMA" and "String" in target:
                removals.schemas.add(target["String"].get("sval", ""))
    elif kind == "RenameStmt":
        rename_type = node.get("renameType")
        relation = node.get("relation") or {}
        if rename_type == "OBJECT_COLUMN" and relation.get("relname") and node.get("subname"):
            removals.columns.add((relation.get("schemaname"), relation["relname"],
                                  node["subname"]))
        elif rename_type in _RELATION_TYPES and relation.get("relname"):
            removals.relations.add((relation.get("schemaname"), relation["relname"]))
        elif rename_type in _ROUTINE_TYPES:
            names = _strings(node.get("object", {}).get("ObjectWithArgs", {}).get("objname", ()))
            if names:
                removals.functions.add((_schema_of(names), names[-1]))
        elif rename_type == "OBJECT_SCHEMA" and node.get("subname"):
            removals.schemas.add(node["subname"])
        elif rename_type == "OBJECT_TABCONSTRAINT" and node.get("subname"):
            removals.constraints.add(node["subname"])
    elif kind == "AlterTableStmt":
        relation = node.get("relation") or {}
        for command in node.get("cmds", ()):
            command = command.get("AlterTableCmd", {})
            if command.get("subtype") == "AT_DropColumn" and relation.get("relname") \
                    and command.get("name"):
                removals.columns.add((relation.get("schemaname"), relation["relname"],
                                      command["name"]))
            elif command.get("subtype") == "AT_DropConstraint" and command.get("name"):
                removals.constraints.add(command["name"])
    elif kind == "DoStmt" and depth < 3:
        from dbsafe.pg.plpgsql import executed_sql, read_do_block

        tree, _ = read_do_block(node)
        if tree is None:
            return
        for text in executed_sql(tree):
            if text and any(word in text.upper() for word in _REMOVING_WORDS):
                _read_removals(text, removals, depth=depth + 1)


_RELATION_TYPES = frozenset({"OBJECT_TABLE", "OBJECT_VIEW", "OBJECT_MATVIEW",
                             "OBJECT_FOREIGN_TABLE"})
_ROUTINE_TYPES = frozenset({"OBJECT_FUNCTION", "OBJECT_PROCEDURE", "OBJECT_ROUTINE",
                            "OBJECT_AGGREGATE"})


def _strings(items: Iterable[dict]) -> list[str]:
    return [item["String"].get("sval", "") for item in items if "String" in item]


def _schema_of(names: list[str]) -> str | None:
    return names[-2] if len(names) >= 2 else None

