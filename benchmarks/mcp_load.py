"""MCP load: many concurrent clients of one ``gridsage mcp --transport http`` server, latency per tool.

Starts ``gridsage mcp --transport http`` in a subprocess on a free loopback port (``--max-sessions`` sized to the
clients), then runs ``--clients`` concurrent clients, each in its own MCP session through the SDK's streamable HTTP
client, each making ``--calls`` calls from a fixed mix: ``list_grids``, ``load_grid`` (``--grid``, default case118),
then ``run_power_flow`` on that grid and ``list_grids`` in turn (5 calls: list, load, power flow, list, power flow).
Every call is timed at the client, from request to result; a call that errs is counted, not timed.  The clients
skip the SDK client's revalidation of each result against the tool's output schema (``jsonschema`` in Python: about
30 ms per ``list_grids`` result), which in one process for 100 clients would measure the benchmark's own CPU on the
2 cores it shares with the server, not the server.

The baseline, measured in the same run against the same server: one client alone making the same calls.  The table
shows per tool the calls, errors, p50 and p99 under load [ms], the alone p50 and the ratio p50 under load / alone, and
the goals (2 cores): ``list_grids`` p99 < 200 ms (a cheap call never queues behind power flows) and
``run_power_flow`` p99 < 2 s.  Figures are medians over ``--repeats`` runs (a fresh server each run).

Run from the repository root::

    python benchmarks/mcp_load.py
    python benchmarks/mcp_load.py --clients 20 --calls 5 --repeats 3
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict

import anyio
import httpx2
from mcp import Client
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from rich.console import Console
from rich.table import Table

logging.getLogger("mcp").setLevel(logging.ERROR)
logging.getLogger("httpx").setLevel(logging.ERROR)
console = Console()
if not console.is_terminal:
    console = Console(width=160)

async def _no_revalidation(self, name, result) -> None:
    """Stands in for ``ClientSession.validate_tool_result`` (see the module docstring)."""


ClientSession.validate_tool_result = _no_revalidation
GOALS_MS = {"list_grids": 200.0, "run_power_flow": 2000.0}  # p99, on 2 cores
START_S = 60


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def server(max_sessions: int):
    """``gridsage mcp --transport http`` on a free loopback port; yields its URL once it accepts connections."""
    port = free_port()
    exe = shutil.which("gridsage")
    command = [exe] if exe else [sys.executable, "-m", "gridsage"]
    command += ["mcp", "--transport", "http", "--port", str(port), "--max-sessions", str(max_sessions)]
    env = {k: v for k, v in os.environ.items() if k != "GRIDSAGE_MCP_TOKEN"}
    with tempfile.TemporaryFile(mode="w+") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=tempfile.gettempdir(), env=env)
        try:
            deadline = time.monotonic() + START_S
            while True:
                if proc.poll() is not None:
                    log.seek(0)
                    raise SystemExit(f"server exited with {proc.returncode}:\n{log.read()[-3000:]}")
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise SystemExit(f"server did not accept connections within {START_S} s")
                    time.sleep(0.1)
            yield f"http://127.0.0.1:{port}/mcp"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def plan(calls: int, grid: str) -> list[tuple[str, dict]]:
    """The calls one client makes, in order (``run_power_flow`` gets the grid id ``load_grid`` returned)."""
    mix = [("list_grids", {}), ("load_grid", {"source": grid})]
    while len(mix) < calls:
        mix.append(("run_power_flow", {}) if len(mix) % 2 == 0 else ("list_grids", {}))
    return mix[:calls]


async def one_client(url: str, calls: list[tuple[str, dict]], times: dict[str, list[float]],
                     errors: dict[str, int], start: anyio.Event) -> None:
    async with (
        httpx2.AsyncClient(timeout=httpx2.Timeout(300.0)) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        await start.wait()
        grid_id = None
        for name, args in calls:
            if name == "run_power_flow":
                if grid_id is None:
                    errors[name] += 1
                    continue
                args = {"grid_id": grid_id}
            began = time.perf_counter()
            result = await client.call_tool(name, args)
            elapsed = (time.perf_counter() - began) * 1000
            if result.is_error:
                errors[name] += 1
                continue
            times[name].append(elapsed)
            if name == "load_grid":
                grid_id = result.structured_content["grid_id"]


async def load(url: str, clients: int, calls: list[tuple[str, dict]]):
    """Per tool: call times [ms] and error counts of ``clients`` concurrent clients (all connected before the start)."""
    times: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    start = anyio.Event()
    async with anyio.create_task_group() as tg:
        for _ in range(clients):
            tg.start_soon(one_client, url, calls, times, errors, start)
        await anyio.sleep(min(30.0, 0.05 * clients + 2.0))  # let every client connect (sessions open) first
        start.set()
    return times, errors


def quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog="Figures are medians over repeats; "
                                     "see the module docstring.", formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=100, help="concurrent clients (one MCP session each)")
    parser.add_argument("--calls", type=int, default=5, help="calls per client")
    parser.add_argument("--repeats", type=int, default=3, help="runs, each on a fresh server; medians are reported")
    parser.add_argument("--grid", default="case118", help="grid each client loads and solves")
    args = parser.parse_args()
    calls = plan(args.calls, args.grid)

    runs = []
    for repeat in range(args.repeats):
        with server(max_sessions=max(args.clients + 8, 16)) as url:
            anyio.run(load, url, 1, calls)  # warm-up: the server imports pandapower on its first grid
            alone, alone_errors = anyio.run(load, url, 1, calls)
            began = time.perf_counter()
            loaded, errors = anyio.run(load, url, args.clients, calls)
            wall = time.perf_counter() - began
        runs.append((alone, alone_errors, loaded, errors, wall))
        console.print(f"run {repeat + 1}/{args.repeats}: {wall:.1f} s wall, "
                      f"{sum(len(v) for v in loaded.values())} calls ok, {sum(errors.values())} errors", highlight=False)

    table = Table("tool", "calls", "errors", "p50 [ms]", "p99 [ms]", "alone p50 [ms]", "p50 ratio", "goal p99",
                  "meets", title=f"MCP over HTTP: {args.clients} clients x {args.calls} calls, {args.grid}, "
                  f"{os.cpu_count()} CPUs, medians of {args.repeats} runs", title_justify="left")
    for name in dict.fromkeys(name for name, _ in calls):
        p50 = statistics.median(quantile(run[2][name], 0.5) for run in runs)
        p99 = statistics.median(quantile(run[2][name], 0.99) for run in runs)
        alone = statistics.median(quantile(run[0][name], 0.5) for run in runs)
        goal = GOALS_MS.get(name)
        table.add_row(name, str(statistics.median(len(run[2][name]) for run in runs)),
                      str(statistics.median(run[3][name] for run in runs)), f"{p50:.0f}", f"{p99:.0f}", f"{alone:.0f}",
                      f"{p50 / alone:.1f}" if alone else "-", f"< {goal:.0f} ms" if goal else "-",
                      ("yes" if p99 < goal else "NO") if goal else "-")
    console.print(table)
    console.print(f"wall time per run: {statistics.median(run[4] for run in runs):.1f} s (median)", highlight=False)


if __name__ == "__main__":
    main()
