"""A Flask application as `flask db init` projects have: Flask-SQLAlchemy and
Flask-Migrate set up by an application factory (`flask db upgrade` finds `create_app` here)."""

import os

from flask import Flask
from flask_migrate import Migrate, upgrade
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()
migrate = Migrate()


class Setting(db.Model):
    """A table the application makes itself as it loads (with SHOP_CREATE_ALL), as
    Flask-AppBuilder's `create_db()` makes Superset's `ab_*` tables; no revision creates it."""

    __tablename__ = "settings"
    name = db.Column(db.Text, primary_key=True)


def create_app() -> Flask:
    app = Flask(__name__)
    # The application's own database: dbsafe must never reach it.
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["SHOP_DATABASE_URL"]
    db.init_app(app)
    migrate.init_app(app, db)
    if os.environ.get("SHOP_CREATE_ALL"):
        with app.app_context():
            db.create_all()
    if os.environ.get("SHOP_MIGRATE_ON_START"):
        # as CTFd's create_app() does: the application migrates its database as it starts
        with app.app_context():
            upgrade()
    return app
