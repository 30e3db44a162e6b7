"""PostgREST requests (supabase-js and supabase-py chains) resolved against a schema snapshot.

`check(request, snapshot)` reads one `PostgrestRequest` (see `dbsafe.extract.javascript`) the
way PostgREST would: the `select` string with PostgREST's grammar (columns, `alias:column`,
`::cast`, JSON paths `a->b->>c`, aggregates `col.sum()`, `count()`, embedded resources
`rel(...)` with hints `rel!fk(...)`, `!inner`/`!left`, spreads `...rel(...)`, `*`), the
columns of filters and modifiers (`.eq('col', v)`, `.in`, `.match({...})`, `.or('a.eq.1')`,
`.order('col')`, `'rel.col'` on an embedded resource, and `.not('rel', 'is', null)`, which
tests whether an embedded resource has rows), payload keys of `.insert`/`.update`/`.upsert`
and `onConflict`, and `.rpc('fn', {args})`.

The grammar follows PostgREST's own parser (`src/PostgREST/ApiRequest/QueryParams.hs`) and
relationships follow its `findRel` (`src/PostgREST/Plan.hs`): an embedded resource is found
through a foreign key in either direction, by the target's table name, the constraint name or
a single foreign-key column, or through a junction table for many-to-many; when more than
one relationship matches and no hint picks one, PostgREST refuses the request (PGRST201,
DBS307: `_relationships` and `_find_rel` follow `SchemaCache.hs` and `findRel` strictly
for that). supabase-js removes
whitespace outside double quotes from the select string before sending it; so do we.
PostgREST does not fold case: `displayname` is not `DisplayName`.

**Unknown means silent**, as for SQL: a reference is reported only when it is provably
missing. Views (whose relationships PostgREST infers from their definitions), computed
fields and computed relationships (functions taking the row type), a select string dbsafe
cannot parse, a table name found only outside `public` (the client may be configured with
another `db.schema`) and what extensions own (their relations and functions, which the
snapshot names but does not describe) make the affected references unchecked. Whatever is not a literal (a
table name or select string in a variable, a spread payload) is a DBS304 note.

A request naming a schema (`.schema('x')`, a client's `db.schema`) that the project's
supabase/config.toml does not expose in `[api] schemas` is DBS311 (PostgREST's PGRST106)
and is checked no further; `exposed_schemas` reads that list.

Column and table findings carry the SQL that PostgREST's request depends on
(`SELECT "t"."c" FROM "s"."t"`), so the run loop can have PostgreSQL confirm them.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from dbsafe.core import Finding, Location, RuleInfo, Severity
from dbsafe.validate.per_snapshot import PerSnapshot
from dbsafe.validate.row_callable import ROW_CALLABLE_BUILTINS

if TYPE_CHECKING:
    from dbsafe.extract.fragment import SqlFragment
    from dbsafe.extract.holes import Template
    from dbsafe.extract.javascript import JsValue, PostgrestCall, PostgrestRequest
    from dbsafe.schema.model import Function, Publication, Relation, SchemaSnapshot

UNKNOWN_RELATIONSHIP = RuleInfo(
    code="DBS305",
    name="unknown-embedded-relationship",
    summary="A PostgREST request embeds a resource no foreign key relates to its table.",
    default_severity=Severity.ERROR,
    since="0.1.0",
)
UNKNOWN_FUNCTION = RuleInfo(
    code="DBS306",
    name="unknown-rpc-function",
    summary="A PostgREST `rpc()` call names a function the schema does not have, or "
            "arguments no overload of it takes.",
    default_severity=Severity.ERROR,
    since="0.1.0",
)
AMBIGUOUS_RELATIONSHIP = RuleInfo(
    code="DBS307",
    name="ambiguous-embedded-relationship",
    summary="A PostgREST request embeds a resource more than one relationship leads to, "
            "without a hint picking one (PGRST201).",
    default_severity=Severity.ERROR,
    since="0.1.0",
)
NO_CONFLICT_ARBITER = RuleInfo(
    code="DBS308",
    name="upsert-without-unique-index",
    summary="A supabase-js `upsert()` names `onConflict` columns no unique index or "
            "constraint covers exactly, so PostgreSQL refuses its `ON CONFLICT` (42P10).",
    default_severity=Severity.ERROR,
    since="0.2.0",
)
AMBIGUOUS_FUNCTION = RuleInfo(
    code="DBS309",
    name="ambiguous-rpc-overload",
    summary="A PostgREST `rpc()` call sends arguments more than one overload of the function "
            "takes, so PostgREST cannot choose one (PGRST203).",
    default_severity=Severity.ERROR,
    since="0.2.0",
)
REALTIME_UNPUBLISHED = RuleInfo(
    code="DBS310",
    name="realtime-table-not-published",
    summary="A supabase-js or supabase-py Realtime subscription listens to a table, or an "
            "event of it, that the `supabase_realtime` publication does not publish, so it "
            "never receives a change.",
    default_severity=Severity.WARNING,
    since="0.2.0",
)
SCHEMA_NOT_EXPOSED = RuleInfo(
    code="DBS311",
    name="schema-not-exposed",
    summary="A supabase-js or supabase-py request reads a schema (`.schema('x')`, "
            "`db: { schema: 'x' }`) that supabase/config.toml's `[api] schemas` does not "
            "expose, so PostgREST refuses it (PGRST106).",
    default_severity=Severity.ERROR,
    since="0.2.0",
)
DROPPED_FILTER_CAST = RuleInfo(
    code="DBS312",
    name="cast-in-filter-column",
    summary="A supabase-js or supabase-py filter casts its column (`.eq('created_at::date', "
            "day)`), a cast PostgREST drops: the filter compares the column uncast.",
    default_severity=Severity.WARNING,
    since="0.2.0",
)
DROPPED_FILTER_CAST_DOC = """A supabase-js or supabase-py filter casts its column, a cast PostgREST drops: the filter compares the column uncast.

