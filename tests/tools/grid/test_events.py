"""What-if events: applied to copies, and bad events named by field."""

from __future__ import annotations

import pytest

from gridsage.errors import InputError, UnknownElementError
from gridsage.tools.grid.events import apply_events
from gridsage.tools.workspace import current_workspace


def test_events_apply_to_a_copy(case14):
    derived = apply_events(case14, events=[{"type": "line_outage", "line": 2}, {"type": "load_change", "load": 0, "p_mw": 30.0},
                                           {"type": "rating_change", "element": "line", "index": 0, "rating": 0.5}],
                           load_scale=1.1)
    net, parent = current_workspace().get(derived.grid_id).net, current_workspace().get(case14).net
    assert not net.line.in_service[2] and parent.line.in_service[2]
    assert net.load.p_mw[0] == 30.0 and net.line.max_i_ka[0] == 0.5
    assert net.load.p_mw[1] == pytest.approx(parent.load.p_mw[1] * 1.1)
    assert len(derived.changes) == 4 and derived.parent_id == case14


def test_unknown_element_names_the_event_field(case14):
    with pytest.raises(UnknownElementError) as info:
        apply_events(case14, events=[{"type": "line_outage", "line": 1}, {"type": "gen_trip", "gen": 42}])
    assert info.value.field == "events[1].gen" and "indices 0-3" in str(info.value)


@pytest.mark.parametrize("event, field", [
    ({"type": "rating_change", "element": "line", "index": 0, "rating": -1.0}, "events[0].rating"),
    ({"type": "load_change", "load": 0, "p_mw": float("nan")}, "events[0].p_mw"),
    ({"type": "line_trip", "line": 0}, "events[0]"),
])
def test_malformed_events(case14, event, field):
    with pytest.raises(InputError) as info:
        apply_events(case14, events=[event])
    assert info.value.field == field


def test_slack_gen_trip_moves_the_reference(workspace, tmp_path):
    import pandapower as pp
    import pandapower.networks as pn

    from gridsage.tools.grid.grids import load_grid
    from gridsage.tools.grid.power_flow import run_power_flow

    net = pn.case9()  # make its reference a slack gen instead of an ext_grid
    pp.create_gen(net, bus=int(net.ext_grid.bus[0]), p_mw=70.0, vm_pu=1.0, slack=True, max_p_mw=250.0, name="G1")
    net.ext_grid.drop(net.ext_grid.index, inplace=True)
    path = tmp_path / "case9_slack_gen.json"
    pp.to_json(net, str(path))
    grid_id = load_grid(str(path)).grid_id
    slack = int(net.gen.index[net.gen.slack][0])
    derived = apply_events(grid_id, events=[{"type": "gen_trip", "gen": slack}])
    assert "slack (reference) moved to gen 0" in derived.changes[-1]  # gen 0 has the largest max_p_mw (300 MW)
    assert run_power_flow(derived.grid_id).status == "converged"
