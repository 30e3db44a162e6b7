"""Work a transaction does while it holds a lock on an existing table (DBS114, DBS125), and
what it did to a table before a statement (DBS107, DBS108).

A lock is held until the transaction ends: every slow statement after one that locked a
table lengthens the time others wait on that table.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass

from dbsafe.extract.migration import ALEMBIC_ONE
from dbsafe.lint.engine import LintContext
from dbsafe.lint.locks import Lock, from_pg_locks, locks_for
from dbsafe.lint.statement import Statement, last, range_var, same_relation

# Statements that take no lock worth waiting for, or only a moment's catalog work.
# (`CREATE TABLE` is not among them: one whose foreign keys reference existing tables
# takes SHARE ROW EXCLUSIVE on each, so it waits for their writers; `PARTITION OF` takes
# its parent ACCESS EXCLUSIVE. With no such lock it does nothing `_lengthens` counts.)
_CHEAP = frozenset({"CommentStmt", "GrantStmt", "GrantRoleStmt", "VariableSetStmt",
                    "TransactionStmt", "CreateEnumStmt", "CreateDomainStmt",
                    "CreateSeqStmt", "CreateFunctionStmt", "DoStmt"})
_DATA = frozenset({"InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt", "SelectStmt"})
_ENDS = ("commit", "rollback", "prepare")
_RELATIONS = frozenset({"table", "view", "materialized view", "foreign table"})
_NOT_RELATIONS = frozenset({"column", "constraint", "trigger", "policy", "rule"})


@dataclass(frozen=True)
class WhileLocked:
    """`statement` does slow work (`lock`, on `works_on`) while `table` is locked in `mode`
    since `first`."""

    statement: Statement
    lock: Lock
    first: Statement
    table: str
    mode: str
    works_on: str | None  # the table `lock` is on (an index's table), None for every table
    # `first` is an earlier migration's, in the transaction the runner opened for every
    # pending file (`History.open_locks`)
    carried: bool = False
    by: str = ""  # why they share it (`Migration.shares_transaction`), when `carried`
    # The name `table` had when `first` locked it, when the transaction renamed it or moved
    # it to another schema since: other sessions know it by that name until COMMIT (what
    # they wait for is `public.users`, not `iam.users`: PostgreSQL 18, then 42P01).
    taken_as: str | None = None

    @property
    def locked_words(self) -> str:
        """The locked table, for a message: "`public.users` (now `iam.users`)" after a move
        or a rename."""
        if self.taken_as is None:
            return f"`{self.table}`"
        return f"`{self.taken_as}` (now `{self.table}`)"

    @property
    def waiting_on(self) -> str:
        """The name others' reads and writes wait on: the one it had when locked."""
        return self.taken_as or self.table

    @property
    def since(self) -> str:
        """Where the lock was taken, for a message: `line 3`, or the earlier file's line."""
        at = self.first.location
        if not self.carried:
            return f"line {at.line}"
        return f"`{at.path}:{at.line}`, an earlier file of the same transaction"

    @property
    def help(self) -> str:
        """What to do, for a message's help."""
        if self.carried and self.by == ALEMBIC_ONE:
            return (f"Upgrade to `{self.first.location.path}`'s revision in a run of its own, "
                    "or set `transaction_per_migration=True` in env.py's "
                    "`context.configure()` (alembic then commits each revision), or move "
                    "this statement to a later revision. `dbsafe upgrade` commits each "
                    "revision before the next: it holds no lock across revisions.")
        if self.carried:
            return (f"Apply the migrations up to `{self.first.location.path}` in a run of "
                    "their own (the runner commits once per run), or move this statement "
                    "to a later one.")
        return ("Commit right after the statement that took the lock, or move this "
                "statement to its own migration.")

    @property
    def works_on_words(self) -> str:
        """What the statement works on, for a message."""
        if self.works_on is None:
            return "every table"
        if self.lock.target == "index" and self.works_on == self.lock.relation:
            return f"the table of index `{self.works_on}`"  # an index the history never saw
        return f"`{self.works_on}`"


