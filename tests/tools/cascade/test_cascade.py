"""The quasi-steady-state cascade simulator against hand computations and plain pandapower.

Every expected value is worked out below by hand (DC-like reasoning on grids built here) or computed with plain
pandapower calls on the same grid (rundcpp, the res_* tables); none is copied from GridSage's output.

Shared figures (from the standards corpus, restated here as the oracle):

* IEEE C37.112-2018 very inverse: t = TD (19.61 / (M^2 - 1) + 0.491) s, TD = 1, pickup at 100 % loading.
* ERCOT UFLS (NERC PRC-006 entry): 5 % of load at 59.3 Hz, 10 % at 58.9 Hz, 10 % at 58.5 Hz.
* Droop R = 5 %: an island of rated capacity Pn short of dP settles at f = 60 (1 - 0.05 dP / Pn) Hz.
* UVLS (GridSage default, PRC-010 entry): 10 % of a bus's load when it stays below 0.90 pu for 3 s.
"""

from __future__ import annotations

import math
import time

import networkx as nx
import pandapower as pp
import pytest

from gridsage.errors import InputError, UnknownElementError
from gridsage.tools.cascade import CascadeOptions, cascade_on_net, simulate_cascade
from gridsage.tools.workspace import Grid

SQRT3 = math.sqrt(3)


def very_inverse(m: float) -> float:
    """The oracle's relay time [s]: IEEE C37.112 very inverse, TD 1 (written out, not GridSage's function)."""
    return 19.61 / (m * m - 1.0) + 0.491


def ka(mva: float, kv: float = 110.0) -> float:
    """Current of ``mva`` at ``kv`` [kA]: I = S / (sqrt(3) V)."""
    return mva / (SQRT3 * kv)


LINE = dict(r_ohm_per_km=0.05, x_ohm_per_km=0.4, c_nf_per_km=0.0)


def two_path_grid():
    """Four 110 kV buses, two paths from the source to the load bus, a unit at the load bus.

    ::

        bus 0 (ext_grid) --- line 0, 20 km, rated 60 MVA ------------------ bus 1 (load 80 MW, gen 0: 20 MW, Pmax 100)
           |                                                                 |
           +-- line 1, 10 km, rated 50 MVA -- bus 2 -- line 2, 10 km, rated 60 MVA
                                                                             |
                                                               line 3, 10 km -- bus 3 (load 10 MW)
    """
    net = pp.create_empty_network()
    b = [pp.create_bus(net, 110.0) for _ in range(4)]
    pp.create_ext_grid(net, b[0], vm_pu=1.0)
    pp.create_load(net, b[1], p_mw=80.0, q_mvar=0.0)
    pp.create_load(net, b[3], p_mw=10.0, q_mvar=0.0)
    pp.create_gen(net, b[1], p_mw=20.0, vm_pu=1.0, max_p_mw=100.0, min_p_mw=0.0, max_q_mvar=100.0, min_q_mvar=-100.0)
    pp.create_line_from_parameters(net, b[0], b[1], 20.0, max_i_ka=ka(60), **LINE)  # line 0: path A
    pp.create_line_from_parameters(net, b[0], b[2], 10.0, max_i_ka=ka(50), **LINE)  # line 1: path B, first half
    pp.create_line_from_parameters(net, b[2], b[1], 10.0, max_i_ka=ka(60), **LINE)  # line 2: path B, second half
    pp.create_line_from_parameters(net, b[1], b[3], 10.0, max_i_ka=ka(60), **LINE)  # line 3: spur to bus 3
    return net


def radial_grid():
    """bus 0 (ext_grid) to bus 1 (200 MW, unity power factor) over two parallel 100 km lines, X 40 ohm, 0.8 kA each."""
    net = pp.create_empty_network()
    b0, b1 = pp.create_bus(net, 110.0), pp.create_bus(net, 110.0)
    pp.create_ext_grid(net, b0, vm_pu=1.0)
    pp.create_load(net, b1, p_mw=200.0, q_mvar=0.0)
    for _ in range(2):
        pp.create_line_from_parameters(net, b0, b1, 100.0, r_ohm_per_km=0.0, x_ohm_per_km=0.4, c_nf_per_km=0.0, max_i_ka=0.8)
    return net


