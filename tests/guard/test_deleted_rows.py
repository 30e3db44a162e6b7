"""The rows a `DELETE` of a pending revision would delete, asked of the foreign keys
referencing them (`guard.deleted_rows`, DBS615) on real PostgreSQL: each verdict held against
what PostgreSQL does when the DELETE runs, in a transaction rolled back (task 559: `DELETE
FROM customers WHERE ...` of rows the orders reference was a silent pass, and the upgrade
failed on the rows, 23503)."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from dbsafe.guard.row_refusals import tell
from tests.helpers import postgresql_refuses, row_verdicts

pytestmark = pytest.mark.db

SCHEMA = """
CREATE TABLE customers (id int PRIMARY KEY, name text);
INSERT INTO customers VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd');
CREATE TABLE orders (id int PRIMARY KEY, customer int REFERENCES customers);
INSERT INTO orders VALUES (10, 1), (11, 1), (12, NULL);
CREATE TABLE invoices (id int, customer int REFERENCES customers ON DELETE RESTRICT);
INSERT INTO invoices VALUES (20, 2);
-- a tree: a row referenced by one the same DELETE deletes passes
CREATE TABLE categories (id int PRIMARY KEY, parent int REFERENCES categories);
INSERT INTO categories VALUES (1, NULL), (2, 1), (3, 2);
-- ON DELETE CASCADE into carts, whose items reference them (NO ACTION); SET NULL
CREATE TABLE shops (id int PRIMARY KEY);
INSERT INTO shops VALUES (1), (2), (3), (4);
CREATE TABLE carts (id int PRIMARY KEY, shop int REFERENCES shops ON DELETE CASCADE);
INSERT INTO carts VALUES (30, 1), (31, 1), (32, 2), (33, 3);
CREATE TABLE cart_items (id int, cart int REFERENCES carts);
INSERT INTO cart_items VALUES (40, 31);
CREATE TABLE ledger (id int, shop int REFERENCES shops ON DELETE SET NULL);
INSERT INTO ledger VALUES (50, 2);
CREATE TABLE stamps (id int, shop int NOT NULL REFERENCES shops ON DELETE SET NULL);
INSERT INTO stamps VALUES (60, 3);
CREATE TABLE coupons (id int, shop int DEFAULT 0 REFERENCES shops ON DELETE SET DEFAULT);
INSERT INTO coupons VALUES (70, 4);
-- checked at COMMIT
CREATE TABLE regions (id int PRIMARY KEY);
INSERT INTO regions VALUES (1);
CREATE TABLE offices (id int, region int REFERENCES regions DEFERRABLE INITIALLY DEFERRED);
INSERT INTO offices VALUES (80, 1);
-- a BEFORE DELETE trigger: it may delete the referencing rows first, or keep the row
CREATE TABLE vendors (id int PRIMARY KEY);
INSERT INTO vendors VALUES (1);
CREATE TABLE supplies (id int, vendor int REFERENCES vendors);
INSERT INTO supplies VALUES (90, 1);
CREATE FUNCTION unlink() RETURNS trigger LANGUAGE plpgsql AS
  $$BEGIN DELETE FROM supplies WHERE vendor = OLD.id; RETURN OLD; END$$;
CREATE TRIGGER unlink BEFORE DELETE ON vendors FOR EACH ROW EXECUTE FUNCTION unlink();
-- an AFTER trigger sorting before the foreign key's (RI_ConstraintTrigger_...) fires first
CREATE TABLE brands (id int PRIMARY KEY);
INSERT INTO brands VALUES (1);
CREATE TABLE products (id int, brand int REFERENCES brands);
INSERT INTO products VALUES (95, 1);
CREATE FUNCTION orphan() RETURNS trigger LANGUAGE plpgsql AS
  $$BEGIN DELETE FROM products WHERE brand = OLD.id; RETURN NULL; END$$;
