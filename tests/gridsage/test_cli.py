"""The CLI as a user runs it: real subprocesses, real grids."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import jsonschema
import pytest

from gridsage.reasoning.assessment import Assessment

ROOT = Path(__file__).resolve().parents[2]


def gridsage(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    env = dict(os.environ, GRIDSAGE_GRAPH_DIR=tempfile.mkdtemp(prefix="gridsage-cli-graph-"))  # a graph folder per run
    return subprocess.run([sys.executable, "-m", "gridsage", *args], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT, env=env)


def test_analyze_ieee118_json_validates():
    done = gridsage("analyze", "scenarios/ieee118_summer_line_trip.yaml", "--format", "json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    jsonschema.validate(document, Assessment.model_json_schema())
    assert document["findings"][0]["severity"] == "critical" and document["action_plan"]
    assert (document["kind"], document["playbook"]) == ("grid", "grid_study")


def test_analyze_text_report_with_graph_context():
    done = gridsage("analyze", "ieee118_summer_line_trip")
    assert done.returncode == 0, done.stderr
    assert "WHAT TO DO FIRST" in done.stdout
    assert re.search(r"line 29 \(bus 22-bus 24; MATPOWER branch \d+: 23-25\) loaded 18\d\.\d %", done.stdout)
    assert "where: zone" in done.stdout and "MW of load within 1 branch" in done.stdout


def test_analyze_without_graph():
    done = gridsage("analyze", "ieee118_summer_line_trip", "--no-graph", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert all(f["context"] is None for f in json.loads(done.stdout)["findings"])


def test_graph_commands():
    done = gridsage("graph", "outage", "--grid", "case118", "--element", "line", "--index", "6", "--format", "json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "isolates" and result["buses"] == [8, 9]
    text = gridsage("graph", "neighbours", "--grid", "cigre_mv", "--bus", "1", "--hops", "1")
    assert text.returncode == 0 and "bus 2" in text.stdout


def test_bad_scenario_exits_2_naming_the_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ngrid: {source: case14}\nevents:\n  - {type: line_outage, line: 99}\n")
    done = gridsage("analyze", str(bad))
    assert done.returncode == 2 and done.stdout == ""
    assert "scenario.events[0].line" in done.stderr and "Fix:" in done.stderr


def test_powerflow_and_contingency_json():
    pf = gridsage("powerflow", "--grid", "case14", "--format", "json")
    assert pf.returncode == 0 and json.loads(pf.stdout)["status"] == "converged"
    n1 = gridsage("contingency", "--grid", "case14", "--top", "3", "--format", "json")
    result = json.loads(n1.stdout)
    assert len(result["top"]) == 3 and result["contingencies_total"] == 20 and result["islanding_count"] == 1


def test_unknown_grid_lists_names():
    done = gridsage("powerflow", "--grid", "case999")
    assert done.returncode == 2 and "case118" in done.stderr


@pytest.mark.parametrize("command, words", [
    ([], ["analyze", "powerflow", "contingency", "mcp", "grids"]),
    (["powerflow"], ["[pu]", "[% of rating]", "--dc"]),
    (["contingency"], ["--top", "[%]", "pandapower"]),
    (["analyze"], ["--format", "markdown", "evidence"]),
    (["mcp"], ["GRIDSAGE_MCP_TOKEN", "401", "stdio"]),
    (["graph"], ["NEO4J_URI", "neighbours", "outage", "downstream", "path"]),
    (["graph", "path"], ["--weight", "[pu]"]),
    (["knowledge"], ["build", "search", "show", "eval", "GRIDSAGE_KNOWLEDGE_DIR", "GRIDSAGE_LIMITS_FILE"]),
    (["knowledge", "search"], ["--standard", "--tag", "-k"]),
])
def test_help_teaches(command, words):
    done = gridsage(*command, "--help")
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    for word in words:
        assert word in text, word


def test_tools_lists_the_published_tools_by_profile():
    study = gridsage("tools", "--profile", "study")
    assert study.returncode == 0, study.stderr
    listed = {line.split("│")[1].strip() for line in study.stdout.splitlines() if line.count("│") > 2} - {""}
    assert listed == {"load_grid", "apply_events", "run_power_flow", "run_contingency_analysis", "propose_remedial_actions",
                      "apply_actions", "monitor_telemetry", "score_telemetry"}
    everything = gridsage("tools").stdout
    assert "39 tools (all)" in everything and "read_evidence" in everything and "forecast_load" in everything and "unload_grid" in everything
    wrong = gridsage("tools", "--profile", "tiny")
    assert wrong.returncode == 2 and "unknown tool profile 'tiny'" in wrong.stderr and "all, study" in wrong.stderr


def test_schema_and_scenarios_commands():
    assert json.loads(gridsage("schema", "assessment").stdout)["title"] == "Assessment"
    assert "ieee118_summer_line_trip" in gridsage("scenarios").stdout
    assert "telemetry/substation_sensor_dropout.json" in gridsage("scenarios").stdout.replace("\n│", "")


def test_analyze_a_telemetry_scenario_gives_its_verdict_and_plots_the_anomalies(tmp_path):
    done = gridsage("analyze", "substation_sensor_dropout", "-f", "json", "--plot", str(tmp_path / "t.png"))
    assert done.returncode == 0, done.stderr
    a = json.loads(done.stdout)
    assert a["verdict"] == "secure" and a["grid_id"] is None
    assert (a["kind"], a["playbook"]) == ("telemetry", "telemetry_triage")
    assert {e["origin"] for e in a["telemetry_events"] if e["type"] == "dropout"} == {"sensor"}
    assert (tmp_path / "t.png").stat().st_size > 10_000 and "plot written to" in done.stderr


def test_text_output_shows_evidence_ids_and_attempts():
    done = gridsage("powerflow", "--grid", "case14")
    assert done.returncode == 0
    assert "converged after 1 attempt(s) [ev-0002]" in done.stdout and "ANSI C84.1-2020" in done.stdout


def test_knowledge_show_search_and_eval(standards_index):
    shown = gridsage("knowledge", "show", "ieee-c57-91-aging-acceleration-factor")
    assert shown.returncode == 0 and "IEEE C57.91" in shown.stdout and "b_constant_k = 15000" in shown.stdout
    found = gridsage("knowledge", "search", "SAIDI went up after the storm, do we exclude the storm day?", "-f", "json")
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)["hits"]
    assert any(h["entry_id"].startswith("ieee-1366-major-event-day") for h in hits)
    scored = gridsage("knowledge", "eval")
    assert scored.returncode == 0 and "recall@5" in scored.stdout and "MRR" in scored.stdout
    missing = gridsage("knowledge", "show", "no-such-entry")
    assert missing.returncode == 2 and "entry_id: no standards entry" in " ".join(missing.stderr.split())


def test_knowledge_with_a_malformed_corpus_names_file_and_field(tmp_path):
    entry = tmp_path / "voltage" / "bad-entry.md"
    entry.parent.mkdir()
    entry.write_text("---\nid: bad-entry\ntitle: Bad\nstandard: X 1\nedition: '1'\ntags: [x]\n---\n" + "Text. " * 10)
    env = dict(os.environ, GRIDSAGE_CORPUS_DIR=str(tmp_path), GRIDSAGE_KNOWLEDGE_DIR=str(tmp_path / "index"))
    done = subprocess.run([sys.executable, "-m", "gridsage", "knowledge", "build"], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env=env)
    assert done.returncode == 2 and "voltage/bad-entry.md: clause" in " ".join(done.stderr.split())


def test_analyze_never_loads_the_embedder():
    code = ("import sys; from gridsage.reasoning.playbooks import assess; from gridsage.reasoning.scenario import load_scenario; "
            "s, d = load_scenario('cigre_mv_load_growth'); a = assess(s, d, graph=False); "
            "assert all(f.citations for f in a.findings); "
            "print(sorted(m for m in ('chromadb', 'onnxruntime', 'tokenizers', 'gridsage.knowledge.embedding') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180, cwd=ROOT)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stdout + done.stderr


def test_chat_answers_without_a_model_exports_and_resumes(tmp_path):
    env = dict(os.environ, GRIDSAGE_CHAT_DB=str(tmp_path / "chat.sqlite3"), GRIDSAGE_MODEL="none")
    first = subprocess.run([sys.executable, "-m", "gridsage", "chat", "--scenario", "case39_unit_trip"],
                           input=f"What is overloaded?\n/export {tmp_path / 'turns.md'}\n", capture_output=True,
                           text=True, timeout=180, cwd=ROOT, env=env)
    assert first.returncode == 0, first.stderr
    assert "deterministic planner" in first.stdout and "verdict: violations" in first.stdout
    import pandapower as pp
    import pandapower.networks as pn

    net = pn.case39()  # the oracle: plain pandapower, gen 7 out, generator Q limits on
    net.gen.at[7, "in_service"] = False
    pp.runpp(net, lightsim2grid=False, numba=False, enforce_q_lims=True)
    assert f"line 6 (bus 3-bus 4) loaded {net.res_line.loading_percent[6]:.1f} %" in first.stdout
    checked = re.search(r"grounding (\d+)/(\d+)", first.stdout)
    assert checked and checked.group(1) == checked.group(2) and int(checked.group(2)) > 30  # every number grounded
    assert "line 6" in (tmp_path / "turns.md").read_text()
    session_id = first.stdout.split("resume with: gridsage chat --session ")[1].split()[0]
    again = subprocess.run([sys.executable, "-m", "gridsage", "chat", "--session", session_id],
                           input="/history\nAnd now?\n", capture_output=True, text=True, timeout=180, cwd=ROOT, env=env)
    assert again.returncode == 0, again.stderr
    assert f"resumed session {session_id}: 1 turn(s), study case39_unit_trip" in again.stdout
    assert "1. What is overloaded? -> violations (planner)" in again.stdout
    listed = subprocess.run([sys.executable, "-m", "gridsage", "chat", "--list"], capture_output=True, text=True,
                            timeout=60, cwd=ROOT, env=env)
    assert f"{session_id}" in listed.stdout and "2 turn(s)" in listed.stdout


def test_text_reports_name_the_slack_and_what_an_outage_cuts_off():
    import pandapower as pp
    import pandapower.networks as pn

    net = pn.case39()
    pp.runpp(net, lightsim2grid=False, numba=False, enforce_q_lims=True)
    flow = gridsage("powerflow", "-g", "case39")
    assert flow.returncode == 0, flow.stderr
    assert f"slack ext_grid 0 at bus 30: {net.res_ext_grid.p_mw.at[0]:.1f} MW (0.0 to 646.0 MW; outside its limits)" in flow.stdout
    # case9: line 0 is the ext_grid's only link; loads 90 + 100 + 125 MW and gens 163 + 85 MW lie beyond it
    n1 = " ".join(gridsage("contingency", "-g", "case9").stdout.split())
    assert "islanding: line 0 (bus 0-bus 3) cuts off bus(es) [1, 2, 3, 4, 5, 6, 7, 8] (315 MW of load, 248 MW of generation)" in n1
    assert re.search(r"│ 1 │ line 0 \(bus 0-bus 3\) │", n1)  # a blackout of the whole load ranks first
