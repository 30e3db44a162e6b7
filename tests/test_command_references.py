"""Every `dbsafe ...` command that the code, the docs or a finding's help names exists.

Help texts and docs once pointed at commands and options that were planned, not built
(`dbsafe --explain CODE`); a user following them got a usage error.
"""

from __future__ import annotations

import re

import click

from dbsafe import cli
from dbsafe.cli import main
from tests.conftest import REPO_ROOT

_INLINE = re.compile(r"`dbsafe((?: [^`\s]+)+)`")
_FENCED = re.compile(r"^```(?:sh|bash|shell|console)\n(.*?)^```", re.MULTILINE | re.DOTALL)
_SHELL = re.compile(r"^\s*(?:\$ )?dbsafe((?: [^\s#]+)+)", re.MULTILINE)
# `lint --target-version`, `refresh-views --lock-timeout`: a command named without `dbsafe`
# (docs/configuration.md's option column, help texts), with an option (task 536).
_BARE = re.compile(r"(?<!dbsafe )`((?:{})(?: [^`\s]+)*? --?[a-z][^`\s]*(?: [^`\s]+)*)`".format(
    "|".join(sorted(map(re.escape, main.commands), key=len, reverse=True))))
# Pages that quote other tools' commands of the same name (`diff -u`, glance-manage's
# `upgrade --expand`).
_OTHER_TOOLS = ("benchmarks.md", "lint-real-histories.md")


def _problem(words: list[str]) -> str | None:
    """Why `dbsafe <words>` would be a usage error, or None (arguments are not checked)."""
    command: click.Command = main
    path = "dbsafe"
    takes_value = False
    for word in (w.strip("[]|") for w in words):
        if takes_value:
            takes_value = False
            continue
        if word.startswith("-") and word[1:].isdigit() and isinstance(
                command, cli._RelativeTarget):
            continue  # `dbsafe downgrade -1`: a relative target, not an option
        if word == "--":
            return None  # the rest are arguments (`upgrade -- -1`)
        if word.startswith("-") and len(word) > 1:
            name = word.split("=")[0]
            option = next((p for p in command.params if isinstance(p, click.Option)
                           and name in p.opts + p.secondary_opts), None)
            if option is None and name not in ("-h", "--help"):
                return f"`{path}` has no option {name}"
            takes_value = option is not None and not option.is_flag and "=" not in word
            continue
        if isinstance(command, click.Group):
            if not re.fullmatch(r"[a-z][a-z-]*", word):
                return None  # a placeholder such as CODE or [OPTIONS]
            sub = command.commands.get(word)
            if sub is None:
                return f"`{path}` has no command {word}"
            command, path = sub, f"{path} {word}"
    return None


def _references() -> list[tuple[str, list[str]]]:
    files = [*sorted((REPO_ROOT / "dbsafe").rglob("*.py")),
             *sorted((REPO_ROOT / "dbsafe").rglob("*.sql")),
             *sorted((REPO_ROOT / "docs").rglob("*.md")), REPO_ROOT / "README.md"]
    found = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        where = str(path.relative_to(REPO_ROOT))
        found += [(where, m.group(1).split()) for m in _INLINE.finditer(text)]
        if path.name not in _OTHER_TOOLS:
            found += [(where, m.group(1).split()) for m in _BARE.finditer(text)]
        for block in _FENCED.findall(text) if path.suffix == ".md" else ():
            found += [(where, m.group(1).split()) for m in _SHELL.finditer(block)]
    return found


def test_every_command_named_in_code_and_docs_exists() -> None:
    references = _references()
    assert len(references) > 100  # the scan sees them
    broken = [f"{where}: dbsafe {' '.join(words)}: {problem}"
              for where, words in references if (problem := _problem(words))]
    assert broken == []


def test_the_check_sees_a_missing_command_and_option() -> None:
    assert _problem(["--explain", "CODE"]) == "`dbsafe` has no option --explain"
    assert _problem(["schema", "restore"]) == "`dbsafe schema` has no command restore"
    assert _problem(["--config", "x", "lint", "--offline"]) is None
    assert _problem(["upgrade", "--", "-1", "--database-url", "x"]) is None


def test_a_command_named_without_dbsafe_is_checked_too() -> None:
    """`refresh-views --lock-timeout` in docs/configuration.md's option column is a command
    and an option, though not written `dbsafe refresh-views ...`."""
    named = [m.group(1) for m in _BARE.finditer(
        "`lint --target-version` `check --nope` `dbsafe lint --x` `diff A B --ignore-name x` "
        "`upgrade` `status: 3 pending` `lint supabase/migrations`")]
    assert named == ["lint --target-version", "check --nope", "diff A B --ignore-name x"]
    assert [_problem(n.split()) for n in named] == [
        None, "`dbsafe check` has no option --nope", None]
