"""Tests of gridsage.tools.reliability.losses: energy losses over a load profile.

The oracle is a plain pandapower ``runpp`` loop written here (lightsim2grid off): every interval's loads (and
sgens) scaled on a copy of the net, the losses summed from ``res_line``/``res_trafo``/``res_trafo3w``/``res_impedance``
``pl_mw``, times the interval length computed by hand from the timestamps.  Never the tool's own output.
"""

from __future__ import annotations

import copy
import re
import warnings

import numpy as np
import pandas as pd
import pandapower as pp
import pandapower.networks as pn
import pytest

from gridsage.errors import InputError, RequestTooLargeError, UnknownGridError
from gridsage.tools.reliability import losses as losses_module
from gridsage.tools.reliability.losses import EnergyLossResult, EnergyLossView, energy_losses
from gridsage.tools.workspace import Grid

LOSS_TABLES = ("line", "trafo", "trafo3w", "impedance")


def oracle(net, load_scaling, sgen_scaling=None, gen_scaling=None):
    """Plain pandapower loop: per interval (loss [MW], load served [MW], per-branch loss {(table, index): MW}) or
    None where runpp fails."""
    work = copy.deepcopy(net)
    p0, q0 = work.load.p_mw.copy(), work.load.q_mvar.copy()
    sp0, sq0, gp0 = work.sgen.p_mw.copy(), work.sgen.q_mvar.copy(), work.gen.p_mw.copy()
    out = []
    for k, s in enumerate(load_scaling):
        g = 1.0 if sgen_scaling is None else sgen_scaling[k]
        work.load["p_mw"], work.load["q_mvar"] = p0 * s, q0 * s
        work.sgen["p_mw"], work.sgen["q_mvar"] = sp0 * g, sq0 * g
        work.gen["p_mw"] = gp0 * (1.0 if gen_scaling is None else gen_scaling[k])
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pp.runpp(work, lightsim2grid=False, numba=False)
        except pp.powerflow.LoadflowNotConverged:
            out.append(None)
            continue
        per = {(e, int(i)): float(v) for e in LOSS_TABLES if len(work[e])
               for i, v in work[f"res_{e}"].pl_mw.fillna(0.0).items()}
        out.append((sum(per.values()), float(work.res_load.p_mw.sum()), per))
    return out


def write_profile(path, times, load_scaling, sgen_scaling=None, gen_scaling=None):
    frame = pd.DataFrame({"timestamp": times, "load_scaling": load_scaling})
    if sgen_scaling is not None:
        frame["sgen_scaling"] = sgen_scaling
    if gen_scaling is not None:
        frame["gen_scaling"] = gen_scaling
    frame.to_csv(path, index=False)
    return str(path)


def day(start="2026-07-01T00:00:00+02:00", n=24):
    return [t.isoformat() for t in pd.date_range(pd.Timestamp(start), periods=n, freq="h")]


#: a daily load shape [-]: night trough, evening peak at hour 19
SHAPE = [0.55, 0.5, 0.48, 0.47, 0.5, 0.6, 0.75, 0.88, 0.92, 0.9, 0.88, 0.87, 0.86, 0.85, 0.85, 0.87, 0.92, 1.0, 1.08,
         1.12, 1.05, 0.9, 0.75, 0.62]


@pytest.fixture(scope="module")
def oberrhein(workspace):
    """mv_oberrhein: 179 buses in two parts, each fed by its own ext_grid (two slack buses)."""
    return workspace.add(Grid(grid_id="oberrhein", source="test", net=pn.mv_oberrhein())).grid_id


@pytest.fixture(scope="module")
def multivoltage(workspace):
    """pandapower's example_multivoltage: lines, trafos, a trafo3w, an impedance, sgens, shunts, wards."""
    return workspace.add(Grid(grid_id="multivoltage", source="test", net=pn.example_multivoltage())).grid_id


