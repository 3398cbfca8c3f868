"""``gridsage estimate`` in process (typer's CliRunner on the root app): text and JSON reports of a simulated meter
set with a planted gross error (the planted meter is the oracle), an unobservable set, and usage errors."""

from __future__ import annotations

import json
import warnings

import pandas as pd
import pytest
from typer.testing import CliRunner

import gridsage.cli.estimate  # noqa: F401  (registers the command on the root app)
from gridsage.cli._shared import app

warnings.filterwarnings("ignore")
GRID = "pglib_opf_case14_ieee"


@pytest.fixture(scope="module")
def files(tmp_path_factory, workspace):
    """readings.csv and mapping.csv with a 25-sigma error on the best-protected flow meter, and that meter."""
    from gridsage.tools.estimation import assemble_meters, estimate_meters, read_mapping, simulate_measurement_set
    from gridsage.tools.grid import load_grid
    from gridsage.tools.telemetry.ingest import read_telemetry

    net = workspace.get(load_grid(GRID).grid_id).net
    clean = simulate_measurement_set(net, redundancy=1.6, seed=3)
    meters = assemble_meters(read_telemetry(clean.readings).accepted, read_mapping(clean.mapping, net).accepted,
                             net).meters
    ranks = estimate_meters(net, meters, diagnostics=True).redundancy_of
    flows = {k: v[0] for k, v in ranks.items() if not k.startswith("bus") and not v[1]}
    device, sensor = max(flows, key=flows.get).split("/")
    sim = simulate_measurement_set(net, redundancy=1.6, seed=3,
                                   gross_errors=[{"device_id": device, "sensor_type": sensor, "size_sigma": 25}])
    folder = tmp_path_factory.mktemp("se")
    readings, mapping = sim.write(folder)
    return str(readings), str(mapping), device, sensor, sim


def run(*args):
    return CliRunner().invoke(app, ["estimate", *args], catch_exceptions=False)


def test_text_report_names_the_suspect(files):
    readings, mapping, device, sensor, _ = files
    done = run("--grid", GRID, "--measurements", readings, "--mapping", mapping)
    assert done.exit_code == 0, done.output
    assert "state estimation: bad_data" in done.output
    assert f"suspect {device}/{sensor}" in done.output and "(removed)" in done.output
    assert "redundancy m/n = 1.5" in done.output or "redundancy m/n = 1.6" in done.output
    assert "Chi-square: J =" in done.output and "Voltage: lowest bus" in done.output


def test_json_report_is_the_tool_result(files):
    readings, mapping, device, sensor, sim = files
    done = run("--grid", GRID, "--measurements", readings, "--mapping", mapping, "--format", "json")
    assert done.exit_code == 0, done.output
    result = json.loads(done.output)
    assert result["status"] == "bad_data" and result["evidence_id"].startswith("ev-")
    assert (result["suspects"][0]["device_id"], result["suspects"][0]["sensor_type"]) == (device, sensor)
    assert result["counts"]["states"] == 27 and result["counts"]["meters_used"] == len(sim.readings) - 1
    assert len(result["buses"]) == 14


def test_unobservable_set_names_missing_measurements(files, tmp_path):
    readings, mapping, *_ = files
    frame = pd.read_csv(mapping, keep_default_na=False)
    keep = frame.iloc[: len(frame) // 2]  # half the meters: not observable
    path = tmp_path / "half.csv"
    keep.to_csv(path, index=False)
    done = run("--grid", GRID, "--measurements", readings, "--mapping", str(path))
    assert done.exit_code == 0, done.output
    assert "unobservable" in done.output and "Missing measurements" in done.output
    assert "reading stream(s) without mapping" in done.output


def test_mapping_outside_the_data_roots_exits_2(files):
    readings, *_ = files
    done = CliRunner().invoke(app, ["estimate", "--grid", GRID, "--measurements", readings, "--mapping",
                                    "/etc/hostname"])
    assert done.exit_code == 2
    assert "mapping" in done.output and "outside the data roots" in done.output


def test_help_teaches_with_examples():
    done = CliRunner().invoke(app, ["estimate", "--help"])
    assert done.exit_code == 0
    assert "--measurements" in done.output and "Example" in done.output
