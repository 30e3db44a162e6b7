"""`python -m dbsafe` runs the command-line interface."""

from dbsafe.cli import main

if __name__ == "__main__":
    main()
