"""N-1 contingency throughput: GridSage vs a pandapower loop vs raw lightsim2grid.

For each grid, three ways of running the same N-1 sweep (every in-service
branch of every kind out of service in turn) are timed side by side, in one
run, on one machine:

1. GridSage tool: ``run_contingency_analysis(grid_id, method="lightsim2grid")``
   timed with ``time.perf_counter`` around the call. "cold" is the first call
   on a freshly loaded grid (it includes the one-time N-0 AC power flow that
   the workspace caches per grid); "warm" is the median of ``--repeats`` more.
   GridSage solves outage batches on every usable CPU (one lightsim2grid
   model per thread); "warm, 1 thread" is the same call held to one thread,
   for a like-for-like comparison with the single-threaded direct CPP.
2. Baseline: a plain pandapower loop, one ``runpp`` per outage (numba and
   lightsim2grid off, generator Q limits enforced: the same checks GridSage
   makes). It runs once (it is already many runpp calls). Grids
   with >= 500 outages time an evenly spaced sample (``--baseline-sample``,
   default 100) and report sample size / time.
3. Floor: lightsim2grid's ``ContingencyAnalysisCPP`` called directly on the
   model of pandapower's ``net._ppc`` (built here, independently of GridSage);
   only ``compute`` + ``compute_flows`` are timed, median of ``--repeats``.

Throughput is contingencies per second. Run from the repository root::

    python benchmarks/contingency.py
    python benchmarks/contingency.py --grids case118 --repeats 9 --baseline-sample 50
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import time
import traceback
import warnings

import lightsim2grid
import numpy as np
import pandapower as pp
import pandapower.networks as pn
from gridsage.tools.grid import contingency
from gridsage.tools.grid.contingency import run_contingency_analysis
from gridsage.tools.grid.grids import load_grid
from rich.console import Console
from rich.table import Table

warnings.filterwarnings("ignore")
logging.getLogger("pandapower").setLevel(logging.ERROR)

#: issue 14's targets: GridSage warm against the runpp loop on case118, and against the direct CPP on case2869pegase
GOALS = {"case118": ("runpp loop", 100.0), "case2869pegase": ("direct CPP", 0.8)}
BRANCHES = ("line", "trafo", "trafo3w", "impedance")
#: published lightsim2grid anchor, one laptop core [contingencies/s]
ANCHOR = {"case118": 10_600, "case2869pegase": 216}
console = Console()
if not console.is_terminal:  # piped to a file: do not squeeze the table into 80 columns
    console = Console(width=165)


def outages(net) -> list[tuple[str, int]]:
    """In-service branches of every kind (lines, trafos, trafo3w, impedance), in table order."""
    return [(e, int(i)) for e in BRANCHES if len(net[e]) for i in net[e].index[net[e].in_service.to_numpy()]]


def bench_gridsage(name: str, repeats: int) -> dict:
    """Cold (first) call, median of ``repeats`` warm calls, and median of ``repeats`` warm calls on one thread."""
    grid_id = load_grid(name).grid_id
    times, results = [], []
    for _ in range(1 + repeats):
        start = time.perf_counter()
        results.append(run_contingency_analysis(grid_id, method="lightsim2grid", top=10))
        times.append(time.perf_counter() - start)
    threads, contingency.SWEEP_THREADS_MAX = contingency.SWEEP_THREADS_MAX, 1
    try:
        single = []
        for _ in range(repeats):
            start = time.perf_counter()
            run_contingency_analysis(grid_id, method="lightsim2grid", top=10)
            single.append(time.perf_counter() - start)
    finally:
        contingency.SWEEP_THREADS_MAX = threads
    methods = {r.method for r in results}
    notes = list(dict.fromkeys(n for r in results for n in r.notes))
    return {"n": results[0].contingencies_total, "cold": times[0], "warm": statistics.median(times[1:]),
            "method": "lightsim2grid" if methods == {"lightsim2grid"} else "/".join(sorted(methods)),
            "notes": notes, "tool_elapsed_s": results[-1].elapsed_s, "single": statistics.median(single)}


def bench_runpp_loop(name: str, sample: int) -> dict:
    """One pass of a runpp-per-outage loop over an evenly spaced sample of the outages."""
    net = getattr(pn, name)()
    todo = outages(net)
    size = sample or (len(todo) if len(todo) < 500 else 100)
    picks = sorted(set(np.linspace(0, len(todo) - 1, min(size, len(todo))).round().astype(int).tolist()))
    failed, start = 0, time.perf_counter()
    for k in picks:
        element, index = todo[k]
        net[element].at[index, "in_service"] = False
        try:
            pp.runpp(net, numba=False, lightsim2grid=False, enforce_q_lims=True)
        except pp.powerflow.LoadflowNotConverged:
            failed += 1
        net[element].at[index, "in_service"] = True
    elapsed = time.perf_counter() - start
    return {"n": len(todo), "sampled": len(picks), "failed": failed, "rate": len(picks) / elapsed}


def bench_direct_cpp(name: str, repeats: int) -> dict:
    """lightsim2grid's ContingencyAnalysisCPP on ``net._ppc``: median time of compute + compute_flows."""
    from lightsim2grid.lightsim2grid_cpp import ContingencyAnalysisCPP
    from lightsim2grid.network import init_from_matpower

    net = getattr(pn, name)()
    pp.runpp(net, numba=False, lightsim2grid=False)
    ppc, lookup = net._ppc, net._pd2ppc_lookups["branch"]
    mpc = {"bus": ppc["bus"][:, :13].real, "gen": ppc["gen"][:, :21].real,
           "branch": ppc["branch"][:, :13].real, "baseMVA": ppc["baseMVA"]}
    analysis = ContingencyAnalysisCPP(init_from_matpower(mpc))
    first_row = {e: lookup[e][0] for e in BRANCHES if e in lookup}
    position = {e: {i: k for k, i in enumerate(net[e].index)} for e in first_row}
    rows = [int(first_row[e] + position[e][i]) for e, i in outages(net)]
    v_init = (ppc["bus"][:, 7].real * np.exp(1j * np.deg2rad(ppc["bus"][:, 8].real))).astype(complex)
    times = []
    for _ in range(repeats):
        analysis.clear()
        analysis.handle_disconnected_grid = True  # clear() resets it
        analysis.add_multiple_n1(rows)
        start = time.perf_counter()
        analysis.compute(v_init, 10, 1e-8)
        analysis.compute_flows()
        times.append(time.perf_counter() - start)
    converged = int(np.asarray(analysis.converged_mask(), dtype=bool).sum())
    slacks = int((ppc["bus"][:, 1].real == 3).sum())
    return {"n": len(rows), "time": statistics.median(times), "converged": converged, "slacks": slacks}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog="Figures are medians; see the module docstring.")
    parser.add_argument("--grids", nargs="+", default=["case118", "case2869pegase"], metavar="NAME",
                        help="pandapower.networks case names (default: case118 case2869pegase)")
    parser.add_argument("--repeats", type=int, default=5, help="warm GridSage calls and direct-CPP sweeps timed (median; default 5)")
    parser.add_argument("--baseline-sample", type=int, default=0, metavar="N",
                        help="outages timed in the runpp loop (default 0: all if < 500 outages, else 100, evenly spaced)")
    args = parser.parse_args()
    if args.repeats < 1 or args.baseline_sample < 0:
        parser.error("--repeats must be >= 1 and --baseline-sample >= 0")

    t0 = time.perf_counter()
    console.print(f"Python {platform.python_version()} | lightsim2grid {lightsim2grid.__version__} | "
                  f"pandapower {pp.__version__} | os.cpu_count()={os.cpu_count()} | repeats={args.repeats}")
    table = Table(title="N-1 contingency throughput (higher is better)")
    for col in ("grid", "outages", "method", "contingencies/s", "time per sweep \\[s]", "vs runpp loop", "vs direct CPP", "note"):
        table.add_column(col, justify="left" if col in ("grid", "method", "note") else "right")
    messages, goals = [], {}
    for name in args.grids:
        console.print(f"[dim]benchmarking {name} ...[/dim]")
        base = bench_runpp_loop(name, args.baseline_sample)
        direct = bench_direct_cpp(name, args.repeats)
        try:
            gs = bench_gridsage(name, args.repeats)
        except Exception:  # noqa: BLE001 - report the tool's failure precisely, keep benchmarking
            gs = None
            messages.append(f"[bold red]{name}: GridSage tool raised:[/bold red]\n{traceback.format_exc()}")
        d_rate = direct["n"] / direct["time"]

        def row(method, rate, sweep, note, style=None, name=name, n=base["n"], base_rate=base["rate"], d_rate=d_rate):
            table.add_row(name, str(n), method, f"{rate:,.1f}", sweep, f"{rate / base_rate:,.3g}x",
                          f"{rate / d_rate:,.3g}x", note, style=style)

        sampled = base["sampled"] < base["n"]
        row("runpp loop (baseline)", base["rate"], f"{base['n'] / base['rate']:,.1f}" + (" (est.)" if sampled else ""),
            f"1 pass; sample {base['sampled']}/{base['n']}; {base['failed']} not converged")
        row("lightsim2grid CPP direct", d_rate, f"{direct['time']:.3f}",
            f"compute+flows only; {direct['converged']}/{direct['n']} converged")
        if gs:
            fallback = gs["method"] != "lightsim2grid"
            label = "GridSage" if not fallback else f"GridSage [bold red]FELL BACK TO {gs['method'].upper()}[/bold red]"
            row(f"{label} cold", gs["n"] / gs["cold"], f"{gs['cold']:.3f}", "1st call, incl. N-0 AC solve",
                "red" if fallback else None)
            threads = max(1, min(contingency.SWEEP_THREADS_MAX, contingency.usable_cpus()))
            row(f"{label} warm", gs["n"] / gs["warm"], f"{gs['warm']:.3f}", f"median of {args.repeats}; {threads} thread(s)",
                "red" if fallback else "bold")
            row(f"{label} warm, 1 thread", gs["n"] / gs["single"], f"{gs['single']:.3f}", f"median of {args.repeats}",
                "red" if fallback else None)
            for note in gs["notes"]:
                messages.append(f"{'[bold red]' if fallback else ''}{name} GridSage note: {note}")
            if name in GOALS:
                against = base["rate"] if GOALS[name][0] == "runpp loop" else d_rate
                goals[name] = (gs["n"] / gs["warm"] / against, gs["n"] / gs["single"] / against)
        counts = {"runpp loop": base["n"], "direct CPP": direct["n"], "GridSage": gs["n"] if gs else None}
        if len({c for c in counts.values() if c is not None}) > 1:
            messages.append(f"[bold red]{name}: outage counts differ: {counts}[/bold red]")
        else:
            messages.append(f"{name}: outage counts agree across methods ({base['n']})")
        if direct["slacks"] > 1:
            messages.append(f"{name}: {direct['slacks']} slack buses; lightsim2grid models one (distributed)")
    console.print(table)
    console.print("Ratios are contingencies/s of the row over the runpp loop / the direct ContingencyAnalysisCPP.")
    console.print("GridSage time includes the ranking and result models; the direct CPP time is the engine alone, on one "
                  "thread. The goals are checked on GridSage's default (every usable CPU); the 1-thread row is shown beside it.")
    for message in messages:
        console.print(message)
    console.print("Published anchor (lightsim2grid, one laptop core): " +
                  ", ".join(f"{g} ~{r:,} contingencies/s" for g, r in ANCHOR.items()))
    for grid, (against, ratio) in GOALS.items():
        goal = f"Goal (GridSage warm >= {ratio:g}x {against} on {grid})"
        if grid not in goals:
            console.print(f"{goal}: not measured in this run")
        else:
            default, single = goals[grid]
            verdict = "[bold green]PASS[/bold green]" if default >= ratio else "[bold red]NOT MET[/bold red]"
            console.print(f"{goal}: {verdict} ({default:,.2f}x; on 1 thread {single:,.2f}x)")
    console.print(f"Total benchmark time: {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
