"""The check file format: one SQL file per check, its metadata in a leading comment header.

```sql
-- dbsafe:check DBS501 invalid-index
-- severity: error
-- since: 0.1.0
-- summary: Index is invalid or not ready, so queries never use it.
-- help: Drop it and build it again with CREATE INDEX CONCURRENTLY.
--
-- Markdown documentation (`## Why`, `## Not flagged`, ...), shown by `--explain` and in
-- docs/rules/<CODE>.md.
SELECT ... AS subject, ... AS message FROM ...
```

The first line names the code (DBS5xx) and the kebab-case name (the file's stem, with `_`
for `-`); `key: value` lines from a closed set follow up to the first bare `--`; the rest of
the comment block is the description. The body must be exactly one `SELECT` (checked with
PostgreSQL's own parser), returning `subject` and `message` columns and one row per problem.
Anything else is a `ConfigError` naming `file:line`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from dbsafe.core import ConfigError, RuleInfo, Severity

HEADER_KEYS = ("severity", "since", "summary", "help")
_FIRST_LINE = re.compile(r"--\s*dbsafe:check\s+(?P<code>\S+)\s+(?P<name>\S+)\s*$")
_KEY_LINE = re.compile(r"--\s*(?P<key>[a-z][a-z-]*)\s*:\s*(?P<value>.*?)\s*$")
_CODE = re.compile(r"DBS5\d\d")
_NAME = re.compile(r"[a-z]+(-[a-z0-9]+)*")

# Codes the built-ins do not use: DBS550 is schema expectations, DBS501-DBS549 are built-in
# checks (numbered upwards), DBS560-DBS599 are left for a project's own checks.
BUILTIN_PACKAGE = "dbsafe.checks"
BUILTIN_DIR = "builtin"


@dataclass(frozen=True, slots=True)
class Check:
    """One loaded check: its catalog entry, its documentation and its query."""

    code: str
    name: str
    severity: Severity
    since: str
    summary: str
    help: str
    description: str  # Markdown, without the comment markers
    sql: str  # the whole file; PostgreSQL ignores the header comments
    path: str  # where it came from, for messages
    builtin: bool = False

    @property
    def info(self) -> RuleInfo:
        return RuleInfo(self.code, self.name, self.summary, self.severity, self.since)


def parse_check(text: str, path: str, *, builtin: bool = False,
                verify_query: bool = True) -> Check:
    """Read one check file.

    Args:
        text: the file's contents.
        path: shown in error messages.
        builtin: whether it ships with dbsafe.
        verify_query: parse the body with PostgreSQL's grammar (pglast) now; False reads the
            header only (listing codes needs no parser; `verify_query()` before running it).

    Raises:
        ConfigError: the header or the query does not follow the format, naming `path:line`.

    Example:
        >>> check = parse_check(
        ...     "-- dbsafe:check DBS599 demo-check\\n-- severity: note\\n-- since: 1.0\\n"
        ...     "-- summary: Demo.\\n-- help: Do nothing.\\n--\\n-- Why it matters.\\n"
        ...     "SELECT 'x' AS subject, 'y' AS message WHERE false\\n", "demo_check.sql")
        >>> check.code, check.name, check.severity.value, check.description
        ('DBS599', 'demo-check', 'note', 'Why it matters.')
    """
    lines = text.splitlines()

    def fail(line: int, problem: str) -> ConfigError:
        return ConfigError(f"{path}:{line}: {problem}")

    first = _FIRST_LINE.fullmatch(lines[0].strip()) if lines else None
    if first is None:
        raise fail(1, "a check file must start with `-- dbsafe:check DBS5xx name`")
    code, name = first["code"], first["name"]
    if not _CODE.fullmatch(code):
        raise fail(1, f"check code {code!r} is not in the checks block DBS500-DBS599")
    if not _NAME.fullmatch(name):
        raise fail(1, f"check name {name!r} must be kebab-case, e.g. `orphaned-invoices`")
    stem = Path(path).stem
    if stem != name.replace("-", "_"):
        raise fail(1, f"check {name!r} must live in a file named {name.replace('-', '_')}.sql")

    values: dict[str, str] = {}
    index = 1
    while index < len(lines):
        stripped = lines[index].strip()
        if not stripped.startswith("--") or stripped == "--":
            break
        match = _KEY_LINE.fullmatch(stripped)
        if match is None:
            raise fail(index + 1, "expected `-- key: value` (or a bare `--` before the "
                                  "description)")
        key = match["key"]
        if key not in HEADER_KEYS:
            raise fail(index + 1, f"unknown header key {key!r} (known: {', '.join(HEADER_KEYS)})")
        if key in values:
            raise fail(index + 1, f"header key {key!r} given twice")
        values[key] = match["value"]
        index += 1
    missing = [k for k in HEADER_KEYS if not values.get(k)]
    if missing:
        raise fail(index + 1, f"header lacks {', '.join(missing)}")
    try:
        severity = Severity.parse(values["severity"])
    except ConfigError as exc:
        raise fail(2, str(exc)) from None

    description: list[str] = []
    while index < len(lines) and lines[index].strip().startswith("--"):
        body = lines[index].strip()[2:]
        description.append(body[1:] if body.startswith(" ") else body)
        index += 1
    if verify_query:
        _check_query("\n".join(lines[index:]), fail, index + 1)
    return Check(code=code, name=name, severity=severity, since=values["since"],
                 summary=values["summary"], help=values["help"],
                 description="\n".join(description).strip(), sql=text, path=path,
                 builtin=builtin)


def _check_query(sql: str, fail: Callable[[int, str], ConfigError], line: int) -> None:
    # One SELECT, as PostgreSQL parses it: a second statement could end the read-only
    # transaction the runner opens (`COMMIT; DELETE ...`) if it were ever sent as one string.
    # The parse tree as libpg_query's JSON: building pglast's Python nodes for the 19
    # built-in queries took 60 ms of every run that loads checks (each `dbsafe upgrade`
    # does, for its preflight), for a question the top node's name answers (20 ms).
    import json

    from pglast import parser

    try:
        tree = json.loads(parser.parse_sql_json(sql))
    except parser.ParseError as exc:
        raise fail(line, f"the query does not parse: {exc}") from None
    statements = tree.get("stmts") or []
    if len(statements) != 1 or "SelectStmt" not in statements[0].get("stmt", {}):
        raise fail(line, "the body must be exactly one SELECT statement")


def verify_query(check: Check) -> None:
    """Raise ConfigError unless the check's body is exactly one SELECT (PostgreSQL's parser)."""
    lines = check.sql.splitlines()
    index = 1
    while index < len(lines) and lines[index].strip().startswith("--"):
        index += 1

    def fail(line: int, problem: str) -> ConfigError:
        return ConfigError(f"{check.path}:{line}: {problem}")

    _check_query("\n".join(lines[index:]), fail, index + 1)


@functools.cache
def builtin_checks() -> tuple[Check, ...]:
    """The checks that ship with dbsafe (`dbsafe/checks/builtin/*.sql`), in code order.

    Headers only, read once per process: listing codes (`commands.catalog()`, on every run)
    needs no SQL parser. `load_checks`, which loads checks to run them, verifies the queries.
    """
    folder = resources.files(BUILTIN_PACKAGE).joinpath(BUILTIN_DIR)
    checks = [
        parse_check(entry.read_text(encoding="utf-8"), f"dbsafe/checks/builtin/{entry.name}",
                    builtin=True, verify_query=False)
        for entry in folder.iterdir()
        if entry.name.endswith(".sql")
    ]
    return tuple(sorted(checks, key=lambda c: c.code))


def load_checks(paths: Iterable[Path] = (), *, builtins: bool = True) -> tuple[Check, ...]:
    """The built-in checks plus every `*.sql` file in `paths` (folders or files).

    Raises:
        ConfigError: a path does not exist, a file is malformed, or two checks share a code
            or a name.
    """
    checks = list(builtin_checks()) if builtins else []
    for check in checks:
        verify_query(check)
    for path in paths:
        if path.is_dir():
            files: Sequence[Path] = sorted(path.glob("*.sql"))
        elif path.is_file():
            files = [path]
        else:
            raise ConfigError(f"check path {path} does not exist (see `check-paths`)")
        for file in files:
            try:
                text = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(f"cannot read check {file}: {exc}") from None
            checks.append(parse_check(text, str(file)))
    seen: dict[str, Check] = {}
    for check in checks:
        for key in (check.code, check.name):
            other = seen.get(key)
            if other is not None:
                raise ConfigError(f"{check.path}:1: {key} is already used by {other.path}"
                                  + ("; project checks take codes from DBS560 upwards"
                                     if other.builtin else ""))
            seen[key] = check
    return tuple(sorted(checks, key=lambda c: c.code))
