"""`dbsafe plan [TARGET]`: what an upgrade would do, and what it would cost, executing nothing.

Per pending revision: its SQL (offline rendering: what alembic would send), the lock each
statement takes and what that lock blocks, and — on a live database — the size and row
estimate of each table touched and, for the statements whose duration follows from size
(a table rewrite, an index build), an estimate of how long the lock is held. The lint
findings for the pending revisions come with it, and what the database's rows say of their
statements that validate rows, asked as `upgrade`'s preflight asks them (DBS615: a refusal
it would stop on, at its revision and its statement's `op.*` call).

A revision offline rendering cannot reach (it reads the database, or env.py connects
whatever the mode) shows instead the SQL it ran when the plan's lint ran it on a throwaway
server (a copy of the database's schema, as `upgrade`'s preflight), said so: a revision
that branches on the data may run otherwise on the database.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from dbsafe.core import Finding, Report, SourceError
from dbsafe.migrate.revisions import ancestors, check_target, pending, relative_target
from dbsafe.migrate.runner import AlembicProject, MigrationError, current_revisions, describe
from dbsafe.pg.throwaway import scratch

if TYPE_CHECKING:
    from dbsafe.config import Settings
    from dbsafe.extract.migration import Migration
    from dbsafe.guard.row_refusals import Counted, Told
    from dbsafe.lint.run import Loaded
    from dbsafe.migrate.runner import Revision

# Rough sequential throughput of the work that holds a lock for as long as it takes. They
# only turn a table's size into an order of magnitude; the plan says "estimate".
REWRITE_BYTES_PER_SECOND = 150 * 2**20
INDEX_BUILD_BYTES_PER_SECOND = 60 * 2**20


def plan(settings: Settings, database_url: str, target: str = "heads", *,
         lint: Callable[[Settings, str | None, Collection[str]], tuple[Report, Loaded]]
         ) -> Report:
    from dbsafe.lint.locks import lock_report
    from dbsafe.lint.run import load
    from dbsafe.schema.introspect import introspect_url
    from dbsafe.schema.stats import table_stats

    project = AlembicProject.from_settings(settings)
    described = describe(project)
    check_target(described.revisions, described.heads, target)  # before any connection
    current = current_revisions(database_url)
    wanted = relative_target(described.revisions, described.heads, current, target)
    todo = pending(described.revisions, current, wanted)
    if not todo:
        return Report((), {"outcome": "up to date", "pending": [],
                           "lines": [f"at {', '.join(current) or 'base'}: nothing to do"]})
    since = current[0] if len(current) == 1 else None
    linted = replace(settings, managed_timeouts=True, database_url=database_url)
    names = {r.revision for r in todo}
    whole: str | None = None
    try:
        loaded = load(linted, since=since, offline=True)
    except SourceError as exc:
        if not isinstance(exc.__cause__, MigrationError) or exc.__cause__.revision:
            raise
        # env.py itself cannot run offline (it opens a connection whatever the mode, as
        # fractal-server's does): no revision has SQL to show, and the plan's lint runs
        # them on a throwaway server all the same. It was exit 2, and no plan at all.
        migrations: list[Any] = []
        whole = f"the project's env.py cannot render offline ({exc})"
        not_rendered = {r.revision: whole for r in todo}
    else:
        migrations = [m for m in loaded.migrations if m.revision in names]
        # A revision that reads the database cannot be rendered offline, nor those after it.
        not_rendered = {u.revision: u.reason for u in loaded.unlinted if u.revision in names}
    # Only what the upgrade would apply, as `upgrade TARGET`'s preflight lints: the
    # revisions after the target (or on another branch) were linted and their findings
    # dropped, a capture's time spent for nothing.
    linted_report, linted_loaded = lint(
        linted, since, ancestors(described.revisions, (*current, *(r.revision for r in todo))))
    # The findings come from running the revisions on a throwaway server: one offline
    # rendering cannot show was linted all the same, which its line must not deny. The
    # SQL it ran there is shown instead of none (fractal-server's env.py renders nothing).
    ran = linted_report.summary.get("linted_revisions")
    ran = ran if isinstance(ran, list) else []
    captured = _captured(linted_loaded, names - {m.revision for m in migrations})
    failed = {u.revision for u in linted_loaded.unlinted}
    shown = {m.revision: m for m in migrations} | captured
    # Read over the database's schema, as `lint --locks` is: its foreign keys decide which
    # other tables a statement locks. In upgrade order, the captured ones after those
    # rendered: the keys an earlier revision makes are read by the later ones.
    locks = lock_report([shown[r.revision] for r in todo if r.revision in shown],
                        before=introspect_url(database_url))
    sizes = table_stats(database_url)
    # The rows `upgrade TARGET`'s preflight asks before the first revision (DBS615), of the
    # revisions it would apply: a refusal the plan did not show stopped the upgrade.
    answered = _rows(settings, database_url, linted_report.summary.get("row_checks"), todo)
    # A table whose rows they counted is said with that count, in its lock lines as in the
    # findings (`guard.counted_rows`): `~3.6k rows` of a table the count found empty
    from dbsafe.guard.counted_rows import counted_tables, weighed_by_counts

    verdicts = [t.verdict for t in answered.told]
    counted = {c.relation: c for c in counted_tables(verdicts).values()}

    revisions: list[dict[str, Any]] = []
    lines: list[str] = []
    for revision in todo:
        migration = shown.get(revision.revision)
        statements: list[dict[str, Any]] = []
        taken: set[int] = set()
        for statement in (migration.statements if migration else ()):
            if statement.generated:
                continue
            rows = _lock_rows(statement, locks, taken)
            statements.append({
                "sql": statement.sql, "line": statement.location.line,
                "locks": [_lock(row, sizes, counted) for row in rows],
            })
        reason = not_rendered.get(revision.revision)
        if whole is not None and revision is not todo[0]:
            reason = "the project's env.py cannot render offline (above)"
        sql_from = None if migration is None else (
            "offline" if revision.revision not in captured else
            "captured_on_schema_copy" if linted_loaded.captured_from else "captured_from_empty")
        told = [t for t in answered.told if t.verdict.revision == revision.revision]
        revisions.append({"revision": revision.revision, "message": revision.doc,
                          "statements": statements, "sql_from": sql_from,
                          "not_rendered": not_rendered.get(revision.revision),
                          "rows": [_verdict(t) for t in told]})
        lines.append(f"{revision.revision}  {revision.doc}")
        if migration is None:
            lines.append(_not_shown(reason, linted=revision.revision in ran))
        elif revision.revision in captured:
            lines.append(_captured_line(reason, seeded=bool(linted_loaded.captured_from),
                                        failed=revision.revision in failed
                                        or migration.cut_short))
        for item in statements:
            lines += _statement_lines(item["sql"])
            for lock in item["locks"]:
                lines.append(f"    {lock['text']}")
        lines += [f"  {t.line}" for t in told if t.line is not None]
    if answered.line:
        lines.append(answered.line)
    from dbsafe.guard.one_run import said_of_this_run

    findings = tuple(weighed_by_counts(
        [f for f in said_of_this_run(linted_report.findings, names)
         if f.location is None or any(
             r.path and str(r.path).endswith(f.location.path) for r in todo)], verdicts,
        settings.severity))
    return Report(findings + answered.findings,
                  {"outcome": "planned", "from": list(current), "to": wanted,
                   "pending": revisions, "lines": lines, "rows": answered.counts,
                   "linted_revisions": linted_report.summary.get("linted_revisions", [])})


@dataclass(frozen=True, slots=True)
class _Rows:
    """What the database's rows say of the pending revisions' statements that validate
    them, as `upgrade TARGET`'s preflight would ask."""

    told: tuple[Told, ...] = ()
    findings: tuple[Finding, ...] = ()  # DBS615 of each refusal, --select/--ignore applied
    line: str | None = None  # the count, or why none was asked
    counts: dict[str, Any] = field(default_factory=dict)


