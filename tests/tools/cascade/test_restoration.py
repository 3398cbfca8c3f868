"""The restoration planner against a hand-worked order, plain pandapower re-checks, and a public case.

Every expected value is worked out below by hand on grids built here, or computed with plain pandapower calls
(``pp.runpp`` on states rebuilt with plain pandas edits, the res_* tables); none is copied from GridSage's output.

Shared figures (restated here as the oracle):

* Voltage band 0.95-1.05 pu (ANSI C84.1 Range A), thermal limit 100 % of rating (NERC TPL-001 Table 1).
* IEEE C37.112 very inverse relay, TD 1, pickup 100 %: t = 19.61 / (M^2 - 1) + 0.491 s.
* Pickup block: at most max_pickup_percent of the island's online unit capacity (sum of max_p_mw), and at most the
  units' headroom; an ext_grid without max_p_mw is an unlimited supply (no block limit).
* Rebalance: units share the island's demand in proportion to their pre-event outputs; ext_grid islands: the
  ext_grid takes up the change.
"""

from __future__ import annotations

import copy
import math

import pandapower as pp
import pytest

from gridsage.errors import InputError, UnknownElementError
from gridsage.tools.cascade import CascadeOptions, cascade_on_net
from gridsage.tools.cascade.restoration import plan_restoration, restoration_on_net
from gridsage.tools.workspace import Grid

X = dict(r_ohm_per_km=0.0, x_ohm_per_km=0.4, c_nf_per_km=0.0)


def ka(mva: float, kv: float = 110.0) -> float:
    """Current of ``mva`` at ``kv`` [kA]: I = S / (sqrt(3) V)."""
    return mva / (math.sqrt(3) * kv)


def area_grid():
    """A main grid (bus 0, ext_grid, 50 MW) feeding an area (buses 1-3) over two ties; lossless lines (r = 0, no
    charging), unity power factor loads.

    ::

        bus 0 (ext_grid; load 3: 50 MW) --- line 0, 10 km (tie A) --- bus 1 (gen 0: black start, 30 MW, Pmax 60; load 0: 10 MW)
           |                                                              |
           |                                                          line 1, 10 km
           |                                                              |
           |                                                            bus 2 (load 1: 50 MW, critical)
           |                                                              |
           |                                                          line 2, 10 km
           |                                                              |
           +--- line 3, 60 km (tie B, rated 80 MVA) --------------------- bus 3 (gen 1: 50 MW, Pmax 100; load 2: 120 MW)
    """
    net = pp.create_empty_network()
    b = [pp.create_bus(net, 110.0) for _ in range(4)]
    pp.create_ext_grid(net, b[0], vm_pu=1.0)
    pp.create_load(net, b[1], p_mw=10.0, q_mvar=0.0)   # load 0
    pp.create_load(net, b[2], p_mw=50.0, q_mvar=0.0)   # load 1 (critical)
    pp.create_load(net, b[3], p_mw=120.0, q_mvar=0.0)  # load 2
    pp.create_load(net, b[0], p_mw=50.0, q_mvar=0.0)   # load 3 (main grid)
    pp.create_gen(net, b[1], p_mw=30.0, vm_pu=1.0, min_p_mw=0.0, max_p_mw=60.0, min_q_mvar=-100.0, max_q_mvar=100.0)
    pp.create_gen(net, b[3], p_mw=50.0, vm_pu=1.0, min_p_mw=0.0, max_p_mw=100.0, min_q_mvar=-100.0, max_q_mvar=100.0)
    net.gen["black_start"] = [True, False]
    pp.create_line_from_parameters(net, b[0], b[1], 10.0, max_i_ka=ka(300), **X)  # line 0: tie A (initiator)
    pp.create_line_from_parameters(net, b[1], b[2], 10.0, max_i_ka=ka(300), **X)  # line 1
    pp.create_line_from_parameters(net, b[2], b[3], 10.0, max_i_ka=ka(300), **X)  # line 2
    pp.create_line_from_parameters(net, b[0], b[3], 60.0, max_i_ka=ka(80), **X)   # line 3: tie B, 80 MVA
    return net


@pytest.fixture(scope="module")
def area_run():
    """The cascade after tie A (line 0) is lost, UFLS off, and its restoration plan (max_pickup_percent 10,
    load 1 critical)."""
    net = area_grid()
    cascade = cascade_on_net(net, [("line", 0)], CascadeOptions(ufls=False))
    plan = restoration_on_net(net, cascade.final_net, [("line", 0)], critical_loads=[1], max_pickup_percent=10.0)
    return net, cascade, plan


