"""Confined file access (issue 16): every tool path argument resolves under the data roots, every write goes to the
output folder, and no error quotes a file.

Each test sets its own roots with ``monkeypatch`` (a ``data`` folder and an ``out`` folder in ``tmp_path``) and keeps a
"secret" file beside them, outside every root, that carries :data:`MARKER`; a refusal must name the field and never
show the marker.  Expectations are computed here, from the files the tests write.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gridsage.errors import GridSageError, InputError, ScenarioError
from gridsage.tools.paths import (DATA_DIRS_ENV, OUTPUT_DIR_ENV, data_roots, output_root, readable_file, shipped_root,
                                  writable_dir)

pytestmark = pytest.mark.usefixtures("workspace")

#: text that only the files outside the roots (or the files whose content must not be quoted) contain
MARKER = "s3cr3t-7f3a9"
PASSWD_LIKE = f"root:x:0:0:{MARKER}:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
ENV_LIKE = f"SHELL=/bin/bash\x00API_TOKEN={MARKER}\x00HOME=/root\x00"


@pytest.fixture
def roots(tmp_path, monkeypatch):
    """Data root ``data/``, output folder ``out/``, and ``outside/`` with secrets; the working directory elsewhere."""
    data, out, outside = tmp_path / "data", tmp_path / "out", tmp_path / "outside"
    data.mkdir()
    outside.mkdir()
    (outside / "passwd").write_text(PASSWD_LIKE)
    (outside / "secret.csv").write_text(f"time,load_mw\n2024-01-01T00:00:00Z,{MARKER}\n")
    (outside / "environ").write_text(ENV_LIKE)
    monkeypatch.setenv(DATA_DIRS_ENV, str(data))
    monkeypatch.setenv(OUTPUT_DIR_ENV, str(out))
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return data, out, outside


def refused(call, field: str) -> InputError:
    """Run ``call``; it must raise an InputError naming ``field`` and quoting no secret."""
    with pytest.raises(InputError) as caught:
        call()
    exc = caught.value
    assert exc.field == field, str(exc)
    text = json.dumps(exc.to_dict())
    assert MARKER not in text and "root:x:0:0" not in text and "SHELL=" not in text
    assert exc.fix
    return exc


def load_csv(path: Path, days: int = 42) -> None:
    """An hourly load series with temperature, ``days`` long (enough history to forecast)."""
    import numpy as np
    import pandas as pd

    t = pd.date_range("2024-03-01", periods=days * 24, freq="h", tz="UTC")
    hour = t.hour.to_numpy()
    load = 500 + 100 * np.sin(2 * np.pi * (hour - 6) / 24)
    pd.DataFrame({"time": t.strftime("%Y-%m-%dT%H:%M:%SZ"), "load_mw": load,
                  "temperature_c": 15 + 5 * np.sin(2 * np.pi * hour / 24)}).to_csv(path, index=False)


def readings_csv(path: Path, n: int = 5) -> None:
    rows = ["device_id,sensor_type,value,unit,timestamp,quality"]
    rows += [f"T1,voltage,{230 + i},V,2024-05-01T12:00:{i:02d}Z,good" for i in range(n)]
    path.write_text("\n".join(rows) + "\n")


def small_simulation(data: Path, name: str = "sim.json", csv: str = "base.csv") -> Path:
    """A simulation scenario in the data root: one voltage stream over a 2-h, 5-row base CSV, sampled each minute."""
    (data / "base.csv").write_text("Time,Demand\n" + "".join(
        f"2024-01-01T{h:02d}:{m:02d}:00Z,{5000 + 100 * i}\n"
        for i, (h, m) in enumerate([(0, 0), (0, 30), (1, 0), (1, 30), (2, 0)])))
    spec = {"name": "small", "base": {"csv": csv, "interval_seconds": 60, "streams": [
        {"device_id": "feeder-1", "sensor_type": "voltage", "column": "Demand", "unit": "kV", "scale": 0.001,
         "offset": 6.0, "noise_pct": 0.1}]}, "anomalies": []}
    (data / name).write_text(json.dumps(spec))
    return data / name


# ------------------------------------------------------------------------------------------ the roots themselves
def test_roots_come_from_the_environment_and_always_include_the_shipped_scenarios(roots, monkeypatch, tmp_path):
    data, out, _ = roots
    assert data_roots() == [data.resolve(), shipped_root()]
    assert output_root() == out.resolve()
    monkeypatch.delenv(DATA_DIRS_ENV)
    monkeypatch.delenv(OUTPUT_DIR_ENV)
    assert data_roots() == [(tmp_path / "cwd" / "data").resolve(), shipped_root()]
    assert output_root() == (tmp_path / "cwd" / "gridsage-output").resolve()


def test_a_file_inside_a_root_is_read_by_absolute_or_relative_path(roots):
    from gridsage.tools.forecast import forecast_load
    from gridsage.tools.telemetry import ingest_telemetry

    data, _, _ = roots
    (data / "sub").mkdir()
    load_csv(data / "sub" / "load.csv", days=42)
    assert readable_file("sub/load.csv", "csv_path") == (data / "sub" / "load.csv").resolve()
    result = forecast_load(csv_path="sub/load.csv", horizon_h=6, method="weekly_naive")
    assert result.status == "ok" and len(result.points) == 6 and result.quality.rows_read == 42 * 24
    readings_csv(data / "r.csv", n=5)
    ingested = ingest_telemetry(str(data / "r.csv"))
    assert ingested.counts.rows_read == 5 and ingested.counts.accepted == 5


def test_shipped_scenarios_stay_readable_whatever_the_roots(roots):
    from gridsage.reasoning.scenario import load_scenario

    scenario, folder = load_scenario("case9_unit_trip_secure")
    assert folder == shipped_root() and scenario.grid.source == "case9"
    path = shipped_root() / "telemetry" / "feeder_voltage_sag_oscillation.json"
    assert readable_file(str(path), "scenario_path") == path.resolve()


# ------------------------------------------------------------------------------------------- each leak, refused
def test_forecast_load_refuses_files_outside_the_roots(roots):
    from gridsage.tools.forecast import backtest_load_forecast, forecast_load

    _, _, outside = roots
    exc = refused(lambda: forecast_load(csv_path=str(outside / "secret.csv")), "csv_path")
    assert "outside the data roots" in exc.message and DATA_DIRS_ENV in exc.fix
    refused(lambda: forecast_load(csv_path=str(outside / "environ")), "csv_path")
    refused(lambda: backtest_load_forecast(csv_path=str(outside / "secret.csv")), "csv_path")
    if Path("/proc/self/environ").exists():
        exc = refused(lambda: forecast_load(csv_path="/proc/self/environ"), "csv_path")
        assert os.environ.get("PATH", "unset") not in str(exc)


def test_score_monitor_and_ingest_telemetry_refuse_files_outside_the_roots(roots):
    from gridsage.tools.telemetry import ingest_telemetry, monitor_telemetry, score_telemetry

    _, _, outside = roots
    for call in (lambda: score_telemetry(str(outside / "passwd")), lambda: ingest_telemetry(str(outside / "passwd")),
                 lambda: monitor_telemetry(path=str(outside / "passwd"))):
        assert "outside the data roots" in refused(call, "path").message
    if Path("/etc/passwd").exists():
        refused(lambda: score_telemetry("/etc/passwd"), "path")


def test_errors_on_files_inside_a_root_count_what_they_found_and_quote_nothing(roots):
    """/etc/passwd-like and environ-like content inside a root: refused for what it lacks, never echoed."""
    from gridsage.tools.forecast import forecast_load
    from gridsage.tools.telemetry import ingest_telemetry, score_telemetry

    data, _, _ = roots
    (data / "passwd.csv").write_text(PASSWD_LIKE)
    exc = refused(lambda: score_telemetry("passwd.csv"), "device_id")
    assert "1 column(s)" in exc.message  # the header row 'root:x:0:0:...' is one column
    refused(lambda: ingest_telemetry("passwd.csv"), "device_id")
    exc = refused(lambda: forecast_load(csv_path="passwd.csv"), "time_col")
    assert "1 column(s)" in exc.message
    (data / "env.csv").write_text(f"SHELL,API_TOKEN\n/bin/bash,{MARKER}\n")
    exc = refused(lambda: forecast_load(csv_path="env.csv", time_col="SHELL", load_col="MW"), "load_col")
    assert "2 column(s)" in exc.message and "API_TOKEN" not in exc.message
    (data / "lines.jsonl").write_text(f"{{not json {MARKER}\n")
    assert "line 1" in refused(lambda: ingest_telemetry("lines.jsonl"), "path").message


def test_simulate_telemetry_refuses_scenarios_and_base_files_outside_the_roots(roots):
    from gridsage.tools.telemetry import simulate_telemetry

    data, out, outside = roots
    (outside / "sim.json").write_text(json.dumps({"name": MARKER}))
    refused(lambda: simulate_telemetry(str(outside / "sim.json"), "run"), "scenario_path")
    escape = small_simulation(data, "escape.json", csv="../outside/secret.csv")  # '..' in the scenario's base CSV
    refused(lambda: simulate_telemetry(str(escape), "run"), "base.csv")
    (data / "values.json").write_text(json.dumps({"name": "x", "base": {"csv": MARKER, "streams": MARKER},
                                                  f"{MARKER}-key": MARKER}))
    exc = refused(lambda: simulate_telemetry("values.json", "run"), "base.streams")  # schema errors quote no value
    assert "unknown key" in exc.message
    assert not out.exists()  # nothing written by any refused call


def test_simulate_telemetry_writes_only_inside_the_output_folder(roots, tmp_path):
    from gridsage.tools.telemetry import simulate_telemetry

    data, out, outside = roots
    scenario = small_simulation(data)
    for bad in ("", str(outside), "../outside", str(tmp_path / "cwd")):
        refused(lambda: simulate_telemetry(str(scenario), bad), "out_dir")
    out.mkdir()
    os.symlink(outside, out / "link", target_is_directory=True)
    refused(lambda: simulate_telemetry(str(scenario), "link"), "out_dir")  # a link out of the output folder
    (out / "run1").mkdir()
    os.symlink(outside / "passwd", out / "run1" / "truth.csv")
    refused(lambda: simulate_telemetry(str(scenario), "run1"), "out_dir")  # never written through a link
    assert (outside / "passwd").read_text() == PASSWD_LIKE
    assert sorted(p.name for p in outside.iterdir()) == ["environ", "passwd", "secret.csv"]
    report = simulate_telemetry(str(scenario), "runs/a", seed=1)
    assert Path(report.telemetry_path) == (out / "runs" / "a" / "telemetry.csv").resolve()
    assert report.readings == 2 * 3600 // 60  # the base CSV spans 2 h, sampled each minute
    assert Path(report.truth_path).is_file() and report.events == {}
    assert writable_dir(".", "out_dir") == out.resolve()


def test_load_grid_refuses_grid_files_outside_the_roots(roots):
    from gridsage.tools.grid import load_grid

    _, _, outside = roots
    (outside / "net.json").write_text(json.dumps({"bus": MARKER}))
    refused(lambda: load_grid(str(outside / "net.json")), "source")
    refused(lambda: load_grid("../outside/net.json"), "source")
    assert load_grid("case9").grid_id  # a built-in name is a name, never a file


def test_symlink_escapes_are_refused(roots):
    from gridsage.tools.forecast import forecast_load
    from gridsage.tools.telemetry import score_telemetry

    data, _, outside = roots
    os.symlink(outside / "secret.csv", data / "link.csv")
    os.symlink(outside, data / "linked", target_is_directory=True)
    for path in ("link.csv", str(data / "link.csv"), "linked/secret.csv"):
        assert "outside the data roots" in refused(lambda: forecast_load(csv_path=path), "csv_path").message
    refused(lambda: score_telemetry("linked/passwd"), "path")


def test_dot_dot_escapes_are_refused(roots):
    from gridsage.tools.forecast import forecast_load
    from gridsage.tools.telemetry import ingest_telemetry

    data, _, _ = roots
    for path in ("../outside/secret.csv", str(data / ".." / "outside" / "secret.csv"), "sub/../../outside/secret.csv"):
        refused(lambda: forecast_load(csv_path=path), "csv_path")
    refused(lambda: ingest_telemetry("../outside/passwd"), "path")


def test_tilde_is_not_expanded(roots, monkeypatch):
    from gridsage.tools.forecast import forecast_load

    data, _, outside = roots
    monkeypatch.setenv("HOME", str(outside))  # '~/secret.csv' would be the secret if '~' were expanded
    exc = refused(lambda: forecast_load(csv_path="~/secret.csv"), "csv_path")
    assert "no file" in exc.message
    (data / "~").mkdir()
    readings_csv(data / "~" / "r.csv")
    assert readable_file("~/r.csv", "path") == (data / "~" / "r.csv").resolve()  # a folder named '~', literally


def test_nul_empty_and_overlong_paths_are_refused(roots):
    from gridsage.tools.forecast import forecast_load
    from gridsage.tools.telemetry import score_telemetry

    assert "NUL" in refused(lambda: forecast_load(csv_path="load\x00.csv"), "csv_path").message
    assert "empty" in refused(lambda: forecast_load(csv_path=""), "csv_path").message
    assert "empty" in refused(lambda: score_telemetry("   "), "path").message
    assert "4096" in refused(lambda: readable_file("a/" * 2049, "path"), "path").message
    assert "NUL" in refused(lambda: writable_dir("run\x00", "out_dir"), "out_dir").message


def test_folders_and_devices_are_not_files(roots):
    data, _, _ = roots
    (data / "folder.csv").mkdir()
    assert "not a regular file" in refused(lambda: readable_file("folder.csv", "csv_path"), "csv_path").message


# ------------------------------------------------------------------------------------------- malformed grid files
@pytest.mark.parametrize("name, text", [
    ("truncated.json", '{"_module": "pandapower.auxiliary", "_class": "pandapowerNet", "_object": {"bus": '),
    ("not_a_net.json", json.dumps({"secret": MARKER})),
    ("a_list.json", json.dumps([MARKER, 1])),
    ("no_mpc.m", f"function x = helper()\n% {MARKER}\nx = 1;\n"),
], ids=["truncated-json", "json-not-a-net", "json-list", "m-without-mpc"])
def test_malformed_grid_files_are_typed_errors(roots, name, text):
    from gridsage.tools.grid import load_grid

    data, _, _ = roots
    (data / name).write_text(text)
    exc = refused(lambda: load_grid(name), "source")
    assert name in exc.message


def test_a_pandapower_json_inside_a_root_loads(roots):
    import pandapower as pp
    import pandapower.networks as pn

    from gridsage.tools.grid import load_grid

    data, _, _ = roots
    net = pn.case9()
    pp.to_json(net, str(data / "nine.json"))
    loaded = load_grid("nine.json", base_dispatch="file")
    counts = {e.element: e.total for e in loaded.summary.elements}
    assert loaded.grid_id == "nine" and counts["bus"] == len(net.bus) and counts["gen"] == len(net.gen)


@pytest.mark.parametrize("spell", ['"_module": "this"', '"\\u005fmodule": "th\\u0069s"'], ids=["plain", "escaped"])
def test_a_grid_json_naming_a_foreign_module_is_refused_before_anything_is_imported(roots, spell):
    """pandapower's reader imports whatever module an object names; ``this`` prints to stdout when imported."""
    import pandapower as pp
    import pandapower.control as control
    import pandapower.networks as pn

    from gridsage.tools.grid import load_grid

    data, _, _ = roots
    net = pn.case9()
    control.ConstControl(net, element="load", variable="p_mw", element_index=[0], data_source=None,
                         profile_name=[0])  # pandapower's own objects stay welcome
    pp.to_json(net, str(data / "with_controller.json"))
    assert load_grid("with_controller.json", base_dispatch="file").grid_id.startswith("with_controller")
    document = json.loads((data / "with_controller.json").read_text())
    document["_object"]["bus_extra"] = {"_module": "this", "_class": "x", "_object": MARKER}
    (data / "foreign.json").write_text(json.dumps(document).replace('"_module": "this"', spell))
    sys.modules.pop("this", None)
    exc = refused(lambda: load_grid("foreign.json"), "source")
    assert "foreign.json" in exc.message and "1 module(s)" in exc.message and "this" not in sys.modules