## Why
PostgREST reads a filter's column (the query parameter's name, `created_at::date` in
`?created_at::date=eq.2024-05-01`) with the grammar of a column path, `rel.col->json`, and
ignores whatever follows it: the cast is dropped without an error (PostgREST's
`pTreePath` in `ApiRequest/QueryParams.hs`, its issues #1409 and #2785). The request
filters `WHERE "t"."created_at" = $1`, and PostgreSQL reads `$1`, `'2024-05-01'`, as a
value of the column's type: a `timestamptz` at midnight. The filter meant "rows of that
day" and matches only rows stamped exactly at midnight, usually none. A cast to `text`
for `.like()`/`.ilike()` is dropped too: PostgreSQL then refuses `timestamptz ~~* unknown`
(42883), and `.gt('data->>n::int', 5)` compares text, `'10' > '5'` false.

## Bad
```ts
const { data } = await supabase
  .from('orders')
  .select('id, total')
  .eq('created_at::date', '2024-05-01')  // matches orders placed at 00:00:00 only
```

## Good
```ts
const { data } = await supabase
  .from('orders')
  .select('id, total')
  .gte('created_at', '2024-05-01')
  .lt('created_at', '2024-05-02')
```

## How to fix
Filter the column as it is stored: a range for a day (`.gte(...)` and `.lt(...)` of the
next day, in the time zone you mean), a value of the column's own type. Where the cast
value is what you need, store or expose it: a generated column
(`created_day date GENERATED ALWAYS AS ((created_at AT TIME ZONE 'UTC')::date) STORED`),
a view's column, or a function called with `.rpc()`; then filter that. A cast in
`.select()` is applied; in `.order()` and `.or()` PostgREST refuses it (PGRST100).

## Not flagged
A column whose name holds `::` inside double quotes (`'"a::b"'`), which is a name; a
filter whose column is not a literal (a DBS304 note).
"""
RELATED_ORDER_TO_MANY = RuleInfo(
    code="DBS313",
    name="order-by-to-many-embed",
    summary="A supabase-js or supabase-py request orders its rows by a column of a one-to-many "
            "or many-to-many embedded resource (`.order('rel(col)')`), which PostgREST "
            "refuses (PGRST118).",
    default_severity=Severity.ERROR,
    since="0.2.0",
)
RULES: tuple[RuleInfo, ...] = (UNKNOWN_RELATIONSHIP, UNKNOWN_FUNCTION, AMBIGUOUS_RELATIONSHIP,
                               NO_CONFLICT_ARBITER, AMBIGUOUS_FUNCTION, REALTIME_UNPUBLISHED,
                               SCHEMA_NOT_EXPOSED, DROPPED_FILTER_CAST, RELATED_ORDER_TO_MANY)

# Codes shared with SQL validation (same meaning, same docs).
_UNKNOWN_TABLE = "DBS301"
_UNKNOWN_COLUMN = "DBS302"
_DYNAMIC = "DBS304"
_SEVERITY = {_UNKNOWN_TABLE: Severity.ERROR, _UNKNOWN_COLUMN: Severity.ERROR,
             _DYNAMIC: Severity.NOTE}

DEFAULT_SCHEMA = "public"
_SYSTEM_COLUMNS = frozenset({"ctid", "xmin", "xmax", "cmin", "cmax", "tableoid"})
_TABLE_KINDS = frozenset({"table", "partitioned_table"})
# supabase-js filter methods whose first argument is a column (or `rel.column`).
_FILTERS = frozenset(
    """eq neq gt gte lt lte like ilike likeAllOf likeAnyOf ilikeAllOf ilikeAnyOf is isDistinct
    in contains containedBy rangeGt rangeGte rangeLt rangeLte rangeAdjacent overlaps
    textSearch not filter regexMatch regexIMatch""".split()
)
_MUTATIONS = frozenset({"insert", "upsert", "update"})


@dataclass(frozen=True, slots=True)
class Issue:
    """A finding, and the SQL whose rejection by PostgreSQL would confirm it (if any).

    `start`/`end` are the inclusive offsets of the offending identifier in `sql`.
    """

    finding: Finding
    sql: str | None = None
    start: int = 0
    end: int = 0
    call: int = 0  # the index in the request's calls of the call that names it


@dataclass(frozen=True, slots=True)
class Checked:
    """What checking one request found; `status` as for SQL statements."""

    status: str  # "analysed" | "not_analysed" | "dynamic"
    issues: tuple[Issue, ...] = ()
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ExposedSchemas:
    """The schemas a Supabase project's PostgREST serves, as its config.toml lists them."""

    config: str  # the file, as shown (`supabase/config.toml`)
    schemas: tuple[str, ...]  # as written: `[api]`'s, then those `[remotes.*.api]` add

    def key(self) -> str:
        """What validate's cache keys its outcomes by: other schemas, other findings."""
        return ",".join(sorted(self.schemas))


def exposed_schemas(config: Path, shown: str) -> ExposedSchemas | None:
    r"""The schemas `[api] schemas` of a Supabase config.toml exposes, as Supabase's CLI
    hands them to PostgREST (`PGRST_DB_SCHEMAS`, its items joined by commas, which
    PostgREST splits and trims), with those of every `[remotes.<name>.api]` (a branch's or
    another project's overrides: the one deployed may be any of them). None when the file
    does not list them (the CLI's default then, or the dashboard's list for a hosted
    project, is not written there), disables the API (`enabled = false`), or cannot be
    read.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "config.toml").write_text(
    ...     '[api]\nschemas = ["public", " app"]\n[remotes.staging.api]\nschemas = ["beta"]\n')
    >>> exposed_schemas(folder / "config.toml", "supabase/config.toml").schemas
    ('public', 'app', 'beta')
    >>> _ = (folder / "config.toml").write_text('[api]\nenabled = true\n')
    >>> exposed_schemas(folder / "config.toml", "supabase/config.toml") is None
    True
    """
    from dbsafe.extract.supabase_config import read_config

    config_data = read_config(config)
    api = config_data.get("api")
    listed = _schemas_of(api)
    if listed is None or not isinstance(api, dict) or api.get("enabled") is False:
        return None
    schemas = list(listed)
    remotes = config_data.get("remotes")
    for remote in remotes.values() if isinstance(remotes, dict) else ():
        overrides = remote.get("api") if isinstance(remote, dict) else None
        if isinstance(overrides, dict) and "schemas" in overrides:
            more = _schemas_of(overrides)
            if more is None:
                return None  # (`env(...)` or another shape: not known)
            schemas.extend(s for s in more if s not in schemas)
    return ExposedSchemas(shown, tuple(schemas))


def _schemas_of(api: object) -> list[str] | None:
    if not isinstance(api, dict):
        return None
    listed = api.get("schemas")
    if not isinstance(listed, list) or not all(isinstance(s, str) for s in listed):
        return None
    return [s.strip() for s in listed if s.strip()]


# -- the select grammar -------------------------------------------------------------------


class SelectError(ValueError):
    """The select string is not one PostgREST's grammar accepts (or dbsafe reads)."""


@dataclass(slots=True)
class Item:
    """One node of a parsed select: a field, `*`, `count()`, or an embedded resource.

    Offsets are into the string as written in the source (before whitespace removal).
    """

    kind: str  # "star" | "count" | "field" | "embed" | "spread"
    name: str = ""
    start: int = 0
    end: int = 0
    alias: str | None = None
    hint: str | None = None
    hint_start: int = 0
    hint_end: int = 0
    json_path: bool = False
    json_keys: tuple[str, ...] = ()
    aggregate: str | None = None
    children: list[Item] = field(default_factory=list)


def parse_select(raw: str) -> list[Item]:
    """Parse a select string as supabase-js sends it and PostgREST reads it.

    Raises:
        SelectError: PostgREST would reject it (or it uses syntax dbsafe does not read).

    Example:
        >>> [(i.kind, i.name, i.alias) for i in parse_select("id, full:name, b:c->>d::text")]
        [('field', 'id', None), ('field', 'name', 'full'), ('field', 'c', 'b')]
        >>> items = parse_select("*, patients!inner(id), ...clinics!fk(name)")
        >>> [(i.kind, i.name, i.hint, [c.name for c in i.children]) for i in items]
        [('star', '*', None, []), ('embed', 'patients', None, ['id']), \
('spread', 'clinics', 'fk', ['name'])]
    """
    cleaned: list[str] = []
    index: list[int] = []
    quoted = False
    for offset, char in enumerate(raw):
        # supabase-js: `if (/\s/.test(c) && !quoted) return ''; if (c === '"') quoted = !quoted`
        if char.isspace() and not quoted:
            continue
        if char == '"':
            quoted = not quoted
        cleaned.append(char)
        index.append(offset)
    parser = _SelectParser("".join(cleaned), index)
    # PostgREST reads `select` with `P.parse pFieldForest` and no `eof` (`pRequestSelect`):
    # its `sepBy` stops at the first top-level item no comma follows, and the rest is
    # never read. `a(b).c(d)` selects `a(b)`, `id)x` selects `id`; a field must still end
    # at `,`, `)` or the end (`pFieldSelect`'s `pEnd`: `id.x` is PGRST100), and so must
    # whatever is inside an embed's parentheses (`a(b).c` inside one is PGRST100).
    if parser.s and not parser.reads_an_item():
        # `sepBy` is `sepBy1 p sep <|> return []`: a first item failing before it has
        # consumed a character is no item, and the select is empty (`*x`, `!a`, `,a`,
        # `...rel` without parentheses); PostgREST then selects `*` (`defSelect`).
        return []
    return parser.forest()


class _SelectParser:
    def __init__(self, text: str, index: list[int]) -> None:
        self.s = text
        self.index = index
        self.i = 0

    def raw(self, i: int) -> int:
        return self.index[min(i, len(self.index) - 1)] if self.index else 0

    def peek(self, text: str) -> bool:
        return self.s.startswith(text, self.i)

    def expect(self, text: str) -> None:
        if not self.peek(text):
            raise SelectError(f"expected {text!r} at {self.i}")
        self.i += len(text)

    def forest(self) -> list[Item]:
        # PostgREST's `pFieldTree `sepBy` char ','`: none at all is a forest too (`rel()`
        # embeds a resource for filtering, selecting none of its columns).
        if self.i >= len(self.s) or self.peek(")"):
            return []
        items = [self.tree()]
        while self.peek(","):
            self.i += 1
            items.append(self.tree())
        return items

    def reads_an_item(self) -> bool:
        """Whether PostgREST's `pFieldTree` consumes text here (then it reads an item or
        fails, PGRST100): a name (quoted, or an identifier character), `*` its end follows,
        or a spread whose head `(` follows; its other alternatives are `try`s."""
        char, start = self.s[self.i], self.i
        if char == '"' or _identifier_char(char):
            return True
        try:
            if self.peek("..."):
                self.i += 3
                self.embed_head(kind="spread", alias=None)
                return self.peek("(")
            self.expect("*")
            self.end()
            return True
        except SelectError:
            return False
        finally:
            self.i = start

    def tree(self) -> Item:
        if self.peek("..."):
            self.i += 3
            item = self.embed_head(kind="spread", alias=None)
            return self.embed_body(item)
        start = self.i
        alias = self.alias()
        if alias is not None and self.peek("..."):
            # pSpreadRelationSelect takes no alias: PostgREST answers PGRST100.
            raise SelectError(f"a spread cannot be aliased (`{alias}:...`)")
        try:
            item = self.embed_head(kind="embed", alias=alias)
            if item.name != "count" and self.peek("("):
                return self.embed_body(item)
        except SelectError:
            pass
        self.i = start
        return self.field()

    def alias(self) -> str | None:
        start = self.i
        try:
            name, _, _ = self.field_name()
        except SelectError:
            self.i = start
            return None
        if self.peek(":") and not self.peek("::"):
            self.i += 1
            return name
        self.i = start
        return None

    def embed_head(self, *, kind: str, alias: str | None) -> Item:
        name, start, end = self.field_name()
        item = Item(kind, name, start, end, alias=alias)
        for _ in range(2):
            if not self.peek("!"):
                break
            self.i += 1
            if self.peek("left") or self.peek("inner"):
                self.i += 4 if self.peek("left") else 5
                continue
            item.hint, item.hint_start, item.hint_end = self.field_name()
        return item

    def embed_body(self, item: Item) -> Item:
        self.expect("(")
        item.children = self.forest()
        self.expect(")")
        return item

    def field(self) -> Item:
        if self.peek("*"):
            start = self.i
            self.i += 1
            self.end()
            return Item("star", "*", self.raw(start), self.raw(start))
        alias = self.alias()
        if self.peek("count()"):
            start = self.i
            self.i += len("count()")
            self.cast()
            self.end()
            return Item("count", "count", self.raw(start), self.raw(self.i - 1), alias=alias)
        name, start, end = self.field_name()
        keys: list[str] = []
        json_path = self.json_path(keys)
        self.cast()
        aggregate = None
        for candidate in ("sum", "avg", "count", "max", "min"):
            if self.peek(f".{candidate}()"):
                aggregate = candidate
                self.i += len(candidate) + 3
                self.cast()
                break
        self.end()
        return Item("field", name, start, end, alias=alias, json_path=json_path,
                    json_keys=tuple(keys), aggregate=aggregate)

    def end(self) -> None:
        if self.i < len(self.s) and self.s[self.i] not in ",)":
            raise SelectError(f"unexpected {self.s[self.i]!r}")

    def cast(self) -> None:
        if self.peek("::"):
            self.i += 2
            if not self.identifier():
                raise SelectError("empty cast")

    def identifier(self) -> str:
        start = self.i
        while self.i < len(self.s) and _identifier_char(self.s[self.i]):
            self.i += 1
        return self.s[start:self.i].strip()

    def field_name(self) -> tuple[str, int, int]:
        """A name (quoted, or identifiers joined by dashes); with its raw offsets."""
        start = self.i
        if self.peek('"'):
            self.i += 1
            chars: list[str] = []
            while self.i < len(self.s) and self.s[self.i] != '"':
                if self.s[self.i] == "\\" and self.i + 1 < len(self.s):
                    self.i += 1
                chars.append(self.s[self.i])
                self.i += 1
            self.expect('"')
            return "".join(chars), self.raw(start), self.raw(self.i - 1)
        parts = [self.identifier()]
        if not parts[0]:
            raise SelectError(f"expected a field name at {self.i}")
        while self.peek("-") and not self.peek("->"):
            self.i += 1
            part = self.identifier()
            if not part:
                raise SelectError("dangling dash")
            parts.append(part)
        return "-".join(parts), self.raw(start), self.raw(self.i - 1)

    def json_path(self, keys: list[str] | None = None) -> bool:
        """Read `->a->>0`; the keys (not indexes) go to `keys`.

        PostgREST's `pJsonPath`: an index is digits (after an optional `-`) that `->`, `::`,
        `.`, `,` or the end follows; anything else is a key, quoted or any characters but
        `(-:.,>)` joined by dashes (`->>@type`, `->1abc`, `->a-b` are keys).
        """
        seen = False
        while self.peek("->"):
            self.i += 3 if self.peek("->>") else 2
            seen = True
            start = self.i
            if self.peek("-"):
                self.i += 1
            digits = self.i
            while self.i < len(self.s) and self.s[self.i].isdigit() and self.s[self.i].isascii():
                self.i += 1
            if self.i > digits and (self.i == len(self.s) or any(
                    self.peek(end) for end in ("->", "::", ".", ","))):
                continue
            self.i = start
            key = self.json_key()
            if keys is not None:
                keys.append(key)
        return seen

    def json_key(self) -> str:
        if self.peek('"'):
            return self.field_name()[0]
        parts = [self.json_key_part()]
        while self.peek("-") and not self.peek("->"):
            self.i += 1
            parts.append(self.json_key_part())
        return "-".join(parts)

    def json_key_part(self) -> str:
        # PostgREST's pJsonKeyIdentifier: `T.strip <$> many1 (noneOf "(-:.,>)")`
        start = self.i
        while self.i < len(self.s) and self.s[self.i] not in "(-:.,>)":
            self.i += 1
        if self.i == start:
            raise SelectError(f"expected a JSON key at {start}")
        return self.s[start:self.i].strip()


def _identifier_char(char: str) -> bool:
    # PostgREST's pIdentifierChar: letter <|> digit <|> oneOf "_ $"
    return char.isalpha() or (char.isdigit() and char.isascii()) or char in "_ $"


@dataclass(frozen=True, slots=True)
class FilterPath:
    """A filter's column as PostgREST reads it: `rel.sub.col->x::date` is `path` ["rel",
    "sub"], `name` "col" (at `start`..`end`, inclusive), a JSON path, and the cast PostgREST
    drops, `::date` at `cast_start`..`cast_end` (-1 when there is none)."""

    path: list[str]
    name: str
    start: int
    end: int
    json_path: bool
    cast_start: int = -1
    cast_end: int = -1


def parse_path(raw: str) -> FilterPath:
    """A filter's column: `rel.sub.col->x` is (["rel", "sub"], "col", start, end, json_path).

    PostgREST reads a filter's key with `pTreePath` (`P.parse` without `eof`) and ignores
    whatever follows what it read: a cast, `price::text=eq.3`, is dropped and `price` is
    compared uncast (its issues #1409 and #2785); so is any other text, `name)=eq.x`
    filters `name`. A name holds spaces (`pIdentifierChar`), `a b` is the column `a b`.

    >>> parse_path("clinics.name")
    FilterPath(path=['clinics'], name='name', start=8, end=11, json_path=False, \
cast_start=-1, cast_end=-1)
    >>> f = parse_path("data->>key::int")
    >>> f.name, f.json_path, "data->>key::int"[f.cast_start:f.cast_end + 1]
    ('data', True, '::int')
    >>> parse_path("name)").name, parse_path("name)").cast_start
    ('name', -1)
    """
    parser = _SelectParser(raw, list(range(len(raw))))
    names = [parser.field_name()]
    while parser.peek("."):
        parser.i += 1
        names.append(parser.field_name())
    json_path = parser.json_path()
    name, start, end = names[-1]
    # Identifiers may hold spaces that PostgREST strips: point at the name itself.
    start += len(raw[start:end + 1]) - len(raw[start:end + 1].lstrip())
    end -= len(raw[start:end + 1]) - len(raw[start:end + 1].rstrip())
    cast_start, cast_end = (parser.i, len(raw.rstrip()) - 1) if parser.peek("::") else (-1, -1)
    return FilterPath([n for n, _, _ in names[:-1]], name, start, end, json_path,
                      cast_start, cast_end)


# -- the schema as PostgREST sees it ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _ForeignKey:
    name: str
    table: Relation
    columns: tuple[str, ...]
    referenced: Relation
    referenced_columns: tuple[str, ...]


class _Graph:
    """Foreign keys indexed both ways, functions and relations by name: one per snapshot."""

    def __init__(self, snapshot: SchemaSnapshot) -> None:
        self.snapshot = snapshot
        self.by_name: dict[str, list[Relation]] = {}
        self.outgoing: dict[int, list[_ForeignKey]] = {}
        self.incoming: dict[int, list[_ForeignKey]] = {}
        self.functions: dict[str, list] = {}
        # Every foreign key's name: PostgREST's findRel matches an embed by one, and gives a
        # view the names of the foreign keys of the tables it reads.
        self.foreign_key_names: set[str] = set()
        self.schemas = set(snapshot.schemas) | {r.schema for r in snapshot.relations}
        # What extensions own is not in the snapshot but PostgREST serves it: the names of
        # their tables and views, and the schemas their functions may be in.
        extensions = [e for e in snapshot.extensions if e.name != "plpgsql"]
        self.extension_relations = {(e.schema, r) for e in extensions for r in e.relations}
        self.extension_functions = {(e.schema, f) for e in extensions for f in e.functions or ()}
        # Snapshots of older dbsafe list no extension's functions: any name may be one there.
        self.unlisted_extension_schemas = {e.schema for e in extensions if e.functions is None}
        # A range type's constructors (`r(lower, upper[, bounds])`, and its multirange's
        # `m()`, `m(r)`, `m(VARIADIC r[])`) are functions PostgREST may call (`m()` is in its
        # schema cache) that the snapshot does not list: they belong to the type.
        self.range_constructors = {(r.schema, r.name) for r in snapshot.range_types} | {
            (schema, name) for schema, _, name in
            (r.multirange.partition(".") for r in snapshot.range_types if r.multirange)}
        for relation in snapshot.relations:
            self.by_name.setdefault(relation.name, []).append(relation)
        for relation in snapshot.relations:
            for constraint in relation.constraints:
                if constraint.kind != "foreign_key" or not constraint.referenced_table:
                    continue
                self.foreign_key_names.add(constraint.name)
                schema, _, name = constraint.referenced_table.partition(".")
                referenced = snapshot.relation(schema, name)
                if referenced is None:
                    continue
                fk = _ForeignKey(constraint.name, relation, constraint.columns, referenced,
                                 constraint.referenced_columns)
                self.outgoing.setdefault(id(relation), []).append(fk)
                self.incoming.setdefault(id(referenced), []).append(fk)
        for function in snapshot.functions:
            self.functions.setdefault(function.name, []).append(function)
        # Names a select may read as a computed field: PostgreSQL's `"t"."name"` calls a
        # function `name` given the row, so one taking no argument (Supabase's `auth.email()`,
        # `auth.role()`) or first a scalar (`slugify(text)`) is never one (42703).
        self.computed_fields = {f.name for f in snapshot.functions if _row_argument(f)}

    def tables(self, name: str, schema: str | None) -> tuple[tuple[Relation, ...], bool]:
        """Relations a `.from(name)` may mean, and whether their absence is provable.

        With no explicit schema, `public` is what supabase-js uses unless the client was
        created with another `db.schema`; a same-named relation elsewhere may be it.
        """
        if schema is not None:
            relation = self.snapshot.relation(schema, name)
            return ((relation,) if relation else ()), schema in self.schemas and (
                (schema, name) not in self.extension_relations)
        # Every same-named relation, `public` first: a column is missing only if all lack it.
        found = sorted(self.by_name.get(name, ()), key=lambda r: r.schema != DEFAULT_SCHEMA)
        return tuple(found), not found and DEFAULT_SCHEMA in self.schemas and not any(
            n == name for _, n in self.extension_relations)





# A few at once: lint's DBS211 checks each request against two snapshots in turn.
_GRAPHS: PerSnapshot[_Graph] = PerSnapshot(_Graph, keep=4)


def _graph(snapshot: SchemaSnapshot) -> _Graph:
    return _GRAPHS(snapshot)


# -- checking a request ----------------------------------------------------------------------


@dataclass(slots=True)
class _Embed:
    """An embedded resource of the select, for filters and orders that name it."""

    names: tuple[str, ...]  # its alias and its name
    target: tuple[Relation, ...]  # () when unknown
    children: list[_Embed]
    # The names of the columns its subquery outputs (aliases, json keys, aggregates, the
    # fields of spreads inside it): what `order('rel(x)')` sorts by.
    outputs: frozenset[str] = frozenset()
    # The relationship when it is certainly to-many (one-to-many, many-to-many): PostgREST
    # cannot order its parent by it (PGRST118).
    to_many: _Rel | None = None


class _Checker:
    def __init__(self, request: PostgrestRequest, snapshot: SchemaSnapshot,
                 exposed: ExposedSchemas | None = None) -> None:
        self.request = request
        self.exposed = exposed
        self.graph = _graph(snapshot)
        self.issues: list[Issue] = []
        self.unchecked: str | None = None
        self.dynamic: str | None = None
        self.call = 0  # the index in `request.calls` of the call being read
        # The select in effect is not read (not a literal, or not parsed): which names are
        # embedded resources, that a null test may name, is not known.
        self.select_unknown = False

    @property
    def muted(self) -> bool:
        """Whether the call being read is one another request reports on (`inherited`)."""
        return self.call < self.request.inherited

    # -- findings ----------------------------------------------------------------------

    def report(self, code: str, message: str, where: Location, *, subject: str,
               help: str | None = None, sql: str | None = None, start: int = 0,
               end: int = 0, context: tuple[tuple[str, str], ...] = ()) -> None:
        if self.muted:
            return
        severity = _SEVERITY.get(code) or next(r.default_severity for r in RULES
                                               if r.code == code)
        finding = Finding(code=code, message=message, severity=severity, location=where,
                          subject=subject, help=help, context=context)
        self.issues.append(Issue(finding, sql, start, end, self.call))

    def not_literal(self, what: str, value: JsValue) -> None:
        from dbsafe.extract.javascript import JsOther

        label = value.label if isinstance(value, JsOther) else "an expression"
        self.built_at_run_time(f"{what} `{label}` is not a literal")

    def built_at_run_time(self, reason: str) -> None:
        if self.dynamic is None and not self.muted:
            self.dynamic = reason

    def skip(self, reason: str) -> None:
        # Also in inherited calls: what is not read there leaves this request unchecked too.
        self.unchecked = self.unchecked or reason

    # -- the request -------------------------------------------------------------------

    def run(self) -> Checked:
        request = self.request
        if self.unexposed():
            pass  # PostgREST refuses it before reading its table, columns or function
        elif request.dynamic:
            self.built_at_run_time(request.dynamic)
        elif request.schema_dynamic:
            self.built_at_run_time("the schema passed to `.schema()` is not a literal")
        elif request.kind == "rpc":
            self.rpc()
        elif request.kind == "realtime":
            self.realtime()
        else:
            self.table()
        if self.dynamic:
            self.report(_DYNAMIC, f"PostgREST request built at run time is not validated: "
                        f"{self.dynamic}.", request.location, subject=self.subject(),
                        help="Use literal table, column and select strings, or add "
                             f"`{_comment(request.path)} dbsafe: ignore[DBS304]` if this is "
                             "intended.")
        status = "dynamic" if self.dynamic else "not_analysed" if self.unchecked else "analysed"
        return Checked(status, tuple(self.issues), self.dynamic or self.unchecked)

    def unexposed(self) -> bool:
        """DBS311 when the request names a schema the project's config.toml does not expose:
        PostgREST answers a profile header (`Accept-Profile`/`Content-Profile`, which
        supabase-js and postgrest-py send for the client's schema) naming a schema outside
        its `db-schemas` with PGRST106 (`getSchema` in its ApiRequest.hs), and Supabase's CLI
        sets `db-schemas` to `[api] schemas`. A Realtime subscription is no PostgREST
        request; one with no schema named may be the client's, created elsewhere."""
        request, exposed = self.request, self.exposed
        if exposed is None or request.schema is None or request.kind == "realtime" or \
                request.schema.sql in exposed.schemas:
            return False
        schema = request.schema.sql
        listed = ", ".join(f"`{s}`" for s in exposed.schemas)
        self.report(SCHEMA_NOT_EXPOSED.code,
                    f"schema `{schema}` is not exposed by PostgREST: `[api] schemas` in "
                    f"{exposed.config} lists {listed}",
                    request.schema.location(0, max(len(schema) - 1, 0)), subject=schema,
                    help=f"Add `{schema}` to `schemas` under `[api]` in {exposed.config} "
                         "(and to the exposed schemas of the hosted project's API settings), "
                         "or read it through a view or function of an exposed schema: "
                         "PostgREST answers every request to it with PGRST106.")
        return True

    def subject(self) -> str:
        target = self.request.target
        return target.sql if target is not None else "?"

    def table(self) -> tuple[Relation, ...]:
        """The relations the request's table may be (none: reported, or unknown)."""
        request = self.request
        assert request.target is not None
        name = request.target.sql
        schema = request.schema.sql if request.schema is not None else None
        target, provable = self.graph.tables(name, schema)
        if not target:
            if provable:
                shown = schema or DEFAULT_SCHEMA
                names = [r.name for r in self.graph.snapshot.relations if r.schema == shown]
                close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
                sql = f"SELECT FROM {_quote(shown)}.{_quote(name)}"
                start = sql.rindex(_quote(name))
                # (no `.schema()`: a same-named relation in any schema may be it, so only
                # a request naming its schema gets here with one elsewhere)
                elsewhere = sorted(r.schema for r in self.graph.by_name.get(name, ())
                                   if r.schema != shown)
                # `.from('platform.tenants')`: PostgREST takes the whole as one name
                owner, _, bare = name.partition(".")
                qualified = bool(bare) and any(
                    r.schema == owner for r in self.graph.by_name.get(bare, ()))
                help = (f"`{name}` is in schema `{elsewhere[0]}`, not `{shown}`; read it "
                        f"with `.schema('{elsewhere[0]}')` (PostgREST must expose that "
                        "schema)." if elsewhere else
                        f"PostgREST reads `{name}` as one table name, not a schema and a "
                        f"table; read `{owner}`'s `{bare}` with `.schema('{owner}')"
                        f".from('{bare}')` (PostgREST must expose that schema)."
                        if qualified else
                        f"Did you mean `{close[0]}`?" if close else None)
                self.report(_UNKNOWN_TABLE, f"no relation `{name}` in schema `{shown}`",
                            request.target.location(0, max(len(name) - 1, 0)),
                            subject=f"{shown}.{name}", help=help,
                            sql=sql, start=start, end=len(sql) - 1)
            elif (schema or DEFAULT_SCHEMA) in self.graph.schemas:
                self.skip(f"`{name}` is an extension's relation, whose columns are unknown")
            else:
                self.skip(f"`{name}` is not in the snapshot's schemas")
            return ()
        self.chain(target)
        return target

    def realtime(self) -> None:
        """A Realtime subscription: its table, then the columns its filter names (`col=op.value`
        conditions, comma-separated; a template's holes are values)."""
        from dbsafe.extract.fragment import SqlFragment
        from dbsafe.extract.javascript import JsObject, JsOther

        target = self.table()
        options = self.request.calls[0].arguments[1]
        if not target or not isinstance(options, JsObject):
            return
        self.published(target, options.get("event"))
        written = text = options.get("filter")
        if text is None:
            return
        holes: list[int] = []
        if isinstance(text, JsOther) and text.template is not None:
            text, holes = _filled(text.template, self.request.path)
        if not isinstance(text, SqlFragment):
            self.not_literal("the Realtime filter", text)
            return
        try:
            conditions = _realtime_filter_columns(text.sql)
        except SelectError as exc:
            self.skip(f"Realtime filter not read: {exc}")
            return
        for name, start, end in conditions:
            if _touches_hole(start, end, holes):
                self.not_literal("a column of the Realtime filter", written)
                continue
            self.column(name, target, text, start, end)

    def published(self, target: tuple[Relation, ...], event: JsValue | None) -> None:
        """DBS310 when Realtime's publication, if the schema has it, publishes neither the
        table nor, for a subscription to one event, that event: Realtime reads the changes
        from the publication, and the channel then silently receives nothing.

        A schema without the publication says nothing (Supabase creates it, outside the
        migrations), nor does dbsafe's stand-in of it (a folder of supabase migrations:
        tables are often added to it in the dashboard); nor does a partitioned table, whose
        changes a publication may carry as its partitions'.
        """
        from dbsafe.extract.fragment import SqlFragment
        from dbsafe.schema.model import STAND_IN_MARK

        publication = next((p for p in self.graph.snapshot.publications
                            if p.name == _REALTIME_PUBLICATION), None)
        if publication is None or len(target) != 1 or target[0].kind == "partitioned_table":
            return
        if (publication.comment or "").startswith(STAND_IN_MARK):
            return  # dbsafe's stand-in of the platform's: the dashboard may add tables
        relation = target[0]
        written = self.request.target
        assert written is not None
        where = written.location(0, max(len(written.sql) - 1, 0))
        name = relation.qualified_name
        if not _publishes(publication, relation, self.graph.snapshot):
            self.report(REALTIME_UNPUBLISHED.code, f"Realtime never sends changes of `{name}`: "
                        f"publication `{publication.name}` does not publish it", where,
                        subject=name,
                        help=f"Add it in a migration: `ALTER PUBLICATION {publication.name} "
                             f"ADD TABLE {_quote(relation.schema)}.{_quote(relation.name)};` "
                             "(what enabling Realtime for the table in the dashboard does).")
            return
        operation = event.sql.strip().lower() if isinstance(event, SqlFragment) else ""
        if operation in ("insert", "update", "delete") and \
                operation not in publication.operations:
            self.report(REALTIME_UNPUBLISHED.code, f"Realtime never sends {operation.upper()} "
                        f"changes of `{name}`: publication `{publication.name}` publishes only "
                        f"{', '.join(publication.operations) or 'nothing'}",
                        event.location(0, max(len(event.sql) - 1, 0))
                        if isinstance(event, SqlFragment) else where, subject=name,
                        help=f"`ALTER PUBLICATION {publication.name} SET (publish = "
                             f"'{', '.join((*publication.operations, operation))}');` in a "
                             "migration.")

    def chain(self, target: tuple[Relation, ...]) -> None:
        """The calls after `.from()` (or after `.rpc()` of a function returning rows of a
        table), read against the relations `target` may be."""
        embeds: list[_Embed] = []
        for index, call in enumerate(self.request.calls[1:], 1):
            self.call = index
            method = call.method
            if method == "select":
                # A later select replaces the earlier one (supabase-js sets the parameter).
                embeds = self.select(call, target)
                if self.muted and self.request.select_shared:
                    embeds, self.select_unknown = [], True
            elif method in _MUTATIONS:
                self.payload(call, target)
            elif method in _FILTERS:
                self.filter_column(call, target, embeds)
            elif method == "match":
                self.match(call, target, embeds)
            elif method == "or":
                self.logic(call, target, embeds)
            elif method == "order":
                self.order(call, target, embeds)

    # -- select ------------------------------------------------------------------------

    def select(self, call: PostgrestCall, target: tuple[Relation, ...]) -> list[_Embed]:
        from dbsafe.extract.fragment import SqlFragment

        if not call.arguments or call.arguments[0] is None:
            return []  # `.select()` is `*`
        columns = call.arguments[0]
        self.select_unknown = True
        if not isinstance(columns, SqlFragment):
            self.not_literal("the select string", columns)
            return []
        try:
            items = parse_select(columns.sql)
        except SelectError as exc:
            self.skip(f"select string not read: {exc}")
            return []
        self.select_unknown = False
        return self.items(items, target, columns)

    def items(self, items: Sequence[Item], target: tuple[Relation, ...],
              text: SqlFragment) -> list[_Embed]:
        embeds: list[_Embed] = []
        for item in items:
            if item.kind == "field":
                if target:
                    self.column(item.name, target, text, item.start, item.end)
            elif item.kind in ("embed", "spread"):
                inner = self.embed(item, target, text)
                names = tuple(n for n in (item.alias, item.name) if n)
                embeds.append(_Embed(names, inner, self.items(item.children, inner, text),
                                     _outputs(item.children), self.to_many(item, target)))
        return embeds

    def column(self, name: str, target: tuple[Relation, ...], text: SqlFragment,
               start: int, end: int, *, payload: bool = False) -> None:
        """Report `name` if no relation `target` may mean has it (nor a computed field)."""
        if not target or name == "*":
            return
        for relation in target:
            if relation.column(name) is not None:
                return
            if not payload and name in _SYSTEM_COLUMNS and relation.has_system_columns:
                return
        if name in self.graph.computed_fields:
            return  # a computed field (a function taking the row type)
        if not payload and name in ROW_CALLABLE_BUILTINS:
            # PostgREST sends `"t"."count"`, which PostgreSQL reads as `count(t)` (`rel(count)`
            # is its embedded count); from PostgreSQL 18 `"t"."max"` is `max(t)` too.
            return
        relation = target[0]
        table = _quote(relation.name)
        # A function's result is read from the function, called with NULL arguments.
        source = (relation.definition if relation.kind == _FUNCTION_RESULT and
                  relation.definition else f"{_quote(relation.schema)}.{table}")
        sql = f"SELECT {table}.{_quote(name)} FROM {source}"
        column_start = len("SELECT ") + len(table) + 1
        close = difflib.get_close_matches(name, [c.name for c in relation.columns], n=1,
                                          cutoff=0.6)
        self.report(_UNKNOWN_COLUMN, f"`{relation.name}` has no column `{name}`",
                    text.location(start, end), subject=f"{relation.qualified_name}.{name}",
                    help=f"Did you mean `{close[0]}`?" if close else None,
                    sql=sql, start=column_start, end=column_start + len(_quote(name)) - 1)

    def embed(self, item: Item, origin: tuple[Relation, ...],
              text: SqlFragment) -> tuple[Relation, ...]:
        """The relations an embedded resource resolves to; () when unknown."""
        if not origin:
            return ()
        name, hint = item.name, item.hint
        if name in self.graph.functions:
            computed = self.computed(name, origin)
            if computed is None:
                self.skip(f"`{name}` may be a computed relationship")
                return ()
            return (computed,)
        if any(r.kind not in _TABLE_KINDS for r in origin) or any(
                r.kind not in _TABLE_KINDS for r in self.graph.by_name.get(name, ())):
            # PostgREST infers a view's relationships from its definition: not modelled.
            self.skip(f"`{name}` embeds through a view")
            if hint is None and (any(o.column(name) is not None for o in origin)
                                 or name in self.graph.foreign_key_names):
                # findRel also takes the name for a foreign key's column or constraint,
                # which a view's inferred relationships have too: `v?select=owner(x)` on a
                # view column `owner` referencing `users` embeds `users`, not a relation
                # named `owner`.
                return ()
            # Else only by the target's name: the relation so named in the request's schema.
            same_schema = tuple(r for r in self.graph.by_name.get(name, ())
                                if r.schema in {o.schema for o in origin})
            return same_schema
        found: list[Relation] = []
        for relation in origin:
            found.extend(_related(self.graph, relation, name, hint))
        unique = tuple({id(r): r for r in found}.values())
        if unique and len(origin) == 1:
            candidates = _find_rel(_relationships(self.graph, origin[0]), name, hint)
            if len(candidates) > 1:
                self.ambiguous(item, origin[0], candidates, text)
                return ()
        if unique:
            return unique
        if _through_view(self.graph, origin, name, hint):
            self.skip(f"`{name}` may be embedded through a view")
            return ()
        where = text.location(item.start, item.end)
        shown = origin[0].name
        if hint is not None:
            message = f"`{shown}` has no relationship to `{name}` matching hint `{hint}`"
        else:
            message = f"`{shown}` has no relationship to `{name}`"
        elsewhere = sorted({r.qualified_name for o in origin
                            for r in _related(self.graph, o, name, hint, any_schema=True)})
        if elsewhere:
            help = (f"`{name}` relates it to {', '.join(f'`{e}`' for e in elsewhere)}, in "
                    f"another schema: PostgREST embeds only tables of the request's schema "
                    f"(`{origin[0].schema}`). Embed a view of it made there, by the view's name.")
        else:
            help = ("Embed a table related by a foreign key (in either direction, or through "
                    "a junction table), by its name, the constraint name or the foreign-key "
                    "column.")
        # the hint in the subject (`public.games->members!fk_games_members`): DBS317 asks
        # the project's `Database` types for that foreign key (`made_outside`)
        self.report(UNKNOWN_RELATIONSHIP.code, message, where,
                    subject=f"{origin[0].qualified_name}->{name}"
                            + (f"!{hint}" if hint is not None else ""), help=help)
        return ()

    def to_many(self, item: Item, origin: tuple[Relation, ...]) -> _Rel | None:
        """The relationship of an embed (not a spread) when it is certainly to-many.

        Certain when the origin is one table and its foreign keys match the embed with one
        relationship (`_relationships` lists only those PostgREST's cache holds; one it has
        beside them makes the embed ambiguous, PGRST201, an error too), and no function may
        be a computed relationship of that name.
        """
        if item.kind != "embed" or len(origin) != 1 or item.name in self.graph.functions:
            return None
        found = _find_rel(_relationships(self.graph, origin[0]), item.name, item.hint)
        if len(found) == 1 and found[0].cardinality in ("one-to-many", "many-to-many"):
            return found[0]
        return None

    def related_order(self, embed: _Embed, relation: str, origin: Relation,
                      text: SqlFragment, start: int) -> None:
        """DBS313: `order('rel(col)')` of a to-many embedded resource (PGRST118)."""
        assert embed.to_many is not None
        self.report(RELATED_ORDER_TO_MANY.code,
                    f"PostgREST cannot order `{origin.name}` by `{relation}`, a "
                    f"{embed.to_many.cardinality} embedded resource: the request fails "
                    "(PGRST118)",
                    text.location(start, start + len(relation) - 1),
                    subject=f"{origin.qualified_name}->{embed.to_many.other.name}",
                    help="Order by a many-to-one or one-to-one embedded resource only; sort "
                         f"the rows of `{relation}` inside it instead (`.order('col', "
                         f"{{ referencedTable: '{relation}' }})`).")

    def computed(self, name: str, origin: tuple[Relation, ...]) -> Relation | None:
        """The relation a computed relationship `name` of `origin` leads to, when certain.

        PostgREST's allComputedRels: a function of one argument, the row type of a table or
        view, returning (a set of) another's row type; findRel matches it by the function's
        name alone (a hint is not read) and keys it by the returned relation's schema, which
        must be the request's. Unknown (None) when another relationship may have the name
        (a computed one overrides a foreign key's only where the function is named as the
        table, in its schema; else the two are PGRST201), or several functions may be it.
        """
        if len(origin) != 1:
            return None
        (source,) = origin
        snapshot = self.graph.snapshot
        found: list[tuple[str, Relation]] = []
        for function in self.graph.functions.get(name, ()):
            arguments = function.input_arguments
            if function.kind != "function" or len(arguments) != 1:
                continue
            taken = _type_relation(arguments[0].type, snapshot)
            if taken is None or (taken.schema, taken.name) != (source.schema, source.name):
                continue
            returned = (_type_relation(function.returns.removeprefix("SETOF "), snapshot)
                        if function.returns_composite else None)
            if returned is None:
                return None  # a row type dbsafe does not read: it may be a relation's
            found.append((function.schema, returned))
        if len(found) != 1:
            return None
        ((schema, related),) = found
        if related.schema != source.schema or \
                (related.schema, related.name) in self.graph.extension_relations:
            return None
        # The function overrides the relationships to the relation it is named after, in its
        # own schema (PostgREST's docs: `premieres(films) RETURNS SETOF premieres`); any
        # other relationship of the name is a second candidate (PGRST201), or may be.
        overridden = related if (schema, name) == (related.schema, related.name) else None
        if any(r.schema == source.schema and r is not overridden
               for r in self.graph.by_name.get(name, ())) or \
                any(r is not overridden
                    for r in _related(self.graph, source, name, None, any_schema=True)):
            return None
        return related

    def ambiguous(self, item: Item, origin: Relation, candidates: Sequence[_Rel],
                  text: SqlFragment) -> None:
        """PostgREST's PGRST201: `findRel` found several relationships and fails the request."""
        name = item.name
        hints = ", ".join(f"`{name}!{r.hint}`" for r in candidates)
        context = tuple(("Relationship", r.describe(origin)) for r in candidates)
        self.report(AMBIGUOUS_RELATIONSHIP.code,
                    f"`{origin.name}` has more than one relationship to `{name}`",
                    text.location(item.start, item.end),
                    subject=f"{origin.qualified_name}->{name}",
                    help=f"Name the relationship with a hint: one of {hints}.",
                    context=(*context, ("PostgREST", "PGRST201: Could not embed because more "
                                        f"than one relationship was found for '{origin.name}'"
                                        f" and '{name}'")))

    # -- filters and modifiers ---------------------------------------------------------

    def resolve_path(self, path: Sequence[str], target: tuple[Relation, ...],
                     embeds: list[_Embed]) -> tuple[Relation, ...]:
        return self.level(path, target, embeds)[0]

    def level(self, path: Sequence[str], target: tuple[Relation, ...],
              embeds: list[_Embed]) -> tuple[tuple[Relation, ...], list[_Embed]]:
        """The relations at the end of an embed path, and the resources embedded there."""
        for step in path:
            match = next((e for e in embeds if step in e.names), None)
            if match is None:
                return (), []  # not an embedded resource we saw
            target, embeds = match.target, match.children
        return target, embeds

    def path_column(self, value: JsValue, what: str, target: tuple[Relation, ...],
                    embeds: list[_Embed], prefix: Sequence[str] = (), *,
                    null_test: bool = False) -> None:
        from dbsafe.extract.fragment import SqlFragment

        if not isinstance(value, SqlFragment):
            self.not_literal(what, value)
            return
        try:
            column = parse_path(value.sql)
        except SelectError as exc:
            self.skip(f"{what} not read: {exc}")
            return
        name = column.name
        if column.cast_start >= 0:
            self.dropped_cast(value, column)
        resolved, here = self.level([*prefix, *column.path], target, embeds)
        if null_test and not column.json_path and (self.select_unknown or
                                                   _names_embed(name, here)):
            return  # `rel=not.is.null`: whether the embedded resource has rows
        self.column(name, resolved, value, column.start, column.end)

    def dropped_cast(self, value: SqlFragment, column: FilterPath) -> None:
        """DBS312: PostgREST reads a filter's column with `pTreePath`, which stops before a
        cast, and drops the cast (`P.parse` without `eof`): `created_at::date=eq.2024-05-01`
        compares `created_at` itself, `"t"."created_at" = $1`, with `$1` of type unknown that
        PostgreSQL reads as a timestamp at midnight (its issues #1409 and #2785)."""
        cast = value.sql[column.cast_start:column.cast_end + 1]
        shown = ".".join([*column.path, column.name])
        self.report(DROPPED_FILTER_CAST.code,
                    f"PostgREST drops the cast `{cast}` of the filtered column `{shown}`: the "
                    f"filter compares `{column.name}` as it is, uncast",
                    value.location(column.cast_start, column.cast_end), subject=shown,
                    help="Filter the column as it is: a range for a day of a timestamp, "
                         f"`.gte('{shown}', day).lt('{shown}', nextDay)`; or filter a "
                         "generated column, a view's column or a function (`.rpc()`) "
                         "holding the cast value.")

    def filter_column(self, call: PostgrestCall, target: tuple[Relation, ...],
                      embeds: list[_Embed]) -> None:
        if call.arguments:
            self.path_column(call.arguments[0], "the filtered column", target, embeds,
                             null_test=_null_test(call))

    def match(self, call: PostgrestCall, target: tuple[Relation, ...],
              embeds: list[_Embed]) -> None:
        from dbsafe.extract.javascript import JsObject

        query = call.arguments[0] if call.arguments else None
        if not isinstance(query, JsObject):
            self.not_literal("the `.match()` object", query)
            return
        for key in query.keys:
            self.path_column(key, "the filtered column", target, embeds)

    def referenced(self, call: PostgrestCall, index: int) -> tuple[list[str], bool]:
        """The embed path of `{referencedTable: 'a.b'}` (or `foreignTable`) in an option."""
        from dbsafe.extract.fragment import SqlFragment
        from dbsafe.extract.javascript import JsObject

        options = call.arguments[index] if len(call.arguments) > index else None
        if not isinstance(options, JsObject):
            return [], options is None
        for key in ("referencedTable", "foreignTable"):
            value = options.get(key)
            if value is None:
                continue
            if not isinstance(value, SqlFragment):
                return [], False
            return value.sql.split("."), True
        return [], options.complete

    def logic(self, call: PostgrestCall, target: tuple[Relation, ...],
              embeds: list[_Embed]) -> None:
        from dbsafe.extract.fragment import SqlFragment
        from dbsafe.extract.javascript import JsOther

        text = call.arguments[0] if call.arguments else None
        holes: list[int] = []
        if isinstance(text, JsOther) and text.template is not None:
            # `title.ilike.%${q}%,body.eq.${b}`: the names are literal text, the holes values.
            filled, holes = _filled(text.template, self.request.path)
            try:
                _logic_columns(filled.sql)
            except SelectError:
                pass
            else:
                text = filled
        if not isinstance(text, SqlFragment):
            self.not_literal("the `.or()` filter", text)
            return
        prefix, known = self.referenced(call, 1)
        if not known:
            return
        try:
            columns = _logic_columns(text.sql)
        except SelectError as exc:
            self.skip(f"`.or()` filter not read: {exc}")
            return
        resolved, here = self.level(prefix, target, embeds)
        for name, start, end, null_test in columns:
            if _touches_hole(start, end, holes):
                # A name a hole is part of (`${field}.eq.1`) is built at run time.
                self.not_literal("a column of the `.or()` filter", call.arguments[0])
                continue
            if null_test and (self.select_unknown or _names_embed(name, here)):
                continue  # `rel.not.is.null`: whether the embedded resource has rows
            self.column(name, resolved, text, start, end)

    def order(self, call: PostgrestCall, target: tuple[Relation, ...],
              embeds: list[_Embed]) -> None:
        from dbsafe.extract.fragment import SqlFragment

        text = call.arguments[0] if call.arguments else None
        if not isinstance(text, SqlFragment):
            self.not_literal("the ordered column", text)
            return
        prefix, known = self.referenced(call, 1)
        if not known:
            return
        resolved = self.resolve_path(prefix, target, embeds)
        try:
            terms = _order_terms(text.sql)
        except SelectError as exc:
            self.skip(f"order not read: {exc}")
            return
        for relation, name, start, end, relation_start in terms:
            if relation is None:
                self.column(name, resolved, text, start, end)
            else:
                # `order('clients(name)')`: a to-one embedded resource of this level, sorted by
                # a column its subquery outputs (`clients(n:name)` sorts by `clients(n)`).
                here = self.level(prefix, target, embeds)[1]
                embed = next((e for e in here if relation in e.names), None)
                if (embed is not None and embed.to_many is not None and len(resolved) == 1
                        and relation == embed.names[0]):
                    # PostgREST finds the embed by its alias, else its name (Plan.hs's
                    # addRelatedOrders), and refuses a to-many one.
                    self.related_order(embed, relation, resolved[0], text, relation_start)
                    continue
                if embed is not None and name in embed.outputs:
                    continue
                inner = self.resolve_path([*prefix, relation], target, embeds)
                self.column(name, inner, text, start, end)

    def payload(self, call: PostgrestCall, target: tuple[Relation, ...]) -> None:
        from dbsafe.extract.fragment import SqlFragment
        from dbsafe.extract.javascript import JsArray, JsObject

        values = call.arguments[0] if call.arguments else None
        rows = values.items if isinstance(values, JsArray) else (values,)
        for row in rows:
            if not isinstance(row, JsObject):
                self.not_literal(f"the `.{call.method}()` payload", row)
                continue
            if not row.complete:
                # Its literal keys are still sent, and still checked below.
                self.built_at_run_time(
                    f"the `.{call.method}()` payload has spread or computed keys")
            for key in row.keys:
                self.column(key.sql, target, key, 0, max(len(key.sql) - 1, 0), payload=True)
        if call.method == "upsert" and len(call.arguments) > 1:
            options = call.arguments[1]
            if isinstance(options, JsObject):
                conflict = options.get("onConflict")
                if isinstance(conflict, SqlFragment):
                    try:
                        columns = _column_list(conflict.sql)
                    except SelectError as exc:
                        self.skip(f"`onConflict` not read: {exc}")
                        columns = []
                    found = len(self.issues)
                    for name, start, end in columns:
                        self.column(name, target, conflict, start, end, payload=True)
                    if columns and len(self.issues) == found and len(target) == 1:
                        self.arbiter(target[0], [name for name, _, _ in columns], conflict)
                elif conflict is not None:
                    self.not_literal("`onConflict`", conflict)

    def arbiter(self, relation: Relation, columns: list[str], conflict: SqlFragment) -> None:
        """DBS308 unless a unique index PostgreSQL can infer as the arbiter of `ON CONFLICT
        (columns)` exists: unique, valid, not partial, not deferrable, on exactly those
        columns in any order (PostgREST sends `onConflict` as that column list). Only
        tables are judged: a view's upsert reaches its base table's indexes."""
        if relation.kind not in _TABLE_KINDS:
            return
        deferrable = {c.name for c in relation.constraints if " DEFERRABLE" in c.definition}
        # (an expression's text never equals a column list, nor can onConflict name one)
        usable = [i.columns for i in relation.indexes if i.unique and i.valid
                  and i.predicate is None and i.name not in deferrable
                  and all(relation.column(c) is not None for c in i.columns)]
        if any(set(index) == set(columns) for index in usable):
            return
        candidates = [", ".join(index) for index in usable]
        self.report(
            NO_CONFLICT_ARBITER.code,
            f"`{relation.name}` has no unique index or constraint on exactly "
            f"({', '.join(columns)}): PostgreSQL refuses `ON CONFLICT` without one",
            conflict.location(0, max(len(conflict.sql) - 1, 0)),
            subject=f"{relation.qualified_name}({','.join(columns)})",
            help=(f"Use the columns of a unique index ({'; '.join(candidates)}), or add"
                  if candidates else "Add")
                 + f" a unique constraint on ({', '.join(columns)}); a partial or deferrable "
                   "one cannot be used.")

    # -- rpc ---------------------------------------------------------------------------

    def returned_table(self, function: Function) -> Relation | None:
        """The table (or view) whose rows a function returns (`RETURNS SETOF t`, `RETURNS t`).

        PostgREST's funcTableName is the relation of the returned row type, of any kind: the
        result has a view's columns as it has a table's (an embed from a view's rows is left
        unknown, as for `.from()` of the view). An extension's relation is not described.
        """
        found = _returned_name(function.returns) if function.returns_composite else None
        if found is None:
            return None
        schema, name = found
        snapshot = self.graph.snapshot
        for candidate in (schema,) if schema else snapshot.search_path:
            relation = snapshot.relation(candidate, name)
            if relation is not None:
                return None if (relation.schema, relation.name) in \
                    self.graph.extension_relations else relation
        return None

    def rpc(self) -> None:
        from dbsafe.extract.javascript import JsObject

        request = self.request
        assert request.target is not None
        name = request.target.sql
        schema = request.schema.sql if request.schema is not None else DEFAULT_SCHEMA
        functions = [f for f in self.graph.functions.get(name, ()) if f.schema == schema]
        where = request.target.location(0, max(len(name) - 1, 0))
        arguments = request.calls[0].arguments
        # supabase-js sends `{}` when `.rpc('fn')` has no arguments.
        args = arguments[1] if len(arguments) > 1 else JsObject((), (), True)
        sent = _arguments_sent(args, arguments[2] if len(arguments) > 2 else None)
        if not functions:
            elsewhere = self.graph.functions.get(name)
            if elsewhere or schema not in self.graph.schemas:
                self.skip(f"function `{name}` is not in schema `{schema}` of the snapshot")
                return
            if ((schema, name) in self.graph.extension_functions
                    or schema in self.graph.unlisted_extension_schemas):
                self.skip(f"function `{name}` may be an extension's, in schema `{schema}`")
                return
            if (schema, name) in self.graph.range_constructors:
                self.skip(f"function `{schema}.{name}` constructs a range type's values, "
                          "which the snapshot does not list")
                return
            self.report(UNKNOWN_FUNCTION.code, f"no function `{name}` in schema `{schema}`",
                        where, subject=f"{schema}.{name}",
                        help="Call a function the schema defines (PostgREST looks it up by "
                             "name and argument names).", context=sent)
            return
        # PostgREST's schema cache holds functions only (`prokind = 'f'`): a procedure or an
        # aggregate is not found (PGRST202).
        callable_ = [f for f in functions if f.kind == "function"]
        if not callable_:
            kind = functions[0].kind
            self.report(UNKNOWN_FUNCTION.code,
                        f"`{schema}.{name}` is {'an' if kind[0] == 'a' else 'a'} {kind}, which "
                        "PostgREST cannot call", where, subject=f"{schema}.{name}",
                        help="PostgREST's rpc calls functions only: wrap it in a function "
                             "(PGRST202).")
            return
        functions = callable_
        if not isinstance(args, JsObject):
            self.not_literal("the `.rpc()` arguments", args)
            return
        names: set[str] = set()
        for function in functions:
            inputs = function.input_arguments
            # One unnamed parameter (json, jsonb, text, bytea, xml) takes the whole body.
            if any(not a.name for a in inputs):
                return
            names.update(a.name for a in inputs if a.name)
        unknown = [key for key in args.keys if key.sql not in names]
        for key in unknown:
            self.report(UNKNOWN_FUNCTION.code,
                        f"function `{schema}.{name}` has no argument `{key.sql}`",
                        key.location(0, max(len(key.sql) - 1, 0)),
                        subject=f"{schema}.{name}.{key.sql}",
                        help="Pass the function's argument names: "
                             + ", ".join(f"`{n}`" for n in sorted(names)) + ".",
                        context=sent)
        if not args.complete:
            # Its literal keys were checked; which arguments are sent is not known.
            self.built_at_run_time("the `.rpc()` arguments have spread or computed keys")
            return
        if unknown or args.bound:
            return  # keys may be added to a bound object before the call
        keys = {key.sql for key in args.keys}
        called = [f for f in functions if _takes(f, keys)]
        if len(called) > 1:
            # findProc matches by the names sent, never by types: two overloads taking them
            # (`f(s text)` and `f(s bytea)`, or `f()` and `f(x int DEFAULT 0)` called with
            # none) are PGRST203, HTTP 300.
            shown = "; ".join(f"`{schema}.{name}({f.identity_arguments})`" for f in called)
            self.report(AMBIGUOUS_FUNCTION.code,
                        f"PostgREST cannot choose between the overloads of `{schema}.{name}` "
                        "that take "
                        + (f"these arguments: {', '.join(f'`{k}`' for k in sorted(keys))}"
                           if keys else "no arguments")
                        + f" ({shown})", where, subject=f"{schema}.{name}",
                        help="Drop or rename one overload, or give its arguments other names "
                             "(PostgREST matches a function by the names of the arguments "
                             "sent, not their types).")
            return
        if len(called) == 1:
            # PostgREST reads the result of a function returning a table's rows as that
            # table (`funcTableName`): its select, filters and orders name its columns; so
            # do those of a function returning `TABLE(...)` or OUT parameters.
            table = self.returned_table(called[0]) or _result_relation(called[0])
            if table is not None:
                self.chain((table,))
        if called:
            return
        # PostgREST's findProc: an overload is called only when the keys are all of its
        # required arguments and some of its optional ones; else PGRST202.
        missing = sorted({a.name for f in functions for a in f.input_arguments
                          if a.name and not a.has_default and a.name not in keys})
        shown = ", ".join(f"`{m}`" for m in missing)
        self.report(UNKNOWN_FUNCTION.code,
                    f"no overload of `{schema}.{name}` takes "
                    + (f"these arguments: {', '.join(f'`{k}`' for k in sorted(keys))}"
                       if keys else "no arguments")
                    + (f" (missing {shown})" if missing else ""),
                    where, subject=f"{schema}.{name}",
                    help="Pass every argument without a default (PostgREST matches a function "
                         "by the names of the arguments sent).", context=sent)


# The kind of the relation `_result_relation` makes of a function's result.
_FUNCTION_RESULT = "function result"


def _result_relation(function: Function) -> Relation | None:
    """The rows a function returning `TABLE(...)` or OUT parameters gives, as a relation
    of its result columns (no keys, so nothing embeds in it); its `definition` is the FROM
    item that reads them: the overload called with NULL arguments of its types."""
    from dbsafe.schema.model import Relation

    if not function.result_columns or not (function.returns.startswith("TABLE(")
                                           or function.returns in ("record", "SETOF record")):
        return None
    name = _quote(function.name)
    arguments = ", ".join(f"NULL::{a.type}" for a in function.input_arguments)
    return Relation(function.schema, function.name, _FUNCTION_RESULT,
                    columns=function.result_columns,
                    definition=f"{_quote(function.schema)}.{name}({arguments}) AS {name}")


# Types format_type writes (less their modifiers and `[]`) that no row is implicitly cast to.
_SCALAR_TYPES = frozenset("""
    text integer bigint smallint boolean numeric real uuid json jsonb date interval bytea
    inet cidr macaddr name oid regclass tsvector tsquery money xml bit citext ltree
    """.split()) | {"character varying", "character", "double precision",
                  "timestamp with time zone", "timestamp without time zone",
                  "time with time zone", "time without time zone", "bit varying", '"char"'}
_TYPE_MODIFIERS = re.compile(r"\(\d+(?:,\d+)?\)|\[\]")


def _row_argument(function: Function) -> bool:
    """Whether `function` may be called with a row as its first argument: it takes one, of
    a type that is not a scalar (a row type, `record`, `anyelement`, a domain...).

    >>> from dbsafe.schema.model import Argument, Function
    >>> [_row_argument(Function("s", "f", arguments=a)) for a in [(),
    ...  (Argument(None, "character varying(20)[]"),), (Argument(None, "patients"),)]]
    [False, False, True]
    """
    inputs = function.input_arguments
    if not inputs:
        return False
    return _TYPE_MODIFIERS.sub("", inputs[0].type).strip() not in _SCALAR_TYPES


def _type_relation(text: str, snapshot: SchemaSnapshot) -> Relation | None:
    """The relation whose row type `text` (format_type: `patients`, `billing.invoices`,
    `"Users"`) names, found through the snapshot's search path when unqualified."""
    names = _identifiers(text)
    if names is None or len(names) > 2:
        return None
    if len(names) == 2:
        return snapshot.relation(names[0], names[1])
    for schema in snapshot.search_path:
        relation = snapshot.relation(schema, names[0])
        if relation is not None:
            return relation
    return None


def _identifiers(text: str) -> list[str] | None:
    """A dotted name of plain lower-case or double-quoted identifiers; None for anything else.

    >>> _identifiers('billing."My T"'), _identifiers("integer[]"), _identifiers("a b")
    (['billing', 'My T'], None, None)
    """
    names: list[str] = []
    i = 0
    while True:
        if text.startswith('"', i):
            end = i + 1
            chars: list[str] = []
            while True:
                close = text.find('"', end)
                if close == -1:
                    return None
                chars.append(text[end:close])
                if not text.startswith('"', close + 1):
                    break
                chars.append('"')
                end = close + 2
            names.append("".join(chars))
            i = close + 1
        else:
            match = _PLAIN_IDENTIFIER.match(text, i)
            if match is None:
                return None
            names.append(match.group())
            i = match.end()
        if i == len(text):
            return names
        if text[i] != ".":
            return None
        i += 1


_PLAIN_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_$]*")