def _table_of(lock: Lock, ctx: LintContext,
              renamed: Mapping[str, str] | None = None) -> str | None:
    """The table a lock is on (an index lock counts for its table, when known: under the
    name the migration's earlier renames gave it, `renamed`, as the history knows it by the
    name it had before the migration)."""
    if lock.target == "type" or lock.relation is None:
        return None
    if lock.target == "index":
        table = ctx.index_table(lock.relation)
        return (renamed or {}).get(last(table), table) if table else None
    return lock.relation


def _catalog(name: str, ctx: LintContext) -> bool:
    """Is `name` one of PostgreSQL's catalogs or views (`information_schema.columns`,
    `pg_indexes`: a bare `pg_` name neither the migrations nor the database have as a
    table of their own is pg_catalog's)? Reading one takes ACCESS SHARE locks no
    migration's DDL conflicts with, and is quick: skyvern's 12f6731887f4 asks
    information_schema.columns whether a column exists before adding it."""
    schema, _, bare = name.rpartition(".")
    if schema:
        return schema in ("pg_catalog", "information_schema")
    return bare.startswith("pg_") and ctx.history.kind_of(name) is None and \
        ctx.before_relation(name) is None


def _lengthens(statement: Statement, ctx: LintContext, locked: set[str],
               renamed: Mapping[str, str]) -> tuple[Lock, str | None] | None:
    """The lock that makes this statement slow or able to wait, if any, and its table."""
    if statement.kind in _CHEAP or (statement.kind == "SelectStmt" and
                                     not statement.node.get("fromClause")):
        return None
    for lock in locks_for(statement):
        if lock.relation is None:
            return lock, None  # whole-database maintenance
        if lock.target == "type" or last(lock.relation) == "alembic_version":
            continue
        if statement.kind == "SelectStmt" and _catalog(lock.relation, ctx):
            continue
        table = _table_of(lock, ctx, renamed) or lock.relation
        if ctx.created_before(table, statement) or ctx.new_to_database(table) or \
                _new_in_transaction(table, ctx):
            continue
        if table in locked or last(table) in locked:
            if lock.rewrites or statement.kind in _DATA:
                return lock, table
            continue  # more quick catalog work on the table already locked
        return lock, table
    return None


def _new_in_transaction(table: str, ctx: LintContext) -> bool:
    """Did an earlier migration of the transaction this one shares (a runner applying
    every pending file in one) create `table`? Nobody else sees it before COMMIT."""
    return last(table) in ctx.history.open_created


def _taken(statement: Statement, ctx: LintContext,
           renamed: Mapping[str, str]) -> Iterator[tuple[str, str]]:
    """(table, mode) of each lock the statement takes on a table others may be using."""
    for lock in locks_for(statement):
        taken = _table_of(lock, ctx, renamed)
        # (A table created here, or one the database does not have yet, keeps nobody
        # waiting: nothing deployed uses it.)
        if not taken or ctx.created_before(taken, statement) or \
                ctx.new_to_database(taken) or last(taken) == "alembic_version" or \
                _new_in_transaction(taken, ctx):
            continue
        yield taken, lock.mode


def _follow_rename(statement: Statement, held: list[tuple[Statement, str, str]],
                   renamed: dict[str, str]) -> tuple[list[tuple[Statement, str, str]],
                                                     dict[str, str]]:
    """`held` and `renamed` after the statement, when it renames a table, or moves one to
    another schema (`ALTER TABLE public.users SET SCHEMA iam`: the same table, still
    locked, is `iam.users` to the transaction from then on): later statements use its new
    name."""
    moved_to = statement.node.get("newschema") if statement.kind == "AlterObjectSchemaStmt" \
        else None
    moved = range_var(statement.node.get("relation")) if moved_to else None
    if moved_to and moved:
        return [(s, f"{moved_to}.{last(t)}" if same_relation(t, moved) else t, m)
                for s, t, m in held], renamed
    rename = statement.rename
    if rename is None or not rename.relation or rename.object != rename.relation_kind:
        return held, renamed
    held = [(s, rename.new if last(t) == last(rename.relation) else t, m) for s, t, m in held]
    old = last(rename.relation)
    renamed = {before: rename.new if now == old else now for before, now in renamed.items()}
    renamed.setdefault(old, rename.new)
    return held, renamed


