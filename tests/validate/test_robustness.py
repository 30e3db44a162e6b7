"""No input ends a validate run: every failure is a per-statement or per-file skip.

The fuzz cases are seeded, so a failure reproduces; they mutate the PostgreSQL-verified corpus
with operators and keywords sqlglot trips over, and feed random bytes to the extractors.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from dbsafe import commands
from dbsafe.config import load_settings
from dbsafe.schema.model import SchemaSnapshot
from dbsafe.validate import Resolution, created_relations, resolve
from dbsafe.validate.confirm import to_numbered_parameters

FIXTURES = Path(__file__).parent / "fixtures"
SNAPSHOT = FIXTURES / "clinic_schema.json"
SEED = 20261201

# sqlglot raised TypeError on this valid statement (geometric "is parallel" operator), which
# ended the whole run with exit 2 and no report.
GEOMETRIC = "SELECT l1.s, l2.s FROM line_tbl l1, line_tbl l2 WHERE l1.s ?# l2.s"

_NOISE = (
    "?#", "?-|", "?||", "##", "<<|", "&<|", "|>>", "~=", "#", "@@", "<->", "@>", "<@", "&&",
    "(", ")", "((", "))", ",", ".", "*", "::", "[", "]", "[1:", ";", "'", '"', "$$", "$1",
    "%s", "%(x)s", ":name", "?", "JOIN", "ON", "USING", "LATERAL", "WITH", "RECURSIVE",
    "SELECT", "FROM", "WHERE", "AS", "NULL", "IS", "NOT", "DOCUMENT", "NORMALIZED", "CYCLE",
    "SEARCH", "SET", "RETURNING", "OVER", "FILTER", "ROWS", "GROUP", "BY", "ORDER", "UNION",
    "VALUES", "INSERT", "UPDATE", "DELETE", "MERGE", "WHEN", "CASE", "END", "ARRAY", "ROW",
    "\\", "\x00", "é", "\u2028", "E'\\'", "U&\"x\"", "--", "/*", "*/",
)


def _corpus() -> list[str]:
    cases = [*json.loads((FIXTURES / "cases.json").read_text(encoding="utf-8")),
             *json.loads((FIXTURES / "extra_cases.json").read_text(encoding="utf-8"))]
    return [c["sql"] for c in cases]


def _mutate(sql: str, rng: random.Random, vocabulary: list[str]) -> str:
    words = sql.split(" ")
    for _ in range(rng.randint(1, 3)):
        choice = rng.random()
        at = rng.randrange(len(words) + 1)
        if choice < 0.4 and words:
            # Mostly still parses: this is what reaches the resolver's corners.
            words[min(at, len(words) - 1)] = rng.choice(vocabulary)
        elif choice < 0.6:
            words.insert(at, rng.choice(_NOISE))
        elif choice < 0.7 and words:
            del words[min(at, len(words) - 1)]
        elif choice < 0.85 and len(words) > 1:
            i, j = rng.randrange(len(words)), rng.randrange(len(words))
            words[i], words[j] = words[j], words[i]
        else:
            words.insert(at, "".join(rng.choice("()[],.;'\"$:?#@<>|&~*") for _ in range(3)))
    return " ".join(words)


def _vocabulary(corpus: list[str]) -> list[str]:
    return sorted({word for sql in corpus for word in sql.split(" ") if word})


def _statements() -> list[str]:
    rng = random.Random(SEED)
    corpus = _corpus()
    vocabulary = _vocabulary(corpus)
    mutated = [_mutate(rng.choice(corpus), rng, vocabulary) for _ in range(600)]
    glued = [f"{rng.choice(corpus)} {rng.choice(_NOISE)} {rng.choice(corpus)}" for _ in range(100)]
    return [GEOMETRIC, *mutated, *glued]


@pytest.fixture(scope="module")
def clinic() -> SchemaSnapshot:
    return SchemaSnapshot.load(SNAPSHOT)


def test_a_statement_sqlglot_crashes_on_is_one_unparsed_entry(clinic: SchemaSnapshot) -> None:
    resolution = resolve(GEOMETRIC, clinic)
    assert resolution.status == "unparsed"
    assert resolution.reason is not None and "TypeError" in resolution.reason
    # Its tables are still checked, with PostgreSQL's parser: clinic has no line_tbl.
    assert [p.subject for p in resolution.problems] == ["public.line_tbl", "public.line_tbl"]
    assert to_numbered_parameters(GEOMETRIC) == GEOMETRIC


def test_no_mutated_statement_raises(clinic: SchemaSnapshot) -> None:
    for sql in _statements():
        try:
            resolution = resolve(sql, clinic)
            to_numbered_parameters(sql)
            created_relations(sql)
        except Exception as exc:  # noqa: BLE001 -- the failure names the input that broke
            pytest.fail(f"{type(exc).__name__} on {sql!r}: {exc}")
        assert isinstance(resolution, Resolution)


def _random_files(root: Path, rng: random.Random) -> None:
    corpus = _corpus()
    vocabulary = _vocabulary(corpus)
    for i in range(12):
        (root / f"bytes{i}.sql").write_bytes(rng.randbytes(rng.randint(0, 400)))
        (root / f"bytes{i}.py").write_bytes(rng.randbytes(rng.randint(0, 400)))
    for i in range(12):
        statements = [_mutate(rng.choice(corpus), rng, vocabulary) for _ in range(4)]
        (root / f"mutated{i}.sql").write_text(";\n".join(statements), encoding="utf-8")
        calls = "\n".join(f"    cur.execute({s!r})" for s in statements)
        source = f"def f(cur):\n{calls}\n    # dbsafe: ignore[DBS302]\n"
        cut = rng.randrange(len(source))
        # Half the Python files are cut short mid-token: a syntax error is a skip, too.
        text = source if i % 2 else source[:cut] + rng.choice(_NOISE) + source[cut:]
        (root / f"mutated{i}.py").write_text(text, encoding="utf-8")
    (root / "geometric.sql").write_text(GEOMETRIC + ";\nSELECT nope FROM patients;\n",
                                        encoding="utf-8")


def test_no_file_ends_the_run(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n", encoding="utf-8")
    _random_files(tmp_path, random.Random(SEED))
    settings = load_settings(tmp_path, {"snapshot": str(SNAPSHOT), "cache": False, "jobs": 1},
                             environ={})
    report = commands.validate(settings, [tmp_path])
    assert report.summary["files"] == 12 * 4 + 1
    # The statement after the one sqlglot crashes on is still checked.
    assert ("geometric.sql", 2) in {(f.location.path, f.location.line)
                                    for f in report.findings if f.location}
