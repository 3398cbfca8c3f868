"""What every CLI command shares: the stdout and stderr consoles, the output formats, and the error exit."""

from __future__ import annotations

import sys
from enum import Enum

import typer
from rich.console import Console

from gridsage.errors import GridSageError

out = Console(width=None if sys.stdout.isatty() else 140)
err = Console(stderr=True)


class OutputFormat(str, Enum):
    text = "text"
    json = "json"


def fail(exc: GridSageError) -> None:
    """Print a GridSage error (field, message, fix) on stderr and exit with code 2."""
    from rich.markup import escape

    err.print(f"[bold red]error[/] {escape(str(exc))}", highlight=False)
    raise typer.Exit(code=2)