def test_a_transformer_load_cycle_is_read_only_inside_the_roots_and_never_quoted(roots):
    from gridsage.reasoning.playbooks.transformer_overheating import load_cycle
    from gridsage.reasoning.scenario import TransformerStudy

    data, _, outside = roots
    (outside / "cycle.csv").write_text("time,mw\n0,5\n1,10\n")
    spec = TransformerStudy(trafo=0, load_profile_csv=str(outside / "cycle.csv"), interval_min=60)
    refused(lambda: load_cycle(spec, data), "scenario.transformer.load_profile_csv")
    (data / "cycle.csv").write_text(f"time,mw\n0,{MARKER}\n1,10\n")
    with pytest.raises(ScenarioError) as caught:
        load_cycle(TransformerStudy(trafo=0, load_profile_csv="cycle.csv", interval_min=60), data)
    assert MARKER not in str(caught.value) and "cycle.csv" in caught.value.message
    (data / "cycle.csv").write_text("time,mw\n0,5\n1,10\n2,7.5\n")
    spec = TransformerStudy(trafo=0, load_profile_csv="cycle.csv", interval_min=60)
    assert load_cycle(spec, data).tolist() == [0.5, 1.0, 0.75]  # 5, 10, 7.5 MW over their peak of 10


def test_the_cli_reports_a_malformed_grid_file_without_a_traceback(roots, tmp_path):
    data, _, _ = roots
    (data / "broken.json").write_text(json.dumps([MARKER]))
    env = dict(os.environ, GRIDSAGE_GRAPH_DIR=str(tmp_path / "graph"))
    done = subprocess.run([sys.executable, "-m", "gridsage", "powerflow", "--grid", "broken.json"], env=env,
                          capture_output=True, text=True, timeout=300, cwd=tmp_path / "cwd")
    assert done.returncode == 2, done.stderr
    assert "source:" in done.stderr and "Fix:" in done.stderr
    assert "Traceback" not in done.stderr and MARKER not in done.stderr + done.stdout
    outside = subprocess.run([sys.executable, "-m", "gridsage", "powerflow", "--grid", str(roots[2] / "passwd.json")],
                             env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path / "cwd")
    assert outside.returncode == 2 and "outside the data roots" in " ".join(outside.stderr.split())


