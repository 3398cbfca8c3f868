"""State estimation time: pandapower's WLS alone (the baseline) against GridSage's ``estimate_meters`` (observability
check, WLS, chi-square and normalised residuals) and the whole ``estimate_state`` tool (files read, mapping checked).

For each grid, one simulated meter set (seed 0, ``--redundancy``, no gross error) is estimated ``--repeats`` times
each way, in this process (pandapower already imported).  The baseline is ``pandapower.estimation.estimate`` on a
copy of the net with the same ``net.measurement`` table (flat start, WLS, zero_injection=None).  Medians [ms] and
the ratio to the baseline, measured in the same run.

Run from the repository root (keep ``OMP_NUM_THREADS=1``)::

    OMP_NUM_THREADS=1 python benchmarks/estimation.py
    OMP_NUM_THREADS=1 python benchmarks/estimation.py --grid pglib_opf_case118_ieee --repeats 20 --redundancy 2.0
"""

from __future__ import annotations

import argparse
import copy
import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings


def _median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def bench(grid: str, repeats: int, redundancy: float) -> dict:
    import pandapower.estimation as se

    from gridsage.tools.estimation import (assemble_meters, estimate_meters, estimate_state, read_mapping,
                                           simulate_measurement_set)
    from gridsage.tools.estimation.measurements import pandapower_measurements
    from gridsage.tools.grid import load_grid
    from gridsage.tools.telemetry.ingest import read_telemetry
    from gridsage.tools.workspace import current_workspace

    grid_id = load_grid(grid).grid_id
    net = current_workspace().get(grid_id).net
    sim = simulate_measurement_set(net, redundancy=redundancy, seed=0)
    meters = assemble_meters(read_telemetry(sim.readings).accepted, read_mapping(sim.mapping, net).accepted, net).meters
    base = copy.deepcopy(net)
    pandapower_measurements(base, meters)

    def baseline():
        work = copy.deepcopy(base)
        se.estimate(work, init="flat", zero_injection=None)

    folder = tempfile.mkdtemp(prefix="se-bench-")
    try:
        readings, mapping = sim.write(folder)
        os.environ["GRIDSAGE_DATA_DIRS"] = folder
        return {"grid": grid, "meters": len(meters), "states": sim.truth["states"],
                "baseline": _median_ms(baseline, repeats),
                "core": _median_ms(lambda: estimate_meters(net, meters), repeats),
                "tool": _median_ms(lambda: estimate_state(grid_id, str(readings), str(mapping)), repeats)}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--grid", action="append")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--redundancy", type=float, default=1.5)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    rows = [bench(g, args.repeats, args.redundancy) for g in args.grid or ["pglib_opf_case14_ieee",
                                                                          "pglib_opf_case118_ieee"]]
    print(f"{'grid':<24} {'m':>5} {'n':>5} {'pandapower WLS ms':>18} {'estimate_meters ms':>19} {'ratio':>6} "
          f"{'estimate_state ms':>18} {'ratio':>6}")
    for r in rows:
        print(f"{r['grid']:<24} {r['meters']:>5} {r['states']:>5} {r['baseline']:>18.1f} {r['core']:>19.1f} "
              f"{r['core'] / r['baseline']:>6.2f} {r['tool']:>18.1f} {r['tool'] / r['baseline']:>6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
