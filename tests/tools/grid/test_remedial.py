"""Remedial actions: validated on copies, and re-checked here by an independent power flow."""

from __future__ import annotations

import pytest

from gridsage.errors import InputError, UnknownElementError
from gridsage.tools.grid.events import apply_events
from gridsage.tools.grid.grids import load_grid
from gridsage.tools.grid.power_flow import run_power_flow
from gridsage.tools.grid.remedial import apply_actions, propose_remedial_actions
from gridsage.tools.workspace import current_workspace
from tests.oracle import actions as oracle


@pytest.fixture(scope="module")
def overloaded(ieee118):
    return apply_events(ieee118, events=[{"type": "line_outage", "line": 34}], load_scale=1.05, gen_scale=1.05,
                        new_grid_id="ieee118-trip34").grid_id


def test_actions_reduce_the_overload_independently_checked(overloaded):
    loaded_before = current_workspace().copy_net(overloaded)
    result = propose_remedial_actions(overloaded, max_candidates=6)
    assert result.status == "ok" and result.violations_before[0].index == 29
    assert result.candidates and [c.rank for c in result.candidates] == list(range(1, len(result.candidates) + 1))
    best = result.candidates[0]
    assert best.outcome in ("clears_all", "partial")
    before = next(e for e in best.effects if e.element.index == 29 and e.element.element == "line")
    truth = oracle.judge(current_workspace().copy_net(overloaded), best.action.model_dump())
    assert truth["loading"][("line", 29)] == pytest.approx(before.after, abs=0.02)
    assert truth["loading"][("line", 29)] < before.before - 50  # really relieved: 184 % -> well below
    assert truth["breaches"] == {}  # within every unit's P and Q limits
    oracle.solve(loaded_before)
    assert loaded_before.res_line.loading_percent[29] == pytest.approx(before.before, abs=0.02)  # loaded grid untouched


def test_ineffective_candidates_are_marked_not_hidden(overloaded):
    result = propose_remedial_actions(overloaded, max_candidates=50)
    outcomes = [c.outcome for c in result.candidates]
    order = ["clears_all", "partial", "ineffective", "diverged", "beyond_capability"]
    assert outcomes == sorted(outcomes, key=order.index)
    for c in result.candidates:
        assert len(c.effects) == len(result.violations_before)
        assert (c.outcome == "clears_all") == (c.remaining_violation_count == 0)


def test_load_is_shed_only_when_nothing_else_clears(overloaded, workspace):
    result = propose_remedial_actions(overloaded, max_candidates=50)
    sheds = [c for c in result.candidates if c.action.type == "load_shed"]
    clearing = [c for c in result.candidates if c.outcome == "clears_all" and c.action.type != "load_shed"]
    assert bool(clearing) == (not sheds)
    if clearing:
        assert result.load_shed_withheld > 0 and any("withheld" in n for n in result.notes)
    # a feeder with no dispatchable unit: shedding is all there is, and it cites the last-resort clause
    feeder = apply_events(load_grid("cigre_mv").grid_id, load_scale=1.05, new_grid_id="cigre-x1.05").grid_id
    sheds = [c for c in propose_remedial_actions(feeder, max_candidates=50).candidates if c.action.type == "load_shed"]
    assert sheds and all(c.citations[0].clause == "Table 1, footnote 12" for c in sheds)


def test_a_clearing_shed_is_the_least_mw_that_clears(workspace):
    # case9 with its loads raised until one line overloads; the oracle bisects the shed with plain pandapower
    grid = apply_events(load_grid("case9").grid_id, load_scale=1.6, new_grid_id="case9-x1.6").grid_id
    result = propose_remedial_actions(grid, max_candidates=50)
    clearing = [c for c in result.candidates if c.action.type == "load_shed" and c.outcome == "clears_all"]
    if any(c.outcome == "clears_all" and c.action.type != "load_shed" for c in result.candidates):
        assert not clearing  # withheld: redispatch clears
        return
    for c in clearing:
        action = c.action.model_dump()
        assert not oracle.judge(current_workspace().copy_net(grid), action)["overloaded"]
        smaller = dict(action, p_mw=action["p_mw"] - 0.2)
        truth = oracle.judge(current_workspace().copy_net(grid), smaller)
        assert truth["overloaded"] or truth["off_band"]


def test_no_violations(case14):
    result = propose_remedial_actions(case14, vm_min_pu=0.9, vm_max_pu=1.1)
    assert result.status == "no_violations" and result.candidates == []


def test_apply_actions_derives_a_grid_and_leaves_the_parent(overloaded):
    best = propose_remedial_actions(overloaded).candidates[0]
    derived = apply_actions(overloaded, [best.action.model_dump()])
    assert derived.parent_id == overloaded and derived.changes[0].startswith(best.description.split(":")[0])
    assert run_power_flow(derived.grid_id).max_loading_percent < run_power_flow(overloaded).max_loading_percent
    with pytest.raises(UnknownElementError) as info:
        apply_actions(overloaded, [{"type": "load_shed", "load": 9999, "p_mw": 1.0}])
    assert info.value.field == "action.load"
    with pytest.raises(InputError) as info:
        apply_actions(overloaded, [{"type": "load_shed", "load": 1, "p_mw": float("nan")}])
    assert "p_mw" in info.value.field


def test_a_candidate_applies_by_reference_as_its_compact_view_gives_it(overloaded):
    result = propose_remedial_actions(overloaded)
    view = result.compact()  # what a model or MCP client reads: the best candidates, each with its reference
    assert [c.rank for c in view.candidates] == [1, 2, 3] and view.omitted.get("candidates") == len(result.candidates) - 3
    by_reference = apply_actions(overloaded, [view.candidates[1].action])
    by_value = apply_actions(overloaded, [result.candidates[1].action.model_dump()])
    assert by_reference.changes == by_value.changes
    with pytest.raises(InputError) as info:
        apply_actions(overloaded, [{"type": "candidate", "evidence_id": result.evidence_id, "rank": 99}])
    assert info.value.field == "actions[0].rank" and f"ranks 1-{len(result.candidates)}" in info.value.fix
    with pytest.raises(InputError) as info:
        apply_actions(overloaded, [{"type": "candidate", "evidence_id": by_value.evidence_id, "rank": 1}])
    assert info.value.field == "actions[0].rank" and "(apply_actions)" in info.value.message
    with pytest.raises(InputError) as info:
        apply_actions(overloaded, [{"type": "load_shed", "load": 1, "p_mw": 1.0},
                                   {"type": "candidate", "evidence_id": "ev-9999", "rank": 1}])
    assert info.value.field == "actions[1].evidence_id"


def test_a_band_below_any_set_point_gives_candidates_not_an_error(case14):
    # every bus above a 0.75 pu ceiling: a set-point 0.005 pu inside the band (0.745 pu) is below what a unit takes
    # (GenVoltage: 0.8-1.2 pu), so no set-point candidate is built; the result still says what it found
    result = propose_remedial_actions(case14, vm_min_pu=0.6, vm_max_pu=0.75, opf=False)
    assert result.status == "ok" and len(result.violations_before) == 14  # case14: every bus at 1.01-1.09 pu
    assert not [c for c in result.candidates if c.action.type == "gen_voltage" and not 0.8 < c.action.vm_pu < 1.2]
