"""`gridsage graph ...` as a user runs it: N-k outages from the command line, and a grid's sync kept across processes.

Real subprocesses on the embedded graph; expected topology from pandapower's ``create_nxgraph`` with networkx.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import networkx as nx
import pandapower as pp
import pandapower.networks as pn
import pandapower.topology as top
import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def gridsage(*args: str, graph_dir: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    env = dict(os.environ, GRIDSAGE_GRAPH_DIR=str(graph_dir))
    return subprocess.run([sys.executable, "-m", "gridsage", *args], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT, env=env)


@pytest.fixture(autouse=True)
def stop_graph_servers(tmp_path):
    """Stop the graph servers these CLI runs start (one per graph folder) when the test ends."""
    yield
    from gridsage.graph_store.server import stop_server

    for folder in (tmp_path, tmp_path / "graph"):
        stop_server(folder)


def isolated_by(net, keys) -> set[int]:
    g = top.create_nxgraph(net)
    h = g.copy()
    h.remove_edges_from([(u, v, k) for u, v, k in g.edges(keys=True) if k in keys])
    sources = set(net.ext_grid.bus) | set(net.gen.bus[net.gen.slack])
    fed = lambda graph: {b for c in nx.connected_components(graph) if c & sources for b in c}  # noqa: E731
    return {int(b) for b in fed(g) - fed(h)}


def test_two_lines_tripping_together_from_the_command_line(tmp_path):
    net = pn.case118()
    expected = isolated_by(net, {("line", 40), ("line", 44)})
    assert isolated_by(net, {("line", 40)}) == isolated_by(net, {("line", 44)}) == set() and len(expected) == 1
    load_mw = net.load.p_mw[net.load.bus.isin(expected)].sum()
    done = gridsage("graph", "outage", "-g", "case118", "--outage", "line:40", "--outage", "line:44", graph_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    assert f"outage of line 40, line 44: isolated 1 bus(es) {sorted(expected)}" in text and f"{load_mw:.2f} MW of load" in text
    bad = gridsage("graph", "outage", "-g", "case118", "--outage", "line-40", graph_dir=tmp_path)
    assert bad.returncode == 2 and "--outage[0]" in bad.stderr and "Fix:" in bad.stderr and "line:12" in bad.stderr
    unknown = gridsage("graph", "outage", "-g", "case118", "-o", "line:40", "-o", "trafo:999", "-f", "json", graph_dir=tmp_path)
    assert unknown.returncode == 2 and "outages[1].index" in unknown.stderr and "trafo 999" in unknown.stderr
    helped = gridsage("graph", "outage", "--help", graph_dir=tmp_path)
    assert "--outage line:40 --outage line:44" in " ".join(helped.stdout.split())


def test_sync_is_kept_across_processes_and_redone_when_the_grid_changes(tmp_path):
    graph_dir, grid = tmp_path / "graph", tmp_path / "grid118.json"
    net = pn.case118()
    pp.to_json(net, str(grid))
    first = gridsage("graph", "sync", "-g", str(grid), "-f", "json", graph_dir=graph_dir)
    assert first.returncode == 0, first.stderr
    second = gridsage("graph", "sync", "-g", str(grid), "-f", "json", graph_dir=graph_dir)
    assert second.returncode == 0, second.stderr
    written, skipped = json.loads(first.stdout), json.loads(second.stdout)
    assert (written["status"], written["report"]["skipped_unchanged"]) == ("synced", False)
    assert (skipped["status"], skipped["report"]["skipped_unchanged"]) == ("unchanged", True)
    assert skipped["report"]["content_sha256"] == written["report"]["content_sha256"]

    query = textwrap.dedent(f"""
        from gridsage.tools.grid import graph_neighbourhood, load_grid
        from gridsage.tools.workspace import current_workspace
        grid_id = load_grid({str(grid)!r}, base_dispatch="file").grid_id
        found = graph_neighbourhood(grid_id, 7, hops=1)
        print(current_workspace().get(grid_id).cache["graph_sync"].skipped_unchanged, sorted(b.bus for b in found.buses))
    """)
    env = dict(os.environ, GRIDSAGE_GRAPH_DIR=str(graph_dir))
    done = subprocess.run([sys.executable, "-c", query], capture_output=True, text=True, timeout=240, cwd=ROOT, env=env)
    assert done.returncode == 0, done.stderr
    expected = sorted(int(b) for b in set(nx.ego_graph(top.create_nxgraph(net), 7, radius=1)) - {7})
    assert done.stdout.split("\n")[0] == f"True {expected}"  # a query tool in another process: no write either

    net.line.loc[6, "in_service"] = False  # the same grid id, changed content
    pp.to_json(net, str(grid))
    changed = gridsage("graph", "neighbours", "-g", str(grid), "--bus", "7", "--hops", "1", "-f", "json", graph_dir=graph_dir)
    assert changed.returncode == 0, changed.stderr
    expected = sorted(int(b) for b in set(nx.ego_graph(top.create_nxgraph(net), 7, radius=1)) - {7})
    assert sorted(b["bus"] for b in json.loads(changed.stdout)["buses"]) == expected and 8 not in expected
    after = json.loads(gridsage("graph", "sync", "-g", str(grid), "-f", "json", graph_dir=graph_dir).stdout)
    assert after["status"] == "unchanged" and after["report"]["content_sha256"] != written["report"]["content_sha256"]
