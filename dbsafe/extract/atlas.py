"""Atlas projects (atlasgo.io): what an `atlas.hcl` says the schema is.

An Atlas project file declares, per `env "NAME" { ... }` block, the desired schema (`src`,
or `schema { src = ... }` in Atlas's newer syntax: a `file://` URL of a SQL or HCL file or
folder, or a list of them) and the migration directory (`migration { dir = "file://..." }`,
Atlas's own format, `.sql` files with their `atlas.sum`, or another tool's named by
`?format=`). dbsafe reads both to find the project's schema without being told.

The file is HCL (HashiCorp's configuration language). No maintained HCL2 reader for Python
comes with dbsafe's dependencies (`python-hcl2` brings `lark` for a grammar of which dbsafe
needs two attributes), so `read_atlas_hcl` is a small reader of HCL's native syntax:
blocks, labels, attributes, comments (`#`, `//`, `/* */`), strings with their escapes,
heredocs, lists and any expression. It keeps the value of an attribute only where it is a
string literal or a list of string literals; any other expression (`var.url`,
`getenv("X")`, `data.external_schema.app.url`, a string with `${...}` in it) is kept as
the text written, marked as not a literal: dbsafe does not evaluate Atlas's variables,
functions or data sources.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from dbsafe.core import SourceError

ATLAS_HCL = "atlas.hcl"

# The env Atlas's own documentation and `atlas` projects use for a developer's machine,
# preferred in this order when the file declares several.
PREFERRED_ENVS = ("local", "dev")

# Database URL schemes (`url`, `dev`) that say an env is not PostgreSQL's; anything else
# (postgres://, docker://postgres/..., a variable) does not say no.
_NOT_POSTGRESQL = ("mysql", "maria", "mariadb", "sqlite", "sqlite3", "libsql", "sqlserver",
                   "mssql", "clickhouse", "spanner", "oracle", "redshift", "snowflake",
                   "databricks", "cockroach", "tidb")


@dataclass(frozen=True, slots=True)
class Value:
    """An attribute's value: `strings` when it is a string literal or a list of them,
    else None and `text` holds the expression as written."""

    text: str
    strings: tuple[str, ...] | None = None


@dataclass(slots=True)
class Block:
    """An HCL block: its type, labels, attributes and the blocks inside it."""

    type: str
    labels: tuple[str, ...] = ()
    attributes: dict[str, Value] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)
    line: int = 1

    def block(self, type_: str) -> Block | None:
        return next((b for b in self.blocks if b.type == type_), None)


@dataclass(frozen=True, slots=True)
class AtlasEnv:
    """One `env` block of an atlas.hcl, as dbsafe reads it.

    `src`: the desired schema's URLs as written when they are literals, else None with
    `src_text` the expression (None when the env names no schema); `migration_dir`: the
    migration directory's URL, when a literal.
    """

    name: str
    src: tuple[str, ...] | None
    src_text: str | None
    migration_dir: str | None
    for_postgresql: bool


class HclError(SourceError):
    """An atlas.hcl this reader cannot read (`line` is 1-based)."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


_TOKEN = re.compile(r"""
      (?P<newline>\n)
    | (?P<space>[ \t\r]+)
    | (?P<comment>\#[^\n]*|//[^\n]*|/\*.*?\*/)
    | (?P<heredoc><<-?(?P<tag>[A-Za-z_][A-Za-z0-9_-]*)[ \t]*\n)
    | (?P<quote>")
    | (?P<ident>[A-Za-z_][A-Za-z0-9_-]*)
    | (?P<number>[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)
    | (?P<open>[{\[(])
    | (?P<close>[}\])])
    | (?P<punct>=>|==|!=|<=|>=|&&|\|\||\.\.\.|[=,.:?!<>+\-*/%])
""", re.VERBOSE | re.DOTALL)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # newline, string, ident, number, open, close, punct, heredoc
    text: str  # as written
    value: str | None  # a string's value when it is a literal (no `${`/`%{`)
    line: int
    start: int = 0  # offsets in the file's text
    end: int = 0


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos, line = 0, 1
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise HclError(f"unexpected {text[pos]!r}", line)
        kind = match.lastgroup if match.lastgroup != "tag" else "heredoc"
        if match.group("heredoc") is not None:
            kind = "heredoc"
        start = line
        if kind == "quote":
            end, value = _string(text, match.end(), line)
            tokens.append(_Token("string", text[pos:end], value, start, pos, end))
            line += text.count("\n", pos, end)
            pos = end
            continue
        if kind == "heredoc":
            tag = match.group("tag")
            closing = re.compile(rf"^[ \t]*{re.escape(tag)}[ \t]*$", re.MULTILINE)
            end_match = closing.search(text, match.end())
            if end_match is None:
                raise HclError(f"heredoc <<{tag} is not closed", line)
            end = end_match.end()
            tokens.append(_Token("heredoc", text[pos:end], None, start, pos, end))
            line += text.count("\n", pos, end)
            pos = end
            continue
        if kind == "comment":
            line += match.group().count("\n")
        elif kind == "newline":
            tokens.append(_Token("newline", "\n", None, line, pos, pos + 1))
            line += 1
        elif kind != "space":
            tokens.append(_Token(kind or "", match.group(), None, line, pos, match.end()))
        pos = match.end()
    return tokens


