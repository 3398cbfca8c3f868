"""Tests of gridsage.tools.causal.analysis on structural generators written here, with planted truths.

Every expected value comes from the generator's planted coefficients or planted shifts (the oracle), never from
the tools' own output.  DoWhy runs for real (no mocks).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from gridsage.errors import InputError
from gridsage.tools.causal.analysis import (attribute_anomaly, attribute_frame, change_frame, effect_frame,
                                            estimate_effect, explain_change, graph_refutation)
from gridsage.tools.causal.graph import graph_from_edges

TRUE_EFFECT = 2.5  # planted dY/dX of the confounded generator


def confounded(n: int = 1500, seed: int = 0) -> pd.DataFrame:
    """z -> x, z -> y, x -> y: x = 1.5 z + e, y = 2.5 x + 3 z + e (linear, Gaussian)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 1, n)
    x = 1.5 * z + rng.normal(0, 1, n)
    y = TRUE_EFFECT * x + 3.0 * z + rng.normal(0, 1, n)
    return pd.DataFrame({"z": z, "x": x, "y": y})


CONFOUNDED = [["z", "x"], ["z", "y"], ["x", "y"]]


def diamond(n: int = 800, seed: int = 1, shift: dict | None = None, row: int | None = None) -> pd.DataFrame:
    """a -> c, b -> c, c -> d with c = 2 a + b² / 4 + e, d = 1.5 c + e; ``shift`` adds to a node's noise at ``row``
    (the change propagates through the structural equations)."""
    rng = np.random.default_rng(seed)
    noise = {"a": rng.normal(0, 1, n), "b": rng.normal(0, 1, n), "c": rng.normal(0, 0.5, n), "d": rng.normal(0, 0.5, n)}
    for node, s in (shift or {}).items():
        noise[node][row] += s
    a, b = noise["a"], noise["b"]
    c = 2.0 * a + b ** 2 / 4 + noise["c"]
    d = 1.5 * c + noise["d"]
    return pd.DataFrame({"time": pd.date_range("2026-07-01", periods=n, freq="h", tz="UTC"), "a": a, "b": b, "c": c,
                         "d": d})


DIAMOND = [["a", "c"], ["b", "c"], ["c", "d"]]


# --- effect estimation -------------------------------------------------------------------------------------------

def test_effect_adjusts_for_the_confounder_within_5_percent():
    data = confounded()
    naive = np.polyfit(data.x, data.y, 1)[0]
    assert abs(naive / TRUE_EFFECT - 1) > 0.2  # the confounding is strong: an unadjusted slope is far off
    res = effect_frame(data, graph_from_edges(CONFOUNDED), "x", "y")
    assert res.adjustment_set == ["z"]
    assert "z" in res.estimand
    assert res.estimate == pytest.approx(TRUE_EFFECT, rel=0.05)
    assert res.ci_low < TRUE_EFFECT < res.ci_high
    assert res.status == "ok"
    assert {r.refuter for r in res.refutations} == {"placebo_treatment_refuter", "random_common_cause",
                                                    "data_subset_refuter", "graph_refuter"}
    assert all(r.passed for r in res.refutations)


def test_effect_scales_with_treatment_delta():
    res = effect_frame(confounded(), graph_from_edges(CONFOUNDED), "x", "y", treatment_delta=-2.0, refuters=(),
                       graph_refuter=False)
    assert res.estimate == pytest.approx(-2.0 * TRUE_EFFECT, rel=0.05)
    assert res.effect_per_unit == pytest.approx(TRUE_EFFECT, rel=0.05)
    assert res.refutations == []


def test_no_path_is_not_identified():
    res = effect_frame(confounded(), graph_from_edges(CONFOUNDED), "y", "x", refuters=(), graph_refuter=False)
    assert res.status == "not_identified" and res.estimate is None


def test_graph_refuter_flags_a_dropped_confounder_edge():
    # the graph without z -> y implies y ⫫ z | x, false in the data (y = 2.5 x + 3 z + e)
    wrong = graph_from_edges([["z", "x"], ["x", "y"]])
    res = effect_frame(confounded(), wrong, "x", "y")
    graph_check = next(r for r in res.refutations if r.refuter == "graph_refuter")
    assert not graph_check.passed and "z" in graph_check.detail
    assert res.status == "refuted"


