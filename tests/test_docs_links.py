"""The docs' relative links reach a file and a heading, and the codes they name exist
(scripts/check_docs.py). docs/lint.md once linked `gates.md#drift`, a heading that is
"## `dbsafe drift`"."""

from __future__ import annotations

import re
from pathlib import Path

from scripts import check_docs


def test_every_relative_link_and_anchor_in_the_docs_resolves() -> None:
    assert check_docs.link_problems() == []


def test_every_code_the_docs_name_exists_and_every_code_is_indexed() -> None:
    assert check_docs.code_problems() == []


def test_every_table_row_in_the_docs_is_in_its_table() -> None:
    assert check_docs.table_problems() == []


def test_the_table_check_sees_a_row_left_outside_and_a_wrapped_row(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "guard.md").write_text(
        "| step | what |\n| --- | --- |\n| a | b |\n\n\n| a | b, merged twice |\n\n"
        "| kind | DDL |\n| :-- | --: |\n| column | long\ntext |\n\n```\n| x |\n```\n")
    (tmp_path / "README.md").write_text("a `cat f\n| sqlite3` paragraph\n")
    assert check_docs.table_problems(tmp_path) == [
        "README.md:2: a table row outside any table (no header and `| --- |` row above it)",
        "docs/guard.md:6: a table row outside any table (no header and `| --- |` row above it)",
        "docs/guard.md:11: a table row's text wrapped onto a line of its own (join it to its "
        "row)",
    ]


def test_the_check_sees_a_missing_file_and_a_missing_anchor(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "gates.md").write_text("# Gates\n\n## `dbsafe drift`\n\n```\n# x\n```\n")
    (tmp_path / "README.md").write_text(
        "[a](docs/gates.md#dbsafe-drift) [b](docs/gates.md#drift) [c](docs/nope.md) "
        "[d](docs/gates.md#x) [e](https://example.com/#y) `[f](docs/nope.md)`\n")
    assert check_docs.link_problems(tmp_path) == [
        "README.md: link docs/gates.md#drift: no such heading or anchor",
        "README.md: link docs/nope.md: no such file",
        "README.md: link docs/gates.md#x: no such heading or anchor",
    ]


def test_slugs_follow_github() -> None:
    assert check_docs.slug("`dbsafe lock` and `dbsafe verify-lock`") == (
        "dbsafe-lock-and-dbsafe-verify-lock")
    assert check_docs.slug("Flyway's configuration") == "flyways-configuration"


def test_validate_synopsis_names_every_option() -> None:
    import click

    from dbsafe.cli import main

    text = (check_docs.REPO_ROOT / "docs" / "validate.md").read_text(encoding="utf-8")
    synopsis = text.split("```sh\n", 1)[1].split("```", 1)[0]
    command = main.commands["validate"]
    options = [p for p in command.params if isinstance(p, click.Option)]
    missing = [p.opts[-1] for p in options if not any(
        f"[{o}" in synopsis or f"| {o}" in synopsis or f" {o} " in synopsis for o in p.opts)]
    assert missing == []


def _options_without_docs(group, text: str, path: str = "dbsafe") -> list[str]:
    """`dbsafe CMD --opt` for each option of each (sub)command that has no help text or that
    `text` never names (an option is named by any of its spellings)."""
    import click

    missing = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            missing += _options_without_docs(command, text, f"{path} {name}")
        for param in command.params:
            if not isinstance(param, click.Option) or param.hidden:
                continue
            spellings = [*param.opts, *param.secondary_opts]
            named = any(re.search(re.escape(o) + r"(?![\w-])", text) for o in spellings)
            if not (param.help or "").strip() or not named:
                missing.append(f"{path} {name} {spellings[-1]}")
    return missing


def test_every_option_of_every_command_has_help_and_is_in_the_docs() -> None:
    """What `--help` offers, the docs explain somewhere (README.md or docs/): the validate
    synopsis test above, for every command (task 402)."""
    from dbsafe.cli import main

    text = "\n".join(p.read_text(encoding="utf-8") for p in check_docs.doc_files())
    assert _options_without_docs(main, text) == []


def test_the_option_check_sees_an_option_the_docs_never_name() -> None:
    import click

    @click.group()
    def tool() -> None: ...

    @tool.command()
    @click.option("--shown", help="In the docs.")
    @click.option("--unnamed", help="Named nowhere.")
    @click.option("--bare")
    def go(shown: str, unnamed: str, bare: str) -> None: ...

    assert _options_without_docs(tool, "use `--shown` or --bare; --unnamed-thing") == [
        "dbsafe go --unnamed", "dbsafe go --bare"]

def test_readme_counts_the_rules_and_checks_there_are() -> None:
    import re

    from dbsafe.checks import builtin_checks
    from dbsafe.lint.rules import ALL_RULES

    readme = (check_docs.REPO_ROOT / "README.md").read_text(encoding="utf-8")
    rules = re.search(r"(\d+) rules covering", readme)
    checks = re.search(r"runs (\d+) read-only health checks", readme)
    assert rules is not None and checks is not None
    assert int(rules.group(1)) == len(ALL_RULES)
    assert int(checks.group(1)) == len(builtin_checks())


