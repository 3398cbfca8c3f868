"""Power flow: results against an independent pandapower run, violations, divergence diagnostics."""

from __future__ import annotations

import pandapower as pp
import pandapower.networks as pn
import pytest

from gridsage.tools.grid.events import apply_events
from gridsage.tools.grid.grids import load_grid
from gridsage.tools.grid.power_flow import run_power_flow
from gridsage.tools.workspace import current_workspace


def test_case14_ac_matches_pandapower(case14):
    result = run_power_flow(case14, max_rows=1000)
    net = pn.case14()
    pp.runpp(net, numba=False, lightsim2grid=False, enforce_q_lims=True)
    assert result.status == "converged" and result.evidence_id.startswith("ev-")
    assert result.vm_min_pu == pytest.approx(net.res_bus.vm_pu.min(), abs=1e-5)
    assert result.max_loading_percent == pytest.approx(max(net.res_line.loading_percent.max(), net.res_trafo.loading_percent.max()), abs=0.01)
    assert len(result.buses) == 14 and len(result.branches) == 20 and result.rows_omitted == 0
    over = set(net.res_bus.index[net.res_bus.vm_pu > 1.05])
    assert {v.index for v in result.violations if v.kind == "overvoltage"} == over
    assert all(v.citation.standard == "ANSI C84.1" for v in result.violations)


def test_custom_band_and_row_bound(case14):
    result = run_power_flow(case14, vm_min_pu=0.9, vm_max_pu=1.1, max_rows=5)
    assert result.violations == []
    assert len(result.buses) == 5 and result.rows_omitted == (14 - 5) + (20 - 5)
    assert "User band" in result.limits[0].citation.note


def test_dc_power_flow(case14):
    result = run_power_flow(case14, mode="dc")
    net = pn.case14()
    pp.rundcpp(net)
    assert result.status == "converged" and result.mode == "dc"
    assert result.branches[0].loading_percent == pytest.approx(net.res_line.loading_percent.max(), abs=0.01)
    assert not any(v.kind != "thermal" for v in result.violations)


def test_pglib118_overloads_come_from_real_ratings(ieee118):
    post = apply_events(ieee118, events=[{"type": "line_outage", "line": 34}], load_scale=1.05, gen_scale=1.05).grid_id
    result = run_power_flow(post)
    net = current_workspace().copy_net(post)
    pp.runpp(net, numba=False, lightsim2grid=False, enforce_q_lims=True)
    thermal = {v.index: v.value for v in result.violations if v.kind == "thermal"}
    assert thermal[29] == pytest.approx(net.res_line.loading_percent[29], abs=0.01) and thermal[29] > 150
    assert set(thermal) == set(net.res_line.index[net.res_line.loading_percent > 100])


def test_diverging_case_reports_attempts_and_diagnostics(case14):
    stressed = apply_events(case14, load_scale=6.0, new_grid_id="case14-x6").grid_id
    result = run_power_flow(stressed)
    assert result.status == "diverged"
    assert [a.converged for a in result.attempts] == [False] * 4
    assert any("flat" in a.strategy for a in result.attempts) and any("init=dc" in a.strategy for a in result.attempts)
    found = [d.finding for d in result.diagnostics if d.check == "loadability"]
    # the oracle: plain pandapower solves case14 at 1.5 x its load (Q limits on) and fails at 6 x
    net = pn.case14()
    net.load[["p_mw", "q_mvar"]] *= 1.5
    pp.runpp(net, numba=False, lightsim2grid=False, enforce_q_lims=True)
    demand = pn.case14().load.p_mw.sum() * 6
    assert any(f"Demand is {demand:,.1f} MW" in text for text in found)
    share = next(text for text in found if "solves with" in text)
    assert 1.5 / 6 * 100 <= float(share.split("solves with ")[1].split(" %")[0]) < 100
    assert not any("np.float64" in d.finding or "{" in d.finding for d in result.diagnostics)
    assert result.violations == [] and result.max_loading_percent is None