def test_the_cascade_blacks_out_the_area(area_run):
    """Hand computation: with tie A out, tie B carries the area's whole import, 180 - 80 = 100 MW: M = 100/80 = 1.25,
    t = 19.61 / (1.5625 - 1) + 0.491 = 35.35 s
    at exactly 125 %; it trips.  The area (demand 180 MW, capacity 60 + 100 = 160 MW) has
    no settling point without UFLS: it collapses, 180 MW lost, both units out."""
    net, cascade, _ = area_run
    trip = next(e for e in cascade.events if e.cause == "overload_trip")
    assert (trip.element.element, trip.element.index) == ("line", 3)
    # AC adds the reactive flow and a voltage a little below 1 pu: loading a little above 125 % (tolerance 1.5 %)
    assert trip.loading_percent == pytest.approx(125.0, abs=1.5)
    m = trip.loading_percent / 100
    assert trip.time_s == pytest.approx(19.61 / (m * m - 1) + 0.491, rel=1e-3)
    assert cascade.load_lost_mw == pytest.approx(180.0)
    after = cascade.final_net
    assert not after.gen.in_service.any() and list(after.load.in_service) == [False, False, False, True]


def test_the_order_and_the_mw_per_step_follow_the_hand_plan(area_run):
    """Hand plan (max_pickup_percent 10 %, load 1 critical; black start: gen 0, whose black_start column is True).

    1. black_start gen 0 (bus 1 is dark and holds the black-start unit).
    2-3. cranking path to gen 1 at bus 3: from the energised buses {0, 1}, via lines 1 + 2 (x 4 + 4 = 8 ohm) rather
       than tie B (24 ohm): line 1, then line 2.
    4. start_unit gen 1.
    Island {1, 2, 3}: capacity 60 + 100 = 160 MW, block limit 16 MW.
    5-8. critical load 1 (50 MW): 16, 16, 16, 2 MW.
    9-14. the other loads largest first (load 2, 120 MW): 16 MW x 6 = 96 MW (demand 146 MW).
    15. headroom 160 - 146 = 14 MW < 16: a 14 MW block (both units at Pmax: 60 and 100 MW).
    16. no headroom: resynchronise tie B (line 3) with the main grid.
    17. the island now holds the ext_grid (unlimited supply, no block limit): the rest in one block, load 0's 10 MW
        and load 2's 10 MW (equal MW left: the lower index first).
    Total restored 50 + 96 + 14 + 20 = 180 MW = the load lost; tie A (the initiating outage) stays out.
    """
    _, cascade, plan = area_run
    kinds = [(s.action, [(e.element, e.index) for e in s.elements]) for s in plan.steps]
    assert kinds[:4] == [("black_start", [("gen", 0)]), ("energise_branch", [("line", 1)]),
                         ("energise_branch", [("line", 2)]), ("start_unit", [("gen", 1)])]
    assert [s.action for s in plan.steps[4:15]] == ["pick_up_load"] * 11
    assert [s.elements[0].index for s in plan.steps[4:8]] == [1, 1, 1, 1]
    assert [s.load_restored_mw for s in plan.steps[4:15]] == pytest.approx([16, 16, 16, 2] + [16] * 6 + [14], abs=0.01)
    assert all(s.block_limit_mw == pytest.approx(16.0) for s in plan.steps[4:15])
    assert kinds[15] == ("resynchronise", [("line", 3)])
    last = plan.steps[16]
    assert last.action == "pick_up_load" and [e.index for e in last.elements] == [0, 2]
    assert last.element_mw == pytest.approx([10.0, 10.0], abs=0.01) and last.block_limit_mw is None
    assert len(plan.steps) == 17
    assert plan.status == "restored" and plan.all_load_restored and plan.load_unrestored_mw == pytest.approx(0.0)
    assert plan.load_lost_mw == pytest.approx(180.0) and plan.load_restored_mw == pytest.approx(180.0, abs=0.01)
    assert plan.pre_event_load_mw == pytest.approx(230.0)
    assert [s.cumulative_load_mw for s in plan.steps[4:8]] == pytest.approx([66, 82, 98, 100], abs=0.01)
    assert plan.steps[-1].cumulative_percent == pytest.approx(100.0, abs=1e-3)
    assert [(e.element, e.index) for e in plan.branches_left_open] == [] and plan.units_not_restarted == []
    final = plan.final_net
    assert not final.line.in_service[0] and final.line.in_service[[1, 2, 3]].all()
    assert list(final.load.p_mw) == pytest.approx([10.0, 50.0, 120.0, 50.0])


