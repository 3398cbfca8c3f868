"""``gridsage reliability`` (typer's CliRunner on the root app) and the reliability plot.

The oracle is the simulator's planted storm days (they are the Major Event Days) and a hand computation of a
two-row record; the plot test checks the numbers drawn against the result's own breakdowns and that a PNG is written.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import gridsage.cli.reliability  # noqa: F401  (registers the command)
from gridsage.cli._shared import app
from gridsage.tools.reliability import reliability_frame, simulate_outage_record

STORMS = ["2022-07-01", "2025-06-14", "2025-11-02"]
runner = CliRunner()


@pytest.fixture(scope="module")
def record_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("reliability") / "outages.csv"
    simulate_outage_record(years=6, customers_served=20_000, seed=1, major_events=STORMS).to_csv(path, index=False)
    return path


def test_text_report_names_indices_meds_and_worst_causes(record_csv, tmp_path):
    plot = tmp_path / "saidi.png"
    done = runner.invoke(app, ["reliability", "--csv", str(record_csv), "--customers", "20000", "--plot", str(plot)])
    assert done.exit_code == 0, done.output
    text = done.output
    for word in ("IEEE 1366 indices, 2025", "SAIFI", "SAIDI", "CAIDI", "ASAI", "MAIFI", "CEMI3", "excluding MEDs",
                 "2025-06-14", "2025-11-02", "Worst causes", "Worst feeders", "T_MED"):
        assert word in text, word
    data = plot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000


def test_json_is_the_tool_result(record_csv):
    done = runner.invoke(app, ["reliability", "--csv", str(record_csv), "--customers", "20000", "--format", "json",
                               "--year", "2025", "--cemi-n", "2"])
    assert done.exit_code == 0, done.output
    result = json.loads(done.stdout)
    assert result["year"] == 2025 and result["cemi_n"] == 2 and result["evidence_id"].startswith("ev-")
    assert sorted(m["date"] for m in result["major_event_days"]) == ["2025-06-14", "2025-11-02"]
    assert result["indices_excluding_meds"]["saidi_min"] < result["indices"]["saidi_min"]


def test_fewer_than_five_years_and_rejected_rows_are_reported(tmp_path):
    path = tmp_path / "two.csv"
    path.write_text("start,end,customers_interrupted,feeder,cause\n"
                    "2025-01-10T08:00:00Z,2025-01-10T09:00:00Z,100,F1,vegetation\n"
                    "2025-01-11T08:00:00Z,2025-01-11T07:00:00Z,100,F1,animal\n")
    done = runner.invoke(app, ["reliability", "--csv", str(path), "--customers", "1000"])
    assert done.exit_code == 0, done.output
    assert "not identified" in done.output and "Rejected rows (1)" in done.output and "not after start" in done.output
    assert "0.100" in done.output and "6.0" in done.output  # SAIFI 100/1000, SAIDI 100 x 60 / 1000 min


@pytest.mark.parametrize("args, option", [
    (["--csv", "/etc/passwd", "--customers", "10"], "--csv"),
    (["--csv", "x.csv", "--customers", "10", "--tz", "Nowhere/Land"], "--tz"),
    (["--csv", "x.csv", "--customers", "10", "--plot", "x.gif"], "--plot"),
])
def test_usage_errors_exit_2_naming_the_option(args, option):
    done = runner.invoke(app, ["reliability", *args])
    assert done.exit_code == 2 and option in done.output


def test_help_teaches_with_an_example():
    done = runner.invoke(app, ["reliability", "--help"])
    assert done.exit_code == 0 and "Example" in done.output and "--daily-saidi" in done.output


def test_plot_draws_the_results_own_numbers(tmp_path):
    pytest.importorskip("matplotlib")
    from gridsage.plotting_reliability import plot_reliability

    result = reliability_frame(simulate_outage_record(years=6, customers_served=5000, feeders=4, seed=2,
                                                      major_events=["2025-03-03"]), 5000)
    path = plot_reliability(result.model_dump(mode="json"), tmp_path / "r.svg")  # a ledger dict draws too
    svg = path.read_text()
    assert svg.startswith("<?xml") and "SAIDI by month" in svg and "SAIDI by cause" in svg
    march = next(b for b in result.by_month if b.key == "2025-03")
    assert march.saidi_med_min > 0 and sum(b.saidi_min for b in result.by_month) == pytest.approx(result.indices.saidi_min)
