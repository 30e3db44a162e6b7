"""Resolver behaviour on a corpus of PostgreSQL-verified cases and on our own.

`pass` cases are valid PostgreSQL: any problem is a false positive, the worst bug dbsafe can
have. `flag` cases fail on PostgreSQL with 42703/42P01: dbsafe must report the identifier.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import assert_snapshot

from dbsafe.schema.model import SchemaSnapshot
from dbsafe.validate import RULES, Problem, Resolution, resolve
from dbsafe.validate.resolver import Resolver

FIXTURES = Path(__file__).parent / "fixtures"
CASES = FIXTURES / "cases.json"
EXTRA_CASES = FIXTURES / "extra_cases.json"


def _load(path: Path) -> list[dict[str, str]]:
    return json.loads(path.read_text(encoding="utf-8"))


CORPUS = _load(CASES)
EXTRA = _load(EXTRA_CASES)
# Constructs (joins, sequences, schemas, ...) against their own schema, constructs_schema.sql.
CONSTRUCTS = _load(FIXTURES / "constructs_cases.json")


@pytest.fixture(scope="module")
def clinic() -> SchemaSnapshot:
    return SchemaSnapshot.load(FIXTURES / "clinic_schema.json")


def _check(case: dict[str, str], snapshot: SchemaSnapshot) -> None:
    """The case's verdict, with the quick check (as validate runs) and by the resolver alone."""
    _check_with(case, resolve(case["sql"], snapshot))
    _check_with(case, Resolver(snapshot, quick=False).resolve(case["sql"]))


def _check_with(case: dict[str, str], resolution: Resolution) -> None:
    if case["expect"] == "pass":
        assert resolution.problems == (), f"false positive on {case['id']}: {resolution}"
        return
    assert resolution.problems, f"missed {case['id']} ({resolution.status}: {resolution.reason})"
    assert any(_names(p, case["sql"], case["identifier"]) for p in resolution.problems), resolution


def _names(problem: Problem, sql: str, identifier: str) -> bool:
    """The problem's subject names the identifier, and its span covers the offending name."""
    named = problem.subject == identifier or problem.subject.endswith("." + identifier)
    text = sql[problem.start : problem.end + 1].strip('"')
    return named and text.lower() in identifier.lower().split(".")


@pytest.mark.parametrize("case", CORPUS, ids=lambda c: f"{c['id']}-{c['name']}")
def test_corpus_case(case: dict[str, str], clinic: SchemaSnapshot) -> None:
    _check(case, clinic)


@pytest.mark.parametrize("case", EXTRA, ids=lambda c: f"{c['id']}-{c['name']}")
def test_extra_case(case: dict[str, str], clinic: SchemaSnapshot) -> None:
    _check(case, clinic)


@pytest.fixture(scope="module")
def constructs() -> SchemaSnapshot:
    return SchemaSnapshot.load(FIXTURES / "constructs_schema.json")


@pytest.mark.parametrize("case", CONSTRUCTS, ids=lambda c: f"{c['id']}-{c['name']}")
def test_construct_case(case: dict[str, str], constructs: SchemaSnapshot) -> None:
    _check(case, constructs)
    # Modelled, not merely silent: every reference of these statements was checked by the
    # resolver (those sqlglot cannot parse have their tables checked through PostgreSQL's
    # parser), unless the case says which part stays unknown (`status`).
    expected = case.get("status") or ("analysed" if case.get("analysed", True) else "unparsed")
    assert Resolver(constructs, quick=False).resolve(case["sql"]).status == expected
    # The quick check proves some statements sqlglot cannot read (`p <<| point(1, 1)`):
    # analysed in full, then; anything else is the resolver's verdict.
    assert resolve(case["sql"], constructs).status in (expected, "analysed")


def test_unknown_schema_is_silent_when_the_snapshot_may_be_partial(
    constructs: SchemaSnapshot,
) -> None:
    import dataclasses

    partial = dataclasses.replace(constructs, covers_all_schemas=False)
    resolution = resolve("SELECT 1 FROM nosuchschema.a", partial)
    assert resolution.status == "not_analysed" and resolution.problems == ()


