"""Password masking for URLs and driver messages (no database needed)."""

from __future__ import annotations

import pytest

from dbsafe.pg.urls import redact_text, redact_url, to_libpq_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://app:s3cret@db:5432/shop", "postgresql://app:***@db:5432/shop"),
        ("postgres://app:s3cret@h1:5432,h2:5433/shop", "postgres://app:***@h1:5432,h2:5433/shop"),
        ("postgresql://app:p/ss?w@db/shop", "postgresql://app:***@db/shop"),
        (
            "postgresql:///shop?host=/tmp&password=s3cret&port=1",
            "postgresql:///shop?host=/tmp&password=***&port=1",
        ),
        ("host=db password = 's e\\'c' dbname=shop", "host=db password = *** dbname=shop"),
        ("postgresql://app@db/shop", "postgresql://app@db/shop"),
        ("postgresql://db/shop", "postgresql://db/shop"),
        # The other secrets libpq takes: the client key's passphrase, OAuth's client secret.
        ("postgresql://app@db/shop?sslkey=/k&sslpassword=ph4se",
         "postgresql://app@db/shop?sslkey=/k&sslpassword=***"),
        ("host=db oauth_client_secret=xyz123 dbname=shop",
         "host=db oauth_client_secret=*** dbname=shop"),
        # libpq reads an unquoted value to the next space, `&` and `\ ` included
        ("host=db password=ab&cd dbname=shop", "host=db password=*** dbname=shop"),
        ("host=db password=a\\ b dbname=shop", "host=db password=*** dbname=shop"),
        # libpq decodes a query parameter's name as well as its value
        ("postgresql://db/shop?%70assword=s3cret&sslmode=require",
         "postgresql://db/shop?%70assword=***&sslmode=require"),
    ],
)
def test_redact_url_masks_every_password_form(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_redact_text_masks_encoded_and_decoded_password() -> None:
    url = "postgresql://app:p%40ss%2Fword@db/shop"
    text = "failed for p@ss/word and p%40ss%2Fword"
    assert redact_text(text, url) == "failed for *** and ***"


def test_a_password_under_an_encoded_name_is_masked_in_a_message() -> None:
    url = "postgresql://db/shop?%70assword=s3cret"
    assert "s3cret" not in redact_text("password authentication failed (s3cret)", url)


def test_a_key_passphrase_in_a_message_is_masked() -> None:
    url = "postgresql://db/shop?sslpassword=ph4se"
    assert redact_text(f"bad key for {url}. Stop", url) == \
        "bad key for postgresql://db/shop?sslpassword=***. Stop"


def test_masking_a_query_password_keeps_the_separator_after_it() -> None:
    url = "postgresql://db/shop?password=s3cret"
    message = f"cannot connect to {url}: connection refused"
    assert redact_text(message, url) == \
        "cannot connect to postgresql://db/shop?password=***: connection refused"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql+psycopg://app:pw@db:5432/shop", "postgresql://app:pw@db:5432/shop"),
        ("postgresql+psycopg2://app@db/shop?sslmode=require", "postgresql://app@db/shop?sslmode=require"),
        ("postgresql+asyncpg://app@db/shop?ssl=true", "postgresql://app@db/shop?sslmode=require"),
        ("postgres+psycopg://db/shop", "postgresql://db/shop"),
        ("postgresql://app@db/shop", "postgresql://app@db/shop"),
        ("host=db dbname=shop", "host=db dbname=shop"),
    ],
)
def test_sqlalchemy_urls_become_libpq_urls(url: str, expected: str) -> None:
    assert to_libpq_url(url) == expected
