"""The tables, views, columns and functions a project's supabase-js `Database` type lists.

`supabase gen types typescript` writes the schema of a live database as one TypeScript
type, which supabase-js clients are typed with (`createClient<Database>(url, key)`):

```ts
export type Database = {
  public: {
    Tables: { activity_logs: { Row: { id: string; details: Json | null }; Insert: {...} } }
    Views: { active_users: { Row: {...} } }
    Functions: { search_leads: { Args: {...}; Returns: ... } }
    Enums: {...}
  }
}
```

Projects commit it (`database.types.ts`, `types/supabase.ts`, Lovable's
`integrations/supabase/types.ts`), some edit it by hand or write it themselves as an
`interface Database`. Read with tree-sitter's TypeScript grammar, as the rest of the
project's TypeScript is: a top-level `type Database = {...}` or `interface Database {...}`
(exported or not), whose members are schemas (`__InternalSupabase`, the generator's
options, is none), each with `Tables` and `Views` (a relation's columns are its `Row`'s
members, its foreign keys its `Relationships`: `{ foreignKeyName: "fk"; columns: ["a"];
referencedRelation: "r" }` each) and `Functions` (their names, and the overloads their
`Args` list: `Args: { a: string; b?: number } | { "": Json }`, or each overload a member
of a union, `f: { Args: {...}; Returns: ... } | { Args: {...}; ... }`, as older generators
wrote them; `b?` has a default, `""` is an unnamed parameter; `Args: never` and `Args:
Record<PropertyKey, never>` take none).

What a part tree-sitter could not parse holds is not read, never guessed: tree-sitter-
typescript 0.23 refuses a member named `in_...` after one not ended by `;` (its automatic
semicolon scanner reads `in` as the operator: `home_states: string[]` then `in_scope:
boolean`), and what follows may end up one level up: justicehub-platform's generated file
had its `Relationships` read as a schema. So a file is read only where every part the
parser could not read lies inside a relation's members (`{ Row: ...; Insert: ...; Update:
... }`), whose columns are then unknown (`None`, the relation still listed): the members
around them were read as written. Any other error leaves the whole file unread (`{}`).
"""

from __future__ import annotations

import codecs
import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dbsafe.extract.files import kept_entry

if TYPE_CHECKING:
    from tree_sitter import Node, Parser

# Generated files run to megabytes (justicehub-platform's: 1.8 MB, 55,000 lines).
_MAX_BYTES = 8 << 20
_SUFFIXES = (".ts", ".mts", ".cts", ".tsx")
# Every file holding such a type spells these (a cheap filter on the bytes; the parser decides).
_WORDS = (b"Database", b"Tables", b"Row")
# A schema's members that list relations, whose `Row` gives their columns.
_RELATION_KEYS = ("Tables", "Views")


@dataclass(frozen=True, slots=True)
class ForeignKey:
    """A foreign key a relation's `Relationships` list: its constraint's name, its columns
    and the relation it references (in the same schema)."""

    name: str
    columns: tuple[str, ...]
    referenced: str


@dataclass(frozen=True, slots=True)
class Overload:
    """The parameters one overload of a function takes, as its `Args` list them: the names
    without a default (`required`) and with one (`optional`, `name?: ...`); an unnamed
    parameter is named `""`. `body`: its one parameter is an unnamed `Json` (json or jsonb),
    which PostgREST gives a call's whole JSON body when no overload takes its names."""

    required: frozenset[str]
    optional: frozenset[str] = frozenset()
    body: bool = False


@dataclass(frozen=True, slots=True)
class DatabaseTypes:
    """What the project's `Database` types list, each with the first file (from the root)
    listing it. `relations`: `(schema, name)` to its columns (None: not read) and file;
    `functions`: `(schema, name)` to its file; `overloads`: `(schema, name)` to the
    overloads that file's `Args` list (None: not read); `foreign_keys`: `(schema, name)` to
    the foreign keys its `Relationships` list and the file listing the relation."""

    relations: dict[tuple[str, str], tuple[frozenset[str] | None, str]] = field(
        default_factory=dict)
    functions: dict[tuple[str, str], str] = field(default_factory=dict)
    foreign_keys: dict[tuple[str, str], tuple[tuple[ForeignKey, ...], str]] = field(
        default_factory=dict)
    overloads: dict[tuple[str, str], tuple[Overload, ...] | None] = field(
        default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.relations or self.functions)

    def columns(self, schema: str, relation: str) -> tuple[frozenset[str] | None, str] | None:
        """(the columns, the file) the types give `schema.relation`; None if none lists it."""
        return self.relations.get((schema, relation))