def _returned_name(returns: str) -> tuple[str | None, str] | None:
    """`SETOF patients` or `billing.invoices` (pg_get_function_result) as (schema, name);
    None for anything else (a scalar, `TABLE(...)`, a quoted or array type).

    >>> _returned_name("SETOF billing.invoices"), _returned_name("TABLE(a integer)")
    (('billing', 'invoices'), None)
    """
    name = returns.removeprefix("SETOF ")
    if not name or any(c in name for c in '"()[] '):
        return None
    schema, _, table = name.rpartition(".")
    return (schema or None), table


def _outputs(items: Sequence[Item]) -> frozenset[str]:
    """Names of the columns an embedded resource's subquery outputs (PostgREST's `pgFmtAs`):
    an alias, else the field (and, leniently, each key of its JSON path) or the aggregate;
    a to-one spread inside it adds its own fields to the same subquery."""
    names: set[str] = set()
    for item in items:
        if item.kind == "spread":
            names |= _outputs(item.children)
        elif item.alias:
            names.add(item.alias)
        else:
            names.update((item.name, *item.json_keys))
            if item.aggregate:
                names.add(item.aggregate)
    return frozenset(names)


def _names_embed(name: str, embeds: Sequence[_Embed]) -> bool:
    """Whether a filter's field names a resource embedded at its level: by its alias when it
    has one, else by its name (PostgREST's `addNullEmbedFilters`)."""
    return any(e.names and e.names[0] == name for e in embeds)


