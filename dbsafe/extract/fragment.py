"""`SqlFragment`: one SQL statement found in a source file, with a map back to that file."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from dbsafe.core import Location, Skipped

if TYPE_CHECKING:
    from dbsafe.extract.javascript import PostgrestRequest


@dataclass(frozen=True, slots=True)
class SqlFragment:
    """One SQL statement found in a source file.

    `sql` is the text handed to the parser. Offsets into it map back to the original file
    through `spans`: sorted `(sql_offset, line, column)` triples, each saying "the character
    at `sql_offset` sits at (`line`, `column`) of the file, and the characters after it
    follow on the same line until the next triple". A statement cut out of a `.sql` file
    has one triple per line; a Python literal with escapes or implicit concatenation has
    one per piece. Lines and columns are 1-based; columns count characters, not bytes.

    `dynamic` is set when the SQL was built at run time in a way dbsafe cannot see through
    (a hole in identifier position, string building it cannot follow): the fragment is then
    reported as "not validated" instead of being resolved.
    """

    path: str
    sql: str
    spans: tuple[tuple[int, int, int], ...]
    origin: str = "sql"  # "sql" | "python" | "js"
    dynamic: str | None = None  # why it cannot be validated, when it cannot
    # Tables the code checks exist before it sends the statement (`if
    # inspector.has_table("x"):`): where the schema lacks one, the statement is not sent.
    checked_tables: frozenset[str] = frozenset()
    # Tables the code finds missing before it sends the statement (the `else` of `if
    # table_exists(conn, "x"):`): where the schema has one, the statement is not sent.
    absent_tables: frozenset[str] = frozenset()
    # PostgreSQL majors the code never sends it to (`if server_version >= 150000:` around
    # it, `dbsafe.extract.server_version`): their system catalogs say nothing about it.
    not_sent_to: frozenset[int] = frozenset()
    # Extensions the code finds installed before it sends this (`if is_timescale:` after
    # reading `pg_extension`, `dbsafe.extract.extension_guard`): where the schema lacks
    # one, the statement is not sent.
    installed_extensions: frozenset[str] = frozenset()
    # Offsets in `sql` where text known only at run time was left out of a quoted string
    # (`f"SELECT setval('{table}_id_seq', 1)"` is read as `'_id_seq'`): a name read from
    # that string is not the one sent.
    built_strings: tuple[int, ...] = ()
    # Offsets in `sql` of the `NULL`s standing for values known only at run time (`VALUES
    # ({placeholders})`, a `${value}` hole): each may be any number of values.
    value_holes: tuple[int, ...] = ()
    # The search path the code certainly set on the cursor it sends this through, just before
    # (`cur.execute("SET search_path TO monitoring")`: `dbsafe.extract.session_path`).
    search_path: tuple[str, ...] | None = None

    @property
    def line(self) -> int:
        return self.spans[0][1] if self.spans else 1

    @property
    def column(self) -> int:
        return self.spans[0][2] if self.spans else 1

    def position(self, offset: int) -> tuple[int, int]:
        """(line, column) in the file of the character at `offset` in `sql`."""
        if not self.spans:
            return (1, offset + 1)
        index = bisect.bisect_right(self.spans, (offset, float("inf"), float("inf"))) - 1
        index = max(index, 0)
        start, line, column = self.spans[index]
        return (line, column + max(offset - start, 0))

    def sub(self, start: int, end: int) -> SqlFragment:
        """The fragment for `sql[start:end]`, with its spans rebased (one statement of many).

        >>> f = SqlFragment("a.sql", "SELECT 1; SELECT 2", ((0, 3, 5),))
        >>> f.sub(10, 18).location(0)
        Location(path='a.sql', line=3, column=15, end_line=None, end_column=None)
        """
        built = tuple(o - start for o in self.built_strings if start <= o <= end)
        values = tuple(o - start for o in self.value_holes if start <= o < end)
        if not self.spans:
            return replace(self, sql=self.sql[start:end], built_strings=built,
                           value_holes=values)
        first = max(bisect.bisect_right(self.spans, (start, float("inf"), float("inf"))) - 1, 0)
        line, column = self.position(start)
        spans = [(0, line, column)]
        for offset, line, column in self.spans[first + 1 :]:
            if offset >= end:
                break
            spans.append((offset - start, line, column))
        return replace(self, sql=self.sql[start:end], spans=tuple(spans), built_strings=built,
                       value_holes=values)

    def location(self, start: int, end: int | None = None) -> Location:
        """The file `Location` of `sql[start:end + 1]` (`end` inclusive, as sqlglot's meta)."""
        line, column = self.position(start)
        if end is None:
            return Location(self.path, line, column)
        end_line, end_column = self.position(end)
        return Location(self.path, line, column, end_line, end_column)


@dataclass(frozen=True, slots=True)
class ExtractResult:
    """What extracting one file produced: its fragments, and what could not be looked at.

    Bad input (a Python syntax error, a binary or oversized file, invalid UTF-8) is never
    raised: it becomes a `Skipped` entry so one broken file does not stop a whole run, and
    `--verbose` can still list it.
    """

    fragments: tuple[SqlFragment, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    # DDL in strings a module sends through calls dbsafe does not know (`db.run("CREATE
    # TEMP TABLE ...")`): never validated, but what it makes exists for its statements.
    ddl: tuple[str, ...] = ()
    # The module sends SQL it reads from a file at run time (`cur.execute(f.read())`): a
    # script dbsafe cannot see, which may make any relation its statements use.
    runs_unseen_sql: bool = False
    # PostgREST requests (supabase-js in JS/TS, supabase-py in Python): see
    # `dbsafe.extract.javascript` and `dbsafe.extract.supabase_py`.
    requests: tuple[PostgrestRequest, ...] = ()
