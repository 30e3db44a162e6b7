"""A Flyway project's configuration as Flyway reads it, and its placeholders filled in.

Flyway's command line reads `flyway.conf` (Java properties: `flyway.placeholders.name=value`,
`flyway.schemas=app`, `${VAR}` replaced by the environment variable) or `flyway.toml`, then
`flyway.user.toml` over it (`[flyway]`, `[flyway.placeholders]`, `[environments.<name>]`
with its `schemas` and its `[environments.<name>.flyway]` overrides, the environment
`[flyway] environment` names, `default` without), and its `FLYWAY_*` environment variables
over both (`FLYWAY_PLACEHOLDERS_NAME`, `FLYWAY_SCHEMAS`, ...: `ConfigUtils`). dbsafe reads
the first folder from a migrations folder upward (up to the repository's top) holding one
of them (or holding them in `conf/`, as Flyway's own installation folder does), when the
locations it names hold the folder or none of them is on disk (`_holds`).

Flyway replaces every `${name}` of a migration (its `placeholderPrefix` and
`placeholderSuffix`), in comments and strings too, before parsing it
(`PlaceholderReplacingReader`): the name matched case-insensitively against the configured
placeholders and its own `${flyway:defaultSchema}`, `${flyway:user}`, ... (`ParsingContext`);
a name it has no value for fails the migration ("No value provided for placeholder"), so
dbsafe refuses to read it (`SourceError`) when it read Flyway's configuration; with no
configuration file, Flyway is configured where dbsafe does not look (Spring Boot's
`spring.flyway.placeholders`), and the placeholder is left as written (`fill_placeholders`).
`placeholderReplacement = false`, in the configuration or a script's own `<file>.conf`,
leaves the text as written.
"""

from __future__ import annotations

import datetime
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dbsafe.core import SourceError

# Where Flyway's command line finds its configuration, in the order it reads them (a later
# file's keys over an earlier one's): its installation's conf/, then the working directory.
_CONF_FILES = ("conf/flyway.conf", "flyway.conf")
_TOML_FILES = ("conf/flyway.toml", "conf/flyway.user.toml", "flyway.toml", "flyway.user.toml")
_DEFAULT_TABLE = "flyway_schema_history"
# The role and database a migration runs as and in on dbsafe's throwaway server
# (`dbsafe.pg.throwaway`): `${flyway:user}` and `${flyway:database}` there.
THROWAWAY_USER = "postgres"
THROWAWAY_DATABASE = "dbsafe"


# A version as Flyway reads it (`MigrationVersion`): numbers, each part a number, between
# dots or underscores (`1.2`, `1_2`, `005`, `201004200021`).
_VERSION = re.compile(r"\d+(?:[._]\d+)*")


# Flyway's callback events (`org.flywaydb.core.api.callback.Event`, by id): a SQL file of its
# locations named after one (`afterMigrate.sql`, `afterMigrate__grants.sql`) is a callback
# it runs at that event, never a migration. Those a successful `flyway migrate` fires, in
# the order it fires them, come first; `*EachMigrate` run in each migration's transaction.
# (The `*Statement` ones are Flyway Teams' and run per statement: dbsafe does not run them.)
FLYWAY_MIGRATE_EVENTS = ("beforeMigrate", "afterVersioned", "beforeRepeatables",
                         "afterMigrateApplied", "afterMigrate")
FLYWAY_EACH_EVENTS = ("beforeEachMigrate", "afterEachMigrate")
FLYWAY_EVENTS = frozenset({
    *FLYWAY_MIGRATE_EVENTS, *FLYWAY_EACH_EVENTS,
    "beforeEachMigrateStatement", "afterEachMigrateStatement", "afterEachMigrateStatementError",
    "afterEachMigrateError", "afterMigrateError", "afterMigrateOperationFinish",
    "createSchema", "beforeConnect",
    *(f"{when}{command}{end}" for command in ("Clean", "Validate", "Baseline", "Repair",
                                               "Info", "Undo")
      for when, end in (("before", ""), ("after", ""), ("after", "Error"))),
    "beforeEachUndo", "beforeEachUndoStatement", "afterEachUndoStatement",
    "afterEachUndoStatementError", "afterEachUndo", "afterEachUndoError",
    "afterInfoOperationFinish"})