@pytest.mark.parametrize("method", ["auto", "pandapower"])
def test_day_of_losses_equals_a_plain_runpp_loop(workspace, oberrhein, tmp_path, method):
    net = workspace.get(oberrhein).net
    live_before = net.load.p_mw.copy()
    csv = write_profile(tmp_path / "day.csv", day(), SHAPE)
    result = energy_losses(oberrhein, csv, max_branches=5, method=method)
    truth = oracle(net, SHAPE)
    expected = sum(loss for loss, _, _ in truth)  # 1 h intervals
    assert result.method == ("lightsim2grid" if method == "auto" else "pandapower")
    assert result.status == "ok" and result.intervals_total == 24 and result.intervals_solved == 24
    assert result.energy_loss_mwh == pytest.approx(expected, rel=1e-6)
    assert result.energy_load_mwh == pytest.approx(sum(load for _, load, _ in truth), rel=1e-9)
    peak = int(np.argmax([loss for loss, _, _ in truth]))
    assert result.peak_loss_time == day()[peak] and result.peak_loss_mw == pytest.approx(truth[peak][0], rel=1e-6)
    mean = expected / 24
    assert result.mean_loss_mw == pytest.approx(mean, rel=1e-6)
    assert result.loss_load_factor == pytest.approx(mean / truth[peak][0], rel=1e-5)
    e_load = sum(load for _, load, _ in truth)
    assert result.loss_percent == pytest.approx(100 * expected / (e_load + expected), rel=1e-6)
    per_branch = {key: sum(t[2][key] for t in truth) for key in truth[0][2]}
    ranked = sorted(per_branch, key=per_branch.get, reverse=True)[:5]
    assert [(b.element, b.index) for b in result.top_branches] == ranked
    assert result.top_branches[0].energy_loss_mwh == pytest.approx(per_branch[ranked[0]], rel=1e-6)
    assert result.branches_omitted == sum(1 for v in per_branch.values() if v > 0) - 5
    assert net.load.p_mw.equals(live_before)  # the workspace net is never changed


def test_irregular_steps_sgen_and_gen_scaling_and_every_branch_kind(workspace, multivoltage, tmp_path):
    net = workspace.get(multivoltage).net
    assert len(net.trafo3w) and len(net.impedance) and len(net.sgen) and len(net.gen)
    times = ["2026-03-01T00:00:00Z", "2026-03-01T01:00:00Z", "2026-03-01T01:15:00Z", "2026-03-01T01:30:00Z",
             "2026-03-01T03:30:00Z"]
    hours = [1.0, 0.25, 0.25, 2.0, 2.0]  # by hand: time to the next row; the last repeats the one before
    load_s, sgen_s, gen_s = [0.8, 1.0, 1.1, 0.9, 0.7], [0.0, 0.5, 1.0, 0.3, 0.0], [0.6, 1.0, 1.2, 0.9, 0.5]
    result = energy_losses(multivoltage, write_profile(tmp_path / "irr.csv", times, load_s, sgen_s, gen_s),
                           max_series=3)
    assert result.method == "lightsim2grid"
    truth = oracle(net, load_s, sgen_s, gen_s)
    assert result.energy_loss_mwh == pytest.approx(sum(t[0] * h for t, h in zip(truth, hours)), rel=1e-6)
    assert result.energy_load_mwh == pytest.approx(sum(t[1] * h for t, h in zip(truth, hours)), rel=1e-9)
    assert result.hours_total == pytest.approx(5.5)
    assert result.end == "2026-03-01T05:30:00+00:00"
    tr3 = [b for b in result.top_branches if b.element == "trafo3w"]
    assert tr3 and tr3[0].energy_loss_mwh == pytest.approx(sum(t[2][("trafo3w", tr3[0].index)] * h
                                                               for t, h in zip(truth, hours)), rel=1e-6)
    assert len(result.series) == 3 and result.series_omitted == 2
    assert [s.hours for s in result.series] == hours[:3]