def _null_test(call: PostgrestCall) -> bool:
    """Whether a filter call sends `is.null` or `not.is.null`, which on an embedded resource
    PostgREST reads as "has no rows" / "has rows" instead of a column filter."""
    from dbsafe.extract.fragment import SqlFragment
    from dbsafe.extract.javascript import JsOther

    def text(value: JsValue) -> str | None:
        if isinstance(value, SqlFragment):
            return value.sql
        if isinstance(value, JsOther) and value.label == "null":
            return "null"
        return None

    args = call.arguments
    # The filter value supabase-js puts in the query string for each method.
    parts: list[str | None]
    if call.method == "is" and len(args) == 2:
        parts = ["is", text(args[1])]
    elif call.method == "not" and len(args) == 3:
        parts = ["not", text(args[1]), text(args[2])]
    elif call.method == "filter" and len(args) == 3:
        parts = [text(args[1]), text(args[2])]
    else:
        return False
    if any(part is None for part in parts):
        return False
    return ".".join(p for p in parts if p is not None).lower() in ("is.null", "not.is.null")


# The title of the context a DBS306 of an `.rpc()` call holds when the names of all the
# arguments it sends are known: `made_outside` matches them against the overloads the
# project's `Database` types list (what production has).
ARGUMENTS_SENT = "Arguments sent"
_NO_ARGUMENTS = "none"


