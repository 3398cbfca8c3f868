"""``python -m gridsage``: run the GridSage CLI."""

from gridsage.cli import app

if __name__ == "__main__":
    app()
