"""``gridsage cyber`` as a user runs it: real subprocesses, simulated OT logs written and triaged, errors with exit 2."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def gridsage(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gridsage", *args], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT, env=dict(os.environ))


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ot")
    done = gridsage("cyber", "simulate", "--out", str(folder), "--hours", "2", "--poll-s", "5", "--seed", "4",
                    "--attacks", "T0846,T0855", "--format", "json")
    assert done.returncode == 0, done.stderr
    return folder, json.loads(done.stdout)


def test_simulate_writes_the_logs_and_their_labels(simulated):
    folder, report = simulated
    assert {Path(p).name for p in report["files"].values()} == {"modbus.csv", "dnp3.csv", "iec104.csv", "mms.csv",
                                                                  "windows_events.csv", "syslog.log", "conn.log",
                                                                  "labels.csv"}
    with open(folder / "labels.csv", newline="") as handle:
        labels = list(csv.DictReader(handle))
    assert len(labels) == report["lines"]
    assert {row["technique_id"] for row in labels} == {"normal", "T0846", "T0855"}
    assert [c["technique_id"] for c in sorted(report["chains"], key=lambda c: c["start"])] in (["T0846", "T0855"],
                                                                                            ["T0855", "T0846"])


def test_triage_finds_the_injected_techniques_and_draws_them(simulated, tmp_path):
    folder, report = simulated
    logs = [str(folder / n) for n in ("modbus.csv", "dnp3.csv", "iec104.csv", "mms.csv", "windows_events.csv",
                                      "syslog.log", "conn.log")]
    plot = tmp_path / "detections.png"
    done = gridsage("cyber", "triage", *logs, "--plot", str(plot), "--format", "json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["verdict"] == "attack_suspected" and {"T0846", "T0855"} <= set(result["by_technique"])
    chains = {c["technique_id"]: c for c in report["chains"]}
    scan = next(d for d in result["detections"] if d["technique_id"] == "T0846")
    assert scan["source"] == chains["T0846"]["source"]  # the simulator's own chain is the oracle
    assert plot.stat().st_size > 10_000 and plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = gridsage("cyber", "triage", *logs)
    assert text.returncode == 0 and "attack_suspected" in text.stdout and "T0855 Unauthorized Command Message" in text.stdout
    assert "ignore all previous instructions" not in (text.stdout + done.stdout).lower()


def test_triage_with_the_grid_states_what_the_commands_cut_off(simulated):
    folder, _ = simulated
    logs = [str(folder / n) for n in ("modbus.csv", "dnp3.csv", "iec104.csv", "mms.csv", "conn.log")]
    done = gridsage("cyber", "triage", *logs, "--grid", "mv_oberrhein", "--point-map",
                    str(ROOT / "scenarios" / "cyber" / "mv_oberrhein_point_map.csv"), "--format", "json")
    assert done.returncode == 0, done.stderr
    impacts = json.loads(done.stdout)["impacts"]
    assert impacts and all(i["action"] in ("open", "close") and i["element"].startswith("switch:") for i in impacts)


@pytest.mark.parametrize(("args", "field"), [
    (["--log-format", "evtx"], "--log-format"),
    (["--grid", "mv_oberrhein"], "--point-map"),
    (["--max", "0"], "--max"),
])
def test_usage_errors_exit_2_naming_the_option(simulated, args, field):
    folder, _ = simulated
    done = gridsage("cyber", "triage", str(folder / "dnp3.csv"), *args)
    assert done.returncode == 2 and field in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_a_file_outside_the_data_roots_is_refused_without_its_content(tmp_path):
    secret = Path("/etc/hostname")
    done = gridsage("cyber", "triage", str(secret), "--format", "json")
    result = json.loads(done.stdout) if done.returncode == 0 else None
    if result is not None:  # the file is reported as failed, the triage still answers
        assert result["status"] in ("files_failed", "no_records") and result["file_errors"]
    else:
        assert done.returncode == 2
    assert "Traceback" not in done.stderr


def test_simulate_refuses_an_unknown_technique():
    done = gridsage("cyber", "simulate", "--out", "ot-bad", "--attacks", "T9999")
    assert done.returncode == 2 and "--attacks" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(("command", "words"), [
    (["cyber", "--help"], ["ATT&CK for ICS", "--point-map", "GRIDSAGE_DATA_DIRS", "Example"]),
    (["cyber", "triage", "--help"], ["--baseline", "--plot", "attack_suspected"]),
    (["cyber", "simulate", "--help"], ["--attacks", "labels.csv"]),
])
def test_help_teaches(command, words):
    done = gridsage(*command)
    assert done.returncode == 0
    flat = " ".join(done.stdout.split())
    assert all(w in flat for w in words), [w for w in words if w not in flat]
