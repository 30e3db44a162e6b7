"""`.sql` files a project's shell scripts run with another database's client (task 466)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import validate_files

_BOOTSTRAP = """\
#!/bin/bash
echo "Creating the documentation dashboard in Grafana..."
cp /vagrant/create_documentation_dashboard.sql .
sqlite3 /var/lib/grafana/grafana.db ".read create_documentation_dashboard.sql"
"""

_SETUP = """\
#!/bin/sh
set -e
cat db/legacy.sql | mysql -u root legacy  # the old MySQL reports
psql -f db/shared.sql "$DATABASE_URL"
sqlite3 cache.db < db/shared.sql
"""


@pytest.mark.db
def test_a_sql_file_a_shell_script_runs_with_sqlite3_or_mysql_is_that_engines(
        database_url: str, tmp_path: Path) -> None:
    """PGObserver's Grafana box fills Grafana's own SQLite database with `sqlite3 grafana.db
    ".read create_documentation_dashboard.sql"` in the `bootstrap.sh` beside the file: its
    `INSERT INTO dashboard` was a DBS301 PostgreSQL "confirmed" (42P01). A file a script
    above it pipes into `mysql` is MySQL's; one a script also runs with `psql`, and one no
    script runs, stay checked."""
    report = validate_files(database_url, tmp_path, "CREATE TABLE hosts (id int)", {
        "grafana_box/bootstrap.sh": _BOOTSTRAP,
        "grafana_box/create_documentation_dashboard.sql":
            "insert into dashboard (version, slug) values (0, 'documentation');\n",
        "setup.sh": _SETUP,
        "db/legacy.sql": "SELECT host_name FROM legacy_hosts;\n",
        "db/shared.sql": "SELECT id FROM hostz;\n",
        "db/report.sql": "SELECT name FROM hosts;\n",
    })
    assert [(f.code, f.location.path, f.location.line) for f in report.findings] == [
        ("DBS302", "db/report.sql", 1), ("DBS301", "db/shared.sql", 1)]
    skipped = {s.location.path: s.reason for s in report.skipped}
    assert skipped["grafana_box/create_documentation_dashboard.sql"] == (
        "sent to SQLite, not PostgreSQL (grafana_box/bootstrap.sh runs it with sqlite3)")
    assert skipped["db/legacy.sql"] == (
        "sent to MySQL/MariaDB, not PostgreSQL (setup.sh runs it with mysql)")
