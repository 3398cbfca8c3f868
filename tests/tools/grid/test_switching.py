"""Switching as remedial candidates: feeder reconfiguration through a tie switch, and branch openings on meshed
grids; each re-checked here with plain pandapower and networkx (no GridSage code in the oracle)."""

from __future__ import annotations

import copy
import warnings
from pathlib import Path

import networkx as nx
import pandapower as pp
import pandapower.networks as pn
import pytest
import yaml
from pandapower.topology import create_nxgraph

from gridsage.errors import InputError, UnknownElementError
from gridsage.tools.grid.events import apply_events
from gridsage.tools.grid.grids import load_grid
from gridsage.tools.grid.remedial import LineSwitching, apply_actions, propose_remedial_actions
from gridsage.tools.workspace import current_workspace

SCENARIO = Path(__file__).resolve().parents[3] / "scenarios" / "cigre_mv_feeder_reconfiguration.yaml"
BAND = (0.90, 1.10)  # EN 50160 clause 5.2.2, the scenario's limits [pu]


def _scenario() -> dict:
    return yaml.safe_load(SCENARIO.read_text())


def _plain_cigre(scale: float):
    """The scenario's grid built with plain pandapower: CIGRE MV, every load scaled."""
    net = pn.create_cigre_network_mv()
    net.load[["p_mw", "q_mvar"]] *= scale
    return net


def _solve(net) -> None:
    pp.runpp(net, numba=False, lightsim2grid=False, enforce_q_lims=True)


def _live_graph(net):
    """In-service topology (switches respected) over the buses with a voltage, plain pandapower + networkx."""
    graph = create_nxgraph(net, respect_switches=True)
    return graph.subgraph([b for b, v in net.res_bus.vm_pu.items() if v == v]).copy()


@pytest.fixture(scope="module")
def feeder(workspace):
    data = _scenario()
    grid = load_grid(data["grid"]["source"]).grid_id
    return apply_events(grid, load_scale=data["scaling"]["load"], new_grid_id="cigre-feeder-x1.05").grid_id


def test_feeder_reconfiguration_clears_what_no_redispatch_can_and_keeps_radial(feeder):
    data = _scenario()
    limits = data["limits"]
    result = propose_remedial_actions(feeder, vm_min_pu=limits["vm_min_pu"], vm_max_pu=limits["vm_max_pu"])
    assert {v.name.split(" \"")[0] for v in result.violations_before} == set(data["expect"]["overloaded"])
    best = result.candidates[0]
    assert best.action.type == "load_transfer" and best.outcome == "clears_all" and best.cost_mw == 0
    assert result.load_shed_withheld > 0  # switching clears: firm load is not shed
    assert [c.entry_id for c in best.citations] == ["practice-feeder-load-transfer", "nerc-tpl-001-corrective-action-plan"]
    # independent: plain pandapower, the tie closed and the line opened, Q limits enforced
    net = _plain_cigre(data["scaling"]["load"])
    _solve(net)
    before = max(net.res_trafo.loading_percent.max(), net.res_line.loading_percent.max())
    assert before > 106  # trafo 0 at 106.9 % (CIGRE TB 575 ratings)
    assert nx.is_forest(_live_graph(net))
    after = copy.deepcopy(net)
    after.switch.at[best.action.close_switch, "closed"] = True
    after.line.at[best.action.open_line, "in_service"] = False
    _solve(after)
    assert after.res_line.loading_percent.max() <= 100 and after.res_trafo.loading_percent.max() <= 100
    assert after.res_bus.vm_pu.between(*BAND).all()  # every bus energised (no NaN) and within the band
    assert nx.is_forest(_live_graph(after)) and _live_graph(after).number_of_nodes() == len(after.bus)  # radial, none dark
    effect = next(e for e in best.effects if e.element.element == "trafo" and e.element.index == 0)
    assert effect.after == pytest.approx(after.res_trafo.loading_percent[0], abs=0.02)
    # independent: no redispatch within unit limits clears it; the AC OPF holding every branch to its rating fails
    opf = copy.deepcopy(net)
    opf.line["max_loading_percent"] = opf.trafo["max_loading_percent"] = 100.0
    opf.bus["min_vm_pu"], opf.bus["max_vm_pu"] = BAND
    with warnings.catch_warnings(), pytest.raises(pp.optimal_powerflow.OPFNotConverged):
        warnings.simplefilter("ignore")
        pp.runopp(opf, numba=False)
    assert not [c for c in result.candidates if c.action.type in ("redispatch", "gen_output", "dispatch")]


