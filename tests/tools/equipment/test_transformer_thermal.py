"""Transformer thermal model: the IEEE C57.91 Clause 7 temperatures with the load-dependent top-oil time constant, the
IEC 60076-7 dynamic model against the standard's worked example, Clause 5 ageing and loss of life, the time to a limit
of the loading type, the temperature series, the ambient from a series, a forecast or a CSV column, and input errors.

Oracles: hand computations written out here (closed-form exponential responses, the guide's time-constant equation,
an explicit re-implementation of the IEC difference equations), and the published figures of IEC 60076-7's worked
example (see :data:`IEC_EXAMPLE`)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import brentq

from gridsage.errors import InputError
from gridsage.tools.equipment.transformer_thermal import (
    AmbientCsv,
    TransformerRating,
    aging_acceleration_factor,
    insulation_loss_of_life,
    thermal_response,
    top_oil_time_constant,
    transformer_thermal,
)

RATED = TransformerRating()  # 65 °C-rise ONAN: 55 K top oil + 25 K hot-spot = 80 K; R 4.5; n = m = 0.8; 180/4 min


def ultimate_rises(k: float) -> tuple[float, float]:
    """Hand-written C57.91 Clause 7 ultimate rises [K] for the default rating."""
    return 55 * ((k * k * 4.5 + 1) / 5.5) ** 0.8, 25 * k ** 1.6


def tau_c57(initial_k: float, ultimate_k: float, tau_rated: float = 180, rated_k: float = 55, n: float = 0.8) -> float:
    """The guide's top-oil time constant for a step from rise ``initial_k`` towards ``ultimate_k`` [K], by hand."""
    u, i = ultimate_k / rated_k, initial_k / rated_k
    return tau_rated * (u - i) / (u ** (1 / n) - i ** (1 / n))


# ------------------------------------------------------------------------------------------- IEEE C57.91 Clause 7


def test_aging_acceleration_factor_is_one_at_110_c_and_about_2_71_at_120_c():
    assert aging_acceleration_factor(110) == pytest.approx(1.0, abs=1e-9)
    assert aging_acceleration_factor(120) == pytest.approx(2.71, abs=0.01)
    assert aging_acceleration_factor(120) == pytest.approx(math.exp(15000 / 383 - 15000 / 393), rel=1e-12)


def test_rated_load_in_30_c_ambient_gives_110_c_hot_spot():
    # 65 °C-rise unit at K = 1: θ_H = 30 + 55 + 25 = 110 °C, held from the steady initial state
    out = thermal_response([1.0] * 48, 30.0, 30, RATED)
    assert np.allclose(out.theta_h_c, 110, atol=0.01) and np.allclose(out.theta_to_c, 85, atol=0.01)
    assert transformer_thermal([1.0] * 4, 30, 60).peak_hot_spot_c == pytest.approx(110, abs=0.01)


def test_the_time_constant_equation_of_the_guide():
    # n = 1: the rated value whatever the step
    assert top_oil_time_constant(150, 10.0, 70.0, 55, 1.0) == 150
    # a step 0.5 -> 1.2 pu on the default rating, by hand
    start, end = ultimate_rises(0.5)[0], ultimate_rises(1.2)[0]
    assert top_oil_time_constant(180, start, end, 55, 0.8) == pytest.approx(tau_c57(start, end), rel=1e-12)
    assert tau_c57(start, end) < 180  # n < 1: an overload from part load heats faster than τ_TO,R says
    # no change: the limit n·τ_R·u^(1 - 1/n), continuous with the ratio just beside it
    assert top_oil_time_constant(180, end, end, 55, 0.8) == pytest.approx(0.8 * 180 * (end / 55) ** (1 - 1 / 0.8))
    assert top_oil_time_constant(180, end * (1 - 1e-6), end, 55, 0.8) == pytest.approx(
        top_oil_time_constant(180, end, end, 55, 0.8), rel=1e-5)