def _arguments_sent(args: JsValue, options: JsValue) -> tuple[tuple[str, str], ...]:
    """The `ARGUMENTS_SENT` context of an `.rpc(name, args, options)` call: none where the
    names it sends may be others than its literal keys (a spread, a computed key, an object
    bound to a name code may add keys to, not a literal) or it is sent as a GET or HEAD
    (`{ get: true }`: no JSON body, which an unnamed json parameter would take)."""
    from dbsafe.extract.javascript import JsObject

    if not isinstance(args, JsObject) or not args.complete or args.bound:
        return ()
    if options is not None and (not isinstance(options, JsObject) or not options.complete
                                or {k.sql for k in options.keys} & {"get", "head"}):
        return ()
    names = sorted({key.sql for key in args.keys})
    if any("`" in name for name in names):
        return ()
    return ((ARGUMENTS_SENT, ", ".join(f"`{n}`" for n in names) or _NO_ARGUMENTS),)


def arguments_sent(finding: Finding) -> frozenset[str] | None:
    """The names of the arguments an `.rpc()` call a DBS306 is about sends, when known.

    >>> context = ((ARGUMENTS_SENT, "`a`, `b`"),)
    >>> sorted(arguments_sent(Finding("DBS306", "m", Severity.ERROR, context=context)))
    ['a', 'b']
    >>> arguments_sent(Finding("DBS306", "m", Severity.ERROR,
    ...                        context=((ARGUMENTS_SENT, _NO_ARGUMENTS),)))
    frozenset()
    >>> arguments_sent(Finding("DBS306", "m", Severity.ERROR)) is None
    True
    """
    body = next((text for title, text in finding.context if title == ARGUMENTS_SENT), None)
    if body is None:
        return None
    if body == _NO_ARGUMENTS:
        return frozenset()
    return frozenset(name.strip("`") for name in body.split("`, `"))


