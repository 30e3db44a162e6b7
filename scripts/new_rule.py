"""Start a new lint rule: `python scripts/new_rule.py CODE NAME`.

Writes `dbsafe/lint/rules/<name>.py` (docstring sections, a `check` over the statement
model, `RULE`), appends it to `ALL_RULES` in `dbsafe/lint/rules/__init__.py`, and creates
the fixture `tests/lint/fixtures/<CODE>.sql` with its `-- not flagged` section. Then write
the check, fill the fixture, run the tests with DBSAFE_UPDATE_SNAPSHOTS=1, review the new
`.expected` file and run `python scripts/gen_docs.py`.

Example:
    python scripts/new_rule.py DBS119 index-dropped-on-partitioned-table
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
RULES = REPO_ROOT / "dbsafe" / "lint" / "rules"
FIXTURES = REPO_ROOT / "tests" / "lint" / "fixtures"

TEMPLATE = '''"""TODO: one sentence naming the flagged pattern.

## Why
TODO: what breaks in production, and why.

## Bad
```sql
TODO;
```

## Good
```sql
TODO;
```

## In Alembic
TODO: the `op.*` form of the good example.

## Not flagged
TODO: the near misses (tables created earlier in the same migration, ...).
"""

from __future__ import annotations

from collections.abc import Iterator

from dbsafe.core import Finding, Severity
from dbsafe.lint.engine import LintContext, Rule
from dbsafe.lint.statement import Statement


def check(statement: Statement, ctx: LintContext) -> Iterator[Finding]:
    if statement.kind != "TODO":  # a libpg_query node name, e.g. "AlterTableStmt"
        return
    yield ctx.finding(
        RULE,
        "TODO: one sentence naming the object in backticks.",
        help="TODO: one imperative sentence.",
    )


RULE = Rule(
    code="{code}",
    name="{name}",
    severity=Severity.{severity},
    since="{since}",
    doc=__doc__,
    check=check,
)
'''

FIXTURE = """-- TODO: each violating case, preceded by a comment saying why it is there

-- not flagged
-- TODO: the near misses, each preceded by a comment
"""


def new_rule(code: str, name: str, *, severity: str = "ERROR", since: str = "0.1.0",
             root: Path = REPO_ROOT) -> Path:
    """Create the rule module, register it and create its fixture; returns the module."""
    if not re.fullmatch(r"DBS[12]\d\d", code):
        raise SystemExit(f"{code}: lint codes are DBS1xx (locking) or DBS2xx (destructive)")
    if not re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", name):
        raise SystemExit(f"{name}: names are kebab-case and name the flagged pattern")
    rules = root / RULES.relative_to(REPO_ROOT)
    fixtures = root / FIXTURES.relative_to(REPO_ROOT)
    module = name.replace("-", "_")
    path = rules / f"{module}.py"
    registry = rules / "__init__.py"
    text = registry.read_text(encoding="utf-8")
    if path.exists() or f'code="{code}"' in "".join(
            p.read_text(encoding="utf-8") for p in rules.glob("*.py")):
        raise SystemExit(f"{code} or {path.name} already exists")
    path.write_text(TEMPLATE.replace("{code}", code).replace("{name}", name)
                    .replace("{severity}", severity.upper()).replace("{since}", since),
                    encoding="utf-8")
    head = "from dbsafe.lint.rules import (\n"
    start = text.index(head) + len(head)
    end = text.index(")\n", start)
    modules = sorted({line.strip().rstrip(",") for line in text[start:end].splitlines()} |
                     {module})
    text = text[:start] + "".join(f"    {m},\n" for m in modules) + text[end:]
    text = text.rstrip().removesuffix(")") + f"    {module}.RULE,\n)\n"
    registry.write_text(text, encoding="utf-8")
    fixture = fixtures / f"{code}.sql"
    if not fixture.exists():
        fixture.write_text(FIXTURE, encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("code", help="e.g. DBS119")
    parser.add_argument("name", help="kebab-case, reads as 'allow <name>'")
    parser.add_argument("--severity", default="error", choices=["error", "warning", "note"])
    parser.add_argument("--since", default="0.1.0")
    args = parser.parse_args(argv)
    path = new_rule(args.code.upper(), args.name, severity=args.severity, since=args.since)
    print(f"wrote {path.relative_to(REPO_ROOT)}, registered it in ALL_RULES and created "
          f"tests/lint/fixtures/{args.code.upper()}.sql", file=sys.stderr)


if __name__ == "__main__":
    main()
