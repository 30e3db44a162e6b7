"""Which source files to read, and reading one into fragments without ever raising.

Discovery honours every `.gitignore` from `root` downwards (nested files apply relative to
their own directory, later and deeper rules win, as in git), whether or not the tree is a
git work tree: a project copied out of git should not suddenly scan its build output.
"""

from __future__ import annotations

import codecs
import functools
import logging
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from dbsafe.core import Location, Skipped, SourceError
from dbsafe.extract.fragment import ExtractResult

if TYPE_CHECKING:
    # Imported where used: each costs a small run's start-up, and a run whose files are all
    # cached (or all .sql) needs none or one of the extractors.
    import pathspec

    from dbsafe.extract.javascript import SqlNames
    from dbsafe.extract.py_migrations import Moves
    from dbsafe.extract.py_parsers import Parsed

log = logging.getLogger(__name__)

EXTRACTED_SUFFIXES = frozenset({".sql", ".py"})
# JavaScript/TypeScript: SQL and supabase-js/PostgREST requests (extract/javascript.py).
SCRIPT_SUFFIXES = frozenset({".js", ".ts", ".jsx", ".tsx", ".mjs", ".cjs"})
# Vue, Svelte and Astro components: the same, in their `<script>` blocks and Astro's
# frontmatter (extract/components.py).
COMPONENT_SUFFIXES = frozenset({".vue", ".svelte", ".astro"})
SUFFIXES = EXTRACTED_SUFFIXES | SCRIPT_SUFFIXES | COMPONENT_SUFFIXES
# Tool caches hold no application source (and dbsafe's own cache has a `.gitignore` whose
# reading alone would cost a cached run pathspec's import). Nor do the folders web frameworks
# generate (Nuxt's `.nuxt` and Nitro's `.output`, SvelteKit's `.svelte-kit`, Next.js's
# `.next`, Astro's `.astro` types): usually git-ignored, but a copy of a project without its `.gitignore` would have
# each of its requests read again in the bundles built from it.
SKIPPED_DIRS = frozenset(
    {".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__", "site-packages",
     ".dbsafe_cache", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tox", ".nox",
     ".nuxt", ".output", ".svelte-kit", ".next", ".astro"}
)
# Generated dumps and vendored bundles are larger; the `max-file-size` setting overrides it.
DEFAULT_MAX_BYTES = 50 * 1024 * 1024


def missing_paths(paths: Sequence[Path]) -> list[Path]:
    """The paths that do not exist (a typo must not turn into a clean run)."""
    return [path for path in paths if not path.exists()]


def require_existing(paths: Sequence[Path]) -> None:
    """Raise SourceError naming the paths that do not exist, if any."""
    missing = missing_paths(paths)
    if missing:
        raise SourceError("no such file or directory: " + ", ".join(str(p) for p in missing))


def discover(paths: Sequence[Path], *, root: Path, exclude: Sequence[str] = ()) -> list[Path]:
    """List the source files to extract from, sorted and without duplicates.

    Directories are walked for files with a known suffix, skipping VCS and virtualenv
    directories (any directory holding `pyvenv.cfg`), `node_modules`, `__pycache__`,
    `site-packages`, tool caches (`.dbsafe_cache`, `.mypy_cache`, ...), web frameworks'
    generated folders (`.nuxt`, `.output`, `.svelte-kit`, `.next`, `.astro`), paths ignored by
    `.gitignore` files and paths matching `exclude`. Symbolic links to directories are not
    followed (as `os.walk` does not). Files named explicitly are kept even if git ignores
    them (pre-commit passes staged files by name), unless `exclude` matches them or their
    suffix is unknown.

    Args:
        paths: Files and directories to look at.
        root: Project root; `exclude` patterns and the top `.gitignore` are relative to it.
        exclude: Gitignore-style patterns relative to `root`.

    Returns:
        Paths as given joined with what was found under them, sorted.
    """
    return [Path(path) for path, _ in discover_named(paths, root=root, exclude=exclude)]