def test_step_load_follows_the_exponential_response_with_the_load_dependent_time_constant():
    # K 0.5 -> 1.2 after the first minute; top oil moves with the guide's τ_TO of that step, the hot spot with τ_W
    out = thermal_response([0.5] + [1.2] * 1200, 25.0, 1, RATED)
    start, _ = ultimate_rises(0.5)
    to_u, h_u = ultimate_rises(1.2)
    tau = tau_c57(start, to_u)
    assert out.top_oil_rise_k[0] == pytest.approx(start)
    for minutes in (30, 120, int(tau), 600):
        assert out.top_oil_rise_k[minutes] == pytest.approx(start + (to_u - start) * (1 - math.exp(-minutes / tau)),
                                                           abs=1e-9)
    assert out.tau_top_oil_min[5] == pytest.approx(tau) and out.tau_top_oil_min[0] == pytest.approx(
        0.8 * 180 * (start / 55) ** (1 - 1 / 0.8))  # the steady first interval: the equation's limit
    assert out.hot_spot_rise_k[20] == pytest.approx(h_u, rel=0.01)  # 5 τ_W after the step
    assert out.theta_h_c[-1] == pytest.approx(25 + to_u + (start - to_u) * math.exp(-1200 / tau) + h_u, abs=1e-9)


def test_a_4_h_step_to_1_3_pu_reads_3_3_k_hotter_than_with_a_constant_time_constant():
    # The issue: from the steady state at 0.7 pu, 4 h at 1.3 pu.  Independent re-implementation of Clause 7:
    start, _ = ultimate_rises(0.7)
    to_u, h_u = ultimate_rises(1.3)
    tau = tau_c57(start, to_u)  # ≈ 143.3 min against 180 min rated

    def hot_spot(tau_min: float) -> float:
        return 30 + start + (to_u - start) * (1 - math.exp(-240 / tau_min)) + h_u + (25 * 0.7 ** 1.6 - h_u) * math.exp(-240 / 4)

    load_dependent, constant = hot_spot(tau), hot_spot(180)
    assert load_dependent - constant == pytest.approx(3.3, abs=0.05)  # the 3.3 K, on the unsafe side
    for interval in (1, 15, 60, 240):  # a run of equal loads is one step, whatever the sampling
        steps = 240 // interval
        result = transformer_thermal([0.7] + [1.3] * steps, 30, interval, max_series_points=0)
        assert result.peak_hot_spot_c == pytest.approx(load_dependent, abs=1e-3), interval
        assert result.peak_hot_spot_index == steps
    assert result.tau_top_oil_range_min[0] == pytest.approx(tau, abs=0.01)
    # directed cooling (n = 1): the rated time constant throughout, the constant-τ response exactly
    odaf = transformer_thermal([0.7] + [1.3] * 240, 30, 1, cooling="ODAF", tau_top_oil_min=180, tau_winding_min=4)
    i, u = 55 * ((0.49 * 4.5 + 1) / 5.5), 55 * ((1.69 * 4.5 + 1) / 5.5)
    h_i, h_end = 25 * 0.7 ** 2, 25 * 1.3 ** 2
    assert odaf.peak_hot_spot_c == pytest.approx(30 + u + (i - u) * math.exp(-240 / 180) + h_end
                                                 + (h_i - h_end) * math.exp(-240 / 4), abs=1e-3)
    assert odaf.tau_top_oil_range_min == [180, 180]


def test_a_day_at_110_c_is_one_day_of_normal_ageing():
    feqa, lol = insulation_loss_of_life(np.full(96, 110.0), 15)
    assert feqa == pytest.approx(1.0, abs=1e-9) and lol == pytest.approx(24 * 100 / 180000, rel=1e-9)
    result = transformer_thermal([1.0] * 24, 30, 60)
    assert result.feqa == pytest.approx(1.0, abs=1e-9)
    assert result.loss_of_life_percent == pytest.approx(24 * 100 / 180000, rel=1e-6)
    assert result.status == "ok" and result.time_to_limit_h is None and result.normal_life_h == 180000


