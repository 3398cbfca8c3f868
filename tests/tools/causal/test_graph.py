"""Causal graphs: edges given by hand (order, ancestors, roles and units guessed from names, every rejection typed)
and graphs built from a pandapower net's topology, checked against nodes and edges written by hand for small nets
whose topology is obvious and for the CIGRE MV network's line and switch tables."""

from __future__ import annotations

import pytest

from gridsage.errors import InputError
from gridsage.tools.causal.graph import MAX_NODES, CausalGraph, feeder_causal_graph, graph_from_edges

THERMAL_EDGES = [["ambient_c", "trafo_0_theta_to_c"], ["trafo_0_p_mw", "trafo_0_theta_to_c"],
                 ["ambient_c", "feeder_0_load_p_mw"], ["feeder_0_load_p_mw", "trafo_0_p_mw"],
                 ["trafo_0_theta_to_c", "trafo_0_theta_h_c"], ["trafo_0_p_mw", "trafo_0_theta_h_c"],
                 ["irradiance_w_m2", "feeder_0_sgen_p_mw"], ["feeder_0_sgen_p_mw", "trafo_0_p_mw"],
                 ["switch_4_transfer_p_mw", "trafo_0_p_mw"]]


# ---------------------------------------------------------------------------------------------------- given edges

def test_given_edges_order_ancestors_roles_units():
    g = graph_from_edges(THERMAL_EDGES)
    assert g.source == "given"
    assert set(g.edges) == {tuple(e) for e in THERMAL_EDGES}
    order = g.names
    for cause, effect in THERMAL_EDGES:  # every cause before its effect
        assert order.index(cause) < order.index(effect)
    # ancestors of the hot spot: everything but itself; of the load: only ambient
    assert set(g.upstream("trafo_0_theta_h_c")) == set(order) - {"trafo_0_theta_h_c"}
    assert g.upstream("feeder_0_load_p_mw") == ["ambient_c"]
    assert g.upstream("ambient_c") == []
    up = g.upstream("trafo_0_theta_h_c")
    assert up.index("trafo_0_p_mw") < up.index("trafo_0_theta_to_c")
    expected = {"ambient_c": ("weather", "°C"), "irradiance_w_m2": ("weather", "W/m²"),
                "feeder_0_load_p_mw": ("load", "MW"), "feeder_0_sgen_p_mw": ("generation", "MW"),
                "switch_4_transfer_p_mw": ("switching", "MW"), "trafo_0_p_mw": ("flow", "MW"),
                "trafo_0_theta_to_c": ("thermal", "°C"), "trafo_0_theta_h_c": ("thermal", "°C")}
    assert {n.name: (n.role, n.unit) for n in g.nodes} == expected
    assert g.parents("trafo_0_theta_to_c") == ["ambient_c", "trafo_0_p_mw"] or \
        set(g.parents("trafo_0_theta_to_c")) == {"ambient_c", "trafo_0_p_mw"}
    nx_graph = g.to_networkx()
    assert set(nx_graph.edges) == {tuple(e) for e in THERMAL_EDGES}
    assert nx_graph.nodes["ambient_c"]["role"] == "weather"


def test_given_roles_and_units_override_guesses():
    g = graph_from_edges([["x_1", "y_2"]], roles={"x_1": "weather"}, units={"y_2": "kA"})
    assert g.node("x_1").role == "weather" and g.node("y_2").role == "flow"
    assert g.node("y_2").unit == "kA" and g.node("x_1").unit == ""


def test_unknown_node_lists_valid_names():
    g = graph_from_edges(THERMAL_EDGES)
    with pytest.raises(InputError) as err:
        g.node("trafo_9_p_mw")
    assert err.value.field == "target" and "trafo_0_p_mw" in err.value.fix
    with pytest.raises(InputError):
        g.upstream("nope")


def test_cycle_rejected_naming_its_nodes():
    with pytest.raises(InputError) as err:
        graph_from_edges([["a", "b"], ["b", "c"], ["c", "a"], ["z", "a"]])
    assert err.value.field == "edges"
    assert "a -> b -> c -> a" in err.value.message
    assert "z" not in err.value.message.split(":")[1]


@pytest.mark.parametrize("edges, field", [
    ([], "edges"),
    (None, "edges"),
    ([["a", "a"]], "edges[0]"),
    ([["a", "b"], ["b", "c; drop table"]], "edges[1]"),
    ([["a", "x" * 65]], "edges[0]"),
    ([["1abc", "b"]], "edges[0]"),
    ([["a", "b", "c"]], "edges[0]"),
    ([[f"n{i}", f"n{i + 1}"] for i in range(MAX_NODES)], "edges"),  # MAX_NODES + 1 nodes
])
def test_bad_edges_are_typed_errors(edges, field):
    with pytest.raises(InputError) as err:
        graph_from_edges(edges)
    assert err.value.field == field and err.value.fix