def database_types(files: Sequence[tuple[str, str]],
                   memo: dict[str, list[object]] | None = None) -> DatabaseTypes:
    """The `Database` types of `files` ((path, path from the project's root) pairs), merged
    in the order given. `memo` (kept by the caller between runs): each file's facts by its
    path from the root, with the size and modification time it was read at.

    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = Path(d, "db.ts").write_text(
    ...         "export type Database = { public: { Tables: { logs: { Row: { id: string; "
    ...         "details: Json | null } } }\\n Functions: { search: { Args: never } } } }\\n")
    ...     types = database_types([(str(Path(d, "db.ts")), "src/db.ts")])
    >>> columns, where = types.columns("public", "logs")
    >>> sorted(columns), where
    (['details', 'id'], 'src/db.ts')
    >>> types.functions, types.overloads
    ({('public', 'search'): 'src/db.ts'}, {('public', 'search'): (Overload(required=frozenset(), optional=frozenset(), body=False),)})
    >>> types.foreign_keys
    {('public', 'logs'): ((), 'src/db.ts')}
    """
    found = DatabaseTypes()
    for path, display in files:
        if not path.endswith(_SUFFIXES):
            continue
        facts = _file_facts(path, display, memo)
        for schema, listed in (facts or {}).items():
            for name, columns in listed.get("relations", {}).items():
                found.relations.setdefault(
                    (schema, name), (frozenset(columns) if columns is not None else None,
                                     display))
                keys = listed.get("foreign_keys", {}).get(name, ())
                found.foreign_keys.setdefault((schema, name), (tuple(
                    ForeignKey(fk, tuple(cols), ref) for fk, cols, ref in keys), display))
            arguments = listed.get("arguments", {})
            for name in listed.get("functions", ()):
                if (schema, name) in found.functions:
                    continue
                found.functions[(schema, name)] = display
                # (facts a memo kept from before `Args` were read have none: not read)
                overloads = arguments.get(name)
                found.overloads[(schema, name)] = None if overloads is None else tuple(
                    Overload(frozenset(required), frozenset(optional), body)
                    for required, optional, body in overloads)
    return found


def _file_facts(path: str, display: str, memo: dict[str, list[object]] | None) -> dict | None:
    """`read_types` of one file (None: no `Database` type), from `memo` while the file's
    size and modification time are those it was read at."""
    seen = kept_entry(memo, display, path)
    if seen is None:
        return None
    stamp, known = seen
    if known is not None:
        return known[2] if isinstance(known[2], dict) else None
    try:
        with open(path, "rb") as file:
            data = file.read(_MAX_BYTES + 1)
    except OSError:
        data = b""
    if len(data) <= _MAX_BYTES:
        data = _as_utf8(data)
    facts = read_types(data, tsx=path.endswith(".tsx")) \
        if len(data) <= _MAX_BYTES and all(word in data for word in _WORDS) else None
    if memo is not None:
        memo[display] = [*stamp, facts]
    return facts


def _as_utf8(data: bytes) -> bytes:
    """`data` in UTF-8: a file opening with a UTF-16 byte order mark is decoded as it says.

    Windows PowerShell 5's `>` writes `supabase gen types typescript > types.ts` as UTF-16
    with a byte order mark (blunari's two `integrations/supabase/types.ts`), which TypeScript
    reads as its mark says, so the types are the project's; text that is not such UTF-16
    is left as it is (and a file of no valid UTF-16 is not read).

    >>> _as_utf8("type Database = {}".encode("utf-16"))
    b'type Database = {}'
    >>> _as_utf8(b"type Database = {}")
    b'type Database = {}'
    """
    if not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data
    try:
        return data.decode("utf-16").encode("utf-8")
    except UnicodeError:
        return b""


