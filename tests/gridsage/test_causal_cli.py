"""``gridsage causal`` as a user runs it: real subprocesses; a history simulated with a planted cause (the planted
node is the oracle), attributed, its effect estimated and its change explained; usage errors exit 2 naming the option."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]


def gridsage(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gridsage", *args], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT, env=dict(os.environ))


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    folder = tmp_path_factory.mktemp("why")
    done = gridsage("causal", "simulate", "--grid", "cigre_mv", "--trafo", "0", "--out", str(folder), "--days", "10",
                    "--seed", "5", "--plant", "trafo_0_theta_h_c=20")
    assert done.returncode == 0, done.stderr
    assert "planted at" in done.stdout and "trafo_0_theta_h_c +20" in done.stdout
    return folder / "history.csv"


def test_simulate_writes_one_column_per_node_and_no_answer_key(history):
    frame = pd.read_csv(history)
    assert len(frame) == 240 and frame.columns[0] == "time"
    assert {"ambient_c", "trafo_0_p_mw", "trafo_0_theta_to_c", "trafo_0_theta_h_c"} <= set(frame.columns)
    assert not any("plant" in c or "noise" in c for c in frame.columns)


def test_attribute_names_the_planted_sensor_fault_and_draws_it(history, tmp_path):
    plot = tmp_path / "why.png"
    done = gridsage("causal", "attribute", str(history), "--target", "trafo_0_theta_h_c", "--time",
                    pd.read_csv(history).time.iloc[-1], "--grid", "cigre_mv", "--trafo", "0", "--bootstrap", "3",
                    "--plot", str(plot), "--format", "json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["root_cause"] == "trafo_0_theta_h_c" and result["status"] == "ok"
    assert plot.stat().st_size > 5_000
    text = gridsage("causal", "attribute", str(history), "--target", "trafo_0_theta_h_c", "--grid", "cigre_mv",
                    "--trafo", "0", "--bootstrap", "2")
    assert text.returncode == 0 and "root cause" in text.stdout and "Contributions" in text.stdout


def test_effect_and_change_run_on_a_graph_given_as_edges(history, tmp_path, monkeypatch):
    edges = tmp_path / "edges.csv"
    edges.write_text("cause,effect\nambient_c,trafo_0_theta_to_c\ntrafo_0_p_mw,trafo_0_theta_to_c\n"
                     "trafo_0_theta_to_c,trafo_0_theta_h_c\ntrafo_0_p_mw,trafo_0_theta_h_c\n")
    done = gridsage("causal", "effect", str(history), "--treatment", "trafo_0_p_mw", "--outcome", "trafo_0_theta_h_c",
                    "--delta", "-1", "--edges", str(edges), "--format", "json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["estimate"] < 0 and {r["refuter"] for r in result["refutations"]} >= {
        "placebo_treatment_refuter", "random_common_cause", "data_subset_refuter"}
    times = pd.read_csv(history).time
    done = gridsage("causal", "change", str(history), "--target", "trafo_0_theta_h_c", "--before",
                    f"{times.iloc[0]},{times.iloc[119]}", "--after", f"{times.iloc[120]},{times.iloc[-1]}",
                    "--edges", str(edges))
    assert done.returncode == 0, done.stderr
    assert "mean" in done.stdout and "Contributions to the change" in done.stdout


@pytest.mark.parametrize("args, option", [
    (("attribute", "{h}", "--target", "trafo_0_theta_h_c"), "--grid"),
    (("attribute", "{h}", "--target", "trafo_0_theta_h_c", "--grid", "cigre_mv"), "--trafo"),
    (("attribute", "{h}", "--target", "nope", "--grid", "cigre_mv", "--trafo", "0"), "target"),
    (("change", "{h}", "--target", "trafo_0_theta_h_c", "--before", "2026-07-01", "--after", "x,y", "--grid",
      "cigre_mv", "--trafo", "0"), "--before"),
    (("simulate", "--grid", "cigre_mv", "--trafo", "0", "--out", "x", "--plant", "trafo_0_theta_h_c"), "--plant"),
    (("effect", "{h}", "--treatment", "a", "--outcome", "b", "--edges", "/etc/passwd"), "--edges"),
])
def test_usage_errors_exit_2_naming_the_option(history, args, option):
    done = gridsage("causal", *[a.format(h=history) for a in args])
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert option in done.stderr and "Traceback" not in done.stderr and "root:" not in done.stderr


def test_help_teaches_the_graph_and_an_example():
    done = gridsage("causal", "--help")
    assert done.returncode == 0
    for words in ("ambient_c", "switch_<s>_transfer_p_mw", "attribute", "effect", "change", "simulate", "Example"):
        assert words in done.stdout, words