def _takes(function: Function, keys: set[str]) -> bool:
    """Whether PostgREST calls `function` with these argument names (`matchesParams`)."""
    inputs = function.input_arguments
    required = {a.name for a in inputs if a.name and not a.has_default}
    optional = {a.name for a in inputs if a.name and a.has_default}
    return keys - optional == required


def check(request: PostgrestRequest, snapshot: SchemaSnapshot,
          exposed: ExposedSchemas | None = None) -> Checked:
    """Check one PostgREST request against `snapshot`; see the module docstring.

    `exposed`: the schemas the project's PostgREST serves (`exposed_schemas`), when known.

    An argument that may be one of several strings the code shows (`.select(full ? 'a, b'
    : 'a')`, `JsOther.options`) is checked as each: the request once with each of them
    (with each combination, `_VARIANTS` at most; past that it stays not a literal), but for
    combinations the code cannot make: strings chosen by one name's value are sent
    together only when they agree on it (`.from(TABLES[kind])` with `.select(kind ===
    'post' ? 'id, body' : 'id')` sends `body` only to `TABLES.post`; `Guard`). What
    the call holding it names is reported for each string; what any other call names only
    when it is missing whichever string is sent (`.eq('rel.x', 1)` names an embedded
    resource one of the selects may lack, and the code may filter on it only with that
    select).
    """
    variants = _variants(request)
    if variants is None:
        return _Checker(request, snapshot, exposed).run()
    chosen, requests = variants
    results = [_Checker(r, snapshot, exposed).run() for r in requests]
    issues: dict[tuple[object, ...], Issue] = {}
    everywhere: set[tuple[object, ...]] = set()
    for number, result in enumerate(results):
        keys: set[tuple[object, ...]] = set()
        for issue in result.issues:
            finding = issue.finding
            # a note that a string is not a literal is one, whichever table goes with it
            subject = None if finding.code == _DYNAMIC else finding.subject
            issues.setdefault((finding.code, finding.location, subject, finding.message),
                              issue)
            if issue.call not in chosen and finding.code != _DYNAMIC:
                # missing from `posts` and from `authors` alike is one finding
                keys.add((finding.code, finding.location))
        everywhere = keys if number == 0 else everywhere & keys
    kept: list[Issue] = []
    for issue in issues.values():
        where = (issue.finding.code, issue.finding.location)
        if issue.call in chosen or issue.finding.code == _DYNAMIC:
            kept.append(issue)
        elif where in everywhere:
            kept.append(issue)
            everywhere.discard(where)
    status = next((s for s in ("dynamic", "not_analysed") if any(r.status == s for r in results)),
                  "analysed")
    reason = next((r.reason for r in results if r.status == status and r.reason), None)
    return Checked(status, tuple(kept), reason)