@dataclass(frozen=True, slots=True)
class FlywayNames:
    """How Flyway names its SQL migrations (`sqlMigrationPrefix`, `repeatableSqlMigrationPrefix`,
    `undoSqlMigrationPrefix`, `baselineMigrationPrefix`, `sqlMigrationSeparator`,
    `sqlMigrationSuffixes`): versioned, undo and baseline files are
    `<prefix><version><separator><description><suffix>`, repeatable ones
    `<prefix><separator><description><suffix>`. A baseline migration (`B2__x.sql`, in
    Flyway's community edition since 9) stands for every versioned one up to its version
    on a new database (`flyway_new_database`)."""

    versioned: str = "V"
    repeatable: str = "R"
    undo: str = "U"
    baseline: str = "B"
    separator: str = "__"
    suffixes: tuple[str, ...] = (".sql",)

    @property
    def default(self) -> bool:
        return self == FlywayNames()

    def parse(self, name: str) -> tuple[str, str | None, str] | None:
        """The kind ("V", "R", "U" or "B"), version and description of the migration file
        `name`, as Flyway's `ResourceNameParser` reads it: a suffix stripped (its case
        aside), then the longest prefix it starts with, then the text before the first
        separator the version (none for a repeatable file); None for a file Flyway does not
        run as a migration (another suffix or prefix, no valid version).

        >>> FlywayNames().parse("V1_2__add_email.sql"), FlywayNames().parse("R__views.SQL")
        (('V', '1.2', 'add email'), ('R', None, 'views'))
        >>> names = FlywayNames(versioned="Migration-", suffixes=(".pgsql",))
        >>> names.parse("Migration-10__x.pgsql"), names.parse("V1__x.sql"), names.parse("R1__x.pgsql")
        (('V', '10', 'x'), None, None)
        >>> FlywayNames().parse("V3.sql"), FlywayNames().parse("Views.sql")
        (('V', '3', ''), None)
        >>> FlywayNames().parse("B1_1__baseline.sql"), FlywayNames().parse("Base.sql")
        (('B', '1.1', 'baseline'), None)
        >>> FlywayNames(baseline="IB").parse("IB2__x.sql"), FlywayNames(baseline="IB").parse("B2__x.sql")
        (('B', '2', 'x'), None)
        """
        base = next((name[:-len(s)] for s in self.suffixes
                     if s and len(name) > len(s) and name.upper().endswith(s.upper())), None)
        if base is None:
            return None
        kinds = sorted(((self.versioned, "V"), (self.repeatable, "R"), (self.undo, "U"),
                        (self.baseline, "B")),
                       key=lambda pair: -len(pair[0]))
        prefix, kind = next(((p, k) for p, k in kinds if base.startswith(p)), ("", ""))
        if not kind:
            return None
        version, _, description = base[len(prefix):].partition(self.separator)
        if kind == "R":
            return ("R", None, description.replace("_", " ")) if not version else None
        if not _VERSION.fullmatch(version):
            return None
        return kind, version.replace("_", "."), description.replace("_", " ")

    def callback(self, name: str) -> tuple[str, str | None] | None:
        """The event and description of the SQL callback `name`, as Flyway's
        `SqlScriptCallbackFactory` reads a file of its locations: a suffix stripped, the
        text before the first separator an event's id (`Event.fromId`, its case as
        written), the rest its description; None for a file that is no callback.

        >>> FlywayNames().callback("afterMigrate.sql"), FlywayNames().callback("afterMigrate__refresh.sql")
        (('afterMigrate', None), ('afterMigrate', 'refresh'))
        >>> FlywayNames().callback("aftermigrate.sql"), FlywayNames().callback("V1__afterMigrate.sql")
        (None, None)
        """
        base = next((name[:-len(s)] for s in self.suffixes
                     if s and len(name) > len(s) and name.endswith(s)), None)
        if base is None:
            return None
        event, separated, description = base.partition(self.separator)
        if event not in FLYWAY_EVENTS:
            return None
        return event, description if separated else None

    @staticmethod
    def version_key(version: str) -> tuple[int, ...]:
        """A version (`1.2`) as Flyway compares them (`MigrationVersion`): part by part, as
        numbers, trailing zeros aside (`1.0` is `1`).

        >>> FlywayNames.version_key("1.10.0") > FlywayNames.version_key("1.9")
        True
        >>> FlywayNames.version_key("2.0")
        (2,)
        """
        parts = [int(part) for part in version.split(".")]
        while len(parts) > 1 and parts[-1] == 0:
            parts.pop()
        return tuple(parts)


