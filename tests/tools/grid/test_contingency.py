"""N-1: lightsim2grid fast path against the pandapower loop, islanding, bounds, bad input."""

from __future__ import annotations

import pytest

from gridsage.tools.grid.contingency import run_contingency_analysis
from gridsage.errors import InputError, RequestTooLargeError
from gridsage.tools.grid.grids import load_grid


def _ranking(result):
    return [(o.outage.element, o.outage.index) for o in result.top]


@pytest.mark.parametrize("source", ["case118", "pglib_opf_case118_ieee"])
def test_fast_path_and_fallback_rank_the_same_top10(workspace, source):
    grid_id = load_grid(source).grid_id
    fast = run_contingency_analysis(grid_id, method="lightsim2grid", top=10)
    slow = run_contingency_analysis(grid_id, method="pandapower", top=10)
    assert fast.method == "lightsim2grid" and slow.method == "pandapower"
    assert _ranking(fast) == _ranking(slow)
    for a, b in zip(fast.top, slow.top):
        assert a.max_loading_percent == pytest.approx(b.max_loading_percent, abs=1e-3)
        assert a.vm_min_pu == pytest.approx(b.vm_min_pu, abs=1e-5)
    assert (fast.contingencies_total, fast.islanding_count, fast.diverged_count) == \
        (slow.contingencies_total, slow.islanding_count, slow.diverged_count)


def test_islanding_is_listed_never_as_zero_volts(case14):
    result = run_contingency_analysis(case14, top=20)
    assert result.contingencies_total == 20 and result.islanding_count == 1
    island = result.islanding[0]
    assert (island.outage.element, island.outage.index, island.status) == ("trafo", 3, "islanding")
    assert island.islanded_buses == [7]
    assert island.vm_min_pu > 0.9  # the energised rest, not 0 V
    assert all(v.index != 7 for v in island.violations if v.element == "bus")
    assert len(result.top) == 20  # islanding outages are ranked too, nothing dropped


def test_pglib118_ranked_by_loading_then_excursion(ieee118):
    result = run_contingency_analysis(ieee118, top=5)
    loads = [o.max_loading_percent for o in result.top]
    assert loads == sorted(loads, reverse=True) and loads[0] > 300  # line 96 outage on real ratings
    assert result.top[0].outage.index == 96 and result.top[0].violations[0].citation.standard == "NERC TPL-001"
    assert result.contingencies_total == 184 and len(result.top) == 5
    assert result.islanding_count == 7 and {o.outage.index for o in result.islanding} >= {6, 7}


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