_VARIANTS = 16


def _variants(request: PostgrestRequest) -> tuple[set[int], list[PostgrestRequest]] | None:
    """The requests `request` may be, one for each string each of its choosing arguments
    may be (see `check`), and the indexes of the calls holding them; None when it has no
    such argument, or more than `_VARIANTS` combinations of them."""
    from dataclasses import replace

    from dbsafe.extract.javascript import Guard, JsOther, guards_agree

    choices = [(index, position, argument.options,
                argument.guards or ((),) * len(argument.options))
               for index, call in enumerate(request.calls)
               for position, argument in enumerate(call.arguments)
               if isinstance(argument, JsOther) and argument.options]
    if not choices:
        return None
    count = 1
    for _, _, options, _ in choices:
        count *= len(options)
    if count > _VARIANTS:
        return None
    variants: list[tuple[PostgrestRequest, Guard]] = [(request, ())]
    for index, position, options, guards in choices:
        made = []
        for variant, held in variants:
            for option, guard in zip(options, guards):
                # `.from(TABLES[kind]).select(kind === 'post' ? 'id, body' : 'id')` is never
                # sent with `body` on a table other than `TABLES.post`
                joined = guards_agree(held, guard)
                if joined is None:
                    continue
                calls = list(variant.calls)
                arguments = list(calls[index].arguments)
                arguments[position] = option
                calls[index] = replace(calls[index], arguments=tuple(arguments))
                changed = replace(variant, calls=tuple(calls))
                if index == 0 and position == 0 and request.kind in ("from", "rpc"):
                    changed = replace(changed, target=option, dynamic=None)
                made.append((changed, joined))
        variants = made
    if not variants:
        return None
    return {index for index, _, _, _ in choices}, [variant for variant, _ in variants]


def _related(graph: _Graph, origin: Relation, name: str, hint: str | None, *,
             any_schema: bool = False) -> Iterator[Relation]:
    """Relations PostgREST's findRel could pick for `origin?select=name!hint(...)`.

    Lenient where PostgREST is strict (a many-to-many junction's columns need not be its
    primary key here, self-relationships match in both directions): a looser match can only
    silence a finding, never invent one. Strict on one thing: the related table is in the
    origin's schema, the request's. PostgREST looks relationships up by the origin and the
    request's schema (`findRel`), and drops those to a table of a schema it does not expose
    (`removeInternal`): a foreign key to `auth.users` relates no table of `public` to it,
    so `select('profiles:changed_by(full_name)')` is PGRST200, whatever `auth.users` holds.
    `any_schema`: those of other schemas too (what the finding's help names).
    """
    def here(related: Relation) -> bool:
        return any_schema or related.schema == origin.schema

    for fk in graph.outgoing.get(id(origin), ()):  # many-to-one (or one-to-one)
        if here(fk.referenced) and _matches(fk, fk.referenced, name, hint):
            yield fk.referenced
    for fk in graph.incoming.get(id(origin), ()):  # one-to-many
        if here(fk.table) and _matches(fk, fk.table, name, hint):
            yield fk.table
    for first in graph.incoming.get(id(origin), ()):  # many-to-many through a junction
        junction = first.table
        for second in graph.outgoing.get(id(junction), ()):
            if second is first or second.referenced.name != name or not here(second.referenced):
                continue
            if hint is None or hint == junction.name:
                yield second.referenced


def _through_view(graph: _Graph, origin: Sequence[Relation], name: str,
                  hint: str | None) -> bool:
    """Whether PostgREST may relate `origin` and `name` through a view as the junction of a
    many-to-many relationship (it infers a view's foreign keys from the tables it reads).

    `rel!view(...)` names one; without a hint, any view reading tables related to both
    (or being them) may be one. Not modelled further: such an embed is left unchecked.
    A table of another schema than the origin's is none PostgREST relates it to (`_related`).
    """
    schemas = {o.schema for o in origin}
    targets = [t for t in graph.by_name.get(name, ()) if t.schema in schemas]
    if not targets:
        return False
    views = [r for r in graph.snapshot.relations if r.kind not in _TABLE_KINDS]
    if hint is not None:
        return any(v.name == hint for v in views)

    def bases(view: Relation) -> list[Relation]:
        found: dict[int, Relation] = {}
        stack, seen = [view], {id(view)}
        while stack:
            for dependency in stack.pop().depends_on:
                schema, _, table = dependency.partition(".")
                relation = graph.snapshot.relation(schema, table)
                if relation is None or id(relation) in seen:
                    continue
                seen.add(id(relation))
                if relation.kind in _TABLE_KINDS:
                    found[id(relation)] = relation
                else:
                    stack.append(relation)
        return list(found.values())

    def related(tables: list[Relation], others: Sequence[Relation]) -> bool:
        ids = {id(o) for o in others}
        return any(id(t) in ids
                   or any(id(fk.referenced) in ids for fk in graph.outgoing.get(id(t), ()))
                   or any(id(fk.table) in ids for fk in graph.incoming.get(id(t), ()))
                   for t in tables)

    for view in views:
        read = bases(view)
        if related(read, origin) and related(read, targets):
            return True
    return False


@dataclass(frozen=True, slots=True)
class _Rel:
    """A relationship PostgREST's schema cache certainly holds for an origin table.

    `pairs` are (origin column, other column); for many-to-many, the junction's columns
    referencing the origin and the other table.
    """

    cardinality: str  # "many-to-one" | "one-to-many" | "one-to-one" | "many-to-many"
    constraint: str
    pairs: tuple[tuple[str, str], ...]
    other: Relation
    junction: Relation | None = None
    second: str = ""  # many-to-many: the junction's constraint to `other`
    second_pairs: tuple[tuple[str, str], ...] = ()
    is_self: bool = False

    @property
    def hint(self) -> str:
        # PostgREST's relHint: the junction for many-to-many, else the constraint.
        return self.junction.name if self.junction is not None else self.constraint

    def describe(self, origin: Relation) -> str:
        """As PostgREST's error details put it (`compressedRel`)."""
        def columns(cols: Sequence[str]) -> str:
            return "(" + ", ".join(cols) + ")"

        if self.junction is not None:
            return (f"{self.cardinality}: {self.junction.name} using {self.constraint}"
                    f"{columns([j for _, j in self.pairs])} and {self.second}"
                    f"{columns([j for j, _ in self.second_pairs])}")
        return (f"{self.cardinality}: {self.constraint} using {origin.name}"
                f"{columns([o for o, _ in self.pairs])} and {self.other.name}"
                f"{columns([t for _, t in self.pairs])}")


def _one_to_one(fk: _ForeignKey) -> bool:
    """The foreign-key columns are exactly a primary key or unique constraint's columns."""
    columns = set(fk.columns)
    return any(c.kind in ("primary_key", "unique") and set(c.columns) == columns
               for c in fk.table.constraints)


def _plain_table(relation: Relation, schema: str) -> bool:
    # Partitions are not in PostgREST's cache (nor foreign keys cloned onto them); views'
    # relationships are inferred from their definitions, which is not modelled.
    return (relation.kind in _TABLE_KINDS and relation.partition_of is None
            and relation.schema == schema)