def open_at_end(ctx: LintContext) -> tuple[tuple[tuple[Statement, str, str], ...],
                                           frozenset[str]]:
    """What the transaction open at the end of the migration holds, for the next migration
    that runs in it (`Migration.shares_transaction`): the locks on existing tables, the
    ones the migrations before it took (`History.open_locks`) first, and the relations
    created in it (unqualified). Nothing once a statement ends the transaction (a COMMIT
    of the file's own), or runs outside one. A table dropped since holds nobody: whoever
    waits for it gets 42P01 at COMMIT (DBS201)."""
    held = list(ctx.history.open_locks)
    created = set(ctx.history.open_created)
    renamed: dict[str, str] = {}
    for statement in ctx.statements:
        if statement.deferred:
            continue
        if _ends_transaction(statement):
            held, created = [], set()
            continue
        if statement.kind == "DropStmt" and statement.object_kind in _RELATIONS:
            names = {last(name) for name in statement.dropped}  # (`same_relation`'s)
            held = [item for item in held if last(item[1]) not in names
                    or not any(same_relation(item[1], name) for name in statement.dropped)]
        held += [(statement, table, mode) for table, mode in _taken(statement, ctx, renamed)]
        created.update(last(name) for name in statement.creates)
        held, renamed = _follow_rename(statement, held, renamed)
    return tuple(held), frozenset(created)


def _denied(statement: Statement, table: str, modes: Collection[str]) -> bool:
    """Did PostgreSQL show, when the statement ran on a throwaway server, that `table` was
    not locked in one of `modes` at that point?"""
    observed = statement.observed
    if observed is None:
        return False
    return not any(from_pg_locks(mode) in modes and same_relation(name, table)
                   for name, mode, _kind in observed.held)


def _ends_transaction(statement: Statement) -> bool:
    # (a BEGIN inside an open block is a no-op: what the block locked stays locked)
    return (statement.transaction == "begin" and not statement.nested) or \
        not statement.in_transaction or statement.transaction in _ENDS


def _gone_at_commit(statements: list[Statement]) -> dict[int, dict[str, list[str]]]:
    """Statement index -> the relations its transaction drops and makes no relation of the
    same name again after, by unqualified name (for the first statement of each transaction
    that drops any). A drop read from a DO block counts: the branch not taken locks
    nothing either."""
    gone: dict[int, dict[str, list[str]]] = {}
    start = 0
    dropped: dict[str, dict[str, bool]] = {}  # bare name -> name -> made again since

    def close() -> None:
        left: dict[str, list[str]] = {}
        for bare, names in dropped.items():
            kept = [name for name, again in names.items() if not again]
            if kept:
                left[bare] = kept
        if left:
            gone[start] = left

    for statement in statements:
        if statement.deferred:
            continue
        if _ends_transaction(statement):
            close()
            start, dropped = statement.index + 1, {}
            continue
        if dropped:
            for made in statement.creates:
                names = dropped.get(last(made), {})
                for name in names:
                    if same_relation(name, made):
                        names[name] = True
            rename = statement.rename
            if rename is not None and rename.object not in _NOT_RELATIONS:
                names = dropped.get(rename.new, {})
                for name in names:
                    names[name] = True
        if statement.kind == "DropStmt" and statement.object_kind in _RELATIONS:
            for name in statement.dropped:
                dropped.setdefault(last(name), {})[name] = False
    close()
    return gone


def _in(table: str, gone: dict[str, list[str]]) -> bool:
    return any(same_relation(table, name) for name in gone.get(last(table), ()))