def test_max_nodes_accepted():
    g = graph_from_edges([[f"n{i}", f"n{i + 1}"] for i in range(MAX_NODES - 1)])
    assert len(g.nodes) == MAX_NODES and g.upstream(f"n{MAX_NODES - 1}")[0] == "n0"


def test_unknown_role_rejected():
    with pytest.raises(InputError) as err:
        graph_from_edges([["a", "b"]], roles={"a": "magic"})
    assert err.value.field == "roles"


def test_model_rejects_edge_to_missing_node():
    g = graph_from_edges([["a", "b"]])
    with pytest.raises(ValueError):
        CausalGraph(nodes=g.nodes, edges=[("a", "c")], source="given", assumptions=[])


# ---------------------------------------------------------------------------------------------- from topology

def _two_area_net():
    """Two 110/20 kV transformers; trafo 0 feeds a busbar (bus 1 + bus 2 by a closed bus-bus switch) with lines
    0 (1-3), 1 (3-4) and 2 (2-5); line 3 (4-11) ends at an open switch at bus 11, in trafo 1's area (bus 10, line
    4: 10-11); line 5 (3-5) is open at bus 5 (a loop inside trafo 0's area); an open bus-bus switch joins bus 1 to
    a dead bus 6; trafo 2 is out of service."""
    import pandapower as pp

    net = pp.create_empty_network()
    hv = pp.create_bus(net, 110)
    b = {i: pp.create_bus(net, 20, index=i) for i in (1, 2, 3, 4, 5, 6, 10, 11, 20)}
    pp.create_ext_grid(net, hv)
    for lv in (1, 10, 20):
        pp.create_transformer(net, hv, lv, std_type="25 MVA 110/20 kV")
    net.trafo.loc[2, "in_service"] = False
    std = "NA2XS2Y 1x185 RM/25 12/20 kV"
    for i, (f, t) in enumerate([(1, 3), (3, 4), (2, 5), (4, 11), (10, 11), (3, 5)]):
        pp.create_line(net, b[f], b[t], 1.0, std, index=i)
    pp.create_switch(net, b[1], b[2], et="b", closed=True)       # switch 0: busbar coupler
    s_tie = pp.create_switch(net, b[11], 3, et="l", closed=False)  # switch 1: the tie to trafo 1
    pp.create_switch(net, b[5], 5, et="l", closed=False)          # switch 2: loop inside trafo 0's area
    pp.create_switch(net, b[1], b[6], et="b", closed=False)       # switch 3: to a dead bus
    pp.create_load(net, b[1], p_mw=5.0)
    pp.create_load(net, b[2], p_mw=1.0)
    pp.create_load(net, b[4], p_mw=2.0, scaling=0.5)
    pp.create_load(net, b[5], p_mw=3.0)
    pp.create_load(net, b[5], p_mw=7.0, in_service=False)
    pp.create_load(net, b[11], p_mw=4.0)
    pp.create_sgen(net, b[4], p_mw=0.5, sn_mva=0.6)
    return net, int(s_tie)


def test_hand_built_net_trafo_0_nodes_and_edges():
    net, tie = _two_area_net()
    g = feeder_causal_graph(net, 0)
    assert g.source == "topology"
    sw = f"switch_{tie}_transfer_p_mw"
    p, to, hs = "trafo_0_p_mw", "trafo_0_theta_to_c", "trafo_0_theta_h_c"
    expected_nodes = {"ambient_c": "weather", "irradiance_w_m2": "weather", "busbar_1_load_p_mw": "load",
                      "feeder_0_load_p_mw": "load", "feeder_2_load_p_mw": "load", "feeder_0_sgen_p_mw": "generation",
                      sw: "switching", p: "flow", to: "thermal", hs: "reading"}
    assert {n.name: n.role for n in g.nodes} == expected_nodes
    expected_edges = {("ambient_c", "busbar_1_load_p_mw"), ("ambient_c", "feeder_0_load_p_mw"),
                      ("ambient_c", "feeder_2_load_p_mw"), ("irradiance_w_m2", "feeder_0_sgen_p_mw"),
                      ("busbar_1_load_p_mw", p), ("feeder_0_load_p_mw", p), ("feeder_2_load_p_mw", p),
                      ("feeder_0_sgen_p_mw", p), (sw, p), ("ambient_c", to), (p, to), (p, hs), (to, hs)}
    assert set(g.edges) == expected_edges and len(g.edges) == len(expected_edges)
    assert g.node("feeder_2_load_p_mw").element.element == "line" and g.node("feeder_2_load_p_mw").element.index == 2
    assert g.node(p).element.element == "trafo" and g.node(p).unit == "MW" and g.node(hs).unit == "°C"
    assert any("Steady state" in a for a in g.assumptions)
    assert set(g.upstream(hs)) == set(expected_nodes) - {hs}


