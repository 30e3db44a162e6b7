"""Facts about a history's revisions that need no database: order, checksums, downgrades.

Checksums are what alembic lacks and Flyway, Liquibase and Atlas have: a hash of each
revision file, recorded when dbsafe applies it, so an edit after the fact shows up.
"""

from __future__ import annotations

import ast
import difflib
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from dbsafe.core import DbsafeError
from dbsafe.extract.newer_python import parse
from dbsafe.migrate.runner import Revision


def checksum(path: Path | None, *, normalized: bool = False) -> str:
    """sha256 of a revision file ('' when the file is unknown).

    With `normalized`, the hash is of the file's Python syntax tree without docstrings, so
    formatting and comments do not change it while any change to the code or to the SQL
    strings it runs does (what `dbsafe lock` records). A file that does not parse falls back
    to its bytes.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (d / "a.py").write_text('def upgrade():\\n    op.execute("SELECT 1")\\n')
        >>> _ = (d / "b.py").write_text('# note\\ndef upgrade():  # here\\n\\n    op.execute(\\n'
        ...                             '        "SELECT 1"\\n    )\\n')
        >>> checksum(d / "a.py", normalized=True) == checksum(d / "b.py", normalized=True)
        True
        >>> checksum(d / "a.py") == checksum(d / "b.py")
        False
    """
    if path is None:
        return ""
    try:
        data = path.read_bytes()
    except OSError:
        return ""
    if normalized and path.suffix == ".py":
        try:
            tree = ast.parse(data, filename=str(path))
        except (SyntaxError, ValueError):
            pass
        else:
            data = ast.dump(_without_docstrings(tree), include_attributes=False).encode()
    return hashlib.sha256(data).hexdigest()


# What `dbsafe upgrade` records of a revision it applies (`dbsafe.history.checksums`): the
# checksum of its syntax tree, as `dbsafe lock` takes it, marked so; rows written before
# hold the sha256 of the file's bytes, and are compared with that.
APPLIED_TREE = "tree:"


def applied_checksum(path: Path | None) -> str:
    """The checksum `dbsafe upgrade` records for the revision file `path` it applied."""
    found = checksum(path, normalized=True)
    return f"{APPLIED_TREE}{found}" if found else ""


def edited_since_applied(recorded: str, path: Path | None) -> str | None:
    """The checksum of `path` now, as `recorded` was taken, when the revision changed since
    (None when it did not, or either is unknown). Reformatting, comments and docstrings
    are no change, as for `dbsafe verify-lock`: `recorded` is of the syntax tree; an older
    row's, of the bytes, is compared with the bytes.

    Example:
        >>> import tempfile, pathlib
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "0001.py"
        >>> _ = f.write_text('def upgrade():\\n    op.execute("SELECT 1")\\n')
        >>> then = applied_checksum(f)
        >>> _ = f.write_text("'''Create Date: 2020'''\\ndef upgrade():  # x\\n"
        ...                  '    op.execute(\\n        "SELECT 1"\\n    )\\n')
        >>> edited_since_applied(then, f) is None
        True
        >>> _ = f.write_text('def upgrade():\\n    op.execute("SELECT 2")\\n')
        >>> edited_since_applied(then, f) is not None
        True
    """
    now = applied_checksum(path) if recorded.startswith(APPLIED_TREE) else checksum(path)
    return now if recorded and now and now != recorded else None


def short_checksum(value: str) -> str:
    """The first 12 hex digits of a recorded or computed checksum, for a message."""
    return value.removeprefix(APPLIED_TREE)[:12]


def _without_docstrings(tree: ast.Module) -> ast.Module:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


@dataclass(frozen=True, slots=True)
class Downgrade:
    """A revision file's module-level `downgrade()`, as far as its source tells."""

    line: int  # of `def downgrade`; 1 when there is none
    column: int
    kind: str | None  # "missing" | "empty" | "raises"; None when it does something


def find_downgrade(path: Path) -> Downgrade:
    """Read a revision file's `downgrade()` (the one reading both DBS210 and guard use).

    Raises:
        OSError, UnicodeDecodeError, SyntaxError, ValueError: the file cannot be read or parsed.
    """
    tree = parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == "downgrade":
            effective = [s for s in node.body if not _does_nothing(s)]
            kind = None
            if not effective:
                kind = "empty"
            elif len(effective) == 1 and isinstance(effective[0], ast.Raise):
                kind = "raises"
            return Downgrade(node.lineno, node.col_offset + 1, kind)
    return Downgrade(1, 1, "missing")