def _relationships(graph: _Graph, origin: Relation) -> list[_Rel]:
    """The relationships of `origin` PostgREST certainly has (`SchemaCache.hs`).

    Strict where `_related` is lenient: only tables of the origin's schema (PostgREST looks
    relationships up within the request's schema), many-to-many only through a junction
    whose two many-to-one foreign keys are both inside its primary key (`addM2MRels`).
    Used to prove ambiguity, so each relationship listed must exist in PostgREST's cache;
    one left out can only hide an ambiguity, never invent one.
    """
    schema = origin.schema
    if not _plain_table(origin, schema):
        return []
    found: list[_Rel] = []
    for fk in graph.outgoing.get(id(origin), ()):
        if _plain_table(fk.referenced, schema):
            found.append(_Rel("one-to-one" if _one_to_one(fk) else "many-to-one", fk.name,
                              tuple(zip(fk.columns, fk.referenced_columns)), fk.referenced,
                              is_self=fk.referenced is origin))
    for fk in graph.incoming.get(id(origin), ()):
        if _plain_table(fk.table, schema):
            found.append(_Rel("one-to-one" if _one_to_one(fk) else "one-to-many", fk.name,
                              tuple(zip(fk.referenced_columns, fk.columns)), fk.table,
                              is_self=fk.table is origin))
    for first in graph.incoming.get(id(origin), ()):
        junction = first.table
        if not _plain_table(junction, schema) or _one_to_one(first):
            continue
        key = next((set(c.columns) for c in junction.constraints if c.kind == "primary_key"),
                   set())
        for second in graph.outgoing.get(id(junction), ()):
            if (second.name == first.name or _one_to_one(second)
                    or not _plain_table(second.referenced, schema)
                    or not set(first.columns) | set(second.columns) <= key):
                continue
            found.append(_Rel("many-to-many", first.name,
                              tuple(zip(first.referenced_columns, first.columns)),
                              second.referenced, junction, second.name,
                              tuple(zip(second.columns, second.referenced_columns)),
                              is_self=second.referenced is origin))
    return found


def _find_rel(relationships: Sequence[_Rel], target: str, hint: str | None) -> list[_Rel]:
    """PostgREST's `findRel` filter (`Plan.hs`): the relationships `target!hint` matches.

    More than one is PGRST201 (ambiguous); PostgREST then fails the request.
    """
    def single(rel: _Rel, side: int) -> str | None:
        if rel.junction is not None or len(rel.pairs) != 1:
            return None
        return rel.pairs[0][side]

    matched: list[_Rel] = []
    for rel in relationships:
        by_name = rel.other.name == target
        if rel.is_self:
            # One foreign key, two relationships: the table name picks one-to-many, the
            # column many-to-one; a hint names the referencing column of one-to-many.
            if hint is None:
                ok = (by_name and rel.cardinality == "one-to-many") or (
                    rel.cardinality == "many-to-one" and single(rel, 0) == target)
            else:
                ok = by_name and rel.cardinality == "one-to-many" and single(rel, 1) == hint
        elif hint is None:
            ok = by_name or (rel.junction is None and rel.constraint == target) \
                or single(rel, 0) == target
        else:
            ok = by_name and (
                (rel.junction is None and rel.constraint == hint)
                or single(rel, 0) == hint or single(rel, 1) == hint
                or (rel.junction is not None and rel.junction.name == hint))
        if ok:
            matched.append(rel)
    return matched


def _matches(fk: _ForeignKey, other: Relation, name: str, hint: str | None) -> bool:
    columns = (*fk.columns, *fk.referenced_columns)
    if hint is None:
        single = len(fk.columns) == 1 and name in columns
        return other.name == name or fk.name == name or single
    return other.name == name and (
        hint == fk.name or (len(fk.columns) == 1 and hint in columns))


def _logic_columns(text: str) -> list[tuple[str, int, int, bool]]:
    """The columns of an `or`/`and` filter string: `a.eq.1,and(b.gt.2,c.is.null)`, each with
    whether its condition is `[not.]is.null` on the field itself (no JSON path).

    >>> _logic_columns('name.eq."a,b",not.and(age.gt.3,id.not.in.(1,2)),x->>k.eq.1')
    [('name', 0, 3, False), ('age', 22, 24, False), ('id', 31, 32, False), ('x', 48, 48, False)]
    >>> _logic_columns('rel.not.is.null,id.is.NULL,data->k.is.null')
    [('rel', 0, 2, True), ('id', 16, 17, True), ('data', 27, 30, False)]
    """
    found: list[tuple[str, int, int, bool]] = []
    parser = _SelectParser(text, list(range(len(text))))

    def tree() -> None:
        for op in ("and(", "or(", "not.and(", "not.or("):
            if parser.peek(op):
                parser.i += len(op)
                tree()
                while parser.peek(","):
                    parser.i += 1
                    tree()
                parser.expect(")")
                return
        name, begin, end = parser.field_name()
        json_path = parser.json_path()
        parser.expect(".")
        condition = parser.i
        if parser.peek("not."):
            parser.i += 4
        if parser.peek("in.("):
            close = text.find(")", parser.i)
            if close == -1:
                raise SelectError("unclosed in.(")
            parser.i = close + 1
            found.append((name, begin, end, False))
            return
        # operator, then a value: quoted, a {array}, or anything up to `,` or `)`
        while parser.i < len(text) and text[parser.i] != ".":
            parser.i += 1
        parser.expect(".")
        if parser.peek('"'):
            parser.field_name()
        elif parser.peek("{"):
            close = text.find("}", parser.i)
            parser.i = len(text) if close == -1 else close + 1
        else:
            while parser.i < len(text) and text[parser.i] not in ",)":
                parser.i += 1
        null_test = text[condition:parser.i].lower() in ("is.null", "not.is.null")
        found.append((name, begin, end, null_test and not json_path))

    tree()
    while parser.peek(","):
        parser.i += 1
        tree()
    if parser.i != len(text):
        raise SelectError(f"unexpected {text[parser.i]!r}")
    return found


def _column_list(text: str) -> list[tuple[str, int, int]]:
    """The columns of an `on_conflict` (or `columns`) parameter, PostgREST's `pColumns`:
    names, plain or double-quoted, separated by commas.

    >>> _column_list('id, "Full Name",email')
    [('id', 0, 1), ('Full Name', 5, 13), ('email', 16, 20)]
    """
    found: list[tuple[str, int, int]] = []
    parser = _SelectParser(text, list(range(len(text))))
    while True:
        while parser.peek(" ") or parser.peek("\t"):
            parser.i += 1
        name, start, end = parser.field_name()
        if text[start] == '"':  # the name inside the quotes
            start, end = start + 1, end - 1
        else:  # a plain name: its spaces are stripped
            start += len(text[start:end + 1]) - len(text[start:end + 1].lstrip())
            end = start + len(name) - 1
        found.append((name, start, end))
        while parser.peek(" ") or parser.peek("\t"):
            parser.i += 1
        if not parser.peek(","):
            break
        parser.i += 1
    if parser.i != len(text):
        raise SelectError(f"unexpected {text[parser.i]!r}")
    return found


def _filled(template: Template, path: str) -> tuple[SqlFragment, list[int]]:
    """A template's text with each hole a one-letter value, mapped to the file, and the
    offsets of those letters.

    >>> from dbsafe.extract.holes import Hole, Template
    >>> t = Template("a.eq.,b.gt.", ((0, 1, 2), (5, 1, 12)), (Hole(5, 1, 7, "${x}"),))
    >>> fragment, holes = _filled(t, "a.ts")
    >>> fragment.sql, holes, fragment.position(7)
    ('a.eq.x,b.gt.', [5], (1, 13))
    """
    from dbsafe.extract.fragment import SqlFragment

    text, spans, holes = template.text, list(template.spans), []
    for index, hole in enumerate(sorted(template.holes, key=lambda h: h.offset)):
        holes.append(hole.offset + index)
    for hole in sorted(template.holes, key=lambda h: h.offset, reverse=True):
        text = text[:hole.offset] + "x" + text[hole.offset:]
    shifted = [(offset + sum(1 for h in template.holes if h.offset <= offset), line, column)
               for offset, line, column in spans]
    shifted += [(at, hole.line, hole.column) for at, hole in
                zip(holes, sorted(template.holes, key=lambda h: h.offset))]
    return SqlFragment(path, text, tuple(sorted(shifted)), origin="js"), holes


def _touches_hole(start: int, end: int, holes: Sequence[int]) -> bool:
    """Whether a name at `start`..`end` of a filled template (`_filled`) runs into one of
    its holes: `${field}.eq.1` names a column built at run time."""
    return any(start - 1 <= hole <= end + 1 for hole in holes)


_REALTIME_PUBLICATION = "supabase_realtime"  # the publication Supabase's Realtime reads


def _publishes(publication: Publication, relation: Relation, snapshot: SchemaSnapshot) -> bool:
    """Whether `publication` carries `relation`'s changes: all tables, its schema's, its
    own, or an ancestor's (a partition's parent, a parent it inherits from: added without
    ONLY, which the snapshot does not tell, so taken to include it). Views carry none."""
    if relation.kind not in _TABLE_KINDS:
        return False
    if publication.all_tables:
        return True
    seen: set[str] = set()
    todo = [relation]
    while todo:
        current = todo.pop()
        if current.qualified_name in seen:
            continue
        seen.add(current.qualified_name)
        if current.qualified_name in publication.tables or \
                current.schema in publication.schemas:
            return True
        for parent in (current.partition_of, *current.inherits):
            if parent:
                schema, _, table = parent.partition(".")
                found = snapshot.relation(schema, table)
                if found is not None:
                    todo.append(found)
    return False


def _realtime_filter_columns(text: str) -> list[tuple[str, int, int]]:
    """The column of each condition of a Realtime filter, with its span: conditions are
    `column=operator.value`, joined by commas outside parentheses and double quotes.

    >>> _realtime_filter_columns('room_id=eq.1,status=not.in.(a,"b,c")')
    [('room_id', 0, 6), ('status', 13, 18)]
    >>> _realtime_filter_columns('eq.1')
    Traceback (most recent call last):
    ...
    dbsafe.validate.postgrest.SelectError: a condition without `column=`: eq.1
    """
    columns: list[tuple[str, int, int]] = []
    start, depth, quoted = 0, 0, False
    for at, char in enumerate(text + ","):
        if char == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            condition = text[start:at]
            name, equals, _ = condition.partition("=")
            column = name.strip()
            if not equals or not column or any(c in column for c in '().,"'):
                raise SelectError(f"a condition without `column=`: {condition}")
            first = start + condition.index(column)
            columns.append((column, first, first + len(column) - 1))
            start = at + 1
    return columns


def _order_terms(text: str) -> list[tuple[str | None, str, int, int, int]]:
    """The terms of an order string: `name,clients(name).desc` (direction suffixes allowed):
    (relation, column, column start, column end, relation start).

    >>> _order_terms("created_at, clients(name)")
    [(None, 'created_at', 0, 9, -1), ('clients', 'name', 20, 23, 12)]
    """
    terms: list[tuple[str | None, str, int, int, int]] = []
    parser = _SelectParser(text, list(range(len(text))))
    while True:
        while parser.peek(" "):
            parser.i += 1
        first, start, end = parser.field_name()
        relation: str | None = None
        relation_start = -1
        if parser.peek("("):
            parser.i += 1
            relation, relation_start = first, start
            first, start, end = parser.field_name()
            parser.json_path()
            parser.expect(")")
        else:
            parser.json_path()
        for suffix in (".asc", ".desc", ".nullsfirst", ".nullslast"):
            if parser.peek(suffix):
                parser.i += len(suffix)
        name = first.strip()
        start += len(text[start:end + 1]) - len(text[start:end + 1].lstrip())
        terms.append((relation, name, start, start + len(name) - 1, relation_start))
        while parser.peek(" "):
            parser.i += 1
        if not parser.peek(","):
            break
        parser.i += 1
    if parser.i != len(text):
        raise SelectError(f"unexpected {text[parser.i]!r}")
    return terms


def _comment(path: str) -> str:
    """How a line comment starts in the file a request is in (supabase-py's: Python)."""
    return "#" if path.endswith(".py") else "//"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
