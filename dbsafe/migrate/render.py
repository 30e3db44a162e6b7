"""Alembic revisions as `Migration`s: rendered to SQL offline, or captured as they ran.

Captured (`captured_migrations`): built from `runner.capture`, each statement as PostgreSQL
received it on a throwaway server, with its `op.*` line and what PostgreSQL showed.

Offline (`render_revisions`): each statement attributed to its `op.*` call.

One offline pass (`alembic upgrade base:heads --sql`) renders every revision; the child's
output buffer looks up, for each chunk alembic writes, the innermost stack frame that belongs to a
revision file, so a statement is attributed to the line of the `op.*` call (or
`op.execute`) that produced it. Revision boundaries come from alembic's own
`-- Running upgrade A -> B` markers; BEGIN/COMMIT that alembic emits are kept (marked
`generated`) so the lint engine sees the transaction structure, including
`autocommit_block()`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from dbsafe.core import Location, SourceError
from dbsafe.extract.migration import Migration, MigrationStatement
from dbsafe.migrate.runner import (
    AlembicProject,
    CapturedStatement,
    MigrationError,
    RunResult,
    render_offline,
)
from dbsafe.pg.parse import begins_or_ends_transaction, begins_transaction, setting_scope

_MARKER = "-- Running upgrade "


@dataclass
class _Chunk:
    text: str
    file: str | None
    line: int


@dataclass
class _Builder:
    root: Path
    by_file: dict[str, tuple[str, Path]]  # revision file -> (revision id, path)
    migrations: list[Migration] = field(default_factory=list)
    current: list[MigrationStatement] | None = None
    current_revision: str | None = None
    pending: list[MigrationStatement] = field(default_factory=list)
    in_transaction: bool = False
    start_state: bool = False
    pending_start_state: bool = False
    lines: dict[str, list[str]] = field(default_factory=dict)
    # The settings env.py gave its session (`context.execute("SET search_path TO phx")`),
    # each with whether its transaction's end undoes it (`SET LOCAL`): they hold for each
    # revision rendered after them, as the capture's generated SETs do.
    settings: list[tuple[str, bool]] = field(default_factory=list)


def render_revisions(project: AlembicProject | Path, *, root: Path,
                     since: str | None = None, until: str | None = None) -> list[Migration]:
    """Every revision's upgrade as a `Migration`, in upgrade order.

    Rendering runs the project's env.py in offline mode, in the sandboxed child process
    (`dbsafe.migrate.runner`): no database is touched, and a placeholder `sqlalchemy.url`
    such as `driver://user:pass@localhost/dbname` is fine.

    Args:
        project: the alembic environment (or just its alembic.ini).
        root: paths are shown relative to it.
        since: only revisions after this one (`alembic upgrade since:heads`).
        until: only up to this one (any revision identifier alembic reads, such as `rev-1`).

    Raises:
        SourceError: the config is missing or alembic could not render the revisions.
    """
    if isinstance(project, Path):
        project = AlembicProject(project)
    try:
        result = render_offline(project, since=since, until=until)
    except MigrationError as exc:
        # The cause names the revision: lint reports it as a finding (DBS005).
        raise SourceError(f"alembic could not render the migrations offline (--sql): {exc}") \
            from exc
    by_file = {
        str(rev.path): (rev.revision, rev.path) for rev in result.revisions if rev.path
    }
    chunks = [_Chunk(text, file, line) for text, file, line in result.chunks]
    return _build(chunks, _Builder(root, by_file))


def _build(chunks: list[_Chunk], b: _Builder) -> list[Migration]:
    from dbsafe.extract.sqlfile import split_sql

    for chunk in chunks:
        text = chunk.text
        if chunk.file is None and text.startswith(_MARKER):
            _finish(b)
            b.start_state = b.pending_start_state if b.pending else b.in_transaction
            _start(b)
            b.current_revision = text[len(_MARKER):].split("->")[-1].strip()
            continue
        for fragment in split_sql(text, "<alembic>"):
            word = fragment.sql.split(None, 1)[0].upper().rstrip(";") if fragment.sql else ""
            if any(local for _sql, local in b.settings) and \
                    begins_or_ends_transaction(fragment.sql) and \
                    not begins_transaction(fragment.sql):
                b.settings = [(sql, local) for sql, local in b.settings if not local]
            if chunk.file is None:
                scope = setting_scope(fragment.sql)
                if scope is not None:
                    # env.py's own (alembic's are BEGIN/COMMIT and its version table's):
                    # once dropped, and the revisions' unqualified names were looked up on
                    # the default search_path, not on the one it set. (A SET LOCAL outside
                    # a transaction sets nothing.)
                    if scope == "session" or b.in_transaction:
                        b.settings.append((fragment.sql, scope == "transaction"))
                elif word in ("BEGIN", "COMMIT", "ROLLBACK"):
                    statement = MigrationStatement(fragment.sql, Location("<alembic>", 1),
                                                   generated=True)
                    if word == "BEGIN":
                        # alembic opens the next revision's transaction before its marker.
                        if not b.pending:
                            b.pending_start_state = b.in_transaction
                        b.pending.append(statement)
                        b.in_transaction = True
                    else:
                        (b.current if b.current is not None else b.pending).append(statement)
                        b.in_transaction = False
                continue  # alembic_version bookkeeping
            current = b.current if b.current is not None else _start(b)
            location = _location(b, chunk.file, chunk.line)
            current.append(MigrationStatement(fragment.sql, location))
            if word == "BEGIN":
                b.in_transaction = True
            elif word in ("COMMIT", "ROLLBACK", "END"):
                b.in_transaction = False
        if chunk.file is not None and b.current_revision is None:
            b.current_revision = b.by_file[chunk.file][0]
    _finish(b)
    return b.migrations


def _start(b: _Builder) -> list[MigrationStatement]:
    """Begin the next revision's statements (returned): the BEGIN alembic wrote before its
    marker, then the settings env.py gave the session, generated."""
    b.current = [*b.pending, *(MigrationStatement(sql, Location("<alembic>", 1), generated=True)
                               for sql, _local in b.settings)]
    b.pending = []
    return b.current


def _finish(b: _Builder) -> None:
    if b.current is None or b.current_revision is None:
        return
    files = [path for rev, path in b.by_file.values() if rev == b.current_revision]
    file = files[0] if files else None
    shown = _display(file, b.root) if file else b.current_revision
    b.migrations.append(Migration(
        shown, tuple(b.current), revision=b.current_revision, kind="alembic", file=file,
        starts_in_transaction=b.start_state,
    ))
    b.current = None
    b.current_revision = None


def _setting(name: str, value: str) -> str | None:
    """The SET giving a session's setting as the capture read it; `search_path` from the
    list PostgreSQL spells (each name quoted: `SET search_path = 'a, b'` would name one
    schema, `"a, b"`), None for one that cannot be read.

    >>> _setting("lock_timeout", "5s"), _setting("search_path", 'phx, "$user", "a""b" ')
    ("SET lock_timeout = '5s'", 'SET search_path TO "phx", "$user", "a""b"')
    >>> _setting("search_path", '""'), _setting("search_path", '"open')
    ("SET search_path TO ''", None)
    """
    from dbsafe.config import split_search_path

    if name != "search_path":
        return f"SET {name} = '{value.replace(chr(39), chr(39) * 2)}'"
    # (an empty path reads back as `""`)
    schemas = () if value.strip() == '""' else split_search_path(value)
    if schemas is None:
        return None
    return "SET search_path TO " + (", ".join('"' + s.replace('"', '""') + '"' for s in schemas)
                                    or "''")


def _location(b: _Builder, file: str, line: int) -> Location:
    lines = b.lines.get(file)
    if lines is None:
        lines = b.lines[file] = Path(file).read_text(encoding="utf-8").splitlines()
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    column = len(text) - len(text.lstrip()) + 1
    return Location(_display(Path(file), b.root), line, column)


def _display(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


# -- captured: the statements as they ran on a throwaway server -------------------------------


def captured_migrations(result: RunResult, *, root: Path) -> list[Migration]:
    """Each revision that ran in a capture (`dbsafe.migrate.runner.capture`) as a `Migration`.

    Statements keep their `op.*` line and what PostgreSQL showed (`Observed`); SQLAlchemy's
    reflection queries (`sa.inspect(bind)`) are left out. The transaction structure comes from
    the session itself: where a statement runs in a different state than the one before it
    (alembic's `autocommit_block()`, `transaction_per_migration`), a generated BEGIN or
    COMMIT is inserted, as offline rendering has them. Revisions are in upgrade order; a
    revision that ran no statement is still there (empty), and those after a failure are not.
    """
    from dbsafe.extract.migration import Observed, TypeMadeEarlier, Waited

    by_revision: dict[str, list[CapturedStatement]] = {}
    for captured in result.captured:
        by_revision.setdefault(captured.revision, []).append(captured)
    failed = (result.capture_error or {}).get("revision")
    ran = None if failed is None else set(by_revision) | _ancestors(result, failed)
    b = _Builder(root, {})
    migrations: list[Migration] = []
    state: bool | None = None
    for revision in reversed(result.revisions):
        if ran is not None and revision.revision not in ran:
            continue  # after the failing revision: never ran
        statements = by_revision.get(revision.revision, [])
        # The timeouts (and search_path) env.py set on the session hold for the revision:
        # shown as the SET that gives them, generated like alembic's BEGIN, before its first
        # statement.
        out: list[MigrationStatement] = [
            MigrationStatement(sql, Location("<alembic>", 1), generated=True)
            for name, value in (statements[0].settings if statements else ())
            if (sql := _setting(name, value)) is not None]
        states = list(_transaction_states(statements))
        starts = next((running for _, running, _ in states if running is not None),
                      state if state is not None else True)
        current = starts
        for s, running, after in states:
            if s.introspection:
                continue
            running = current if running is None else running
            if running != current:
                marker = "BEGIN" if running else "COMMIT"
                out.append(MigrationStatement(marker, Location("<alembic>", 1), generated=True))
            current = running if after is None else after
            observed = None
            if s.locks is not None:
                observed = Observed(
                    tuple((f"{a}.{b_}", m, k) for a, b_, k, m in s.locks),
                    tuple((f"{a}.{b_}", m, k) for a, b_, k, m in (s.held or ())),
                    tuple(f"{a}.{b_}" for a, b_ in (s.rewritten or ())),
                    tuple((f"{a}.{b_}", m, k) for a, b_, k, m in s.inherited),
                    None if s.scanned is None else tuple(f"{a}.{b_}" for a, b_ in s.scanned),
                )
            waited = None
            if s.waited is not None:
                w = s.waited
                waited = Waited(w.relation, w.mode, _location(b, w.holder_file, w.holder_line)
                                if w.holder_file else None)
            out.append(MigrationStatement(s.sql.strip(), _location(b, s.file, s.line),
                                          observed=observed, waited=waited))
        state = current
        file = revision.path
        made_earlier = tuple(
            TypeMadeEarlier(t.name if t.schema is None else f"{t.schema}.{t.name}", t.kind,
                            _location(b, t.file, t.line), t.made_by,
                            _location(b, t.made_file, t.made_line)
                            if t.made_file and t.made_line else None, t.exists,
                            (revision.down_revision,) if isinstance(revision.down_revision, str)
                            else tuple(revision.down_revision or ()))
            for t in result.skipped_types if t.revision == revision.revision)
        migrations.append(Migration(
            _display(file, root) if file else revision.revision, tuple(out),
            revision=revision.revision, kind="alembic", file=file,
            starts_in_transaction=starts, types_made_earlier=made_earlier,
        ))
    return migrations


def _transaction_states(statements: list[CapturedStatement]) -> Iterator[
        tuple[CapturedStatement, bool | None, bool | None]]:
    """Each statement of a revision with the transaction state it runs in and the one it
    leaves, when the revision runs as the first pending one of an `alembic upgrade` (None:
    unknown, or for the first: the state alembic gives the revision).

    The capture says which state the session was in after each statement. A COMMIT or
    ROLLBACK runs in the state before it, and leaves the one after it. Statements of a
    later revision of the run (not `first_in_run`) that ran outside a transaction though
    the driver was not in autocommit mode ran there because an earlier revision ended
    alembic's transaction with a raw `COMMIT`, after which psycopg2 sends no BEGIN: run
    first, the revision runs in the transaction alembic opens for it (25001 for a
    CONCURRENTLY index), until its own COMMIT, `autocommit_block()` or BEGIN.
    """

    carried = bool(statements) and not statements[0].first_in_run
    current: bool | None = None
    block = False  # the statement before ran in autocommit (`autocommit_block()`)
    for s in statements:
        after = s.in_transaction
        if carried and not (after is False and s.autocommit is False
                            and not begins_or_ends_transaction(s.sql)):
            carried = False
        if carried:
            running: bool | None = True
            after = True
        elif s.autocommit and after and begins_transaction(s.sql):
            # a BEGIN in `autocommit_block()` opens the revision's own transaction: the
            # block's start committed alembic's (no statement shows it), and only one an
            # earlier statement of the block opened makes it nested
            running = block and bool(current)
        elif after is False and current is not False and begins_or_ends_transaction(s.sql):
            # (first: a COMMIT ends the transaction alembic opened, unless in autocommit)
            running = current if current is not None else s.autocommit is False
        else:
            running = after
        yield s, running, after
        if not s.introspection:
            current = after if after is not None else running if running is not None \
                else current
            block = bool(s.autocommit)


def _ancestors(result: RunResult, revision: str) -> set[str]:
    """`revision` and every revision it depends on."""
    parents = {r.revision: r.down_revision for r in result.revisions}
    seen: set[str] = set()
    todo = [revision]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        down = parents.get(current)
        if isinstance(down, str):
            todo.append(down)
        elif down:
            todo.extend(down)
    return seen
