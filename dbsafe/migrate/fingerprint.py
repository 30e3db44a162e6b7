"""A fingerprint of an alembic environment: what a cached migrations snapshot is keyed by."""

from __future__ import annotations

import configparser
import hashlib
from collections.abc import Iterable
from pathlib import Path

from dbsafe.core import ConfigError


def migrations_cache_key(alembic_ini: Path, *, extra: str = "",
                         exclude: Iterable[Path] = ()) -> str:
    """Hash of the alembic config and every file under its script (and version) locations.

    Reads alembic.ini with configparser instead of importing alembic, so a cache hit costs
    a few file reads. Files under `exclude` (dbsafe's own cache folder, when it lies inside
    the script location) are left out, or every run would change the key it is looked up by.
    """
    if not alembic_ini.is_file():
        raise ConfigError(
            f"alembic config not found: {alembic_ini}; set `alembic-config`, or use "
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
    config lies in a subfolder runs `alembic -c migrations/alembic.ini` from its root."""
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
    """`script_location`, then each of `version_locations`, as alembic.ini writes them."""
    parser = configparser.ConfigParser(defaults={"here": str(alembic_ini.parent)})
    try:
        parser.read(alembic_ini, encoding="utf-8")
        script_location = parser.get(section, "script_location")
        version_locations = parser.get(section, "version_locations", fallback="")
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise ConfigError(f"{alembic_ini}: cannot read script_location: {exc}") from None
    return [script_location, *version_locations.replace(",", " ").split()]
