"""Which supabase-js clients are another Supabase project's, whose schema is not this one.

An application may read a second Supabase project beside its own: nihontowatch's
`src/lib/supabase/yuhinkai.ts` makes `createClient(process.env.YUHINKAI_SUPABASE_URL, ...)`,
and its scripts `createClient('https://hjhr....supabase.co', key)`, for a project whose tables
`supabase/migrations` never makes. Their requests are "sent to another Supabase project", not
analysed, as another engine's statements are; every other client is the app's own, checked.

The extractor says where a client's URL comes from (`PostgrestRequest.project`: environment
variables and hosted projects `<ref>.supabase.co`, empty when it cannot be told). A client is
another project's only when each of them is, as the project itself says:

- an environment variable is when it is not one of the names the app's own clients use
  (`SUPABASE_URL`, with a framework's prefix: `NEXT_PUBLIC_`, `VITE_`, `EXPO_PUBLIC_`, ...)
  and an env example of the project (`.env.example`, `.env.sample`, ...; at the root, or
  beside a `supabase` folder) gives it a hosted project's URL
  (`https://YOUR_OSHI_V2_PROJECT.supabase.co`) other than the one it gives the own name,
  and no example gives it the own name's value or refers to it (`${SUPABASE_URL}`); a name
  saying a deployment (`STAGING_SUPABASE_URL`, `SUPABASE_PROD_URL`, `TEST_...`) is the same
  schema elsewhere, the app's own;
- a hosted project is when its ref is not the project's own (`supabase/.temp/project-ref`,
  which `supabase link` writes, a ref-shaped `project_id` of `supabase/config.toml` or of its
  `[remotes.*]`, an env example's own URL or `SUPABASE_PROJECT_REF`, a ref its code gives as
  an own variable's fallback, `process.env.SUPABASE_URL || 'https://<ref>.supabase.co'`),
  and the project names its own; or when an env example gives it to another project's
  variable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from dbsafe.extract.dotenv import env_entries
from dbsafe.extract.supabase_urls import OWN_URL_NAME

# The names the app's own clients read the project's URL from (a framework's public prefix)
_OWN_NAME = OWN_URL_NAME
_OWN_REF_NAME = re.compile(r"(?:[A-Z]+_)?SUPABASE_(?:PROJECT_)?(?:REF|ID)|PROJECT_REF")
# Words of a variable's name saying a deployment of the same schema, or another way to
# the same project (`SUPABASE_ADMIN_URL`): never another project's
_SAME_SCHEMA_WORDS = frozenset({
    "PROD", "PRODUCTION", "STAGING", "STAGE", "STG", "DEV", "DEVELOPMENT", "TEST", "TESTING",
    "TST", "LOCAL", "PREVIEW", "QA", "UAT", "SANDBOX", "DEMO", "BACKUP", "REPLICA", "SOURCE",
    "SRC", "TARGET", "DEST", "OLD", "NEW", "LEGACY", "REMOTE", "CLOUD", "HOSTED", "SELF",
    "E2E", "CI", "BRANCH", "SHADOW", "MIGRATION", "MIGRATE", "LIVE", "PRIMARY", "MAIN",
    "INTERNAL", "EXTERNAL", "PRIVATE", "SERVER", "CLIENT", "BROWSER", "ADMIN", "SERVICE",
    "API", "READ", "WRITE", "RO", "RW", "POOLER", "DIRECT", "PROXY", "EDGE", "FUNCTIONS",
    "APP", "DB", "DATABASE", "DEFAULT"})
_HOSTED = re.compile(r"https://([A-Za-z0-9_-]+)\.supabase\.co/?")
_REF = re.compile(r"[a-z]{20}")
_REFERENCE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")
# An env example's names (the files users copy to `.env`, or a committed `.env`)
_ENV_FILE = re.compile(r"\.env(?:[._-].+)?|.+\.env|env\.(?:example|sample|template)")


@dataclass(frozen=True, slots=True)
class SupabaseProjects:
    """The project's own hosted projects and another's variables and projects, each with
    the file saying so."""

    own_refs: tuple[tuple[str, str], ...] = ()  # (`<ref>.supabase.co`, where it is said)
    # (variable, why: the file and the own variable it gives another project's URL than)
    other_names: tuple[tuple[str, str], ...] = ()
    other_refs: tuple[tuple[str, str], ...] = ()  # (`<ref>.supabase.co`, the file)

    def other(self, project: tuple[str, ...]) -> str | None:
        """Why a client whose URL comes from `project` is another project's (the skip's
        reason), or None: the app's own, or not known."""
        if not project:
            return None
        own = dict(self.own_refs)
        names, refs = dict(self.other_names), dict(self.other_refs)
        said: list[str] = []
        for source in project:
            if "." not in source:  # a variable
                if source not in names:
                    return None
                said.append(f"`{source}`: {names[source]}")
            elif source in own:
                return None
            elif source in refs:
                said.append(f"`https://{source}`: {refs[source]} gives it another project's "
                            "variable")
            elif own:
                theirs = ", ".join(sorted({f"`{r.split('.')[0]}` of {w}" for r, w in own.items()}))
                said.append(f"`https://{source}`: not the project's own ref, {theirs}")
            else:
                return None
        return "sent to another Supabase project, whose schema is not this one (" + \
            "; ".join(said) + ")"

    def key(self) -> str:
        """What validate's cache keys its outcomes by."""
        return repr((self.own_refs, self.other_names, self.other_refs))


