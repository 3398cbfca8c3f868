"""Transformer health index: healthy against hot and arcing units, and the maintenance window."""

from __future__ import annotations

import pytest

from gridsage.tools.equipment.transformer_health import transformer_health

HEALTHY_GAS = {"h2_ppm": 10, "ch4_ppm": 5, "c2h6_ppm": 5, "c2h4_ppm": 3, "c2h2_ppm": 0, "co_ppm": 200, "co2_ppm": 2000,
               "o2_n2_ratio": 0.1}
ARCING_GAS = {"h2_ppm": 400, "ch4_ppm": 40, "c2h6_ppm": 10, "c2h4_ppm": 60, "c2h2_ppm": 60}  # 25/37.5/37.5 % -> D2


def test_health_index_separates_a_healthy_unit_from_a_hot_arcing_one():
    healthy = transformer_health([0.6] * 24, 20, 60, **HEALTHY_GAS, age_years=5)
    assert healthy.health_index > 80 and healthy.failure_risk.startswith("low")
    assert [c.name for c in healthy.components] == ["thermal", "dga", "age"]
    assert sum(c.weight for c in healthy.components) == pytest.approx(1)
    assert all(c.evidence.startswith("ev-") for c in healthy.components[:2]) and healthy.components[2].evidence is None
    hot = transformer_health([1.4] * 24, 38, 60, **ARCING_GAS, age_years=30)
    scores = {c.name: c.score for c in hot.components}
    assert hot.health_index < 40 and scores["thermal"] == 0 and scores["dga"] < 40
    assert "D2" in hot.components[1].basis and "C2H2" in hot.components[1].basis
    assert {c.entry_id for c in hot.citations} >= {"ieee-c57-91-loading-beyond-nameplate-limits",
                                                   "ieee-c57-104-90th-percentile-gas-levels"}


def test_maintenance_window_is_the_known_low_load_period():
    profile = [0.9] * 24
    profile[3:6] = [0.4, 0.35, 0.4]  # 03:00-06:00 is the trough
    result = transformer_health(profile, 25, 60, **HEALTHY_GAS, maintenance_hours=3)
    window = result.maintenance_window
    assert (window.start_h, window.end_h, window.searched) == (3, 6, "load_pu")
    assert window.mean_load_pu == pytest.approx(1.15 / 3, abs=1e-4)
    ahead = transformer_health([0.9] * 24, 25, 60, **HEALTHY_GAS, projected_load_pu=[0.9] * 10 + [0.3] * 4 + [0.9] * 10,
                               maintenance_hours=4)
    assert (ahead.maintenance_window.start_h, ahead.maintenance_window.searched) == (34, "projected_load_pu")