def test_time_to_limit_matches_the_closed_form():
    # 1 min at rated load in 30 °C (θ_H = 110 °C), then a projected rise to K = 1.15 for 10 h
    result = transformer_thermal([1.0], 30, 1, projected_load_pu=[1.15] * 600)
    to_u, h_u = ultimate_rises(1.15)
    tau = tau_c57(55, to_u)  # one load step from the rated rise

    def hot_spot(t_min: float) -> float:  # after the step, both rises move exponentially from rated
        return 30 + to_u + (55 - to_u) * math.exp(-t_min / tau) + h_u + (25 - h_u) * math.exp(-t_min / 4)

    crossing = brentq(lambda t: hot_spot(t) - 120, 0, 600)  # minutes after the step
    assert 30 + to_u < 105 and 30 + to_u + h_u > 120  # the hot-spot limit binds, not top oil
    assert result.status == "limit_exceeded" and result.limit_reached == "hot_spot_normal"
    assert (1 + crossing) / 60 <= result.time_to_limit_h <= (1 + crossing + 1) / 60  # within one 1-min interval
    assert result.peak_hot_spot_c == pytest.approx(110, abs=0.01)  # the projection is not part of the profile
    assert [(lim.name, lim.upper) for lim in result.limits] == [("hot_spot_normal", 120), ("top_oil_normal", 105)]
    assert all(lim.citation.entry_id == "ieee-c57-91-loading-beyond-nameplate-limits" for lim in result.limits)
    emergency = transformer_thermal([1.0], 30, 1, projected_load_pu=[1.15] * 600, loading_type="long_time_emergency")
    assert emergency.status == "ok" and emergency.limits[0].upper == 140
    cited = {c.entry_id for c in result.citations}
    assert {"ieee-c57-91-load-dependent-oil-time-constant", "ieee-c57-91-top-oil-hot-spot-equations"} <= cited


# ------------------------------------------------------------------------------------------------- IEC 60076-7

#: IEC 60076-7's worked example of the difference-equation solution (an informative annex; Annex C in the 2005
#: edition): a 250 MVA ONAF unit, Δθ_or = 38.3 K, H·g_r = 20.3 K (H 1.4 × g_r 14.5 K), R = 1000, ONAF constants
#: (x 0.8, y 1.3, k11 0.5, k21 2, k22 2, τ_o 150 min, τ_w 7 min), θ_a = 25.6 °C, starting at a top-oil rise of
#: 12.7 K and no hot-spot gradient, load K 1.0 to 190 min, 0.6 to 365, 1.5 to 500, 0.3 to 705, 2.1 to 730, 0 to 745.
#: Tabulated (time [min]: θ_o, θ_h [°C]) as quoted by the MPL-2.0 project alliander-opensource/transformer-thermal-model
#: (tests/model/test_model.py, test_if_rise_matches_iec; its 705-min hot spot is quoted as 37.54).  The standard's
#: own text could not be read offline; see the report.
IEC_EXAMPLE = {190: (61.9, 83.8), 365: (44.4, 54.0), 500: (89.2, 127.0), 705: (35.0, 37.54), 730: (67.9, 138.6),
               745: (60.3, 75.3)}
IEC_STEPS = [(190, 1.0), (365, 0.6), (500, 1.5), (705, 0.3), (730, 2.1), (745, 0.0)]


def iec_example_run(interval_min: float = 5):
    load, t = [], 0
    for end, k in IEC_STEPS:
        load += [k] * round((end - t) / interval_min)
        t = end
    return transformer_thermal(load, 25.6, interval_min, cooling="ONAF", rated_top_oil_rise_k=38.3,
                               rated_hot_spot_rise_k=20.3, loss_ratio=1000, method="iec_60076_7",
                               initial_top_oil_c=25.6 + 12.7, initial_hot_spot_c=25.6 + 12.7,
                               loading_type="short_time_emergency", max_series_points=1000)


def at_minutes(result, minutes: float) -> tuple[float, float]:
    i = int(np.argmin(np.abs(np.asarray(result.series.time_h) * 60 - minutes)))
    return result.series.theta_to_c[i], result.series.theta_h_c[i]


def test_the_iec_model_reproduces_the_standards_worked_example():
    result = iec_example_run()
    assert result.rating.k11 == 0.5 and result.rating.k21 == 2 and result.rating.k22 == 2  # ONAF defaults from the corpus
    assert result.rating.tau_top_oil_min == 150 and result.rating.tau_winding_min == 7
    assert result.n_exponent == 0.8 and result.m_exponent == pytest.approx(1.3 / 2)
    deviations = {}
    for minutes, (top_oil, hot_spot) in IEC_EXAMPLE.items():
        got = at_minutes(result, minutes)
        deviations[minutes] = (got[0] - top_oil, got[1] - hot_spot)
    within = [d for m, pair in deviations.items() for d in pair if (m, d) != (500, deviations[500][1])]
    assert max(abs(d) for d in within) <= 1.0, deviations  # 11 of the 12 published figures within 1 K
    # The 500-min row is not reproducible from the example's own data: over 365-500 min (K = 1.5, 135 min) the top oil
    # goes from the published 44.4 °C towards 25.6 + 38.3·((2.25·1000 + 1)/1001)^0.8 °C with k11·τ_o = 75 min:
    by_hand = 25.6 + 38.3 * (2251 / 1001) ** 0.8 + (44.4 - 25.6 - 38.3 * (2251 / 1001) ** 0.8) * math.exp(-135 / 75)
    assert by_hand == pytest.approx(89.8, abs=0.05)  # not the published 89.2
    assert deviations[500][0] == pytest.approx(by_hand - 89.2, abs=0.05)
    assert abs(deviations[500][1]) <= 1.1, deviations  # 1.05 K: the published hot spot inherits the same offset
    assert result.peak_hot_spot_c == pytest.approx(138.6, abs=0.1)  # the 2.1 pu peak at 730 min