@dataclass(frozen=True, slots=True)
class FlywayConfig:
    """What dbsafe reads of a Flyway configuration (Flyway's defaults without one)."""

    files: tuple[Path, ...] = ()  # the files read, in the order read
    # Spring Boot's application.properties / application.yml read instead (`spring.flyway.*`):
    # an application may give Flyway more in code, so a placeholder they lack is not an error
    spring: tuple[Path, ...] = ()
    # A build's configuration of its Flyway plugin read (Maven's pom.xml): its command line
    # may give Flyway more (`-Dflyway.placeholders.x=`), so the same holds
    build: tuple[Path, ...] = ()
    placeholders: Mapping[str, str] = field(default_factory=dict)  # keys lower-cased
    prefix: str = "${"
    suffix: str = "}"
    separator: str = ":"
    replacement: bool = True
    default_schema: str | None = None
    schemas: tuple[str, ...] = ()
    table: str = _DEFAULT_TABLE
    environment: str = "default"
    locations: tuple[str, ...] = ()
    names: FlywayNames = FlywayNames()
    # The environment variables read (`FLYWAY_PLACEHOLDERS_*`, ...), for a cache's key
    environ: tuple[tuple[str, str], ...] = ()
    # What `flyway migrate` does with a version below the last one applied that never ran:
    # runs it (`outOfOrder`), else refuses to migrate (`validateOnMigrate`, its default)
    # unless `ignoreMigrationPatterns` lets it skip the file (`*:ignored`). A command line's
    # `-outOfOrder=true` is no file's: dbsafe does not see it.
    out_of_order: bool = False
    validate_on_migrate: bool = True
    ignore_patterns: tuple[str, ...] = ("*:future",)
    encoding: str = "UTF-8"  # its files' (`encoding`)
    # `migrate` applies every pending migration in one transaction (`group`; off untold)
    group: bool = False

    @property
    def utf8(self) -> bool:
        """Whether Flyway reads its files as UTF-8 (`encoding`), as dbsafe checksums them."""
        return self.encoding.replace("-", "").replace("_", "").lower() == "utf8"

    @property
    def ignores_ignored(self) -> bool:
        """Whether `ignoreMigrationPatterns` lets validation pass a versioned migration below
        the last one applied that never ran (`ValidatePattern`: `*:ignored`,
        `versioned:ignored`, `*:*`).

        >>> FlywayConfig().ignores_ignored, FlywayConfig(ignore_patterns=("Versioned:*",)).ignores_ignored
        (False, True)
        """
        return any(kind.strip().lower() in ("*", "versioned")
                   and state.strip().lower() in ("*", "ignored")
                   for kind, _, state in (p.partition(":") for p in self.ignore_patterns))

    @property
    def ignores_all_states(self) -> bool:
        """Whether `ignoreMigrationPatterns` lets validation pass a versioned migration whatever
        its state (`*:*`, `versioned:*`): an applied one edited since too.

        >>> FlywayConfig().ignores_all_states, FlywayConfig(ignore_patterns=("*:*",)).ignores_all_states
        (False, True)
        """
        return any(kind.strip().lower() in ("*", "versioned") and state.strip() == "*"
                   for kind, _, state in (p.partition(":") for p in self.ignore_patterns))

    def ignores(self, kind: str, state: str) -> bool:
        """Whether `ignoreMigrationPatterns` lets validation pass a migration of `kind`
        ("versioned" or "repeatable") in `state` (`ValidatePattern.matchesMigration`).

        >>> FlywayConfig().ignores("versioned", "future"), FlywayConfig().ignores("repeatable", "failed")
        (True, False)
        """
        return any(k.strip().lower() in ("*", kind) and s.strip().lower() in ("*", state)
                   for k, _, s in (p.partition(":") for p in self.ignore_patterns))

    @property
    def ignores_future(self) -> bool:
        """Whether `ignoreMigrationPatterns` passes future migrations, versioned and
        repeatable alike (`ValidatePatternUtils.isFutureIgnored`: `*:future`, its default):
        then a failed one, recorded at a version past every file's, fails neither validation
        nor, alone, `migrate`.

        >>> FlywayConfig().ignores_future, FlywayConfig(ignore_patterns=("versioned:future",)).ignores_future
        (True, False)
        """
        return self.ignores("versioned", "future") and self.ignores("repeatable", "future")

    @property
    def schema(self) -> str | None:
        """The schema Flyway keeps its history table in and sets first on the search_path
        while a migration runs: `defaultSchema`, else the first of `schemas`; None: the
        database's default (`public`)."""
        return self.default_schema or (self.schemas[0] if self.schemas else None)

    @property
    def made_schemas(self) -> tuple[str, ...]:
        """The schemas Flyway creates when missing, before the first migration runs
        (`createSchemas`, on by default): `defaultSchema` and `schemas`."""
        return tuple(dict.fromkeys((*((self.default_schema,) if self.default_schema else ()),
                                    *self.schemas)))

    @property
    def folder(self) -> Path | None:
        """The folder Flyway runs from: the last configuration file's (its `conf/`'s parent),
        or the Maven project's."""
        if not self.files:
            return self.build[0].parent if self.build else None
        last = self.files[-1].parent
        return last.parent if last.name == "conf" else last

    def builtins(self, file_name: str) -> dict[str, str]:
        """Flyway's own placeholders for the migration `file_name` (`ParsingContext`): the
        user and database those the throwaway server runs it as and in."""
        values = {
            "defaultSchema": self.schema or "public",
            "user": THROWAWAY_USER,
            "database": THROWAWAY_DATABASE,
            "timestamp": datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
            "filename": file_name,
            "workingDirectory": str(self.folder or Path.cwd()),
            "table": self.table,
            "environment": self.environment,
        }
        return {f"flyway{self.separator}{k}".lower(): v for k, v in values.items()}


def flyway_config(folder: Path) -> FlywayConfig:
    """The Flyway configuration that applies to the migrations of `folder`: the nearest
    `flyway.conf`/`flyway.toml` or Maven project with Flyway's plugin (`_maven`) whose
    locations hold it, Spring Boot's over a Maven project's; Flyway's defaults, with its
    `FLYWAY_*` environment variables, when none applies."""
    folder = folder.resolve()
    maven = None
    for candidate in (folder, *folder.parents):
        files = [candidate / n for n in (*_CONF_FILES, *_TOML_FILES) if (candidate / n).is_file()]
        if (candidate / "pom.xml").is_file() \
                and (found := _maven(candidate / "pom.xml", files)) is not None \
                and _holds(found, candidate, folder):
            maven = found
            break
        if files:
            config = _read(files)
            if _holds(config, candidate, folder):
                return config
        if (candidate / ".git").exists():
            break
    # (a Spring Boot application migrates its database as it starts, wherever that runs;
    # its build's plugin, where it has one too, is the developer's)
    return _spring_boot(folder) or maven or _read([])


# Where the Maven plugin looks for migrations untold (`AbstractFlywayMojo`: the project's
# `src/main/resources/db/migration`).
_MAVEN_DEFAULT_LOCATION = "filesystem:src/main/resources/db/migration"
# Its settings given as a list of elements (`<schemas><schema>app</schema></schemas>`).
_MAVEN_LISTS = ("schemas", "locations", "sqlMigrationSuffixes", "ignoreMigrationPatterns")
_MAVEN_REFERENCE = re.compile(r"\$\{([^}]+)\}")