def test_every_step_rechecked_with_plain_pandapower(area_run):
    """Each step's state rebuilt from the listed actions, applied with plain pandas edits to the cascade's final
    net (the dark area's lines 1 and 2 opened first), and solved with ``pp.runpp`` (Q limits enforced).

    Dispatch by hand: the area island's units share its demand D in proportion to their pre-event outputs, 30 : 50
    (lossless lines, so D is the load): gen 0 at 3/8 D, gen 1, the slack, at 5/8 D; once tie B is closed the ext_grid
    takes up the change.  Checks: every energised bus within 0.95-1.05 pu, every in-service line within 100 %,
    every gen within its P limits (with 0.05 MW for solver accuracy) and Q limits, and the load served equals the
    step's cumulative figure.
    """
    _, cascade, plan = area_run
    net = copy.deepcopy(cascade.final_net)
    net.line.loc[[1, 2], "in_service"] = False
    net.gen["slack"] = False
    for k in (0, 1):  # the plan restarts units from zero output
        net.gen.at[k, "p_mw"] = 0.0
    pre = {0: 10.0, 1: 50.0, 2: 120.0, 3: 50.0}
    for step in plan.steps:
        for e, mw in zip(step.elements, step.element_mw or [None] * len(step.elements)):
            if e.element == "load":
                served = (net.load.at[e.index, "p_mw"] if net.load.at[e.index, "in_service"] else 0.0) + mw
                net.load.at[e.index, "p_mw"] = served
                net.load.at[e.index, "in_service"] = True
            else:
                net[e.element].at[e.index, "in_service"] = True
        tie = bool(net.line.in_service[3])
        area = float(net.load.p_mw[net.load.in_service & net.load.bus.isin([1, 2, 3])].sum())
        net.gen["slack"] = False
        if not tie and net.gen.in_service.all():
            net.gen.at[0, "p_mw"], net.gen.at[1, "p_mw"] = 3 / 8 * area, 5 / 8 * area
            net.gen.at[1, "slack"] = True
        elif not tie:
            net.gen.at[0, "slack"] = True
        pp.runpp(net, numba=False, enforce_q_lims=True)
        vm = net.res_bus.vm_pu.dropna()
        assert ((vm >= 0.95 - 1e-6) & (vm <= 1.05 + 1e-6)).all(), step.step
        assert step.vm_min_pu == pytest.approx(vm.min(), abs=1e-3) and step.vm_max_pu == pytest.approx(vm.max(), abs=1e-3)
        loading = net.res_line.loading_percent[net.line.in_service]
        assert (loading <= 100.0 + 1e-6).all(), step.step
        on = net.gen.in_service
        p, q = net.res_gen.p_mw[on], net.res_gen.q_mvar[on]
        assert (p <= net.gen.max_p_mw[on] + 0.05).all() and (p >= net.gen.min_p_mw[on] - 0.05).all(), step.step
        assert (q <= net.gen.max_q_mvar[on] + 0.05).all() and (q >= net.gen.min_q_mvar[on] - 0.05).all(), step.step
        served = float(net.res_load.p_mw[net.load.in_service].sum())
        assert served == pytest.approx(step.cumulative_load_mw, abs=0.01), step.step
        assert step.units_within_limits and step.within_limits and step.solution == "ac"
    assert dict(net.load.p_mw) == pytest.approx(pre)


def test_without_a_black_start_unit_the_dark_load_is_named_unrestorable():
    """Hand reasoning: the area is reachable only over tie A (the initiating outage, stays out) and tie B.  With tie
    B also made an initiator and no black-start unit inside (black_start given as the ext_grid alone), nothing can
    energise buses 1-3: all 180 MW of the area stay out, each load named with its MW and the reason."""
    net = area_grid()
    cascade = cascade_on_net(net, [("line", 0), ("line", 3)], CascadeOptions(ufls=False))
    assert cascade.load_lost_mw == pytest.approx(180.0)
    plan = restoration_on_net(net, cascade.final_net, [("line", 0), ("line", 3)], black_start=[("ext_grid", 0)])
    assert plan.status == "partial" and not plan.all_load_restored
    assert plan.load_unrestored_mw == pytest.approx(180.0)
    assert {u.load.index: u.p_mw for u in plan.unrestored} == pytest.approx({0: 10.0, 1: 50.0, 2: 120.0})
    assert all(u.reason == "no black-start unit and no path from an energised island" for u in plan.unrestored)
    assert plan.steps == []


