"""Models one change ahead of the `clean` history: a new column no migration adds, and a
column the migrations make NOT NULL made nullable. Imported only in dbsafe's child."""

import sqlalchemy as sa

metadata = sa.MetaData()

sa.Table(
    "patients", metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("name", sa.Text, nullable=True),
    sa.Column("email", sa.Text, index=True),
    sa.Column("phone", sa.Text),
)
sa.Table(
    "visits", metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("patient_id", sa.BigInteger, sa.ForeignKey("patients.id")),
)