def _rows(settings: Settings, database_url: str, checks: object,
          todo: Sequence[Revision]) -> _Rows:
    """The plan's lint's row checks of the revisions in `todo` asked of the database's rows
    as `upgrade`'s preflight asks them (`guard.row_refusals`: one READ ONLY transaction,
    each query under its statement timeout and `upgrade`'s default `--lock-timeout`):
    each refusal DBS615 at its statement's `op.*` call, said as the preflight says it
    (`--allow DBS615` would accept it), a `dbsafe: ignore[DBS615]` comment there
    suppressing it. None is asked where `--select`/`--ignore` leaves DBS615 out (`upgrade`
    asks them all the same, a line says), nor with no check."""
    import psycopg

    from dbsafe.core import select_findings
    from dbsafe.guard.row_refusals import (
        NOT_SELECTED,
        probe_rows,
        rows_selected,
        statement_locations,
        tell,
    )
    from dbsafe.guard.upgrade import UpgradeOptions
    from dbsafe.pg.connect import connect, one_line
    from dbsafe.pg.urls import to_libpq_url

    names = {r.revision for r in todo}
    asked = [c for c in (checks if isinstance(checks, list) else ())
             if str(c.get("revision")) in names]
    if not asked:
        return _Rows(counts={"asked": 0})
    if not rows_selected(settings):
        return _Rows(line=f"{NOT_SELECTED} (`dbsafe upgrade` asks them all the same: "
                     "`--allow DBS615` accepts a refusal)",
                     counts={"asked": 0, "not_asked": "DBS615 is not selected"})
    url = to_libpq_url(database_url)
    try:
        with connect(url) as conn:
            verdicts = probe_rows(conn, asked, lock_timeout=UpgradeOptions().lock_timeout)
    except psycopg.Error as exc:
        return _Rows(line=f"rows: not checked: {one_line(exc, url)}",
                     counts={"asked": 0, "not_asked": one_line(exc, url)})
    told, count = tell(verdicts, statement_locations(asked), settings.project_root,
                       allowed=False)
    counts: dict[str, Any] = {"asked": len(verdicts)}
    for outcome in ("refused", "passes", "cannot tell", "not checked"):
        counts[outcome.replace(" ", "_")] = sum(1 for v in verdicts if v.outcome == outcome)
    counts["suppressed"] = sum(1 for t in told if t.suppressed_at is not None)
    found = select_findings([t.finding for t in told if t.finding is not None],
                            select=settings.select, ignore=settings.ignore,
                            severity=settings.severity)
    return _Rows(tuple(told), tuple(found), count, counts)


