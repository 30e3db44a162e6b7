"""The `.sql` files a project's shell scripts run with another database's command-line client.

`sqlite3 /var/lib/grafana/grafana.db ".read create_documentation_dashboard.sql"` in
PGObserver's `vagrant_influx_grafana_box/bootstrap.sh` fills Grafana's own SQLite database:
the file is SQLite's, whatever the project's PostgreSQL schema is, and its `INSERT INTO
dashboard` was a DBS301 error PostgreSQL "confirmed" (42P01). A file is looked for in the
shell scripts (`*.sh`, `*.bash`) of its own folder and of each folder above it up to the
project's root, which is where a script running it lives (a repository's `setup.sh`, a
folder's `bootstrap.sh`); a path the script gives is read relative to the script's folder
and to the root (where it may be run from). A script that also runs the file with `psql`
keeps it PostgreSQL's.

What counts as running a file: the client's standard input (`sqlite3 app.db < seed.sql`,
`cat a.sql b.sql | mysql app`), sqlite3's `.read FILE` (an argument, or `-cmd`'s) and its
`-init FILE`, and mysql's `source FILE` (or `\\. FILE`) given with `-e`. Each script is parsed
with `shlex` (POSIX rules, comments, line continuations), one command at a time: a command
built at run time (`$CLIENT`, `eval`) or in a heredoc is not read.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from pathlib import Path

# A client's program name and the database it speaks to, as dbsafe names engines elsewhere.
_CLIENTS = {"sqlite3": "SQLite", "mysql": "MySQL/MariaDB", "mariadb": "MySQL/MariaDB"}
_POSTGRESQL = "psql"
_SUFFIXES = (".sh", ".bash")
# What ends one command (`a && b`, `a; b`, `a || b`, `a & b`); `|` joins a pipeline.
_ENDS = frozenset({"&&", "||", ";", "&", ";;"})
# Words before a command's program that are not it.
_PREFIXES = frozenset({"sudo", "exec", "time", "command", "nohup", "env"})


@dataclass(frozen=True, slots=True)
class ShellScript:
    """A shell script running a file with another database's client, as a skip reason
    says it."""

    script: str  # the script's path
    client: str  # the program, `sqlite3`

    def reason(self, root: Path) -> str:
        from dbsafe.extract.files import display_path

        return (f"sent to {_CLIENTS[self.client]}, not PostgreSQL "
                f"({display_path(Path(self.script), root)} runs it with {self.client})")


class ShellScriptFiles:
    """Which `.sql` files the project's shell scripts run with another database's client;
    each folder's scripts are read once, at the first question about a file below it."""

    def __init__(self, root: Path) -> None:
        self._root = os.path.realpath(root)
        self._top = os.path.abspath(root)
        self._folders: dict[str, dict[str, list[tuple[str, str]]]] = {}

    def of(self, path: str) -> ShellScript | None:
        """The script running the file at `path` with another engine's client, or None
        (none does, or one also runs it with psql)."""
        if not path.endswith(".sql"):
            return None
        chain = []  # its folder and those above it, up to the root
        folder = os.path.dirname(os.path.abspath(path))
        while True:
            runs = self._runs(folder)
            if runs:
                chain.append(runs)
            if folder == self._top or not folder.startswith(self._top + os.sep):
                break
            folder = os.path.dirname(folder)
        if not chain:
            return None
        real = os.path.realpath(path)
        found: ShellScript | None = None
        for runs in chain:
            for script, client in runs.get(real, ()):
                if client == _POSTGRESQL:
                    return None
                found = found or ShellScript(script, client)
        return found

    def _runs(self, folder: str) -> dict[str, list[tuple[str, str]]]:
        """The files the scripts in `folder` run, by resolved path, with each script and
        client running it."""
        known = self._folders.get(folder)
        if known is not None:
            return known
        runs: dict[str, list[tuple[str, str]]] = {}
        try:
            entries = [e for e in os.scandir(folder)
                       if e.name.endswith(_SUFFIXES) and e.is_file()]
        except OSError:
            entries = []
        for entry in entries:
            try:
                text = Path(entry.path).read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            for client, file in executed_files(text):
                for base in (folder, self._root):
                    target = os.path.realpath(os.path.join(base, file))
                    if target.endswith(".sql") and os.path.isfile(target):
                        runs.setdefault(target, []).append((entry.path, client))
        self._folders[folder] = runs
        return runs


