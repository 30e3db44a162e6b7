"""DBS315 (`codes.COLUMN_VALUE_COUNT_MISMATCH`): a statement gives the columns it lists
more or fewer values than it names.

Read with PostgreSQL's own parser (pglast); the counts are those PostgreSQL's parse analysis
compares, in its order, and refuses the statement with 42601 on when they differ
(`transformInsertStmt`, `transformInsertRow`, `transformMultiAssignRef`):

* an INSERT's (or MERGE's `INSERT`) column list and its VALUES row, or its SELECT's output
  columns: `INSERT has more target columns than expressions` (pointing at the first column
  without a value), `INSERT has more expressions than target columns` (at the first value
  without a column);
* with no column list, the values and the table's columns (from the schema): more values
  than it has columns is refused the same way, fewer are filled with defaults;
* each later row of a VALUES of several and its first row: `VALUES lists must all be the
  same length` (at the row);
* a multi-column SET (`UPDATE t SET (a, b) = (...)`, `ON CONFLICT DO UPDATE SET`, MERGE's
  `UPDATE SET`) and its row or sub-SELECT: `number of columns does not match number of
  values` (at the source).

Never judged where the count is not written: a `*` in a row, a select list or a `ROW(...)`
(`t.*` expands to the relation's columns), a driver placeholder standing for a whole row
(`VALUES %s`, which psycopg fills with a tuple or execute_values with rows), fewer values
than columns among which a `?`, `:name` or web.py's `$name` (a client may write a list
there as several values, knex's `?` for an array; one is a value at least, so more values
than columns are judged), a set operation whose branches differ (another error), an INSERT
without a column list into a relation the schema does not have or a script made, and a
source that is neither a row nor a sub-SELECT (another error). Value holes of SQL built at
run time (`VALUES ({placeholders})`) are `scan`'s to leave alone: the text here has one NULL
where the code puts any number of values.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dbsafe.schema.model import SchemaSnapshot
    from dbsafe.validate.confirm import Rewrite

COUNT_MISMATCH_DOC = """A statement gives the columns it lists more or fewer values than it names.

