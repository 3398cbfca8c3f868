"""Feeder history simulator: the structural equations against a hand computation of IEEE C57.91 Clause 7 ultimate
rises (ONAN: Δθ_TO,R = 55 K, Δθ_H,R = 80 - 55 = 25 K, R = 4.5, n = m = 0.8, written here, not read from GridSage),
planted shifts present exactly at the anomaly rows, shift interventions exact and propagated, seeded
reproducibility, and any trafo of any pandapower net."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from gridsage.errors import InputError
from gridsage.tools.causal.simulate import PlantedCause, simulate_feeder_history

# IEEE C57.91-2011 ONAN figures (Clause 7: n = 0.8, m = 0.8; 65 °C-rise unit: 55 K top oil, 80 K hot spot over
# ambient (Clause 5); loss ratio R = 4.5 as GridSage's rating default)
TO_R, H_R, R, N, M = 55.0, 25.0, 4.5, 0.8, 0.8
SN = 25.0  # CIGRE MV trafo rating [MVA]
P, TO, HS = "trafo_0_p_mw", "trafo_0_theta_to_c", "trafo_0_theta_h_c"
# CIGRE MV (with_der='pv_wind') by hand from net.load / net.sgen: bus 1 loads; loads on buses 2-11; sgens on 3-11
BUSBAR_MW = 14.994 + 4.845
FEEDER0_MW = (0.27645 + 0.43165 + 0.72750 + 0.54805 + 0.58685 + 0.47530 + 0.32980
              + 0.22525 + 0.07650 + 0.57375 + 0.06800)
SGEN0_MW = 0.02 + 0.02 + 0.03 + 0.03 + 0.03 + 0.03 + 0.04 + 0.01 + 1.50


@pytest.fixture(scope="module")
def cigre():
    import pandapower.networks as pn

    return pn.create_cigre_network_mv(with_der="pv_wind")


def _top_oil(ambient, k):
    return ambient + TO_R * ((k ** 2 * R + 1) / (R + 1)) ** N


def test_zero_noise_row_matches_hand_computation(cigre):
    h = simulate_feeder_history(cigre, 0, days=1, noise_scale=0.0, load_scale=1.0)
    row = h.data.iloc[15]  # 15:00 UTC
    assert row["time"] == pd.Timestamp("2026-07-01T15:00:00Z")
    ambient = 25.0 + 5.0  # cosine peak at 15:00
    shape = 0.6 + 0.4 * (1 - math.cos(math.pi * 11 / 14)) / 2  # 11 h into the 04:00 -> 18:00 rise
    temp = 1 + 0.02 * (ambient - 20)
    irr = 900 * math.sin(math.pi * 9 / 14)  # 9 h after sunrise of a 14 h day, cloud factor 1
    busbar, feeder, sgen = BUSBAR_MW * shape * temp, FEEDER0_MW * shape * temp, SGEN0_MW * irr / 1000
    p = busbar + feeder - sgen
    k = p / SN
    theta_to = _top_oil(ambient, k)
    theta_h = theta_to + H_R * k ** (2 * M)
    expected = {"ambient_c": ambient, "irradiance_w_m2": irr, "busbar_1_load_p_mw": busbar,
                "feeder_0_load_p_mw": feeder, "feeder_0_sgen_p_mw": sgen, "switch_4_transfer_p_mw": 0.0,
                P: p, TO: theta_to, HS: theta_h}
    for name, value in expected.items():
        assert row[name] == pytest.approx(value, rel=1e-9, abs=1e-9), name
    assert (h.noise.abs().to_numpy() < 1e-12).all()
    # and at 04:00 (load trough 0.6, night: no sun)
    night = h.data.iloc[4]
    amb4 = 25 + 5 * math.cos(2 * math.pi * (4 - 15) / 24)
    assert night["irradiance_w_m2"] == 0.0
    assert night[P] == pytest.approx((BUSBAR_MW + FEEDER0_MW) * 0.6 * (1 + 0.02 * (amb4 - 20)), rel=1e-9)


def test_structural_equations_hold_with_noise(cigre):
    h = simulate_feeder_history(cigre, 0, days=7, seed=3)
    d, u = h.data, h.noise
    k = d[P] / SN
    np.testing.assert_allclose(d[P] - u[P], d["busbar_1_load_p_mw"] + d["feeder_0_load_p_mw"]
                               - d["feeder_0_sgen_p_mw"] + d["switch_4_transfer_p_mw"], atol=1e-9)
    np.testing.assert_allclose(d[TO] - u[TO], _top_oil(d["ambient_c"], k), atol=1e-9)
    np.testing.assert_allclose(d[HS] - u[HS], d[TO] + H_R * np.abs(k) ** (2 * M), atol=1e-9)
    # load noise is multiplicative, σ 3 %; flow noise σ 1 % of 25 MVA; temperature noise σ 0.5 K (within sampling)
    rel = u["feeder_0_load_p_mw"] / (d["feeder_0_load_p_mw"] - u["feeder_0_load_p_mw"])
    assert 0.02 < rel.std() < 0.04
    assert 0.2 < u[P].std() < 0.3 and 0.4 < u[TO].std() < 0.6 and 0.4 < u[HS].std() < 0.6
    assert (d["irradiance_w_m2"] >= 0).all() and d["irradiance_w_m2"].max() <= 900
    cloud = d["irradiance_w_m2"] / (d["irradiance_w_m2"] - u["irradiance_w_m2"])
    cloud = cloud[d["irradiance_w_m2"] > 0]
    assert cloud.min() >= 0.3 - 1e-9 and cloud.max() <= 1 + 1e-9
    assert (u["switch_4_transfer_p_mw"] == 0).all()


def test_planted_shift_appears_exactly_at_anomaly_rows(cigre):
    base = simulate_feeder_history(cigre, 0, seed=5)
    rows = [100, 200, 335]
    planted = [PlantedCause(node="feeder_0_load_p_mw", shift=2.0), PlantedCause(node=HS, shift=-3.0)]
    h = simulate_feeder_history(cigre, 0, seed=5, planted=planted, anomaly_rows=rows)
    assert h.anomaly_rows == rows
    diff = (h.data.drop(columns="time") - base.data.drop(columns="time"))
    mask = np.isin(np.arange(len(diff)), rows)
    np.testing.assert_allclose(diff["feeder_0_load_p_mw"], np.where(mask, 2.0, 0.0), atol=1e-12)
    np.testing.assert_allclose(diff[P], np.where(mask, 2.0, 0.0), atol=1e-12)  # the flow adds loads one to one
    np.testing.assert_allclose(diff["ambient_c"], 0.0, atol=0)
    assert (diff[TO][mask] > 0).all() and (diff[TO][~mask] == 0).all()
    noise_diff = h.noise - base.noise
    np.testing.assert_allclose(noise_diff["feeder_0_load_p_mw"], np.where(mask, 2.0, 0.0), atol=1e-12)
    np.testing.assert_allclose(noise_diff[HS], np.where(mask, -3.0, 0.0), atol=1e-12)
    np.testing.assert_allclose(noise_diff[P], 0.0, atol=1e-12)


def test_default_anomaly_row_is_the_last(cigre):
    h = simulate_feeder_history(cigre, 0, days=2, planted=[PlantedCause(node="switch_4_transfer_p_mw", shift=4.0)])
    assert h.anomaly_rows == [47]
    assert h.data["switch_4_transfer_p_mw"].tolist() == [0.0] * 47 + [4.0]


def test_intervention_on_transfer_raises_flow_exactly(cigre):
    h = simulate_feeder_history(cigre, 0, seed=1)
    d = 1.5
    x = h.intervene({"switch_4_transfer_p_mw": d})
    np.testing.assert_allclose(x["switch_4_transfer_p_mw"] - h.data["switch_4_transfer_p_mw"], d, atol=1e-12)
    np.testing.assert_allclose(x[P] - h.data[P], d, atol=1e-12)
    for col in ("ambient_c", "busbar_1_load_p_mw", "feeder_0_load_p_mw", "feeder_0_sgen_p_mw"):
        assert (x[col] == h.data[col]).all()
    # top oil moves by the hand-computed change of the ultimate rise at the new load ratio (same noise)
    expected = _top_oil(0.0, x[P] / SN) - _top_oil(0.0, h.data[P] / SN)
    np.testing.assert_allclose(x[TO] - h.data[TO], expected, atol=1e-9)
    assert (x["time"] == h.data["time"]).all()


def test_intervention_on_ambient_propagates_through_loads(cigre):
    h = simulate_feeder_history(cigre, 0, seed=2)
    d = 2.0
    x = h.intervene({"ambient_c": d})
    np.testing.assert_allclose(x["ambient_c"] - h.data["ambient_c"], d, atol=1e-12)
    # load ∝ 1 + 0.02 (ambient - 20), noise multiplicative: the ratio is fixed by the equation
    ratio = (1 + 0.02 * (h.data["ambient_c"] + d - 20)) / (1 + 0.02 * (h.data["ambient_c"] - 20))
    np.testing.assert_allclose(x["feeder_0_load_p_mw"] / h.data["feeder_0_load_p_mw"], ratio, rtol=1e-12)
    np.testing.assert_allclose(x[P] - h.data[P], (x["busbar_1_load_p_mw"] - h.data["busbar_1_load_p_mw"])
                               + (x["feeder_0_load_p_mw"] - h.data["feeder_0_load_p_mw"]), atol=1e-9)
    assert ((x[TO] - h.data[TO]) > d).all()  # the direct +d plus a heavier load
    assert (x["irradiance_w_m2"] == h.data["irradiance_w_m2"]).all()


def test_intervention_on_reading_and_rows(cigre):
    h = simulate_feeder_history(cigre, 0, seed=4)
    x = h.intervene({HS: 5.0}, rows=[3, -1])
    diff = x[HS] - h.data[HS]
    assert diff.iloc[3] == pytest.approx(5.0) and diff.iloc[-1] == pytest.approx(5.0)
    assert (diff.drop(index=[3, len(diff) - 1]) == 0).all()
    assert (x[TO] == h.data[TO]).all() and (x[P] == h.data[P]).all()
    with pytest.raises(InputError) as err:
        h.intervene({"nope": 1.0})
    assert err.value.field == "shifts"
    with pytest.raises(InputError) as err:
        h.intervene({HS: 1.0}, rows=[10_000])
    assert err.value.field == "rows"


def test_seeded_reproducibility(cigre):
    a = simulate_feeder_history(cigre, 0, days=3, seed=11)
    b = simulate_feeder_history(cigre, 0, days=3, seed=11)
    c = simulate_feeder_history(cigre, 0, days=3, seed=12)
    pd.testing.assert_frame_equal(a.data, b.data)
    pd.testing.assert_frame_equal(a.noise, b.noise)
    assert not np.allclose(a.data[HS], c.data[HS])


def test_frame_layout_and_default_peak_loading(cigre):
    h = simulate_feeder_history(cigre, 0, days=14, interval_min=30, noise_scale=0.0)
    assert list(h.data.columns) == ["time", *h.graph.names]
    assert len(h.data) == 14 * 48 and str(h.data["time"].dtype) == "datetime64[ns, UTC]"
    assert (h.data["time"].diff().dropna() == pd.Timedelta(minutes=30)).all()
    assert list(h.noise.columns) == h.graph.names
    # default load scale: noise-free peak load ratio ≈ 0.875
    assert h.data[P].max() / SN == pytest.approx(0.875, abs=0.005)
    assert 0.5 < h.load_scale < 1.5


@pytest.mark.parametrize("net_name, trafo", [("cigre", 1), ("oberrhein", 0), ("nosgen", 0)])
def test_any_trafo_of_any_net(cigre, net_name, trafo):
    import pandapower.networks as pn

    if net_name == "cigre":
        net = cigre
    elif net_name == "oberrhein":
        net = pn.mv_oberrhein()
        trafo = int(net.trafo.index[trafo])
    else:
        net = pn.create_cigre_network_mv(with_der=False)
    h = simulate_feeder_history(net, trafo, days=2)
    assert list(h.data.columns) == ["time", *h.graph.names]
    assert h.data.drop(columns="time").notna().all().all()
    p = f"trafo_{trafo}_p_mw"
    assert h.data[p].max() > 0
    assert (h.data[f"trafo_{trafo}_theta_h_c"] > h.data["ambient_c"]).mean() > 0.95
    if net_name in ("cigre", "nosgen"):
        assert "irradiance_w_m2" not in h.data.columns


@pytest.mark.parametrize("kwargs, field", [
    (dict(planted=[PlantedCause(node="trafo_9_p_mw", shift=1.0)]), "planted[0].node"),
    (dict(anomaly_rows=[336]), "anomaly_rows"),
    (dict(cooling="XXXX"), "cooling"),
    (dict(days=0), "days"),
    (dict(days=1e6), "days"),
    (dict(interval_min=float("nan")), "interval_min"),
    (dict(load_scale=-1.0), "load_scale"),
    (dict(noise_scale=-1.0), "noise_scale"),
    (dict(transfer_fraction=1.5), "transfer_fraction"),
])
def test_bad_arguments_are_typed(cigre, kwargs, field):
    with pytest.raises(InputError) as err:
        simulate_feeder_history(cigre, 0, **kwargs)
    assert err.value.field == field and err.value.fix


def test_out_of_service_trafo_rejected(cigre):
    import copy

    net = copy.deepcopy(cigre)
    net.trafo.loc[1, "in_service"] = False
    with pytest.raises(InputError) as err:
        simulate_feeder_history(net, 1)
    assert err.value.field == "trafo"


def test_past_transfers_when_asked(cigre):
    base = simulate_feeder_history(cigre, 0, days=28, seed=8)
    h = simulate_feeder_history(cigre, 0, days=28, seed=8, transfer_fraction=0.1)
    t = h.data["switch_4_transfer_p_mw"]
    assert (base.data["switch_4_transfer_p_mw"] == 0).all()
    assert 0.06 < (t > 0).mean() < 0.14                       # about 10 % of 672 rows
    assert t.min() >= 0 and t.max() <= 0.1 * SN
    np.testing.assert_allclose(h.noise["switch_4_transfer_p_mw"], t, atol=0)  # a root: its value is its noise
    np.testing.assert_allclose(h.data[P] - h.noise[P], h.data["busbar_1_load_p_mw"] + h.data["feeder_0_load_p_mw"]
                               - h.data["feeder_0_sgen_p_mw"] + t, atol=1e-9)