def _maven(pom: Path, files: list[Path]) -> FlywayConfig | None:
    """The Flyway configuration the `flyway-maven-plugin` of the Maven project `pom` runs
    with, as its `AbstractFlywayMojo` builds it (a later source over an earlier one): the
    `flyway.conf` beside the pom, the plugin's `<configuration>` (`<schemas>`,
    `<defaultSchema>`, `<table>`, `<locations>`, `<placeholders>`, the placeholder and file
    name settings), the project's `flyway.*` `<properties>`, then Flyway's environment
    variables; `${name}` in a value read from the project's properties (`${project.basedir}`,
    `${env.NAME}`), a value with one it cannot read left out. None when the pom has no
    such plugin (in `<build>`'s `<plugins>` or `<pluginManagement>`, not a profile's).

    Raises:
        SourceError: the pom is not XML.
    """
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(pom.read_bytes())
    except (OSError, ET.ParseError) as exc:
        raise SourceError(f"cannot read the Maven project {pom}: {exc}") from None
    for element in root.iter():  # `{http://maven.apache.org/POM/4.0.0}plugin` -> `plugin`
        element.tag = element.tag.rpartition("}")[2] if isinstance(element.tag, str) else ""
    build = root.find("build")
    plugin = next((p for p in (*(build.findall("plugins/plugin") if build is not None else ()),
                               *(build.findall("pluginManagement/plugins/plugin")
                                 if build is not None else ()))
                   if (p.findtext("artifactId") or "").strip() == "flyway-maven-plugin"), None)
    if plugin is None:
        return None
    properties = {e.tag: (e.text or "").strip() for e in root.findall("properties/*")}
    properties.update({"project.basedir": str(pom.parent), "basedir": str(pom.parent)})

    def value(text: str | None) -> str | None:
        """`text` with its `${...}` read; None where one names nothing known."""
        unknown = False

        def resolve(match: re.Match[str]) -> str:
            nonlocal unknown
            name = match.group(1)
            found = os.environ.get(name[4:]) if name.startswith("env.") \
                else properties.get(name)
            if found is None or _MAVEN_REFERENCE.search(found):
                unknown = True
                return match.group(0)
            return found

        read = _MAVEN_REFERENCE.sub(resolve, (text or "").strip())
        return None if unknown else read

    settings: dict[str, str] = {}
    placeholders: dict[str, str] = {}
    read = _read_files([f for f in files if f.name == "flyway.conf"], settings, placeholders)
    configuration = plugin.find("configuration")
    for element in configuration if configuration is not None else ():
        if element.tag == "placeholders":
            for placeholder in element:
                if (found := value(placeholder.text)) is not None:
                    placeholders[placeholder.tag.lower()] = found
        elif element.tag in _SETTINGS:
            items = [value(e.text) for e in element] if element.tag in _MAVEN_LISTS \
                and len(element) else [value(element.text)]
            if all(item is not None for item in items):
                settings[element.tag] = ",".join(i for i in items if i)
    for key, text in properties.items():
        found = value(text)
        if found is None or not key.startswith("flyway."):
            continue
        if key.startswith("flyway.placeholders."):
            placeholders[key.removeprefix("flyway.placeholders.").lower()] = found
        elif key.removeprefix("flyway.") in _SETTINGS:
            settings[key.removeprefix("flyway.")] = found
    environ = _environ(settings, placeholders)
    settings["locations"] = ",".join(
        _maven_location(loc) for loc in (s.strip() for s in
                                         settings.get("locations", "").split(",")) if loc) \
        or _MAVEN_DEFAULT_LOCATION
    return _config(settings, placeholders, environ=environ, build=(pom, *read))


# Spring Boot's configuration files in a project's `src/main/resources` (the classpath root),
# in the order it reads them: a `.properties` file's keys over a `.yml`'s.
_SPRING_FILES = ("application.yml", "application.yaml", "application.properties")
# Spring Boot's `spring.flyway.*` keys (relaxed binding: `default-schema`, `defaultSchema`,
# `default_schema`) by Flyway's own names, and where it looks for migrations untold.
_SPRING_DEFAULT_LOCATION = "classpath:db/migration"


def _spring_boot(folder: Path) -> FlywayConfig | None:
    """The Flyway configuration a Spring Boot application gives the migrations of
    `folder` (in its `src/main/resources`): `spring.flyway.placeholders.*`, `schemas`,
    `default-schema`, `table`, `placeholder-prefix`/`-suffix`/`-separator`/`-replacement`
    and `locations` (`classpath:db/migration` untold) of its `application.yml` and
    `application.properties` (the default profile's), `${NAME:default}` in a value read
    from the environment, and `SPRING_FLYWAY_*` environment variables over them; None for
    another folder, or one no such file is about."""
    resources = next((p for p in (folder, *folder.parents) if p.name == "resources"
                      and p.parent.name == "main" and p.parent.parent.name == "src"), None)
    if resources is None:
        return None
    files = [resources / n for n in _SPRING_FILES if (resources / n).is_file()]
    if not files:
        return None
    values: dict[str, str] = {}
    for file in files:
        try:
            text = file.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise SourceError(f"cannot read Spring Boot's configuration {file}: {exc}") from None
        values.update(_spring_yaml(file, text) if file.suffix in (".yml", ".yaml")
                      else _spring_properties(text))
    # (FLYWAY_PLACEHOLDERS_* too: what dbsafe's warning for a missing one asks for)
    environ = tuple(sorted((k, v) for k, v in os.environ.items()
                           if k.startswith(("SPRING_FLYWAY_", "FLYWAY_PLACEHOLDERS_"))))
    settings: dict[str, str] = {}
    placeholders: dict[str, str] = {}
    for key, value in values.items():
        if not key.startswith("spring.flyway.") or _SPRING_REFERENCE.search(value):
            continue  # (a `${DB_SCHEMA}` no environment here has: not known, not a name)
        name = key.removeprefix("spring.flyway.")
        if name.startswith("placeholders."):
            placeholders[name.removeprefix("placeholders.").lower()] = value
        elif (setting := _SPRING_SETTINGS.get(re.sub(r"[-_]", "", name).lower())) is not None:
            settings[setting] = value
    for key, value in sorted(environ, key=lambda kv: kv[0].startswith("SPRING_")):
        name = key.removeprefix("SPRING_FLYWAY_").removeprefix("FLYWAY_")
        if name.startswith("PLACEHOLDERS_") and len(name) > len("PLACEHOLDERS_"):
            placeholders[name.removeprefix("PLACEHOLDERS_").lower()] = value
        elif (setting := _SPRING_SETTINGS.get(name.replace("_", "").lower())) is not None:
            settings[setting] = value
    settings.setdefault("locations", _SPRING_DEFAULT_LOCATION)
    config = _config(settings, placeholders, environ=environ, spring=tuple(files))
    return config if _holds(config, resources, folder) else None


