"""DBS212 on `DROP TYPE ... CASCADE` names what PostgreSQL drops with the type, when the
history saw the type created: checked against PostgreSQL's own "drop cascades to" notices.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import Settings
from dbsafe.core import Severity

pytestmark = pytest.mark.db

# ghostfolio's history: a column of an enum with a DEFAULT, moved to text, then the enum
# dropped with CASCADE (20210921151004_changed_currency_from_enum_to_string).
SETUP = """
CREATE TYPE currency AS ENUM ('CHF', 'EUR', 'USD');
CREATE TYPE status AS ENUM ('open', 'closed');
CREATE TYPE unused AS ENUM ('a');
CREATE TABLE account (id int PRIMARY KEY, currency currency NOT NULL DEFAULT 'USD');
CREATE TABLE orders (id int PRIMARY KEY, currency currency, status status);
"""
MOVED = """
ALTER TABLE account ALTER COLUMN currency TYPE text;
ALTER TABLE orders ALTER COLUMN currency TYPE text;
"""


def _cascades(conninfo: str, drop: str) -> list[str]:
    """What PostgreSQL says `drop` cascades to, run after SETUP and MOVED."""
    said: list[str] = []
    with psycopg.connect(conninfo) as conn:
        conn.add_notice_handler(lambda d: said.extend(
            line for text in (d.message_primary, d.message_detail) if text
            for line in text.splitlines() if line.startswith("drop cascades to ")))
        conn.execute(drop)
        conn.rollback()
    return said


def _dbs212(tmp_path: Path, drop: str) -> list[tuple[Severity, str]]:
    folder = tmp_path / "migrations"
    folder.mkdir(exist_ok=True)
    (folder / "001_setup.sql").write_text(SETUP)
    (folder / "002_moved.sql").write_text(MOVED + drop + ";\n")
    report = commands.lint(Settings(project_root=tmp_path, select=("DBS212",)), [folder])
    return [(f.severity, f.message) for f in report.findings]


@pytest.fixture
def built(conninfo: str) -> str:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(SETUP)
        conn.execute(MOVED)
    return conninfo


def test_the_default_a_type_change_kept_is_what_cascade_drops(built: str,
                                                               tmp_path: Path) -> None:
    """ghostfolio: DBS212 said CASCADE drops columns still of `Currency`; none was, but
    `Account.currency`'s DEFAULT 'USD' stayed of the enum and went with it: an insert
    leaving the column out then fails (23502)."""
    assert _cascades(built, "DROP TYPE currency CASCADE") == [
        "drop cascades to default value for column currency of table account"]
    with psycopg.connect(built) as conn:
        conn.execute("DROP TYPE currency CASCADE")
        with pytest.raises(psycopg.errors.NotNullViolation):
            conn.execute("INSERT INTO account (id) VALUES (1)")
    [(severity, message)] = _dbs212(tmp_path, "DROP TYPE currency CASCADE")
    assert severity is Severity.ERROR
    assert "the DEFAULT of `account.currency`" in message and "still of that type" not in \
        message and "orders" not in message


def test_columns_still_of_the_type_are_named(built: str, tmp_path: Path) -> None:
    assert _cascades(built, "DROP TYPE status CASCADE") == [
        "drop cascades to column status of table orders"]
    [(severity, message)] = _dbs212(tmp_path, "DROP TYPE status CASCADE")
    assert severity is Severity.ERROR and "column `orders.status`, still of that type" in \
        message


def test_a_type_no_column_uses_is_a_warning_saying_so(built: str, tmp_path: Path) -> None:
    """hatchet's v1_0_69 moves both `LimitResource` columns to a new enum first: the drop
    cascades to nothing PostgreSQL names, and no data is lost."""
    assert _cascades(built, "DROP TYPE unused CASCADE") == []
    [(severity, message)] = _dbs212(tmp_path, "DROP TYPE unused CASCADE")
    assert severity is Severity.WARNING and \
        "no column or DEFAULT the migrations wrote is of that type" in message


def test_the_databases_default_of_the_type_is_named_with_database_url(
        built: str, tmp_path: Path, database_url: str) -> None:
    """With `--database-url` a type no column of the database has was not flagged at all,
    though the database's `account.currency` DEFAULT still holds a `currency`."""
    path = tmp_path / "drop.sql"
    path.write_text("DROP TYPE currency CASCADE;\n")
    settings = Settings(project_root=tmp_path, select=("DBS212",), database_url=database_url)
    messages = [f.message for f in commands.lint(settings, [path]).findings]
    assert len(messages) == 1 and "the DEFAULT of `account.currency`" in messages[0]
    path.write_text("DROP TYPE unused CASCADE;\n")
    assert commands.lint(settings, [path]).findings == ()