def test_nothing_lost_nothing_to_do():
    """Hand computation: 50 MW over two parallel 100 MVA lines; one out leaves the other at about 50 %: no trip, no
    load lost.  The initiating outage stays out, so the plan has no step."""
    net = pp.create_empty_network()
    b0, b1 = pp.create_bus(net, 110.0), pp.create_bus(net, 110.0)
    pp.create_ext_grid(net, b0, vm_pu=1.0)
    pp.create_load(net, b1, p_mw=50.0, q_mvar=0.0)
    for _ in range(2):
        pp.create_line_from_parameters(net, b0, b1, 10.0, max_i_ka=ka(100), **X)
    cascade = cascade_on_net(net, [("line", 0)])
    assert cascade.load_lost_mw == pytest.approx(0.0)
    plan = restoration_on_net(net, cascade.final_net, [("line", 0)])
    assert plan.status == "nothing_to_restore" and plan.steps == []
    assert plan.load_lost_mw == pytest.approx(0.0) and plan.all_load_restored and plan.load_unrestored_mw == 0.0


@pytest.fixture(scope="module")
def area_grid_id(workspace):
    workspace.add(Grid(grid_id="area", source="test", net=area_grid()))
    return "area"


def test_the_tool_reports_the_plan_with_bounded_lists(area_grid_id):
    result = plan_restoration(area_grid_id, ["line:0"], ufls=False, critical_loads=["load:1"], max_pickup_percent=10,
                              max_rows=5)
    assert result.evidence_id and result.status == "restored" and result.all_load_restored
    assert result.step_count == 17 and len(result.steps) == 5 and result.steps_omitted == 12
    assert result.load_lost_mw == pytest.approx(180.0) and result.cascade_status == "stable"
    assert {c.entry_id for c in result.citations} >= {"nerc-eop-005-system-restoration-blackstart",
                                                     "practice-restoration-load-pickup-blocks"}
    assert {lim.name for lim in result.limits} == {"voltage_band", "thermal_normal"}
    view = result.compact()
    assert "17 steps" in view.headline() and "all load restored" in view.headline()
    assert view.steps[0].action == "black_start" and len(view.steps) == 5 and view.omitted["steps"] == 12


@pytest.mark.parametrize("kwargs, field, error", [
    ({"black_start_units": ["gen:9"]}, "black_start_units[0]", UnknownElementError),
    ({"black_start_units": ["load:1"]}, "black_start_units[0]", InputError),
    ({"critical_loads": ["gen:1"]}, "critical_loads[0]", InputError),
    ({"critical_loads": ["load:1", "load:7"]}, "critical_loads[1]", UnknownElementError),
    ({"critical_loads": ["load:1", "load:1"]}, "critical_loads[1]", InputError),
])
def test_bad_references_are_typed_errors_naming_the_field(area_grid_id, kwargs, field, error):
    with pytest.raises(error) as caught:
        plan_restoration(area_grid_id, ["line:0"], **kwargs)
    assert caught.value.field == field and caught.value.fix


