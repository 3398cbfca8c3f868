"""Transformer thermal model: the IEEE C57.91 Clause 7 temperatures, Clause 5 ageing and loss of life, the time to
a limit of the loading type, and input errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import brentq

from gridsage.errors import InputError
from gridsage.tools.equipment.transformer_thermal import (
    TransformerRating,
    aging_acceleration_factor,
    insulation_loss_of_life,
    thermal_response,
    transformer_thermal,
)

RATED = TransformerRating()  # 65 °C-rise ONAN: 55 K top oil + 25 K hot-spot = 80 K; R 4.5; n = m = 0.8; 180/4 min


def ultimate_rises(k: float) -> tuple[float, float]:
    """Hand-written C57.91 Clause 7 ultimate rises [K] for the default rating."""
    return 55 * ((k * k * 4.5 + 1) / 5.5) ** 0.8, 25 * k ** 1.6


def test_aging_acceleration_factor_is_one_at_110_c_and_about_2_71_at_120_c():
    assert aging_acceleration_factor(110) == pytest.approx(1.0, abs=1e-9)
    assert aging_acceleration_factor(120) == pytest.approx(2.71, abs=0.01)
    assert aging_acceleration_factor(120) == pytest.approx(math.exp(15000 / 383 - 15000 / 393), rel=1e-12)


def test_rated_load_in_30_c_ambient_gives_110_c_hot_spot():
    # 65 °C-rise unit at K = 1: θ_H = 30 + 55 + 25 = 110 °C, held from the steady initial state
    out = thermal_response([1.0] * 48, 30.0, 30, RATED)
    assert np.allclose(out.theta_h_c, 110, atol=0.01) and np.allclose(out.theta_to_c, 85, atol=0.01)
    assert transformer_thermal([1.0] * 4, 30, 60).peak_hot_spot_c == pytest.approx(110, abs=0.01)


def test_step_load_follows_the_exponential_response():
    # K 0.5 -> 1.2 after the first minute; after τ_TO = 180 min the top-oil rise has made 63.2 % of its change
    out = thermal_response([0.5] + [1.2] * 1200, 25.0, 1, RATED)
    start, _ = ultimate_rises(0.5)
    to_u, h_u = ultimate_rises(1.2)
    assert out.top_oil_rise_k[0] == pytest.approx(start)
    assert (out.top_oil_rise_k[180] - start) / (to_u - start) == pytest.approx(1 - math.exp(-1), abs=1e-3)
    assert out.hot_spot_rise_k[20] == pytest.approx(h_u, rel=0.01)  # 5 τ_W after the step
    assert out.theta_h_c[-1] == pytest.approx(25 + to_u + h_u, abs=0.1)  # 20 h = 6.7 τ_TO after the step
    assert out.theta_h_c[-1] == pytest.approx(25 + to_u + (start - to_u) * math.exp(-1200 / 180) + h_u, abs=1e-9)


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

    def hot_spot(t_min: float) -> float:  # after the step, both rises move exponentially from rated
        return 30 + to_u + (55 - to_u) * math.exp(-t_min / 180) + h_u + (25 - h_u) * math.exp(-t_min / 4)

    crossing = brentq(lambda t: hot_spot(t) - 120, 0, 600)  # minutes after the step
    assert 30 + to_u < 105 and 30 + to_u + h_u > 120  # the hot-spot limit binds, not top oil
    assert result.status == "limit_exceeded" and result.limit_reached == "hot_spot_normal"
    assert (1 + crossing) / 60 <= result.time_to_limit_h <= (1 + crossing + 1) / 60  # within one 1-min interval
    assert result.peak_hot_spot_c == pytest.approx(110, abs=0.01)  # the projection is not part of the profile
    assert [(lim.name, lim.upper) for lim in result.limits] == [("hot_spot_normal", 120), ("top_oil_normal", 105)]
    assert all(lim.citation.entry_id == "ieee-c57-91-loading-beyond-nameplate-limits" for lim in result.limits)
    emergency = transformer_thermal([1.0], 30, 1, projected_load_pu=[1.15] * 600, loading_type="long_time_emergency")
    assert emergency.status == "ok" and emergency.limits[0].upper == 140


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