KEYS = """
CREATE TABLE parents (id int PRIMARY KEY, code text CONSTRAINT parents_code_key UNIQUE,
                      other text CONSTRAINT parents_other_key UNIQUE);
CREATE TABLE kids (id int PRIMARY KEY, parent_id int CONSTRAINT kids_parent_fkey
                   REFERENCES parents, parent_code text CONSTRAINT kids_code_fkey
                   REFERENCES parents (code));
"""


def _foreign_keys(conninfo: str, statement: str) -> set[str]:
    """The foreign keys pg_constraint shows after KEYS and `statement` (rolled back)."""
    with psycopg.connect(conninfo) as conn:
        conn.execute(KEYS)
        conn.execute(statement)
        names = {row[0] for row in conn.execute(
            "SELECT conname FROM pg_constraint WHERE contype = 'f'")}
        conn.rollback()
    return names


def _key_findings(tmp_path: Path, statements: str) -> list[tuple[Severity, str]]:
    folder = tmp_path / "keys"
    folder.mkdir(exist_ok=True)
    (folder / "001_keys.sql").write_text(KEYS)
    (folder / "002_drop.sql").write_text(statements)
    report = commands.lint(Settings(project_root=tmp_path, select=("DBS212",)), [folder])
    return [(f.severity, f.message) for f in report.findings]


def test_dropping_a_referenced_key_with_cascade_names_the_foreign_keys_it_drops(
        conninfo: str, tmp_path: Path) -> None:
    """fides: `DROP CONSTRAINT ..._pkey CASCADE` drops the other tables' foreign keys to it
    (PostgreSQL: "drop cascades to constraint kids_parent_fkey on table kids")."""
    assert _foreign_keys(conninfo, "SELECT 1") == {"kids_parent_fkey", "kids_code_fkey"}
    drop = "ALTER TABLE parents DROP CONSTRAINT parents_pkey CASCADE"
    assert _foreign_keys(conninfo, drop) == {"kids_code_fkey"}
    [(severity, message)] = _key_findings(tmp_path, drop + ";\n")
    assert severity is Severity.ERROR and "`kids.kids_parent_fkey`" in message and \
        "kids_code_fkey" not in message
    drop = "ALTER TABLE parents DROP CONSTRAINT parents_code_key CASCADE"
    assert _foreign_keys(conninfo, drop) == {"kids_parent_fkey"}
    [(severity, message)] = _key_findings(tmp_path, drop + ";\n")
    assert "`kids.kids_code_fkey`" in message and "kids_parent_fkey" not in message


def test_a_key_nothing_references_or_whose_keys_come_back_is_not_flagged(
        conninfo: str, tmp_path: Path) -> None:
    drop = "ALTER TABLE parents DROP CONSTRAINT parents_other_key CASCADE"
    assert _foreign_keys(conninfo, drop) == {"kids_parent_fkey", "kids_code_fkey"}
    assert _key_findings(tmp_path, drop + ";\n") == []
    again = ("ALTER TABLE parents DROP CONSTRAINT parents_pkey CASCADE;\n"
             "ALTER TABLE parents ADD CONSTRAINT parents_pkey PRIMARY KEY (id, code);\n"
             "ALTER TABLE parents ADD CONSTRAINT parents_id_key UNIQUE (id);\n"
             "ALTER TABLE kids ADD CONSTRAINT kids_parent_fkey FOREIGN KEY (parent_id) "
             "REFERENCES parents (id);\n")
    assert _foreign_keys(conninfo, again) == {"kids_parent_fkey", "kids_code_fkey"}
    assert _key_findings(tmp_path, again) == []