def read_types(source: bytes, *, tsx: bool = False) -> dict | None:
    """`{schema: {"relations": {name: [column, ...] | None}, "functions": [name, ...],
    "foreign_keys": {name: [[constraint, [column, ...], referenced], ...]}, "arguments":
    {function: [[[required, ...], [optional, ...], body], ...] | None}}}` for the `Database`
    types of one file's text (a function's overloads as `Overload` holds them); None when it
    declares none, `{}` when the parser could not read it but inside relations (see the
    module docstring).

    >>> read_types(b"interface Database { app: { Views: { v: { Row: { a: number } } } } }")
    {'app': {'relations': {'v': ['a']}, 'functions': [], 'foreign_keys': {}, 'arguments': {}}}
    >>> read_types(b"type Database = { public: { Tables: { t: { Row: {\\n"
    ...            b"  a: string[]\\n  in_scope: boolean\\n} } } } }")["public"]["relations"]
    {'t': None}
    >>> read_types(b'type Database = { public: { Tables: { g: { Row: { m: string }; '
    ...            b'Relationships: [{ foreignKeyName: "g_m_fkey"; columns: ["m"]; '
    ...            b'isOneToOne: false; referencedRelation: "members" }] } } } }')["public"]["foreign_keys"]
    {'g': [['g_m_fkey', ['m'], 'members']]}
    >>> read_types(b'type Database = { public: { Functions: {\\n'
    ...            b'  f: { Args: { b?: number; a: string } | { "": Json }; Returns: Json }\\n'
    ...            b'  g: | { Args: never; Returns: unknown } | { Args: { x: string }; Returns: unknown }\\n'
    ...            b'  h: { Args: Partial<Other>; Returns: unknown } } } }')["public"]["arguments"]
    {'f': [[['a'], ['b'], False], [[''], [], True]], 'g': [[[], [], False], [['x'], [], False]], 'h': None}
    >>> read_types(b"type Other = { public: { Tables: {} } }") is None
    True

    A file whose parse went wrong outside a relation's members gives nothing (`{}`):

    >>> read_types(b"type Database = { public: { Tables: { t: { Row: { a: string } } } } } }")
    {}
    """
    tree = _parser(tsx).parse(source)
    facts: dict[str, dict] = {}
    declared = False
    relations: set[int] = set()  # the relations' object types: what an error may be inside
    for body in _database_bodies(tree.root_node):
        declared = True
        for schema, value in _members(body):
            if schema.startswith("__"):  # `__InternalSupabase`: the generator's options
                continue
            listed = facts.setdefault(schema, {"relations": {}, "functions": [],
                                               "foreign_keys": {}, "arguments": {}})
            for key, kind in _members(value):
                if key in _RELATION_KEYS:
                    for name, relation in _members(kind):
                        relations.add(relation.id)
                        row = next((v for k, v in _members(relation) if k == "Row"), None)
                        columns = None if row is None or relation.has_error \
                            else sorted(c for c, _ in _members(row))
                        listed["relations"].setdefault(name, columns)
                        keys = next((v for k, v in _members(relation) if k == "Relationships"),
                                    None)
                        if keys is not None and not relation.has_error:
                            listed["foreign_keys"].setdefault(name, _foreign_keys(keys))
                elif key == "Functions":
                    for name, function in _members(kind):
                        if name not in listed["functions"]:
                            listed["functions"].append(name)
                            listed["arguments"][name] = _overloads(function)
    if not declared:
        return None
    if tree.root_node.has_error and not _confined(tree.root_node, relations):
        # Recovering elsewhere, the parser may have closed an object early and read what
        # followed one level up (justicehub-platform's columns as members of `public`):
        # nothing the file lists is certain.
        return {}
    return facts


def _overloads(function: Node) -> list[list] | None:
    """`[[[required, ...], [optional, ...], body], ...]`: the overloads a function's type
    lists, from its `Args` (a union of them, or a union of `{ Args: ...; Returns: ... }`);
    None when one of them is not read (a type dbsafe does not know, a hand-written
    `Args: Partial<...>`): which names it takes is unknown."""
    found = []
    for variant in _alternatives(function):
        args = next((v for k, v in _members(variant) if k == "Args"), None) \
            if variant.type == "object_type" else None
        if args is None:
            return None
        for each in _alternatives(args):
            overload = _parameters(each)
            if overload is None:
                return None
            found.append(overload)
    return found


def _alternatives(node: Node) -> list[Node]:
    """The members of a union type (`A | B | C`, also led by `|`), else the type itself."""
    if node.type != "union_type":
        return [node]
    return [leaf for child in node.named_children for leaf in _alternatives(child)]


