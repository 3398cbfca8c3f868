"""``gridsage telemetry``: simulate a shipped scenario, score it (text, JSON, plot), ingest with a bad row, monitor an
undervoltage run with its citation, and the input errors, on a local Typer app."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from gridsage.cli.telemetry import shipped_scenarios, telemetry_app
from gridsage.tools.telemetry.anomaly import AnomalyReport
from gridsage.tools.telemetry.monitor import GridMonitorResult

pytestmark = pytest.mark.usefixtures("workspace")

app = typer.Typer()
app.add_typer(telemetry_app)
runner = CliRunner()

#: a 4 h, 1 s feeder scenario: a 12 % voltage sag (two steps), a 0.25 Hz oscillation in voltage and current, a 25 % current spike
SCENARIO = "feeder_voltage_sag_oscillation"


def telemetry(*args: str):
    return runner.invoke(app, ["telemetry", *args])


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    """The shipped feeder scenario simulated once (seed 0): the simulate output and the telemetry file."""
    folder = tmp_path_factory.mktemp("sim")
    done = telemetry("simulate", SCENARIO, "--out", str(folder), "--seed", "0")
    assert done.exit_code == 0, done.output
    return done, folder / "telemetry.csv"


def test_simulate_a_shipped_scenario_by_name_writes_the_files_and_lists_the_injected_events(simulated):
    done, path = simulated
    assert path.is_file() and (path.parent / "truth.csv").is_file()
    text = done.stdout
    assert SCENARIO in text and "43,200 readings in 3 streams" in text
    assert "Injected: oscillation 2, step 1, spike 1" in text
    assert "Ground truth" in text and "feeder-F12" in text and "0.25" in text
    assert str(path) in text and "gridsage telemetry score" in text
    assert set(shipped_scenarios()) >= {SCENARIO, "substation_sensor_dropout"}


def test_score_text_shows_the_injected_types_and_the_anomaly_table(simulated):
    _, path = simulated
    done = telemetry("score", str(path))
    assert done.exit_code == 0, done.output
    text = done.stdout
    assert "43,200 readings in 3 streams" in text and "By type:" in text
    for kind in ("spike", "step", "oscillation"):
        assert f"│ {kind}" in text  # a row of the anomalies table
    assert "key evidence" in text and "robust_z=" in text and "f=0.25" in text
    assert "2014-01-15 05:20:00" in text  # the spike's start
    assert "rows rejected" not in text


def test_score_json_is_the_tool_result(simulated):
    _, path = simulated
    done = telemetry("score", str(path), "--no-multivariate", "--max", "2", "-f", "json")
    assert done.exit_code == 0, done.output
    report = AnomalyReport.model_validate(json.loads(done.stdout))
    assert {"spike", "step", "oscillation"} <= set(report.counts) and "multivariate" not in report.counts
    assert len(report.anomalies) == 2 and report.truncated and report.rows_rejected == 0
    assert report.evidence_id.startswith("ev-")


def test_score_shows_rejected_rows_with_the_ingest_hint(tmp_path, simulated):
    _, path = simulated
    lines = path.read_text().splitlines()
    broken = tmp_path / "broken.csv"
    broken.write_text("\n".join([lines[0], lines[1].replace(",kV,", ",furlongs,"), *lines[2:]]) + "\n")
    done = telemetry("score", str(broken), "--no-multivariate")
    assert done.exit_code == 0, done.output
    assert "rows rejected 1 (not scored)" in done.stdout and f"gridsage telemetry ingest {broken}" in done.stdout


def test_score_plot_writes_a_png(tmp_path, simulated):
    pytest.importorskip("matplotlib")
    _, path = simulated
    picture = tmp_path / "anomalies.png"
    done = telemetry("score", str(path), "--no-multivariate", "--plot", str(picture))
    assert done.exit_code == 0, done.output
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and picture.stat().st_size > 10_000
    assert "plot written to" in done.stderr
    chosen = tmp_path / "current.png"
    done = telemetry("score", str(path), "--no-multivariate", "--plot", str(chosen), "--device", "feeder-F12",
                     "--sensor", "current")
    assert done.exit_code == 0 and chosen.stat().st_size > 10_000
    done = telemetry("score", str(path), "--plot", str(tmp_path / "x.png"), "--device", "feeder-F99")
    assert done.exit_code == 2 and "feeder-F12/voltage" in done.output and "Fix:" in done.output


def test_ingest_lists_the_rejected_row_with_its_number_field_and_reason(tmp_path):
    data = tmp_path / "meters.csv"
    data.write_text("device_id,sensor_type,value,unit,timestamp,site\n"
                    "T1,voltage,11.2,kV,2024-05-01T12:00:00Z,north\n"
                    "T1,voltage,11.1,furlongs,2024-05-01T12:01:00Z,north\n"
                    "T1,voltage,11.0,kV,2024-05-01T12:02:00Z,north\n"
                    "T1,current,120,A,2024-05-01T12:00:00Z,north\n")
    done = telemetry("ingest", str(data))
    assert done.exit_code == 0, done.output
    text = done.stdout
    assert "rows_rejected" in text and "4 rows read: 3 accepted in 2 streams, 1 rejected (unit: 1)" in text
    assert "ignored columns: site" in text and "Streams" in text and "│ T1 " in text
    assert "Rejected rows" in text and "│ 2   │ 3 " in text  # record 2 is line 3 of the file
    assert "unit 'furlongs' is not a unit of voltage" in text
    document = json.loads(telemetry("ingest", str(data), "-f", "json").stdout)
    assert document["rejected_rows"][0]["row"] == 2 and document["rejected_rows"][0]["field"] == "unit"


def test_monitor_reports_an_undervoltage_run_with_its_citation(tmp_path):
    values = [1.0, 0.99, 0.93, 0.91, 0.90, 0.94, 1.0]
    data = tmp_path / "bus.csv"
    data.write_text("device_id,sensor_type,value,unit,timestamp\n"
                    + "".join(f"bus-7,voltage,{v},pu,2024-05-01T12:0{i}:00Z\n" for i, v in enumerate(values))
                    + "bus-7,power_factor,0.85,-,2024-05-01T12:00:00Z\n")
    done = telemetry("monitor", str(data))
    assert done.exit_code == 0, done.output
    text = done.stdout
    assert "violations" in text and "│ high" in text and "voltage_band" in text and "bus-7" in text
    assert "0.9 pu" in text and "< 0.917 pu" in text  # the worst reading and the ANSI C84.1 Range B bound
    assert "ANSI C84.1-2020 Table 1," in text and "Range B" in text and "Limits cited" in text
    assert "power_factor reading(s) not checked" in text  # a notice: no minimum given
    document = telemetry("monitor", str(data), "--min-power-factor", "0.9", "-f", "json")
    result = GridMonitorResult.model_validate(json.loads(document.stdout))
    assert result.findings_by_check == {"voltage_band": 1, "power_factor": 1}
    finding = result.findings[0]
    assert finding.n == 4 and finding.direction == "below" and finding.citation.standard == "ANSI C84.1"


def test_unknown_scenario_exits_2_with_the_shipped_names(tmp_path):
    done = telemetry("simulate", "no_such_scenario", "--out", str(tmp_path))
    assert done.exit_code == 2 and "no_such_scenario" in done.output and "Fix:" in done.output
    for name in shipped_scenarios():
        assert name in done.output
    assert done.stdout == ""


def test_missing_file_exits_2_with_a_fix(tmp_path):
    for command in ("score", "ingest", "monitor"):
        done = telemetry(command, str(tmp_path / "absent.csv"))
        assert done.exit_code == 2 and "absent.csv" in done.output and "Fix:" in done.output, command
        assert done.stdout == ""
    done = telemetry("score", str(tmp_path / "absent.csv"), "--device", "x")
    assert done.exit_code == 2 and "--plot" in done.output and "Fix:" in done.output


def _flat(text: str) -> str:
    """Help text without the panel borders and line wrapping."""
    return " ".join(text.replace("│", " ").split())


def test_help_teaches_the_methods_the_standards_and_an_example():
    flat = _flat(telemetry("--help").output)
    assert "CUSUM" in flat and "Mahalanobis" in flat and "ANSI C84.1" in flat and "NERC PRC-006" in flat
    assert "gridsage telemetry simulate feeder_voltage_sag_oscillation --out sim" in flat
    options = _flat(telemetry("score", "--help").output)
    assert "[s]" in options and "[robust sd]" in options and "gridsage[plot]" in options
    assert "[V]" in _flat(telemetry("monitor", "--help").output)