def island_balances(net):
    """Per energised island (one holding an ext_grid or gen) of a solved net: (generation, load, branch losses) [MW], islands found with networkx from
    the in-service lines and trafos, sums from pandapower's res_* tables (the test's own oracle)."""
    graph = nx.Graph()
    graph.add_nodes_from(net.bus.index[net.bus.in_service])
    for _, row in net.line[net.line.in_service].iterrows():
        graph.add_edge(row.from_bus, row.to_bus)
    for _, row in net.trafo[net.trafo.in_service].iterrows():
        graph.add_edge(row.hv_bus, row.lv_bus)
    out = []
    for island in nx.connected_components(graph):
        gen = sum(net[f"res_{k}"].p_mw[net[k].in_service & net[k].bus.isin(island)].sum()
                  for k in ("ext_grid", "gen", "sgen") if len(net[k]))
        load = net.res_load.p_mw[net.load.in_service & net.load.bus.isin(island)].sum()
        losses = net.res_line.pl_mw[net.line.in_service & net.line.from_bus.isin(island)].sum()
        if len(net.trafo):
            losses += net.res_trafo.pl_mw[net.trafo.in_service & net.trafo.hv_bus.isin(island)].sum()
        source = any((net[k].in_service & net[k].bus.isin(island)).any() for k in ("ext_grid", "gen") if len(net[k]))
        if source:
            out.append((sorted(island), float(gen), float(load), float(losses)))
    return out


def test_two_path_cascade_follows_the_hand_sequence():
    """Hand computation (DC-like; equal impedance per km so flows split by path length).

    Before: bus 1 and bus 3 draw 80 + 10 = 90 MW, gen 0 gives 20 MW, so 70 MW comes from bus 0. Path A (line 0,
    20 km) and path B (lines 1 + 2, 20 km) have equal impedance: 35 MW each (pandapower agrees, checked below).

    Initiating outage line 0: all 70 MW flows over path B.  Line 1 (50 MVA): M = 70/50 = 1.40, t = 19.61/(1.96-1)
    + 0.491 = 20.92 s.  Line 2 (60 MVA): M = 70/60 = 1.167, t = 54.8 s.  Line 1 trips first, at about 21 s (AC adds
    losses and a voltage a little below 1 pu, so its loading is a little above 140 %: tolerance 3 % on loading,
    2 s on time).  Line 2 then carries nothing: its relay resets (no second trip).

    Buses 1, 2, 3 form an island with gen 0 (Pn 100 MW, output 20 MW) and 90 MW of load: short by dP = 70 MW,
    within the 80 MW headroom. Static frequency 60 (1 - 0.05 * 70/100) = 57.90 Hz < 59.3: stage 1 sheds 5 % of
    90 = 4.5 MW (dP 65.5, f 58.035 Hz < 58.9); stage 2 sheds 9 MW (dP 56.5, f 58.305 < 58.5); stage 3 sheds 9 MW
    (dP 47.5, f 58.575 Hz >= 58.5): it stops.  Load lost 22.5 MW = 25 % of 90 MW; the island runs at 58.575 Hz on
    gen 0 at 67.5 MW plus losses; bus 0 is an island of its own with the ext_grid.
    """
    net = two_path_grid()
    pp.runpp(net)
    assert net.res_line.p_from_mw[0] == pytest.approx(35.0, abs=1.0)  # the even split of the hand computation
    assert net.res_line.p_from_mw[1] == pytest.approx(35.0, abs=1.0)

    run = cascade_on_net(net, [("line", 0)], keep_nets=True)
    assert not net.line.in_service.eq(False).any(), "the caller's net must be left unchanged"
    causes = [(e.cause, e.element.element if e.element else None, e.element.index if e.element else None) for e in run.events]
    assert causes[:2] == [("initiating", "line", 0), ("overload_trip", "line", 1)]
    assert [c[0] for c in causes[2:]] == ["ufls", "ufls", "ufls"]
    trip = run.events[1]
    assert trip.loading_percent == pytest.approx(140.0, abs=3.0)
    assert trip.time_s == pytest.approx(very_inverse(1.40), abs=2.0)
    assert trip.time_s == pytest.approx(very_inverse(trip.loading_percent / 100), rel=1e-3)  # the curve, at its loading
    assert [e.load_lost_mw for e in run.events[2:]] == pytest.approx([4.5, 9.0, 9.0], abs=0.01)
    assert run.load_lost_mw == pytest.approx(22.5, abs=0.01)
    assert run.pre_event_load_mw == pytest.approx(90.0)
    assert run.events[-1].cumulative_load_lost_mw == pytest.approx(22.5, abs=0.01)
    assert run.status == "stable" and run.final_islands == 2 and run.dark_bus_count == 0
    last = run.stages[-1]
    island = next(i for i in last.island_balance if i.buses == [1, 2, 3])
    # 58.575 Hz by hand; the model also counts the island's branch losses as demand (lines 2 and 3 lost about 0.25 MW
    # before the trip), 1 MW of which moves the estimate by 0.03 Hz: tolerance 0.02 Hz
    assert island.frequency_hz == pytest.approx(60 * (1 - 0.05 * 47.5 / 100), abs=0.02)
    assert island.slack == "gen 0" and island.load_mw == pytest.approx(67.5, abs=0.01)
    assert all(s.solution == "ac" for s in run.stages)


