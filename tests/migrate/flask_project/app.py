"""A Flask application as `flask db init` projects have: Flask-SQLAlchemy and
Flask-Migrate set up by an application factory (`flask db upgrade` finds `create_app` here)."""

import os

from flask import Flask
from flask_migrate import Migrate, upgrade
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()
migrate = Migrate()


def create_app() -> Flask:
    app = Flask(__name__)
    # The application's own database: dbsafe must never reach it.
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["SHOP_DATABASE_URL"]
    db.init_app(app)
    migrate.init_app(app, db)
    if os.environ.get("SHOP_MIGRATE_ON_START"):
        # as CTFd's create_app() does: the application migrates its database as it starts
        with app.app_context():
            upgrade()
    return app
