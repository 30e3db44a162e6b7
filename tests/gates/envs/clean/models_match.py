"""SQLAlchemy models that match the `clean` history at head (`dbsafe drift --models`)."""

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


class Patient(Base):
    __tablename__ = "patients"
    id = sa.Column(sa.BigInteger, primary_key=True)
    name = sa.Column(sa.Text, nullable=False)
    email = sa.Column(sa.Text, index=True)


class Visit(Base):
    __tablename__ = "visits"
    id = sa.Column(sa.BigInteger, primary_key=True)
    patient_id = sa.Column(sa.BigInteger, sa.ForeignKey("patients.id"))