def test_isolated_buses_are_not_0_volts(case14):
    cut = apply_events(case14, events=[{"type": "trafo_outage", "trafo": 3}], new_grid_id="case14-t3").grid_id
    result = run_power_flow(cut)
    assert result.unsupplied_buses == [7]
    assert not any(v.index == 7 for v in result.violations)
    row = next(b for b in result.buses if b.bus == 7)
    assert row.vm_pu is None and row.va_degree is None


def test_the_slack_output_is_checked_against_its_p_limits(workspace):
    # the oracle: plain pandapower on case39, whose slack (ext_grid 0, MATPOWER PMAX 646 MW) runs above its maximum
    net = pn.case39()
    pp.runpp(net, lightsim2grid=False, numba=False, enforce_q_lims=True)
    p, p_max = float(net.res_ext_grid.p_mw.at[0]), float(net.ext_grid.max_p_mw.at[0])
    assert p > p_max == 646.0
    slack = run_power_flow(load_grid("case39").grid_id).slack
    assert [(s.element, s.index, s.bus, s.max_p_mw, s.within_limits) for s in slack] == [("ext_grid", 0, 30, 646.0, False)]
    assert slack[0].p_mw == pytest.approx(p, abs=1e-3)
    # an upstream grid supply with no P limits in the case is reported, not judged
    assert [s.within_limits for s in run_power_flow(load_grid("cigre_mv").grid_id).slack] == [None]


def test_a_study_whose_slack_runs_past_its_maximum_says_so_and_lowers_its_confidence(workspace):
    from gridsage.reasoning.playbooks import assess
    from gridsage.reasoning.scenario import load_scenario

    scenario, folder = load_scenario("case39_unit_trip")
    a = assess(scenario, folder, graph=False, workspace=workspace)
    net = workspace.copy_net(a.grid_id)  # the post-event grid, re-solved by plain pandapower
    pp.runpp(net, lightsim2grid=False, numba=False, enforce_q_lims=True)
    finding = next(f for f in a.findings if f.elements and f.elements[0].element == "ext_grid" and f.unit == "MW")
    assert finding.severity == "high" and finding.limit == 646.0
    assert finding.value == pytest.approx(float(net.res_ext_grid.p_mw.at[0]), abs=1e-3)
    assert finding.citations[0].entry_id == "nerc-mod-025-generator-capability"
    # confidence is lowered only while the slack stays outside its limits at the end of the plan: the oracle re-solves
    # the planned grid with plain pandapower
    final = workspace.copy_net(a.final_grid_id)
    pp.runpp(final, lightsim2grid=False, numba=False, enforce_q_lims=True)
    slack_ok = -100 - 0.5 <= final.res_ext_grid.q_mvar.at[0] <= 300 + 0.5 and final.res_ext_grid.p_mw.at[0] <= 646 + 0.5
    assert (a.confidence == "high") == slack_ok
    assert slack_ok or "the slack unit runs outside its P or Q limits" in a.confidence_reason
    # its reactive output too: the solver never limits a slack's Q (case39's ext_grid: Qmax 300 Mvar)
    q_finding = next(f for f in a.findings if f.elements and f.elements[0].element == "ext_grid" and f.unit == "Mvar")
    assert q_finding.value == pytest.approx(float(net.res_ext_grid.q_mvar.at[0]), abs=1e-3) and q_finding.limit == 300.0


def test_units_at_a_reactive_limit_are_reported(workspace):
    # the oracle: plain pandapower with Q limits enforced; a unit at its limit no longer holds its set-point
    net = pn.case39()
    pp.runpp(net, lightsim2grid=False, numba=False, enforce_q_lims=True)
    at_limit = {int(i) for i in net.gen.index
                if min(abs(net.res_gen.q_mvar[i] - net.gen.max_q_mvar[i]), abs(net.res_gen.q_mvar[i] - net.gen.min_q_mvar[i])) < 0.01}
    result = run_power_flow(load_grid("case39").grid_id)
    assert at_limit and {u.index for u in result.q_limited} == at_limit
    for u in result.q_limited:
        assert u.q_mvar == pytest.approx(net.res_gen.q_mvar[u.index], abs=1e-3)
        assert u.vm_pu == pytest.approx(net.res_bus.vm_pu[u.bus], abs=1e-5)