def downgrade_branches_on_offline_mode(path: Path | None) -> bool:
    """Does a revision file's `downgrade()` ask whether it runs offline: call
    `is_offline_mode()` (`context.` or `op.get_context().`, imported or not) or read
    `as_sql` (`op.get_context().as_sql`), itself or in a function of the file it calls (a
    `_has_column()` answering False offline)? Its offline render (`alembic downgrade --sql`)
    then shows the offline branch only: what it runs online is in no rendered SQL.

    Example:
        >>> import tempfile, pathlib
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "r.py"
        >>> _ = f.write_text("def downgrade():\\n    if not context.is_offline_mode():\\n"
        ...                  "        op.execute('UPDATE t SET n = 0')\\n")
        >>> downgrade_branches_on_offline_mode(f)
        True
        >>> _ = f.write_text("def upgrade():\\n    context.is_offline_mode()\\n\\n"
        ...                  "def downgrade():\\n    op.execute('UPDATE t SET n = 0')\\n")
        >>> downgrade_branches_on_offline_mode(f)
        False
        >>> _ = f.write_text("def _has(c):\\n    if op.get_context().as_sql:\\n"
        ...                  "        return False\\n    return c in cols()\\n\\n"
        ...                  "def downgrade():\\n    if _has('n'):\\n        op.drop_column('t', 'n')\\n")
        >>> downgrade_branches_on_offline_mode(f)
        True
    """
    if path is None:
        return False
    try:
        tree = parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
        return False
    functions = {node.name: node for node in tree.body
                 if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    # downgrade() and the functions of the file it calls, directly or through another
    to_read, seen = ["downgrade"], set()
    while to_read:
        name = to_read.pop()
        if name in seen or name not in functions:
            continue
        seen.add(name)
        for node in ast.walk(functions[name]):
            if isinstance(node, ast.Attribute) and node.attr == "as_sql":
                return True
            if not isinstance(node, ast.Call):
                continue
            called = (node.func.attr if isinstance(node.func, ast.Attribute)
                      else node.func.id if isinstance(node.func, ast.Name) else None)
            if called == "is_offline_mode":
                return True
            if isinstance(node.func, ast.Name):
                to_read.append(node.func.id)
    return False


_PROBLEMS = {"empty": "downgrade() does nothing", "raises": "downgrade() only raises",
             "missing": "there is no downgrade()"}


def downgrade_problem(path: Path | None, *, schema_kept: bool = False) -> str | None:
    """What is wrong with a revision's `downgrade()`, or None when it does something.
    `schema_kept`: the revision is known to change no schema (`dbsafe lint` captured it
    changing rows only, or running nothing), so an empty downgrade() takes the schema
    back; the rows stay.

    Example:
        >>> import tempfile, pathlib
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "r.py"
        >>> _ = f.write_text("def upgrade():\\n    op.x()\\n\\ndef downgrade():\\n    pass\\n")
        >>> downgrade_problem(f)
        'downgrade() does nothing'
        >>> _ = f.write_text("def upgrade():\\n    pass\\n\\ndef downgrade():\\n    pass\\n")
        >>> downgrade_problem(f) is None  # a merge revision: nothing to undo
        True
    """
    if path is None:
        return "the revision file is unknown"
    try:
        downgrade = find_downgrade(path)
        if downgrade.kind == "empty" and (schema_kept or _upgrade_does_nothing(path)):
            return None  # a merge revision (or an empty one): its empty downgrade undoes it
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError) as exc:
        return f"the revision file does not parse ({exc})"
    return _PROBLEMS[downgrade.kind] if downgrade.kind else None


def needs_capture(path: Path | None) -> bool:
    """Is whether `downgrade()` takes the schema back a matter of what the revision runs
    (its downgrade() is empty, its upgrade() is not): only lint's capture tells."""
    return downgrade_problem(path) == _PROBLEMS["empty"]


