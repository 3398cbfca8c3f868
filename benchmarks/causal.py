"""Causal root-cause tools' speed: one anomaly attribution (with bootstrap) and one effect estimate (with refuters),
against issue 20's goal of 10 s each on the project's machine (2 cores).

The data come from :func:`gridsage.tools.causal.simulate.simulate_feeder_history` on
``pandapower.networks.create_cigre_network_mv(with_der="pv_wind")``, transformer 0 (``--days`` days at
``--interval-min`` minutes: 90 days hourly, 2160 rows, by default), with a hot-spot sensor fault planted at the last
row.  Each timing is the median of ``--repeats`` runs (different seeds of the analysis, same data):

* attribution: :func:`gridsage.tools.causal.analysis.attribute_frame` of ``trafo_0_theta_h_c`` at the planted row,
  ``num_bootstrap`` refits (default 10, the tools' default);
* effect: :func:`gridsage.tools.causal.analysis.effect_frame` of ``trafo_0_p_mw`` on ``trafo_0_theta_h_c`` with the
  three estimate refuters (20 simulations each) and the graph refuter;
* distribution change: :func:`gridsage.tools.causal.analysis.change_frame` first half against second half (no goal
  in the issue; printed for information).

It prints each median, the goal and the ratio goal / measured (> 1 means faster than the goal).  Keep
``OMP_NUM_THREADS=1``.  Run from the repository root::

    OMP_NUM_THREADS=1 python benchmarks/causal.py                 # about 1-2 min
    OMP_NUM_THREADS=1 python benchmarks/causal.py --days 14 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import warnings

#: issue 20's goal per attribution (with bootstrap) and per effect estimate (with refuters) [s]
GOAL_S = 10.0


def timed(fn, repeats: int) -> tuple[float, object]:
    """Median wall time [s] of ``fn(i)`` over ``repeats`` calls, and the last result."""
    times, result = [], None
    for i in range(repeats):
        t = time.perf_counter()
        result = fn(i)
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=float, default=90.0, help="simulated days [default 90]")
    parser.add_argument("--interval-min", type=float, default=60.0, help="interval [min, default 60]")
    parser.add_argument("--repeats", type=int, default=5, help="runs per timing [default 5]")
    parser.add_argument("--bootstrap", type=int, default=10, help="num_bootstrap of the attribution [default 10]")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")

    import pandapower.networks as pn

    from gridsage.tools.causal.analysis import attribute_frame, change_frame, effect_frame
    from gridsage.tools.causal.simulate import PlantedCause, simulate_feeder_history

    net = pn.create_cigre_network_mv(with_der="pv_wind")
    hist = simulate_feeder_history(net, 0, days=args.days, interval_min=args.interval_min, seed=2026,
                                   planted=[PlantedCause(node="trafo_0_theta_h_c", shift=10.0)])
    data, graph, row = hist.data, hist.graph, hist.anomaly_rows[0]
    n = len(data)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    print(f"data: CIGRE MV trafo 0, {len(graph.names)} nodes, {len(graph.edges)} edges, {n} rows")
    attribute_frame(data, graph, "trafo_0_theta_h_c", row, num_bootstrap=1)  # warm-up: imports, first fits

    att_s, att = timed(lambda i: attribute_frame(data, graph, "trafo_0_theta_h_c", row,
                                                 num_bootstrap=args.bootstrap, seed=i), args.repeats)
    eff_s, eff = timed(lambda i: effect_frame(data, graph, "trafo_0_p_mw", "trafo_0_theta_h_c", seed=i), args.repeats)
    half = n // 2
    chg_s, chg = timed(lambda i: change_frame(data, graph, "trafo_0_theta_h_c", [0, half - 1], [half, n - 1], seed=i),
                       max(1, args.repeats // 2))
    print()
    print(f"{'task':44s} {'median s':>9s} {'goal s':>7s} {'goal/measured':>14s}")
    print(f"{'attribution (num_bootstrap=' + str(args.bootstrap) + ')':44s} {att_s:9.2f} {GOAL_S:7.1f} "
          f"{GOAL_S / att_s:14.1f}")
    print(f"{'effect estimate (3 refuters + graph test)':44s} {eff_s:9.2f} {GOAL_S:7.1f} {GOAL_S / eff_s:14.1f}")
    print(f"{'distribution change (no goal)':44s} {chg_s:9.2f} {'-':>7s} {'-':>14s}")
    print()
    print(f"attribution root cause: {att.root_cause} (planted: trafo_0_theta_h_c); effect "
          f"{eff.effect_per_unit:.3f} °C/MW, status {eff.status}; change root cause {chg.root_cause}")
    return 0 if att_s <= GOAL_S and eff_s <= GOAL_S else 1


if __name__ == "__main__":
    sys.exit(main())
