"""Graph tools against the embedded ArcadeDB: sync, re-sync, grids side by side, bounds, errors, N-k outages.

Expected topology comes from pandapower's own ``pandapower.topology.create_nxgraph`` with networkx."""

from __future__ import annotations

import copy

import networkx as nx
import pandapower.networks as pn
import pandapower.topology as top
import pytest

from gridsage.graph_store.sync import sync_network
from gridsage.errors import InputError, UnknownElementError
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


def test_sync_graph_is_skipped_when_the_graph_already_holds_the_grid(graph, grids):
    sync_graph(grids["cigre"])
    again = sync_graph(grids["cigre"])
    assert again.status == "unchanged" and again.report.skipped_unchanged and again.report.time_s < 5
    assert again.report.nodes["Bus"] == len(pn.create_cigre_network_mv().bus)
    rewritten = sync_graph(grids["cigre"], rewrite=True)
    assert rewritten.status == "synced" and rewritten.report.content_sha256 == again.report.content_sha256


def test_outage_set_on_cigre_lists_islands_and_bounds(graph, grids):
    net = pn.create_cigre_network_mv()
    g = top.create_nxgraph(net)
    h = g.copy()
    h.remove_edges_from([(u, v, k) for u, v, k in g.edges(keys=True) if k in (("trafo", 0), ("trafo", 1))])
    sources = set(net.ext_grid.bus)
    fed = {b for c in nx.connected_components(h) if c & sources for b in c}
    cut = {b for c in nx.connected_components(g) if c & sources for b in c} - fed
    islands = sorted((set(c) for c in nx.connected_components(h.subgraph(cut))), key=lambda c: (-len(c), min(c)))
    found = graph_outage_impact(grids["cigre"], outages=[{"element": "trafo", "index": 0}, {"element": "trafo", "index": 1},
                                                         {"element": "trafo", "index": 0}], max_results=3)
    assert [(o.element, o.index) for o in found.outages] == [("trafo", 0), ("trafo", 1)]  # the duplicate counts once
    assert (found.element, found.index) == (None, None)
    assert found.bus_count == len(cut) and found.buses == sorted(cut)[:3] and found.buses_omitted == len(cut) - 3
    assert found.island_count == len(islands) == 2 and [i.bus_count for i in found.islands] == [len(i) for i in islands]
    loads = net.load[net.load.bus.isin(cut) & net.load.in_service]
    assert found.load_lost_mw == pytest.approx(loads.p_mw.sum(), abs=1e-3)
    assert len(found.loads) == 3 and found.loads_omitted == len(loads) - 3
    assert sum(i.load_lost_mw for i in found.islands) == pytest.approx(found.load_lost_mw, abs=1e-2)
    single = graph_outage_impact(grids["cigre"], "trafo", 0)
    assert (single.element, single.index) == ("trafo", 0) and [(o.element, o.index) for o in single.outages] == [("trafo", 0)]


def test_outage_set_errors_name_the_field_and_the_fix(graph, grids):
    with pytest.raises(UnknownElementError) as info:
        graph_outage_impact(grids["case118"], outages=[{"element": "line", "index": 6}, {"element": "line", "index": 9999}])
    assert info.value.field == "outages[1].index" and "line 9999" in info.value.message and info.value.fix
    with pytest.raises(UnknownElementError) as info:
        graph_outage_impact(grids["case118"], outages=[{"element": "impedance", "index": 0}])
    assert info.value.field == "outages[0].index" and "no impedance" in info.value.message and "grid_summary" in info.value.fix
    with pytest.raises(InputError) as info:
        graph_outage_impact(grids["case118"], "line", 6, outages=[{"element": "line", "index": 7}])
    assert info.value.field == "outages" and "not both" in info.value.message
    with pytest.raises(InputError) as info:
        graph_outage_impact(grids["case118"])
    assert info.value.field == "element" and "outages=" in info.value.fix
    with pytest.raises(InputError) as info:
        graph_outage_impact(grids["case118"], outages=[{"element": "line", "index": i} for i in range(51)])
    assert info.value.field == "outages"
    with pytest.raises(InputError) as info:
        graph_outage_impact(grids["case118"], outages=[{"element": "cable", "index": 1}])
    assert info.value.field.startswith("outages[0].element")
