"""``gridsage cascade``: the cascade an N-k outage sets off, its restoration, and ensembles of initiators (on Dask).

A thin adapter over :func:`gridsage.tools.cascade.simulate_cascade`, ``plan_restoration``
(:mod:`gridsage.tools.cascade.restoration`) and, for ``--ensemble``, :func:`gridsage.tools.cascade.risk.cascade_ensemble`
with its statistics (``loss_distribution``, ``loss_histogram``, ``most_dangerous``, ``most_tripped``): one cascade
per initiator set, serially or on dask.distributed (a LocalCluster of ``--workers`` processes, or the scheduler at
``--scheduler`` / ``DASK_SCHEDULER_ADDRESS``), with a progress bar on stderr.

References
----------
.. [1] IEEE C37.112-2018 (relay curves); NERC PRC-006-5 (UFLS), PRC-010-2.1 (UVLS), EOP-005-3 (restoration).
.. [2] Nedic, Dobson, Kirschen, Carreras, Lynch, IJEPES 28(9), 2006 (the Manchester cascade model family).
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from gridsage.cli._shared import (Dispatch, DispatchOption, GridOption, OutputFormat, app, err, fail, load_grid_id, out)
from gridsage.errors import GridSageError, InputError

#: timeline rows printed in the text report (json lists all)
TIMELINE_ROWS = 40


class Curve(str, Enum):
    moderately_inverse = "moderately_inverse"
    very_inverse = "very_inverse"
    extremely_inverse = "extremely_inverse"


def split_outages(text: str | None) -> list[str]:
    """``'line:29, line:30'`` as ``['line:29', 'line:30']`` (empty items dropped)."""
    return [item.strip() for item in (text or "").split(",") if item.strip()]


def _as_option(exc: GridSageError, option: str, items: list[str]) -> GridSageError:
    """The tool's error on ``outages[i]`` restated for the command-line option (same type, same fix)."""
    field = exc.field or ""
    if not field.startswith("outages"):
        return exc
    where = field[len("outages"):]
    item = ""
    if where.startswith("[") and where.rstrip("]")[1:].isdigit():
        k = int(where.strip("[]"))
        item = f"item {k + 1} ({items[k][:40]!r}): " if k < len(items) else ""
    return type(exc)(f"{item}{exc.message}", field=option, fix=exc.fix)