def test_public_case9_all_load_restored_after_a_cascade(workspace):
    """Acceptance on a public grid: pandapower's WSCC 9-bus case (``case9``, loaded through the workspace), line 6
    (bus 7-bus 1, gen 0's only connection) lost.

    Hand computation: gen 0 (163 MW) is cut off; the rest (ext_grid Pmax 250 MW + gen 1 Pmax 270 MW = 520 MW,
    carrying 315 MW of load) is short of 163 MW: droop estimate 60 (1 - 0.05 * 163 / 520) = 59.06 Hz < 59.3 Hz, so
    UFLS stage 1 sheds 5 % of the 315 MW: 15.75 MW lost (59.15 Hz after it, above 58.9 Hz).  gen 0, alone on its bus
    with no load, trips at its 10 MW minimum.  Restoration: gen 0's bus can only be reached over line 6 (the
    initiating outage, stays out), so gen 0 stays out; the energised island's block limit is 5 % of 520 MW = 26 MW
    (GridSage default), more than the 15.75 MW shed: one pickup step restores all of it.

    Oracle: the pre-event load and the per-load demand from plain pandapower tables of the case; the final state
    re-solved with plain ``pp.runpp`` (Q limits enforced): every energised bus within 0.95-1.05 pu, every in-service
    line within 100 %, every unit within its P and Q limits.
    """
    from gridsage.tools.grid.grids import load_grid

    grid_id = load_grid("case9", grid_id="case9-restoration").grid_id
    net = workspace.get(grid_id).net
    pre_event = float((net.load.p_mw * net.load.scaling)[net.load.in_service].sum())
    assert pre_event == pytest.approx(315.0)
    result = plan_restoration(grid_id, ["line:6"])
    print(f"case9 line 6: {result.load_lost_mw} MW lost ({result.cascade_status}); {result.step_count} step(s); "
          f"MW per step {[s.load_restored_mw for s in result.steps]}; unrestored {result.load_unrestored_mw} MW")
    assert result.load_lost_mw == pytest.approx(0.05 * 315.0, abs=0.01)
    assert result.status == "restored" and result.all_load_restored and result.load_unrestored_mw == 0.0
    assert result.step_count > 0 and result.step_count == 1
    step = result.steps[0]
    assert step.action == "pick_up_load" and step.load_restored_mw == pytest.approx(15.75, abs=0.01)
    assert step.block_limit_mw == pytest.approx(0.05 * (250.0 + 270.0), abs=0.01)
    assert step.cumulative_load_mw == pytest.approx(pre_event, abs=0.01) and step.cumulative_percent == pytest.approx(100.0)
    assert [(u.element, u.index) for u in result.units_not_restarted] == [("gen", 0)]

    # the final state, rebuilt with plain pandas edits and solved with plain pandapower; dispatch by hand: gen 1 and
    # the ext_grid share the demand (load + losses) in proportion to their pre-event outputs (85 MW and the ext_grid's
    # pre-event output), the losses found by repeating the solve
    before = copy.deepcopy(net)
    pp.runpp(before, numba=False, enforce_q_lims=True)
    ext0, gen1 = float(before.res_ext_grid.p_mw[0]), float(before.res_gen.p_mw[1])
    final = copy.deepcopy(net)
    final.line.at[6, "in_service"] = False
    final.gen.at[0, "in_service"] = False
    losses = 0.0
    for _ in range(4):
        final.gen.at[1, "p_mw"] = gen1 / (gen1 + ext0) * (pre_event + losses)
        pp.runpp(final, numba=False, enforce_q_lims=True)
        losses = float(final.res_line.pl_mw.sum() + final.res_trafo.pl_mw.sum())
    assert float(final.res_load.p_mw.sum()) == pytest.approx(pre_event, abs=1e-6)
    vm = final.res_bus.vm_pu.dropna()
    assert ((vm >= 0.95) & (vm <= 1.05)).all()
    assert (final.res_line.loading_percent[final.line.in_service] <= 100.0).all()
    on = final.gen.in_service
    assert (final.res_gen.p_mw[on] <= final.gen.max_p_mw[on]).all()
    assert (final.res_gen.q_mvar[on] <= final.gen.max_q_mvar[on] + 1e-6).all()
    assert (final.res_gen.q_mvar[on] >= final.gen.min_q_mvar[on] - 1e-6).all()
    ext = final.res_ext_grid.iloc[0]
    assert net.ext_grid.min_p_mw[0] <= ext.p_mw <= net.ext_grid.max_p_mw[0]
    assert net.ext_grid.min_q_mvar[0] <= ext.q_mvar <= net.ext_grid.max_q_mvar[0]
    assert step.vm_min_pu == pytest.approx(float(vm.min()), abs=2e-3)
    assert step.vm_max_pu == pytest.approx(float(vm.max()), abs=2e-3)


