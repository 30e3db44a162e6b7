"""django-pgtrigger's trigger bodies are PL/pgSQL, not statements.

BookWyrm (bookwyrm-social/bookwyrm db40a61c9, `bookwyrm/models/book.py`, `author.py`)
declares its search-vector triggers in its models' `Meta.triggers` as
`pgtrigger.Trigger(..., func=format_trigger('... new.title ... INTO new.search_vector;
RETURN new;'))`: pgtrigger makes `func` the body of the trigger's function, where `NEW` is
the row. Read as statements they were six false DBS302 (`new` is not a table in scope) and
two unparsable ones. Real PostgreSQL: the body runs in the function pgtrigger writes.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_module

_DDL = """
CREATE TABLE bookwyrm_book (id int PRIMARY KEY, title text, search_vector tsvector);
CREATE TABLE users (id int, name text);
"""

_BODY = """
SELECT setweight(to_tsvector('simple', COALESCE(new.title, '')), 'A')
    INTO new.search_vector;
RETURN new;
"""

_MODELS = f'''\
import pgtrigger
from django.db import connection, models
from pgtrigger import Trigger


def format_trigger(content):
    return content


class Book(models.Model):
    class Meta:
        triggers = [
            pgtrigger.Trigger(
                name="update_search_vector_on_book_edit",
                when=pgtrigger.Before,
                operation=pgtrigger.Insert | pgtrigger.UpdateOf("title"),
                func=format_trigger("""{_BODY}"""),
            ),
            Trigger(
                name="reset_search_vector",
                when=pgtrigger.After,
                operation=pgtrigger.Update,
                func=pgtrigger.Func("""
                    UPDATE bookwyrm_book SET search_vector = '' WHERE id = new.id;
                    RETURN new;
                """),
            ),
        ]


def nicknames():
    with connection.cursor() as cursor:
        cursor.execute("SELECT nickname FROM users")
    return dict(func="SELECT nickname FROM users WHERE id = 1")
'''


@pytest.mark.db
def test_a_pgtrigger_func_is_a_plpgsql_body(database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _DDL, "models.py", _MODELS)
    assert [(f.code, f.location.line, f.subject) for f in report.findings if f.location] == [
        ("DBS302", 37, "public.users.nickname"), ("DBS302", 38, "public.users.nickname")]
    assert report.skipped == (), report.skipped
    with psycopg.connect(database_url, autocommit=True) as conn:
        # What pgtrigger installs: the body in a PL/pgSQL trigger function.
        conn.execute(f"CREATE FUNCTION book_vector() RETURNS trigger AS $$ BEGIN {_BODY} "
                     "END; $$ LANGUAGE plpgsql")
        conn.execute("CREATE TRIGGER book_vector BEFORE INSERT ON bookwyrm_book "
                     "FOR EACH ROW EXECUTE FUNCTION book_vector()")
        conn.execute("INSERT INTO bookwyrm_book (id, title) VALUES (1, 'Dune')")
        row = conn.execute("SELECT search_vector::text FROM bookwyrm_book").fetchone()
        assert row == ("'dune':1A",)
