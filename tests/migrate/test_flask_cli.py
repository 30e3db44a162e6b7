"""Which `FlaskGroup(create_app=...)` CLIs of a project dbsafe loads a Flask-Migrate env.py's
application through (`dbsafe.migrate.flask_cli`), read with `ast`, never imported: redash's
`@click.group(cls=FlaskGroup, create_app=create)`, lemur's in the package folder it runs
from."""

from __future__ import annotations

from pathlib import Path

from dbsafe.migrate.flask_cli import flask_group_factories


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def _found(root: Path) -> list[tuple[str, str, str, str]]:
    return [(f.file, f.module, f.name, f.origin) for f in flask_group_factories(root)]


def test_redash_s_decorated_group_in_a_package_is_found_as_its_module(tmp_path: Path) -> None:
    root = _write(tmp_path, {
        "redash/__init__.py": "def create_app():\n    pass\n",
        "redash/cli/__init__.py": (
            "import click\nfrom flask.cli import FlaskGroup\nfrom redash import create_app\n\n"
            "def create():\n    return create_app()\n\n"
            "@click.group(cls=FlaskGroup, create_app=create)\ndef manager():\n    pass\n\n"
            "manager.add_command(click.Command('x'), 'x')\n"),
        "manage.py": "from redash.cli import manager\n\nif __name__ == '__main__':\n"
                     "    manager()\n",
    })
    assert _found(root) == [("redash/cli/__init__.py", "redash.cli", "create",
                             "redash.cli:create")]
    [factory] = flask_group_factories(root)
    assert factory.path == str(root.resolve())


def test_lemur_s_cli_in_the_package_folder_is_imported_from_the_folder_above(
        tmp_path: Path) -> None:
    package = _write(tmp_path / "lemur", {
        "__init__.py": "def create_app(config_path=None):\n    pass\n",
        "manage.py": ("import click\nfrom flask.cli import FlaskGroup\n"
                      "from lemur import create_app\n\n"
                      "@click.group(cls=FlaskGroup, create_app=create_app)\ndef cli():\n"
                      "    pass\n\n\ndef main():\n    cli()\n"),
    })
    [factory] = flask_group_factories(package)
    assert (factory.file, factory.module, factory.name, factory.origin, factory.path) == (
        "manage.py", "lemur.manage", "create_app", "lemur:create_app", str(tmp_path.resolve()))


def test_two_clis_of_one_factory_are_one_and_relative_imports_resolve(tmp_path: Path) -> None:
    root = _write(tmp_path, {
        "shop/__init__.py": "",
        "shop/factory.py": "def create_app():\n    pass\n",
        "shop/cli.py": ("from flask.cli import FlaskGroup\nfrom .factory import create_app as make\n"
                        "group = FlaskGroup(create_app=make)\n"),
        "shop/manage.py": ("import flask.cli\nfrom shop.factory import create_app\n"
                           "group = flask.cli.FlaskGroup(create_app=create_app)\n"),
    })
    assert [origin for *_, origin in _found(root)] == ["shop.factory:create_app"]


def test_what_cannot_be_imported_as_the_cli_holds_it_is_not_found(tmp_path: Path) -> None:
    root = _write(tmp_path, {
        # the factory is local to a function: no module holds it
        "local.py": ("from flask.cli import FlaskGroup\n\ndef main():\n"
                     "    def make():\n        pass\n    FlaskGroup(create_app=make)()\n"),
        # importing it runs the command
        "script.py": ("from flask.cli import FlaskGroup\n\ndef make():\n    pass\n\n"
                      "cli = FlaskGroup(create_app=make)\ncli()\n"),
        # not a module name
        "my-cli.py": ("from flask.cli import FlaskGroup\n\ndef make():\n    pass\n\n"
                      "cli = FlaskGroup(create_app=make)\n"),
        # another library's FlaskGroup, a lambda
        "other.py": ("from mylib import FlaskGroup\nfrom flask.cli import FlaskGroup as F\n\n"
                     "def make():\n    pass\n\nFlaskGroup(create_app=make)\n"
                     "F(create_app=lambda: make())\n"),
        # a test's own application
        "tests/cli.py": ("from flask.cli import FlaskGroup\n\ndef make():\n    pass\n\n"
                         "cli = FlaskGroup(create_app=make)\n"),
    })
    assert _found(root) == []