def chain(n: int = 1000, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    p = rng.normal(0, 1, n)
    q = 0.8 * p + rng.normal(0, 0.6, n)
    r = -1.2 * q + rng.normal(0, 0.6, n)
    return pd.DataFrame({"p": p, "q": q, "r": r})


def test_graph_refuter_passes_the_right_chain_and_flags_a_reversed_edge():
    data = chain()
    assert graph_refutation(data, graph_from_edges([["p", "q"], ["q", "r"]])).passed
    # q -> r reversed: p -> q <- r implies p ⫫ r, but p and r are dependent through q
    assert not graph_refutation(data, graph_from_edges([["p", "q"], ["r", "q"]])).passed


# --- anomaly attribution -----------------------------------------------------------------------------------------

def test_outlier_in_a_root_noise_is_ranked_first_with_its_planted_size():
    row, shift = 500, 6.0
    data = diamond(shift={"a": shift}, row=row)
    res = attribute_frame(data, graph_from_edges(DIAMOND), "d", row, num_bootstrap=5, seed=3)
    assert res.root_cause == "a"
    top = res.contributions[0]
    # planted: d moves by 1.5 * 2 * shift = 18 through the linear path; a's contribution is its deviation times 3
    expected = 3.0 * (data.a[row] - data.a.drop(index=row).mean())
    assert top.contribution == pytest.approx(expected, rel=0.15)
    assert top.ci_low <= top.contribution <= top.ci_high
    assert sum(c.contribution for c in res.contributions) == pytest.approx(res.excess, abs=0.1 * abs(res.excess))
    assert res.status == "ok" and res.anomaly_time == data.time[row].isoformat()
    assert res.num_bootstrap == 5 and res.rows_used == len(data) - 1


def test_sensor_error_is_the_target_itself():
    row = 300
    data = diamond(shift={"d": 5.0}, row=row)
    res = attribute_frame(data, graph_from_edges(DIAMOND), "d", row, num_bootstrap=1)
    assert res.root_cause == "d" == res.own_noise_node
    assert res.contributions[0].contribution == pytest.approx(5.0, rel=0.15)
    assert any("sensor" in n for n in res.notes)


def test_default_row_is_the_largest_deviation_and_ordinary_rows_are_not_anomalous():
    data = diamond(shift={"b": 7.0}, row=123)  # b enters as b²/4: + ~12 on c
    res = attribute_frame(data, graph_from_edges(DIAMOND), "d", num_bootstrap=1)
    assert res.anomaly_row == 123 and res.root_cause == "b"
    calm = diamond()
    i = int(np.argmin(np.abs(calm.d - calm.d.median())))
    assert attribute_frame(calm, graph_from_edges(DIAMOND), "d", i, num_bootstrap=1).status == "not_anomalous"


def test_rows_with_missing_values_are_dropped_and_counted():
    row = 400
    data = diamond(shift={"a": 6.0}, row=row)
    data.loc[[3, 7, 11], "c"] = np.nan
    data["c"] = data["c"].astype(object)
    data.loc[20, "c"] = "n/a"
    res = attribute_frame(data, graph_from_edges(DIAMOND), "d", row, num_bootstrap=1)
    assert res.rows_used == len(data) - 4 - 1
    assert any("4 of" in n and "dropped" in n for n in res.notes)
    assert res.root_cause == "a"
    with pytest.raises(InputError) as err:
        attribute_frame(data, graph_from_edges(DIAMOND), "d", 7)
    assert err.value.field == "anomaly_row"


# --- distribution change ------------------------------------------------------------------------------------------

def test_changed_mechanism_is_ranked_first():
    before = diamond(n=400, seed=5)
    after = diamond(n=400, seed=6)
    after["c"] += 3.0  # the mechanism of c changes: + 3 on its intercept
    after["d"] = 1.5 * after["c"] + (after["d"] - 1.5 * (after["c"] - 3.0))  # same noise of d, propagated
    after["time"] = before["time"] + pd.Timedelta(days=400 / 24)
    data = pd.concat([before, after], ignore_index=True)
    res = change_frame(data, graph_from_edges(DIAMOND), "d", [0, 399], [400, 799], seed=1)
    assert res.root_cause == "c"
    assert res.changed_mechanisms and "c" in res.changed_mechanisms
    assert res.change == pytest.approx(after.d.mean() - before.d.mean())
    # planted: + 3 on c moves d by 1.5 * 3 = 4.5 (the rest of the change is sampling noise between the two periods)
    assert res.contributions[0].contribution == pytest.approx(4.5, rel=0.2)


# --- bad input -------------------------------------------------------------------------------------------------------

def test_unknown_target_and_missing_column_name_the_field():
    data = diamond()
    with pytest.raises(InputError) as err:
        attribute_frame(data, graph_from_edges(DIAMOND), "hot_spot")
    assert err.value.field == "target" and "d" in err.value.fix
    with pytest.raises(InputError) as err:
        effect_frame(data.drop(columns=["b"]), graph_from_edges(DIAMOND), "a", "d")
    assert err.value.field == "frame" and "b" in err.value.message
    with pytest.raises(InputError) as err:
        effect_frame(data, graph_from_edges(DIAMOND), "a", "d", treatment_delta=0.0)
    assert err.value.field == "treatment_delta"
    with pytest.raises(InputError) as err:
        attribute_frame(data.iloc[:40], graph_from_edges(DIAMOND), "d")
    assert err.value.field == "frame" and "50" in err.value.message


@pytest.fixture
def csv_file(tmp_path):
    row = 500
    data = diamond(shift={"a": 6.0}, row=row)
    path = tmp_path / "history.csv"
    data.assign(time=data.time.dt.strftime("%Y-%m-%dT%H:%M:%SZ")).to_csv(path, index=False)
    return path, data, row


def test_tools_read_the_csv_and_record_evidence(workspace, csv_file):
    path, data, row = csv_file
    res = attribute_anomaly(str(path), "d", anomaly_time=data.time[row].isoformat(), edges=DIAMOND, num_bootstrap=2)
    assert res.root_cause == "a" and res.anomaly_row == row and res.evidence_id.startswith("ev-")
    eff = estimate_effect(str(path), "c", "d", edges=DIAMOND, refuters=["placebo_treatment_refuter"])
    assert eff.effect_per_unit == pytest.approx(1.5, rel=0.05)  # planted d = 1.5 c + e
    assert [r.refuter for r in eff.refutations] == ["placebo_treatment_refuter"]
    times = data.time.dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    ch = explain_change(str(path), "d", [times[0], times[299]], [times[300], times[599]], edges=DIAMOND)
    assert ch.rows_a == 300 and ch.rows_b == 300


def test_tool_input_errors_name_the_field(workspace, csv_file, tmp_path):
    path, data, _ = csv_file
    with pytest.raises(InputError) as err:
        attribute_anomaly(str(path), "d", edges=[["a", "c"], ["c", "d"], ["d", "a"]])
    assert err.value.field == "edges" and "cycle" in err.value.message
    with pytest.raises(InputError) as err:
        attribute_anomaly(str(path), "d")
    assert err.value.field == "edges" and "grid_id" in err.value.fix
    with pytest.raises(InputError) as err:
        attribute_anomaly("/etc/hostname.csv", "d", edges=DIAMOND)
    assert err.value.field == "data_csv"
    no_time = tmp_path / "no_time.csv"
    data.drop(columns=["time"]).to_csv(no_time, index=False)
    with pytest.raises(InputError) as err:
        attribute_anomaly(str(no_time), "d", edges=DIAMOND)
    assert err.value.field == "data_csv" and "time" in err.value.message
    with pytest.raises(InputError) as err:
        estimate_effect(str(path), "c", "d", edges=DIAMOND, refuters=["psychic_refuter"])
    assert err.value.field.startswith("refuters")
    with pytest.raises(InputError) as err:
        attribute_anomaly(str(path), "d", edges=DIAMOND, num_bootstrap=51)
    assert err.value.field == "num_bootstrap"


def test_import_is_lazy():
    code = ("import sys, gridsage.tools.causal.analysis; "
            "bad = [m for m in ('dowhy', 'sklearn', 'networkx') if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_switching_event_constant_in_the_history_is_found_by_the_power_balance():
    """trafo_0_p_mw = feeder loads + transfer + e; the transfer is 0 in every row but the planted one, so its effect
    cannot be learnt from the data: the power balance (+1 per MW injected) gives it."""
    rng = np.random.default_rng(7)
    n, row, transfer = 600, 420, 4.0
    hour = np.arange(n) % 24
    ambient = 25 + 5 * np.cos(2 * np.pi * (hour - 15) / 24) + rng.normal(0, 1.5, n)
    shape = 0.8 + 0.2 * np.cos(2 * np.pi * (hour - 18) / 24)
    f0 = 6 * shape * (1 + 0.02 * (ambient - 20)) * (1 + rng.normal(0, 0.03, n))
    f1 = 4 * shape * (1 + 0.02 * (ambient - 20)) * (1 + rng.normal(0, 0.03, n))
    sw = np.zeros(n)
    sw[row] = transfer
    p = f0 + f1 + sw + rng.normal(0, 0.1, n)
    k = p / 16
    theta_h = ambient + 40 * k ** 1.6 + rng.normal(0, 0.5, n)
    data = pd.DataFrame({"time": pd.date_range("2026-07-01", periods=n, freq="h", tz="UTC"), "ambient_c": ambient,
                         "feeder_0_load_p_mw": f0, "feeder_1_load_p_mw": f1, "switch_3_transfer_p_mw": sw,
                         "trafo_0_p_mw": p, "trafo_0_theta_h_c": theta_h})
    graph = graph_from_edges([["ambient_c", "feeder_0_load_p_mw"], ["ambient_c", "feeder_1_load_p_mw"],
                              ["feeder_0_load_p_mw", "trafo_0_p_mw"], ["feeder_1_load_p_mw", "trafo_0_p_mw"],
                              ["switch_3_transfer_p_mw", "trafo_0_p_mw"], ["ambient_c", "trafo_0_theta_h_c"],
                              ["trafo_0_p_mw", "trafo_0_theta_h_c"]])
    res = attribute_frame(data, graph, "trafo_0_p_mw", row, num_bootstrap=1)
    assert res.root_cause == "switch_3_transfer_p_mw"
    assert res.contributions[0].contribution == pytest.approx(transfer, rel=0.1)  # planted: + 4 MW, coefficient 1
    assert res.status == "ok" and res.unusual_nodes[0] == "switch_3_transfer_p_mw"
    assert attribute_frame(data, graph, "trafo_0_theta_h_c", row, num_bootstrap=1).root_cause == "switch_3_transfer_p_mw"


def test_feeder_graph_from_the_grid_finds_a_planted_sensor_fault(workspace, tmp_path):
    """grid_id + trafo: the graph comes from the topology; the data from the feeder simulator with a planted hot-spot
    sensor fault of + 9 K (the oracle)."""
    from gridsage.tools.causal.simulate import PlantedCause, simulate_feeder_history
    from gridsage.tools.grid.grids import load_grid

    grid_id = load_grid("cigre_mv", grid_id="cigre_causal").grid_id
    hist = simulate_feeder_history(workspace.get(grid_id).net, 0, seed=3, anomaly_rows=[300],
                                   planted=[PlantedCause(node="trafo_0_theta_h_c", shift=9.0)])
    path = tmp_path / "feeder.csv"
    hist.data.assign(time=hist.data.time.dt.strftime("%Y-%m-%dT%H:%M:%SZ")).to_csv(path, index=False)
    res = attribute_anomaly(str(path), "trafo_0_theta_h_c", anomaly_time=hist.data.time[300].isoformat(),
                            grid_id=grid_id, trafo=0, num_bootstrap=3)
    assert res.graph.source == "topology"
    assert res.root_cause == "trafo_0_theta_h_c"
    assert res.contributions[0].contribution == pytest.approx(9.0, rel=0.15)
