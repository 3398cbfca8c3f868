"""What every ``gridsage`` command shares: the root app, the stdout and stderr consoles, output formats,
common options, and the error exit."""

from __future__ import annotations

import sys
from enum import Enum
from typing import Annotated, Optional

import typer
from rich.console import Console

from gridsage.errors import GridSageError

out = Console(width=None if sys.stdout.isatty() else 140)
err = Console(stderr=True)

app = typer.Typer(
    name="gridsage",
    help=(
        "GridSage reasons about an electric grid like a senior grid engineer: power flow, N-1 contingency "
        "analysis, validated remedial actions, and an evidence-linked assessment that cites its standards.\n\n"
        "Start with `gridsage analyze ieee118_summer_line_trip` (a shipped scenario), "
        "or `gridsage grids` to see the grids you can load by name."
    ),
    no_args_is_help=True,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class OutputFormat(str, Enum):
    text = "text"
    json = "json"


def fail(exc: GridSageError) -> None:
    """Print a GridSage error (field, message, fix) on stderr and exit with code 2."""
    from rich.markup import escape

    err.print(f"[bold red]error[/] {escape(str(exc))}", highlight=False)
    raise typer.Exit(code=2)


class Dispatch(str, Enum):
    auto = "auto"
    file = "file"
    opf = "opf"


ToolsOption = Annotated[Optional[str], typer.Option("--tools", help="Tool profile the model sees: `all` (every tool) or `study` (for small local models: in a scenario study, load_study and the 4 grid or 2 telemetry tools it needs, the scenario's limits bound; else the 8 a study needs). Default $GRIDSAGE_TOOLS or `all`.")]
GridOption = Annotated[str, typer.Option("--grid", "-g", help="Built-in name (`gridsage grids`), PGLib-OPF name, or a .m / .mat / pandapower .json file.")]
DispatchOption = Annotated[Dispatch, typer.Option("--base-dispatch", help="`file` keeps stored set-points; `opf` derives a secure AC-OPF dispatch; `auto` = opf for PGLib-OPF cases.")]
VminOption = Annotated[Optional[float], typer.Option("--vm-min", help="Lower voltage limit [pu]. Default: the corpus figure, 0.95 (ANSI C84.1 Range A; `GRIDSAGE_LIMITS_FILE` overrides it).")]
VmaxOption = Annotated[Optional[float], typer.Option("--vm-max", help="Upper voltage limit [pu]. Default: the corpus figure, 1.05 (ANSI C84.1 Range A).")]
LoadingOption = Annotated[Optional[float], typer.Option("--max-loading", help="Thermal limit [% of rating]. Default: the corpus figure, 100 (NERC TPL-001 Table 1).")]
JsonOption = Annotated[OutputFormat, typer.Option("--format", "-f", help="`text` or `json` (the tool result).")]


def as_json(result, fmt: OutputFormat) -> bool:
    """Print ``result`` as JSON when asked; True if it did."""
    if fmt is OutputFormat.json:
        out.print_json(result.model_dump_json())
    return fmt is OutputFormat.json


def load_grid_id(grid: str, base_dispatch: Dispatch) -> str:
    """Load ``grid`` with the load_grid tool (a spinner on stderr meanwhile); return its ``grid_id``."""
    from gridsage.tools.grid import load_grid

    with err.status(f"loading {grid} ..."):
        return load_grid(grid, base_dispatch=base_dispatch.value).grid_id