@pytest.mark.parametrize("grid, outage", [(two_path_grid, ("line", 0)), (radial_grid, ("line", 0))])
def test_every_island_balances_at_every_stage(grid, outage):
    """Generation = load + losses in each energised island of each stage, from pandapower's own result tables.

    Tolerance 0.01 MW: the Newton-Raphson tolerance (1e-8 pu on 1 MVA) is far smaller; DC stages have no losses.
    """
    run = cascade_on_net(grid(), [outage], keep_nets=True)
    assert run.nets and len(run.nets) == len(run.stages)
    for stage, net in zip(run.stages, run.nets):
        found = island_balances(net)
        assert len(found) == stage.islands
        for buses, gen, load, losses in found:
            assert gen == pytest.approx(load + losses, abs=0.01), (stage.stage, buses)
            if stage.solution == "dc":
                assert losses == 0.0
        for reported in stage.island_balance:  # the result's own balance rows say the same
            assert reported.mismatch_mw == pytest.approx(0.0, abs=0.01)


def test_no_ac_solution_falls_back_to_dc_and_the_dark_island_is_named():
    """Hand computation, lossless line, unity power factor load P behind reactance X (per unit on 100 MVA, 121 ohm):
    the receiving voltage solves V^4 - V^2 + (P X)^2 = 0, which has a root only when 4 (P X)^2 <= 1.

    Both lines (X = 20 ohm = 0.1653 pu, P = 2 pu): (PX)^2 = 0.109, V^2 = (1 + sqrt(1 - 0.437)) / 2, V = 0.935 pu
    (above the 0.90 pu UVLS setting).  After line 0 trips: X = 0.3306 pu, 4 (PX)^2 = 1.75 > 1: no AC solution.  The
    stage must say so and be solved DC: line 1 carries 200 MW, I = 200 / (sqrt(3) 110) = 1.0497 kA, M = 1.0497 / 0.8
    = 1.312, t = 19.61 / (1.312^2 - 1) + 0.491 = 27.67 s.  It trips; bus 1 is left with no unit: dark, 200 MW lost
    (100 % of the load).
    """
    net = radial_grid()
    pp.runpp(net)
    assert net.res_bus.vm_pu[1] == pytest.approx(math.sqrt((1 + math.sqrt(1 - 4 * (2 * 20 / 121) ** 2)) / 2), abs=1e-3)
    run = cascade_on_net(net, [("line", 0)])
    first = run.stages[0]
    assert first.solution == "dc" and "no solution" in first.note and "DC" in first.note
    trip = next(e for e in run.events if e.cause == "overload_trip")
    m = ka(200) / 0.8
    assert (trip.element.element, trip.element.index) == ("line", 1)
    assert trip.loading_percent == pytest.approx(100 * m, abs=0.05)
    assert trip.time_s == pytest.approx(very_inverse(m), abs=0.01)
    dark = next(e for e in run.events if e.cause == "island_dark")
    assert dark.element.index == 1 and dark.load_lost_mw == pytest.approx(200.0) and "no unit" in dark.detail
    assert [(d.buses, d.load_lost_mw) for d in run.dark_islands] == [([1], 200.0)]
    assert run.load_lost_mw == pytest.approx(200.0) and run.dark_bus_count == 1