def _verdict(told: Told) -> dict[str, Any]:
    """One verdict of a revision's rows, as `--format json` gives it."""
    v = told.verdict
    location = told.finding.location if told.finding is not None else None
    return {"sql": v.sql, "subject": v.subject, "outcome": v.outcome, "detail": v.detail,
            "find": v.find or None, "suppressed_at": told.suppressed_at,
            # (a refusal's DBS615 place, as the report's findings give it)
            "path": location.path if location else None,
            "line": location.line if location else None,
            "column": location.column if location else None}


def _statement_lines(sql: str, indent: str = "  ") -> list[str]:
    """A statement's lines as the plan shows them, each under `indent` (a continuation line
    keeps its own indentation after it, tabs as four spaces; trailing blanks dropped): a
    multi-line CREATE TABLE printed its columns and `)` at column 0, under no revision
    (Open-Assistant's, task 475).

    >>> _statement_lines("CREATE TABLE t (\\n\\tid int, \\n\\tname text\\n)\\n\\n")
    ['  CREATE TABLE t (', '      id int,', '      name text', '  )']
    """
    return [indent + line.expandtabs(4).rstrip()
            for line in sql.strip("\n").splitlines() if line.strip()]


def _captured(loaded: Loaded, wanted: Collection[str]) -> dict[str, Migration]:
    """Of `wanted` (pending revisions offline rendering did not reach), those the plan's
    lint ran on a throwaway server, by revision: what they ran there. A history lint too
    rendered offline (no throwaway server), or partly (the revisions after one that failed
    there), gives only the revisions PostgreSQL saw run a statement of."""
    if loaded.captured_from is None:
        return {}
    return {str(m.revision): m for m in loaded.migrations
            if m.revision in wanted and m.kind == "alembic"
            and (not loaded.not_captured or any(s.observed for s in m.statements))}


def _why_offline(reason: str | None, *, linted: bool) -> str:
    if reason is None:
        return ("an earlier pending revision cannot be rendered offline, and rendering stops "
                "there")
    why = reason.removeprefix("was not linted: ")
    if linted:  # the rendering's advice is for `lint --offline`, not for this plan
        why = why.split(", and offline rendering stops there")[0]
    return why