def test_hand_built_net_feeder_contents():
    from gridsage.tools.causal.graph import feeder_area

    net, tie = _two_area_net()
    area = feeder_area(net, 0)
    by_node = {f.load_node: f for f in area.feeders}
    assert area.busbar == {1, 2}
    assert by_node["busbar_1_load_p_mw"].p_nom_mw == pytest.approx(6.0)      # 5 + 1 on the busbar
    assert by_node["feeder_0_load_p_mw"].p_nom_mw == pytest.approx(1.0)      # 2 MW · scaling 0.5 at bus 4
    assert by_node["feeder_0_load_p_mw"].buses == {3, 4}
    assert by_node["feeder_2_load_p_mw"].p_nom_mw == pytest.approx(3.0)      # the out-of-service 7 MW left out
    assert by_node["feeder_0_load_p_mw"].sgen_installed_mw == pytest.approx(0.6)
    assert [(t.switch, t.other_trafo, t.near_bus, t.far_bus) for t in area.ties] == [(tie, 1, 4, 11)]


def test_hand_built_net_trafo_1_has_no_irradiance():
    net, tie = _two_area_net()
    g = feeder_causal_graph(net, 1)
    assert g.names == ["ambient_c", "feeder_4_load_p_mw", f"switch_{tie}_transfer_p_mw", "trafo_1_p_mw",
                       "trafo_1_theta_to_c", "trafo_1_theta_h_c"]


def test_closing_the_tie_removes_it_and_merges_areas():
    net, tie = _two_area_net()
    net.switch.loc[tie, "closed"] = True
    g = feeder_causal_graph(net, 0)
    assert not any(n.role == "switching" for n in g.nodes)


@pytest.mark.parametrize("trafo", [2, 7, -1, "x", 0.5])
def test_bad_trafo_is_typed(trafo):
    net, _ = _two_area_net()
    with pytest.raises(InputError) as err:
        feeder_causal_graph(net, trafo)
    assert err.value.field == "trafo" and "0, 1" in err.value.fix and "2" not in err.value.fix


def test_lines_meeting_downstream_are_one_feeder():
    import pandapower as pp

    net = pp.create_empty_network()
    hv, lv, a, b, c = (pp.create_bus(net, v) for v in (110, 20, 20, 20, 20))
    pp.create_ext_grid(net, hv)
    pp.create_transformer(net, hv, lv, std_type="25 MVA 110/20 kV")
    std = "NA2XS2Y 1x185 RM/25 12/20 kV"
    pp.create_line(net, lv, a, 1, std)   # 0
    pp.create_line(net, lv, b, 1, std)   # 1
    pp.create_line(net, a, b, 1, std)    # 2: closed ring a-b -> lines 0 and 1 are one feeder
    pp.create_line(net, lv, c, 1, std)   # 3
    for bus in (a, b, c):
        pp.create_load(net, bus, p_mw=1.0)
    g = feeder_causal_graph(net, 0)
    loads = [n.name for n in g.nodes if n.role == "load"]
    assert loads == ["feeder_0_load_p_mw", "feeder_3_load_p_mw"]
    assert any("Lines 0, 1" in a for a in g.assumptions)
    assert "irradiance_w_m2" not in g.names


def test_many_feeders_are_capped_and_aggregated():
    import pandapower as pp
    from gridsage.tools.causal.graph import feeder_area

    net = pp.create_empty_network()
    hv, lv = pp.create_bus(net, 110), pp.create_bus(net, 20)
    pp.create_ext_grid(net, hv)
    pp.create_transformer(net, hv, lv, std_type="25 MVA 110/20 kV")
    total = 0.0
    for i in range(80):
        bus = pp.create_bus(net, 20)
        pp.create_line(net, lv, bus, 1, "NA2XS2Y 1x185 RM/25 12/20 kV")
        pp.create_load(net, bus, p_mw=0.1 + 0.01 * i)
        total += 0.1 + 0.01 * i
    g = feeder_causal_graph(net, 0)
    assert len(g.nodes) <= MAX_NODES
    assert "feeder_other_load_p_mw" in g.names and "feeder_79_load_p_mw" in g.names  # the largest kept
    assert "feeder_0_load_p_mw" not in g.names                                        # the smallest merged
    assert any("aggregated" in a for a in g.assumptions)
    assert sum(f.p_nom_mw for f in feeder_area(net, 0).feeders) == pytest.approx(total)


