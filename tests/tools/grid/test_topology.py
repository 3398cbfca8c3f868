"""Graph tools against the embedded ArcadeDB: sync, re-sync, grids side by side, bounds, errors."""

from __future__ import annotations

import copy

import pandapower.networks as pn
import pytest

from gridsage.graph_store.sync import sync_network
from gridsage.errors import UnknownElementError
from gridsage.tools.grid.topology import (graph_downstream, graph_elements_at_bus, graph_neighbourhood, graph_outage_impact,
                                          graph_path, sync_graph)
from gridsage.tools.grid.grids import load_grid
from gridsage.tools.workspace import Workspace, current_workspace, use_workspace

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def grids(graph_store):
    from gridsage.graph_store.store import use_store

    with use_store(graph_store), use_workspace(Workspace()):
        yield {"case118": load_grid("case118", grid_id="t118").grid_id, "cigre": load_grid("cigre_mv", grid_id="tcigre").grid_id}


def test_sync_counts_and_is_idempotent(graph, grids):
    first = sync_graph(grids["case118"])
    again = sync_graph(grids["case118"])
    net = pn.case118()
    assert first.report.nodes == again.report.nodes == {"Bus": 118, "Line": len(net.line), "Trafo": len(net.trafo),
                                                        "Gen": len(net.gen), "Load": len(net.load), "ExtGrid": 1}
    assert again.report.connected == len(net.line) + len(net.trafo) and again.report.removed == 0
    assert "Neo4j/5" in first.server_agent and first.backend == "embedded-arcadedb"
    count = graph.read("MATCH (b:Bus {grid_id: $g}) RETURN count(b) AS n", g=grids["case118"])[0]["n"]
    assert count == 118  # MERGE: no duplicates after two syncs


def test_two_grids_side_by_side(graph, grids):
    sync_graph(grids["cigre"])
    counts = {r["g"]: r["n"] for r in graph.read(
        "MATCH (b:Bus) WHERE b.grid_id IN $ids RETURN b.grid_id AS g, count(b) AS n", ids=list(grids.values()))}
    assert counts == {grids["case118"]: 118, grids["cigre"]: len(pn.create_cigre_network_mv().bus)}
    assert graph_neighbourhood(grids["cigre"], 1, hops=1).total == 2  # bus 1's feeder neighbours, not case118's


def test_resync_reflects_in_service_changes(graph, grids):
    grid_id = grids["case118"]
    net = copy.deepcopy(current_workspace().get(grid_id).net)
    net.line.loc[6, "in_service"] = False
    sync_network(graph, net, grid_id)
    rows = graph.read("MATCH (a:Bus {grid_id: $g})-[c:CONNECTED {element_id: 'line:6'}]->() RETURN c.in_service AS live", g=grid_id)
    assert [r["live"] for r in rows] == [False]
    assert {b.bus for b in graph_neighbourhood(grid_id, 7, hops=1).buses} == {4, 29}  # bus 8 is gone from bus 7's view
    sync_graph(grid_id)  # back to the workspace's grid
    assert 8 in {b.bus for b in graph_neighbourhood(grid_id, 7, hops=1).buses}


def test_each_query_tool_on_cigre(graph, grids):
    cigre = grids["cigre"]
    elements = graph_elements_at_bus(cigre, 1)
    assert ("trafo", 0, "lv") in {(e.element, e.index, e.side) for e in elements.elements}
    assert graph_path(cigre, 0, 11, weight="impedance").buses[0] == 0
    downstream = graph_downstream(cigre, "trafo", 1)
    assert downstream.status == "isolates" and 12 in downstream.buses and 1 not in downstream.buses
    assert graph_outage_impact(cigre, "line", 12).status == "no_isolation"  # behind an open switch already


def test_downstream_on_case118_matches_outage_impact(graph, grids):
    downstream = graph_downstream(grids["case118"], "trafo", 12)
    assert downstream.buses == graph_outage_impact(grids["case118"], "trafo", 12).buses == [115]


def test_bounds_and_unknown_elements(graph, grids):
    bounded = graph_neighbourhood(grids["case118"], 48, hops=3, max_results=5)
    assert len(bounded.buses) == 5 and bounded.total > 5
    with pytest.raises(UnknownElementError) as info:
        graph_neighbourhood(grids["case118"], 999)
    assert info.value.field == "bus"
    with pytest.raises(UnknownElementError) as info:
        graph_outage_impact(grids["case118"], "trafo", 999)
    assert info.value.field == "index"