def _statements(text: str) -> list[tuple[int, str]]:
    """(offset, statement) for each `;`-terminated statement of a fixture, comments skipped."""
    found: list[tuple[int, str]] = []
    offset = 0
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if stripped and not stripped.startswith("--"):
            found.append((offset, line.rstrip("\n")))
        offset += len(line)
    return found


def _render(text: str, snapshot: SchemaSnapshot) -> str:
    lines = []
    for offset, statement in _statements(text):
        resolution = resolve(statement, snapshot)
        for problem in resolution.problems:
            line = text.count("\n", 0, offset) + 1
            column = problem.start + 1
            lines.append(f"{line}:{column}: {problem.code} {problem.message} [{problem.subject}]")
            if problem.help:
                lines.append(f"  help: {problem.help}")
        if resolution.status != "analysed":
            line = text.count("\n", 0, offset) + 1
            lines.append(f"{line}: {resolution.status}: {resolution.reason}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("code", [r.code for r in RULES if r.code in ("DBS301", "DBS302")])
def test_rule_fixture(code: str, clinic: SchemaSnapshot) -> None:
    text = (FIXTURES / f"{code}.sql").read_text(encoding="utf-8")
    violations, _, near_misses = text.partition("-- not flagged")
    rendered = _render(text, clinic)
    assert_snapshot(rendered, FIXTURES / f"{code}.expected")
    # Everything above "-- not flagged" is a violation of this code; nothing below is.
    for _offset, statement in _statements(violations):
        assert code in {p.code for p in resolve(statement, clinic).problems}, statement
    for _offset, statement in _statements(near_misses):
        assert code not in {p.code for p in resolve(statement, clinic).problems}, statement


def test_placeholders_parse(clinic: SchemaSnapshot) -> None:
    for placeholder in ("%s", "%(name)s", ":name", "$1", "?"):
        sql = f"SELECT id FROM patients WHERE clinic_id = {placeholder} AND metadata ? 'vip'"
        assert resolve(sql, clinic) == Resolution("analysed"), placeholder


def test_unparsable_statement_is_unparsed_not_a_problem(clinic: SchemaSnapshot) -> None:
    resolution = resolve("SELECT 1 ORDER BY id USING >", clinic)
    assert resolution.status == "unparsed" and resolution.problems == ()


@pytest.mark.parametrize(
    "sql",
    ["CREATE TABLE x (id int)", "SET search_path = public", "BEGIN",
     "COPY clinics FROM STDIN", "VACUUM clinics"],
)
def test_statements_validate_does_not_check_are_ignored(sql: str, clinic: SchemaSnapshot) -> None:
    assert resolve(sql, clinic).status == "ignored"


def test_unknown_function_source_makes_statement_not_analysed(clinic: SchemaSnapshot) -> None:
    resolution = resolve("SELECT anything FROM patients p, some_fn(p.id) AS x", clinic)
    # (no `anything` column reported; the clinic has no `some_fn` at all: DBS314, 42883)
    assert resolution.status == "not_analysed"
    assert [p.code for p in resolution.problems] == ["DBS314"]


def test_explain_offsets_point_into_the_whole_statement(clinic: SchemaSnapshot) -> None:
    sql = "EXPLAIN (ANALYZE) SELECT notez FROM appointments"
    (problem,) = resolve(sql, clinic).problems
    assert sql[problem.start : problem.end + 1] == "notez"


def test_quoted_identifier_span_includes_quotes(clinic: SchemaSnapshot) -> None:
    sql = 'SELECT "Full_Name" FROM patients'
    (problem,) = resolve(sql, clinic).problems
    assert sql[problem.start : problem.end + 1] == '"Full_Name"'
    assert problem.suggestions[0] == "full_name"


def test_rule_names_are_kebab_case() -> None:
    from dbsafe.validate import resolver

    assert [r.code for r in resolver.RULES] == ["DBS301", "DBS302", "DBS304", "DBS314", "DBS315",
                                                "DBS316"]
    # The package's RULES also hold the PostgREST checker's codes; all sit in DBS3xx.
    assert all(r.code.startswith("DBS3") and r.name == r.name.lower() and " " not in r.name
               for r in RULES)


@pytest.mark.parametrize("version", [150000, 170000])
def test_returning_old_new_is_flagged_before_postgresql_18(version: int,
                                                          constructs: SchemaSnapshot) -> None:
    sql = "UPDATE a SET x = 1 RETURNING old.x, new.x"
    problems = resolve(sql, constructs, server_version=version).problems
    assert [(p.subject, sql[p.start:p.end + 1], p.requires_version) for p in problems] == [
        ("old.x", "old", 180000), ("new.x", "new", 180000)]
    assert resolve(sql, constructs, server_version=180000).problems == ()



def test_table_suggestions_scale_to_large_schemas() -> None:
    # A finding-heavy run on a 10,000-table schema used to spend ~0.4 s per unknown table in
    # difflib; suggestions are now drawn from an index and memoised per misspelling.
    from dbsafe.schema.model import Column, Relation
    from dbsafe.validate.resolver import Resolver

    names = [f"{prefix}_{n}" for prefix in ("order", "invoice", "stock", "audit") for n in range(2500)]
    names.append("order_items")
    relations = tuple(Relation(schema="public", name=n, kind="table",
                               columns=(Column(name="id", type="int", nullable=True, position=1),))
                      for n in names)
    resolver = Resolver(SchemaSnapshot(schemas=("public",), relations=relations))
    (problem,) = resolver.resolve("SELECT id FROM order_itmes").problems
    assert problem.suggestions[0] == "order_items"
    # The second time the same misspelling is looked up, nothing is recomputed.
    assert resolver.table_suggestions("order_itmes", ("public",)) is \
        resolver.table_suggestions("order_itmes", ("public",))


def test_same_named_tables_of_two_schemas_are_named_with_their_schemas(
    constructs: SchemaSnapshot,
) -> None:
    resolution = resolve("SELECT nosuch FROM public.a JOIN sales.a ON sales.a.id = public.a.id",
                         constructs)
    (problem,) = resolution.problems
    assert problem.message == ("no table in scope has a column `nosuch` "
                               "(looked in `public.a`, `sales.a`)")
    # `a.x` alone is ambiguous to PostgreSQL (42P09): not checked, never a wrong finding.
    ambiguous = resolve("SELECT a.amount FROM public.a JOIN sales.a ON sales.a.id = public.a.id",
                        constructs)
    assert ambiguous.problems == () and ambiguous.status == "not_analysed"


# Templates filled in before they run: str.format and psycopg fields, Jinja (dbt models),
# placeholders an application replaces. PostgreSQL's grammar has no braces outside quotes
# (test_cases_db checks it rejects each), and sqlglot reads `{x}` as a struct literal whose
# `x` would be reported as a missing column.
TEMPLATES = [
    "SELECT {fields} FROM patients",
    "SELECT id FROM patients WHERE id = {}",
    "SELECT {{ cols }} FROM patients",
    "SELECT id FROM {{ ref('patients') }}",
    "SELECT id FROM patients {% if x %}WHERE id = 1{% endif %}",
]


@pytest.mark.parametrize("sql", TEMPLATES)
def test_a_template_with_braces_is_unparsed_not_a_finding(sql: str, clinic: SchemaSnapshot) -> None:
    for resolution in (resolve(sql, clinic), Resolver(clinic, quick=False).resolve(sql)):
        assert resolution.status == "unparsed", resolution
        assert resolution.problems == ()
        assert resolution.reason is not None and "braces" in resolution.reason


def test_braces_inside_quotes_and_comments_are_text(clinic: SchemaSnapshot) -> None:
    sql = ("SELECT nope FROM patients WHERE tags = '{a,b}' AND metadata @> '{\"a\": {}}' "
           "AND full_name <> $x${y}$x$ /* {z} */ -- {w}")
    resolution = resolve(sql, clinic)
    assert [p.subject for p in resolution.problems] == ["public.patients.nope"]