def supabase_projects(root: Path, supabase_folders: list[Path],
                      code_refs: dict[str, str] | None = None) -> SupabaseProjects | None:
    """What the project's files say of its Supabase projects (see the module's docstring):
    its env examples at `root` and beside each of `supabase_folders`, their
    `.temp/project-ref` and `config.toml`, and `code_refs`, the refs and variables its code
    reads with its own URL (`extract.supabase_urls.own_refs_in_code`). None when they say
    nothing."""
    own = {ref: where for ref, where in (code_refs or {}).items() if "." in ref}
    tied = {name for name in code_refs or () if "." not in name}
    places = list(dict.fromkeys([root, *(f.parent for f in supabase_folders)]))
    for folder in supabase_folders:
        shown = _shown(folder, root)
        try:
            ref = (folder / ".temp" / "project-ref").read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            ref = ""
        if _REF.fullmatch(ref):
            own.setdefault(ref + ".supabase.co", f"{shown}/.temp/project-ref")
        for ref in _config_refs(folder / "config.toml"):
            own.setdefault(ref + ".supabase.co", f"{shown}/config.toml")
    examples: list[tuple[str, list[tuple[str, str]]]] = []
    for place in places:
        try:
            names = sorted(p.name for p in place.iterdir()
                           if _ENV_FILE.fullmatch(p.name) and p.is_file())
        except OSError:
            continue
        for name in names:
            entries = env_entries(place / name)
            if entries:
                examples.append((_shown(place / name, root), entries))
    candidates: dict[str, tuple[str, str, str]] = {}  # name -> (host, file, own name)
    for shown, entries in examples:
        own_values = {value for name, value in entries if _OWN_NAME.fullmatch(name) and value}
        own_named = next((name for name, value in entries if value in own_values), "")
        for name, value in entries:
            hosted = _HOSTED.fullmatch(value)
            if _OWN_NAME.fullmatch(name) and hosted and _REF.fullmatch(hosted[1]):
                own.setdefault(hosted[1] + ".supabase.co", shown)
            elif _OWN_REF_NAME.fullmatch(name) and _REF.fullmatch(value):
                own.setdefault(value + ".supabase.co", shown)
        own_hosts = {m[1] for m in map(_HOSTED.fullmatch, own_values) if m}
        for name, value in entries:
            if _OWN_NAME.fullmatch(name):
                continue
            references = set(_REFERENCE.findall(value))
            if value in own_values or any(_OWN_NAME.fullmatch(r) for r in references):
                tied.add(name)
                continue
            hosted = _HOSTED.fullmatch(value)
            if hosted is None or not own_hosts or len(own_hosts) != len(own_values) or (
                    hosted[1] in own_hosts) or set(name.split("_")) & _SAME_SCHEMA_WORDS:
                continue
            candidates.setdefault(name, (hosted[1], shown, own_named))
    other_names = {name: f"{shown} gives it another project's URL than `{own_name}`'s"
                   for name, (_, shown, own_name) in candidates.items() if name not in tied}
    other_refs = {host + ".supabase.co": shown for name, (host, shown, _) in candidates.items()
                  if name in other_names and _REF.fullmatch(host)
                  and host + ".supabase.co" not in own}
    if not own and not other_names:
        return None
    return SupabaseProjects(tuple(sorted(own.items())), tuple(sorted(other_names.items())),
                            tuple(sorted(other_refs.items())))


def _shown(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _config_refs(config: Path) -> list[str]:
    """The ref-shaped `project_id`s of a Supabase config.toml and of its `[remotes.*]` (a
    branch's or a staging project's: the same schema)."""
    from dbsafe.extract.supabase_config import read_config

    data = read_config(config)
    tables = [data, *(r for r in (data.get("remotes") or {}).values() if isinstance(r, dict))] \
        if isinstance(data.get("remotes") or {}, dict) else [data]
    return [t["project_id"] for t in tables
            if isinstance(t.get("project_id"), str) and _REF.fullmatch(t["project_id"])]