@pytest.mark.parametrize("line, dark_buses", [
    (5, range(6, 18)),    # main feeder cut at bus 5 - bus 6: buses 6-17 dark
    (24, range(25, 33)),  # lateral cut at bus 5 - bus 25: buses 25-32 dark
])
def test_public_case33bw_dark_area_restored_by_rerouting(workspace, line, dark_buses):

    """Acceptance on a public grid with a dark area: pandapower's Baran & Wu 33-bus feeder (``case33bw``, M. E. Baran,
    F. F. Wu, IEEE Trans. Power Delivery 4(2), 1989), loaded through the workspace; line 5 (bus 5 - bus 6) or line
    24 (bus 5 - bus 25) lost.

    Hand reasoning: the feeder's main branch is bus 0-1-...-17 with line i joining bus i and bus i + 1, the lateral
    bus 5-25-...-32 is lines 24-31, and the five tie lines 32-36 (20-7, 8-14, 11-21, 17-32, 24-28) are normally
    open; with line 5 out, buses 6-17 (with line 24 out, buses 25-32) have no in-service connection to the ext_grid
    (bus 0) and hold no unit: a dark island of 12 (8) buses, its load lost (summed below from the plain load table).
    The initiating line stays out (faulted), so every dark bus can only come back through a normally-open tie:
    rerouting by switching.  At least one branch closing per dark bus is needed (each dark bus is energised by one
    branch), and the plan must close at least one tie.

    Oracle for the final state: plain pandapower.  The grid rebuilt from the plain case with line 5 out, every branch
    the plan's steps close put in service, the ext_grid at the voltage set-point the plan ends with (checked to lie in
    the band), every load at its pre-event p_mw/q_mvar; solved with ``pp.runpp``; checked by hand: every bus within
    0.95-1.05 pu or, for a bus already below 0.95 pu before the event (the feeder's far end is, at 0.913 pu in the
    plain pre-event power flow), not below its pre-event voltage by more than 1e-4 pu (the held-excess rule); the
    ext_grid's P and Q limits (10 MW, +-10 Mvar in the case); the served load = pre-event.
    """
    import networkx as nx
    import pandapower.topology as top
    from gridsage.tools.grid.grids import load_grid

    grid_id = load_grid("case33bw", grid_id=f"case33bw-restoration-{line}").grid_id
    net = workspace.get(grid_id).net
    pre_event = float((net.load.p_mw * net.load.scaling)[net.load.in_service].sum())
    assert pre_event == pytest.approx(3.715)
    # the dark area by hand: the component of bus 6 once line 5 is out, over in-service branches
    cut = copy.deepcopy(net)
    cut.line.at[line, "in_service"] = False
    dark = set(nx.node_connected_component(top.create_nxgraph(cut, include_out_of_service=False), dark_buses[0]))
    assert dark == set(dark_buses)
    dark_load = float(net.load.p_mw[net.load.bus.isin(dark)].sum())
    ties = set(net.line.index[~net.line.in_service])
    assert ties == {32, 33, 34, 35, 36}

    cascade = cascade_on_net(net, [("line", line)])
    assert cascade.dark_bus_count == len(dark) and cascade.load_lost_mw == pytest.approx(dark_load)
    plan = restoration_on_net(net, cascade.final_net, [("line", line)])
    result = plan_restoration(grid_id, [f"line:{line}"])
    print(f"case33bw line {line}: {result.load_lost_mw} MW lost, {cascade.dark_bus_count} dark buses; {result.step_count} "
          f"steps; MW per step {[s.load_restored_mw for s in result.steps]}; {result.elapsed_s} s")
    assert result.status == "restored" and result.all_load_restored and result.load_unrestored_mw == 0.0
    assert result.load_lost_mw == pytest.approx(dark_load) and result.step_count == len(plan.steps)
    closed = [(e.element, e.index) for s in plan.steps if s.action == "energise_branch" for e in s.elements]
    assert len(closed) >= len(dark) and {i for k, i in closed if k == "line"} & ties
    assert ("line", line) not in closed
    picked = sum(s.load_restored_mw for s in plan.steps)
    assert picked == pytest.approx(dark_load, abs=1e-3)
    assert plan.steps[-1].cumulative_load_mw == pytest.approx(pre_event, abs=1e-3)

    final = copy.deepcopy(net)
    final.line.at[line, "in_service"] = False
    for kind, index in closed:
        final[kind].at[index, "in_service"] = True
    vm_set = float(plan.final_net.ext_grid.vm_pu[0])
    assert 0.95 <= vm_set <= 1.05
    final.ext_grid.at[0, "vm_pu"] = vm_set
    pp.runpp(final, numba=False)
    assert float(final.res_load.p_mw.sum()) == pytest.approx(pre_event, abs=1e-9)
    vm = final.res_bus.vm_pu
    before = copy.deepcopy(net)
    pp.runpp(before, numba=False)
    floor = before.res_bus.vm_pu.clip(upper=0.95) - 1e-4  # 0.95, or the pre-event voltage when already below it
    print(f"final vm {vm.min():.4f}-{vm.max():.4f} pu; pre-event {before.res_bus.vm_pu.min():.4f}-"
          f"{before.res_bus.vm_pu.max():.4f} pu")
    assert before.res_bus.vm_pu.min() == pytest.approx(0.913, abs=1e-3)
    assert vm.notna().all() and (vm >= floor).all() and (vm <= 1.05).all()
    ext = final.res_ext_grid.iloc[0]
    assert 0.0 <= ext.p_mw <= 10.0 and -10.0 <= ext.q_mvar <= 10.0
    last = plan.steps[-1]
    assert last.within_limits == bool((vm >= 0.95 - 1e-4).all())
    assert last.vm_min_pu == pytest.approx(float(vm.min()), abs=1e-3)
    assert last.vm_max_pu == pytest.approx(float(vm.max()), abs=1e-3)