## Why
PostgreSQL matches an INSERT's columns and values one to one when it parses the statement:
with a value too many or too few, every run of it fails with `42601: INSERT has more target
columns than expressions` (or `more expressions than target columns`), whatever the values.
An INSERT that gained a column but not its placeholder (a Discord bot's `INSERT INTO
guild_config (id, category_id, ticket_channel_id, logging_channel_id, logging_broadcast_url,
ticket_broadcast_url, prefix, settings) VALUES ($1, $2, $3, $4, $5, $6, $7)`) breaks in
production on its first run. The same holds for each row of a VALUES of
several (`VALUES lists must all be the same length`), for the output columns of an `INSERT
... SELECT`, for an INSERT without a column list giving more values than the table has
columns, and for a multi-column SET (`UPDATE t SET (a, b) = ($1, $2, $3)`: `number of columns
does not match number of values`), in UPDATE, `ON CONFLICT DO UPDATE` and MERGE alike.

## Bad
```sql
INSERT INTO orders (id, customer_id, total) VALUES ($1, $2);
INSERT INTO orders (id, total) VALUES (1, 10.0), (2, 20.0, 'late');
INSERT INTO orders (id, total) SELECT id FROM carts;
-- orders has 3 columns
INSERT INTO orders VALUES (1, 2, 3.0, 'x');
UPDATE orders SET (customer_id, total) = ($1, $2, $3) WHERE id = $4;
```

## Good
```sql
INSERT INTO orders (id, customer_id, total) VALUES ($1, $2, $3);
INSERT INTO orders (id, total) VALUES (1, 10.0), (2, DEFAULT);
INSERT INTO orders (id, total) SELECT id, amount FROM carts;
-- fewer values than columns, no column list: the rest get their defaults
INSERT INTO orders VALUES (1, 2);
UPDATE orders SET (customer_id, total) = ($1, $2) WHERE id = $3;
```

## Not flagged
A count dbsafe cannot read from the text: a `*` in a VALUES row, a select list or a
`ROW(...)` (`SELECT s.*`, `ROW(excluded.*)`), a sub-SELECT's `*`, a driver placeholder
standing for a whole row (`VALUES %s`), fewer values than columns among which a placeholder
a client may fill with several (`?`, `:name`), a value built into the text at run time
(`f"VALUES ({placeholders})"`), the branches of a `UNION` of different lengths
(PostgreSQL's error is another one), an INSERT without a column list into a relation the
schema does not have (DBS301) or one the file's own DDL creates or alters, and a
multi-column SET from something other than a row or a sub-SELECT (`SET (a, b) = (x)`,
refused with another error).
"""

# The statements whose counts are checked, as PostgreSQL's parser names them.
_DML_NODES = frozenset({"SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"})
# What the parse must hold for any count to be checked (a cheap look at its JSON first).
_MARKERS = ('"InsertStmt"', '"MultiAssignRef"', '"CMD_INSERT"')


@dataclass(frozen=True, slots=True)
class Mismatch:
    """A count PostgreSQL refuses: where it points (0-based, inclusive offsets of the
    original statement), what is wrong, PostgreSQL's message, the relation written to (as
    written), and the relation whose columns were counted (`schema.name`, for an INSERT
    without a column list; None when the schema had no part in it)."""

    start: int
    end: int
    message: str
    refusal: str
    subject: str
    counted: str | None = None

    @property
    def help(self) -> str:
        return ("Give each listed column exactly one value (PostgreSQL refuses the statement "
                f"on every run: 42601 `{self.refusal}`).")


_MORE_TARGETS = "INSERT has more target columns than expressions"
_MORE_VALUES = "INSERT has more expressions than target columns"
_ROWS_DIFFER = "VALUES lists must all be the same length"
_SET_DIFFERS = "number of columns does not match number of values"


@dataclass(frozen=True, slots=True)
class _Row:
    """A list of values as written: its items, and whether each is one value (`exact`;
    not when a driver placeholder may stand for several: the row has at least as many)."""

    items: tuple[dict[str, Any], ...]
    exact: bool = True


def has_counts(parse_text: str) -> bool:
    """Whether pglast's JSON of a statement holds anything whose counts are checked."""
    return any(marker in parse_text for marker in _MARKERS)


def count_mismatches(statements: list[dict[str, Any]], sql: str, sent: Rewrite | None,
                     snapshot: SchemaSnapshot, made: frozenset[str] = frozenset()
                     ) -> list[Mismatch]:
    """The lists of columns given another number of values in the queries among
    `statements` (pglast's JSON of `sql` as sent: `sent` numbered its driver placeholders,
    None when it needed none); `made`: relations (unqualified) whose columns a script's
    earlier DDL decides, not the schema.

    >>> import json
    >>> from pglast.parser import parse_sql_json
    >>> from dbsafe.schema.model import SchemaSnapshot
    >>> def found(sql):
    ...     statements = [s["stmt"] for s in json.loads(parse_sql_json(sql))["stmts"]]
    ...     return [(m.message, sql[m.start:m.end + 1])
    ...             for m in count_mismatches(statements, sql, None, SchemaSnapshot(()))]
    >>> found("INSERT INTO t (a, b, c) VALUES ($1, $2)")
    [('INSERT into `t` lists 3 columns but gives 2 values: `c` gets none', 'c')]
    >>> found("UPDATE t SET x = 1, (a, b) = (SELECT 1, 2, 3)")
    [('`SET (a, b) = ...` of UPDATE `t` assigns 2 columns 3 values', '(SELECT 1, 2, 3')]
    >>> found("INSERT INTO t (a, b) SELECT * FROM s"), found("INSERT INTO t VALUES (1, 2)")
    ([], [])
    """
    reader = _Reader(sql, sent, snapshot, made)
    found: list[Mismatch] = []
    for statement in statements:
        if next(iter(statement), None) not in _DML_NODES:
            continue
        for kind, body in _statements(statement):
            if kind == "InsertStmt":
                found.extend(reader.insert(body))
            elif kind == "UpdateStmt":
                found.extend(reader.assignments(body.get("targetList", ()), "UPDATE",
                                                body.get("relation")))
            else:
                found.extend(reader.merge(body))
    return sorted(found, key=lambda m: m.start)


def _statements(node: object) -> Iterator[tuple[str, dict[str, Any]]]:
    """The INSERT, UPDATE and MERGE statements within `node` (in CTEs and subqueries too)."""
    stack: list[object] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, list):
            stack.extend(current)
            continue
        if not isinstance(current, dict):
            continue
        for kind in ("InsertStmt", "UpdateStmt", "MergeStmt"):
            body = current.get(kind)
            if isinstance(body, dict):
                yield kind, body
        stack.extend(current.values())


class _Reader:
    """Counts over one statement's parse, with its text for the offsets of what is found."""

    def __init__(self, sql: str, sent: Rewrite | None, snapshot: SchemaSnapshot,
                 made: frozenset[str]) -> None:
        self.sql = sql
        self.sent = sent
        self.text = sent.text if sent is not None else sql
        self.data = self.text.encode()
        self.snapshot = snapshot
        self.made = made
        self._tokens: list[Any] | None = None

    # -- statements ------------------------------------------------------------------------

    def insert(self, body: dict[str, Any]) -> Iterator[Mismatch]:
        relation = body.get("relation") or {}
        what = f"INSERT into `{_written(relation)}`"
        select = (body.get("selectStmt") or {}).get("SelectStmt")
        if isinstance(select, dict):
            yield from self._inserted(what, relation, body.get("cols", ()), select)
        conflict = (body.get("onConflictClause") or {})
        yield from self.assignments(conflict.get("targetList", ()), "ON CONFLICT DO UPDATE",
                                    relation)

    def merge(self, body: dict[str, Any]) -> Iterator[Mismatch]:
        relation = body.get("relation") or {}
        for item in body.get("mergeWhenClauses", ()):
            clause = item.get("MergeWhenClause") or {}
            if clause.get("commandType") == "CMD_INSERT" and clause.get("values"):
                yield from self._values(f"MERGE's INSERT into `{_written(relation)}`",
                                        relation, clause.get("targetList", ()),
                                        [clause["values"]])
            elif clause.get("commandType") == "CMD_UPDATE":
                yield from self.assignments(clause.get("targetList", ()), "MERGE's UPDATE",
                                            relation)

    def _inserted(self, what: str, relation: dict[str, Any], cols: list[dict[str, Any]],
                  select: dict[str, Any]) -> Iterator[Mismatch]:
        if select.get("op", "SETOP_NONE") == "SETOP_NONE" and "valuesLists" in select:
            yield from self._values(what, relation, cols,
                                    [row.get("List", {}).get("items", ())
                                     for row in select["valuesLists"]])
            return
        outputs = self._outputs(select)
        if outputs is None:
            return
        targets = self._targets(relation, cols)
        if targets is None:
            return
        count, columns = targets
        row = outputs if isinstance(outputs, _Row) else None
        length = len(outputs.items) if isinstance(outputs, _Row) else outputs
        if length > count:
            # A set operation's columns are its own, with no place of their own to point at.
            if row is None:
                return
            start, end = self._span(row.items[count])
            yield self._found(start, end, _MORE_VALUES, relation, cols, (
                f"{what} lists {_n(count, 'column')} but its SELECT returns {length}" if cols
                else f"{what} gives the {length} columns of its SELECT, but `{columns}` has "
                     f"{count}"))
        elif cols and length < count and (row is None or row.exact):
            column = _target(cols[length])
            start, end = self._column_span(column)
            yield self._found(start, end, _MORE_TARGETS, relation, cols,
                              f"{what} lists {count} columns but its SELECT returns "
                              f"{length}: `{column.get('name')}` gets none")

    def _values(self, what: str, relation: dict[str, Any], cols: list[dict[str, Any]],
                written: list[Any]) -> Iterator[Mismatch]:
        """A VALUES's rows, read as PostgreSQL reads them: the first against the columns,
        each later one against the first."""
        rows = [self._row(items) for items in written]
        first = rows[0] if rows else None
        if first is None:
            return
        targets = self._targets(relation, cols) if cols or rows else None
        if targets is None:
            return
        count, columns = targets
        given = _n(len(first.items), "value") + ("" if len(rows) == 1 else " in its first row")
        if len(first.items) > count:
            start, end = self._span(first.items[count])
            yield self._found(start, end, _MORE_VALUES, relation, cols, (
                f"{what} lists {_n(count, 'column')} but gives {given}"
                if cols else f"{what} gives {given}, but `{columns}` has "
                             f"{_n(count, 'column')}"))
            return
        if cols and len(first.items) < count and first.exact:
            column = _target(cols[len(first.items)])
            start, end = self._column_span(column)
            yield self._found(start, end, _MORE_TARGETS, relation, cols,
                              f"{what} lists {count} columns but gives {given}: "
                              f"`{column.get('name')}` gets none")
            return
        if not first.exact:
            return
        for number, row in enumerate(rows[1:], start=2):
            if row is None or not row.items:
                return
            if len(row.items) != len(first.items) and (
                    row.exact or len(row.items) > len(first.items)):
                start, end = self._span(row.items[0], row.items[-1])
                yield self._found(start, end, _ROWS_DIFFER, relation, cols,
                                  f"row {number} of the VALUES of {what} gives "
                                  f"{_n(len(row.items), 'value')}, its first row "
                                  f"{len(first.items)}")
                return
            if not row.exact:
                return

    def assignments(self, targets: list[dict[str, Any]], what: str,
                    relation: dict[str, Any] | None) -> Iterator[Mismatch]:
        """Each multi-column SET of `targets` (`SET (a, b) = source`) against its source."""
        for index, item in enumerate(targets):
            target = _target(item)
            assigned = (target.get("val") or {}).get("MultiAssignRef")
            if not isinstance(assigned, dict) or assigned.get("colno") != 1:
                continue
            count = assigned.get("ncolumns", 0)
            names = ", ".join(str(_target(t).get("name")) for t in targets[index:index + count])
            source = assigned.get("source") or {}
            if "RowExpr" in source:
                row = self._row(source["RowExpr"].get("args", ()))
                if row is None:
                    continue
                length, exact = len(row.items), row.exact
            elif "SubLink" in source and source["SubLink"].get("subLinkType") == "EXPR_SUBLINK":
                outputs = self._outputs(source["SubLink"].get("subselect", {}).get(
                    "SelectStmt", {}))
                if outputs is None:
                    continue
                length = len(outputs.items) if isinstance(outputs, _Row) else outputs
                exact = not isinstance(outputs, _Row) or outputs.exact
            else:
                continue  # not a row nor a sub-SELECT: PostgreSQL's error is another
            if length == count or (length < count and not exact):
                continue
            start, end = self._span(source)
            on = f" `{_written(relation)}`" if relation else ""
            yield self._found(start, end, _SET_DIFFERS, relation or {}, None,
                              f"`SET ({names}) = ...` of {what}{on} assigns "
                              f"{_n(count, 'column')} {_n(length, 'value')}", listed=True)

    # -- counting --------------------------------------------------------------------------

    def _row(self, items: Any) -> _Row | None:
        """A list of values as written; None when its length cannot be read (a `*`, a
        driver placeholder standing for a whole row)."""
        items = tuple(items)
        exact = True
        for item in items:
            if _expands(item):
                return None
            parameter = item.get("ParamRef") if isinstance(item, dict) else None
            if parameter is not None:
                placeholder = self._placeholder(parameter.get("location", -1))
                if placeholder is not None and placeholder[1].startswith("("):
                    return None  # `VALUES %s`: the driver writes the whole row
                if placeholder is not None and not _one_value(placeholder[0]):
                    exact = False
        return _Row(items, exact)

    def _outputs(self, select: dict[str, Any]) -> _Row | int | None:
        """The output columns of a SELECT: its select list (or its VALUES row), the count
        of a set operation whose branches agree; None when not known."""
        if not isinstance(select, dict) or not select:
            return None
        if select.get("op", "SETOP_NONE") != "SETOP_NONE":
            counts = []
            for side in ("larg", "rarg"):
                branch = self._outputs(select.get(side) or {})
                if branch is None or (isinstance(branch, _Row) and not branch.exact):
                    return None
                counts.append(len(branch.items) if isinstance(branch, _Row) else branch)
            return counts[0] if counts[0] == counts[1] else None
        if "valuesLists" in select:
            rows = [self._row(row.get("List", {}).get("items", ()))
                    for row in select["valuesLists"]]
            if not rows or any(r is None or not r.exact for r in rows) or len(
                    {len(r.items) for r in rows if r is not None}) != 1:
                return None
            return rows[0]
        values = []
        for item in select.get("targetList", ()):
            target = _target(item)
            values.append(target.get("val") or {})
        row = self._row(values)
        return row if row is not None and values else None

    def _targets(self, relation: dict[str, Any], cols: list[dict[str, Any]]
                 ) -> tuple[int, str] | None:
        """How many columns an INSERT writes: its list's, else its relation's (the schema's
        columns, when the schema has the relation and no script's DDL decides it)."""
        if cols:
            return len(cols), ""
        name, schema = relation.get("relname"), relation.get("schemaname")
        if not isinstance(name, str) or name in self.made:
            return None
        if schema is None:
            # Found on the search path; with several relations of the name in the schema, the
            # application's path may reach another: counted only when all agree.
            found = self.snapshot.find_relation(name)
            counts = {len(r.columns) for r in self.snapshot.relations if r.name == name}
            if found is None or len(counts) != 1:
                return None
        else:
            found = self.snapshot.relation(schema, name)
            if found is None:
                return None
        if found.schema in self.snapshot.stand_in_schemas() or not found.columns:
            return None
        return len(found.columns), found.qualified_name

    def _placeholder(self, location: int) -> tuple[str, str] | None:
        """The driver placeholder a `$n` at `location` (bytes, in the text as sent) was
        written as, and what it was replaced with; None for one written as `$n`."""
        if location < 0:
            return None
        edit = self._edit(len(self.data[:location].decode("utf-8", "replace")))
        return (self.sql[edit[0]:edit[1] + 1], edit[2]) if edit is not None else None

    def _edit(self, at: int) -> tuple[int, int, str] | None:
        """The edit of the sent text (a numbered placeholder) covering `at` (characters)."""
        if self.sent is None:
            return None
        shift = 0
        for start, end, replacement in self.sent.edits:
            if at < start + shift:
                return None
            if at < start + shift + len(replacement):
                return start, end, replacement
            shift += len(replacement) - (end - start + 1)
        return None

    # -- where -----------------------------------------------------------------------------

    def _found(self, start: int | None, end: int | None, refusal: str,
               relation: dict[str, Any], cols: list[dict[str, Any]] | None, message: str,
               *, listed: bool = False) -> Mismatch:
        counted = None
        if not cols and not listed:
            targets = self._targets(relation, [])
            counted = targets[1] if targets else None
        first = start if start is not None else 0
        return Mismatch(first, max(end if end is not None else first, first), message,
                        refusal, _written(relation), counted)

    def _column_span(self, column: dict[str, Any]) -> tuple[int | None, int | None]:
        location = column.get("location", -1)
        start = self._original(location)
        if start is None:
            return None, None
        from dbsafe.validate.resolver import _name_spans

        name = column.get("name")
        if not isinstance(name, str):
            return start, start
        return start, _name_spans(self.sql, start, [name])[-1][1]

    def _span(self, first: object, last: object | None = None
              ) -> tuple[int | None, int | None]:
        """Offsets in the original statement from the leftmost token of `first` to the end
        of the rightmost of `last` (default: `first`)."""
        locations = list(_locations(first))
        ends = list(_locations(last if last is not None else first))
        if not locations:
            return None, None
        start = self._original(min(locations))
        end_at = len(self.data[:max(ends)].decode("utf-8", "replace"))
        end = self._token_end(end_at)
        edit = self._edit(end)
        if edit is not None:  # a numbered placeholder: to the end of the one written
            return start, edit[1]
        return start, self.sent.original_offset(end) if self.sent is not None else end

    def _original(self, location: int) -> int | None:
        if location < 0:
            return None
        at = len(self.data[:location].decode("utf-8", "replace"))
        return self.sent.original_offset(at) if self.sent is not None else at

    def _token_end(self, at: int) -> int:
        """The last character of the token starting at `at` (characters, text as sent)."""
        if self._tokens is None:
            from pglast.parser import scan

            try:
                self._tokens = list(scan(self.text))
            except Exception:  # noqa: BLE001 - a lexer failure: the token's first character
                self._tokens = []
        for token in self._tokens:
            if token.start == at:
                return int(token.end)
        return at


def _n(count: int, noun: str) -> str:
    """'1 value', '3 values'."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _target(item: object) -> dict[str, Any]:
    found = item.get("ResTarget") if isinstance(item, dict) else None
    return found if isinstance(found, dict) else {}


def _written(relation: dict[str, Any] | None) -> str:
    if not relation:
        return "?"
    name = relation.get("relname", "?")
    schema = relation.get("schemaname")
    return f"{schema}.{name}" if schema else str(name)


def _expands(item: object) -> bool:
    """Whether a value as written may stand for several columns: `*`, `t.*`, `(f()).*`."""
    if not isinstance(item, dict):
        return False
    reference = item.get("ColumnRef")
    if isinstance(reference, dict):
        return any(isinstance(f, dict) and "A_Star" in f for f in reference.get("fields", ()))
    indirection = item.get("A_Indirection")
    if isinstance(indirection, dict):
        return any(isinstance(f, dict) and "A_Star" in f
                   for f in indirection.get("indirection", ()))
    return False


def _one_value(placeholder: str) -> bool:
    """Whether a driver placeholder is one value wherever it stands: psycopg's `%s` and
    `%(name)s` are (a tuple it is given becomes one row value, `(1, 2)`); a `?`, `:name` or
    `$name` may be a list a client writes out as several (knex's `?` for an array)."""
    return placeholder.startswith("%")


def _locations(node: object) -> Iterator[int]:
    """Every `location` (bytes) in `node`'s subtree."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, list):
            stack.extend(current)
        elif isinstance(current, dict):
            for key, value in current.items():
                if key == "location" and isinstance(value, int):
                    if value >= 0:
                        yield value
                elif isinstance(value, (dict, list)):
                    stack.append(value)