def test_dropping_a_referenced_key_is_named_with_database_url(
        conninfo: str, tmp_path: Path, database_url: str) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(KEYS)
    path = tmp_path / "drop.sql"
    path.write_text("ALTER TABLE parents DROP CONSTRAINT parents_pkey CASCADE;\n")
    settings = Settings(project_root=tmp_path, select=("DBS212",), database_url=database_url)
    [finding] = commands.lint(settings, [path]).findings
    assert "`kids.kids_parent_fkey`" in finding.message


NODES = """
CREATE TABLE nodes (id int PRIMARY KEY, parent_id int CONSTRAINT nodes_parent_fkey
                    REFERENCES nodes);
CREATE TABLE leaves (id int PRIMARY KEY, node_id int CONSTRAINT leaves_node_fkey
                     REFERENCES nodes (id));
"""


def _nodes_foreign_keys(conninfo: str, statements: str) -> set[str]:
    """The foreign keys pg_constraint shows after NODES and `statements` (rolled back)."""
    with psycopg.connect(conninfo) as conn:
        conn.execute(NODES)
        conn.execute(statements)
        names = {row[0] for row in conn.execute(
            "SELECT conname FROM pg_constraint WHERE contype = 'f'")}
        conn.rollback()
    return names


@pytest.mark.parametrize("with_database", [False, True])
def test_a_tables_own_foreign_key_to_itself_is_named_when_its_key_is_dropped(
        conninfo: str, tmp_path: Path, database_url: str, with_database: bool) -> None:
    """`parent_id REFERENCES nodes` rests on `nodes_pkey` too: PostgreSQL's notice says
    "drop cascades to constraint nodes_parent_fkey on table nodes", which DBS212 left out
    (it named only the other tables' keys)."""
    drop = "ALTER TABLE nodes DROP CONSTRAINT nodes_pkey CASCADE;\n"
    assert _nodes_foreign_keys(conninfo, "SELECT 1") == {"nodes_parent_fkey",
                                                          "leaves_node_fkey"}
    assert _nodes_foreign_keys(conninfo, drop) == set()
    if with_database:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(NODES)
        path = tmp_path / "drop.sql"
        path.write_text(drop)
        settings = Settings(project_root=tmp_path, select=("DBS212",),
                            database_url=database_url)
        [finding] = commands.lint(settings, [path]).findings
    else:
        folder = tmp_path / "nodes"
        folder.mkdir()
        (folder / "001_nodes.sql").write_text(NODES)
        (folder / "002_drop.sql").write_text(drop)
        settings = Settings(project_root=tmp_path, select=("DBS212",))
        [finding] = commands.lint(settings, [folder]).findings
    assert "the foreign key `leaves.leaves_node_fkey` of another table and its own foreign " \
        "key `nodes.nodes_parent_fkey` to itself" in finding.message, finding.message


def test_a_foreign_key_to_itself_dropped_by_cascade_is_not_named_again(
        conninfo: str, tmp_path: Path) -> None:
    """Once CASCADE dropped `nodes_parent_fkey`, the key added again has nothing resting on
    it: dropping it with CASCADE drops no other constraint (pg_constraint)."""
    again = ("ALTER TABLE nodes DROP CONSTRAINT nodes_pkey CASCADE;\n"
             "ALTER TABLE nodes ADD CONSTRAINT nodes_pkey PRIMARY KEY (id);\n")
    drop = "ALTER TABLE nodes DROP CONSTRAINT nodes_pkey CASCADE;\n"
    with psycopg.connect(conninfo) as conn:
        conn.execute(NODES + again)
        said: list[str] = []
        conn.add_notice_handler(lambda d: said.append(d.message_primary))
        conn.execute(drop)
        assert said == []
        conn.rollback()
    folder = tmp_path / "nodes"
    folder.mkdir()
    (folder / "001_nodes.sql").write_text(NODES)
    (folder / "002_again.sql").write_text(again)
    (folder / "003_drop.sql").write_text(drop)
    findings = commands.lint(Settings(project_root=tmp_path, select=("DBS212",)),
                             [folder]).findings
    assert [f.location.path.rpartition("/")[2] for f in findings
            if f.location is not None] == ["002_again.sql"], findings