def _string(text: str, pos: int, line: int) -> tuple[int, str | None]:
    """The end of the string whose opening quote ends at `pos`, and its value (None when it
    holds a template, `${...}` or `%{...}`: an expression dbsafe does not evaluate)."""
    out: list[str] = []
    literal = True
    while pos < len(text):
        char = text[pos]
        if char == '"':
            return pos + 1, "".join(out) if literal else None
        if char == "\n":
            break
        if char == "\\" and pos + 1 < len(text):
            out.append(_ESCAPES.get(text[pos + 1], text[pos + 1]))
            pos += 2
            continue
        if char in "$%" and text.startswith(char * 2 + "{", pos):  # `$${`: a literal `${`
            out.append(char + "{")
            pos += 3
            continue
        if char in "$%" and text.startswith("{", pos + 1):
            literal = False
            pos = _template_end(text, pos + 2, line)
            continue
        out.append(char)
        pos += 1
    raise HclError("string is not closed", line)


def _template_end(text: str, pos: int, line: int) -> int:
    """The position after the `}` closing a template interpolation opened before `pos`."""
    depth = 1
    while pos < len(text):
        char = text[pos]
        if char == '"':
            pos, _ = _string(text, pos + 1, line)
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return pos + 1
        pos += 1
    raise HclError("template interpolation is not closed", line)


def parse_hcl(text: str) -> Block:
    """The body of an HCL file as a `Block` of type "" holding its attributes and blocks.

    Example:
        >>> body = parse_hcl('env "local" {\\n  src = ["file://a.sql", "file://b.sql"]\\n'
        ...                  '  url = var.url # the database\\n}\\n')
        >>> env = body.blocks[0]
        >>> env.type, env.labels, env.attributes["src"].strings, env.attributes["url"]
        ('env', ('local',), ('file://a.sql', 'file://b.sql'), Value(text='var.url', strings=None))

    Raises:
        HclError: the text is not HCL's native syntax as this reader knows it.
    """
    tokens = _tokens(text)
    body, _ = _body(text, tokens, 0, top=True)
    return body


def _body(text: str, tokens: list[_Token], pos: int, *, top: bool, type_: str = "",
          labels: tuple[str, ...] = (), line: int = 1) -> tuple[Block, int]:
    block = Block(type_, labels, line=line)
    while pos < len(tokens):
        token = tokens[pos]
        if token.kind == "newline":
            pos += 1
            continue
        if token.kind == "close" and token.text == "}" and not top:
            return block, pos + 1
        if token.kind != "ident":
            raise HclError(f"expected an attribute or a block, found {token.text!r}", token.line)
        name = token.text
        pos += 1
        if pos < len(tokens) and tokens[pos].text == "=":
            value, pos = _expression(text, tokens, pos + 1)
            block.attributes[name] = value
            continue
        found: list[str] = []
        while pos < len(tokens) and tokens[pos].kind in ("string", "ident"):
            label = tokens[pos]
            if label.kind == "string" and label.value is None:
                raise HclError("a block label cannot be a template", label.line)
            found.append(label.value if label.kind == "string" else label.text)  # type: ignore[arg-type]
            pos += 1
        if pos >= len(tokens) or tokens[pos].text != "{":
            raise HclError(f"expected `=` or `{{` after {name!r}", token.line)
        inner, pos = _body(text, tokens, pos + 1, top=False, type_=name, labels=tuple(found),
                           line=token.line)
        block.blocks.append(inner)
    if not top:
        raise HclError(f"block {type_!r} is not closed", line)
    return block, pos


def _expression(source: str, tokens: list[_Token], pos: int) -> tuple[Value, int]:
    """The expression from `pos` to the end of its line (a newline inside brackets or
    parentheses continues it), and the position after it."""
    start = pos
    depth = 0
    while pos < len(tokens):
        token = tokens[pos]
        if token.kind == "open":
            depth += 1
        elif token.kind == "close":
            if depth == 0:
                break  # the `}` closing the block the attribute is in
            depth -= 1
        elif token.kind == "newline" and depth == 0:
            break
        pos += 1
    if depth:
        raise HclError("expression is not closed", tokens[start].line if start < len(tokens)
                       else 1)
    written = [t for t in tokens[start:pos] if t.kind != "newline"]
    if not written:
        raise HclError("attribute has no value", tokens[start - 1].line)
    text = source[written[0].start:written[-1].end]
    if len(written) == 1 and written[0].kind == "string" and written[0].value is not None:
        return Value(text, (written[0].value,)), pos
    if written[0].text == "[" and written[-1].text == "]":
        items = [t for t in written[1:-1] if t.text != ","]
        if all(t.kind == "string" and t.value is not None for t in items) and all(
                t.text == "," for t in written[2:-1:2]):
            return Value(text, tuple(t.value for t in items if t.value is not None)), pos
    return Value(text), pos