def _maven_location(location: str) -> str:
    """A location of a Maven project's Flyway plugin, relative to the project: a
    `classpath:` one (or one without a prefix) is in its resources.

    >>> _maven_location("db/migration"), _maven_location("filesystem:sql")
    ('filesystem:src/main/resources/db/migration', 'filesystem:sql')
    """
    kind, colon, place = location.partition(":")
    if not colon:
        kind, place = "classpath", location
    if kind != "classpath":
        return location
    return "filesystem:src/main/resources/" + place.lstrip("/")


# Flyway's settings dbsafe reads (`_config`).
_SETTINGS = (
    "placeholderPrefix", "placeholderSuffix", "placeholderSeparator", "placeholderReplacement",
    "defaultSchema", "schemas", "table", "locations", "sqlMigrationPrefix",
    "repeatableSqlMigrationPrefix", "undoSqlMigrationPrefix", "baselineMigrationPrefix",
    "sqlMigrationSeparator", "sqlMigrationSuffixes", "outOfOrder", "validateOnMigrate",
    "ignoreMigrationPatterns", "ignoreIgnoredMigrations", "ignoreMissingMigrations",
    "ignorePendingMigrations", "ignoreFutureMigrations",
    "encoding", "group")
# Flyway 7's and 8's `ignore<State>Migrations` (and their `FLYWAY_IGNORE_*_MIGRATIONS`), which
# Flyway 9 dropped for `ignoreMigrationPatterns` (a configuration file holding one it refuses:
# "Unknown configuration property"), each with Flyway 8's default: the pattern Flyway 9 reads
# as it (`ValidatePatternUtils.isIgnoredIgnored`, ...: `*:ignored`), which is where Flyway 8's
# `MigrationInfoImpl.validate` passes the same states its flags pass (`context.ignored`, ...).
_STATE_FLAGS = {"ignoreIgnoredMigrations": ("ignored", False),
                "ignoreMissingMigrations": ("missing", False),
                "ignorePendingMigrations": ("pending", False),
                "ignoreFutureMigrations": ("future", True)}
# ... by the name Spring Boot's relaxed binding reduces them to.
_SPRING_SETTINGS = {k.lower(): k for k in _SETTINGS}
_SPRING_REFERENCE = re.compile(r"\$\{([^}:]+)(?::([^}]*))?\}")


