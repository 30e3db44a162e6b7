"""dbsafe: keep PostgreSQL schema changes from breaking production.

Heavy dependencies (sqlglot, SQLAlchemy, alembic, psycopg) are imported inside the
modules that need them, so `import dbsafe` and `dbsafe --help` stay instant.
"""

from __future__ import annotations

__version__ = "0.1.0"