def test_an_interval_that_cannot_converge_is_named_and_left_out(workspace, oberrhein, tmp_path):
    net = workspace.get(oberrhein).net
    scaling = [1.0, 0.9, 20.0, 0.8, 1.0, 0.7]
    times = day(n=6)
    result = energy_losses(oberrhein, write_profile(tmp_path / "bad.csv", times, scaling))
    truth = oracle(net, scaling)
    assert truth[2] is None and all(t is not None for k, t in enumerate(truth) if k != 2)  # the oracle agrees
    assert result.status == "partial"
    assert (result.intervals_total, result.intervals_solved, result.intervals_failed) == (6, 5, 1)
    assert result.failed_first == [times[2]]
    assert result.energy_loss_mwh == pytest.approx(sum(t[0] for t in truth if t), rel=1e-6)
    base_load = float((net.load.p_mw * net.load.scaling).sum())
    assert result.energy_load_not_covered_mwh == pytest.approx(20.0 * base_load, rel=1e-9)
    assert result.peak_loss_time != times[2]
    assert any("failed" in n for n in result.notes)
    view = result.compact()
    assert view.failed_first == [times[2]] and view.intervals_failed == 1


def test_no_source_fails_every_interval_by_name(workspace, tmp_path):
    net = pn.example_simple()
    net.ext_grid["in_service"] = False
    grid_id = workspace.add(Grid(grid_id="no-source", source="test", net=net)).grid_id
    times = day(n=15)
    result = energy_losses(grid_id, write_profile(tmp_path / "d.csv", times, [1.0] * 15))
    assert result.status == "failed" and result.intervals_solved == 0 and result.intervals_failed == 15
    assert result.failed_first == times[:10]
    assert result.energy_loss_mwh == 0 and result.peak_loss_mw is None
    assert result.energy_load_not_covered_mwh == pytest.approx(float((net.load.p_mw * net.load.scaling).sum()) * 15)
    assert "failed" in result.compact().one_line()


def test_islanded_load_is_reported_unsupplied(workspace, tmp_path):
    import pandapower.topology as top

    net = pn.mv_oberrhein()  # the first line whose outage cuts off a few loads (the rest stays energised)
    for line in net.line.index:
        cut = copy.deepcopy(net)
        cut.line.at[line, "in_service"] = False
        dark = set(top.unsupplied_buses(cut))
        if 0 < len(dark) <= 10 and dark & set(cut.load.bus):
            break
    else:
        pytest.fail("no line of mv_oberrhein islands a few loads")
    grid_id = workspace.add(Grid(grid_id="cut", source="test", net=cut)).grid_id
    scaling = SHAPE[:6]
    result = energy_losses(grid_id, write_profile(tmp_path / "i.csv", day(n=6), scaling))
    truth = oracle(cut, scaling)
    assert result.status == "ok" and result.method == "lightsim2grid" and result.islanded_buses == len(dark)
    assert result.energy_loss_mwh > 0
    assert result.energy_loss_mwh == pytest.approx(sum(t[0] for t in truth), rel=1e-6)
    islanded = float((cut.load.p_mw * cut.load.scaling)[cut.load.bus.isin(dark)].sum())
    assert islanded > 0
    assert result.energy_load_unsupplied_mwh == pytest.approx(islanded * sum(scaling), rel=1e-9)
    assert result.energy_load_mwh == pytest.approx(sum(t[1] for t in truth), rel=1e-9)
    assert any("islanded" in n for n in result.notes)