# Unique indexes and keys holding a column among their INCLUDE columns, with the foreign
# keys resting on them; `bands`' older twin index on (id) is the one its key rests on.
INCLUDED = """
CREATE TABLE plans (id int, label text, note text);
CREATE UNIQUE INDEX plans_id_label ON plans (id) INCLUDE (label);
CREATE TABLE subscriptions (plan_id int CONSTRAINT subscriptions_plan_fkey
                            REFERENCES plans (id));
CREATE TABLE coupons (code text, owner text,
                      CONSTRAINT coupons_code_key UNIQUE (code) INCLUDE (owner));
CREATE TABLE redemptions (coupon text CONSTRAINT redemptions_coupon_fkey
                          REFERENCES coupons (code));
CREATE TABLE tiers (id int, rank int, CONSTRAINT tiers_pkey PRIMARY KEY (id) INCLUDE (rank),
                    parent int CONSTRAINT tiers_parent_fkey REFERENCES tiers);
CREATE TABLE bands (id int, extra int);
CREATE UNIQUE INDEX bands_id ON bands (id);
CREATE UNIQUE INDEX bands_id_extra ON bands (id) INCLUDE (extra);
CREATE TABLE gigs (band int CONSTRAINT gigs_band_fkey REFERENCES bands (id));
"""


@pytest.mark.parametrize(("setup", "drop", "named"), [
    (KEYS, "ALTER TABLE parents DROP COLUMN code CASCADE", ["kids.kids_code_fkey"]),
    (KEYS, "ALTER TABLE parents DROP COLUMN id CASCADE", ["kids.kids_parent_fkey"]),
    (NODES, "ALTER TABLE nodes DROP COLUMN id CASCADE",
     ["leaves.leaves_node_fkey", "nodes.nodes_parent_fkey"]),
    (KEYS, "ALTER TABLE parents DROP COLUMN other CASCADE", []),
    (NODES, "ALTER TABLE nodes DROP COLUMN parent_id CASCADE", []),
    (INCLUDED, "ALTER TABLE plans DROP COLUMN label CASCADE",
     ["subscriptions.subscriptions_plan_fkey"]),
    (INCLUDED, "ALTER TABLE coupons DROP COLUMN owner CASCADE",
     ["redemptions.redemptions_coupon_fkey"]),
    (INCLUDED, "ALTER TABLE tiers DROP COLUMN rank CASCADE", ["tiers.tiers_parent_fkey"]),
    (INCLUDED, "ALTER TABLE bands DROP COLUMN extra CASCADE", []),
    (INCLUDED, "ALTER TABLE plans DROP COLUMN note CASCADE", []),
], ids=["unique-column", "primary-key-column", "own-key", "unreferenced", "own-fk-column",
        "include-of-unique-index", "include-of-unique-key", "include-of-primary-key",
        "include-of-a-twin-index", "not-included"])
