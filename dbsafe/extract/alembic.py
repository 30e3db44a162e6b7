"""Render alembic revisions to SQL offline, attributing each statement to its `op.*` call.

One offline pass (`alembic upgrade base:heads --sql`) renders every revision; the output
buffer looks up, for each chunk alembic writes, the innermost stack frame that belongs to a
revision file, so a statement is attributed to the line of the `op.*` call (or
`op.execute`) that produced it. Revision boundaries come from alembic's own
`-- Running upgrade A -> B` markers; BEGIN/COMMIT that alembic emits are kept (marked
`generated`) so the lint engine sees the transaction structure, including
`autocommit_block()`.
"""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass, field
from pathlib import Path

from dbsafe.core import Location, SourceError
from dbsafe.extract.migration import Migration, MigrationStatement

_MARKER = "-- Running upgrade "


@dataclass
class _Chunk:
    text: str
    file: str | None
    line: int


class _RecordingBuffer(io.StringIO):
    """An output buffer that remembers which revision file line wrote each chunk."""

    def __init__(self, revision_files: frozenset[str]) -> None:
        super().__init__()
        self.revision_files = revision_files
        self.chunks: list[_Chunk] = []

    def write(self, text: str) -> int:
        frame = sys._getframe(1)
        while frame is not None:
            if frame.f_code.co_filename in self.revision_files:
                self.chunks.append(_Chunk(text, frame.f_code.co_filename, frame.f_lineno))
                break
            frame = frame.f_back
        else:
            self.chunks.append(_Chunk(text, None, 0))
        return super().write(text)


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


def render_revisions(alembic_ini: Path, *, root: Path, since: str | None = None) -> list[Migration]:
    """Every revision's upgrade as a `Migration`, in upgrade order.

    Args:
        alembic_ini: the alembic config; its env.py must support offline (`--sql`) mode.
        root: paths are shown relative to it.
        since: only revisions after this one (`alembic upgrade since:heads`).

    Raises:
        SourceError: the config is missing or alembic could not render the revisions.
    """
    from alembic import command
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    if not alembic_ini.is_file():
        raise SourceError(f"alembic config not found: {alembic_ini}")
    probe = Config(str(alembic_ini))
    try:
        script = ScriptDirectory.from_config(probe)
        revisions = list(script.walk_revisions())
    except Exception as exc:  # alembic raises several types for a broken script directory
        raise SourceError(f"cannot read the alembic revisions of {alembic_ini}: {exc}") from None
    by_file = {
        str(Path(rev.path).resolve()): (rev.revision, Path(rev.path).resolve())
        for rev in revisions if rev.path
    }
    buffer = _RecordingBuffer(frozenset(by_file))
    config = Config(str(alembic_ini), output_buffer=buffer)
    config.attributes["configure_logger"] = False
    try:
        command.upgrade(config, f"{since or 'base'}:heads", sql=True)
    except Exception as exc:  # env.py and revisions are user code
        raise SourceError(
            f"alembic could not render the migrations offline (--sql): "
            f"{type(exc).__name__}: {exc}"
        ) from None
    return _build(buffer.chunks, _Builder(root, by_file))


def _build(chunks: list[_Chunk], b: _Builder) -> list[Migration]:
    from dbsafe.extract.sqlfile import split_sql

    for chunk in chunks:
        text = chunk.text
        if chunk.file is None and text.startswith(_MARKER):
            _finish(b)
            b.start_state = b.pending_start_state if b.pending else b.in_transaction
            b.current = list(b.pending)
            b.pending = []
            b.current_revision = text[len(_MARKER):].split("->")[-1].strip()
            continue
        for fragment in split_sql(text, "<alembic>"):
            word = fragment.sql.split(None, 1)[0].upper().rstrip(";") if fragment.sql else ""
            if chunk.file is None:
                if word in ("BEGIN", "COMMIT", "ROLLBACK"):
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
            if b.current is None:
                b.current = list(b.pending)
                b.pending = []
            location = _location(b, chunk.file, chunk.line)
            b.current.append(MigrationStatement(fragment.sql, location))
            if word == "BEGIN":
                b.in_transaction = True
            elif word in ("COMMIT", "ROLLBACK", "END"):
                b.in_transaction = False
        if chunk.file is not None and b.current_revision is None:
            b.current_revision = b.by_file[chunk.file][0]
    _finish(b)
    return b.migrations


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
