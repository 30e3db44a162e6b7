"""A fingerprint of an alembic environment: what a cached migrations snapshot is keyed by,
and what it was built from besides (`imported_dependencies`: the modules env.py and the
revisions imported from elsewhere, checked on each hit by `dependencies_changed`)."""

from __future__ import annotations

import configparser
import hashlib
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from dbsafe.core import ConfigError


def migrations_cache_key(alembic_ini: Path, *, extra: str = "",
                         exclude: Iterable[Path] = ()) -> str:
    """Hash of the alembic config and every file under its script (and version) locations.

    Reads alembic.ini with configparser instead of importing alembic, so a cache hit costs
    a few file reads. Files under `exclude` (dbsafe's own cache folder, when it lies inside
    the script location) are left out, or every run would change the key it is looked up by.
    """
    if not alembic_ini.is_file():
        from dbsafe.config import alembic_config_not_found

        raise ConfigError(
            f"{alembic_config_not_found(alembic_ini)}; set `alembic-config`, or use "
            "--database-url / --snapshot as the schema source"
        )
    excluded = [p.resolve() for p in exclude]
    digest = hashlib.sha256()
    digest.update(extra.encode())
    digest.update(alembic_ini.read_bytes())
    locations = script_locations(alembic_ini)
    for section in other_environments(alembic_ini):
        locations.extend(script_locations(alembic_ini, section))
    for location in locations:
        for path in sorted(location.rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts or path.suffix == ".pyc":
                continue
            if excluded and any(path.resolve().is_relative_to(e) for e in excluded):
                continue
            digest.update(path.relative_to(location).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:24]


def script_locations(alembic_ini: Path, section: str = "alembic") -> list[Path]:
    """The script location and version locations alembic.ini names (in `section`), as
    directories; a relative one under `alembic_directory(alembic_ini)`."""
    base = alembic_directory(alembic_ini)
    resolved = []
    for location in _locations(alembic_ini, section):
        if ":" in location and not Path(location).exists():
            continue  # "package:dir" form; its files are hashed through the package itself
        path = Path(location)
        if not path.is_absolute():
            path = base / path
        if not path.is_dir():
            raise ConfigError(f"{alembic_ini}: script_location {location!r} is not a directory")
        resolved.append(path)
    return resolved


def alembic_directory(alembic_ini: Path) -> Path:
    """The directory alembic runs in, which a relative `script_location` is read from: the
    config's own folder, unless the location is not there but is under the current
    directory. Alembic itself reads it from the current directory, so a project whose
    config lies in a subfolder runs `alembic -c migrations/alembic.ini` from its root.
    A config that names no script location, its folder being it (Flask-Migrate's), runs in
    the folder above, as `flask db` does (its `directory` is `migrations`, read from there).
    """
    if _folder_is_location(alembic_ini):
        # Flask-Migrate's: `flask db` runs where `migrations/` is, and names it itself
        return alembic_ini.parent.parent
    location = Path(_locations(alembic_ini)[0])
    if location.is_absolute() or (alembic_ini.parent / location).is_dir():
        return alembic_ini.parent
    if (Path.cwd() / location).is_dir():
        return Path.cwd()
    return alembic_ini.parent


def other_environments(alembic_ini: Path) -> list[str]:
    """The sections of alembic.ini besides `[alembic]` that are alembic environments of
    their own (a `script_location`), run as `alembic -n NAME upgrade head`: Onyx's
    `[schema_private]`, the tables of its shared `public` schema beside the tenants' ones.
    """
    # `[DEFAULT]` read as a section of its own: a `script_location` there (Onyx's) is no
    # environment, nor does it make every other section ([loggers], ...) one.
    parser = configparser.ConfigParser(default_section="\0", interpolation=None)
    try:
        parser.read(alembic_ini, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise ConfigError(f"{alembic_ini}: cannot read its sections: {exc}") from None
    return [section for section in parser.sections()
            if section not in ("alembic", "DEFAULT")
            and parser.has_option(section, "script_location")]


def _locations(alembic_ini: Path, section: str = "alembic") -> list[str]:
    """`script_location`, then each of `version_locations`, as alembic.ini writes them; the
    config's own folder as the script location when `[alembic]` names none and the folder
    holds an env.py: Flask-Migrate's `migrations/alembic.ini`, whose `flask db` passes the
    folder itself (`Config.set_main_option("script_location", directory)`)."""
    parser = configparser.ConfigParser(defaults={"here": str(alembic_ini.parent)})
    try:
        parser.read(alembic_ini, encoding="utf-8")
        if section == "alembic" and _folder_is_location(alembic_ini, parser):
            script_location = str(alembic_ini.parent)
        else:
            script_location = parser.get(section, "script_location")
        version_locations = parser.get(section, "version_locations", fallback="")
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise ConfigError(f"{alembic_ini}: cannot read script_location: {exc}") from None
    return [script_location, *version_locations.replace(",", " ").split()]


def _folder_is_location(alembic_ini: Path,
                        parser: configparser.ConfigParser | None = None) -> bool:
    """Whether `alembic_ini` names no `script_location` in `[alembic]` (a section it may
    lack too) and its folder, holding an env.py, is the script location (Flask-Migrate's)."""
    if parser is None:
        parser = configparser.ConfigParser(defaults={"here": str(alembic_ini.parent)})
        try:
            parser.read(alembic_ini, encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError):
            return False  # `_locations` says why
    return (not (parser.has_section("alembic")
                 and parser.has_option("alembic", "script_location"))
            and (alembic_ini.parent / "env.py").is_file())


def imported_dependencies(alembic_ini: Path, files: Iterable[str],
                          distributions: Iterable[tuple[str, str, str]], *,
                          exclude: Iterable[Path] = ()) -> dict[str, Any]:
    """What a cache entry built by running `alembic_ini`'s env.py depends on beyond the files
    `migrations_cache_key` hashes, as JSON for the entry (`runner.recording_imports`
    gathers `files` and `distributions`): each source file imported from outside the script
    locations and `exclude` as [path, size, mtime_ns, sha256], each installed distribution
    as [name, version, metadata file, size, mtime_ns]. `dependencies_changed` checks them.
    """
    skipped = [p.resolve() for p in exclude]
    skipped.extend(p.resolve() for p in script_locations(alembic_ini))
    for section in other_environments(alembic_ini):
        skipped.extend(p.resolve() for p in script_locations(alembic_ini, section))
    recorded_files = []
    for name in sorted(set(files)):
        path = Path(name)
        if any(path.is_relative_to(s) for s in skipped):
            continue  # hashed by the key already
        try:
            stat = path.stat()
            digest = _sha256(path)
        except OSError:
            digest, stat = None, None
        recorded_files.append([name, stat.st_size if stat else -1,
                               stat.st_mtime_ns if stat else -1, digest])
    recorded_distributions = []
    for dist, version, metadata in sorted(set(distributions)):
        try:
            stat = Path(metadata).stat()
        except OSError:
            continue  # no file to check it by (a distribution without one)
        recorded_distributions.append([dist, version, metadata, stat.st_size,
                                       stat.st_mtime_ns])
    return {"files": recorded_files, "distributions": recorded_distributions}


def dependencies_changed(recorded: Mapping[str, Any], entry: Path) -> str | None:
    """What of `recorded` (from `imported_dependencies`, kept with the cache entry `entry`)
    is no longer as it was ("myapp/models.py changed", "sqlalchemy-utils 0.41.1 is no
    longer installed"), logged (shown with `-v`); None when nothing is. A file whose size and mtime are unchanged is taken as unchanged
    (one stat each); one whose stat differs is hashed and compared, so touching a file
    (a checkout) costs a read, not a rebuild. A distribution's metadata file is read again
    only when its stat differs, and its `Version:` compared."""
    changed = _changed(recorded)
    if changed is not None:
        logging.getLogger(__name__).info("not using the cache entry %s: %s since it was "
                                         "built", entry.name, changed)
    return changed


def _changed(recorded: Mapping[str, Any]) -> str | None:
    try:
        for name, size, mtime_ns, digest in recorded["files"]:
            path = Path(name)
            try:
                stat = path.stat()
            except OSError:
                if digest is None:
                    continue  # missing then as now
                return f"{name} was removed"
            if stat.st_size == size and stat.st_mtime_ns == mtime_ns:
                continue
            try:
                if digest is not None and _sha256(path) == digest:
                    continue
            except OSError:
                pass
            return f"{name} changed"
        for dist, version, metadata, size, mtime_ns in recorded["distributions"]:
            path = Path(metadata)
            try:
                stat = path.stat()
            except OSError:
                return f"{dist} {version} is no longer installed"
            if stat.st_size == size and stat.st_mtime_ns == mtime_ns:
                continue
            if _metadata_version(path) != version:
                return f"{dist} {version} was replaced"
    except (KeyError, TypeError, ValueError):
        return "the record of what the run imported is unreadable"
    return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _metadata_version(path: Path) -> str | None:
    """The `Version:` of a distribution's METADATA / PKG-INFO file (its headers end at the
    first empty line); None when it has none or cannot be read."""
    try:
        with path.open(encoding="utf-8", errors="replace") as file:
            for line in file:
                if not line.strip():
                    break
                if line.startswith("Version:"):
                    return line.partition(":")[2].strip()
    except OSError:
        return None
    return None