def _ensemble(grid_id: str, ensemble: str, seed: int, options, scheduler: str | None, workers: int, threshold: float):
    """Run the ensemble with a progress bar on stderr; its statistics and outcomes as one dict."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from gridsage.tools.cascade.risk import (SERIAL_BELOW, above_threshold, cascade_ensemble, initiator_sets,
                                            loss_distribution, loss_histogram, most_dangerous, most_tripped)
    from gridsage.tools.workspace import current_workspace

    net = current_workspace().get(grid_id).net
    try:
        sets = initiator_sets(net, ensemble, None, seed)
    except InputError as exc:
        raise InputError(exc.message, field="--ensemble", fix=exc.fix) from None
    serial = len(sets) < SERIAL_BELOW and scheduler is None
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task(f"ensemble {ensemble}: {len(sets)} cascades ({'serial' if serial else 'dask'})",
                            total=len(sets))
        try:
            outcomes = cascade_ensemble(net, sets, options, scheduler=scheduler, workers=workers, serial=serial,
                                        progress=lambda done, total: bar.update(task, completed=done))
        except InputError as exc:
            raise InputError(exc.message, field=f"--{exc.field}" if exc.field == "workers" else exc.field,
                             fix=exc.fix) from None
        except (OSError, TimeoutError) as exc:
            raise InputError(f"cannot reach the dask scheduler ({type(exc).__name__})", field="--scheduler",
                             fix="give the address of a running scheduler, e.g. tcp://127.0.0.1:8786, or leave "
                                 "--scheduler out to start a local cluster.") from None
    above, probability = above_threshold(outcomes, threshold)
    return {"ensemble": ensemble, "seed": seed, "cascades": len(outcomes),
            "executed": "serial" if serial else f"dask ({scheduler or 'DASK_SCHEDULER_ADDRESS or a LocalCluster'})",
            "loss": loss_distribution(outcomes).model_dump(), "loss_threshold_percent": threshold,
            "probability_above_threshold": probability, "count_above_threshold": above,
            "histogram": [b.model_dump() for b in loss_histogram(outcomes)],
            "top_initiators": [r.model_dump() for r in most_dangerous(outcomes, 10)],
            "most_tripped": [b.model_dump() for b in most_tripped(outcomes, 10)],
            "outcomes": [o.model_dump() for o in outcomes]}


def _print_cascade(grid: str, result) -> None:
    outages = ", ".join(o.name for o in result.outages)
    out.print(f"[bold]{escape(grid)}[/] cascade after the loss of {escape(outages)}: [bold]{result.status}[/] "
              f"\\[{result.evidence_id}]")
    table = Table("time [s]", "event", "element", "loading %", "MW lost", "cumulative MW", title_justify="left",
                  title=f"Timeline ({len(result.events)} events{', more omitted' if result.events_omitted else ''})")
    for e in result.events[:TIMELINE_ROWS]:
        element = f"{e.element.element} {e.element.index}" if e.element else ""
        table.add_row(f"{e.time_s:.2f}", e.cause, element, "" if e.loading_percent is None else f"{e.loading_percent:.1f}",
                      f"{e.load_lost_mw:.1f}", f"{e.cumulative_load_lost_mw:.1f}")
    out.print(table)
    if len(result.events) > TIMELINE_ROWS:
        out.print(f"... and {len(result.events) - TIMELINE_ROWS} more events (--format json lists all)")
    out.print(f"Totals: {result.trip_count} branch trip(s) in {result.duration_s:.1f} s; load lost {result.load_lost_mw:.1f} MW "
              f"({result.load_lost_percent:.2f} % of {result.pre_event_load_mw:.1f} MW); generation lost "
              f"{result.generation_lost_mw:.1f} MW; {result.final_islands} energised island(s), {result.dark_bus_count} "
              f"dark bus(es); {result.stage_count} stage(s), {result.dc_stage_count} solved DC; wall {result.elapsed_s:.1f} s")
    for note in result.notes:
        out.print(f"[yellow]note[/] {escape(note)}")


def _print_restoration(result) -> None:
    table = Table("step", "action", "what", "MW restored", "served %", "vm pu", "max loading %", title_justify="left",
                  title=f"Restoration sequence ({result.step_count} steps, {result.status}) \\[{result.evidence_id}]")
    for s in result.steps[:TIMELINE_ROWS]:
        table.add_row(str(s.step), s.action, escape(s.detail), f"{s.load_restored_mw:.1f}", f"{s.cumulative_percent:.1f}",
                      f"{s.vm_min_pu:.3f}-{s.vm_max_pu:.3f}",
                      "" if s.max_loading_percent is None else f"{s.max_loading_percent:.1f}")
    out.print(table)
    if len(result.steps) > TIMELINE_ROWS:
        out.print(f"... and {len(result.steps) - TIMELINE_ROWS} more steps (--format json lists all)")
    out.print(f"Restored {result.load_restored_mw:.1f} of {result.load_lost_mw:.1f} MW lost; "
              + ("all load restored." if result.all_load_restored else f"{result.load_unrestored_mw:.1f} MW not restored."))
    for note in result.notes:
        out.print(f"[yellow]note[/] {escape(note)}")


def _print_ensemble(stats: dict) -> None:
    loss = stats["loss"]
    out.print(f"[bold]Ensemble {stats['ensemble']}[/]: {stats['cascades']} cascades ({stats['executed']}); load lost mean "
              f"{loss['mean_percent']:.2f} %, p50 {loss['p50_percent']:.2f} %, p90 {loss['p90_percent']:.2f} %, p99 "
              f"{loss['p99_percent']:.2f} %, max {loss['max_percent']:.2f} %; P(> {stats['loss_threshold_percent']:g} %) = "
              f"{stats['probability_above_threshold']:.3f} ({stats['count_above_threshold']} cascades)")
    table = Table("load lost", "cascades", "share", title="Histogram", title_justify="left")
    for b in stats["histogram"]:
        table.add_row(b["bin"], str(b["count"]), f"{b['share']:.3f}")
    out.print(table)
    worst = Table("initiators", "load lost MW", "load lost %", title="Most dangerous initiators", title_justify="left")
    for r in stats["top_initiators"][:5]:
        worst.add_row("+".join(r["outages"]), f"{r['load_lost_mw']:.1f}", f"{r['load_lost_percent']:.2f}")
    out.print(worst)


@app.command(help=(
    "Cascading failure after an N-k outage: which branches protection trips and when (IEEE C37.112 inverse-time "
    "relays), load shed by UFLS (NERC PRC-006) and UVLS (PRC-010), islands left dark, the load lost, and the "
    "restoration sequence. Quasi-steady state (OPA / Manchester model family): no dynamics.\n\n"
    "`--ensemble n1` runs one cascade per single branch outage, `n2:N` N sampled branch pairs, `n1+n2:N` both, and "
    "reports the distribution of load lost; more than 15 cascades run on dask.distributed (a local cluster of "
    "`--workers` processes, or the scheduler at `--scheduler` / DASK_SCHEDULER_ADDRESS).\n\n"
    "Example: `gridsage cascade --grid pglib_opf_case39_epri --outage line:17 --plot cascade.png`; "
    "`gridsage cascade -g pglib_opf_case118_ieee --outage line:29,line:34 --ensemble n2:200 --workers 2`."))
def cascade(
    grid: GridOption,
    outage: Annotated[Optional[str], typer.Option("--outage", "-o", help="Initiating outages, comma-separated KIND:INDEX with KIND line, trafo, trafo3w, impedance, gen, sgen or ext_grid, e.g. `line:29,line:30`. Optional with --ensemble.")] = None,
    scaling_load: Annotated[float, typer.Option("--scaling-load", min=0.01, max=10, help="Factor on every load before the outages [-].")] = 1.0,
    scaling_gen: Annotated[float, typer.Option("--scaling-gen", min=0, max=10, help="Factor on every gen and sgen set-point before the outages [-].")] = 1.0,
    curve: Annotated[Curve, typer.Option("--curve", help="IEEE C37.112 curve of every branch relay.")] = Curve.very_inverse,
    time_dial: Annotated[float, typer.Option("--time-dial", min=0.01, max=100, help="Relay time dial TD [-].")] = 1.0,
    pickup: Annotated[float, typer.Option("--pickup", min=1, max=500, help="Relay pickup [% of the branch rating].")] = 100.0,
    ensemble: Annotated[Optional[str], typer.Option("--ensemble", help="`n1`, `n2:N` or `n1+n2:N`: also run an ensemble of initiators and report the distribution of load lost.")] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of the N-2 sample.")] = 0,
    threshold: Annotated[float, typer.Option("--threshold", min=0, max=100, help="Ensemble: report P(load lost > this) [% of the pre-event load].")] = 10.0,
    scheduler: Annotated[Optional[str], typer.Option("--scheduler", help="Address of a running dask scheduler, e.g. tcp://127.0.0.1:8786 (default: DASK_SCHEDULER_ADDRESS, else a local cluster).")] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Worker processes of the local dask cluster.")] = 2,
    restore: Annotated[bool, typer.Option("--restore/--no-restore", help="Plan the restoration of the load lost.")] = True,
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Draw the timeline (load served and lost [MW] against time [s], each trip marked), the restoration steps and the ensemble's histogram to this .png/.svg/.pdf.")] = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f", help="`text` tables or `json` (the tool results: cascade, restoration, ensemble).")] = OutputFormat.text,
    base_dispatch: DispatchOption = Dispatch.auto,
) -> None:
    import json
    import sys

    from gridsage.tools.cascade import CascadeOptions, simulate_cascade

    items = split_outages(outage)
    options = CascadeOptions(curve=curve.value, time_dial=time_dial, pickup_percent=pickup)
    settings = options.model_dump(include={"curve", "time_dial", "pickup_percent"})
    result = restoration = stats = restore_note = None
    try:
        if not items and not ensemble:
            raise InputError("no initiating outage given", field="--outage",
                             fix="give --outage line:29 (comma-separated for several), or --ensemble n1.")
        if ensemble is not None and not _ensemble_ok(ensemble):
            raise InputError(f"{ensemble[:40]!r} is not an ensemble", field="--ensemble",
                             fix="write n1, n2:N or n1+n2:N, e.g. --ensemble n2:100.")
        if plot is not None:
            from gridsage.plotting import SUFFIXES

            if not items:
                raise InputError("--plot draws a cascade's timeline", field="--plot",
                                 fix="give --outage as well (the ensemble's histogram is drawn beside it).")
            if plot.suffix.lower() not in SUFFIXES:
                raise InputError(f"cannot draw to {plot.name!r}", field="--plot", fix="name a .png, .svg or .pdf file.")
        grid_id = load_grid_id(grid, base_dispatch)
        if scaling_load != 1.0 or scaling_gen != 1.0:
            from gridsage.tools.grid import apply_events

            grid_id = apply_events(grid_id, [], load_scale=scaling_load, gen_scale=scaling_gen,
                                   new_grid_id=f"{grid_id}:scaled").grid_id
        if items:
            with err.status("simulating the cascade ..."):
                try:
                    result = simulate_cascade(grid_id, items, **settings, max_rows=10_000)
                except GridSageError as exc:
                    raise _as_option(exc, "--outage", items) from None
            if restore and result.load_lost_mw > 0:
                restoration, restore_note = _restoration(grid_id, items, settings)
        if ensemble:
            stats = _ensemble(grid_id, ensemble.strip().lower(), seed, options, scheduler, workers, threshold)
        if plot:
            from gridsage.plotting import plot_cascade

            losses = [o["load_lost_percent"] for o in stats["outcomes"]] if stats else None
            err.print(f"plot written to {plot_cascade(result, restoration, losses, path=plot)}")
    except GridSageError as exc:
        fail(exc)
    if fmt is OutputFormat.json:
        payload = {"cascade": result and result.model_dump(mode="json"),
                   "restoration": restoration and restoration.model_dump(mode="json"), "restoration_note": restore_note,
                   "ensemble": stats}
        sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")
        return
    if result is not None:
        _print_cascade(grid, result)
    if restoration is not None:
        _print_restoration(restoration)
    elif restore_note:
        out.print(f"[yellow]note[/] restoration not planned: {escape(restore_note)}")
    if stats is not None:
        _print_ensemble(stats)


def _ensemble_ok(text: str) -> bool:
    import re

    return re.fullmatch(r"(n1|n2:\d{1,6}|n1\+n2:\d{1,6})", text.strip().lower()) is not None


def _restoration(grid_id: str, outages: list[str], settings: dict):
    """(the restoration tool's result, None) or (None, why it was not planned)."""
    try:
        from gridsage.tools.cascade.restoration import plan_restoration
    except ImportError:
        return None, "the restoration planner (gridsage.tools.cascade.restoration) is not installed."
    with err.status("planning the restoration ..."):
        try:
            return plan_restoration(grid_id, outages, **settings), None
        except GridSageError as exc:  # the cascade stands on its own: report it, say why there is no plan
            return None, str(exc)