def way_back(path: Path | None, *, schema_kept: bool | None, told_by: str = "") -> str | None:
    """What a revision's `downgrade()` takes back, as `status` and `upgrade` say it; None
    when it is a real one. `schema_kept`: lint's capture saw it change no schema (True),
    saw it change some (False), or was not asked (None: `status` with no cached capture of
    the files). `told_by`: which capture told, said with it (`status` reads an earlier one).
    An empty downgrade() of a data migration takes the schema back, not the rows; DBS602
    ("no way back") is about the schema.

    Example:
        >>> import tempfile, pathlib
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "r.py"
        >>> _ = f.write_text("def upgrade():\\n    op.x()\\n\\ndef downgrade():\\n    pass\\n")
        >>> way_back(f, schema_kept=True)
        'a way back for the schema, not for the data: it changes no schema (a data migration) and its downgrade() does nothing, so the rows it changes stay'
        >>> way_back(f, schema_kept=False)
        'no way back: downgrade() does nothing'
        >>> way_back(f, schema_kept=False, told_by="lint's capture of 2026-12-06 09:12")
        "no way back: downgrade() does nothing and it changes the schema (from lint's capture of 2026-12-06 09:12)"
    """
    problem = downgrade_problem(path, schema_kept=bool(schema_kept))
    told = f", from {told_by}" if told_by else ""
    if problem is None:
        if schema_kept and path is not None and downgrade_problem(path) is not None:
            return ("a way back for the schema, not for the data: it changes no schema (a "
                    f"data migration{told}) and its downgrade() does nothing, so the rows it "
                    "changes stay")
        return None
    if schema_kept is None and problem == _PROBLEMS["empty"]:
        return ("downgrade() does nothing: a way back for the schema only if the revision "
                "changes none (a data migration; `dbsafe upgrade` tells from lint's capture), "
                "never for the rows it changes")
    if schema_kept is False and told_by and problem == _PROBLEMS["empty"]:
        return f"no way back: {problem} and it changes the schema (from {told_by})"
    return f"no way back: {problem}"


def _upgrade_does_nothing(path: Path) -> bool:
    tree = parse(path.read_text(encoding="utf-8"), filename=str(path))
    return any(isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
               and node.name == "upgrade" and all(_does_nothing(s) for s in node.body)
               for node in tree.body)


def _does_nothing(statement: ast.stmt) -> bool:
    # A docstring, `...`, or any other bare constant does nothing either.
    return isinstance(statement, ast.Pass) or (
        isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant))


def _parents(revision: Revision) -> tuple[str, ...]:
    down = revision.down_revision
    if down is None:
        return ()
    return (down,) if isinstance(down, str) else tuple(down)


def _requires(revision: Revision) -> tuple[str, ...]:
    """What must be applied before `revision`: its parents and its `depends_on` (alembic
    applies those too on the way to it, and counts them applied once it is)."""
    return _parents(revision) + revision.dependencies


def ancestors(revisions: Iterable[Revision], tips: Iterable[str]) -> set[str]:
    """Every revision reachable downwards from `tips`, the tips included, through parents
    and `depends_on` (a contract branch's revision depending on an expand branch's one).

    Example:
        >>> history = [Revision("c1", None, "r0", dependencies=("e1",)),
        ...            Revision("e1", None, "r0"), Revision("r0", None, None)]
        >>> sorted(ancestors(history, ["c1"]))
        ['c1', 'e1', 'r0']
    """
    by_id = {r.revision: r for r in revisions}
    seen: set[str] = set()
    stack = [t for t in tips if t in by_id]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        stack.extend(r for r in _requires(by_id[current]) if r in by_id)
    return seen


def _descendants(revisions: Sequence[Revision], tips: Iterable[str]) -> set[str]:
    """`tips` and every revision above them, through parents only (what grew from them:
    `REV@head`'s branch, what `alembic downgrade REV` undoes)."""
    found = set(tips)
    grew = True
    while grew:
        above = {r.revision for r in revisions if set(_parents(r)) & found}
        grew = not above <= found
        found |= above
    return found


def undone_by_downgrade(revisions: Sequence[Revision], current: Iterable[str],
                        target: Sequence[str]) -> set[str]:
    """The applied revisions alembic undoes going down to `target` (() is base): those
    above a target revision, and those that depend on one of them. Another branch's
    revisions stay, a revision that `depends_on` a target among them (`alembic downgrade
    e1` at c1 and e2 undoes e2 only, when c1 depends on e1).

    Example:
        >>> history = [Revision("c1", None, "r0", dependencies=("e1",)),
        ...            Revision("e2", None, "e1"), Revision("e1", None, "r0"),
        ...            Revision("r0", None, None)]
        >>> sorted(undone_by_downgrade(history, ["c1", "e2"], ["e1"]))
        ['e2']
        >>> sorted(undone_by_downgrade(history, ["c1", "e2"], ["r0"]))
        ['c1', 'e1', 'e2']
    """
    applied = ancestors(revisions, current)
    if not target:
        return applied
    kept = ancestors(revisions, target)
    undone = (applied - kept) & _descendants(revisions, target)
    grew = True
    while grew:  # what depends on an undone revision goes with it
        more = {r.revision for r in revisions if r.revision in applied - kept - undone
                and set(_requires(r)) & undone}
        grew = bool(more)
        undone |= more
    return undone