@pytest.mark.parametrize("with_database", [False, True])
def test_a_referenced_column_dropped_with_cascade_names_the_foreign_keys_it_drops(
        conninfo: str, tmp_path: Path, database_url: str, with_database: bool, setup: str,
        drop: str, named: list[str]) -> None:
    """`DROP COLUMN code CASCADE` of a column other tables' foreign keys reference drops
    them (PostgreSQL 18: "drop cascades to constraint kids_code_fkey on table kids"; without
    CASCADE it refuses, 2BP01); a key on the dropped column itself goes with its column,
    CASCADE or not, and is no news. A column a unique index or key holds among its INCLUDE
    columns takes the index, and with CASCADE the keys resting on it ("constraint
    subscriptions_plan_fkey on table subscriptions depends on index plans_id_label"): DBS212
    said nothing of them."""
    cascaded: list[str] = []
    with psycopg.connect(conninfo) as conn:
        conn.execute(setup)
        with pytest.raises(psycopg.errors.DependentObjectsStillExist) if named else \
                contextlib.nullcontext(), conn.transaction(force_rollback=True):
            conn.execute(drop.removesuffix(" CASCADE"))
        # "drop cascades to constraint <name> on table <table>"
        conn.add_notice_handler(lambda d: cascaded.extend(
            f"{words[7]}.{words[4]}" for text in (d.message_primary, d.message_detail)
            if text for words in map(str.split, text.splitlines())
            if words[:4] == ["drop", "cascades", "to", "constraint"]))
        conn.execute(drop)
        conn.rollback()
    assert sorted(cascaded) == named, cascaded
    if with_database:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(setup)
        path = tmp_path / "drop.sql"
        path.write_text(drop + ";\n")
        settings = Settings(project_root=tmp_path, select=("DBS212",),
                            database_url=database_url)
        findings = commands.lint(settings, [path]).findings
    else:
        folder = tmp_path / "drops"
        folder.mkdir()
        (folder / "001_setup.sql").write_text(setup)
        (folder / "002_drop.sql").write_text(drop + ";\n")
        findings = commands.lint(Settings(project_root=tmp_path, select=("DBS212",)),
                                 [folder]).findings
    if not named:
        assert findings == ()
        return
    [finding] = findings
    assert all(f"`{key}`" in finding.message for key in named), finding.message
    assert finding.message.count("fkey") == len(named), finding.message


SERIALS = """
CREATE TABLE data_categories (id serial PRIMARY KEY, name text);
CREATE SEQUENCE shared_numbers;
CREATE TABLE invoices (id int PRIMARY KEY, number bigint NOT NULL
                       DEFAULT nextval('public.shared_numbers'::regclass));
CREATE TABLE credits (id int PRIMARY KEY, number bigint);
ALTER TABLE credits ALTER COLUMN number SET DEFAULT nextval('shared_numbers');
"""


def _sequence_cascades(conninfo: str, drop: str) -> list[str]:
    said: list[str] = []
    with psycopg.connect(conninfo) as conn:
        conn.execute(SERIALS)
        conn.add_notice_handler(lambda d: said.extend(
            line for text in (d.message_primary, d.message_detail) if text
            for line in text.splitlines() if line.startswith("drop cascades to default")))
        conn.execute(drop)
        conn.rollback()
    return said


@pytest.mark.parametrize("with_database", [False, True])
def test_the_defaults_a_dropped_sequence_takes_are_named(
        conninfo: str, tmp_path: Path, database_url: str, with_database: bool) -> None:
    """fides' 155fd8e51d9d: `DROP SEQUENCE data_categories_id_seq CASCADE` drops the
    DEFAULT of the serial `data_categories.id`, which the history made."""
    assert _sequence_cascades(conninfo, "DROP SEQUENCE data_categories_id_seq CASCADE") == [
        "drop cascades to default value for column id of table data_categories"]
    assert sorted(_sequence_cascades(conninfo, "DROP SEQUENCE shared_numbers CASCADE")) == [
        "drop cascades to default value for column number of table credits",
        "drop cascades to default value for column number of table invoices"]
    drops = ("DROP SEQUENCE data_categories_id_seq CASCADE;\n"
             "DROP SEQUENCE shared_numbers CASCADE;\n")
    if with_database:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(SERIALS)
        path = tmp_path / "drop.sql"
        path.write_text(drops)
        settings = Settings(project_root=tmp_path, select=("DBS212",),
                            database_url=database_url)
        messages = [f.message for f in commands.lint(settings, [path]).findings]
    else:
        folder = tmp_path / "serials"
        folder.mkdir()
        (folder / "001_serials.sql").write_text(SERIALS)
        (folder / "002_drop.sql").write_text(drops)
        settings = Settings(project_root=tmp_path, select=("DBS212",))
        messages = [f.message for f in commands.lint(settings, [folder]).findings]
    [serial, shared] = messages
    assert "the DEFAULT of `data_categories.id`" in serial
    assert "`invoices.number`" in shared and "`credits.number`" in shared and \
        "data_categories" not in shared
