"""The temporary tables a file makes one way, so that PostgreSQL can judge what reads them.

A statement reading a table the file's own DDL made is not analysed (`file_ddl`): the
schema has no such table. Where that table is temporary (`CREATE TEMP TABLE scratch AS
SELECT ...`, `CREATE TEMPORARY TABLE x (...)`), PostgreSQL can make it in the confirming
session, in a savepoint rolled back, and prepare the statement after it
(`confirm.Session.judged_after`): nothing outlives the session, nothing else is written.

That is sound only where the table is made ONE way: every statement of the file that
creates or changes that name is the same `CREATE TEMP TABLE` (one, or several of identical
text), no statement built at run time names it, and what that `CREATE` reads is either the
schema's or another such table (made first). Anything else stays not analysed.

A `CREATE TEMP TABLE ... AS` is sent `WITH NO DATA`: PostgreSQL makes the table from its
query's columns without running the query (no function of it is called, no row read). A
`SELECT ... INTO TEMP [TABLE] x` makes `x` too: it is sent as the `CREATE TEMPORARY TABLE x
AS SELECT ... WITH NO DATA` PostgreSQL turns it into (`transformOptionalSelectInto`: the
`INTO` of the leftmost SELECT of a set operation). Parsed with PostgreSQL's own parser
(pglast), deparsed from its tree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dbsafe.validate.file_ddl import FileDdl


@dataclass(frozen=True, slots=True)
class TempCreate:
    """One `CREATE TEMP TABLE` as PostgreSQL gets it (`sent`), with what it reads."""

    name: str  # the table's (folded) name
    sent: str  # deparsed; a `CREATE TABLE ... AS` with `WITH NO DATA`
    reads: frozenset[str]  # unqualified (or `pg_temp.`) relation names it reads


def temp_create(sql: str) -> TempCreate | None:
    """The temporary table `sql` makes when it is a single plain `CREATE TEMP TABLE`
    (columns, or `AS` a query) or `SELECT ... INTO TEMP`; None for anything else: a
    permanent table (`INTO UNLOGGED` too), one inheriting from or a partition of another
    (which changes that one's catalog rows), several statements.

    >>> made = temp_create("CREATE TEMP TABLE Scratch AS SELECT id FROM users WHERE a > 1")
    >>> made.name, made.sent, sorted(made.reads)
    ('scratch', 'CREATE TEMPORARY TABLE scratch AS SELECT id FROM users WHERE a > 1 WITH NO DATA', ['users'])
    >>> temp_create("CREATE TEMPORARY TABLE x (a int) ON COMMIT DROP").sent
    'CREATE TEMPORARY TABLE x (a integer) ON COMMIT DROP'
    >>> made = temp_create("SELECT u.id INTO TEMP TABLE Picked FROM users u UNION SELECT 2")
    >>> made.name, made.sent, sorted(made.reads)
    ('picked', 'CREATE TEMPORARY TABLE picked AS SELECT u.id FROM users AS u UNION SELECT 2 WITH NO DATA', ['users'])
    >>> [temp_create(s) for s in ("CREATE TABLE t (a int)", "CREATE TEMP TABLE c () INHERITS (p)",
    ...  "SELECT 1 INTO UNLOGGED t", "SELECT 1 INTO t", "SELECT 1 AS temp",
    ...  "CREATE TEMP TABLE a (x int); CREATE TEMP TABLE b (y int)")]
    [None, None, None, None, None, None]
    """
    head = sql.lstrip().lstrip("(").lstrip()[:6].upper()
    lowered = sql.lower()
    if head not in ("CREATE", "SELECT", "WITH") or "temp" not in lowered or (
            head != "CREATE" and "into" not in lowered):
        return None
    from pglast import ast, parse_sql
    from pglast.enums import ObjectType
    from pglast.parser import ParseError
    from pglast.stream import RawStream

    try:
        statements = parse_sql(sql)
    except (ParseError, ValueError, RecursionError):
        return None
    if len(statements) != 1:
        return None
    node = statements[0].stmt
    if isinstance(node, ast.SelectStmt):
        node = _select_into(node)
    if isinstance(node, ast.CreateStmt):
        target = node.relation
        if node.inhRelations or node.partbound is not None:
            return None
    elif isinstance(node, ast.CreateTableAsStmt) and node.objtype == ObjectType.OBJECT_TABLE \
            and node.into is not None:
        target = node.into.rel
        node.into.skipData = True
    else:
        return None
    if target is None or target.relpersistence != "t" or not target.relname or \
            target.schemaname not in (None, "pg_temp"):
        return None
    try:
        sent = RawStream()(node)
    except Exception:  # noqa: BLE001 -- a pglast bug: not sent
        return None
    reads = frozenset(r.relname for r in _range_vars(node) if r is not target and r.relname
                      and r.schemaname in (None, "pg_temp"))
    return TempCreate(target.relname, sent, reads)


def _select_into(select: Any) -> Any:
    """`SELECT ... INTO x ...` as the `CREATE TABLE x AS SELECT ...` PostgreSQL makes of it
    (`transformOptionalSelectInto`: the `INTO` of the leftmost SELECT of a set operation,
    taken off it); the statement unchanged when it has no `INTO`."""
    from pglast import ast
    from pglast.enums import ObjectType, SetOperation

    leftmost = select
    while leftmost is not None and leftmost.op != SetOperation.SETOP_NONE:
        leftmost = leftmost.larg
    if leftmost is None or leftmost.intoClause is None:
        return select
    into = leftmost.intoClause
    leftmost.intoClause = None
    return ast.CreateTableAsStmt(query=select, into=into, objtype=ObjectType.OBJECT_TABLE,
                                 is_select_into=False, if_not_exists=False)


def _range_vars(node: object) -> Iterable[Any]:
    """Every `RangeVar` (a relation named) in pglast's `node`."""
    from pglast import ast

    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, tuple | list):
            stack.extend(item)
        elif isinstance(item, ast.Node):
            if isinstance(item, ast.RangeVar):
                yield item
            stack.extend(getattr(item, attribute) for attribute in item)


