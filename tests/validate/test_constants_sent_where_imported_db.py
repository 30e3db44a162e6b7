"""A module's SQL constant that the modules importing it send only to another engine
(`extract.py_clients.constants_sent_elsewhere`).

course-discovery (openedx/course-discovery, e519c2834) keeps its Snowflake queries in
`course_discovery/apps/course_metadata/constants.py`, a module naming no database
(`SNOWFLAKE_POPULATE_COURSE_LENGTH_QUERY = '''WITH completions as (... FROM
business_intelligence.bi_course_completion ... LEFT JOIN core.dim_courseruns ...'''`);
`management/commands/populate_course_length.py` imports it and runs it on a
`snowflake.connector` cursor. Read alone the constant is clearly SQL, and was checked as
PostgreSQL's: 7 false DBS301 (`no schema business_intelligence`, `core`, `enterprise`,
`discovery`) on any schema its migrations build. A constant another module also passes on,
or reads as its module's attribute, or that its own module reads, stays checked. Real
PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import validate_files

_CONSTANTS = """\
SNOWFLAKE_POPULATE_COURSE_LENGTH_QUERY = '''
    SELECT ccu.user_id, dc.course_uuid
    FROM business_intelligence.bi_course_completion as ccu
    LEFT JOIN core.dim_courses as dc ON ccu.course_id = dc.course_id
'''

SNOWFLAKE_REFRESH_QUERY = '''
    SELECT course_key, reviews_count FROM enterprise.course_reviews
'''

# sent to Snowflake by one module, handed on by another
SHARED_QUERY = "SELECT id FROM warehouse_orders"

# sent to Snowflake, also read as `constants.ATTRIBUTE_QUERY`
ATTRIBUTE_QUERY = "SELECT id FROM warehouse_items"

# sent to Snowflake, also read here
LOCAL_QUERY = "SELECT id FROM warehouse_users"
LOCAL_QUERIES = [LOCAL_QUERY]

# imported by a module that sends it to PostgreSQL
OWN_QUERY = "SELECT nickname FROM supporter"
"""

_POPULATE = """\
import snowflake.connector
from django.conf import settings

from course_discovery.apps.course_metadata.constants import (
    SNOWFLAKE_POPULATE_COURSE_LENGTH_QUERY, SHARED_QUERY, ATTRIBUTE_QUERY, LOCAL_QUERY)


def rows():
    ctx = snowflake.connector.connect(user=settings.SNOWFLAKE_SERVICE_USER, account="a")
    cs = ctx.cursor()
    cs.execute(SNOWFLAKE_POPULATE_COURSE_LENGTH_QUERY)
    cs.execute(SHARED_QUERY)
    cs.execute(ATTRIBUTE_QUERY)
    cs.execute(LOCAL_QUERY)
    return cs.fetchall()
"""

_REFRESH = """\
import snowflake.connector

from ...constants import SNOWFLAKE_REFRESH_QUERY as QUERY


def rows():
    cs = snowflake.connector.connect(account="a").cursor()
    cs.execute(QUERY)
    return cs.fetchall()
"""

_OTHERS = """\
from django.db import connection

from course_discovery.apps.course_metadata import constants
from course_discovery.apps.course_metadata.constants import SHARED_QUERY, OWN_QUERY


def report(run):
    run(SHARED_QUERY)
    run(constants.ATTRIBUTE_QUERY)
    with connection.cursor() as cursor:
        cursor.execute(OWN_QUERY)
"""


@pytest.mark.db
def test_a_constant_the_modules_importing_it_send_to_another_engine_is_not_checked(
        database_url: str, tmp_path: Path) -> None:
    package = "course_discovery/apps/course_metadata"
    files = {f"{package}/constants.py": _CONSTANTS,
             f"{package}/management/commands/populate_course_length.py": _POPULATE,
             f"{package}/management/commands/refresh_course_reviews.py": _REFRESH,
             f"{package}/reports.py": _OTHERS}
    report = validate_files(database_url, tmp_path, "CREATE TABLE supporter (name text)",
                            files)
    constants = f"{package}/constants.py"
    assert sorted((f.location.path, f.location.line, f.code, f.subject)
                  for f in report.findings if f.location) == [
        (constants, 12, "DBS301", "public.warehouse_orders"),  # also handed on
        (constants, 15, "DBS301", "public.warehouse_items"),  # also `constants.X`
        (constants, 18, "DBS301", "public.warehouse_users"),  # also read there
        (constants, 22, "DBS302", "public.supporter.nickname"),  # PostgreSQL's
    ]
    assert sorted((s.location.path, s.location.line, s.reason) for s in report.skipped
                  if s.location.path == constants) == [
        (constants, 1, "sent to Snowflake, not PostgreSQL"),
        (constants, 7, "sent to Snowflake, not PostgreSQL")]