def _spring_value(value: str, values: Mapping[str, str] | None = None) -> str:
    """A value with Spring's `${NAME:default}` references read from the environment (or
    another key of the file), the default where neither has it; one neither has, without a
    default, left as written.

    >>> _spring_value("${NO_SUCH_VAR_FOR_DBSAFE:app}"), _spring_value("x${NO_SUCH_VAR_FOR_DBSAFE}")
    ('app', 'x${NO_SUCH_VAR_FOR_DBSAFE}')
    """
    def resolve(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        found = os.environ.get(name) or (values or {}).get(name)
        return found if found is not None else default if default is not None \
            else match.group(0)

    return _SPRING_REFERENCE.sub(resolve, value)


def _spring_properties(text: str) -> dict[str, str]:
    """The keys and values of an `application.properties`, references read (not the
    environment-only `${VAR}` of flyway.conf: Spring's own `${NAME:default}`)."""
    raw = _properties(text, expand=False)
    return {key: _spring_value(value, raw) for key, value in raw.items()}


def _spring_yaml(file: Path, text: str) -> dict[str, str]:
    """The keys of an `application.yml` as dotted names (`spring.flyway.schemas`), a list's
    items joined with commas, of its documents that apply to every profile (not those a
    `spring.config.activate.on-profile` or `spring.profiles` limits)."""
    import yaml

    try:
        documents = [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]
    except yaml.YAMLError as exc:
        raise SourceError(f"cannot read Spring Boot's configuration {file}: "
                          f"{str(exc).splitlines()[0]}") from None
    flat: dict[str, str] = {}
    for document in documents:
        values: dict[str, str] = {}
        _flatten(document, "", values)
        if any(k in values for k in ("spring.config.activate.on-profile", "spring.profiles")):
            continue
        flat.update(values)
    return {key: _spring_value(value, flat) for key, value in flat.items()}


def _flatten(node: object, prefix: str, out: dict[str, str]) -> None:
    """`node`'s values under dotted keys (`{"a": {"b": 1}}` is `a.b = 1`), a list's items
    joined with commas."""
    if isinstance(node, dict):
        for key, value in node.items():
            _flatten(value, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(node, list):
        out[prefix] = ",".join(_toml_text(v) for v in node)
    elif node is not None:
        out[prefix] = _toml_text(node)


def flyway_locations(root: Path) -> list[Path]:
    """The folders the Flyway configuration at `root` (or in its `conf/`, and Flyway's
    environment variables) names as its `filesystem:` locations, relative to `root` (the
    folder Flyway runs from); those that are folders, without wildcards.

    >>> flyway_locations(Path("/nonexistent"))
    []
    """
    files = [root / n for n in (*_CONF_FILES, *_TOML_FILES) if (root / n).is_file()]
    config = _maven(root / "pom.xml", files) if (root / "pom.xml").is_file() else None
    if config is None and not files:
        return []
    places = [loc.partition(":")[2] for loc in (config or _read(files)).locations
              if loc.startswith("filesystem:")]
    return [root / place for place in dict.fromkeys(places)
            if not any(c in place for c in "*?") and (root / place).is_dir()]


def _holds(config: FlywayConfig, top: Path, folder: Path) -> bool:
    """Whether `config`, found in `top`, is about `folder`: one of its locations, read from
    `top` (a `filesystem:` one, or a `classpath:` one, whose root a configuration in
    `src/main/resources` is), holds `folder` or lies under it; or none of them is on disk
    here (none named, or only a container's `/flyway/sql`)."""
    places = []
    for location in config.locations:
        kind, _, place = location.rpartition(":")
        if kind in ("", "filesystem", "classpath") and not any(c in place for c in "*?"):
            path = Path(place) if os.path.isabs(place) and kind == "filesystem" \
                else top / place.lstrip("/")
            if path.is_dir():
                places.append(path.resolve())
    return not places or any(folder.is_relative_to(p) or p.is_relative_to(folder)
                             for p in places)


def _read(files: list[Path]) -> FlywayConfig:
    """The settings of `files` (TOML ones when there are any, as Flyway prefers them), then
    of the environment."""
    settings: dict[str, str] = {}
    placeholders: dict[str, str] = {}
    read = _read_files(files, settings, placeholders)
    environ = _environ(settings, placeholders)
    _check_flags(settings, read)
    return _config(settings, placeholders, environ=environ, files=tuple(read))


# The settings of those dbsafe reads that Flyway takes as true or false (`removeBoolean`).
_FLAGS = ("placeholderReplacement", "outOfOrder", "validateOnMigrate", "group", *_STATE_FLAGS)


def _check_flags(settings: Mapping[str, str], files: list[Path]) -> None:
    """Refuse a flag of Flyway's configuration files or `FLYWAY_*` variables that is neither
    true nor false, as Flyway refuses to start (`ConfigUtils.removeBoolean`: "Invalid value for
    outOfOrder (should be either true or false): yes"), rather than read it as one of them.
    Its case aside, as Flyway since 9.20.1 reads it (before it, lowercase only).

    >>> _check_flags({"outOfOrder": "TRUE", "validateOnMigrate": " false"}, [])
    >>> _check_flags({"outOfOrder": "yes"}, [])
    Traceback (most recent call last):
    ...
    dbsafe.core.SourceError: Flyway refuses its configuration (FLYWAY_* environment variables): Invalid value for outOfOrder (should be either true or false): yes
    """
    for key in _FLAGS:
        value = settings.get(key)
        if value is not None and value.strip().lower() not in ("true", "false"):
            where = ", ".join([*(_shown(f) for f in files), "FLYWAY_* environment variables"])
            raise SourceError(f"Flyway refuses its configuration ({where}): Invalid value for "
                              f"{key} (should be either true or false): {value}")


def _read_files(files: list[Path], settings: dict[str, str], placeholders: dict[str, str]
                ) -> list[Path]:
    """Add the settings of `files` (TOML ones when there are any) to `settings` and
    `placeholders`; the files read."""
    toml = [f for f in files if f.suffix == ".toml"]
    read = toml or [f for f in files if f.suffix == ".conf"]
    for file in read:
        try:
            text = file.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise SourceError(f"cannot read Flyway's configuration {file}: {exc}") from None
        if file.suffix == ".toml":
            _toml_settings(file, text, settings, placeholders)
        else:
            for key, value in _properties(text).items():
                if key.startswith("flyway.placeholders."):
                    placeholders[key.removeprefix("flyway.placeholders.").lower()] = value
                elif key.startswith("flyway."):
                    settings[key.removeprefix("flyway.")] = value
    return read


def _environ(settings: dict[str, str], placeholders: dict[str, str]
             ) -> tuple[tuple[str, str], ...]:
    """Flyway's environment variables (`FLYWAY_PLACEHOLDERS_*`, `FLYWAY_SCHEMAS`, ...) over
    `settings` and `placeholders`; those read."""
    environ = tuple(sorted((k, v) for k, v in os.environ.items()
                           if k.startswith("FLYWAY_PLACEHOLDERS_") or k in _ENV_KEYS))
    for key, value in environ:
        if key.startswith("FLYWAY_PLACEHOLDERS_") and len(key) > len("FLYWAY_PLACEHOLDERS_"):
            placeholders[key.removeprefix("FLYWAY_PLACEHOLDERS_").lower()] = value
        elif (name := _ENV_KEYS.get(key)) is not None:
            settings[name] = value
    return environ


def _config(settings: Mapping[str, str], placeholders: Mapping[str, str], *,
            environ: tuple[tuple[str, str], ...], files: tuple[Path, ...] = (),
            spring: tuple[Path, ...] = (), build: tuple[Path, ...] = ()) -> FlywayConfig:
    schemas = tuple(s.strip() for s in settings.get("schemas", "").split(",") if s.strip())
    return FlywayConfig(
        files=files, spring=spring, build=build, placeholders=dict(placeholders),
        prefix=settings.get("placeholderPrefix", "${"),
        suffix=settings.get("placeholderSuffix", "}"),
        separator=settings.get("placeholderSeparator", ":"),
        replacement=settings.get("placeholderReplacement", "true").strip().lower() != "false",
        default_schema=settings.get("defaultSchema") or None, schemas=schemas,
        table=settings.get("table") or _DEFAULT_TABLE,
        environment=settings.get("environment") or "default",
        locations=tuple(s.strip() for s in settings.get("locations", "").split(",")
                        if s.strip()),
        names=FlywayNames(
            versioned=settings.get("sqlMigrationPrefix", "V"),
            repeatable=settings.get("repeatableSqlMigrationPrefix", "R"),
            undo=settings.get("undoSqlMigrationPrefix", "U"),
            baseline=settings.get("baselineMigrationPrefix", "B"),
            separator=settings.get("sqlMigrationSeparator") or "__",
            suffixes=tuple(s.strip() for s in settings.get("sqlMigrationSuffixes", ".sql")
                           .split(",") if s.strip()) or (".sql",)),
        environ=environ,
        out_of_order=settings.get("outOfOrder", "false").strip().lower() == "true",
        validate_on_migrate=settings.get("validateOnMigrate", "true").strip().lower() != "false",
        ignore_patterns=_ignore_patterns(settings),
        encoding=settings.get("encoding") or "UTF-8",
        group=settings.get("group", "false").strip().lower() == "true")


def _ignore_patterns(settings: Mapping[str, str]) -> tuple[str, ...]:
    """The `ignoreMigrationPatterns` Flyway validates with: Flyway 9's (`*:future` untold);
    with one of Flyway 7's and 8's `ignore<State>Migrations` set (a project on Flyway 8 or
    older), those Flyway 8 validates with: its patterns (none untold), and each state its
    flags pass (`_STATE_FLAGS`; future migrations unless `ignoreFutureMigrations=false`).

    >>> _ignore_patterns({}), _ignore_patterns({"ignoreIgnoredMigrations": "true"})
    (('*:future',), ('*:ignored', '*:future'))
    >>> _ignore_patterns({"ignoreFutureMigrations": "false", "ignoreMigrationPatterns": "*:missing"})
    ('*:missing',)
    """
    given = settings.get("ignoreMigrationPatterns")
    if not any(key in settings for key in _STATE_FLAGS):
        given = "*:future" if given is None else given
        return tuple(p.strip() for p in given.split(",") if p.strip())
    flags = [f"*:{state}" for key, (state, default) in _STATE_FLAGS.items()
             if settings.get(key, str(default)).strip().lower() == "true"]
    return tuple(dict.fromkeys(
        (*(p.strip() for p in (given or "").split(",") if p.strip()), *flags)))


# The settings dbsafe reads, by the environment variable Flyway reads each from.
_ENV_KEYS = {"FLYWAY_" + re.sub("([A-Z])", "_\\1", k).upper(): k for k in _SETTINGS}


def _toml_settings(file: Path, text: str, settings: dict[str, str],
                   placeholders: dict[str, str]) -> None:
    """Add the settings of a flyway.toml to `settings` and `placeholders`: `[flyway]`, then
    the overrides of the environment it names (`[environments.<name>]`'s `schemas`, and its
    `flyway` table, whose `placeholders` replace the others whole)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SourceError(f"cannot read Flyway's configuration {file}: {exc}") from None
    flyway = data.get("flyway")
    _take(flyway if isinstance(flyway, dict) else {}, settings, placeholders)
    name = settings.get("environment") or "default"
    environments = data.get("environments")
    environment = environments.get(name) if isinstance(environments, dict) else None
    if isinstance(environment, dict):
        if isinstance(schemas := environment.get("schemas"), list):
            settings["schemas"] = ",".join(str(s) for s in schemas)
        if isinstance(overrides := environment.get("flyway"), dict):
            if isinstance(overrides.get("placeholders"), dict):
                placeholders.clear()
            _take(overrides, settings, placeholders)


def _take(table: dict, settings: dict[str, str], placeholders: dict[str, str]) -> None:
    for key, value in table.items():
        if key == "placeholders" and isinstance(value, dict):
            placeholders.update((str(k).lower(), _toml_text(v)) for k, v in value.items())
        elif isinstance(value, list):
            settings[key] = ",".join(_toml_text(v) for v in value)
        elif not isinstance(value, dict):
            settings[key] = _toml_text(value)


def _toml_text(value: object) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _properties(text: str, *, expand: bool = True) -> dict[str, str]:
    """The keys and values of a Java properties file (`key=value`, `key: value`, `key value`;
    `#` and `!` comments; a line ending in `\\` continued), `${VAR}` replaced by the
    environment variable (empty when unset), as Flyway loads flyway.conf (not with
    `expand` false).

    >>> _properties("# x\\nflyway.schemas = app,\\\\\\n  audit\\nflyway.placeholders.a:1")
    {'flyway.schemas': 'app,audit', 'flyway.placeholders.a': '1'}
    """
    if expand:
        text = re.sub(r"\$\{([A-Za-z0-9_]+)\}", lambda m: os.environ.get(m.group(1), ""), text)
    out: dict[str, str] = {}
    logical = ""
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = raw.strip() if not logical else raw.lstrip()
        if not logical and (not line or line[0] in "#!"):
            continue
        if line.endswith("\\") and not line.endswith("\\\\"):
            logical += line[:-1]
            continue
        logical += line
        found = re.match(r"((?:[^=:\s\\]|\\.)+)\s*[=:\s]\s*(.*)", logical)
        if found is not None:
            out[found.group(1)] = found.group(2).strip()
        elif logical:
            out[logical] = ""
        logical = ""
    return out


def script_placeholder_replacement(file: Path) -> bool | None:
    """The `placeholderReplacement` of a migration's own `<file>.conf` (Flyway's script
    configuration); None when it says nothing."""
    conf = file.with_name(file.name + ".conf")
    try:
        text = conf.read_text(encoding="utf-8-sig") if conf.is_file() else ""
    except (OSError, UnicodeDecodeError):
        return None
    value = _properties(text).get("placeholderReplacement")
    return None if value is None else value.strip().lower() != "false"


def flyway_checksum(data: bytes) -> int | None:
    """The checksum Flyway records for a migration file of `data` (`ChecksumCalculator`): CRC32
    over the UTF-8 bytes of its lines as Java's `BufferedReader.readLine` splits them (at
    `\\n`, `\\r` or `\\r\\n`, none kept), the first line without a byte order mark, as a
    signed 32-bit integer; so line endings do not count. None where its bytes are not UTF-8
    (Flyway's decoder refuses them). The values below are what Java 17's `CRC32` and
    `BufferedReader` give, run as ChecksumCalculator runs them.

    >>> flyway_checksum(b"CREATE OR REPLACE VIEW user_names AS SELECT name FROM users;\\n")
    -152910129
    >>> flyway_checksum(b"CREATE OR REPLACE VIEW user_names AS\\r\\nSELECT name FROM users;\\r\\n")
    -941353131
    >>> flyway_checksum(b"CREATE OR REPLACE VIEW user_names AS\\rSELECT name FROM users;\\r")
    -941353131
    >>> flyway_checksum(b"\\xef\\xbb\\xbfCREATE VIEW v AS SELECT 1;\\n\\n\\n"), flyway_checksum(b"\\n\\n")
    (895998086, 0)
    >>> flyway_checksum("SELECT 'caf\\u00e9 \\u2028 \\u0085 x\\x0b\\x0c';\\n".encode()), flyway_checksum(b"\\xff")
    (-634282614, None)
    """
    import zlib

    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    value = zlib.crc32(data.removeprefix(b"\xef\xbb\xbf").replace(b"\r", b"").replace(b"\n", b""))
    return value - (1 << 32) if value >= 1 << 31 else value


def flyway_edited(file: Path, config: FlywayConfig, recorded: int,
                  raw: int | None = None) -> bool | None:
    """Whether the repeatable migration `file` differs from the run its history `recorded`
    the checksum of, as Flyway tells (`ResolvedMigrationImpl.checksumMatches`: the checksum
    of the file as it is, or of the file with its placeholders filled in, which Flyway
    records for a repeatable one since version 7); None where dbsafe cannot tell as Flyway
    would: files read in another `encoding` than UTF-8, or one whose placeholders Flyway
    fills in (their values at the run are not known). `raw`: the file's checksum, taken
    when it was read (`Migration.checksum`): the file is read again only where it differs."""
    if not config.utf8:
        return None
    if raw is not None and raw == recorded:
        return False
    try:
        data = file.read_bytes()
    except OSError:
        return None
    raw = flyway_checksum(data)
    if raw is None:
        return None
    if raw == recorded:
        return False
    if config.replacement and script_placeholder_replacement(file) is not False \
            and config.prefix.encode("utf-8") in data:
        return None
    return True


def fill_placeholders(text: str, config: FlywayConfig, file: Path, shown: str
                      ) -> tuple[str, tuple[str, ...]]:
    """`text`, the migration `file` (`shown` as dbsafe shows it), with its placeholders
    replaced as Flyway replaces them: from each prefix to the next suffix, the name looked
    up case-insensitively; an empty value removes the placeholder. With no Flyway
    configuration file read (`config.files`), a placeholder dbsafe has no value for is left
    as written: Flyway is configured elsewhere (Spring Boot's `spring.flyway.placeholders`,
    a build plugin, the deploy job's command line), where it has one. Returns the text and
    the names of those placeholders.

    Raises:
        SourceError: a placeholder has no value in the configuration dbsafe read (or is
            none of Flyway's own): Flyway fails the migration.

    >>> fill_placeholders("CREATE TABLE ${Schema}.t (); -- ${flyway:filename} ${x}",
    ...     FlywayConfig(placeholders={"schema": "app"}), Path("V1__t.sql"), "V1__t.sql")
    ('CREATE TABLE app.t (); -- V1__t.sql ${x}', ('x',))
    """
    own = script_placeholder_replacement(file)
    if not (config.replacement if own is None else own) or config.prefix not in text:
        return text, ()
    values = {**config.placeholders, **config.builtins(file.name)}
    out = []
    unknown = []
    at = 0
    while (start := text.find(config.prefix, at)) >= 0:
        end = text.find(config.suffix, start + len(config.prefix))
        name = text[start + len(config.prefix):end if end >= 0 else len(text)]
        stop = end + len(config.suffix) if end >= 0 else len(text)
        value = values.get(name.lower())
        if value is None:
            line = text.count("\n", 0, start) + 1
            shown_name = config.prefix + name + config.suffix
            if name.lower().startswith(f"flyway{config.separator}"):
                raise SourceError(f"{shown}:{line}: Flyway has no value for its placeholder "
                                  f"{shown_name} (\"Failed to populate value for default "
                                  "placeholder\"), so it fails this migration")
            if not config.files:
                unknown.append(name)
                value = text[start:stop]
            else:
                raise SourceError(
                    f"{shown}:{line}: no value for the Flyway placeholder {shown_name}, so "
                    "Flyway fails this migration (\"No value provided for placeholder\"); "
                    f"give it as flyway.placeholders.{name} in "
                    f"{', '.join(_shown(f) for f in config.files)}, or in {env_name(name)}")
        out.append(text[at:start])
        out.append(value)
        at = stop
    out.append(text[at:])
    return "".join(out), tuple(dict.fromkeys(unknown))


def env_name(name: str) -> str:
    """The environment variable Flyway reads placeholder `name` from.

    >>> env_name("appRole")
    'FLYWAY_PLACEHOLDERS_APPROLE'
    """
    return "FLYWAY_PLACEHOLDERS_" + re.sub(r"\W", "_", name).upper()


def _shown(path: Path) -> str:
    """`path` relative to the working directory when it lies under it."""
    cwd = Path.cwd()
    return path.relative_to(cwd).as_posix() if path.is_relative_to(cwd) else str(path)