def _not_shown(reason: str | None, *, linted: bool) -> str:
    """Why a pending revision has no SQL in the plan, and whether its findings are there."""
    why = _why_offline(reason, linted=linted)
    if linted:
        why += (f"; it was linted by running it on {scratch(article='a')}: its findings are "
                "above")
    return f"  (no SQL shown: {why})"


def _captured_line(reason: str | None, *, seeded: bool, failed: bool) -> str:
    """What a revision's SQL captured as it ran on lint's throwaway server is, and is not:
    what it ran there, which a revision branching on the data may not run on the database."""
    where = (scratch("copy of the database's schema", "a") if seeded else
             f"{scratch(article='a')}, the history replayed from an empty database")
    text = (f"  (SQL captured as it ran on {where}, not rendered offline: "
            f"{_why_offline(reason, linted=True)}")
    if failed:
        text += "; it failed there (DBS005): only what it ran before failing"
    return text + "; a revision that branches on the data may run otherwise on the database)"


def _lock_rows(statement: Any, locks: list[Any], taken: set[int]) -> list[Any]:
    """The lock rows of `statement`, each row given to one statement only: the statements
    of an alembic batch (`batch_alter_table`) share its `with` line, and each would show
    the others' locks too. Rows of one statement are consecutive (execution order), each on
    a relation of its own: a relation again starts the next statement of the same summary
    (two cut at the same 60 characters, `ALTER TABLE t ALTER COLUMN a_long_name_1 ...`)."""
    from dbsafe.lint.locks import statement_summary

    here = [i for i, row in enumerate(locks) if i not in taken
            and row.location == statement.location
            and row.statement.split()[:3] == statement.sql.split()[:3]]
    own = [i for i in here if locks[i].statement == statement_summary(statement.sql)]
    # A statement lint split in several (`op.execute("A; B")`) has rows of each part.
    chosen = own[:1] if own else here
    while own and chosen[-1] + 1 in own \
            and locks[chosen[-1] + 1].relation not in {locks[i].relation for i in chosen}:
        chosen.append(chosen[-1] + 1)
    taken.update(chosen)
    return [locks[i] for i in chosen]


def _lock(row: Any, sizes: Any, counted: Mapping[str, Counted] | None = None
          ) -> dict[str, Any]:
    """One lock line of a statement, with its table's size (`sizes`: `table_stats`), its
    rows as the preflight counted them where it did (`counted`, by `schema.name`)."""
    blocked = [what for what, flag in (("reads", row.blocks_reads), ("writes", row.blocks_writes))
               if flag]
    stats = sizes.get(row.relation) if row.relation else None
    if stats is None and row.relation and "." not in row.relation:
        # (on the search_path in force for the statement: env.py's `SET search_path TO
        # phx` makes `spans` phx's)
        stats = next((found for schema in row.schemas or ("public",)
                      if (found := sizes.get(f"{schema}.{row.relation}")) is not None), None)
    estimate = None
    found = None
    text = f"{row.mode} on {row.relation or '(none)'}"
    text += f", blocks {' and '.join(blocked)}" if blocked else ", blocks no reads or writes"
    if row.created_here:
        text += " (created in this revision)"
    elif stats is not None:
        found = (counted or {}).get(stats.relation)
        text += f"; {stats.describe() if found is None else stats.describe(found.said)}"
        sql = row.statement.upper()
        if row.rewrites:
            estimate = stats.total_bytes / REWRITE_BYTES_PER_SECOND
        elif "CREATE" in sql and "INDEX" in sql:
            estimate = stats.total_bytes / INDEX_BUILD_BYTES_PER_SECOND
        if estimate is not None:
            text += f"; held ~{_duration(estimate)} (estimate from size)"
    return {"mode": row.mode, "relation": row.relation, "blocks_reads": row.blocks_reads,
            "blocks_writes": row.blocks_writes, "rewrites": row.rewrites,
            "table_bytes": stats.total_bytes if stats else None,
            "table_rows": stats.rows if stats else None,
            "table_rows_counted": None if found is None else found.rows,
            "estimated_seconds": round(estimate, 3) if estimate is not None else None,
            "source": row.source, "text": text}


def _duration(seconds: float) -> str:
    if seconds < 1:
        return "under 1s"
    if seconds < 120:
        return f"{seconds:.0f}s"
    return f"{seconds / 60:.0f}min"
