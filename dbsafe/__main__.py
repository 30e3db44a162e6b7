"""`python -m dbsafe` runs the command-line interface."""

from dbsafe.cli import run

if __name__ == "__main__":
    run()