CREATE TRIGGER "Orphan" AFTER DELETE ON brands FOR EACH ROW EXECUTE FUNCTION orphan();
-- task 572: the referencing rows earlier DELETEs of the plan leave (a NULL genre stays)
CREATE TABLE authors (id int PRIMARY KEY);
INSERT INTO authors VALUES (1), (2);
CREATE TABLE books (id int, author int REFERENCES authors, genre text);
INSERT INTO books VALUES (1, 1, 'poem'), (2, 1, NULL), (3, 2, 'novel');
-- a BEFORE DELETE trigger keeping the referencing rows the plan deletes
CREATE TABLE stalls (id int PRIMARY KEY);
INSERT INTO stalls VALUES (1);
CREATE TABLE rents (id int, stall int REFERENCES stalls);
INSERT INTO rents VALUES (1, 1);
CREATE FUNCTION kept() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$;
CREATE TRIGGER kept BEFORE DELETE ON rents FOR EACH ROW EXECUTE FUNCTION kept();
-- a cascade deleting referencing rows besides the plan's DELETE of them
CREATE TABLE depots (id int PRIMARY KEY);
INSERT INTO depots VALUES (1);
CREATE TABLE pallets (id int PRIMARY KEY);
INSERT INTO pallets VALUES (9);
CREATE TABLE crates (id int, depot int REFERENCES depots,
                     pallet int REFERENCES pallets ON DELETE CASCADE);