def discover_named(paths: Sequence[Path], *, root: Path, exclude: Sequence[str] = (),
                   unreadable: list[tuple[str, str]] | None = None,
                   walked: dict[str, list[tuple[str, str]]] | None = None,
                   ) -> list[tuple[str, str]]:
    """`discover`'s files as strings (`os.fspath` of its paths, in its order), each with
    its `display_path`.

    The folders the walk could not list (permission denied) are added to `unreadable`, when
    given, as their display path and the reason: their files were not seen, which a caller
    reporting what it checked must say.

    Both come from the walk at no extra cost: building a `Path` and resolving it again, a
    system call per directory in it, for each of thousands of files was most of a cached
    run.

    `walked` (given the same `root` and `exclude` each time, as `ProjectFiles` does): each
    folder walked, by its resolved path, with what was found in it (relative to it, and
    resolved); a folder found there is not listed again, its files taken as they were found.
    """
    real_root = os.path.realpath(root)
    excluded = None
    if exclude:
        import pathspec  # only for patterns: it costs a one-file run a tenth of its time

        excluded = pathspec.GitIgnoreSpec.from_lines(exclude)
    found: dict[str, str] = {}  # keyed by normalised path, as Path would compare them
    for path in paths:
        if path.is_dir():
            for given, real in _walk(os.fspath(path), real_root, excluded, unreadable,
                                     walked):
                found[given] = _display(real, real_root, given)
        elif path.suffix in SUFFIXES:
            real = os.path.realpath(path)
            given = os.fspath(path)
            if not _matches(excluded, real_root, real, False, outside=path.as_posix()):
                found[given] = _display(real, real_root, given)
    # Path's own order: part by part.
    return sorted(found.items(), key=lambda item: item[0].split(os.sep))


