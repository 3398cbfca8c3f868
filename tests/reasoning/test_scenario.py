"""Scenario format: shipped library, exported schema, and every kind of bad scenario."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gridsage.reasoning.scenario import library, load_scenario, parse_scenario, scenario_json_schema
from gridsage.errors import ScenarioError

ROOT = Path(__file__).resolve().parents[2]
GOOD = """
name: t
grid: {source: case14}
events:
  - {type: line_outage, line: 2}
"""


def test_library_scenarios_parse_and_include_ieee118():
    shipped = library()
    assert len(shipped) >= 4 and "ieee118_summer_line_trip" in shipped
    for name, text in shipped.items():
        parse_scenario(text, name)


def test_exported_schema_is_current():
    assert (ROOT / "scenarios" / "scenario.schema.json").read_text() == scenario_json_schema()
    assert "events" in json.loads(scenario_json_schema())["properties"]


def test_load_by_path_and_by_name(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(GOOD)
    scenario, folder = load_scenario(str(path))
    assert scenario.events[0].line == 2 and folder == tmp_path
    assert load_scenario("ieee118_summer_line_trip")[0].name == "ieee118-summer-line-trip"


@pytest.mark.parametrize("text, field, words", [
    ("name: t\ngrid: {source: case14\n", "scenario", "line 3"),
    ("- just\n- a list\n", "scenario", "mapping"),
    (GOOD.replace("line: 2", "line: .nan"), "scenario.events[0].line", "finite"),
    (GOOD + "scaling: {load: .nan}\n", "scenario.scaling.load", "finite"),
    (GOOD.replace("{type: line_outage, line: 2}", "{type: rating_change, element: line, index: 0, rating: -3}"),
     "scenario.events[0].rating", "greater than 0"),
    (GOOD.replace("line_outage", "line_explosion"), "scenario.events[0]", "unknown type"),  # the value is not quoted
    (GOOD + "surprise: 1\n", "scenario", "unknown key"),  # the key is not quoted: the file may not be the caller's
    (GOOD + "evnets: []\n", "scenario", "did you mean 'events'"),
    ("grid: {source: case14}\n", "scenario.name", "Field required"),
])
def test_bad_scenarios_name_the_field(text, field, words):
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text)
    assert info.value.field == field and words in str(info.value)
    assert info.value.fix


def test_unknown_scenario_lists_the_library():
    with pytest.raises(ScenarioError, match="ieee118_summer_line_trip"):
        load_scenario("no_such_scenario")


def test_oversized_scenario_is_refused():
    with pytest.raises(ScenarioError, match="larger than"):
        parse_scenario("name: t\n" + "#" * 1_100_000)


def test_a_simulated_study_reads_readings_without_the_answer_key(tmp_path, monkeypatch):
    """A telemetry study's readings carry no per-reading label, and no ground truth lies beside them."""
    import csv

    from gridsage.reasoning.study import telemetry_readings

    monkeypatch.setenv("GRIDSAGE_OUTPUT_DIR", str(tmp_path))  # the simulation is written under the output folder
    scenario, folder = load_scenario("substation_sensor_dropout")
    path = telemetry_readings(scenario, folder)
    assert path.is_relative_to(tmp_path)
    with path.open() as f:
        header = next(csv.reader(f))
    assert header == ["device_id", "sensor_type", "value", "unit", "timestamp", "quality"]
    assert sorted(p.name for p in path.parent.iterdir()) == ["telemetry.csv"]
