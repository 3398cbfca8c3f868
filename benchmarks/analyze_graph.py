"""`gridsage analyze` with the topology graph: cold (graph server stopped) and warm (server running), vs no graph.

Each run is a fresh ``gridsage analyze SCENARIO -f json`` subprocess, timed from launch to exit
(``time.perf_counter`` wall time), with ``GRIDSAGE_GRAPH_DIR`` set to a temporary folder of its own
(your graph data is untouched; the folder and its server are removed at the end).

1. First run: empty folder (server start plus the first sync of the scenario's grids), once, for reference.
2. Then ``--repeats`` rounds, each: *cold*: ``gridsage graph stop``-equivalent, then analyze (the server
   starts again; the grids are already in the folder, so their content hash matches and nothing is
   re-synced); *cold, prestart*: the same, with ``GraphStore.prestart()`` called first in the analyze
   process (a wrapper around the CLI: what ``analyze`` does once it calls ``prestart``, so that the server
   starts while the power flows run); *warm*: analyze again with that server running; *no graph*:
   ``--no-graph``.

Medians per mode; goals: cold <= 10 s, warm <= 5 s. Each graph run is also checked to have used the graph
(findings carry topology context, no "graph unavailable" note), and every run to leave no JVM fatal-error
file (``hs_err_pid*.log``).

Run from the repository root::

    python benchmarks/analyze_graph.py
    python benchmarks/analyze_graph.py --scenario scenarios/ieee118_summer_line_trip.yaml --repeats 5
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from gridsage.graph_store.server import running_server, stop_server

ROOT = Path(__file__).resolve().parents[1]
GOALS_S = {"cold": 10.0, "cold, prestart": 10.0, "warm": 5.0}
#: ``gridsage`` with the graph server started in the background first (GraphStore.prestart)
PRESTART = ("import sys; from gridsage.graph_store.store import get_store; get_store().prestart(); "
            "from gridsage.cli import app; sys.argv[0] = 'gridsage'; app()")
console = Console() if Console().is_terminal else Console(width=140)


def with_context(node) -> int:
    """How many objects in an assessment's JSON carry a non-empty ``context`` (topology context from the graph)."""
    if isinstance(node, dict):
        return bool(node.get("context")) + sum(with_context(v) for v in node.values())
    if isinstance(node, list):
        return sum(with_context(v) for v in node)
    return 0


def analyze(scenario: str, env: dict, graph: bool, prestart: bool = False) -> tuple[float, int, str]:
    """One ``gridsage analyze`` subprocess: wall time [s], objects with graph context, and any problem found."""
    launcher = ["-c", PRESTART] if prestart else ["-m", "gridsage"]
    args = [sys.executable, *launcher, "analyze", scenario, "-f", "json"] + ([] if graph else ["--no-graph"])
    start = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    took = time.perf_counter() - start
    if done.returncode != 0:
        return took, 0, f"exit {done.returncode}: {done.stderr.strip()[-300:]}"
    try:
        context = with_context(json.loads(done.stdout))
    except ValueError:
        return took, 0, "stdout is not the JSON assessment"
    problem = ""
    if graph and ("graph unavailable" in done.stdout.lower() or not context):
        problem = "no graph context in the assessment"
    return took, context, problem


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="scenarios/ieee118_summer_line_trip.yaml", help="scenario file or name")
    parser.add_argument("--repeats", type=int, default=5, help="rounds of cold, warm and no-graph runs (default 5)")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")

    t0, graph_dir = time.perf_counter(), Path(tempfile.mkdtemp(prefix="gridsage-analyze-bench-")) / "graph"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEO4J_")}
    env.update(GRIDSAGE_GRAPH_DIR=str(graph_dir), GRIDSAGE_GRAPH_IDLE_TIMEOUT="600")
    times: dict[str, list[float]] = {"cold": [], "cold, prestart": [], "warm": [], "no graph": []}
    problems: list[str] = []
    console.print(f"scenario {args.scenario} | repeats={args.repeats} | os.cpu_count()={os.cpu_count()} | "
                  f"graph folder {graph_dir}")
    try:
        first, context, problem = analyze(args.scenario, env, graph=True)
        problems += [f"first run: {problem}"] if problem else []
        console.print(f"first run (empty graph folder: server start + first sync): {first:.2f} s, "
                      f"{context} objects with graph context")
        for i in range(args.repeats):
            for mode, graph in (("cold", True), ("cold, prestart", True), ("warm", True), ("no graph", False)):
                if mode.startswith("cold"):
                    stop_server(graph_dir)
                elif mode == "warm" and running_server(graph_dir) is None:
                    problems.append(f"round {i + 1}: no server running before the warm run")
                took, _, problem = analyze(args.scenario, env, graph, prestart=mode == "cold, prestart")
                times[mode].append(took)
                problems += [f"round {i + 1}, {mode}: {problem}"] if problem else []
                console.print(f"[dim]round {i + 1} {mode}: {took:.2f} s[/dim]")
        crash_files = [str(p) for p in graph_dir.parent.rglob("hs_err*")] + [str(p) for p in ROOT.glob("hs_err*")]
    finally:
        stop_server(graph_dir)
        shutil.rmtree(graph_dir.parent, ignore_errors=True)

    table = Table(title=f"gridsage analyze {args.scenario}: wall time per run [s] (lower is better)")
    for col in ("mode", "median", "min", "max", "runs", "goal"):
        table.add_column(col, justify="left" if col == "mode" else "right")
    for mode, values in times.items():
        median = statistics.median(values)
        goal = GOALS_S.get(mode)
        verdict = ("[green]PASS[/green]" if median <= goal else f"[red]NOT MET ({median / goal:.1f}x)[/red]") if goal else "-"
        table.add_row(mode, f"{median:.2f}", f"{min(values):.2f}", f"{max(values):.2f}", str(len(values)),
                      f"<= {goal:g} s {verdict}" if goal else verdict)
    console.print(table)
    base = statistics.median(times["no graph"])
    console.print("graph cost over --no-graph (medians): "
                  + ", ".join(f"{m} {statistics.median(v) - base:+.2f} s" for m, v in times.items() if m != "no graph"))
    console.print(f"load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())} (os.cpu_count()={os.cpu_count()})")
    console.print(f"JVM fatal-error files left: {len(crash_files)}" + (f" {crash_files}" if crash_files else ""))
    for problem in problems:
        console.print(f"[red]problem[/red] {problem}")
    console.print(f"Total benchmark time: {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
