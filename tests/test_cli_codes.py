"""`dbsafe explain CODE` and `dbsafe codes`: every code documented from the top level."""

from __future__ import annotations

import json

from click.testing import CliRunner

from dbsafe.cli import main
from dbsafe.commands import catalog


def test_codes_lists_the_whole_catalog() -> None:
    result = CliRunner().invoke(main, ["codes", "--format", "json"])
    assert result.exit_code == 0
    assert [entry["code"] for entry in json.loads(result.output)] == sorted(catalog())


def test_explain_works_for_every_code() -> None:
    runner = CliRunner()
    for code in catalog():
        result = runner.invoke(main, ["explain", code.lower()])
        assert result.exit_code == 0, (code, result.output)
        assert result.output.startswith(f"{code} {catalog()[code].name} (")


def test_explain_of_an_unknown_code_is_one_line_and_exit_2() -> None:
    result = CliRunner().invoke(main, ["explain", "DBS999"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "dbsafe: error: unknown code 'DBS999' (closest: DBS109, DBS119, DBS129); "
        "`dbsafe codes` lists them all"]


def test_codes_takes_its_format_from_dbsafe_format() -> None:
    result = CliRunner().invoke(main, ["codes"], env={"DBSAFE_FORMAT": "json"})
    assert result.exit_code == 0, result.output
    assert [entry["code"] for entry in json.loads(result.stdout)] == sorted(catalog())


def test_codes_says_a_dbsafe_format_it_cannot_print() -> None:
    result = CliRunner().invoke(main, ["codes"], env={"DBSAFE_FORMAT": "sarif"})
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        "dbsafe: warning: DBSAFE_FORMAT is sarif, which `dbsafe codes` cannot print (text or "
        "json): text printed; --format json for JSON"]
    assert result.stdout.startswith("DBS001  ")