def test_columns_marginalise_missing_nodes():
    net, tie = _two_area_net()
    cols = ["time", "ambient_c", "busbar_1_load_p_mw", "trafo_0_p_mw", "trafo_0_theta_h_c", "other"]
    g = feeder_causal_graph(net, 0, columns=cols)
    assert g.names == ["ambient_c", "busbar_1_load_p_mw", "trafo_0_p_mw", "trafo_0_theta_h_c"]
    # feeder loads' parent (ambient) now points at their child (trafo p); theta_to's parents at its child
    assert set(g.edges) == {("ambient_c", "busbar_1_load_p_mw"), ("busbar_1_load_p_mw", "trafo_0_p_mw"),
                            ("ambient_c", "trafo_0_p_mw"), ("trafo_0_p_mw", "trafo_0_theta_h_c"),
                            ("ambient_c", "trafo_0_theta_h_c")}
    assert "marginalised" in g.assumptions[-1] and "trafo_0_theta_to_c" in g.assumptions[-1]


@pytest.mark.parametrize("cols", [["ambient_c", "trafo_0_theta_to_c", "trafo_0_theta_h_c"],
                                  ["ambient_c", "trafo_0_p_mw"]])
def test_columns_without_targets_rejected(cols):
    net, _ = _two_area_net()
    with pytest.raises(InputError) as err:
        feeder_causal_graph(net, 0, columns=cols)
    assert err.value.field == "columns"


def test_cigre_mv_trafo_0_against_line_and_switch_tables():
    import pandapower.networks as pn

    net = pn.create_cigre_network_mv(with_der="pv_wind")
    # by hand from the tables: bus 1 is trafo 0's LV bus; only line 0 (bus 1-2) leaves it; loads 0 and 10 sit on
    # bus 1; S1 (switch 4, line 14 from bus 14 of trafo 1's area to bus 8) is the only open tie; S2 (line 12,
    # bus 6-7) and S3 (line 13, bus 11-4) close loops inside trafo 0's area; PV at buses 3-11 and the wind park
    # at bus 7 are all on feeder 0
    lv = int(net.trafo.at[0, "lv_bus"])
    assert lv == 1
    assert list(net.line.index[(net.line.from_bus == lv) | (net.line.to_bus == lv)]) == [0]
    assert net.switch.at[4, "name"] == "S1" and not net.switch.at[4, "closed"]
    g = feeder_causal_graph(net, 0)
    assert g.names == ["ambient_c", "irradiance_w_m2", "busbar_1_load_p_mw", "feeder_0_load_p_mw",
                       "feeder_0_sgen_p_mw", "switch_4_transfer_p_mw", "trafo_0_p_mw", "trafo_0_theta_to_c",
                       "trafo_0_theta_h_c"]
    from gridsage.tools.causal.graph import feeder_area
    area = feeder_area(net, 0)
    by_node = {f.load_node: f for f in area.feeders}
    assert by_node["busbar_1_load_p_mw"].p_nom_mw == pytest.approx(14.994 + 4.845)
    assert by_node["feeder_0_load_p_mw"].buses == set(range(2, 12))
    assert sorted(by_node["feeder_0_load_p_mw"].sgens) == list(range(9))
    assert by_node["feeder_0_load_p_mw"].sgen_installed_mw == pytest.approx(0.02 * 2 + 0.03 * 4 + 0.04 + 0.01 + 1.5)
    g1 = feeder_causal_graph(net, 1)
    assert g1.names == ["ambient_c", "busbar_12_load_p_mw", "feeder_10_load_p_mw", "switch_4_transfer_p_mw",
                        "trafo_1_p_mw", "trafo_1_theta_to_c", "trafo_1_theta_h_c"]


def test_import_is_light():
    import subprocess
    import sys

    code = ("import sys, gridsage.tools.causal.graph, gridsage.tools.causal.simulate; "
            "print(sorted(m for m in ('dowhy', 'pandapower', 'networkx', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr[-500:]


def test_marginalised_fork_is_flagged():
    net, _ = _two_area_net()
    cols = ["busbar_1_load_p_mw", "feeder_0_load_p_mw", "trafo_0_p_mw", "trafo_0_theta_to_c"]
    g = feeder_causal_graph(net, 0, columns=cols)
    assert g.names == cols
    # ambient had several effects (loads, top oil): its removal leaves them a hidden common cause
    assert any("hidden common cause" in a and "ambient_c" in a for a in g.assumptions)
    assert set(g.edges) == {("busbar_1_load_p_mw", "trafo_0_p_mw"), ("feeder_0_load_p_mw", "trafo_0_p_mw"),
                            ("trafo_0_p_mw", "trafo_0_theta_to_c")}