INSERT INTO crates VALUES (1, 1, NULL), (2, 1, 9);
"""


@pytest.mark.parametrize(("statement", "refused"), [
    ("DELETE FROM customers WHERE id = 1",
     ("orders (orders_customer_fkey)", "references rows it deletes (ON DELETE NO ACTION) in 2 "
      "row(s)")),
    ("DELETE FROM customers WHERE name = 'b'",
     ("invoices (invoices_customer_fkey)", "references rows it deletes (ON DELETE RESTRICT) in 1 "
      "row(s)")),
    ("DELETE FROM customers c USING orders o WHERE o.customer = c.id",
     ("orders (orders_customer_fkey)", "references rows it deletes (ON DELETE NO ACTION) in 2 "
      "row(s)")),
    ("DELETE FROM categories WHERE id = 2",
     ("categories (categories_parent_fkey)", "references rows it deletes (ON DELETE NO ACTION) in 1 "
      "row(s)")),
    # the cascade's rows deleted, which the items reference
    ("DELETE FROM shops WHERE id = 1",
     ("cart_items (cart_items_cart_fkey)", "references rows it deletes (ON DELETE NO ACTION) in 1 "
      "row(s)")),
    ("DELETE FROM shops WHERE id = 3",
     ("stamps (stamps_shop_fkey)", "holds rows ON DELETE SET NULL sets to NULL in its NOT NULL "
      "column shop in 1 row(s)")),
    # what passes: no row referencing, every one referencing deleted too, a cascade, NULLs
    ("DELETE FROM customers WHERE id > 2", None),
    ("DELETE FROM customers WHERE id = 1 AND false", None),
    ("DELETE FROM categories WHERE id >= 2", None),
    ("DELETE FROM shops WHERE id = 2", None),
])
def test_rows_a_delete_deletes_are_asked_of_the_keys_referencing_them(
        database: psycopg.Connection, statement: str, refused: tuple[str, str] | None
        ) -> None:
    verdicts = row_verdicts(database, statement)

    said = [(v.subject, v.detail) for v in verdicts if v.outcome == "refused"]
    assert said[:1] == ([refused] if refused else []), verdicts
    assert [v for v in verdicts if v.outcome in ("cannot tell", "not checked")] == []
    assert verdicts  # (asked: no silent pass)
    assert postgresql_refuses(database, statement) is bool(refused)


def test_what_a_cascade_and_set_null_do_is_said_in_a_line(database: psycopg.Connection
                                                          ) -> None:
    verdicts = row_verdicts(database, "DELETE FROM shops WHERE id = 2")

    told, _ = tell(verdicts, {}, Path("."), allowed=False)
    assert [t.line for t in told if t.line] == [
        "rows: 0005: DELETE FROM shops WHERE id = 2: passes (carts (carts_shop_fkey): deletes "
        "1 row(s) of carts (ON DELETE CASCADE))",
        "rows: 0005: DELETE FROM shops WHERE id = 2: passes (ledger (ledger_shop_fkey): sets "
        "1 row(s) of ledger to NULL (ON DELETE SET NULL))"]


def test_the_rows_a_refusal_names_are_found_by_its_query(database: psycopg.Connection
                                                         ) -> None:
    (verdict,) = [v for v in row_verdicts(database, "DELETE FROM customers WHERE id = 1")
                  if v.outcome == "refused"]

    assert database.execute(verdict.find).fetchall() == [(10, 1), (11, 1)]


@pytest.mark.parametrize(("statements", "why"), [
    (["DELETE FROM customers WHERE id = (random() * 4)::int"],
     "its WHERE calls random(), a volatile function"),
    (["DELETE FROM vendors"], "trigger unlink of vendors runs BEFORE DELETE: it may change "
     "the rows deleted"),
    (["DELETE FROM regions"], "foreign key offices_region_fkey is DEFERRABLE"),
    (["DELETE FROM brands"], "trigger Orphan of brands runs AFTER DELETE FOR EACH ROW before "
     "the foreign keys' checks"),
    (["DELETE FROM shops WHERE id = 4"], "ON DELETE SET DEFAULT"),
    # the rows referencing it, or its keys, are not today's
    (["UPDATE orders SET customer = 2 WHERE customer = 1", "DELETE FROM customers WHERE id = 1"],
     "0005 runs UPDATE on orders before it: the rows referencing customers are not today's"),
    (["ALTER TABLE orders DROP CONSTRAINT orders_customer_fkey",
      "DELETE FROM customers WHERE id = 1"],
     "0005 runs ALTER TABLE on orders before it: its foreign keys referencing customers"),
    (["CREATE TABLE refunds (id int, customer int REFERENCES customers)",
      "INSERT INTO refunds VALUES (1, 3)", "DELETE FROM customers WHERE id = 3"],
     "0005 adds a foreign key of refunds referencing customers before it"),
    (["ALTER TABLE customers ADD COLUMN note text", "DELETE FROM customers WHERE id = 3"],
     "0005 runs ALTER TABLE on customers before it: the foreign keys referencing customers "
     "are not today's"),
    (["DELETE FROM customers WHERE id = 4", "DELETE FROM customers WHERE id = 1"],
     "0005 runs DELETE on customers before it"),
])
def test_a_delete_whose_rows_cannot_be_told_is_said_so(
        database: psycopg.Connection, statements: list[str], why: str) -> None:
    verdicts = row_verdicts(database, *statements)

    assert any(v.outcome == "cannot tell" and why in v.detail
               for v in verdicts if v.sql == statements[-1]), verdicts
    assert not [v for v in verdicts if v.outcome == "refused"]


@pytest.mark.parametrize("statements", [
    ["DELETE FROM orders WHERE id = 10"],  # (no key references it)
    ["DELETE FROM cart_items"],
    ["ALTER TABLE orders ADD COLUMN note text", "DELETE FROM orders WHERE id = 10"],
    ["CREATE TABLE scratch (id int)", "INSERT INTO scratch VALUES (1)",
     "DELETE FROM scratch"],
])
def test_a_delete_from_a_table_no_key_references_asks_nothing(
        database: psycopg.Connection, statements: list[str]) -> None:
    assert [v for v in row_verdicts(database, *statements) if v.sql == statements[-1]] == []


def test_an_after_trigger_firing_before_the_key_s_check_is_said_so(
        database: psycopg.Connection) -> None:
    # "Orphan" sorts before RI_ConstraintTrigger_...: it deletes the products first, and
    # PostgreSQL deletes the brand
    (verdict,) = row_verdicts(database, "DELETE FROM brands")

    assert (verdict.outcome, verdict.subject) == ("cannot tell", "brands")
    assert not postgresql_refuses(database, "DELETE FROM brands")


@pytest.mark.parametrize(("statements", "why"), [
    # a key added to it: said what is not today's (its foreign keys), once (it said ": its
    # rows are not today's" after both, task 578)
    (["CREATE TABLE refunds (id int, customer int REFERENCES customers)",
      "INSERT INTO refunds VALUES (1, 3)", "DELETE FROM customers WHERE id = 3"],
     "0005 adds a foreign key of refunds referencing customers before it: the foreign keys "
     "referencing customers are not today's"),
    (["ALTER TABLE customers ADD COLUMN note text", "DELETE FROM customers WHERE id = 3"],
     "0005 runs ALTER TABLE on customers before it: the foreign keys referencing customers "
     "are not today's"),
])
def test_a_delete_s_cannot_tell_says_what_is_not_today_s_once(
        database: psycopg.Connection, statements: list[str], why: str) -> None:
    assert [v.detail for v in row_verdicts(database, *statements)
            if v.sql == statements[-1]] == [why]


# Task 572: `DELETE FROM child WHERE ...; DELETE FROM parent WHERE ...`, the usual shape, was
# `cannot tell` (the plan wrote to the referencing table): where only DELETEs whose WHERE
# today's rows answer wrote it, the rows left are today's rows their WHEREs are not true of.
@pytest.mark.parametrize(("statements", "refused"), [
    (["DELETE FROM orders WHERE customer = 1", "DELETE FROM customers WHERE id = 1"], None),
    (["DELETE FROM orders WHERE id = 10", "DELETE FROM orders o WHERE o.id = 11",
      "DELETE FROM customers WHERE id = 1"], None),
    (["DELETE FROM orders WHERE id = 10", "DELETE FROM customers WHERE id = 1"],
     ("orders (orders_customer_fkey)", "references rows it deletes (ON DELETE NO ACTION) in 1 "
      "row(s)")),
    # (NULL-safe: a row whose genre is NULL is not deleted, and still references author 1)
    (["DELETE FROM books WHERE genre = 'poem'", "DELETE FROM authors WHERE id = 1"],
     ("books (books_author_fkey)", "references rows it deletes (ON DELETE NO ACTION) in 1 "
      "row(s)")),
    (["DELETE FROM books WHERE genre = 'poem' OR genre IS NULL",
      "DELETE FROM authors WHERE id = 1"], None),
    (["DELETE FROM books b USING authors a WHERE b.author = a.id AND a.id = 2",
      "DELETE FROM authors WHERE id = 2"], None),
    (["DELETE FROM books WHERE author IN (SELECT id FROM authors WHERE id > 1)",
      "DELETE FROM authors WHERE id = 2"], None),
    # (the cascade's rows: the items of cart 31 deleted first)
    (["DELETE FROM cart_items WHERE cart = 31", "DELETE FROM shops WHERE id = 1"], None),
])
def test_the_referencing_rows_earlier_deletes_leave_are_asked(
        database: psycopg.Connection, statements: list[str],
        refused: tuple[str, str] | None) -> None:
    verdicts = [v for v in row_verdicts(database, *statements) if v.sql == statements[-1]]

    said = [(v.subject, v.detail) for v in verdicts if v.outcome == "refused"]
    assert said == ([refused] if refused else []), verdicts
    assert [v for v in verdicts if v.outcome in ("cannot tell", "not checked")] == []
    assert verdicts
    assert postgresql_refuses(database, *statements) is bool(refused)


@pytest.mark.parametrize(("statements", "why"), [
    (["DELETE FROM orders WHERE id = (random() * 12)::int", "DELETE FROM customers WHERE id = 1"],
     "calls random(), a volatile function"),
    # (a subquery reading the rows an earlier DELETE left)
    (["DELETE FROM orders WHERE id = 10",
      "DELETE FROM orders WHERE id IN (SELECT max(id) FROM orders)",
      "DELETE FROM customers WHERE id = 1"],
     "0005 runs DELETE on orders before it: the rows referencing customers are not today's"),
    (["DELETE FROM orders WHERE id = 10", "INSERT INTO orders VALUES (13, 1)",
      "DELETE FROM customers WHERE id = 1"], "0005 runs DELETE on orders before it"),
    (["DELETE FROM rents", "DELETE FROM stalls"], "trigger kept of rents runs BEFORE DELETE"),
    (["DELETE FROM crates WHERE depot = 1 AND pallet IS NULL", "DELETE FROM pallets",
      "DELETE FROM depots"], "through its foreign key crates_pallet_fkey (ON DELETE CASCADE)"),
])
def test_referencing_rows_earlier_deletes_leave_untold_are_said_so(
        database: psycopg.Connection, statements: list[str], why: str) -> None:
    verdicts = [v for v in row_verdicts(database, *statements) if v.sql == statements[-1]]

    assert any(v.outcome == "cannot tell" and why in v.detail for v in verdicts), verdicts
    assert not [v for v in verdicts if v.outcome == "refused"]