def test_the_iec_model_is_the_limit_of_the_standards_difference_equations():
    """An explicit re-implementation of the IEC difference equations with a 0.05-min step (the standard's method)."""
    dor, hgr, r, x, y, k11, k21, k22, tau_o, tau_w, theta_a = 38.3, 20.3, 1000, 0.8, 1.3, 0.5, 2.0, 2.0, 150, 7, 25.6
    dt, t, theta_o, h1, h2, found = 0.05, 0.0, 25.6 + 12.7, 0.0, 0.0, {}
    for end, k in IEC_STEPS:
        while t < end - 1e-9:
            theta_o += dt / (k11 * tau_o) * (((1 + k * k * r) / (1 + r)) ** x * dor - (theta_o - theta_a))
            h1 += dt / (k22 * tau_w) * (k21 * hgr * k ** y - h1)
            h2 += dt / (tau_o / k22) * ((k21 - 1) * hgr * k ** y - h2)
            t += dt
        found[end] = (theta_o, theta_o + h1 - h2)
    result = iec_example_run(interval_min=5)
    for minutes, (top_oil, hot_spot) in found.items():
        assert at_minutes(result, minutes) == pytest.approx((top_oil, hot_spot), abs=0.2), minutes
    # and the exact solution does not depend on the interval: 1 min and 5 min agree to rounding
    fine = iec_example_run(interval_min=1)
    for minutes in IEC_EXAMPLE:
        assert at_minutes(fine, minutes) == pytest.approx(at_minutes(result, minutes), abs=0.011)


def test_iec_steady_state_ambient_lag_and_limits():
    # steady rated load: θ_h = θ_a + Δθ_or + H·g_r (the k21 terms cancel); ONAN distribution row (k21 = 1)
    steady = transformer_thermal([1.0] * 10, 20, 60, method="iec_60076_7", rated_top_oil_rise_k=60,
                                 rated_hot_spot_rise_k=18)
    assert steady.peak_hot_spot_c == pytest.approx(98.0, abs=1e-6) and steady.peak_top_oil_c == pytest.approx(80.0)
    assert [(lim.name, lim.upper) for lim in steady.limits] == [("hot_spot_normal", 120), ("top_oil_normal", 105)]
    assert {lim.citation.entry_id for lim in steady.limits} == {"iec-60076-7-loading-limits"}
    assert steady.tau_top_oil_range_min is None and steady.rating.k11 == 1.0 and steady.rating.k22 == 2.0
    # the ambient enters through the oil lag k11·τ_o: a 10 K ambient step at constant load, by hand
    ambient = [20.0] + [30.0] * 120
    lagged = transformer_thermal([1.0] * 121, ambient, 1, method="iec_60076_7", rated_top_oil_rise_k=60,
                                 rated_hot_spot_rise_k=18, max_series_points=121)
    for minutes in (30, 90, 121):
        expected = 30 + 60 + (20 + 60 - 90) * math.exp(-(minutes - 1) / 180)
        assert lagged.series.theta_to_c[minutes - 1] == pytest.approx(expected, abs=0.006)
    # while the IEEE model adds the ambient directly
    direct = transformer_thermal([1.0] * 121, ambient, 1, max_series_points=121)
    assert direct.series.theta_to_c[1] == pytest.approx(30 + 55, abs=0.006)
    emergency = transformer_thermal([1.0], 20, 60, method="iec_60076_7", loading_type="long_time_emergency")
    assert [lim.upper for lim in emergency.limits] == [140, 115]
    with pytest.raises(InputError) as err:
        transformer_thermal([1.0], 20, 60, method="iec_60076_7", loading_type="planned")
    assert err.value.field == "loading_type" and "normal" in err.value.fix
    with pytest.raises(InputError) as err:
        transformer_thermal([1.0], 20, 60, k21=3.0)
    assert err.value.field == "k21" and "iec_60076_7" in err.value.fix


