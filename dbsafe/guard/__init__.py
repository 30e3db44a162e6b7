"""Guarded operations on a production database: upgrade, downgrade, backup, restore.

Steps are plain functions (preflight, backup, apply, postflight, way back) composed by
`upgrade.py`; the history of every run lives in the database, in dbsafe's own schema
(`history.py`). Alembic itself runs only through the sandboxed runner (`dbsafe.migrate`).
"""
