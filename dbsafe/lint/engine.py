"""The lint engine: parse migration statements, precompute shared facts, run the rules.

Rules stay tiny because the engine does the common work once per statement:

* parse each statement (PostgreSQL dialect) into a `Statement` holding both the sqlglot AST
  and the statement's words (from sqlglot's tokenizer), because sqlglot parses several
  important migration statements (`REINDEX`, `VACUUM`, `REFRESH MATERIALIZED VIEW`,
  `ALTER TABLE ... VALIDATE CONSTRAINT`, `ALTER TYPE ... ADD VALUE`, `DETACH PARTITION`)
  only as an opaque `exp.Command`;
* emit DBS001 for a statement dbsafe cannot analyse (parse error, or a `Command` of a kind
  no rule understands) — "could not be analysed" is a finding, never a silent pass;
* track the transaction state (alembic's BEGIN/COMMIT, `autocommit_block()`, explicit
  BEGIN/COMMIT in SQL files, a runner that wraps each file) and the relations created
  earlier in the same migration, which are exempt where the danger is to existing tables;
* select rules by code or prefix, apply severity overrides, and weigh findings on existing
  tables by their size when the database is known.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dbsafe.core import Finding, Location, RuleInfo, Severity

if TYPE_CHECKING:
    from sqlglot import exp

    from dbsafe.extract.migration import Migration
    from dbsafe.schema.model import SchemaSnapshot

UNPARSED = RuleInfo(
    code="DBS001",
    name="statement-not-analysed",
    summary="A migration statement could not be parsed, so no rule checked it.",
    default_severity=Severity.WARNING,
    since="0.1.0",
)

# Commands sqlglot leaves opaque that rules understand by their words; anything else that
# comes back as exp.Command is DBS001.
KNOWN_COMMANDS: tuple[tuple[str, ...], ...] = (
    ("REINDEX",),
    ("VACUUM",),
    ("CLUSTER",),
    ("REFRESH", "MATERIALIZED", "VIEW"),
    ("ALTER", "TYPE"),
    ("ALTER", "TABLE"),
    ("ALTER", "INDEX"),
    ("ALTER", "SEQUENCE"),
    ("ALTER", "VIEW"),
    ("ALTER", "MATERIALIZED", "VIEW"),
    ("GRANT",),
    ("REVOKE",),
    ("COMMENT",),
    ("ANALYZE",),
    ("SET",),
    ("RESET",),
    ("BEGIN",),
    ("START", "TRANSACTION"),
    ("COMMIT",),
    ("END",),
    ("ROLLBACK",),
    ("SELECT",),
    ("LOCK",),
    ("CREATE", "EXTENSION"),
    ("CREATE", "MATERIALIZED", "VIEW"),
    ("CREATE", "TRIGGER"),
    ("CREATE", "POLICY"),
    ("ALTER", "POLICY"),
    ("DROP", "POLICY"),
    ("DROP", "TRIGGER"),
    ("CREATE", "OR", "REPLACE", "TRIGGER"),
    ("CREATE", "TYPE"),
    ("CREATE", "DOMAIN"),
    ("ALTER", "DOMAIN"),
    ("NOTIFY",),
)


@dataclass(frozen=True, slots=True)
class Rule:
    """A lint rule: a module's docstring (its docs) plus a pure check function.

    `check` runs once per statement; `check_migration` (optional) once per migration, for
    rules about the migration as a whole (a missing downgrade, missing timeouts).
    """

    code: str
    name: str
    severity: Severity
    since: str
    doc: str
    check: Callable[[Statement, LintContext], Iterable[Finding]] | None = None
    check_migration: Callable[[LintContext], Iterable[Finding]] | None = None
    default_enabled: bool = True

    @property
    def summary(self) -> str:
        return self.doc.strip().splitlines()[0].strip()

    @property
    def info(self) -> RuleInfo:
        return RuleInfo(self.code, self.name, self.summary, self.severity, self.since)


@dataclass(slots=True)
class Statement:
    """One migration statement as rules see it."""

    sql: str
    location: Location
    index: int  # position in the migration
    in_transaction: bool  # runs inside a transaction block
    node: exp.Expression | None  # sqlglot AST; None if it did not parse
    generated: bool = False  # BEGIN/COMMIT emitted by alembic itself
    parse_error: str | None = None
    _words: tuple[str, ...] | None = None

    @property
    def words(self) -> tuple[str, ...]:
        """Upper-cased keywords and identifiers, in order (quoted identifiers keep case).

        Uses sqlglot's tokenizer, so comments and string contents never leak in.
        """
        if self._words is None:
            self._words = _words(self.sql)
        return self._words

    def starts_with(self, *words: str) -> bool:
        return self.words[: len(words)] == words

    def has_words(self, *words: str) -> bool:
        """True when `words` appear consecutively anywhere in the statement."""
        n = len(words)
        w = self.words
        return any(w[i : i + n] == words for i in range(len(w) - n + 1))

    @property
    def is_command(self) -> bool:
        from sqlglot import exp

        return self.node is None or isinstance(self.node, exp.Command)


@dataclass
class LintContext:
    """Facts about the migration being linted, shared by every rule."""

    migration: Migration
    statements: list[Statement]
    target_version: int = 150000  # server_version_num the migration will run on
    timeouts_managed: bool = False  # `dbsafe upgrade` will set lock/statement timeouts
    before: SchemaSnapshot | None = None  # the database before this migration, if known
    table_sizes: Mapping[str, tuple[int, float]] = field(default_factory=dict)  # name -> (bytes, rows)
    large_table_bytes: int = 10 * 1024 * 1024
    current: Statement | None = None
    _created: dict[int, frozenset[str]] = field(default_factory=dict)

    # -- facts -----------------------------------------------------------------------

    def created_before(self, name: str, statement: Statement | None = None) -> bool:
        """Was relation `name` (folded, optionally schema-qualified) created earlier here?"""
        statement = statement or self.current
        index = statement.index if statement is not None else len(self.statements)
        created = self._created_until(index)
        return name in created or name.rsplit(".", 1)[-1] in created

    def _created_until(self, index: int) -> frozenset[str]:
        # Built incrementally: rules ask for every statement in turn, and a migration can be
        # thousands of statements long (a whole rendered history).
        cached = self._created.get(index)
        if cached is None:
            start = max((i for i in self._created if i < index), default=0)
            names = set(self._created.get(start, frozenset()))
            for statement in self.statements[start:index]:
                names |= created_relations(statement)
            cached = self._created[index] = frozenset(names)
        return cached

    def later(self, statement: Statement | None = None) -> list[Statement]:
        statement = statement or self.current
        return self.statements[statement.index + 1 :] if statement else []

    def earlier(self, statement: Statement | None = None) -> list[Statement]:
        statement = statement or self.current
        return self.statements[: statement.index] if statement else []

    # -- findings --------------------------------------------------------------------

    def finding(self, rule: Rule, message: str, *, help: str | None = None,
                subject: str | None = None, statement: Statement | None = None,
                severity: Severity | None = None) -> Finding:
        statement = statement or self.current
        location = statement.location if statement else Location(self.migration.path, 1)
        context: tuple[tuple[str, str], ...] = ()
        if self.migration.revision:
            context += (("Revision", self.migration.revision),)
        if statement is not None and self.migration.kind == "alembic":
            # The SQL is not visible in the revision's Python: show what was rendered.
            context += (("Statement", _shorten(statement.sql)),)
        return Finding(rule.code, message, severity or rule.severity, location, subject,
                       help, context)


def _shorten(sql: str, limit: int = 300) -> str:
    text = " ".join(sql.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- parsing ---------------------------------------------------------------------------


def parse_migration(migration: Migration) -> list[Statement]:
    """Parse every statement and work out which run inside a transaction block."""
    from sqlglot.errors import SqlglotError

    statements: list[Statement] = []
    in_transaction = migration.starts_in_transaction
    for index, raw in enumerate(migration.statements):
        node = None
        error = None
        try:
            node = _parse_one(raw.sql)
            if node is None:
                error = "expected one statement"
        except (SqlglotError, RecursionError) as exc:
            error = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        statement = Statement(raw.sql, raw.location, index, in_transaction, node,
                              generated=raw.generated, parse_error=error)
        words = statement.words
        if words[:1] in (("BEGIN",), ("START",)) and not statement.has_words("ATOMIC"):
            in_transaction = True
            statement.in_transaction = True
        elif words[:1] in (("COMMIT",), ("END",), ("ROLLBACK",), ("ABORT",)):
            in_transaction = False
        statements.append(statement)
    return statements


def _parse_one(sql: str) -> exp.Expression | None:
    import sqlglot
    from sqlglot import exp

    parsed = [s for s in sqlglot.parse(sql, read="postgres") if s is not None]
    if len(parsed) != 1:
        return None
    node = parsed[0]
    if isinstance(node, exp.Command):
        # sqlglot does not know `CREATE MATERIALIZED VIEW ... WITH [NO] DATA`; the clause
        # changes nothing rules look at, so parse the statement without it.
        cut = _with_data_suffix(sql)
        if cut is not None:
            reparsed = [s for s in sqlglot.parse(sql[:cut], read="postgres") if s is not None]
            if len(reparsed) == 1 and not isinstance(reparsed[0], exp.Command):
                reparsed[0].meta["with_data"] = "NO" not in sql[cut:].upper()
                return reparsed[0]
    return node


def _with_data_suffix(sql: str) -> int | None:
    """Offset of a trailing `WITH [NO] DATA` in a CREATE MATERIALIZED VIEW/TABLE AS."""
    from sqlglot.dialects.postgres import Postgres
    from sqlglot.errors import TokenError

    try:
        tokens = [t for t in Postgres().tokenize(sql) if t.text != ";"]
    except TokenError:
        return None
    words = [t.text.upper() for t in tokens]
    if words[:1] != ["CREATE"] or "AS" not in words:
        return None
    for tail in (["WITH", "DATA"], ["WITH", "NO", "DATA"]):
        if words[-len(tail):] == tail:
            return tokens[-len(tail)].start
    return None


def _words(sql: str) -> tuple[str, ...]:
    from sqlglot.dialects.postgres import Postgres
    from sqlglot.errors import TokenError
    from sqlglot.tokens import TokenType

    try:
        tokens = Postgres().tokenize(sql)
    except (TokenError, RecursionError):
        return tuple(sql.upper().split())
    words: list[str] = []
    previous = None
    for token in tokens:
        if previous == TokenType.COMMAND and token.token_type == TokenType.STRING:
            # The tokenizer swallows the rest of a command (`REINDEX TABLE t`) as one
            # string token; its words are what rules need.
            words.extend(_words(token.text))
            previous = token.token_type
            continue
        previous = token.token_type
        if token.token_type in (TokenType.STRING, TokenType.NUMBER, TokenType.HEREDOC_STRING):
            words.append("'" if token.token_type != TokenType.NUMBER else token.text)
        elif token.token_type == TokenType.IDENTIFIER:
            words.append(token.text)  # quoted: case is meaningful
        else:
            words.append(token.text.upper())
    return tuple(words)


def created_relations(statement: Statement) -> frozenset[str]:
    """Relations (tables, views, materialized views, indexes) a statement creates, folded."""
    from sqlglot import exp

    node = statement.node
    if not isinstance(node, exp.Create):
        return _created_by_words(statement.words)
    kind = str(node.kind or "").upper()
    if kind not in ("TABLE", "VIEW", "MATERIALIZED VIEW", "INDEX") and "VIEW" not in kind:
        return frozenset()
    target = node.this
    table = target if isinstance(target, exp.Table) else target.find(exp.Table) if target else None
    if kind == "INDEX" and isinstance(target, exp.Index):
        name = target.this
        return frozenset({name.name.lower()}) if name is not None else frozenset()
    if table is None or not table.name:
        return frozenset()
    names = {relation_name(table)}
    names.add(table.name if _quoted(table) else table.name.lower())
    return frozenset(names)


_CREATE_MODIFIERS = frozenset({"OR", "REPLACE", "TEMP", "TEMPORARY", "UNLOGGED", "GLOBAL",
                               "LOCAL", "MATERIALIZED", "RECURSIVE", "FOREIGN"})


def _created_by_words(words: tuple[str, ...]) -> frozenset[str]:
    """`CREATE [modifiers] TABLE|VIEW [IF NOT EXISTS] name` for statements sqlglot left opaque."""
    if words[:1] != ("CREATE",):
        return frozenset()
    i = 1
    while i < len(words) and words[i] in _CREATE_MODIFIERS:
        i += 1
    if i >= len(words) or words[i] not in ("TABLE", "VIEW"):
        return frozenset()
    i += 1
    if words[i : i + 3] == ("IF", "NOT", "EXISTS"):
        i += 3
    name = [words[i]] if i < len(words) else []
    while i + 2 < len(words) and words[i + 1] == ".":
        name.append(words[i + 2])
        i += 2
    if not name:
        return frozenset()
    folded = [part if not part.isupper() else part.lower() for part in name]
    return frozenset({".".join(folded), folded[-1]})


def relation_name(table: exp.Table) -> str:
    """`schema.name` or `name`, folded the way PostgreSQL folds unquoted identifiers."""
    parts = []
    for part in (table.args.get("db"), table.this):
        if part is None:
            continue
        quoted = bool(getattr(part, "args", {}).get("quoted"))
        parts.append(part.name if quoted else part.name.lower())
    return ".".join(parts)


def _quoted(table: exp.Table) -> bool:
    return bool(table.this is not None and table.this.args.get("quoted"))


def is_known_command(statement: Statement) -> bool:
    return any(statement.starts_with(*prefix) for prefix in KNOWN_COMMANDS)


# -- the run loop ------------------------------------------------------------------------


def select_rules(rules: Sequence[Rule], select: Sequence[str] = (),
                 ignore: Sequence[str] = ()) -> list[Rule]:
    """Rules whose code matches a `select` prefix (default: enabled ones) and no `ignore`.

    Codes are validated against the whole catalog by the caller (`commands.check_codes`):
    a prefix here may name codes that are not statement rules (DBS211, DBS0xx).
    """
    chosen = []
    for rule in rules:
        if select:
            if not any(rule.code.startswith(c.upper()) for c in select):
                continue
        elif not rule.default_enabled:
            continue
        if any(rule.code.startswith(c.upper()) for c in ignore):
            continue
        chosen.append(rule)
    return chosen


def lint_migration(migration: Migration, rules: Sequence[Rule], *,
                   report_unparsed: bool = True, **context: object) -> list[Finding]:
    """Run `rules` over one migration; `context` fills `LintContext` fields."""
    statements = parse_migration(migration)
    ctx = LintContext(migration, statements, **context)  # type: ignore[arg-type]
    findings: list[Finding] = []
    for statement in statements:
        if statement.generated:
            continue
        ctx.current = statement
        if report_unparsed and _unanalysable(statement):
            reason = statement.parse_error or "sqlglot does not understand this statement"
            findings.append(dataclasses.replace(
                ctx.finding(_UNPARSED_RULE, f"Statement could not be analysed: {reason}."),
                help="Check this statement by hand, or split it into statements dbsafe parses.",
            ))
            continue
        for rule in rules:
            if rule.check is not None:
                findings.extend(rule.check(statement, ctx))
    ctx.current = None
    for rule in rules:
        if rule.check_migration is not None:
            findings.extend(rule.check_migration(ctx))
    return findings


def _unanalysable(statement: Statement) -> bool:
    if statement.node is not None and not statement.is_command:
        return False
    return not is_known_command(statement)


def iter_findings(migrations: Iterable[Migration], rules: Sequence[Rule],
                  **context: object) -> Iterator[Finding]:
    for migration in migrations:
        yield from lint_migration(migration, rules, **context)


_UNPARSED_RULE = Rule(
    code=UNPARSED.code, name=UNPARSED.name, severity=UNPARSED.default_severity,
    since=UNPARSED.since, doc=UNPARSED.summary,
)
