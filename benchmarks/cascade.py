"""Cascade-ensemble throughput: a serial loop against dask.distributed workers, on the same initiators, in one run.

The ensemble is every N-1 branch outage of the grid plus ``--n2`` sampled N-2 branch pairs (seeded), run through
GridSage's quasi-steady-state cascade model (:func:`gridsage.tools.cascade.risk.cascade_ensemble`, the code behind
the ``cascade_risk`` tool) twice, side by side:

1. serial: a plain loop in this process (``serial=True``);
2. dask: a LocalCluster of ``--workers`` worker processes, 1 thread each, started here; its start-up is timed on
   its own together with the workers' first import of pandapower (``warm_worker``, about 4 s, once per worker
   process, as on any long-running cluster), and the sweep is timed from connecting to the last result (it
   includes sending the net).  ``--scheduler tcp://HOST:PORT`` (or ``DASK_SCHEDULER_ADDRESS``) uses a
   running cluster instead.

It prints cascades/s of each, the speed-up (issue 18's goal: >= 1.7x with 2 workers), and checks that the two
give identical outcomes.  ``--report`` adds the blackout-size distribution, the most dangerous initiators and the
branches tripping most often (as ``cascade_risk`` reports them).

The grid is PGLib-OPF IEEE 118 by default with its secure AC-OPF base dispatch (thermal bound
``--opf-max-loading``, default 85 %, as ``load_grid`` derives it) and the loads scaled by ``--load-scale`` (default
1.0: that dispatch already gives non-trivial cascades, e.g. line 30 out loses about a third of the load; a scale
above 1 adds load that the ext_grid picks up, a stressed state).  Single cascades take 0.1 s to ~20 s (repeated AC
failures).  Keep ``OMP_NUM_THREADS=1``.  Run from the repository root::

    OMP_NUM_THREADS=1 python benchmarks/cascade.py                       # N-1 + 100 N-2, a few minutes
    OMP_NUM_THREADS=1 python benchmarks/cascade.py --n2 1000 --report    # issue 18's acceptance ensemble
    OMP_NUM_THREADS=1 python benchmarks/cascade.py --n2 1000 --no-serial --report   # dask only
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
import time
import warnings

#: issue 18's goal: 2 dask workers against the serial loop
GOAL_SPEEDUP = 1.7


def load(grid: str, opf_max_loading: float, load_scale: float):
    """The grid's pandapower net: loaded by GridSage's load_grid, loads scaled by ``load_scale``."""
    from gridsage.tools.grid.grids import load_grid
    from gridsage.tools.workspace import Workspace, use_workspace

    ws = Workspace()
    with use_workspace(ws):
        grid_id = load_grid(grid, opf_max_loading_percent=opf_max_loading).grid_id
        net = ws.copy_net(grid_id)
    if load_scale != 1.0:
        net.load["p_mw"] *= load_scale
        net.load["q_mvar"] *= load_scale
    return net


def progress_printer(label: str):
    """A progress(done, total) callback drawing one line on stderr, at most every 2 s and at the end."""
    last = [0.0]
    start = time.perf_counter()

    def progress(done: int, total: int) -> None:
        now = time.perf_counter()
        if now - last[0] >= 2.0 or done == total:
            last[0] = now
            width = 30
            bar = "#" * (width * done // max(total, 1))
            sys.stderr.write(f"\r{label} [{bar:<{width}}] {done}/{total} {now - start:6.1f} s")
            if done == total:
                sys.stderr.write("\n")
            sys.stderr.flush()
    return progress


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    parser.add_argument("--grid", default="pglib_opf_case118_ieee",
                        help="grid name for load_grid (default pglib_opf_case118_ieee)")
    parser.add_argument("--n2", type=int, default=100, metavar="N",
                        help="sampled N-2 pairs added to all N-1 outages (default 100; 1000 for the acceptance run; 0: N-1 only)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the N-2 sample (default 0)")
    parser.add_argument("--workers", type=int, default=2, help="dask worker processes, 1 thread each (default 2)")
    parser.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                        help="use a running dask scheduler instead of a LocalCluster (default: DASK_SCHEDULER_ADDRESS if set)")
    parser.add_argument("--load-scale", type=float, default=1.0, help="multiply every load's P and Q (default 1.0)")
    parser.add_argument("--opf-max-loading", type=float, default=85.0,
                        help="thermal bound of the OPF base dispatch [%% of rating] (default 85)")
    parser.add_argument("--limit", type=int, default=0, metavar="K",
                        help="time only the first K initiators of the ensemble (default 0: all)")
    parser.add_argument("--no-serial", action="store_true", help="skip the serial loop (no speed-up, no identity check)")
    parser.add_argument("--report", action="store_true",
                        help="print the blackout-size distribution, top initiators and most tripped branches")
    parser.add_argument("--top", type=int, default=10, help="initiators and branches listed by --report (default 10)")
    parser.add_argument("--threshold", type=float, default=10.0,
                        help="--report's P(load lost > X %%), X [%%] (default 10)")
    parser.add_argument("--save", metavar="PATH", help="write the dask run's outcomes to PATH as JSON")
    args = parser.parse_args()
    if args.n2 < 0 or args.workers < 1 or args.load_scale <= 0 or args.limit < 0:
        parser.error("--n2 and --limit must be >= 0, --workers >= 1, --load-scale > 0")

    warnings.filterwarnings("ignore")
    logging.getLogger("pandapower").setLevel(logging.ERROR)
    import dask
    import distributed
    import pandapower as pp

    from gridsage.tools.cascade import risk

    t0 = time.perf_counter()
    print(f"Python {platform.python_version()} | pandapower {pp.__version__} | dask {dask.__version__} | "
          f"distributed {distributed.__version__} | os.cpu_count()={os.cpu_count()} | "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    net = load(args.grid, args.opf_max_loading, args.load_scale)
    ensemble = f"n1+n2:{args.n2}" if args.n2 else "n1"
    sets = risk.initiator_sets(net, ensemble, seed=args.seed)
    n1 = len(risk.initiator_sets(net, "n1"))
    if args.limit:
        sets = sets[:args.limit]
    print(f"grid {args.grid}: {len(net.bus)} buses, {n1} in-service branches, load {net.load.p_mw.sum():.1f} MW "
          f"(scale {args.load_scale:g}, OPF bound {args.opf_max_loading:g} %); ensemble {ensemble} seed {args.seed}: "
          f"{len(sets)} cascades")

    serial = serial_time = serial_cpu = None
    if not args.no_serial:
        start, cpu = time.perf_counter(), time.process_time()
        serial = risk.cascade_ensemble(net, sets, serial=True, progress=progress_printer("serial"))
        serial_time, serial_cpu = time.perf_counter() - start, time.process_time() - cpu

    address = args.scheduler or dask.config.get("scheduler-address", None)
    cluster = None
    start = time.perf_counter()
    if not address:
        cluster = distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                                           host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR,
                                           scheduler_kwargs=risk.LOCAL_SCHEDULER)
        address = cluster.scheduler_address
    with distributed.Client(address) as client:  # workers import pandapower once, as a long-running cluster has
        client.run(risk.warm_worker)
    cluster_time = time.perf_counter() - start
    try:
        with distributed.Client(address) as client:
            cpu_before = sum(client.run(time.process_time).values())
        start = time.perf_counter()
        on_dask = risk.cascade_ensemble(net, sets, scheduler=address, workers=args.workers,
                                        progress=progress_printer(f"dask x{args.workers}"))
        dask_time = time.perf_counter() - start
        with distributed.Client(address) as client:
            dask_cpu = sum(client.run(time.process_time).values()) - cpu_before
    finally:
        if cluster is not None:
            cluster.close()

    n = len(sets)
    where = f"LocalCluster, {args.workers} worker processes x 1 thread" if cluster is not None else f"scheduler {address}"
    print()
    print(f"{'run':<44} {'cascades':>8} {'wall [s]':>9} {'cascades/s':>11} {'speed-up':>9}")
    if serial_time is not None:
        print(f"{'serial loop (this process)':<44} {n:>8} {serial_time:>9.1f} {n / serial_time:>11.2f} {1.0:>8.2f}x")
    ratio = (lambda t: f"{serial_time / t:>8.2f}x" if serial_time else f"{'-':>9}")
    print(f"{'dask sweep (' + where + ')':<44} {n:>8} {dask_time:>9.1f} {n / dask_time:>11.2f} {ratio(dask_time)}")
    total = dask_time + cluster_time
    print(f"{'dask incl. cluster start+warm-up (' + f'{cluster_time:.1f} s)':<44} {n:>8} {total:>9.1f} {n / total:>11.2f} {ratio(total)}")
    print("Single run of each (each is already many cascades); serial first, then dask, same initiators.")
    load1, load5, _ = os.getloadavg()
    print(f"CPU time [s] (process_time): serial {serial_cpu if serial_time else float('nan'):.1f} in this process; "
          f"dask {dask_cpu:.1f} summed over the workers. Load average now {load1:.2f} / {load5:.2f} (1 / 5 min) on "
          f"{os.cpu_count()} CPUs: above the worker count, other processes share the CPUs and the ratio falls.")
    if serial is not None:
        same = [a.model_dump() for a in serial] == [b.model_dump() for b in on_dask]
        print(f"outcomes identical serial vs dask: {'YES' if same else 'NO'}" +
              ("" if same else f" ({sum(a != b for a, b in zip(serial, on_dask))} differ)"))
        speed = serial_time / dask_time
        verdict = "PASS" if speed >= GOAL_SPEEDUP else "NOT MET"
        print(f"Goal (dask with {args.workers} workers >= {GOAL_SPEEDUP}x the serial loop, sweep time): {verdict} "
              f"({speed:.2f}x; incl. cluster start {serial_time / total:.2f}x)")

    if args.report:
        report(on_dask, n1, args)
    if args.save:
        import json

        with open(args.save, "w", encoding="utf-8") as f:
            json.dump([o.model_dump() for o in on_dask], f)
        print(f"outcomes written to {args.save}")
    print(f"Total benchmark time: {time.perf_counter() - t0:.1f} s")


def report(outcomes, n1: int, args) -> None:
    """The ensemble's blackout-size distribution, top initiators and most tripped branches (cascade_risk's figures)."""
    from collections import Counter

    from gridsage.tools.cascade import risk

    n = len(outcomes)
    groups = {"all": outcomes, "N-1": outcomes[:n1], "N-2 (sampled)": outcomes[n1:]}
    print()
    print(f"Load lost (pre-event {outcomes[0].pre_event_load_mw:.1f} MW), every initiator weighted equally:")
    print(f"{'set':<14} {'n':>5} {'mean MW':>8} {'p50 MW':>7} {'p90 MW':>7} {'p99 MW':>7} {'max MW':>7} "
          f"{'mean %':>7} {'p99 %':>6} {'max %':>6} {f'P(>{args.threshold:g}%)':>9}")
    for name, group in groups.items():
        if not group:
            continue
        d = risk.loss_distribution(group)
        above = sum(o.load_lost_percent > args.threshold for o in group) / len(group)
        print(f"{name:<14} {len(group):>5} {d.mean_mw:>8.1f} {d.p50_mw:>7.1f} {d.p90_mw:>7.1f} {d.p99_mw:>7.1f} "
              f"{d.max_mw:>7.1f} {d.mean_percent:>7.2f} {d.p99_percent:>6.1f} {d.max_percent:>6.1f} {above:>9.3f}")
    print("Blackout-size histogram (load lost, % of pre-event load):")
    for name, group in groups.items():
        if group:
            print(f"  {name:<14} " + "  ".join(f"{b.bin}: {b.count}" for b in risk.loss_histogram(group)))
    print("Status counts: " + ", ".join(f"{k} {v}" for k, v in sorted(Counter(o.status for o in outcomes).items())) +
          f"; cascades with DC stages: {sum(o.dc_stage_count > 0 for o in outcomes)}")
    for o in outcomes:
        if o.status == "error":
            print(f"  model error on {'+'.join(o.outages)}: {o.error}")
    print(f"Top {args.top} initiators (load lost, then trips):")
    for r in risk.most_dangerous(outcomes, args.top):
        print(f"  {'+'.join(r.outages):<22} {r.status:<11} {r.load_lost_mw:>8.1f} MW {r.load_lost_percent:>6.2f} % "
              f"{r.trip_count:>3} trips")
    print(f"Most tripped branches (cascades tripping them, of {n}):")
    for b in risk.most_tripped(outcomes, args.top):
        print(f"  {b.branch:<12} {b.trips:>5} {100 * b.share:>6.2f} %")


if __name__ == "__main__":
    main()