def test_iec_onan_power_overshoot_with_k21_above_one():
    # ONAN with k21 = 2 (power-transformer row given by hand): after a step up, the gradient overshoots its ultimate
    # H·g_r·K^y, then settles, as the winding lag (k22·τ_w) outruns the oil-flow lag (τ_o/k22)
    result = transformer_thermal([0.5] + [1.0] * 600, 20, 1, method="iec_60076_7", k11=0.5, k21=2.0, k22=2.0,
                                 tau_top_oil_min=210, tau_winding_min=10, rated_top_oil_rise_k=50,
                                 rated_hot_spot_rise_k=26, max_series_points=601)
    gradient = np.asarray(result.series.theta_h_c) - np.asarray(result.series.theta_to_c)
    g0, g_end = 26 * 0.5 ** 1.6, 26.0  # y = 1.6 for the ONAN (distribution) row the exponents come from
    t = np.arange(1, 601)
    by_hand = (2 * g_end + (2 * g0 - 2 * g_end) * np.exp(-t / 20)) - (g_end + (g0 - g_end) * np.exp(-t / 105))
    assert gradient[1:] == pytest.approx(by_hand, abs=0.011)
    assert gradient.max() > g_end + 3 and gradient[-1] == pytest.approx(g_end, abs=0.1)


# --------------------------------------------------------------------------------- series, ambient, initial state


def test_the_series_is_bounded_and_ends_at_the_last_interval():
    result = transformer_thermal([1.0] * 1000, 30, 15)
    assert result.series_stride == math.ceil(1000 / 48) == 21
    assert len(result.series.time_h) == math.ceil(1000 / 21) == 48 and result.series_points_omitted == 1000 - 48
    assert result.series.time_h[-1] == pytest.approx(1000 * 15 / 60) and result.series.time_h[-2] == pytest.approx(979 * 15 / 60)
    assert set(result.series.theta_h_c) == {110.0} and set(result.series.ambient_c) == {30.0}
    full = transformer_thermal([0.8, 1.2, 1.0], [25.0, 27.0, 26.0], 60, max_series_points=10)
    assert full.series.time_h == [1.0, 2.0, 3.0] and full.series.load_pu == [0.8, 1.2, 1.0]
    assert full.series.ambient_c == [25.0, 27.0, 26.0] and full.series_points_omitted == 0
    assert full.ambient_source == "series"
    none = transformer_thermal([1.0] * 10, 30, 15, max_series_points=0)
    assert none.series is None and none.series_points_omitted == 10


def test_a_measured_starting_top_oil_is_followed_by_the_exponential_response():
    # rated load in 30 °C, the top oil read at 60 °C (rise 30 K): one step from 30 K to 55 K with the guide's τ_TO
    result = transformer_thermal([1.0] * 8, 30, 30, initial_top_oil_c=60.0, initial_hot_spot_c=85.0)
    tau = tau_c57(30, 55)
    for i, t in enumerate(range(30, 241, 30)):
        rise = 55 + (30 - 55) * math.exp(-t / tau)
        assert result.series.theta_to_c[i] == pytest.approx(30 + rise, abs=0.006)
        assert result.series.theta_h_c[i] == pytest.approx(30 + rise + 25, abs=0.006)  # gradient given as rated
    with pytest.raises(InputError) as err:
        transformer_thermal([1.0], 30, 30, initial_hot_spot_c=90.0)
    assert err.value.field == "initial_hot_spot_c" and "initial_top_oil_c" in err.value.fix
    with pytest.raises(InputError) as err:
        transformer_thermal([1.0], 30, 30, initial_top_oil_c=80.0, initial_hot_spot_c=70.0)
    assert err.value.field == "initial_hot_spot_c"


def test_an_ambient_forecast_over_the_projection_moves_the_time_to_limit():
    # steady at rated load in 30 °C: 110 °C; a forecast 12 °C hotter puts the hot spot at 122 °C (> 120) at once
    hot = transformer_thermal([1.0] * 4, 30, 60, projected_load_pu=[1.0] * 4, projected_ambient_c=[42.0] * 4)
    assert hot.time_to_limit_h == 5.0 and hot.limit_reached == "hot_spot_normal"
    held = transformer_thermal([1.0] * 4, [30.0] * 4, 60, projected_load_pu=[1.0] * 4)
    assert held.time_to_limit_h is None and any("holds the last ambient" in n for n in held.notes)
    with pytest.raises(InputError) as err:
        transformer_thermal([1.0] * 4, 30, 60, projected_load_pu=[1.0] * 4, projected_ambient_c=[42.0] * 3)
    assert err.value.field == "projected_ambient_c"
    with pytest.raises(InputError) as err:
        transformer_thermal([1.0] * 4, 30, 60, projected_ambient_c=[42.0])
    assert err.value.field == "projected_ambient_c" and "projected_load_pu" in err.value.fix


