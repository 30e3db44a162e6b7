"""`dbsafe drift`: a live database against the schema its migrations build at its revision,
or against the one its `schema-file` makes.

The expected side is `migrations@REV`, REV being the revision(s) the database's own version
table holds: the migrations applied to a throwaway server by the sandboxed runner, cached by
migration hash (`dbsafe.sources`). So a database that is simply behind is not drift, while
an index created by hand, a column altered outside a migration or a view edited in place is.
Differences are reported with the `dbsafe diff` codes (DBS401-DBS404): SOURCE is the
database, TARGET the migrations. dbsafe's own schema (`dbsafe`, its history) is never
compared, nor are the objects of extensions.

With a `schema-file` (the one SQL file a new database is made from, beside a folder of
upgrades that builds nothing from empty: snedbot's `src/db/schema.sql`), the expected side
is what that file makes, built as validate builds it: "is this database what schema.sql
says?". The file has no revisions, so what an upgrade not yet run makes is drift too.

`--models module:metadata` is the `alembic check` use case: the SQLAlchemy models against
the migrations at head (built on a throwaway server), compared by alembic's own
`compare_metadata` through the project's env.py (so its `include_object`, `compare_type`...
apply). The models are imported in the sandboxed child under the project's interpreter
(`dbsafe.migrate.runner.compare_models`), never in dbsafe's process. Each difference is a
DBS405 finding.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from dbsafe.core import DbsafeError, Finding, RuleInfo, Severity

if TYPE_CHECKING:
    from collections.abc import Sequence

    from dbsafe.config import Settings
    from dbsafe.gates.drift_pending import Clash
    from dbsafe.migrate.runner import Revision
    from dbsafe.schema.diff import Change, DiffOptions
    from dbsafe.schema.model import SchemaSnapshot

MODELS_DIFFER = RuleInfo(
    code="DBS405",
    name="models-differ-from-migrations",
    summary="The SQLAlchemy models and the schema the migrations build at head differ "
            "(what `alembic check` reports).",
    default_severity=Severity.ERROR,
    since="0.1.0",
)
RULES = (MODELS_DIFFER,)

# alembic's operation names, as the message reads them (migrations -> models)
_OPERATIONS = {
    "add_table": "table `{}` is in the models but not in the migrations",
    "remove_table": "table `{}` is in the migrations but not in the models",
    "add_column": "column `{}` is in the models but not in the migrations",
    "remove_column": "column `{}` is in the migrations but not in the models",
    "add_index": "index `{}` is in the models but not in the migrations",
    "remove_index": "index `{}` is in the migrations but not in the models",
    "add_constraint": "constraint `{}` is in the models but not in the migrations",
    "remove_constraint": "constraint `{}` is in the migrations but not in the models",
    "add_fk": "foreign key `{}` is in the models but not in the migrations",
    "remove_fk": "foreign key `{}` is in the migrations but not in the models",
    "add_table_comment": "table `{}` has a comment in the models only",
    "remove_table_comment": "table `{}` has a comment in the migrations only",
}


@dataclass(frozen=True, slots=True)
class Drift:
    live: SchemaSnapshot
    expected: SchemaSnapshot
    changes: tuple[Change, ...]  # what turns the live database into what the migrations build
    revisions: tuple[str, ...]  # the database's revision(s)
    expected_from: str  # "migrations alembic.ini@0004 (cached)"
    # What else the comparison found of the migrations (a file its runner never runs: DBS613)
    notes: tuple[Finding, ...] = ()
    # Flyway's repeatable migrations edited since they ran (`edited_again`): the reference
    # holds them as they are now, the database as they were; Flyway's next migrate runs them
    rerun: tuple[str, ...] = ()
    # Versioned migrations edited since they ran (`edited_applied`): the reference holds them
    # as they are now, the database as they were; their runner never runs them again
    edited: tuple[str, ...] = ()
    # What the findings call the reference: "the migrations at 0004" (alembic's revision);
    # for a folder, "the migrations up to db/2_email.up.sql", not "at" the last file run,
    # which read as if that file made what a finding names.
    reference: str = ""
    # The reference is the `schema-file`, not migrations: a change goes into the file
    schema_file: bool = False
    # The migrations not yet applied (alembic's revisions, a folder's files), in the order
    # an upgrade runs them
    pending: tuple[str, ...] = ()
    # The objects drift found on one side only that one of them makes or drops: the next
    # upgrade fails on each (`drift_pending`), said in the finding, with how to mend it
    clashes: tuple[Clash, ...] = ()

    @property
    def reported(self) -> tuple[Change, ...]:
        """The changes a report lists: a constraint and its own index are one, a column and
        its own sequence too."""
        from dbsafe.schema.diff import with_column_sequences, without_constraint_indexes

        return with_column_sequences(
            without_constraint_indexes(self.changes, self.live, self.expected),
            self.live, self.expected)

    def findings(self) -> tuple[Finding, ...]:
        from dbsafe.schema.diff import findings

        target = self.reference or f"the migrations at {', '.join(self.revisions)}"
        out = findings(self.reported, source="the database", target=target,
                       before=self.live, after=self.expected)
        again: tuple[tuple[str, str], ...] = ()
        if self.rerun:
            again = (("Edited since it ran", f"{', '.join(self.rerun)}: Flyway runs "
                      f"{'it' if len(self.rerun) == 1 else 'them'} again at its next migrate; "
                      "the migrations are compared as they are now, so what "
                      f"{'it makes' if len(self.rerun) == 1 else 'they make'} may differ "
                      "until then"),)
        if self.edited:
            again += (("Edited since it ran", f"{', '.join(self.edited)}: the database holds "
                       f"{'it' if len(self.edited) == 1 else 'them'} as "
                       f"{'it was' if len(self.edited) == 1 else 'they were'} when applied, "
                       "the migrations are compared as they are now"),)
        if self.schema_file:
            return tuple(dataclasses.replace(
                f, help="Put the change in the schema file (and in an upgrade for older "
                        "databases), or undo it in the database (`dbsafe drift --sql` prints "
                        "the DDL that does).") for f in out)
        return self.notes + self._with_clashes(tuple(dataclasses.replace(
            f, help="Put the change in a migration, or undo it in the database "
                    "(`dbsafe drift --sql` prints the DDL that does)"
                    + ("; or run Flyway's migrate, which runs the edited repeatable "
                       "migration again" if self.rerun else "")
                    + ("; or undo the edit of the applied migration" if self.edited else "")
                    + ".",
            context=f.context + again) for f in out))

    def _with_clashes(self, out: tuple[Finding, ...]) -> tuple[Finding, ...]:
        """`out` (one finding per reported change) with what a pending migration does to
        each object it names: the message says which migration and what the upgrade fails
        on, the help how to mend it."""
        if not self.clashes:
            return out
        by_object = {(c.kind, c.identity): c for c in self.clashes}
        told: list[Finding] = []
        for change, finding in zip(self.reported, out, strict=True):
            clash = by_object.get((change.kind, change.identity))
            if clash is None or change.attribute is not None:
                told.append(finding)
                continue
            told.append(dataclasses.replace(
                finding, message=f"{finding.message.removesuffix('.')}; {clash.said}.",
                help=clash.mend, context=(*finding.context,
                                          ("Pending migration", clash.migration))))
        return tuple(told)


def options_with_defaults(options: DiffOptions | None) -> DiffOptions:
    """`options` plus what drift always leaves out (dbsafe's own schema, the version table)."""
    from dbsafe.schema.diff import DiffOptions

    return (options or DiffOptions()).without_own_schema()


def compare(settings: Settings, database_url: str, options: DiffOptions | None = None, *,
            with_pending: bool = True) -> Drift:
    """Compare the database with the migrations at its own revision (with a `schema-file`,
    with what that file makes: `compare_schema_file`). With `with_pending`, what a pending
    migration makes that the database has already, or drops that it has no longer, is said
    (`Drift.clashes`: the schema at head built for it, only when something is pending).

    Raises:
        DbsafeError: the database has no alembic version table, or holds a revision the
            history does not have.
        MigrationError: the migrations could not be applied to the throwaway server.
    """
    from dbsafe.core import hold_until_exit
    from dbsafe.migrate.revisions import pending
    from dbsafe.migrate.runner import (
        AlembicProject,
        current_revisions,
        describe,
        find_version_table,
    )
    from dbsafe.schema.diff import diff, with_role_renamed
    from dbsafe.schema.introspect import introspect_url
    from dbsafe.sources import (
        SqlFolder,
        require_migrations,
        schema_file_is_reference,
        sql_migrations_folder,
    )

    if schema_file_is_reference(settings):
        return compare_schema_file(settings, database_url, options)
    folder = sql_migrations_folder(settings)
    if folder is not None:
        from dbsafe.gates.drift_sql import compare_folder

        return compare_folder(SqlFolder.of(folder, settings), database_url, options,
                              with_pending=with_pending)
    require_migrations(settings, schema_source=False)
    project = AlembicProject.from_settings(settings)
    live = hold_until_exit(introspect_url(database_url))
    described = describe(project)
    found = find_version_table(database_url)
    version_table = found[1] if found else "alembic_version"
    revisions = current_revisions(database_url)
    if not revisions:
        raise DbsafeError(
            "the database has no alembic_version (or it is empty): it was not built by these "
            "migrations, so there is no revision to compare with; compare with a revision of "
            "your choice with `dbsafe diff DATABASE_URL migrations@REV`")
    known = {r.revision for r in described.revisions}
    unknown = [r for r in revisions if r not in known]
    if unknown:
        raise DbsafeError(
            f"the database is at {', '.join(unknown)}, which the migration history does not "
            "have (a revision from another branch, or a deleted file)")
    expected, description = _expected(settings, project, revisions)
    if live.search_path != expected.search_path:
        # Definitions are written relative to the session's path (the role's or database's
        # own, here): read with the throwaway's, the same schema reads the same.
        live = hold_until_exit(introspect_url(database_url, search_path=expected.search_path))
    # The migrations ran as the throwaway server's superuser; in the database, as the role
    # that owns its version table. What one owns or grants, the other does.
    built_by, migrated_by = _owner(expected, version_table), _owner(live, version_table)
    renamed = (built_by, migrated_by) if built_by and migrated_by and built_by != migrated_by \
        else None
    if renamed:
        expected = with_role_renamed(expected, *renamed)
    table = f"*.{version_table}"
    opts = options_with_defaults(options)
    opts = dataclasses.replace(opts, ignore_names=(*opts.ignore_names, table))
    changes = diff(live, expected, opts)
    todo = [r.revision for r in pending(described.revisions, revisions, described.heads)]
    clashes = _alembic_clashes(settings, project, described.revisions, tuple(revisions), todo,
                               changes, expected, live, opts, renamed) if with_pending else ()
    return Drift(live, expected, changes, tuple(revisions), description,
                 pending=tuple(todo), clashes=clashes)


def _alembic_clashes(settings: Settings, project: object, history: Sequence[Revision],
                     current: tuple[str, ...], todo: list[str], changes: Sequence[Change],
                     expected: SchemaSnapshot, live: SchemaSnapshot, options: DiffOptions,
                     renamed: tuple[str, str] | None) -> tuple[Clash, ...]:
    """What the pending revisions `todo` make that the database has already, or drop that it
    has no longer (`drift_pending`), and whether the revision that does is all in the
    database (safe to stamp): each schema after some of them built as the reference is,
    cached (at head, the one `validate` and `diff migrations` build), its roles `renamed`
    as the reference's are."""
    from dbsafe.core import hold_until_exit
    from dbsafe.gates.drift_pending import clashes, mend, sentence
    from dbsafe.migrate.revisions import ancestors, tips
    from dbsafe.schema.diff import with_role_renamed

    done = ancestors(history, current)

    def schema_after(i: int) -> SchemaSnapshot:
        heads = ("heads",) if i == len(todo) - 1 else tips(history, done | set(todo[:i + 1]))
        built = hold_until_exit(_expected(settings, project, heads)[0])
        return with_role_renamed(built, *renamed) if renamed else built

    def stamp(revision: str) -> str:
        # (a revision on another branch than the database's: stamped beside it)
        return f"`alembic stamp {' '.join(tips(history, done | ancestors(history, [revision])))}`"

    out = []
    for clash in clashes(changes, expected, todo, schema_after, options, live=live):
        subject = ".".join(clash.identity)
        out.append(dataclasses.replace(
            clash, said=sentence(clash, upgrade="`alembic upgrade`",
                                 pending_word=f"revision {clash.migration}, not yet applied,"),
            mend=mend(clash, ran=f"Revision {clash.migration} ran here by hand, its "
                                 "alembic_version row never written",
                      record=stamp, before=todo.index(clash.migration) > 0,
                      undo=f"drop `{subject}` so the upgrade makes it" if clash.creates else
                      f"make `{subject}` again (`dbsafe drift --sql`) so the upgrade drops it")))
    return tuple(out)


def compare_schema_file(settings: Settings, database_url: str,
                        options: DiffOptions | None = None) -> Drift:
    """Compare the database with what the `schema-file` makes (built as validate builds it,
    on a throwaway server): "is this database what schema.sql says?". The file has no
    revisions, so a database whose upgrades have not all run differs by what they make.

    Raises:
        ConfigError, SourceError: no schema file, a folder, a missing file.
    """
    from dbsafe.core import hold_until_exit
    from dbsafe.schema.diff import diff, with_role_renamed
    from dbsafe.schema.introspect import introspect_url
    from dbsafe.sources import schema_file_snapshot

    expected, description = schema_file_snapshot(settings)
    live = hold_until_exit(introspect_url(database_url))
    if live.search_path != expected.search_path:
        live = hold_until_exit(introspect_url(database_url, search_path=expected.search_path))
    # The file ran as the throwaway server's superuser; the database was made by the role
    # that owns most of its tables (no version table says which). What one owns or grants,
    # the other does, so a database made by its application's role is not drift.
    built_by, made_by = _main_owner(expected), _main_owner(live)
    if built_by and made_by and built_by != made_by:
        expected = with_role_renamed(expected, built_by, made_by)
    opts = options_with_defaults(options)
    # (the platform's schemas of dbsafe's Supabase stand-in, where the database has none)
    one_sided = expected.stand_in_schemas() - live.stand_in_schemas()
    opts = dataclasses.replace(opts, ignore_schemas=opts.ignore_schemas | one_sided)
    shown = description.removeprefix("schema file ").removesuffix(" (cached)")
    return Drift(live, expected, diff(live, expected, opts), (), description,
                 reference=f"the schema file {shown}", schema_file=True)


def _main_owner(snapshot: SchemaSnapshot) -> str | None:
    """The role most of the snapshot's relations belong to (as `--sql` takes it to run)."""
    from collections import Counter

    owners = Counter(r.owner for r in snapshot.relations if r.owner)
    return owners.most_common(1)[0][0] if owners else None


def _owner(snapshot: SchemaSnapshot, table: str) -> str | None:
    """The owner of the version table `table` (the one in public first)."""
    found = sorted((r for r in snapshot.relations if r.name == table),
                   key=lambda r: r.schema != "public")
    return found[0].owner if found else None


def _expected(settings: Settings, project: object,
              revisions: Sequence[str]) -> tuple[SchemaSnapshot, str]:
    if len(revisions) == 1:
        from dbsafe.sources import load_snapshot

        return load_snapshot(f"migrations@{revisions[0]}", settings)
    # Several heads applied: upgrade along each branch (no cache for this rare case).
    from dbsafe.migrate.runner import AlembicProject, apply
    from dbsafe.pg.throwaway import throwaway_server
    from dbsafe.schema.introspect import introspect_url

    assert isinstance(project, AlembicProject)
    started = datetime.now(UTC)
    if project.setup is not None:
        project.setup.check()
    with throwaway_server(database="dbsafe") as server:
        url = server.url("dbsafe")
        if project.setup is not None:
            project.setup.run(url)
        apply(project, url, [("upgrade", f"{r}@{r}") for r in revisions], throwaway=True)
        snapshot = introspect_url(url).mark_built_since(started)
    return snapshot, f"migrations {project.ini.name}@{','.join(revisions)}"


def compare_models(settings: Settings, models: str) -> tuple[Finding, ...]:
    """The SQLAlchemy models `models` (`module:attribute`) against the migrations at head.

    Raises:
        MigrationError: the migrations do not apply, or the models cannot be imported.
    """
    from dbsafe.migrate.runner import AlembicProject
    from dbsafe.migrate.runner import compare_models as run_comparison
    from dbsafe.pg.throwaway import throwaway_server

    if ":" not in models or not all(models.partition(":")[::2]):
        raise DbsafeError(f"--models {models!r}: give the models as module:attribute, e.g. "
                          "app.models:Base.metadata")
    project = AlembicProject.from_settings(settings)
    if project.setup is not None:
        project.setup.check()
    with throwaway_server(database="dbsafe") as server:
        if project.setup is not None:
            project.setup.run(server.url("dbsafe"))
        differences = run_comparison(project, server.url("dbsafe"), models)
    return tuple(_model_finding(models, *d) for d in differences)


def _model_finding(models: str, operation: str, subject: str, detail: str) -> Finding:
    template = _OPERATIONS.get(operation)
    if template is not None:
        what = template.format(subject)
    elif operation.startswith("modify_"):
        what = f"`{subject}` differs, {detail}"
    else:
        what = f"{operation.replace('_', ' ')} `{subject}`" + (f" ({detail})" if detail else "")
    return Finding(
        MODELS_DIFFER.code, f"The models ({models}) and the migrations at head differ: {what}.",
        MODELS_DIFFER.default_severity, None, subject or None,
        help="Write a migration for the change (`alembic revision --autogenerate` drafts "
             "it), or change the models to match the migrations.",
        context=(("alembic operation", operation),),
    )