def test_uvls_sheds_one_block_after_its_delay():
    """Hand computation: 100 MW at unity power factor behind X = 0.42 pu (50.82 ohm): V^2 = (1 + sqrt(1 - 4 * 0.42^2))
    / 2, V = 0.878 pu < 0.90 pu, no branch overloaded.  After 3 s UVLS sheds 10 % (10 MW): PX = 0.378, V = 0.910 pu >=
    0.90: it stops.  Load lost 10 MW at t = 3 s."""
    net = pp.create_empty_network()
    b0, b1 = pp.create_bus(net, 110.0), pp.create_bus(net, 110.0)
    pp.create_ext_grid(net, b0, vm_pu=1.0)
    pp.create_load(net, b1, p_mw=100.0, q_mvar=0.0)
    pp.create_line_from_parameters(net, b0, b1, 1.0, r_ohm_per_km=0.0, x_ohm_per_km=0.42 * 121, c_nf_per_km=0.0,
                                   max_i_ka=2.0)
    v = lambda px: math.sqrt((1 + math.sqrt(1 - 4 * px * px)) / 2)  # noqa: E731
    assert v(0.42) < 0.90 <= v(0.378)
    run = cascade_on_net(net, [], CascadeOptions())
    uvls = [e for e in run.events if e.cause == "uvls"]
    assert len(uvls) == 1 and uvls[0].time_s == pytest.approx(3.0) and uvls[0].load_lost_mw == pytest.approx(10.0)
    assert run.stages[0].vm_min_pu == pytest.approx(v(0.42), abs=1e-3)
    assert run.stages[-1].vm_min_pu == pytest.approx(v(0.378), abs=1e-3)
    assert run.status == "stable" and run.load_lost_mw == pytest.approx(10.0)


@pytest.fixture(scope="module")
def hand_grid(workspace):
    workspace.add(Grid(grid_id="two-path", source="test", net=two_path_grid()))
    return "two-path"


def test_the_tool_reports_the_cascade_with_bounded_lists(hand_grid):
    result = simulate_cascade(hand_grid, ["line:0"], max_rows=2)
    assert result.evidence_id and result.status == "stable"
    assert result.load_lost_mw == pytest.approx(22.5, abs=0.01) and result.load_lost_percent == pytest.approx(25.0, abs=0.02)
    assert result.trip_count == 1 and result.stage_count == 2
    assert len(result.events) == 2 and result.events_omitted == 3
    assert {c.entry_id for c in result.citations} >= {"ieee-c37-112-inverse-time-overcurrent", "nerc-prc-006-ufls",
                                                     "nerc-prc-010-uvls"}
    view = result.compact()
    assert [e.cause for e in view.events] == ["initiating", "overload_trip"] and view.load_lost_mw == result.load_lost_mw
    assert "22.5 MW" in view.headline()


@pytest.mark.parametrize("outages, field, error", [
    (["line 0"], "outages[0]", InputError),
    (["bus:1"], "outages[0]", InputError),
    (["line:0", "line:99"], "outages[1]", UnknownElementError),
    (["line:0", "line:0"], "outages[1]", InputError),
])
def test_bad_outages_are_typed_errors_naming_the_field(hand_grid, outages, field, error):
    with pytest.raises(error) as caught:
        simulate_cascade(hand_grid, outages)
    assert caught.value.field == field and caught.value.fix


def test_outage_lists_and_strings_are_bounded(hand_grid):
    with pytest.raises(InputError) as caught:
        simulate_cascade(hand_grid, ["line:0"] * 51)
    assert caught.value.field == "outages"
    with pytest.raises(InputError) as caught:
        simulate_cascade(hand_grid, ["line:" + "0" * 60])
    assert caught.value.field.startswith("outages")