def made_one_way(statements: Iterable[str], built: Iterable[str] = (),
                 inexact: Iterable[str] = ()) -> dict[str, tuple[str, ...]]:
    """Of the temporary tables the file's `statements` make, those made one way (see the
    module docstring), by name: the statements that make it, as sent, those making the
    temporary tables it reads first. `built`: the file's statements built at run time
    (their text as far as it is known); one naming a table leaves it out. `inexact`: those
    whose text is known but for some values or a piece of a string: one making a table
    makes it another way.

    >>> made = made_one_way(["CREATE TEMP TABLE a AS SELECT id FROM users",
    ...     "CREATE TEMP TABLE b AS SELECT id FROM a", "SELECT * FROM b",
    ...     "CREATE TEMP TABLE c (x int)", "CREATE TEMP TABLE c (y int)",
    ...     "CREATE TEMP TABLE d (x int)", "ALTER TABLE d ADD y int",
    ...     "CREATE TEMP TABLE e AS SELECT x FROM c", "CREATE TEMP TABLE f (z int)",
    ...     "CREATE TEMP TABLE f (z int)"], built=["CREATE TEMP TABLE g (x int)"])
    >>> {name: [s.split(" AS ")[0] for s in sent] for name, sent in sorted(made.items())}
    {'a': ['CREATE TEMPORARY TABLE a'], 'b': ['CREATE TEMPORARY TABLE a', 'CREATE TEMPORARY TABLE b'], 'f': ['CREATE TEMPORARY TABLE f (z integer)']}
    """
    ways: dict[str, set[str | None]] = {}
    creates: dict[str, TempCreate] = {}
    for sql in inexact:
        create = temp_create(sql)
        for name in {*FileDdl().after(sql).relations, *([create.name] if create else [])}:
            ways.setdefault(name, set()).add(None)
    for sql in statements:
        create = temp_create(sql)
        touched = FileDdl().after(sql).relations
        if create is not None:
            creates.setdefault(create.name, create)
            ways.setdefault(create.name, set()).add(create.sent)
        for name in touched:
            if create is None or name != create.name:
                ways.setdefault(name, set()).add(None)
    unseen = _words(built)
    one_way = {name: creates[name] for name, made in ways.items()
               if len(made) == 1 and None not in made
               and (unseen is not None and name not in unseen)}
    while True:  # what reads a name the file makes otherwise is not made one way
        dropped = [name for name, create in one_way.items()
                   if any(read in ways and read not in one_way for read in create.reads)]
        if not dropped:
            break
        for name in dropped:
            del one_way[name]
    return {name: tuple(_made_first(name, one_way)) for name in one_way}


# The statements that make no table and change none's columns: a statement built at run time
# of only these (synapse's `"INSERT INTO events_to_purge SELECT event_id, %s ..." % (...)`)
# leaves the tables it names made one way.
_ROWS_ONLY = frozenset({"INSERT", "UPDATE", "DELETE", "MERGE", "TRUNCATE", "DROP", "ANALYZE",
                        "ANALYSE", "VACUUM", "LOCK", "COPY"})


def _words(texts: Iterable[str]) -> set[str] | None:
    """The words (identifiers and keywords, as PostgreSQL folds them) of `texts`, read by
    PostgreSQL's own lexer, but for those of the texts whose every statement starts with a
    word of `_ROWS_ONLY`; None when it cannot read one (then any name may be there).

    >>> sorted(_words(['CREATE TEMP TABLE "G" (x int) -- t', "SELECT 'a'",
    ...                "INSERT INTO t SELECT %s; DELETE FROM u"]))
    ['G', 'create', 'int', 'select', 'table', 'temp', 'x']
    >>> sorted(_words(["INSERT INTO t VALUES (1); ALTER TABLE t ADD %s"]))[:3]
    ['add', 'alter', 'insert']
    """
    from pglast.parser import scan

    words: set[str] = set()
    for text in texts:
        try:
            tokens = [t for t in scan(text) if t.name not in ("SQL_COMMENT", "C_COMMENT")]
        except Exception:  # noqa: BLE001 -- any lexer failure: no word known
            return None
        starts = [t for i, t in enumerate(tokens) if i == 0 or tokens[i - 1].name == "ASCII_59"]
        if starts and all(text[t.start:t.end + 1].upper() in _ROWS_ONLY for t in starts):
            continue
        for token in tokens:
            if token.name == "IDENT" or token.kind != "NO_KEYWORD":
                word = text[token.start:token.end + 1]
                quoted = len(word) >= 2 and word[0] == word[-1] == '"'
                words.add(word[1:-1].replace('""', '"') if quoted else word.lower())
    return words


def _made_first(name: str, one_way: Mapping[str, TempCreate]) -> list[str]:
    """The statements making `name`, after those making the temporary tables it reads."""
    order: list[str] = []
    seen: set[str] = set()

    def visit(current: str) -> None:
        if current in seen:
            return
        seen.add(current)
        for read in sorted(one_way[current].reads):
            if read in one_way:
                visit(read)
        order.append(one_way[current].sent)

    visit(name)
    return order