def _parameters(args: Node) -> list | None:
    """`[[required, ...], [optional, ...], body]` of one overload's `Args` (see
    `_overloads`): an object type's members, a parameter with a default written `name?:`;
    `never`, `Record<..., never>` and `{}` take none. None for any other type."""
    text = args.text.decode("utf-8", "replace") if args.text is not None else ""
    if args.type == "predefined_type" and text == "never":
        return [[], [], False]
    if args.type == "generic_type":
        generic = args.child_by_field_name("name")
        arguments = args.child_by_field_name("type_arguments")
        taken = arguments.named_children if arguments is not None else []
        if (generic is not None and generic.text == b"Record" and len(taken) == 2
                and taken[1].text == b"never"):
            return [[], [], False]
        return None
    if args.type != "object_type" or args.has_error:
        return None
    required: list[str] = []
    optional: list[str] = []
    types: list[bytes | None] = []
    for member in args.named_children:
        if member.type == "comment":
            continue
        name = _name(member.child_by_field_name("name")) \
            if member.type == "property_signature" else None
        annotation = member.child_by_field_name("type") if name is not None else None
        if name is None or annotation is None:
            return None  # an index signature, a method, a computed name: not read
        (optional if any(c.type == "?" for c in member.children) else required).append(name)
        types.append(annotation.named_children[0].text if annotation.named_children else None)
    body = len(types) == 1 and required + optional == [""] and types[0] == b"Json"
    return [sorted(required), sorted(optional), body]


def _foreign_keys(keys: Node) -> list[list]:
    """`[[constraint, [column, ...], referenced], ...]` of a `Relationships` tuple type:
    each member an object type naming all three as string literals (one naming them
    otherwise, `referencedSchema` or not, is left out: what it references is not read)."""
    found = []
    for entry in keys.named_children if keys.type == "tuple_type" else ():
        if entry.type != "object_type":
            continue
        fields = dict(_members(entry))
        if "referencedSchema" in fields:
            continue
        name, referenced = _literal(fields.get("foreignKeyName")), _literal(
            fields.get("referencedRelation"))
        columns_type = fields.get("columns")
        columns = [_literal(c) for c in columns_type.named_children] \
            if columns_type is not None and columns_type.type == "tuple_type" else [None]
        if name is None or referenced is None or None in columns:
            continue
        found.append([name, columns, referenced])
    return found


def _literal(node: Node | None) -> str | None:
    """The string of a string literal type (`"members"`), else None."""
    if node is None or node.type != "literal_type" or not node.named_children:
        return None
    string = node.named_children[0]
    return _name(string) if string.type == "string" else None


def _confined(root: Node, relations: set[int]) -> bool:
    """Whether every part of the tree the parser could not read (an ERROR or a MISSING
    node) lies inside one of the `relations` (whose columns are then not read): the
    members around them were read as written."""
    pending = [root]
    while pending:
        node = pending.pop()
        if node.id in relations:
            continue
        if node.type == "ERROR" or node.is_missing:
            return False
        pending.extend(child for child in node.children if child.has_error)
    return True


def _database_bodies(root: Node) -> Iterator[Node]:
    """The object types of the top-level declarations named `Database`."""
    for node in root.named_children:
        if node.type == "export_statement":
            node = node.child_by_field_name("declaration") or node
        if node.type == "ambient_declaration":  # `declare type Database = ...`
            node = next(iter(node.named_children), node)
        if node.type not in ("type_alias_declaration", "interface_declaration"):
            continue
        name = node.child_by_field_name("name")
        if name is None or name.text != b"Database":
            continue
        body = node.child_by_field_name(
            "value" if node.type == "type_alias_declaration" else "body")
        if body is not None and body.type in ("object_type", "interface_body"):
            yield body


def _members(node: Node) -> Iterator[tuple[str, Node]]:
    """(name, object type) of each member of an object type whose type is an object type
    (`name: {...}`, `"name"?: {...}`) or, for a column of a `Row`, any type. Members inside
    a part the parser could not read (an ERROR node) are not its members."""
    for member in node.named_children:
        if member.type != "property_signature":
            continue
        name = _name(member.child_by_field_name("name"))
        annotation = member.child_by_field_name("type")
        if name is None or annotation is None:
            continue
        value = next(iter(annotation.named_children), None)
        if value is None or value.type == "ERROR":
            continue
        yield name, value


def _name(node: Node | None) -> str | None:
    """A member's name as written: an identifier, or a string with no escape in it."""
    if node is None:
        return None
    if node.type == "property_identifier":
        return node.text.decode("utf-8", "replace") if node.text is not None else None
    if node.type == "string":
        if any(child.type == "escape_sequence" for child in node.named_children):
            return None
        return "".join(child.text.decode("utf-8", "replace") for child in node.named_children
                       if child.type == "string_fragment" and child.text is not None)
    return None


@functools.cache
def _parser(tsx: bool) -> Parser:
    import tree_sitter_typescript
    from tree_sitter import Language, Parser

    return Parser(Language(tree_sitter_typescript.language_tsx() if tsx
                           else tree_sitter_typescript.language_typescript()))