def _transaction_starts(statements: list[Statement]) -> dict[int, int]:
    """Statement index -> the index of the first statement of the transaction block it runs
    in (`_gone_at_commit`'s keys), for the statements inside one."""
    starts: dict[int, int] = {}
    start = 0
    for statement in statements:
        if statement.deferred:
            continue
        if _ends_transaction(statement):
            start = statement.index + 1
            continue
        starts[statement.index] = start
    return starts


def back_in_transaction(earlier: Sequence[Statement]) -> Iterator[tuple[int, Statement]]:
    """The statements of the transaction `earlier` ends in (the statements before one,
    oldest first), newest first with their index, back to its start (or an earlier one's
    end); savepoints stay inside it."""
    for i in range(len(earlier) - 1, -1, -1):
        s = earlier[i]
        if s.transaction is not None and s.transaction not in ("savepoint", "release") \
                and not s.nested:
            return
        yield i, s


def writes_kept_out(earlier: Sequence[Statement], table: str) -> bool | None:
    """Did the transaction `earlier` ends in (the statements before one, oldest first)
    lock `table` against other sessions' writes before these, until COMMIT: TRUNCATE,
    `LOCK TABLE` in SHARE mode or stronger, an ALTER TABLE, a CREATE INDEX? Looked for back
    to the transaction's start; None when a statement there may have (one lint could not
    read, a procedure called)."""
    unknown = False
    for _, s in back_in_transaction(earlier):
        if s.deferred:
            continue
        if not s.parsed or s.unread is not None or s.kind == "CallStmt":
            unknown = True
            continue
        if s.kind == "LockStmt" and not all(
                item.get("RangeVar", item).get("inh") for item in s.node.get("relations") or ()):
            continue  # LOCK TABLE ONLY: the children stay writable (as TRUNCATE ONLY's)
        if any(lock.target == "table" and lock.blocks_writes
               and same_relation(lock.relation, table) for lock in locks_for(s)):
            return True
    return None if unknown else False


# Statements that may write rows into a table lint cannot tell: a procedure, a DO block.
_MAY_WRITE = frozenset({"CallStmt", "DoStmt"})
_ADDS_ROWS = frozenset({"InsertStmt", "MergeStmt"})


def _relations(statement: Statement) -> list[str]:
    """The tables a TRUNCATE or LOCK TABLE names, each with its children (not ONLY)."""
    names = []
    for item in statement.node.get("relations") or ():
        rv = item.get("RangeVar", item)
        name = range_var(rv)
        if name and rv.get("inh"):  # (ONLY: the parser leaves it out)
            names.append(name)
    return names


def emptied_first(statement: Statement, ctx: LintContext,
                  table: str) -> tuple[Statement, bool] | None:
    """The statement earlier in this transaction that left `table` without a row — a
    DELETE without WHERE or USING, or a TRUNCATE, of it and its children — and whether no
    other session can have written one since (TRUNCATE's lock, or a lock keeping writes
    out taken before the DELETE: `writes_kept_out`). None when there is none, or when a
    statement in between may have added rows (or a `ROLLBACK TO SAVEPOINT` undone it).
    DBS108 (no row: an added NOT NULL column cannot fail) and DBS107 (a TRUNCATE's new,
    empty file: nothing to scan; a DELETE leaves the dead rows the scan still reads)."""
    if not statement.in_transaction:
        return None
    earlier = ctx.statements[:statement.index]
    # (back to the transaction's start: rows before it are unknown)
    for i, s in back_in_transaction(earlier):
        if s.deferred:
            continue
        if not s.parsed or s.unread is not None or s.kind in _MAY_WRITE or (
                s.kind == "CopyStmt" and s.node.get("is_from")):
            return None
        if (s.kind in _ADDS_ROWS and same_relation(s.relation, table)) or \
                _nested_insert(s.node):
            return None
        if s.kind == "TruncateStmt" and any(ctx.same_table(name, s, table, statement)
                                            for name in _relations(s)):
            return s, True
        if s.kind == "DeleteStmt" and s.relation and \
                ctx.same_table(s.relation, s, table, statement) and \
                s.node.get("relation", {}).get("inh") and \
                not s.node.get("whereClause") and not s.node.get("usingClause"):
            return s, writes_kept_out(earlier[:i], table) is True
    return None