def test_bad_rows_are_rejected_by_name_and_the_valid_kept(workspace, oberrhein, tmp_path):
    net = workspace.get(oberrhein).net
    path = tmp_path / "messy.csv"
    path.write_text("timestamp,load_scaling\n"
                    "2026-07-01T00:00:00+02:00,0.6\n"       # row 1 ok
                    "2026-07-01T01:00:00+02:00,nan\n"       # row 2 not a number
                    "2026-07-01T02:00:00+02:00,-0.5\n"      # row 3 negative
                    "2026-07-01T03:00:00+02:00,0.8\n"       # row 4 ok
                    "2026-07-01T02:30:00+02:00,0.9\n"       # row 5 not after row 4
                    "2026-07-01T05:00:00,0.9\n"             # row 6 no offset
                    "yesterday,0.9\n"                       # row 7 not a time
                    "2026-07-01T06:00:00+02:00,\n"          # row 8 missing
                    "2026-07-01T07:00:00+02:00,1.0\n")      # row 9 ok
    result = energy_losses(oberrhein, str(path))
    assert result.rows_read == 9 and result.rows_rejected == 6 and result.intervals_total == 3
    named = {(r.row, r.field) for r in result.rejected_rows}
    assert named == {(2, "load_scaling"), (3, "load_scaling"), (5, "timestamp"), (6, "timestamp"), (7, "timestamp"),
                     (8, "load_scaling")}
    reasons = {r.row: r.reason for r in result.rejected_rows}
    assert "negative" in reasons[3] and "offset" in reasons[6] and "not after" in reasons[5]
    truth = oracle(net, [0.6, 0.8, 1.0])
    hours = [3.0, 4.0, 4.0]  # rows 1 -> 4 -> 9 by hand; the last repeats the one before
    assert result.energy_loss_mwh == pytest.approx(sum(t[0] * h for t, h in zip(truth, hours)), rel=1e-6)
    assert any("rejected" in n for n in result.notes)


def test_input_errors_name_the_field(workspace, oberrhein, tmp_path):
    good = write_profile(tmp_path / "ok.csv", day(n=3), [1, 1, 1])
    with pytest.raises(UnknownGridError) as info:
        energy_losses("no-such-grid", good)
    assert info.value.field == "grid_id"
    (tmp_path / "nocol.csv").write_text("time,scaling\n2026-01-01T00:00:00Z,1\n")
    with pytest.raises(InputError) as info:
        energy_losses(oberrhein, str(tmp_path / "nocol.csv"))
    assert info.value.field == "profile.timestamp"
    (tmp_path / "one.csv").write_text("timestamp,load_scaling\n2026-01-01T00:00:00Z,1\n2026-01-01T01:00:00Z,x\n")
    with pytest.raises(InputError) as info:
        energy_losses(oberrhein, str(tmp_path / "one.csv"))
    assert info.value.field == "profile" and "1 valid row" in info.value.message
    with pytest.raises(InputError) as info:
        energy_losses(oberrhein, "/etc/passwd")
    assert info.value.field == "profile" and "outside" in info.value.message
    with pytest.raises(InputError):
        energy_losses(oberrhein, good, max_branches=-1)


def test_compact_view_is_bounded_and_has_no_series(workspace, oberrhein, tmp_path):
    times = [t.isoformat() for t in pd.date_range("2026-01-01", periods=24 * 7, freq="h", tz="UTC")]
    result = energy_losses(oberrhein, write_profile(tmp_path / "week.csv", times, (SHAPE * 7)), max_branches=20)
    assert isinstance(result, EnergyLossResult) and len(result.series) == 168 and len(result.top_branches) == 20
    view = result.compact()
    assert isinstance(view, EnergyLossView)
    data = view.model_dump()
    assert "series" not in data and len(view.top_branches) == 5 and view.omitted["top_branches"] == 15
    assert view.omitted["series"] == 168
    assert view.energy_loss_mwh == result.energy_loss_mwh and re.match(r"(line|trafo) \d+: [\d.]+ MWh \(", view.top_branches[0])
    assert len(view.model_dump_json()) < 3000
    assert result.evidence_id.startswith("ev-")


def test_row_cap_refuses_a_larger_profile(workspace, oberrhein, tmp_path, monkeypatch):
    monkeypatch.setattr(losses_module, "MAX_PROFILE_ROWS", 10)
    times = [t.isoformat() for t in pd.date_range("2026-01-01", periods=11, freq="h", tz="UTC")]
    with pytest.raises(RequestTooLargeError) as info:
        energy_losses(oberrhein, write_profile(tmp_path / "big.csv", times, [1.0] * 11))
    assert info.value.field == "profile" and "10" in info.value.message
