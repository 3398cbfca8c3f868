"""``gridsage grids | powerflow | contingency``: grids by name, power flow with violations, N-1."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer
from rich.table import Table

from gridsage.cli._shared import (Dispatch, DispatchOption, GridOption, LoadingOption, OutputFormat, VmaxOption, VminOption,
                                  app, as_json, err, fail, load_grid_id, out)
from gridsage.errors import GridSageError


class Method(str, Enum):
    auto = "auto"
    lightsim2grid = "lightsim2grid"
    pandapower = "pandapower"


@app.command()
def grids() -> None:
    """List the grids you can load by name: pandapower built-ins and PGLib-OPF cases (real thermal ratings)."""
    from gridsage.tools.grid import grid_catalog

    table = Table("name", "library", "description", title="Grids loadable by name", title_justify="left")
    for entry in grid_catalog():
        table.add_row(entry.name, entry.library, entry.description)
    out.print(table)
    out.print("Any MATPOWER .m/.mat or pandapower .json file can be given as a path too.")


@app.command()
def powerflow(
    grid: GridOption,
    dc: Annotated[bool, typer.Option("--dc", help="Linear DC power flow instead of AC Newton-Raphson (1 pu voltages, no Q).")] = False,
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f", help="`text` table or `json` (the tool result).")] = OutputFormat.text,
    base_dispatch: DispatchOption = Dispatch.auto,
    vm_min: VminOption = None,
    vm_max: VmaxOption = None,
    max_loading: LoadingOption = None,
    rows: Annotated[int, typer.Option("--rows", help="Most bus and branch rows in the result (worst first).")] = 200,
) -> None:
    """Solve the power flow of a grid and list violations (voltage [pu], loading [%]).

    A failed AC solve is retried (flat start, DC initialisation, more iterations); if all fail, the
    report says so and shows pandapower's diagnostic. Example: `gridsage powerflow -g case14`.
    """
    from gridsage.tools.grid import run_power_flow

    try:
        result = run_power_flow(load_grid_id(grid, base_dispatch), mode="dc" if dc else "ac", vm_min_pu=vm_min,
                                vm_max_pu=vm_max, max_loading_percent=max_loading, max_rows=rows)
    except GridSageError as exc:
        fail(exc)
    if as_json(result, fmt):
        return
    out.print(f"[bold]{grid}[/] {result.mode.upper()} power flow: [bold]{result.status}[/] "
              f"after {len(result.attempts)} attempt(s) \\[{result.evidence_id}]")
    for a in result.attempts:
        out.print(f"  {'ok ' if a.converged else 'FAIL'} {a.strategy}, {a.time_ms:.0f} ms" + (f": {a.message}" if a.message else ""))
    if result.status != "converged":
        out.print("[bold red]No solution.[/] Why:")
        for d in result.diagnostics:
            out.print(f"  - {d.check}: {d.finding}")
        raise typer.Exit(code=1)
    out.print(f"load {result.load_p_mw:.1f} MW, generation {result.generation_p_mw:.1f} MW, losses {result.losses_p_mw:.1f} MW; "
              f"voltages {result.vm_min_pu:.4f}-{result.vm_max_pu:.4f} pu; max loading {result.max_loading_percent} %")
    table = Table("element", "kind", "value", "limit", "standard", title=f"{len(result.violations)} violation(s)", title_justify="left")
    for v in result.violations:
        table.add_row(v.name, v.kind, f"{v.value:g} {v.unit}", f"{v.limit:g} {v.unit}", v.citation.short())
    out.print(table)
    for s in result.slack:
        limits = f"{s.min_p_mw if s.min_p_mw is not None else '-'} to {s.max_p_mw if s.max_p_mw is not None else '-'} MW"
        judged = {True: "within its limits", False: "[bold red]outside its limits[/]", None: "no limits in the case"}
        out.print(f"slack {s.element} {s.index} at bus {s.bus}: {s.p_mw:.1f} MW ({limits}; {judged[s.within_limits]})"
                  + (f", {s.q_mvar:.1f} Mvar ({s.min_q_mvar} to {s.max_q_mvar} Mvar; {judged[s.q_within_limits]})"
                     if s.q_mvar is not None and s.q_within_limits is not None else ""))
    for u in result.q_limited:
        out.print(f"at its Q limit: {u.name}, {u.q_mvar:.1f} Mvar ({u.limit}); {u.vm_pu} pu against its {u.vm_set_pu} pu set-point")
    for note in result.notes:
        out.print(f"[yellow]note[/] {note}")


@app.command()
def contingency(
    grid: GridOption,
    top: Annotated[int, typer.Option("--top", "-n", help="How many of the most severe outages to list.")] = 10,
    method: Annotated[Method, typer.Option("--method", help="`auto` (lightsim2grid when installed), `lightsim2grid`, or `pandapower` (runpp loop).")] = Method.auto,
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f", help="`text` table or `json` (the tool result).")] = OutputFormat.text,
    base_dispatch: DispatchOption = Dispatch.auto,
    vm_min: VminOption = None,
    vm_max: VmaxOption = None,
    max_loading: LoadingOption = None,
) -> None:
    """N-1 analysis: outage each branch in turn (lines, trafos, trafo3w, impedance branches, DC lines), rank by
    what each outage adds.

    Ranking: outages that de-energise 10 % of the load or more first, then the highest new or worsened overload
    [%], the voltage excursion added [pu], the highest loading [%]. Violations the grid already had before any
    outage are counted apart. Outages that island buses or have no solution are listed explicitly. Example:
    `gridsage contingency -g pglib_opf_case118_ieee --top 5`.
    """
    from gridsage.tools.grid import run_contingency_analysis

    try:
        grid_id = load_grid_id(grid, base_dispatch)
        with err.status("N-1 sweep ..."):
            result = run_contingency_analysis(grid_id, method=method.value, top=top, vm_min_pu=vm_min, vm_max_pu=vm_max,
                                              max_loading_percent=max_loading)
    except GridSageError as exc:
        fail(exc)
    if as_json(result, fmt):
        return
    out.print(f"[bold]{grid}[/] N-1: {result.contingencies_total} outages in {result.elapsed_s:.2f} s with {result.method} "
              f"({result.contingencies_per_s} /s); {result.with_violations_count} add violations, "
              f"{result.islanding_count} islanding, {result.diverged_count} without solution \\[{result.evidence_id}]")
    if result.base_violation_count:
        out.print(f"[yellow]before any outage[/] the grid already has {result.base_violation_count} violation(s), counted "
                  "apart: " + "; ".join(f"{v.name} {v.value:g} {v.unit}" for v in result.base_violations[:3])
                  + (" ..." if result.base_violation_count > 3 else ""))
    table = Table("rank", "outage", "max loading %", "on", "vm min pu", "added", "violations", "islanded buses",
                  title_justify="left", title=f"Top {len(result.top)} by severity")
    for o in result.top:
        table.add_row(str(o.rank), o.outage.name, f"{o.max_loading_percent:.1f}" if o.max_loading_percent is not None else "",
                      o.max_loading_element.name if o.max_loading_element else "", f"{o.vm_min_pu:.4f}" if o.vm_min_pu else "",
                      str(o.added_violation_count), str(o.violation_count), str(len(o.islanded_buses)))
    out.print(table)
    for o in result.islanding:
        out.print(f"islanding: {o.outage.name} cuts off bus(es) {o.islanded_buses} ({o.lost_load_mw:g} MW of load, "
                  f"{o.lost_generation_mw:g} MW of generation)")
    for o in result.diverged:
        cut = "".join(f"; it cuts {i.bus_count} bus(es) off from the main source ({i.load_mw:g} MW of load, "
                      f"{i.generation_mw:g} MW of generation)" for i in o.islands)
        out.print(f"[red]no solution[/]: {o.outage.name}{cut}")
    left = {"islanding": result.islanding_count - len(result.islanding), "without solution": result.diverged_count - len(result.diverged)}
    if any(left.values()):
        out.print("[dim]not listed: " + ", ".join(f"{n} more {kind}" for kind, n in left.items() if n)
                  + f" (islanding in all: {result.islanding_lost_load_mw:g} MW of load, "
                  f"{result.islanding_lost_generation_mw:g} MW of generation)[/]")
    for note in result.notes:
        out.print(f"[yellow]note[/] {note}")