def test_the_ambient_from_a_csv_column_under_a_data_root(tmp_path):
    rows = [20.0, 22.5, 25.0, 27.5, 30.0, 31.0, 40.0, 41.0]
    path = tmp_path / "scada.csv"
    path.write_text("time,load_pu,Temp_C\n" + "".join(f"2026-07-01T0{i}:00Z,1.0,{v}\n" for i, v in enumerate(rows)))
    from_csv = transformer_thermal([1.0] * 6, AmbientCsv(csv_path=str(path)), 60, max_series_points=10)
    assert from_csv.ambient_source == "csv" and from_csv.series.ambient_c == rows[:6]
    assert from_csv.series.theta_h_c == pytest.approx([v + 80 for v in rows[:6]], abs=1e-9)  # rated: 55 K + 25 K
    assert from_csv.series.theta_to_c == pytest.approx([v + 55 for v in rows[:6]], abs=1e-9)
    assert any("2 row(s) after the profile are not used" in n for n in from_csv.notes)
    # rows beyond the profile continue over the projection: 40 °C at rated load is 120 °C, 41 °C passes it
    projected = transformer_thermal([1.0] * 6, {"csv_path": str(path), "column": "Temp_C"}, 60,
                                    projected_load_pu=[1.0, 1.0])
    assert projected.time_to_limit_h == 8.0 and any("CSV's next 2 rows" in n for n in projected.notes)


def test_csv_errors_name_the_field_and_never_the_files_content(tmp_path, monkeypatch):
    path = tmp_path / "bad.csv"
    path.write_text("time,ambient_c\n1,20\n2,secret-value\n3,21\n")
    with pytest.raises(InputError) as err:
        transformer_thermal([1.0] * 3, AmbientCsv(csv_path=str(path)), 60)
    assert err.value.field == "ambient_c.column" and "line(s) 3" in err.value.message
    assert "secret" not in str(err.value)
    with pytest.raises(InputError) as err:
        transformer_thermal([1.0] * 3, AmbientCsv(csv_path=str(path), column="temp"), 60)
    assert err.value.field == "ambient_c.column" and "2 column(s)" in err.value.message
    short = tmp_path / "short.csv"
    short.write_text("ambient_c\n20\n21\n")
    with pytest.raises(InputError) as err:
        transformer_thermal([1.0] * 3, AmbientCsv(csv_path=str(short)), 60)
    assert err.value.field == "ambient_c.csv_path" and "2 row(s) for 3" in err.value.message
    unnamed = tmp_path / "unnamed.csv"
    unnamed.write_text("a,b\n1,2\n")
    with pytest.raises(InputError) as err:
        transformer_thermal([1.0], AmbientCsv(csv_path=str(unnamed)), 60)
    assert err.value.field == "ambient_c.column" and "a,b" not in str(err.value)
    root = tmp_path / "root"
    root.mkdir()
    monkeypatch.setenv("GRIDSAGE_DATA_DIRS", str(root))
    monkeypatch.setenv("GRIDSAGE_OUTPUT_DIR", str(root / "out"))  # the output folder is readable too
    with pytest.raises(InputError) as err:
        transformer_thermal([1.0] * 3, AmbientCsv(csv_path=str(path)), 60)
    assert err.value.field == "ambient_c.csv_path" and "outside the data roots" in err.value.message


def test_nan_load_is_an_input_error_naming_the_interval():
    with pytest.raises(InputError) as err:
        transformer_thermal([1.0, 1.0, 1.0, float("nan")], 30, 60)
    assert err.value.field == "load_pu[3]" and err.value.fix
    with pytest.raises(InputError) as err:
        thermal_response([1.0, 1.0, -0.1], 30, 60, RATED)
    assert err.value.field == "load_pu[2]" and "fill gaps" in err.value.fix
    with pytest.raises(InputError) as err:
        transformer_thermal([1.0, 1.0], [30.0, 31.0, 32.0], 60)
    assert err.value.field == "ambient_c"