def kept_entry(memo: dict[str, list[object]] | None, key: str,
               path: str) -> tuple[list[int], list[object] | None] | None:
    """For a project-wide index's memo (`[size, modification time, facts, ...]` by a file's
    path from the root): the file's stamp, and the entry kept for it while the file's size
    and modification time are those it was read at (None: read it again); None when the
    file cannot be looked at."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    stamp = [status.st_size, status.st_mtime_ns]
    known = memo.get(key) if memo is not None else None
    return stamp, (known if known is not None and known[:2] == stamp else None)


class ProjectFiles:
    """The files of a run's paths and, when asked for, the project's: what validate's
    project-wide indexes read (Python's parsing functions, the JS wrappers, knex and Kysely
    clients), which a run given a subfolder still reads whole.

    Both are `discover_named`'s, and no folder is walked twice: the project's walk takes a
    folder the run's walk listed as it was listed (a run of `web/` walks the rest of the
    project once, not `web/` again), and the project is walked once for every index.
    """

    def __init__(self, paths: Sequence[Path], *, root: Path, exclude: Sequence[str] = (),
                 unreadable: list[tuple[str, str]] | None = None) -> None:
        self.root = root
        self.exclude = exclude
        self._walked: dict[str, list[tuple[str, str]]] = {}
        self.files = discover_named(paths, root=root, exclude=exclude, unreadable=unreadable,
                                    walked=self._walked)
        self._project = self.files if any(_is_root(p, root) for p in paths) else None

    def project(self) -> list[tuple[str, str]]:
        """`discover_named([root])` (the run's own files when it was given the root)."""
        if self._project is None:
            self._project = discover_named([self.root], root=self.root, exclude=self.exclude,
                                           walked=self._walked)
        return self._project


def _is_root(path: Path, root: Path) -> bool:
    """Whether a path a run was given is the project's root (its files are the project's)."""
    try:
        return path.is_dir() and path.resolve() == root.resolve()
    except OSError:
        return False


def workspace_folders(root: Path, relative: Sequence[str], *, depth: int,
                      exclude: Sequence[str] = (), skip: frozenset[str] = frozenset()) -> list[str]:
    """Which of `relative` (POSIX paths of folders such as `supabase/migrations`, or of
    files such as `alembic.ini`) exist inside a folder one to `depth` levels below `root`,
    seen as `discover` sees the tree.

    Only folders `discover` walks into are looked in, and a found folder is one it would
    walk into too: VCS and virtualenv directories, `node_modules`, tool caches, symbolic
    links, what `.gitignore` files ignore and `exclude` matches are passed by, as are
    folders named in `skip` (compared lower-cased). Nothing deeper than `depth` is listed:
    the cost is a directory listing per folder above the last level and a `stat` per folder
    and name at it, whatever the size of the tree below.

    Returns:
        The found folders relative to `root` (POSIX), in `relative`'s order within each
        folder, folders sorted by path.
    """
    real_root = os.path.realpath(root)
    excluded = None
    if exclude:
        import pathspec

        excluded = pathspec.GitIgnoreSpec.from_lines(exclude)
    root_ignores: list[_GitIgnore] = []
    _load_gitignore(real_root, root_ignores)
    found: list[str] = []
    # (path relative to root, resolved, the .gitignore specs of it and its ancestors)
    level = [("", real_root, root_ignores)]
    for at in range(1, depth + 1):
        below = []
        for relative_dir, real_dir, ignores in level:
            try:
                with os.scandir(real_dir) as listing:
                    entries = list(listing)
            except OSError:
                continue
            for entry in entries:
                name = entry.name
                if name in SKIPPED_DIRS or name.lower() in skip:
                    continue
                try:
                    if not entry.is_dir() or entry.is_symlink():
                        continue
                except OSError:
                    continue
                real = os.path.join(real_dir, name)
                # Most folders hold none of `relative`: at the last level (where most
                # folders are) those cost a `stat` for each of `relative` and nothing more.
                present = [wanted for wanted in relative
                           if os.path.exists(os.path.join(real, wanted))]
                if not present and at == depth:
                    continue
                if not _enters(name, real, False, ignores, excluded, real_root):
                    continue
                inner = ignores
                if os.path.isfile(os.path.join(real, ".gitignore")):
                    inner = [*ignores]
                    _load_gitignore(real, inner)
                here = f"{relative_dir}{name}"
                found.extend(f"{here}/{wanted}" for wanted in present
                             if _walked_folder(real, wanted, inner, excluded, real_root))
                below.append((here + "/", real, inner))
        level = below
    return sorted(found, key=lambda path: path.split("/"))


def _walked_folder(real_dir: str, relative: str, ignores: list[_GitIgnore],
                   excluded: pathspec.PathSpec | None, real_root: str) -> bool:
    """Whether the folder `relative` (POSIX) below `real_dir` is one `_walk` would enter."""
    real = real_dir
    for part in relative.split("/"):
        real = os.path.join(real, part)
        if not _enters(part, real, os.path.islink(real), ignores, excluded, real_root):
            return False
    return True


def _enters(name: str, real: str, symlink: bool,
            ignores: list[_GitIgnore],
            excluded: pathspec.PathSpec | None, real_root: str) -> bool:
    """Whether the walk goes into the directory `name` (resolved: `real`): not a symbolic
    link (`os.walk` does not follow them), a VCS, cache or `node_modules` folder, a
    virtualenv (any folder holding `pyvenv.cfg`), what `.gitignore` ignores or `exclude`
    matches. The cheap tests first: this runs for every directory of the tree."""
    return not (symlink or name in SKIPPED_DIRS
                or os.path.exists(os.path.join(real, "pyvenv.cfg"))
                or _ignored(ignores, real, is_dir=True)
                or _matches(excluded, real_root, real, True))


def extract_file(
    path: Path, *, root: Path, max_bytes: int = DEFAULT_MAX_BYTES,
    js_names: SqlNames | None = None, name: str | None = None, data: bytes | None = None,
    py_parsers: Mapping[str, Parsed] | None = None,
    py_migrations: Mapping[str, Moves] | None = None,
    py_clients: Mapping[str, str] | None = None,
) -> ExtractResult:
    """Read one file and return the SQL fragments in it; unreadable input becomes a skip.

    Args:
        path: The file.
        root: Fragment paths are POSIX paths relative to `root` when `path` is under it.
        max_bytes: Larger files are skipped (generated dumps, vendored bundles).
        js_names: The project's own SQL tags and calls in JS/TS (`js-sql-tags`, `js-sql-calls`);
            None: only the built-in ones.
        name: `display_path(path, root)`, when the caller has it already (resolving a path
            costs a system call per directory in it).
        data: the file's content, when the caller has read it already (within `max_bytes`).
        py_parsers: The project's Python functions whose parameter sqlglot parses and
            nothing sends (`py_parsers.parsing_functions`).
        py_migrations: The project's Python functions that upgrade or downgrade the
            database for their caller (`py_migrations.migration_functions`).
        py_clients: The project's Python functions that return another engine's client
            (`py_clients.client_functions`).

    Returns:
        Fragments, or a `Skipped` entry saying why the file was not read.
    """
    if name is None:
        name = display_path(path, root)
    where = Location(name, 1)
    if data is None:
        try:
            size = path.stat().st_size
            if size > max_bytes:
                return _skip(where, too_large(size, max_bytes))
            data = path.read_bytes()
        except OSError as exc:
            return _skip(where, f"cannot read file: {exc.strerror or exc}")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # What PowerShell 5's `>` and SSMS write; psql cannot run it either, so say so, not "binary".
        return _skip(where, "UTF-16 text, not UTF-8 (save it as UTF-8)")
    if b"\0" in data and path.suffix not in SCRIPT_SUFFIXES:
        # JavaScript allows a NUL byte in a string or comment (node runs such a file:
        # `sql_in_javascript` reads it); Python 3.12 refuses any, 3.11 too, earlier ones stop
        # reading at it; psql ends the line there.
        if path.suffix == ".py":
            line = data.count(b"\n", 0, data.index(b"\0")) + 1
            return _skip(Location(name, line), _PYTHON_NUL)
        return _skip(where, "binary file")
    try:
        # utf-8-sig: a BOM is not a column anyone's editor shows.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if b"\0" in data:
            return _skip(where, "binary file")
        line = data.count(b"\n", 0, exc.start) + 1
        return _skip(Location(name, line), f"not valid UTF-8 (byte offset {exc.start})")
    try:
        if path.suffix == ".sql":
            from dbsafe.extract.headed_queries import headed_queries
            from dbsafe.extract.sqlfile import split_sql

            fragments = [query for statement in split_sql(text, name, psql_variables=True)
                         for query in headed_queries(statement)]
            from dbsafe.extract import sqlc

            if sqlc.is_sqlc_queries(text):
                fragments = [replace(f, sql=sqlc.as_placeholders(f.sql)) for f in fragments]
            from dbsafe.extract.versioned_folders import superseded_from

            superseded = superseded_from(path)
            if superseded:
                fragments = [replace(f, not_sent_to=superseded) for f in fragments]
            from dbsafe.extract.psql import includes_a_file

            # (a pgTAP test's `\i _shared/helpers.sql`: what it makes, the statements use)
            return ExtractResult(fragments=tuple(fragments), runs_unseen_sql=includes_a_file(text))
        if path.suffix == ".py":
            from dbsafe.extract.python import sql_in_python

            return sql_in_python(text, name, py_parsers, py_migrations, py_clients)
        if path.suffix in SCRIPT_SUFFIXES:
            if minified(path.suffix, text):
                return _skip(where, _MINIFIED)
            from dbsafe.extract.javascript import DEFAULT_NAMES, sql_in_javascript

            return sql_in_javascript(text, name, names=js_names or DEFAULT_NAMES)
        if path.suffix in COMPONENT_SUFFIXES:
            from dbsafe.extract.components import sql_in_component

            return sql_in_component(text, name, names=js_names)
    except Exception as exc:
        # An extractor bug on one odd file must not end the whole run.
        log.debug("extracting SQL from %s failed", name, exc_info=True)
        return _skip(where, f"could not extract SQL: internal {type(exc).__name__}: {exc}"[:300])
    return _skip(where, f"no extractor for {path.suffix or 'extension-less'} files")


# What a bundler writes: JavaScript whose lines average more than this many characters
# (GitHub linguist's test for a minified file). A build's output committed beside its source
# (hotmess-globe's Vite bundles in `dist2/assets/` and `dist_old/assets/`, `dist` alone
# git-ignored) holds copies of the requests of the source it was built from.
_MINIFIED_LINE = 110
# ... and one line at least this long: a bundler writes lines of thousands of characters; a
# hand-written module of one long query (`export default "SELECT ..."`, no newline at its
# end) averages over 110 too, and is source.
_MINIFIED_LONGEST = 500
_MINIFIED_SUFFIXES = frozenset({".js", ".mjs", ".cjs"})
_MINIFIED = "minified JavaScript (a bundler's output, not the source it was built from)"


def minified(suffix: str, text: str) -> bool:
    """Whether `text`, a file's content of `suffix`, is minified JavaScript: its lines
    average more than `_MINIFIED_LINE` characters and one has `_MINIFIED_LONGEST`.
    TypeScript and components are source.

    >>> minified(".js", "const a = 1;\\n" * 20), minified(".js", "x=1;" * 200 + "\\n")
    (False, True)
    >>> minified(".ts", "x=1;" * 200), minified(".js", "export default 'SELECT " + "a, " * 60)
    (False, False)
    """
    if suffix not in _MINIFIED_SUFFIXES or not text:
        return False
    return len(text) / (text.count("\n") + 1) > _MINIFIED_LINE and any(
        len(line) >= _MINIFIED_LONGEST for line in text.splitlines())


_PYTHON_NUL = "holds a NUL byte, which Python refuses (source code cannot contain null bytes)"
# The skip reasons of a file whose bytes were not read as source at all (`extract_file`).
_NOT_READ = ("cannot read file:", "binary file", "UTF-16 text", "not valid UTF-8",
             "larger than max-file-size", _PYTHON_NUL)


def not_read(reason: str) -> bool:
    """Whether a file skipped for `reason` was not read at all (its bytes), as opposed to read
    and found to hold nothing to validate (SQL of another engine, a syntax error).

    >>> not_read("binary file"), not_read("sent to SQLite")
    (True, False)
    """
    return reason.startswith(_NOT_READ)


def too_large(size: int, max_bytes: int) -> str:
    """The skip reason for a file over the `max-file-size` limit.

    >>> too_large(60 * 1024 * 1024, 50 * 1024 * 1024)
    'larger than max-file-size, 60.0 MB > 50.0 MB'
    >>> too_large(2000, 1024)
    'larger than max-file-size, 2.0 KB > 1.0 KB'
    """
    return f"larger than max-file-size, {_human(size)} > {_human(max_bytes)}"


def _human(size: int) -> str:
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= factor:
            return f"{size / factor:.1f} {unit}"
    return f"{size} bytes"


class FolderNames:
    """The names in each folder, listed once (a path as the walk gives it, `""` the
    current folder): asking one listing what a folder holds costs one system call where a
    stat per name looked for would cost several."""

    def __init__(self) -> None:
        self._names: dict[str, frozenset[str]] = {}

    def __call__(self, folder: str) -> frozenset[str]:
        names = self._names.get(folder)
        if names is None:
            try:
                names = frozenset(os.listdir(folder or "."))
            except OSError:
                names = frozenset()
            self._names[folder] = names
        return names


class NearestFolder:
    """The nearest folder at or above a folder that `marked` says is one, looking no
    higher than `stops` (the project root: a checkout inside some marked folder is not
    marked itself) or the first folder of a relative path; None when there is none.

    Paths are taken as the walk gives them (strings, not resolved), and each folder is
    looked at once: a walk over a project asks about the same folders for every file.
    """

    def __init__(self, marked: Callable[[str], bool],
                 stops: Iterable[str | os.PathLike[str]] = ()) -> None:
        self._marked = marked
        self._stops = {s for stop in stops for s in (os.fspath(stop), os.path.realpath(stop))}
        self._nearest: dict[str, str | None] = {}

    def __call__(self, folder: str) -> str | None:
        if folder in self._nearest:
            return self._nearest[folder]
        parent = os.path.dirname(folder)
        if self._marked(folder):
            nearest: str | None = folder
        elif not folder or folder in self._stops or parent == folder:
            nearest = None
        else:
            nearest = self(parent)
        self._nearest[folder] = nearest
        return nearest


# Where projects keep test code, by their runners' conventions: folders (pytest's and
# Go's `tests`/`test`, Jest's `__tests__`, Playwright's and Cypress's own, `e2e`, pgTAP's
# `supabase/tests`) and file names (Jest/Vitest's `*.test.ts`/`*.spec.ts`, pytest's
# `test_*.py`/`*_test.py` and `conftest.py`).
_TEST_FOLDERS = frozenset({"test", "tests", "__tests__", "e2e", "cypress", "playwright"})
_TEST_NAME = re.compile(r"[^/]+\.(?:test|spec)\.(?:[cm]?[jt]sx?)|test_[^/]*\.py|[^/]*_test\.py"
                        r"|conftest\.py")


def in_tests(rel: str) -> bool:
    """Whether the file at `rel` (relative to the project's root, POSIX separators) is test
    code by the conventions of the test runners: run against a test or local database,
    never by the application in production.

    >>> [in_tests(p) for p in ("tests/test-utils.ts", "e2e/helpers/identity.ts",
    ...                        "src/app/__tests__/page.tsx", "src/lib/db.test.ts",
    ...                        "api/test_orders.py", "conftest.py", "supabase/tests/rls.sql")]
    [True, True, True, True, True, True, True]
    >>> [in_tests(p) for p in ("src/lib/db.ts", "src/testing.ts", "src/latest/x.ts",
    ...                        "scripts/seed.ts", "src/contest_test.sql")]
    [False, False, False, False, False]
    """
    *folders, name = rel.split("/")
    return bool(_TEST_FOLDERS.intersection(folders)) or _TEST_NAME.fullmatch(name) is not None


def display_path(path: Path, root: Path) -> str:
    """`path` relative to `root` with POSIX separators, or as given when outside it."""
    try:
        return path.resolve().relative_to(_resolved(root)).as_posix()
    except ValueError:
        return path.as_posix()


def _display(real: str, real_root: str, given: str) -> str:
    """`display_path(Path(given))` from `given` already resolved (`real`)."""
    return _relative_posix(real, real_root, "") or given.replace(os.sep, "/")


@functools.lru_cache(maxsize=16)
def _resolved(root: Path) -> Path:
    # Called once per file on hot paths with the same few roots; resolving is a syscall each.
    return root.resolve()


def _skip(where: Location, reason: str) -> ExtractResult:
    return ExtractResult(skipped=(Skipped(where, reason),))


def _walk(top: str, real_root: str, excluded: pathspec.PathSpec | None,
          unreadable: list[tuple[str, str]] | None = None,
          walked: dict[str, list[tuple[str, str]]] | None = None) -> list[tuple[str, str]]:
    """The source files under `top`: each as `top` joined with its relative path, and
    resolved. Folders that cannot be listed go to `unreadable` (display path, reason).
    `walked`: see `discover_named` (a folder's files are the same whichever walk reaches
    it: the `.gitignore` files above it apply to it either way, and `_enters` lets the walk
    reach it only where it would walk into it).

    Strings and `os.scandir` rather than `pathlib` and `os.walk`: each directory is resolved
    once and its entries' types come with the listing, so a walk over thousands of files
    costs a cached run little more than reading them.
    """
    real_top = os.path.realpath(top)
    top_prefix = "" if top in (os.curdir, "") else (top if top.endswith(os.sep) else top + os.sep)
    if walked is not None and real_top in walked:
        return [(top_prefix + below, real) for below, real in walked[real_top]]
    # .gitignore files above `top` (up to root) still apply to what is below it.
    ignores: list[_GitIgnore] = []
    root_prefix = real_root if real_root.endswith(os.sep) else real_root + os.sep
    if real_top.startswith(root_prefix):
        ancestor = real_root
        _load_gitignore(ancestor, ignores)
        for part in real_top[len(root_prefix):].split(os.sep)[:-1]:
            ancestor = os.path.join(ancestor, part)
            _load_gitignore(ancestor, ignores)
    out: list[tuple[str, str]] = []
    # (directory as given, the same resolved, the .gitignore specs of its ancestors)
    pending = [(top, real_top, ignores)]
    while pending:
        directory, real_dir, inherited = pending.pop()
        try:
            with os.scandir(directory) as listing:
                entries = list(listing)
        except FileNotFoundError:
            continue  # vanished while the walk ran
        except OSError as exc:
            if unreadable is not None:
                unreadable.append((_display(real_dir, real_root, directory),
                                   exc.strerror or str(exc)))
            continue
        ignores = inherited
        if any(entry.name == ".gitignore" for entry in entries):
            ignores = [*inherited]
            _load_gitignore(real_dir, ignores)
        real_prefix = real_dir if real_dir.endswith(os.sep) else real_dir + os.sep
        # As `os.fspath(Path(directory) / name)`: no `./` in front, as a Path has none.
        given_prefix = "" if directory in (os.curdir, "") else (
            directory if directory.endswith(os.sep) else directory + os.sep)
        for entry in entries:
            name = entry.name
            real = real_prefix + name  # os.path.join's result, without a call per entry
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False  # as os.walk: listed with the files
            if is_dir:
                if _enters(name, real, entry.is_symlink(), ignores, excluded, real_root):
                    if walked is not None and real in walked:
                        inside = given_prefix + name + os.sep
                        out.extend((inside + below, found) for below, found in walked[real])
                    else:
                        pending.append((given_prefix + name, real, ignores))
                continue
            if os.path.splitext(name)[1] not in SUFFIXES:
                continue
            if _ignored(ignores, real, is_dir=False):
                continue
            if entry.is_symlink():
                real = os.path.realpath(real)
            if _matches(excluded, real_root, real, False):
                continue
            out.append((given_prefix + name, real))
    if walked is not None:
        walked[real_top] = [(given[len(top_prefix):], real) for given, real in out]
    return out


def _load_gitignore(directory: str, ignores: list[_GitIgnore]) -> None:
    gitignore = os.path.join(directory, ".gitignore")
    if not os.path.isfile(gitignore):
        return
    try:
        with open(gitignore, encoding="utf-8", errors="replace") as file:
            lines = file.read().splitlines()
    except OSError:
        return
    import pathspec

    ignores.append(_GitIgnore(directory, pathspec.GitIgnoreSpec.from_lines(lines)))


class _GitIgnore:
    """A `.gitignore` file's patterns, matched against paths relative to its folder."""

    __slots__ = ("_quick", "_spec", "_tested", "directory")

    # Paths matched pattern by pattern before `_any_pattern` is built: building costs
    # about what testing a few dozen paths does, and most nested files govern fewer.
    _BUILD_AFTER = 32

    def __init__(self, directory: str, spec: pathspec.PathSpec) -> None:
        self.directory = directory
        self._spec = spec
        self._quick: re.Pattern[str] | None = None
        self._tested = 0

    def include(self, relative: str) -> bool | None:
        """Whether the last matching pattern ignores `relative` (True) or re-includes it
        (False); None when no pattern matches."""
        if self._tested < self._BUILD_AFTER:
            self._tested += 1
            if self._tested == self._BUILD_AFTER:
                self._quick = _any_pattern(self._spec)
        # (pathspec matches the path as `normalize_file` makes it: a leading `/` or `./` off)
        elif self._quick is not None and self._quick.search(
                relative[1:] if relative.startswith("/")
                else relative[2:] if relative.startswith("./") else relative) is None:
            return None
        return self._spec.check_file(relative).include


# A `.gitignore` pattern's regex marks a directory match with a named group; alternatives of
# one regex cannot share a name (`(?:` instead loses nothing: the pre-test reads no group).
_NAMED_GROUP = re.compile(r"(?<!\\)\(\?P<[A-Za-z_][A-Za-z0-9_]*>")


def _any_pattern(spec: pathspec.PathSpec) -> re.Pattern[str] | None:
    """One regex matching a path where any of `spec`'s patterns does, None when it cannot be
    built: most paths match no pattern at all, and this says so with one search instead of
    pathspec's one per pattern (langfuse's 42 patterns were most of a cached run's walk).

    >>> import pathspec
    >>> quick = _any_pattern(pathspec.GitIgnoreSpec.from_lines(["*.log", "/build/", "!keep.log"]))
    >>> [bool(quick.search(p)) for p in ("a/x.log", "build/", "src/app.py", "keep.log")]
    [True, True, False, True]
    """
    sources = [pattern.regex.pattern for pattern in spec.patterns
               if pattern.include is not None and getattr(pattern, "regex", None) is not None]
    if not sources:
        return re.compile(r"(?!)")  # (comments and blank lines only: nothing matches)
    if not all(isinstance(source, str) for source in sources):
        return None
    try:
        return re.compile("|".join(f"(?:{_NAMED_GROUP.sub('(?:', source)})"
                                   for source in sources))
    except re.error:
        return None


def _ignored(ignores: list[_GitIgnore], real: str, *, is_dir: bool) -> bool:
    """Git's rule: the deepest `.gitignore` with a matching pattern decides."""
    for ignore in reversed(ignores):
        include = ignore.include(_relative_posix(real, ignore.directory)
                                 + ("/" if is_dir else ""))
        if include is not None:
            return include
    return False


def _matches(spec: pathspec.PathSpec | None, real_root: str, real: str, is_dir: bool,
             outside: str | None = None) -> bool:
    """Whether `exclude` matches the resolved path `real`: relative to the root, or when
    outside it `outside` (the path as given) or else `real` itself."""
    if spec is None:
        return False
    relative = _relative_posix(real, real_root, outside)
    return spec.match_file(relative + ("/" if is_dir else ""))


def _relative_posix(real: str, real_directory: str, outside: str | None = None) -> str:
    """`real` relative to `real_directory` with POSIX separators (both resolved paths), or
    `outside` (by default `real` itself, as POSIX) when it is not below it."""
    if real == real_directory:
        return "."
    prefix = real_directory if real_directory.endswith(os.sep) else real_directory + os.sep
    if real.startswith(prefix):
        return real[len(prefix):].replace(os.sep, "/")
    return outside if outside is not None else Path(real).as_posix()