def test_the_agent_gets_a_malformed_grid_file_as_a_tool_error(roots, monkeypatch, tmp_path):
    from pydantic_ai.messages import ModelResponse, ToolCallPart
    from pydantic_ai.models.function import AgentInfo, FunctionModel

    from gridsage.reasoning.agent import ChatSession, ask

    data, _, _ = roots
    (data / "broken.json").write_text(json.dumps({"secret": MARKER}))

    calls = []

    def model(messages, info: AgentInfo) -> ModelResponse:
        calls.append(len(messages))
        if len(calls) == 1:
            return ModelResponse(parts=[ToolCallPart("load_grid", {"source": "broken.json"})])
        return ModelResponse(parts=[ToolCallPart(info.output_tools[0].name, {"verdict": "unknown", "answer": "-"})])

    monkeypatch.setenv("GRIDSAGE_CHAT_DB", str(tmp_path / "chat.sqlite3"))
    turn = ask(ChatSession(model=FunctionModel(model), model_label="function:broken"), "Load broken.json.")
    call, = turn.tool_calls
    assert call.tool == "load_grid" and call.status == "error" and call.message.startswith("source: ")
    assert MARKER not in call.message and turn.source == "model"  # the failure went back to the model as a retry


# ------------------------------------------------------------------------------------------------ scenarios
def test_scenario_files_are_confined_and_their_values_never_quoted(roots):
    from gridsage.reasoning.scenario import load_scenario, parse_scenario

    data, _, outside = roots
    (outside / "s.yaml").write_text("name: t\ngrid: {source: case9}\n")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(str(outside / "s.yaml"))
    assert caught.value.field == "scenario" and "outside the data roots" in caught.value.message
    (data / "keys.yaml").write_text(f"name: t\ngrid: {{source: case9}}\npassword: {MARKER}\n"
                                    f"scaling: {{load: {MARKER}}}\n{MARKER}: 1\n")
    with pytest.raises(ScenarioError) as caught:
        load_scenario("keys.yaml")
    text = str(caught.value)
    assert MARKER not in text and "scenario.scaling.load" in text and "unknown key" in text
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(f"name: t\ngrid: {{source: case9}}\nevents: [{{type: {MARKER}}}]\n")
    assert MARKER not in str(caught.value) and "line_outage" in str(caught.value)
    (data / "ok.yaml").write_text("name: ok\ngrid: {source: case9}\n")
    scenario, folder = load_scenario("ok.yaml")
    assert scenario.name == "ok" and folder == data.resolve()


