"""N-1: lightsim2grid fast path against the pandapower loop, islanding, bounds, bad input."""

from __future__ import annotations

import pandapower as pp
import pandapower.networks as pn
import pytest

from gridsage.tools.grid.contingency import EXCEPTIONS_LISTED, run_contingency_analysis
from gridsage.errors import InputError, RequestTooLargeError
from gridsage.tools.grid.grids import load_grid
from gridsage.tools.workspace import current_workspace


def _ranking(result):
    return [(o.outage.element, o.outage.index) for o in result.top]


@pytest.mark.parametrize("source", ["case118", "pglib_opf_case118_ieee"])
def test_fast_path_and_fallback_rank_the_same_top10(workspace, source):
    """With every outage that the fast solver flags for a unit beyond its Q limit re-solved, the fast path ranks
    exactly as the pandapower loop (Q limits enforced in every solve)."""
    grid_id = load_grid(source).grid_id
    fast = run_contingency_analysis(grid_id, method="lightsim2grid", top=10, q_limit_check="all")
    slow = run_contingency_analysis(grid_id, method="pandapower", top=10)
    assert fast.method == "lightsim2grid" and slow.method == "pandapower"
    assert _ranking(fast) == _ranking(slow)
    for a, b in zip(fast.top, slow.top):
        assert a.max_loading_percent == pytest.approx(b.max_loading_percent, abs=1e-3)
        assert a.vm_min_pu == pytest.approx(b.vm_min_pu, abs=1e-5)
    assert (fast.contingencies_total, fast.islanding_count, fast.diverged_count) == \
        (slow.contingencies_total, slow.islanding_count, slow.diverged_count)


def test_batches_solved_side_by_side_give_the_single_thread_result(workspace, monkeypatch):
    """The fast path splits a sweep between threads (one lightsim2grid model each); the result must not change."""
    import gridsage.tools.grid.contingency as contingency

    grid_id = load_grid("case118").grid_id
    monkeypatch.setattr(contingency, "SWEEP_THREADS_MAX", 4)
    monkeypatch.setattr(contingency, "usable_cpus", lambda: 2)
    monkeypatch.setattr(contingency, "THREAD_BATCH_MIN", 8)  # 186 outages: several parts per sweep step
    threaded = run_contingency_analysis(grid_id, method="lightsim2grid", top=20)
    monkeypatch.setattr(contingency, "SWEEP_THREADS_MAX", 1)
    serial = run_contingency_analysis(grid_id, method="lightsim2grid", top=20)
    drop = {"elapsed_s", "contingencies_per_s", "evidence_id"}
    assert threaded.model_dump(exclude=drop) == serial.model_dump(exclude=drop)


def test_reported_outages_are_rechecked_with_q_limits(workspace):
    """By default only the reported outages are re-solved; each one then carries the loop's figures."""
    grid_id = load_grid("case118").grid_id
    fast = run_contingency_analysis(grid_id, method="lightsim2grid", top=10)
    slow = run_contingency_analysis(grid_id, method="pandapower", top=186)
    assert fast.q_limit_flagged_count > 0  # case118's units run into their Q limits after some outages
    exact = {(o.outage.element, o.outage.index): o for o in slow.top}
    rechecked = [o for o in fast.top if o.q_limits_rechecked]
    assert rechecked
    for o in rechecked:
        twin = exact[(o.outage.element, o.outage.index)]
        assert o.max_loading_percent == pytest.approx(twin.max_loading_percent, abs=1e-3)
        assert o.vm_min_pu == pytest.approx(twin.vm_min_pu, abs=1e-5)
        assert o.violation_count == twin.violation_count


def test_islanding_is_listed_never_as_zero_volts(case14):
    result = run_contingency_analysis(case14, top=20)
    assert result.contingencies_total == 20 and result.islanding_count == 1
    island = result.islanding[0]
    assert (island.outage.element, island.outage.index, island.status) == ("trafo", 3, "islanding")
    assert island.islanded_buses == [7]
    assert island.vm_min_pu > 0.9  # the energised rest, not 0 V
    assert all(v.index != 7 for v in island.violations if v.element == "bus")
    assert len(result.top) + result.diverged_count == 20  # islanding outages are ranked too, nothing dropped
    # with Q limits enforced, losing line 0 (from the slack) leaves no solution: plain pandapower agrees
    net = pn.case14()
    net.line.at[0, "in_service"] = False
    with pytest.raises(pp.powerflow.LoadflowNotConverged):
        pp.runpp(net, numba=False, lightsim2grid=False, enforce_q_lims=True, init="dc", max_iteration=50)
    assert [(o.outage.element, o.outage.index) for o in result.diverged] == [("line", 0)]


def test_pglib118_ranked_by_loading_then_excursion(ieee118):
    result = run_contingency_analysis(ieee118, top=5)
    loads = [o.max_loading_percent for o in result.top]
    assert loads == sorted(loads, reverse=True) and loads[0] > 300  # line 96 outage on real ratings
    assert result.top[0].outage.index == 96 and result.top[0].violations[0].citation.standard == "NERC TPL-001"
    assert result.contingencies_total == 186 and len(result.top) == 5  # 175 lines, 9 trafos, 2 impedance branches
    # the oracle: networkx on pandapower's own graph; an outage islands buses when removing it adds a component
    import networkx as nx
    import pandapower.topology as top

    net = current_workspace().get(ieee118).net
    graph = top.create_nxgraph(net, include_out_of_service=False)
    splits = set()
    for u, v, key in list(graph.edges(keys=True)):
        data = graph.get_edge_data(u, v, key)
        graph.remove_edge(u, v, key)
        if not nx.has_path(graph, u, v):
            splits.add(key)
        graph.add_edge(u, v, key=key, **data)
    assert {(o.outage.element, o.outage.index) for o in result.islanding} == splits
    assert result.islanding_count == len(splits) == 9 and {e for e, _ in splits} == {"line", "impedance"}


