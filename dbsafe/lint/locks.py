"""The lock table: which PostgreSQL lock each migration statement takes, and what it blocks.

This is the one place that knows statement → lock mode; lock-aware rules (DBS112, DBS114,
DBS115, ...) and `dbsafe lint --locks` all read it, so a correction here fixes all of them.
Sources: the PostgreSQL manual (explicit-locking.html and each command's page), squawk's and
eugene's lock tables, cross-checked against `pg_locks` on a PostgreSQL 18 server.

`BLOCKS` is derived from PostgreSQL's lock conflict matrix (`CONFLICTS`). Its three columns:

* **blocks reads** — conflicts with ACCESS SHARE (plain `SELECT`): only ACCESS EXCLUSIVE;
* **blocks writes** — conflicts with ROW EXCLUSIVE (`INSERT`/`UPDATE`/`DELETE`): SHARE and
  stronger;
* **blocks DDL** — conflicts with SHARE UPDATE EXCLUSIVE, the weakest lock schema
  maintenance takes (`VACUUM`/autovacuum, `ANALYZE`, `CREATE INDEX CONCURRENTLY`,
  `VALIDATE CONSTRAINT`). Every mode, even ACCESS SHARE, blocks ACCESS EXCLUSIVE DDL, so
  that column would say "yes" everywhere and tell nobody anything.

`Lock.rewrites` means the lock is held for time proportional to the table's size: the
statement rewrites the table (new relfilenode) or scans it in full (validation, index
build). `note` says which.

>>> BLOCKS["SHARE"]
(False, True, True)
>>> BLOCKS["ACCESS SHARE"]
(False, False, False)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from dbsafe.core import Location

if TYPE_CHECKING:
    from dbsafe.extract.migration import Migration
    from dbsafe.lint.engine import Statement

ACCESS_EXCLUSIVE = "ACCESS EXCLUSIVE"
EXCLUSIVE = "EXCLUSIVE"
SHARE_ROW_EXCLUSIVE = "SHARE ROW EXCLUSIVE"
SHARE = "SHARE"
SHARE_UPDATE_EXCLUSIVE = "SHARE UPDATE EXCLUSIVE"
ROW_EXCLUSIVE = "ROW EXCLUSIVE"
ROW_SHARE = "ROW SHARE"
ACCESS_SHARE = "ACCESS SHARE"

# Weakest first: the order of the PostgreSQL manual's table.
MODES = (ACCESS_SHARE, ROW_SHARE, ROW_EXCLUSIVE, SHARE_UPDATE_EXCLUSIVE, SHARE,
         SHARE_ROW_EXCLUSIVE, EXCLUSIVE, ACCESS_EXCLUSIVE)

# Table 13.2 "Conflicting Lock Modes" of the PostgreSQL manual.
CONFLICTS: dict[str, frozenset[str]] = {
    ACCESS_SHARE: frozenset({ACCESS_EXCLUSIVE}),
    ROW_SHARE: frozenset({EXCLUSIVE, ACCESS_EXCLUSIVE}),
    ROW_EXCLUSIVE: frozenset({SHARE, SHARE_ROW_EXCLUSIVE, EXCLUSIVE, ACCESS_EXCLUSIVE}),
    SHARE_UPDATE_EXCLUSIVE: frozenset({SHARE_UPDATE_EXCLUSIVE, SHARE, SHARE_ROW_EXCLUSIVE,
                                       EXCLUSIVE, ACCESS_EXCLUSIVE}),
    SHARE: frozenset({ROW_EXCLUSIVE, SHARE_UPDATE_EXCLUSIVE, SHARE_ROW_EXCLUSIVE, EXCLUSIVE,
                      ACCESS_EXCLUSIVE}),
    SHARE_ROW_EXCLUSIVE: frozenset({ROW_EXCLUSIVE, SHARE_UPDATE_EXCLUSIVE, SHARE,
                                    SHARE_ROW_EXCLUSIVE, EXCLUSIVE, ACCESS_EXCLUSIVE}),
    EXCLUSIVE: frozenset({ROW_SHARE, ROW_EXCLUSIVE, SHARE_UPDATE_EXCLUSIVE, SHARE,
                          SHARE_ROW_EXCLUSIVE, EXCLUSIVE, ACCESS_EXCLUSIVE}),
    ACCESS_EXCLUSIVE: frozenset(MODES),
}

# mode -> (blocks reads, blocks writes, blocks DDL); see the module docstring.
BLOCKS: dict[str, tuple[bool, bool, bool]] = {
    mode: (ACCESS_SHARE in CONFLICTS[mode], ROW_EXCLUSIVE in CONFLICTS[mode],
           SHARE_UPDATE_EXCLUSIVE in CONFLICTS[mode])
    for mode in MODES
}


@dataclass(frozen=True, slots=True)
class Lock:
    """A lock a statement takes and holds until its transaction ends."""

    mode: str  # one of MODES
    relation: str | None  # folded name; None = every table (VACUUM FULL, REINDEX DATABASE)
    rewrites: bool = False  # rewrites or fully scans the relation while holding the lock
    note: str = ""
    target: str = "table"  # "table" | "index" | "type": what the lock is on

    @property
    def blocks(self) -> tuple[bool, bool, bool]:
        """(reads, writes, DDL) on the relation; a lock on a type blocks no table access."""
        if self.target == "type":
            return (False, False, False)
        return BLOCKS[self.mode]

    @property
    def blocks_writes(self) -> bool:
        return self.blocks[1]


def strength(mode: str) -> int:
    return MODES.index(mode)


# -- words with identifier case and string contents kept ------------------------------------


@dataclass(frozen=True, slots=True)
class Word:
    """One token: `upper` for keyword matching, `name` folded like PostgreSQL folds it."""

    upper: str
    name: str  # unquoted identifiers lower-cased, quoted ones exact; string contents for strings
    kind: str  # "word" | "quoted" | "string" | "number" | "punct"


@lru_cache(maxsize=4096)
def tokens(sql: str) -> tuple[Word, ...]:
    """The statement's tokens (comments dropped), for statements sqlglot leaves opaque.

    Unlike a bare sqlglot tokenization, the rest of a "command" statement (`VACUUM`,
    `REFRESH`, ...), which the tokenizer returns as one string, is tokenized too, and
    multi-word keywords (`FOREIGN KEY`) become one word each.

    >>> [w.name for w in tokens('ALTER TYPE "Mood" ADD VALUE \\'sad\\'')]
    ['alter', 'type', 'Mood', 'add', 'value', 'sad']
    >>> [w.upper for w in tokens("VACUUM FULL orders")]
    ['VACUUM', 'FULL', 'ORDERS']
    """
    from sqlglot.dialects.postgres import Postgres
    from sqlglot.errors import TokenError
    from sqlglot.tokens import TokenType

    tokenizer = Postgres().tokenizer_class
    try:
        raw = Postgres().tokenize(sql)
    except (TokenError, RecursionError):
        return tuple(Word(w.upper(), w.lower(), "word") for w in sql.split())
    words: list[Word] = []
    previous = None
    for token in raw:
        text = token.text
        if token.token_type == TokenType.STRING and previous in tokenizer.COMMANDS:
            words.extend(tokens(text))  # the opaque rest of VACUUM/REFRESH/...
        elif token.token_type in (TokenType.STRING, TokenType.HEREDOC_STRING,
                                  TokenType.NATIONAL_STRING):
            words.append(Word("'", text, "string"))
        elif token.token_type == TokenType.NUMBER:
            words.append(Word(text, text, "number"))
        elif token.token_type == TokenType.IDENTIFIER:
            words.append(Word(text, text, "quoted"))
        elif text and not (text[0].isalnum() or text[0] == "_"):
            words.append(Word(text, text, "punct"))
        else:
            words.extend(Word(part.upper(), part.lower(), "word") for part in text.split())
        previous = token.token_type
    return tuple(words)


def words_of(statement: Statement) -> tuple[str, ...]:
    """Upper-cased words of the statement, complete even for opaque commands."""
    return tuple(w.upper for w in tokens(statement.sql))


def qualified_name(words: Sequence[Word], start: int) -> tuple[str | None, int]:
    """The (possibly schema-qualified) name at `start` and the index after it."""
    if start >= len(words) or words[start].kind not in ("word", "quoted"):
        return None, start
    parts = [words[start].name]
    i = start + 1
    while i + 1 < len(words) and words[i].upper == "." and words[i + 1].kind in ("word",
                                                                                  "quoted"):
        parts.append(words[i + 1].name)
        i += 2
    return ".".join(parts), i


def split_top_level(words: Sequence[Word]) -> list[list[Word]]:
    """Split at commas outside parentheses (ALTER TABLE's subcommands)."""
    parts: list[list[Word]] = [[]]
    depth = 0
    for word in words:
        if word.upper in ("(", "["):
            depth += 1
        elif word.upper in (")", "]"):
            depth -= 1
        elif word.upper == "," and depth == 0:
            parts.append([])
            continue
        parts[-1].append(word)
    return [p for p in parts if p]


def top_level(words: Sequence[Word]) -> list[str]:
    """Upper-cased words outside parentheses."""
    out = []
    depth = 0
    for word in words:
        if word.upper == "(":
            depth += 1
        elif word.upper == ")":
            depth -= 1
        elif depth == 0:
            out.append(word.upper)
    return out


def has_seq(seq: Sequence[str], *words: str) -> bool:
    n = len(words)
    return any(tuple(seq[i:i + n]) == words for i in range(len(seq) - n + 1))


def alter_table(statement: Statement) -> tuple[str | None, list[list[Word]]]:
    """For `ALTER TABLE [IF EXISTS] [ONLY] name [*] action, ...`: the table and the actions."""
    words = tokens(statement.sql)
    if [w.upper for w in words[:2]] != ["ALTER", "TABLE"]:
        return None, []
    i = 2
    if [w.upper for w in words[i:i + 2]] == ["IF", "EXISTS"]:
        i += 2
    if i < len(words) and words[i].upper == "ONLY":
        i += 1
    name, i = qualified_name(words, i)
    if i < len(words) and words[i].upper == "*":
        i += 1
    rest = [w for w in words[i:] if w.upper != ";"]
    return name, split_top_level(rest)


def _has(statement: Statement, *words: str) -> bool:
    return has_seq(words_of(statement), *words)


def _starts(statement: Statement, *words: str) -> bool:
    return words_of(statement)[:len(words)] == words


# -- the table ---------------------------------------------------------------------------------


def lock_for(statement: Statement) -> Lock | None:
    """The strongest lock `statement` takes on a table (or index, or type), if any.

    >>> from dbsafe.lint.engine import Statement
    >>> def parsed(sql):
    ...     import sqlglot
    ...     return Statement(sql, Location("x.sql", 1), 0, False, sqlglot.parse_one(sql, read="postgres"))
    >>> lock_for(parsed("CREATE INDEX ix ON orders (customer_id)")).mode
    'SHARE'
    """
    locks = locks_for(statement)
    if not locks:
        return None
    return max(locks, key=lambda lock: (lock.target != "type", strength(lock.mode)))


def locks_for(statement: Statement) -> tuple[Lock, ...]:
    """Every lock `statement` takes on a relation or type, strongest on the main one first."""
    words = words_of(statement)
    if not words:
        return ()
    first = words[0]
    handler = _HANDLERS.get(first)
    if handler is None:
        return ()
    return tuple(handler(statement))


def _node_tables(statement: Statement) -> list[str]:
    from sqlglot import exp

    from dbsafe.lint.engine import relation_name

    node = statement.node
    if node is None:
        return []
    return [relation_name(t) for t in node.find_all(exp.Table) if t.name]


def _create(statement: Statement) -> Iterable[Lock]:
    from sqlglot import exp

    from dbsafe.lint.engine import relation_name

    node = statement.node
    words = words_of(statement)
    if isinstance(node, exp.Create) and str(node.kind).upper() == "INDEX":
        index = node.this if isinstance(node.this, exp.Index) else None
        table = index.args.get("table") if index is not None else None
        name = relation_name(table) if table is not None else None
        if node.args.get("concurrently"):
            yield Lock(SHARE_UPDATE_EXCLUSIVE, name, True,
                       "builds the index without blocking writes (two table scans)")
        else:
            yield Lock(SHARE, name, True, "blocks writes while the index is built")
        return
    if _has(statement, "TRIGGER") and "ON" in words:
        name, _ = qualified_name(tokens(statement.sql), words.index("ON") + 1)
        yield Lock(SHARE_ROW_EXCLUSIVE, name, False, "adds a trigger")
        return
    if _has(statement, "CREATE", "POLICY") or _has(statement, "CREATE", "RULE"):
        if "ON" in words:
            name, _ = qualified_name(tokens(statement.sql), words.index("ON") + 1)
            yield Lock(ACCESS_EXCLUSIVE, name, False, "catalog change on the table")
        return
    if isinstance(node, exp.Create) and str(node.kind).upper() == "TABLE":
        # A new table locks nothing that exists, except the tables its foreign keys
        # reference: PostgreSQL adds the RI triggers there.
        for ref in node.find_all(exp.Reference):
            table = ref.find(exp.Table)
            if table is not None:
                yield Lock(SHARE_ROW_EXCLUSIVE, relation_name(table), False,
                           "adds the foreign key's triggers on the referenced table")
        return


def _drop(statement: Statement) -> Iterable[Lock]:
    from sqlglot import exp

    from dbsafe.lint.engine import relation_name

    node = statement.node
    words = words_of(statement)
    if isinstance(node, exp.Drop):
        kind = str(node.kind).upper()
        names = [relation_name(t) for t in node.args.get("tables") or [] if t.name]
        if kind == "INDEX":
            for name in names:
                if node.args.get("concurrently"):
                    yield Lock(SHARE_UPDATE_EXCLUSIVE, name, False,
                               "waits for transactions using the index", target="index")
                else:
                    yield Lock(ACCESS_EXCLUSIVE, name, False,
                               "also ACCESS EXCLUSIVE on the index's table", target="index")
            return
        if kind in ("TABLE", "VIEW"):
            for name in names:
                yield Lock(ACCESS_EXCLUSIVE, name, False, "drops the relation")
            return
    if _has(statement, "DROP", "TRIGGER") or _has(statement, "DROP", "POLICY") or \
            _has(statement, "DROP", "RULE"):
        if "ON" in words:
            name, _ = qualified_name(tokens(statement.sql), words.index("ON") + 1)
            yield Lock(ACCESS_EXCLUSIVE, name, False, "catalog change on the table")


def _alter(statement: Statement) -> Iterable[Lock]:
    words = words_of(statement)
    if _starts(statement, "ALTER", "TABLE"):
        yield from _alter_table(statement)
    elif _starts(statement, "ALTER", "INDEX"):
        w = tokens(statement.sql)
        i = 2 + (2 if words[2:4] == ("IF", "EXISTS") else 0)
        name, _ = qualified_name(w, i)
        if _has(statement, "SET", "TABLESPACE"):
            yield Lock(ACCESS_EXCLUSIVE, name, True, "moves the index's files", target="index")
        elif _has(statement, "RENAME") or _has(statement, "SET", "STATISTICS") or \
                _has(statement, "ATTACH", "PARTITION"):
            yield Lock(SHARE_UPDATE_EXCLUSIVE, name, False, "", target="index")
        else:
            yield Lock(ACCESS_EXCLUSIVE, name, False, "", target="index")
    elif _starts(statement, "ALTER", "TYPE"):
        name, _ = qualified_name(tokens(statement.sql), 2)
        if _has(statement, "ADD", "VALUE"):
            yield Lock(EXCLUSIVE, name, False,
                       "on the enum type only; tables using it are not locked", target="type")
    elif _starts(statement, "ALTER", "VIEW") or _starts(statement,
            "ALTER", "MATERIALIZED", "VIEW"):
        w = tokens(statement.sql)
        i = 3 if words[1] == "MATERIALIZED" else 2
        i += 2 if words[i:i + 2] == ("IF", "EXISTS") else 0
        name, _ = qualified_name(w, i)
        yield Lock(ACCESS_EXCLUSIVE, name, False, "")


# Subcommands that take less than ACCESS EXCLUSIVE (ALTER TABLE manual page, "Notes" and each
# subcommand's text). Everything not listed takes ACCESS EXCLUSIVE.
def _alter_table(statement: Statement) -> Iterable[Lock]:
    name, actions = alter_table(statement)
    locks: list[Lock] = []
    for action in actions:
        locks.extend(_alter_table_action(name, action))
    if not locks:
        return
    main = [lock for lock in locks if lock.relation == name]
    others = [lock for lock in locks if lock.relation != name]
    if main:
        strongest = max(strength(lock.mode) for lock in main)
        rewrites = any(lock.rewrites for lock in main)
        notes = [lock.note for lock in main if lock.note and strength(lock.mode) == strongest]
        yield Lock(MODES[strongest], name, rewrites, "; ".join(dict.fromkeys(notes)))
    seen = set()
    for lock in others:
        if (lock.relation, lock.mode) not in seen:
            seen.add((lock.relation, lock.mode))
            yield lock


def _alter_table_action(table: str | None, action: list[Word]) -> list[Lock]:
    up = [w.upper for w in action]
    top = top_level(action)
    if up[:2] == ["ADD", "CONSTRAINT"] and "USING" in top:
        return [Lock(ACCESS_EXCLUSIVE, table, False, "attaches an existing index")]
    if up[:1] == ["ADD"] and ("FOREIGN" in top or ("REFERENCES" in top and "CHECK" not in top)):
        not_valid = has_seq(top, "NOT", "VALID")
        i = up.index("REFERENCES") if "REFERENCES" in up else -1
        referenced, _ = qualified_name(action, i + 1) if i >= 0 else (None, 0)
        is_column = not (has_seq(top, "FOREIGN", "KEY"))
        if is_column:
            # ADD COLUMN ... REFERENCES: the new column is NULL everywhere, nothing to scan.
            locks = [Lock(ACCESS_EXCLUSIVE, table, False, "adds a column")]
        else:
            locks = [Lock(SHARE_ROW_EXCLUSIVE, table, not not_valid,
                          "NOT VALID: no scan" if not_valid else "scans the table to validate")]
        if referenced:
            locks.append(Lock(SHARE_ROW_EXCLUSIVE, referenced, False,
                              "referenced by a new foreign key"))
        return locks
    if up[:1] == ["ADD"]:
        if "CHECK" in top or "UNIQUE" in top or "PRIMARY" in top or "EXCLUDE" in top:
            is_column = up[1:2] == ["COLUMN"] or not (up[1:2] == ["CONSTRAINT"] or
                                                       up[1:2] in (["CHECK"], ["UNIQUE"],
                                                                   ["PRIMARY"], ["EXCLUDE"]))
            if "CHECK" in top and not ("UNIQUE" in top or "PRIMARY" in top):
                if has_seq(top, "NOT", "VALID") or is_column:
                    return [Lock(ACCESS_EXCLUSIVE, table, False, "")]
                return [Lock(ACCESS_EXCLUSIVE, table, True, "scans the table to validate")]
            return [Lock(ACCESS_EXCLUSIVE, table, True, "builds an index")]
        return [Lock(ACCESS_EXCLUSIVE, table, False, "adds a column")]
    if up[:2] == ["VALIDATE", "CONSTRAINT"]:
        return [Lock(SHARE_UPDATE_EXCLUSIVE, table, True, "scans the table to validate")]
    if up[:1] == ["ALTER"]:
        if "TYPE" in top and not has_seq(top, "SET", "DEFAULT"):
            return [Lock(ACCESS_EXCLUSIVE, table, True,
                         "rewrites the table unless the change is binary-coercible")]
        if has_seq(top, "SET", "STATISTICS") or (has_seq(top, "SET") and "(" in up) or \
                has_seq(top, "RESET"):
            return [Lock(SHARE_UPDATE_EXCLUSIVE, table, False, "")]
        if has_seq(top, "SET", "NOT", "NULL"):
            return [Lock(ACCESS_EXCLUSIVE, table, True,
                         "scans the table unless a validated CHECK (c IS NOT NULL) exists")]
        if has_seq(top, "SET", "EXPRESSION"):
            return [Lock(ACCESS_EXCLUSIVE, table, True, "rewrites the table")]
        return [Lock(ACCESS_EXCLUSIVE, table, False, "")]
    if up[:1] in (["ENABLE"], ["DISABLE"]) and "TRIGGER" in up:
        return [Lock(SHARE_ROW_EXCLUSIVE, table, False, "")]
    if up[:2] == ["CLUSTER", "ON"] or up[:3] == ["SET", "WITHOUT", "CLUSTER"]:
        return [Lock(SHARE_UPDATE_EXCLUSIVE, table, False, "")]
    if up[:2] in (["SET", "("], ["RESET", "("]):
        return [Lock(SHARE_UPDATE_EXCLUSIVE, table, False, "storage parameters")]
    if up[:2] in (["SET", "TABLESPACE"], ["SET", "LOGGED"], ["SET", "UNLOGGED"]) or \
            up[:3] == ["SET", "ACCESS", "METHOD"]:
        return [Lock(ACCESS_EXCLUSIVE, table, True, "rewrites the table")]
    if up[:2] == ["ATTACH", "PARTITION"]:
        partition, _ = qualified_name(action, 2)
        return [Lock(SHARE_UPDATE_EXCLUSIVE, table, False, ""),
                Lock(ACCESS_EXCLUSIVE, partition, True,
                     "scans the partition unless a CHECK implies its bounds")]
    if up[:2] == ["DETACH", "PARTITION"]:
        partition, _ = qualified_name(action, 2)
        if "CONCURRENTLY" in up or "FINALIZE" in up:
            return [Lock(SHARE_UPDATE_EXCLUSIVE, table, False, "CONCURRENTLY"),
                    Lock(SHARE_UPDATE_EXCLUSIVE, partition, False, "CONCURRENTLY")]
        return [Lock(ACCESS_EXCLUSIVE, table, False, ""),
                Lock(ACCESS_EXCLUSIVE, partition, False, "")]
    return [Lock(ACCESS_EXCLUSIVE, table, False, "")]


def _target_after(statement: Statement, skip: Sequence[str]) -> str | None:
    """The first name after the leading words and any of the keywords in `skip`."""
    w = tokens(statement.sql)
    i = 0
    while i < len(w) and (w[i].upper in skip or w[i].kind == "punct"):
        if w[i].upper == "(":
            depth = 0
            while i < len(w):
                depth += w[i].upper == "("
                depth -= w[i].upper == ")"
                i += 1
                if depth == 0:
                    break
            continue
        i += 1
    name, _ = qualified_name(w, i)
    return name


def _vacuum(statement: Statement) -> Iterable[Lock]:
    w = tokens(statement.sql)
    up = [x.upper for x in w]
    full = False
    if up[1:2] == ["("]:
        options = split_top_level(w[2:up.index(")")] if ")" in up else w[2:])
        for option in options:
            if option[0].upper == "FULL":
                full = len(option) == 1 or option[1].upper in ("TRUE", "ON", "1")
    else:
        full = "FULL" in up[1:5]
    table = _target_after(statement, ("VACUUM", "FULL", "FREEZE", "VERBOSE", "ANALYZE",
                                      "ANALYSE"))
    if full:
        yield Lock(ACCESS_EXCLUSIVE, table, True, "rewrites the table")
    else:
        yield Lock(SHARE_UPDATE_EXCLUSIVE, table, False, "")


def _analyze(statement: Statement) -> Iterable[Lock]:
    yield Lock(SHARE_UPDATE_EXCLUSIVE, _target_after(statement, ("ANALYZE", "ANALYSE",
                                                                 "VERBOSE")), False, "")


def _cluster(statement: Statement) -> Iterable[Lock]:
    yield Lock(ACCESS_EXCLUSIVE, _target_after(statement, ("CLUSTER", "VERBOSE")), True,
               "rewrites the table")


def _reindex(statement: Statement) -> Iterable[Lock]:
    up = words_of(statement)
    kind = up[1] if len(up) > 1 else ""
    concurrently = "CONCURRENTLY" in up
    name = _target_after(statement, ("REINDEX", "TABLE", "INDEX", "SCHEMA", "DATABASE",
                                     "SYSTEM", "CONCURRENTLY", "VERBOSE"))
    if kind in ("SCHEMA", "DATABASE", "SYSTEM"):
        name = None
    if concurrently:
        yield Lock(SHARE_UPDATE_EXCLUSIVE, name, True, "rebuilds without blocking writes",
                   target="index" if kind == "INDEX" else "table")
    elif kind == "INDEX":
        yield Lock(ACCESS_EXCLUSIVE, name, True,
                   "plus SHARE on its table: writes wait, and so do queries planned "
                   "against the index", target="index")
    else:
        yield Lock(SHARE, name, True,
                   "plus ACCESS EXCLUSIVE on each index while it is rebuilt")


def _refresh(statement: Statement) -> Iterable[Lock]:
    name = _target_after(statement, ("REFRESH", "MATERIALIZED", "VIEW", "CONCURRENTLY"))
    if "CONCURRENTLY" in words_of(statement):
        yield Lock(EXCLUSIVE, name, True, "reads continue; recomputes the query")
    elif _has(statement, "WITH", "NO", "DATA"):
        yield Lock(ACCESS_EXCLUSIVE, name, False, "empties the view")
    else:
        yield Lock(ACCESS_EXCLUSIVE, name, True, "recomputes the query; reads wait")


def _lock(statement: Statement) -> Iterable[Lock]:
    w = tokens(statement.sql)
    up = [x.upper for x in w]
    mode = ACCESS_EXCLUSIVE
    if "IN" in up and "MODE" in up:
        words = " ".join(up[up.index("IN") + 1:up.index("MODE")])
        if words in MODES:
            mode = words
    end = up.index("IN") if "IN" in up else len(up)
    i = 1 + (up[1:2] == ["TABLE"])
    for part in split_top_level(w[i:end]):
        part = [x for x in part if x.upper not in ("ONLY", "*", ";")]
        name, _ = qualified_name(part, 0)
        if name:
            yield Lock(mode, name, False, "explicit LOCK")


def _truncate(statement: Statement) -> Iterable[Lock]:
    for name in _node_tables(statement):
        yield Lock(ACCESS_EXCLUSIVE, name, False, "empties the table")


def _dml(statement: Statement) -> Iterable[Lock]:
    from sqlglot import exp

    from dbsafe.lint.engine import relation_name

    node = statement.node
    target = node.this if node is not None else None
    if isinstance(target, exp.Table) and target.name:
        yield Lock(ROW_EXCLUSIVE, relation_name(target), False, "")
    elif target is not None:
        table = target.find(exp.Table)
        if table is not None:
            yield Lock(ROW_EXCLUSIVE, relation_name(table), False, "")


def _select(statement: Statement) -> Iterable[Lock]:
    names = _node_tables(statement)
    if not names:
        return
    mode = ROW_SHARE if _has(statement, "FOR", "UPDATE") or _has(statement,
        "FOR", "SHARE") or _has(statement, "FOR", "NO", "KEY") else ACCESS_SHARE
    for name in dict.fromkeys(names):
        yield Lock(mode, name, False, "")


def _comment(statement: Statement) -> Iterable[Lock]:
    from sqlglot import exp

    from dbsafe.lint.engine import relation_name

    node = statement.node
    if isinstance(node, exp.Comment):
        target = node.this
        if isinstance(target, exp.Table):
            yield Lock(SHARE_UPDATE_EXCLUSIVE, relation_name(target), False, "")
        elif isinstance(target, exp.Column) and target.table:
            parts = [p.name if p.args.get("quoted") else p.name.lower()
                     for p in (target.args.get("db"), target.args.get("table")) if p]
            yield Lock(SHARE_UPDATE_EXCLUSIVE, ".".join(parts), False, "")


_HANDLERS = {
    "CREATE": _create,
    "DROP": _drop,
    "ALTER": _alter,
    "VACUUM": _vacuum,
    "ANALYZE": _analyze,
    "ANALYSE": _analyze,
    "CLUSTER": _cluster,
    "REINDEX": _reindex,
    "REFRESH": _refresh,
    "LOCK": _lock,
    "TRUNCATE": _truncate,
    "INSERT": _dml,
    "UPDATE": _dml,
    "DELETE": _dml,
    "MERGE": _dml,
    "SELECT": _select,
    "WITH": _select,
    "COMMENT": _comment,
}


# -- the report behind `dbsafe lint --locks` ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class LockRow:
    location: Location
    statement: str  # the statement, shortened to one line
    mode: str
    relation: str | None
    blocks_reads: bool
    blocks_writes: bool
    blocks_ddl: bool
    rewrites: bool
    created_here: bool  # the relation was created earlier in the same migration
    note: str = ""


def lock_report(migrations: Iterable[Migration]) -> list[LockRow]:
    """One row per lock each migration statement takes, in execution order."""
    from dbsafe.lint.engine import LintContext, parse_migration

    rows: list[LockRow] = []
    for migration in migrations:
        statements = parse_migration(migration)
        ctx = LintContext(migration, statements)
        for statement in statements:
            if statement.generated:
                continue
            for lock in locks_for(statement):
                reads, writes, ddl = lock.blocks
                created = bool(lock.relation) and ctx.created_before(lock.relation, statement)
                rows.append(LockRow(statement.location, _summary(statement.sql), lock.mode,
                                    lock.relation, reads, writes, ddl, lock.rewrites, created,
                                    lock.note))
    return rows


def _summary(sql: str, limit: int = 60) -> str:
    text = " ".join(sql.split()).rstrip(";")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_locks_text(rows: Sequence[LockRow]) -> str:
    """A plain aligned table of `lock_report` rows.

    >>> print(render_locks_text([]), end="")
    No statement takes a lock.
    """
    if not rows:
        return "No statement takes a lock.\n"
    header = ("location", "statement", "lock", "relation", "reads", "writes", "ddl",
              "rewrite")

    def yes(flag: bool) -> str:
        return "blocked" if flag else "-"

    table = [header]
    for row in rows:
        relation = row.relation or "(all)"
        if row.created_here:
            relation += " (new)"
        loc = row.location
        table.append((f"{loc.path}:{loc.line}", row.statement, row.mode, relation,
                      yes(row.blocks_reads), yes(row.blocks_writes), yes(row.blocks_ddl),
                      "yes" if row.rewrites else "-"))
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(r, widths)).rstrip()
             for r in table]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines) + "\n"