def tips(revisions: Sequence[Revision], applied: Iterable[str]) -> tuple[str, ...]:
    """The revisions a version table holds for the set `applied`: those nothing else in it
    requires (alembic records a `depends_on` revision as implied by its dependent)."""
    kept = set(applied)
    by_id = {r.revision: r for r in revisions}
    required = {p for rid in kept if rid in by_id for p in _requires(by_id[rid])}
    return tuple(sorted(kept - required))


def pending(revisions: Sequence[Revision], current: Iterable[str],
            target: Iterable[str]) -> list[Revision]:
    """Revisions an upgrade from `current` to `target` applies, in the order it applies them."""
    done = ancestors(revisions, current)
    wanted = ancestors(revisions, target) - done
    ordered: list[Revision] = []
    placed: set[str] = set(done)
    remaining = [r for r in reversed(revisions) if r.revision in wanted]  # oldest first
    while remaining:
        progress = False
        for revision in list(remaining):
            if all(p in placed for p in _requires(revision)):
                ordered.append(revision)
                placed.add(revision.revision)
                remaining.remove(revision)
                progress = True
        if not progress:  # a parent outside the history: keep the file order
            ordered.extend(remaining)
            break
    return ordered


def resolve(revisions: Sequence[Revision], heads: Sequence[str], name: str) -> list[str]:
    """A target as written by users (`heads`, `head`, a full or unique partial id), or as
    alembic names one of several branches: `LABEL@head` (the head of the branch carrying
    that branch label: keystone's and neutron's `expand@head`), `REV@head` (the head above
    REV) and `LABEL@REV` (REV, on that branch).

    Example:
        >>> history = [Revision("c1", None, "base", branch_labels=("contract",)),
        ...            Revision("e2", None, "e1", branch_labels=("expand",)),
        ...            Revision("e1", None, "base", branch_labels=("expand",)),
        ...            Revision("base", None, None)]
        >>> resolve(history, ["c1", "e2"], "expand@head"), resolve(history, ["c1", "e2"], "e1@head")
        (['e2'], ['e2'])
        >>> resolve(history, ["c1", "e2"], "expand@e1")
        ['e1']
    """
    if name in ("heads", "head"):
        if name == "head" and len(heads) > 1:
            raise DbsafeError(f"`head` is ambiguous: the history has {len(heads)} heads "
                              f"({', '.join(heads)}); name one{_in_parentheses(label_hint(revisions, heads))}, "
                              "or use `heads`")
        return list(heads)
    branch, at, rest = name.rpartition("@")
    if at and branch:
        labelled = [r.revision for r in revisions if branch in r.branch_labels]
        if rest == "head":
            on_branch = set(labelled) if labelled else \
                _descendants(revisions, [_one_revision_named(revisions, branch)])
            found = [h for h in heads if h in on_branch]
            if len(found) != 1:
                raise DbsafeError(f"{name!r} names {len(found)} heads"
                                  + (f" ({', '.join(found)})" if found else "")
                                  + "; name the revision")
            return found
        if labelled:
            revision = _one_revision_named(revisions, rest)
            if revision not in labelled:
                raise DbsafeError(f"{revision} is not on the branch labelled {branch!r}")
            return [revision]
    return [_one_revision_named(revisions, name)]


def _one_revision_named(revisions: Sequence[Revision], name: str) -> str:
    matches = [r.revision for r in revisions if r.revision == name]
    if not matches:
        matches = [r.revision for r in revisions if r.revision.startswith(name)]
    if len(matches) != 1:
        if not matches:
            close = difflib.get_close_matches(name, [r.revision for r in revisions], n=3,
                                            cutoff=0.8)  # a typo, not any id of that length
            raise DbsafeError(f"no revision {name!r} in the history"
                              + (f" (did you mean {' or '.join(close)}?)" if close else ""))
        raise DbsafeError(f"{name!r} matches several revisions: {', '.join(matches)}")
    return matches[0]