def truncated_first(statement: Statement, ctx: LintContext, table: str) -> bool:
    """Whether a TRUNCATE of `table` earlier in this transaction left it empty, no row added
    since (`emptied_first`): a rewrite, scan or index build a later statement does on it
    reads the new, empty file TRUNCATE gave it, under the ACCESS EXCLUSIVE lock TRUNCATE
    holds until COMMIT anyway (verified on PostgreSQL 18: no row read). DBS101, DBS106,
    DBS107, DBS109, DBS110, DBS111 (AppFlowy-Cloud's `af_collab_embeddings`)."""
    truncates = ctx.cache.get("truncates")  # (the positions of the migration's TRUNCATEs)
    if truncates is None:
        truncates = ctx.cache["truncates"] = [
            i for i, s in enumerate(ctx.statements) if s.kind == "TruncateStmt"]
    if not statement.in_transaction or not truncates or truncates[0] >= statement.index or not any(
            s.kind == "TruncateStmt" and any(same_relation(name, table) for name in _relations(s))
            for _, s in back_in_transaction(ctx.statements[:statement.index])):
        return False  # (no TRUNCATE of it to find: `emptied_first` walks every tree back)
    emptied = emptied_first(statement, ctx, table)
    return emptied is not None and emptied[0].kind == "TruncateStmt"


def _nested_insert(node: object) -> bool:
    """Does a parse tree hold an INSERT or MERGE below its top (a data-modifying CTE's)?"""
    if isinstance(node, dict):
        return any(key in _ADDS_ROWS or _nested_insert(value) for key, value in node.items())
    if isinstance(node, list):
        return any(_nested_insert(item) for item in node)
    return False


def dropped_at_commit(ctx: LintContext, statement: Statement, table: str) -> bool:
    """Whether the transaction block `statement` runs in drops `table` for good (and makes
    no relation of its name again): whoever waits for a lock on it gets 42P01 at COMMIT,
    however soon that comes, and DBS201 is the finding about them. Found once per
    migration (`ctx.cache`), as for DBS114 and DBS125."""
    gone_by_start = ctx.cache.get("gone_at_commit")
    if gone_by_start is None:
        gone_by_start = ctx.cache["gone_at_commit"] = _gone_at_commit(ctx.statements)
    if not gone_by_start:
        return False
    starts = ctx.cache.get("transaction_starts")
    if starts is None:
        starts = ctx.cache["transaction_starts"] = _transaction_starts(ctx.statements)
    start = starts.get(statement.index)
    return start is not None and _in(table, gone_by_start.get(start, {}))


def _counted(held: list[tuple[Statement, str, str]], stronger: Collection[str],
             gone: dict[str, list[str]]) -> tuple[list[tuple[Statement, str, str]], set[str]]:
    """`_counting` each lock of `held`, in one pass: (live, locked)."""
    kept = [item for item in held if item[1] not in stronger and last(item[1]) not in stronger] \
        if stronger else held
    live = [item for item in kept if not _in(item[1], gone)] if gone else list(kept)
    return live, {name for _, table, _ in kept for name in (table, last(table))}


def _counting(item: tuple[Statement, str, str], stronger: Collection[str],
              gone: dict[str, list[str]], live: list[tuple[Statement, str, str]],
              locked: set[str]) -> None:
    """Count lock `item` of `work_while_locked`'s `held` (`_counted` does it for them
    all): none on a table locked in one of the `unless` modes (`stronger`) counts. One on a
    table the transaction drops for good (`gone`) is no table whose readers it keeps
    waiting: whoever waits for it fails anyway, and more work on it is quick (it goes into
    `locked`, not `live`)."""
    _, table, _ = item
    if table in stronger or last(table) in stronger:
        return
    if not _in(table, gone):
        live.append(item)
    locked.update((table, last(table)))


