"""The reliability-report playbook on its public scenarios.

Oracles: the independent IEEE 1366 key of ``gridsage.evals.answer_keys`` (pandas by hand, no GridSage code), the storm
days planted in the record by the outage simulator, and a small record computed by hand in the test."""

from __future__ import annotations

import pytest

from gridsage.evals.answer_keys import reliability_key
from gridsage.reasoning.playbooks import assess, playbook_for
from gridsage.reasoning.render import render
from gridsage.reasoning.scenario import load_scenario, parse_scenario
from gridsage.tools.workspace import Workspace

STORMS, SHORT = "feeder_reliability_2025_storms", "feeder_reliability_2023_short_history"


def _report(name: str):
    import yaml

    scenario, folder = load_scenario(name)
    a = assess(scenario, folder, workspace=Workspace())
    key = reliability_key(yaml.safe_load((folder / f"{name}.yaml").read_text()), folder)
    return a, key, next(r for r in a.evidence.values() if r.tool == "reliability_indices").result


def test_the_storms_are_major_event_days_and_the_year_is_judged_without_them():
    a, key, result = _report(STORMS)
    assert playbook_for(load_scenario(STORMS)[0]).name == "reliability_report" and a.kind == "reliability"
    assert a.verdict == key["expect"]["verdict"] == "violations"
    meds = sorted(f.title.split()[3].rstrip(":") for f in a.findings if f.title.startswith("Major Event Day "))
    assert meds == key["expect"]["major_event_days"] == ["2025-07-14", "2025-10-28"]  # the simulator's 2025 storms
    assert result["med"]["threshold"]["t_med_min"] == pytest.approx(key["t_med_min"], rel=1e-9)
    without = result["indices_excluding_meds"]
    assert without["saidi_min"] == pytest.approx(key["saidi_min_without_med"], abs=1e-3)
    assert without["saifi"] == pytest.approx(key["saifi_without_med"], abs=1e-4)
    over = {f.title.split()[0] for f in a.findings if f.severity == "high"}
    assert over == {"SAIDI", "SAIFI"}  # CAIDI is within its target
    assert "storm response" in a.plan_outcome and not a.action_plan
    assert "Major Event Day 2025-10-28" in render(a, "markdown")


def test_with_three_years_of_history_no_major_event_day_is_claimed():
    a, key, result = _report(SHORT)
    assert not result["med"]["identified"] and key["expect"]["major_event_days"] == []
    assert not [f for f in a.findings if f.title.startswith("Major Event Day ")]
    assert any("not identified" in f.title for f in a.findings)
    assert a.confidence == "medium" and a.verdict == key["expect"]["verdict"]


def test_a_small_record_by_hand(tmp_path):
    (tmp_path / "out.csv").write_text(
        "start,end,customers_interrupted,feeder,cause\n"
        "2025-03-01T10:00:00Z,2025-03-01T11:00:00Z,100,F1,vegetation\n"   # 60 min x 100
        "2025-05-02T08:00:00Z,2025-05-02T08:02:00Z,400,F2,unknown\n"      # momentary
        "2025-07-03T23:30:00Z,2025-07-04T01:00:00Z,200,F2,equipment\n")   # 90 min x 200, crosses midnight
    scenario = parse_scenario(f"name: hand\nreliability: {{outages: {tmp_path / 'out.csv'}, customers_served: 1000, "
                              "targets: {saidi_min: 20}}")
    a = assess(scenario, tmp_path, workspace=Workspace())
    saidi = (60 * 100 + 90 * 200) / 1000  # 24.0 min per customer
    saifi = (100 + 200) / 1000
    finding = next(f for f in a.findings if f.title.startswith("SAIDI"))
    assert finding.value == pytest.approx(saidi) and finding.limit == 20 and a.verdict == "violations"
    assert next(f for f in a.findings if f.title.startswith("SAIFI")).value == pytest.approx(saifi)
    assert next(f for f in a.findings if f.title.startswith("CAIDI")).value == pytest.approx(saidi / saifi)
    assert "MAIFI 0.400" in next(f for f in a.findings if f.title.startswith("ASAI")).title
    assert a.confidence == "medium"  # one year only: no Major Event Day can be identified