def executed_files(script: str) -> list[tuple[str, str]]:
    """Each (client, file) a shell script runs: the file given to `sqlite3`, `mysql` or
    `mariadb` (or to `psql`, as `psql`), as written.

    >>> executed_files('sqlite3 /var/lib/grafana/grafana.db ".read dash.sql"')
    [('sqlite3', 'dash.sql')]
    >>> executed_files("sudo sqlite3 app.db < seed.sql && psql -f schema.sql app")
    [('sqlite3', 'seed.sql'), ('psql', 'schema.sql')]
    >>> executed_files("cat a.sql b.sql | mysql -u root app  # load")
    [('mysql', 'a.sql'), ('mysql', 'b.sql')]
    >>> executed_files('mysql app -e "source db/x.sql" \\\\\\n  --force')
    [('mysql', 'db/x.sql')]
    >>> executed_files("sqlite3 -init setup.sql app.db; cat notes.sql | grep x")
    [('sqlite3', 'setup.sql')]
    """
    found: list[tuple[str, str]] = []
    for pipeline in _pipelines(script):
        feed: list[str] = []  # what `cat` writes into the pipe
        for words in pipeline:
            program, args = _program(words)
            if program == "cat":
                feed = [w for w in args if not w.startswith("-") and w not in "<>|"]
                continue
            if program in _CLIENTS or program == _POSTGRESQL:
                found.extend((program, f) for f in feed + _read_by(program, args))
            feed = []
    return found


def _pipelines(script: str) -> list[list[list[str]]]:
    """The script's commands, each pipeline a list of its commands' words; a line shlex
    cannot read (a quote closed on a later line) is passed by."""
    pipelines: list[list[list[str]]] = []
    for line in script.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|<>")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        current: list[list[str]] = [[]]
        try:
            for word in lexer:
                if word in _ENDS:
                    pipelines.append(current)
                    current = [[]]
                elif word == "|":
                    current.append([])
                else:
                    current[-1].append(word)
        except ValueError:
            continue
        pipelines.append(current)
    return [[c for c in p if c] for p in pipelines if any(p)]


def _program(words: list[str]) -> tuple[str, list[str]]:
    """A command's program (its name, without its folder) and the words after it."""
    at = 0
    while at < len(words) and (words[at] in _PREFIXES
                               or ("=" in words[at] and not words[at].startswith("-"))):
        at += 1
    if at == len(words):
        return "", []
    return os.path.basename(words[at]), words[at + 1:]


def _read_by(program: str, args: list[str]) -> list[str]:
    """The files a client's arguments make it run."""
    files: list[str] = []
    for i, word in enumerate(args):
        following = args[i + 1] if i + 1 < len(args) else None
        takes_file = (word == "<" or (program == _POSTGRESQL and word in ("-f", "--file"))
                      or (program == "sqlite3" and word == "-init"))
        if takes_file and following:
            files.append(following)
        elif program == _POSTGRESQL and word.startswith(("--file=", "-f")) and len(word) > 2:
            files.append(word.partition("=")[2] if word.startswith("--") else word[2:])
        else:
            for line in word.splitlines():
                command, _, rest = line.strip().partition(" ")
                if rest.strip() and (
                        (program == "sqlite3" and command == ".read")
                        or (program in ("mysql", "mariadb") and command in ("source", "\\."))
                        or (program == _POSTGRESQL and command in ("\\i", "\\ir"))):
                    files.append(rest.strip().rstrip(";"))
    return files