def test_bounds_and_bad_input(case14):
    with pytest.raises(RequestTooLargeError) as info:
        run_contingency_analysis(case14, max_contingencies=5)
    assert info.value.field == "max_contingencies"
    with pytest.raises(InputError) as info:
        run_contingency_analysis(case14, elements=["bus"])
    assert info.value.field.startswith("elements")
    with pytest.raises(InputError) as info:
        run_contingency_analysis(case14, top=0)
    assert info.value.field == "top"


def test_grid_with_two_slacks_falls_back_with_a_note(workspace):
    grid_id = load_grid("mv_oberrhein").grid_id
    result = run_contingency_analysis(grid_id, top=3)
    assert result.method == "pandapower" and any("slack" in n for n in result.notes)
    assert result.islanding_count > 0


def _oracle_islands(net):
    """Plain pandapower, no GridSage code: each branch out in turn, runpp; the buses energised before and without a
    voltage after, with the in-service load and generation there [MW]."""
    import numpy as np
    import pandapower as pp

    pp.runpp(net, lightsim2grid=False, numba=False)
    energised = net.bus.index[net.bus.in_service & net.res_bus.vm_pu.notna()]
    found = {}
    for element in ("line", "trafo"):
        for index in net[element].index[net[element].in_service]:
            net[element].at[index, "in_service"] = False
            try:
                pp.runpp(net, lightsim2grid=False, numba=False)
                dark = sorted(int(b) for b in energised if np.isnan(net.res_bus.vm_pu.at[b]))
            except pp.LoadflowNotConverged:
                dark = None
            net[element].at[index, "in_service"] = True
            if dark:
                at = lambda table: float(table.p_mw[table.in_service & table.bus.isin(dark)].sum())  # noqa: E731
                found[(element, int(index))] = (dark, at(net.load), at(net.gen) + at(net.sgen))
    return found


@pytest.mark.parametrize("source", ["case118", "case30"])
def test_islands_carry_the_load_and_generation_plain_pandapower_loses(workspace, source):
    import pandapower.networks as pn

    expected = _oracle_islands(getattr(pn, source)())
    assert expected  # both cases have radial branches, some to generator buses
    result = run_contingency_analysis(load_grid(source).grid_id, top=5)
    got = {(o.outage.element, o.outage.index): o for o in result.islanding}
    assert result.islanding_count == len(expected)
    # the list is bounded: the outages that cut off the most load, then generation, then in element order
    worst = sorted(expected, key=lambda k: (-round(expected[k][1], 3), -round(expected[k][2], 3)))[:EXCEPTIONS_LISTED]
    assert [o.lost_load_mw for o in result.islanding] == pytest.approx([expected[k][1] for k in worst], abs=1e-3)
    assert set(got) <= set(expected) and len(got) == min(len(expected), EXCEPTIONS_LISTED)
    for key, o in got.items():
        dark, load, generation = expected[key]
        assert o.islanded_buses == dark, key
        assert o.lost_load_mw == pytest.approx(load, abs=1e-3) and o.lost_generation_mw == pytest.approx(generation, abs=1e-3)
        assert [i.buses for i in o.islands] == [dark] and not o.islands[0].source  # topology agrees with the solver
    assert result.islanding_lost_generation_mw == pytest.approx(sum(g for _, _, g in expected.values()), abs=0.1)
    assert result.islanding_lost_load_mw == pytest.approx(sum(m for _, m, _ in expected.values()), abs=0.1)


def test_an_outage_that_cuts_the_slack_off_names_what_is_de_energised(workspace):
    # case9: the ext_grid at bus 0 reaches the grid through line 0 (bus 0-bus 3) only; its loss leaves buses 1-8
    # without a source: loads 90 + 100 + 125 = 315 MW and gens 163 + 85 = 248 MW (the case's own data)
    result = run_contingency_analysis(load_grid("case9").grid_id)
    line0 = next(o for o in result.islanding + result.diverged if (o.outage.element, o.outage.index) == ("line", 0))
    assert len(line0.islands) == 1
    island = line0.islands[0]
    assert (island.bus_count, island.buses, island.source) == (8, list(range(1, 9)), False)
    assert (island.load_mw, island.generation_mw) == (315.0, 248.0)


def test_the_grid_study_names_a_blackout_as_critical(workspace):
    from gridsage.reasoning.playbooks import assess
    from gridsage.reasoning.scenario import parse_scenario

    a = assess(parse_scenario("name: case9-as-is\ngrid: {source: case9}\n"), graph=False, workspace=workspace)
    named = [f for f in a.findings if f.elements and (f.elements[0].element, f.elements[0].index) == ("line", 0)]
    assert named and named[0].severity == "critical" and named[0].value == 315.0
    assert "separate 8 bus(es) from the main source: 315.0 MW of load (of 315.0 MW served in all) against 248.0 MW " \
           "of generation" in named[0].title
