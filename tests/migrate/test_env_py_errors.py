"""How an exception env.py raises reads in dbsafe's one-line reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbsafe.core import SourceError
from dbsafe.migrate import render_revisions
from dbsafe.migrate._child import _failure
from tests.migrate.projects import write_project

# pydantic 2's ValidationError message, as pydantic-settings raises it at import of a
# settings module (fractal-server's env.py without JWT_SECRET_KEY), quoting what it refused.
PYDANTIC_MESSAGE = (
    "2 validation errors for Settings\n"
    "JWT_SECRET_KEY\n"
    "  Field required [type=missing, input_value={'DB_URL': 'postgresql://app:hunter2@db/app'},"
    " input_type=dict]\n"
    "    For further information visit https://errors.pydantic.dev/2.13/v/missing\n"
    "API_PORT\n"
    "  Input should be a valid integer [type=int_parsing, input_value='s3cr3t-t0ken',"
    " input_type=str]\n"
    "    For further information visit https://errors.pydantic.dev/2.13/v/int_parsing"
)


class ValidationError(ValueError):
    """Stands for pydantic's: the suite does not depend on pydantic."""


class ProgrammingError(Exception):
    """A driver's error: its later lines are the statement and a caret."""


ProgrammingError.__module__ = "psycopg2.errors"


def _raised(exc: BaseException) -> BaseException:
    try:
        raise exc
    except BaseException as caught:  # noqa: BLE001 - the test hands it to _failure
        return caught


@pytest.mark.parametrize(("exc", "message"), [
    (ValidationError(PYDANTIC_MESSAGE),
     "2 validation errors for Settings: JWT_SECRET_KEY: Field required; "
     "API_PORT: Input should be a valid integer"),
    # An environment value named as a secret is masked wherever it appears, and a URL's
    # password too.
    (RuntimeError("cannot reach the token service\n  with token s3cr3t-t0ken at "
                  "postgresql://app:hunter2@db/app"),
     "cannot reach the token service: with token *** at postgresql://app:***@db/app"),
    (ValueError("Settings are incomplete.\nSet SENTRY_DSN or unset SENTRY_ON."),
     "Settings are incomplete. Set SENTRY_DSN or unset SENTRY_ON."),
    # Long: the lines that fit, then how many did not.
    (ValueError("30 problems\n" + "\n".join(f"FIELD_{i}\n  is missing" for i in range(30))),
     "30 problems: " + "; ".join(f"FIELD_{i}: is missing" for i in range(13))
     + " (and 17 more)"),
    (ProgrammingError('syntax error at or near "FORM"\nLINE 1: SELECT 1 FORM t\n'
                      "                 ^"),
     'syntax error at or near "FORM"'),
])
def test_a_multi_line_message_reads_on_one_line_without_secrets(
        exc: BaseException, message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_TOKEN", "s3cr3t-t0ken")
    failure = _failure(_raised(exc), {})
    assert failure["message"] == message
    assert "s3cr3t-t0ken" not in failure["traceback"]
    assert "hunter2" not in failure["traceback"]


def test_an_env_py_failing_with_a_validation_error_names_the_field(tmp_path: Path) -> None:
    """fractal-server's env.py imports its settings, which need JWT_SECRET_KEY: the reason
    said `env.py:23: ValidationError: 1 validation error for Settings`, pydantic's first
    line, and not which field; that is on the lines after it."""
    ini = write_project(tmp_path / "p", "psycopg2_url")
    env = ini.parent / "migrations" / "env.py"
    env.write_text(
        "class ValidationError(ValueError):\n    pass\n"
        f"raise ValidationError({PYDANTIC_MESSAGE!r})\n" + env.read_text())
    with pytest.raises(SourceError) as raised:
        render_revisions(ini, root=tmp_path / "p")
    assert str(raised.value).endswith(
        f"{env.resolve()}:3: ValidationError: 2 validation errors for Settings: "
        "JWT_SECRET_KEY: Field required; API_PORT: Input should be a valid integer")