def test_double_outage_on_pglib_case118(ieee118, workspace):
    """PGLib-OPF IEEE 118 (real ratings, OPF base dispatch at 85 % loading), lines 29 and 34 out together.

    Oracle: plain pandapower on a copy with both lines out (``runpp`` with Q limits enforced).  The main grid is not
    split, so the set-points stay and the ext_grid takes up the change: the first stage is this same AC solution,
    and the first relay to trip is the branch it loads most (shortest very-inverse time), at the time the curve
    gives for that loading.  Later stages lose the AC solution and are solved DC (stated).  Measured on 2 shared
    cores, Dec 2026: 6-9 s wall (7 trips, 1,366 MW = 32.2 % of the load lost in 22.5 s simulated).
    """
    net = workspace.get(ieee118).net
    oracle = workspace.copy_net(ieee118)
    oracle.line.loc[[29, 34], "in_service"] = False
    pp.runpp(oracle, numba=False, enforce_q_lims=True)
    loading = oracle.res_line.loading_percent[oracle.line.in_service]
    worst, worst_loading = int(loading.idxmax()), float(loading.max())
    assert worst_loading > 100

    start = time.perf_counter()
    result = simulate_cascade(ieee118, ["line:29", "line:34"])
    elapsed = time.perf_counter() - start
    print(f"case118 lines 29+34: {result.status}, {result.trip_count} trips, {result.load_lost_mw} MW "
          f"({result.load_lost_percent} %) lost in {result.duration_s} s simulated; wall {elapsed:.1f} s")
    assert [e.cause for e in result.events[:2]] == ["initiating", "initiating"]
    assert result.stages[0].solution == "ac"
    first = next(e for e in result.events if e.cause == "overload_trip")
    assert (first.element.element, first.element.index) == ("line", worst)
    assert first.loading_percent == pytest.approx(worst_loading, rel=1e-3)
    assert first.time_s == pytest.approx(very_inverse(worst_loading / 100), rel=1e-3)
    assert result.pre_event_load_mw == pytest.approx(float(net.load.p_mw[net.load.in_service].sum()), rel=1e-6)
    assert 0 < result.load_lost_mw <= result.pre_event_load_mw
    assert result.events[-1].cumulative_load_lost_mw == pytest.approx(result.load_lost_mw, abs=0.01)
    assert all(e.loading_percent > 100 for e in result.events if e.cause == "overload_trip")
    assert result.dc_stage_count >= 1 and any("DC" in n for n in result.notes)
    assert elapsed < 60


def test_a_unit_that_cannot_run_below_its_minimum_trips_and_its_island_goes_dark():
    """Hand computation: bus 1 holds gen 0 (40 MW, minimum 30 MW) and a 10 MW load and exports 30 MW over line 0 to a
    50 MW load at bus 0 (ext_grid).  Line 0 out: bus 1 is an island whose demand, 10 MW, is below its unit's 30 MW
    minimum; the unit trips (over-frequency, cause unit_limit, 40 MW of generation lost) and the island, left
    without a unit, goes dark with its 10 MW of load."""
    net = pp.create_empty_network()
    b0, b1 = pp.create_bus(net, 110.0), pp.create_bus(net, 110.0)
    pp.create_ext_grid(net, b0, vm_pu=1.0)
    pp.create_load(net, b0, p_mw=50.0, q_mvar=0.0)
    pp.create_load(net, b1, p_mw=10.0, q_mvar=0.0)
    pp.create_gen(net, b1, p_mw=40.0, vm_pu=1.0, min_p_mw=30.0, max_p_mw=60.0, min_q_mvar=-50.0, max_q_mvar=50.0)
    pp.create_line_from_parameters(net, b0, b1, 10.0, max_i_ka=ka(100), **LINE)
    run = cascade_on_net(net, [("line", 0)])
    assert [(e.cause, e.element.element, e.element.index) for e in run.events] == [
        ("initiating", "line", 0), ("unit_limit", "gen", 0), ("island_dark", "bus", 1)]
    assert run.events[1].generation_lost_mw == pytest.approx(40.0, abs=0.01)
    assert run.events[2].load_lost_mw == pytest.approx(10.0) and run.load_lost_mw == pytest.approx(10.0)
    assert run.status == "stable" and run.final_islands == 1 and run.dark_bus_count == 1