def test_a_telemetry_study_reads_inside_the_roots_and_writes_under_the_output_folder(roots):
    from gridsage.reasoning.scenario import load_scenario
    from gridsage.reasoning.study import simulation_dir, telemetry_readings

    data, out, _ = roots
    (data / "leak.yaml").write_text("name: leak\ntelemetry: {readings: ../outside/passwd}\n")
    scenario, folder = load_scenario("leak.yaml")
    refused(lambda: telemetry_readings(scenario, folder), "telemetry.readings")
    scenario, folder = load_scenario("substation_sensor_dropout")
    path = telemetry_readings(scenario, folder)
    assert path == simulation_dir(scenario) / "telemetry.csv" and path.is_relative_to(out.resolve())


# ------------------------------------------------------------------------------------------------ web console
def test_the_console_refuses_a_scenario_path_without_reading_it(roots, monkeypatch):
    from starlette.testclient import TestClient

    from gridsage.console import ConsoleState, create_app

    data, _, outside = roots
    monkeypatch.delenv("GRIDSAGE_MODEL", raising=False)
    (data / "kv.yaml").write_text(f"name: t\ngrid: {{source: case9}}\napi_token: {MARKER}\n")
    state = ConsoleState(model_spec="none")
    client = TestClient(create_app(state), base_url="http://127.0.0.1")
    for scenario in ("/etc/shadow", "/etc/passwd", str(outside / "passwd"), str(data / "kv.yaml"), "kv.yaml",
                     "../outside/passwd", "~/x.yaml"):
        reply = client.post("/api/ask", json={"question": "What is overloaded?", "scenario": scenario})
        assert reply.status_code == 400, reply.text
        body = reply.json()
        assert body["field"] == "scenario" and body["error"] == "InputError"
        assert MARKER not in reply.text and "root:" not in reply.text and "case9_unit_trip_secure" in body["fix"]
    assert not state.sessions  # refused before any session or answer
    state.check_scenario("case9_unit_trip_secure")  # a shipped name passes the check
    state.check_scenario("case9_unit_trip_secure.yaml")
    with pytest.raises(GridSageError):
        state.check_scenario("scenarios/case9_unit_trip_secure.yaml")  # a path, even to a shipped file