def label_hint(revisions: Sequence[Revision], heads: Sequence[str]) -> str:
    """`expand@head`-style names for the heads, when each head's branch has a label of its
    own (expand/contract histories keep two heads by design)."""
    labels = {r.revision: set(r.branch_labels) for r in revisions if r.revision in heads}
    named = []
    for head in heads:
        others = set().union(*(labels.get(h, set()) for h in heads if h != head))
        own = sorted(labels.get(head, set()) - others)
        if own:
            named.append(f"`{own[0]}@head`")
    return ", ".join(named) if len(named) == len(heads) else ""


def _in_parentheses(text: str) -> str:
    return f" ({text})" if text else ""


def steps_down(revisions: Sequence[Revision], current: Sequence[str], steps: int) -> list[str]:
    """The target of a relative downgrade (alembic's `-N`): `steps` revisions below the
    database's one current revision, along a straight line of the history; [] is base.

    Raises:
        DbsafeError: the database is at several revisions, or a merge point lies on the way,
            where "N steps down" names no single revision.
    """
    _one_revision(current, f"-{steps}")
    by_id = {r.revision: r for r in revisions}
    position = current[0] if current else None
    for taken in range(steps):
        if position is None:
            raise DbsafeError(f"-{steps} goes below base: the database's revision is only "
                              f"{taken} step(s) above it")
        revision = by_id.get(position)
        if revision is None:
            raise DbsafeError(f"the database's revision {position} is not in the history")
        parents = _parents(revision)
        if len(parents) > 1:
            raise DbsafeError(f"{position} merges {', '.join(parents)}: -{steps} names no "
                              "single revision below it; name the target revision")
        position = parents[0] if parents else None
    return [position] if position is not None else []


def steps_up(revisions: Sequence[Revision], current: Sequence[str], steps: int) -> list[str]:
    """The target of a relative upgrade (alembic's `+N`): `steps` revisions above the
    database's one current revision (or base), along a straight line of the history.

    Raises:
        DbsafeError: the database is at several revisions, a branch point lies on the way
            (two revisions above one), or the history ends first.
    """
    _one_revision(current, f"+{steps}")
    position = current[0] if current else None
    for taken in range(steps):
        above = [r.revision for r in revisions if position in _parents(r)
                 or (position is None and not _parents(r))]
        if not above:
            raise DbsafeError(f"+{steps} goes past the head: the database's revision is only "
                              f"{taken} step(s) below it")
        if len(above) > 1:
            raise DbsafeError(f"{position or 'base'} branches to {', '.join(sorted(above))}: "
                              f"+{steps} names no single revision above it; name the target")
        position = above[0]
    return [position] if position is not None else []


def _one_revision(current: Sequence[str], step: str) -> None:
    """A relative step starts from one revision (or base), never from several heads."""
    if len(current) > 1:
        raise DbsafeError(f"the database is at {len(current)} revisions "
                          f"({', '.join(current)}): {step} names no single one; name the "
                          "target revision")


def check_target(revisions: Sequence[Revision], heads: Sequence[str], name: str) -> None:
    """Refuse a target the scripts alone say names no revision (`nonexistent`, an ambiguous
    prefix, `head` of several heads), before the database is asked anything; a relative one
    (`+1`, `-2`) needs the database's revision, and `base` names none.

    Example:
        >>> history = [Revision("ae1027a6acf", None, None)]
        >>> check_target(history, ["ae1027a6acf"], "-1")
        >>> check_target(history, ["ae1027a6acf"], "ae1027a6acg")
        Traceback (most recent call last):
        ...
        dbsafe.core.DbsafeError: no revision 'ae1027a6acg' in the history (did you mean ae1027a6acf?)

    Raises:
        DbsafeError: as `resolve`.
    """
    if name == "base" or _relative(name):
        return
    relative_target(revisions, heads, (), name)


def _relative(name: str) -> bool:
    return len(name) > 1 and name[0] in "+-" and name[1:].isdigit()


def relative_target(revisions: Sequence[Revision], heads: Sequence[str], current: Sequence[str],
                    name: str) -> list[str]:
    """`resolve`, and alembic's relative `+N` / `-N` from the database's `current` revision."""
    if _relative(name):
        steps = int(name[1:])
        return (steps_up if name[0] == "+" else steps_down)(revisions, current, steps)
    _, at, step = name.rpartition("@")
    if at and _relative(step):
        # alembic moves only that branch; as a list of revisions to be at, the other
        # branches' would go with it
        raise DbsafeError(f"{name!r}: steps along one branch are not supported; name the "
                          "target revision")
    return resolve(revisions, heads, name)