def work_while_locked(ctx: LintContext, modes: Collection[str], *,
                      unless: Collection[str] = ()) -> Iterator[WhileLocked]:
    """The first statement of each transaction that does slow work while an existing table
    is locked in one of `modes` (and in none of `unless`, another rule's) by an earlier one.

    A table the transaction drops for good counts for nothing: whoever waits for it gets
    42P01 at COMMIT however soon that comes (DBS201 says so). One it makes again under the
    name (created, or another renamed to it) counts: its readers wait, then read the new one.

    In a transaction the migration shares with those before it (a runner applying every
    pending file in one), what they locked is still held when it starts
    (`History.open_locks`): its first slow statement is found too, one per migration, with
    `first` the earlier migration's statement that took the lock.
    """
    carried = ctx.history.open_locks
    # (statement, table, mode)
    held: list[tuple[Statement, str, str]] = [item for item in carried if item[2] in modes]
    # tables locked in one of `unless`
    stronger: set[str] = {name for _, table, mode in carried if mode in unless
                          for name in (table, last(table))}
    # Tables the migration renamed so far, by the name they had before it -> the name now
    # (OpenHands 079 renames `user_secrets`, then drops its index: on `custom_secrets`).
    renamed: dict[str, str] = {}
    # Locked tables the transaction renamed or moved since, by their name now -> the name
    # they had when locked (`WhileLocked.taken_as`).
    taken_as: dict[str, str] = {}
    reported = False
    gone_by_start = ctx.cache.get("gone_at_commit")  # (DBS114's and DBS125's alike)
    if gone_by_start is None:
        gone_by_start = ctx.cache["gone_at_commit"] = _gone_at_commit(ctx.statements)
    gone = gone_by_start.get(0, {})
    # What of `held` counts (`_counting`), kept as locks are taken; None: to be read again
    # (with a runner's one transaction for every file, `held` carries thousands of locks)
    counted: tuple[list[tuple[Statement, str, str]], set[str]] | None = None
    for statement in ctx.statements:
        if statement.deferred:
            continue  # a function's body runs when it is called, not here
        if _ends_transaction(statement):
            held, stronger, reported, taken_as, counted = [], set(), False, {}, None
            gone = gone_by_start.get(statement.index + 1, {})
            continue
        live: list[tuple[Statement, str, str]] = []
        if not reported and not statement.generated:  # (only while there is one to report)
            if counted is None:
                counted = _counted(held, stronger, gone)
            live, locked = counted
        if live:
            slow = _lengthens(statement, ctx, locked, renamed)
            if slow is not None and not _denied(statement, live[0][1], modes):
                reported = True
                first, table, mode = live[0]
                was = taken_as.get(table)
                lock, works_on = slow
                if same_relation(works_on, table):
                    # one table, named with its schema once (`public."user"`) and once not:
                    # said the same way twice, the longer
                    table = works_on = max(table, works_on or table, key=len)
                yield WhileLocked(statement, lock, first, table, mode, works_on,
                                  carried=any(first is s for s, _, _ in carried),
                                  by=ctx.migration.shares_transaction, taken_as=was)
        for taken, mode in _taken(statement, ctx, renamed):
            if mode in unless:
                stronger |= {taken, last(taken)}
                counted = None
            elif mode in modes:
                held.append((statement, taken, mode))
                if counted is not None:
                    _counting(held[-1], stronger, gone, *counted)
        before = held
        held, renamed = _follow_rename(statement, held, renamed)
        if held is not before:  # (a table renamed: its locks are on the new name)
            counted = None
            for (_, old, _), (_, now, _) in zip(before, held):
                if old != now:
                    was = taken_as.pop(old, old)
                    if was != now:
                        taken_as[now] = was