def read_atlas_hcl(path: Path) -> list[AtlasEnv]:
    """The `env` blocks of the atlas.hcl at `path`, in the file's order.

    A migration directory named by a top-level `migration` block (none in Atlas's own
    grammar, but harmless) is each env's that names none.

    Raises:
        HclError: the file cannot be read as HCL (its line is in the message).
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise HclError(f"cannot read {path}: {exc}", 1) from exc
    body = parse_hcl(text)
    top_dir = _migration_dir(body)
    envs = []
    for block in body.blocks:
        if block.type != "env":
            continue
        name = block.labels[0] if block.labels else block.attributes.get(
            "name", Value("")).text
        src = block.attributes.get("src")
        schema = block.block("schema")
        if src is None and schema is not None:
            src = schema.attributes.get("src")
        envs.append(AtlasEnv(
            name, src.strings if src is not None else None,
            src.text if src is not None else None,
            _migration_dir(block) or top_dir,
            not any(_not_postgresql(block.attributes.get(key)) for key in ("url", "dev"))))
    return envs


def _migration_dir(block: Block) -> str | None:
    migration = block.block("migration")
    value = migration.attributes.get("dir") if migration is not None else None
    return value.strings[0] if value is not None and value.strings is not None \
        and len(value.strings) == 1 else None


def _not_postgresql(value: Value | None) -> bool:
    """Whether a literal database URL names another database system than PostgreSQL."""
    if value is None or not value.strings:
        return False
    scheme, _, rest = value.strings[0].partition("://")
    if scheme == "docker":  # docker://postgres/15/dev, docker://mysql/8/dev
        scheme = rest.partition("/")[0]
    return scheme.partition("+")[0].lower() in _NOT_POSTGRESQL


def chosen_env(envs: list[AtlasEnv], wanted: str | None) -> AtlasEnv | None:
    """The env dbsafe reads: `wanted` (the `atlas-env` setting) when given, else the only
    one, else the one named as `PREFERRED_ENVS` says; None when several are declared and none
    is preferred (the caller says so), or there are none. Envs for another database system
    are left out unless wanted by name.

    Example:
        >>> envs = [AtlasEnv(n, ("file://s.sql",), '"file://s.sql"', None, True)
        ...         for n in ("prod", "local")]
        >>> chosen_env(envs, None).name, chosen_env(envs, "prod").name
        ('local', 'prod')
    """
    if wanted is not None:
        return next((env for env in envs if env.name == wanted), None)
    envs = [env for env in envs if env.for_postgresql]
    if len(envs) == 1:
        return envs[0]
    for name in PREFERRED_ENVS:
        if (env := next((e for e in envs if e.name == name), None)) is not None:
            return env
    return None


def file_url_path(url: str, base: Path) -> Path | None:
    """The path a `file://` URL names, relative to `base` (the atlas.hcl's folder), its
    query (`?format=golang-migrate`) left out; None for another scheme.

    Example:
        >>> file_url_path("file://migrations?format=goose", Path("/p")).as_posix()
        '/p/migrations'
        >>> file_url_path("file://./src/schema.sql", Path("/p")).as_posix()
        '/p/src/schema.sql'
        >>> file_url_path("ent://ent/schema", Path("/p")) is None
        True
    """
    if not url.startswith("file://"):
        return None
    path = url.removeprefix("file://").partition("?")[0]
    return Path(os.path.normpath(base / path)) if path else None


def is_hcl_schema(path: Path) -> bool:
    """Whether `path` is an Atlas HCL schema (`schema.hcl`, `schema.pg.hcl`) or a folder
    of them with no `.sql` file: a schema in Atlas's own language, which dbsafe cannot
    apply to PostgreSQL."""
    if path.is_dir():
        return next(path.glob("*.sql"), None) is None and next(path.glob("*.hcl"), None) \
            is not None
    return path.suffix == ".hcl"


def schema_files(path: Path) -> list[Path]:
    """The SQL files of a `src` path, in the order Atlas runs them on its dev database: the
    file itself, or a folder's `.sql` files (not its subfolders'), by name."""
    if path.is_dir():
        return sorted((p for p in path.glob("*.sql") if p.is_file()), key=lambda p: p.name)
    return [path]