def test_every_format_list_in_the_docs_names_the_formats_there_are() -> None:
    """A `--format a|b|...` list names every format, or every one but `text` where it
    says what `--sql` refuses beside it. README's list lacked `markdown` once."""
    import re

    from dbsafe.config import FORMATS

    allowed = {FORMATS, tuple(f for f in FORMATS if f != "text")}
    wrong = [f"{page.relative_to(check_docs.REPO_ROOT)}: --format {listed}"
             for page in check_docs.doc_files()
             for listed in re.findall(r"--format \[?([a-z]+(?:\|[a-z]+)+)",
                                      page.read_text(encoding="utf-8"))
             if tuple(listed.split("|")) not in allowed]
    assert wrong == []


def test_the_quick_start_is_two_commands_and_ci_runs_the_second() -> None:
    """README's quick start: install + the demo's validate, install + the whole suite, which
    is what .ci/run runs (pip quieter there)."""
    readme = (check_docs.REPO_ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Quick start", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    first, second = block.splitlines()
    assert first == "python3 -m pip install -e . && python3 -m dbsafe validate examples/clinic"
    ci = (check_docs.REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()[-1]
    assert ci.replace("pip install -q ", "pip install ") == second


def _all_options():
    """(`dbsafe CMD`, option) for every visible option of every command and subcommand."""
    import click

    from dbsafe.cli import main

    def walk(group: click.Group, path: str):
        yield path, group
        for name, command in group.commands.items():
            if isinstance(command, click.Group):
                yield from walk(command, f"{path} {name}")
            else:
                yield f"{path} {name}", command

    for path, command in walk(main, "dbsafe"):
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden:
                yield path, param


def test_every_repeatable_option_says_so_in_its_help() -> None:
    """`verify-reversible --ignore-name` took several patterns but its help did not say so
    (diff's and drift's did); --help is where a user learns that a second one is kept
    (task 536)."""
    silent = [f"{path} {param.opts[-1]}" for path, param in _all_options()
              if param.multiple and "repeatable" not in (param.help or "")]
    assert silent == []


def test_an_ignore_that_takes_object_kinds_says_so_in_its_help() -> None:
    """docs/gates.md: verify-reversible's `--ignore KIND` (owner, grant, index, ...) leaves
    differences out, as diff's and drift's do; its --help said codes alone (task 536)."""
    from dbsafe.cli import main

    for name in ("diff", "drift", "verify-reversible"):
        ignore = next(p for p in main.commands[name].params if p.name == "ignore")
        assert ignore.metavar == "CODE|KIND", name
        assert "object kinds" in ignore.help, name


def test_readme_schema_sources_name_every_source_option() -> None:
    """README's "Schema sources, in default order" named --database-url, --snapshot and the
    migrations, not --schema-file, which `auto` picks before the migrations (task 536)."""
    from dbsafe.cli import main

    readme = (check_docs.REPO_ROOT / "README.md").read_text(encoding="utf-8")
    paragraph = readme.split("Schema sources, in default order:", 1)[1].split("\n\n", 1)[0]
    sources = ("--database-url", "--snapshot", "--schema-file", "--from-migrations",
               "--sql-migrations")
    options = {o for p in main.commands["validate"].params for o in p.opts}
    assert set(sources) <= options
    order = [paragraph.find(f"`{source}") for source in sources]
    assert -1 not in order, dict(zip(sources, order))
    assert order[:4] == sorted(order[:4])  # database, snapshot, schema file, migrations


def _default_problems(doc: str) -> list[str]:
    """Rows of docs/configuration.md whose default is one literal (`2s`, `[]`, `0.75`) that,
    written as the key in [tool.dbsafe], loads other settings than writing nothing."""
    import dataclasses
    import tempfile
    import tomllib

    from dbsafe.config import load_settings

    def settings(text: str):
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder)
            (root / "pyproject.toml").write_text(f"[tool.dbsafe]\n{text}\n", encoding="utf-8")
            loaded = load_settings(root, environ={})
            # Paths under the temporary folder differ from run to run, and `origins` says
            # which keys the file set: neither is a value.
            return {f.name: getattr(loaded, f.name) for f in dataclasses.fields(loaded)
                    if f.name != "origins" and folder not in str(getattr(loaded, f.name))}

    problems = []
    default = settings("")
    for match in re.finditer(r"^\| `([a-z-]+)` \|(.*)$", doc, re.MULTILINE):
        key, cells = match.group(1), re.split(r"(?<!\\)\|", match.group(2))
        literal = re.fullmatch(r"\s*`([^`<]+)`(?: \([^)]*\))?\s*", cells[2])
        if literal is None:
            continue  # prose: "the nearest alembic.ini ...", "all", "—"
        value = literal.group(1)
        try:
            tomllib.loads(f"x = {value}")
        except tomllib.TOMLDecodeError:
            value = f'"{value}"'  # `2s`, `warning`, `10MB`: strings in the file
        if settings(f"{key} = {value}") != default:
            problems.append(f"{key}: the default is not {literal.group(1)}")
    return problems


def test_configuration_md_defaults_are_what_dbsafe_uses() -> None:
    """Each default docs/configuration.md gives as a literal is the one dbsafe applies: the
    value written in [tool.dbsafe] changes nothing (task 536)."""
    doc = (check_docs.REPO_ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert _default_problems(doc) == []


def test_the_default_check_sees_a_stale_default() -> None:
    assert _default_problems(
        "| `lock-timeout` | — | — | `3s` | x |\n| `jobs` | — | — | `0` (one per core) | x |\n"
        "| `exclude` | — | — | `[\"a\"]` | x |\n| `fail-on` | — | — | `warning` | x |\n") == [
        "lock-timeout: the default is not 3s", "exclude: the default is not [\"a\"]"]