def test_every_reconfiguration_offered_keeps_the_feeder_radial(workspace):
    # demand +50 %: nothing clears, so every reconfiguration and shed is offered; each must leave a forest, no dark bus
    grid = apply_events(load_grid("cigre_mv").grid_id, load_scale=1.5, new_grid_id="cigre-x1.5").grid_id
    result = propose_remedial_actions(grid, max_candidates=50, opf=False)
    transfers = [c for c in result.candidates if c.action.type == "load_transfer"]
    assert transfers and all(c.action.open_line is not None for c in transfers)
    assert not [c for c in result.candidates if c.action.type == "line_switching" and not c.action.close]  # radial: any opening islands
    for c in transfers:
        net = _plain_cigre(1.5)
        net.switch.at[c.action.close_switch, "closed"] = True
        net.line.at[c.action.open_line, "in_service"] = False
        _solve(net)
        graph = _live_graph(net)
        assert nx.is_forest(graph) and graph.number_of_nodes() == len(net.bus), c.description
    ranks = [c.action.type for c in result.candidates if c.outcome == transfers[0].outcome]
    assert ranks.index("load_transfer") < ranks.index("load_shed")  # switching before shedding at equal outcome


@pytest.fixture(scope="module")
def meshed(workspace):
    grid = load_grid("pglib_opf_case39_epri", base_dispatch="opf").grid_id
    return apply_events(grid, events=[{"type": "line_outage", "line": 29}], new_grid_id="case39-trip29").grid_id


def test_an_islanding_opening_is_never_offered(meshed):
    result = propose_remedial_actions(meshed, max_candidates=50, opf=False)
    openings = [c for c in result.candidates if c.action.type == "line_switching" and not c.action.close]
    assert openings
    net = current_workspace().copy_net(meshed)
    _solve(net)
    graph = _live_graph(net)
    dark = set(net.res_bus.index[net.res_bus.vm_pu.isna()])  # buses the trip itself left without supply
    # bridges of the meshed grid (plain networkx on a simple graph: a branch with a parallel twin is no bridge)
    simple = nx.Graph()
    for u, v, key in graph.edges(keys=True):
        simple.add_edge(u, v, n=simple.get_edge_data(u, v, {"n": 0})["n"] + 1)
    bridges = {frozenset(e) for e in nx.bridges(simple) if simple.edges[e]["n"] == 1}
    assert bridges  # case39 has radial generator branches: openings that would island exist
    for c in openings:
        table = net[c.action.element]
        ends = (table.at[c.action.index, "from_bus"], table.at[c.action.index, "to_bus"]) if c.action.element == "line" \
            else (table.at[c.action.index, "hv_bus"], table.at[c.action.index, "lv_bus"])
        assert frozenset(map(int, ends)) not in bridges, c.description
        after = copy.deepcopy(net)
        table = after[c.action.element]
        table.at[c.action.index, "in_service"] = False
        _solve(after)
        assert set(after.res_bus.index[after.res_bus.vm_pu.isna()]) == dark  # nothing more de-energised
        if c.outcome != "diverged":
            worst = c.effects[0]
            value = after[f"res_{worst.element.element}"].loading_percent[worst.element.index]
            assert worst.after == pytest.approx(value, abs=0.05)


def test_line_switching_applies_to_a_copy_and_names_its_errors(meshed):
    loaded = current_workspace().copy_net(meshed)
    derived = apply_actions(meshed, [LineSwitching(element="line", index=0, close=False)])
    assert derived.parent_id == meshed and derived.changes[0].startswith("Open line 0")
    assert not current_workspace().get(derived.grid_id).net.line.at[0, "in_service"]
    assert current_workspace().get(meshed).net.line.at[0, "in_service"]  # the loaded grid never changes
    assert current_workspace().get(meshed).net.line.in_service.equals(loaded.line.in_service)
    back = apply_actions(derived.grid_id, [{"type": "line_switching", "element": "line", "index": 0, "close": True}])
    assert current_workspace().get(back.grid_id).net.line.at[0, "in_service"]
    with pytest.raises(InputError) as info:
        apply_actions(meshed, [{"type": "line_switching", "element": "line", "index": 29, "close": False}])
    assert info.value.field == "action.close" and "already open" in info.value.message  # line 29 tripped
    with pytest.raises(UnknownElementError) as info:
        apply_actions(meshed, [{"type": "line_switching", "element": "trafo", "index": 999, "close": False}])
    assert info.value.field == "action.index"


def test_a_load_transfer_applies_to_a_copy(feeder):
    derived = apply_actions(feeder, [{"type": "load_transfer", "close_switch": 4, "open_line": 9}])
    net = current_workspace().get(derived.grid_id).net
    assert net.switch.at[4, "closed"] and not net.line.at[9, "in_service"]
    parent = current_workspace().get(feeder).net
    assert not parent.switch.at[4, "closed"] and parent.line.at[9, "in_service"]