def oberrhein_with_tie_66_closed():
    """pandapower's ``mv_oberrhein`` (real 20 kV feeders of the Oberrhein region, two 25 MVA 110/20 kV substations,
    cable/overhead ratings from the line types; pandapower's own "load" scenario: every load at scaling 0.6, sgens at
    0).  Its six normally-open tie switches are written as plain out-of-service lines (switch closed, line out: the
    same network for the power flow), so that the planner sees them as normally-open branches; tie line 66 (bus 54 -
    bus 147) is in service before the event, meshing two feeders."""
    import pandapower.networks as pn

    net = pn.mv_oberrhein()
    ties = []
    for s in net.switch.index[(net.switch.et == "l") & ~net.switch.closed]:
        line = int(net.switch.at[s, "element"])
        ties.append(line)
        net.switch.at[s, "closed"] = True
        net.line.at[line, "in_service"] = False
    net.line.at[66, "in_service"] = True
    return net, sorted(ties)


def test_public_mv_oberrhein_overload_cascade_then_all_load_restored():
    """Acceptance on a public grid with a REAL cascade: ``mv_oberrhein`` with tie line 66 closed, line 27 lost.

    Oracle 1 (plain pandapower): with line 27 out, ``pp.runpp`` gives line 39 as the most loaded branch (lines and
    trafos), above 100 %; the very inverse relay (IEEE C37.112, TD 1, pickup 100 %) operates after
    t = 19.61 / (M^2 - 1) + 0.491 s, M = loading / 100, so the cascade's first overload trip must be line 39 at that
    loading and time.  With lines 27 and 39 out, the buses cut off from both ext_grids (plain networkx component
    search over in-service branches) are dark: their load (p_mw x scaling 0.6) is the load lost.

    Oracle 2 (plain pandapower): the final state rebuilt from the plain case - line 27 out, every branch the plan's
    steps close in service (including the normally-open tie it closes), every sgen it starts in service, every load at
    its pre-event p_mw, ext_grids at the plan's final set-points - solved with ``pp.runpp``: every bus within
    0.95-1.05 pu (ANSI C84.1 Range A), every line and trafo within 100 % (NERC TPL-001), the served load = the
    pre-event load.  The case has no gen and its ext_grids and sgens carry no P/Q limits (unlimited supply; sgens at
    scaling 0), so the unit-limit check is that no gen exists and the sgens return at their pre-event output.

    Oracle 3 (steps by topology): the all-open strategy opens every branch touching a dark bus, and the plan must
    re-close each (none left open) plus at least one normally-open tie (the reclosed line 39 alone cannot carry the
    area: that is why it tripped), and restart every in-service sgen of the dark area: so the step count is at least
    (branches touching dark buses) + 1 + (dark sgens) + (one pickup); the count is printed.
    """
    import networkx as nx
    import pandapower.topology as top

    net, ties = oberrhein_with_tie_66_closed()
    assert ties == [8, 23, 31, 66, 88, 188]
    pre_event = float((net.load.p_mw * net.load.scaling)[net.load.in_service].sum())
    assert pre_event == pytest.approx(0.6 * net.load.p_mw.sum())
    plain = copy.deepcopy(net)
    pp.runpp(plain, numba=False)
    assert plain.res_bus.vm_pu.min() >= 0.95 and plain.res_bus.vm_pu.max() <= 1.05
    assert plain.res_line.loading_percent.max() <= 100.0 and plain.res_trafo.loading_percent.max() <= 100.0

    # oracle 1: the first trip, by plain pandapower and the C37.112 formula written out
    cut = copy.deepcopy(net)
    cut.line.at[27, "in_service"] = False
    pp.runpp(cut, numba=False)
    line_loading = cut.res_line.loading_percent[cut.line.in_service]
    worst_line = int(line_loading.idxmax())
    assert worst_line == 39 and line_loading.max() > cut.res_trafo.loading_percent.max() and line_loading.max() > 100.0
    m = float(line_loading.max()) / 100.0
    t_expected = 19.61 / (m * m - 1.0) + 0.491
    cut.line.at[39, "in_service"] = False
    graph = top.create_nxgraph(cut, include_out_of_service=False)
    live = set().union(*(nx.node_connected_component(graph, int(b)) for b in net.ext_grid.bus))
    dark = set(net.bus.index) - live
    dark_load = float((net.load.p_mw * net.load.scaling)[net.load.bus.isin(dark)].sum())

    cascade = cascade_on_net(net, [("line", 27)])
    trips = [e for e in cascade.events if e.cause == "overload_trip"]
    first = trips[0]
    assert (first.element.element, first.element.index) == ("line", 39)
    assert first.loading_percent == pytest.approx(100.0 * m, abs=0.1)
    assert first.time_s == pytest.approx(t_expected, rel=1e-2)
    assert len(trips) == 1 and cascade.dark_bus_count == len(dark) > 0
    assert cascade.load_lost_mw == pytest.approx(dark_load, abs=1e-3) and dark_load > 10.0

    plan = restoration_on_net(net, cascade.final_net, [("line", 27)])
    print(f"mv_oberrhein tie 66 closed, line 27 lost: line 39 trips at {100 * m:.2f} % after {t_expected:.2f} s; "
          f"{len(dark)} dark buses, {dark_load:.3f} MW lost; plan: {len(plan.steps)} steps, "
          f"{plan.load_restored_mw} MW restored, {plan.rejected_attempts} rejected attempts, {plan.elapsed_s} s")
    assert plan.status == "restored" and plan.all_load_restored and plan.load_unrestored_mw == 0.0
    assert plan.load_restored_mw == pytest.approx(dark_load, abs=1e-3)
    assert plan.branches_left_open == [] and plan.units_not_restarted == []
    assert all(s.within_limits and s.units_within_limits and s.solution == "ac" for s in plan.steps)

    # oracle 3: the steps by topology
    closed = [(e.element, e.index) for s in plan.steps if s.action in ("energise_branch", "resynchronise")
              for e in s.elements]
    touching = {("line", int(i)) for i in net.line.index[net.line.in_service]
                if i != 27 and ({int(net.line.at[i, "from_bus"]), int(net.line.at[i, "to_bus"])} & dark)}
    touching |= {("trafo", int(i)) for i in net.trafo.index
                 if {int(net.trafo.at[i, "hv_bus"]), int(net.trafo.at[i, "lv_bus"])} & dark}
    tie_closed = [b for b in closed if b[0] == "line" and b[1] in ties and b[1] != 66]
    assert ("line", 27) not in closed and ("line", 39) in closed
    assert set(closed) == touching | set(tie_closed) and len(closed) == len(set(closed)) and tie_closed
    dark_sgens = {int(i) for i in net.sgen.index[net.sgen.in_service & net.sgen.bus.isin(dark)]}
    started = {e.index for s in plan.steps if s.action == "start_unit" for e in s.elements if e.element == "sgen"}
    assert started == dark_sgens
    pickups = [s for s in plan.steps if s.action == "pick_up_load"]
    assert len(plan.steps) == len(closed) + len(started) + len(pickups)
    assert len(plan.steps) >= len(touching) + 1 + len(dark_sgens) + 1
    assert sum(s.load_restored_mw for s in pickups) == pytest.approx(dark_load, abs=1e-2)

    # oracle 2: the final state re-solved with plain pandapower
    final = copy.deepcopy(net)
    final.line.at[27, "in_service"] = False
    for kind, index in closed:
        final[kind].at[index, "in_service"] = True
    for i, vm in plan.final_net.ext_grid.vm_pu.items():
        assert 0.95 <= float(vm) <= 1.05
        final.ext_grid.at[i, "vm_pu"] = float(vm)
    pp.runpp(final, numba=False)
    assert float(final.res_load.p_mw.sum()) == pytest.approx(pre_event, abs=1e-6)
    vm = final.res_bus.vm_pu
    assert vm.notna().all() and (vm >= 0.95).all() and (vm <= 1.05).all()
    assert (final.res_line.loading_percent[final.line.in_service] <= 100.0).all()
    assert (final.res_trafo.loading_percent <= 100.0).all()
    assert len(net.gen) == 0 and "max_p_mw" not in net.ext_grid
    assert final.res_sgen.p_mw.sum() == pytest.approx(plain.res_sgen.p_mw.sum(), abs=1e-9)
    last = plan.steps[-1]
    assert last.vm_min_pu == pytest.approx(float(vm.min()), abs=1e-3)
    assert last.vm_max_pu == pytest.approx(float(vm.max()), abs=1e-3)
    assert last.cumulative_load_mw == pytest.approx(pre_event, abs=1e-3)
