"""``gridsage knowledge eval`` on the shipped question sets (issue 22), run as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def _gridsage(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gridsage", *args], capture_output=True, text=True, timeout=300)


def test_eval_help_names_the_question_sets():
    done = _gridsage("knowledge", "eval", "--help")
    text = " ".join(done.stdout.split())
    assert done.returncode == 0 and "--set" in text and "terse" in text and "--questions" in text


@pytest.mark.slow  # a subprocess loads the embedder and searches 189 questions: about 25 s on 2 shared cores
def test_eval_scores_both_sets(standards_index):
    done = _gridsage("knowledge", "eval", "--set", "all", "-f", "json")
    assert done.returncode == 0, done.stderr
    reports = json.loads(done.stdout)["reports"]
    assert set(reports) == {"shipped", "terse"} and reports["terse"]["questions"] >= 40
    for report in reports.values():
        assert report["mrr"] >= 0.9 and report["recall_at_k"] >= 0.95
    text = _gridsage("knowledge", "eval", "--set", "terse")
    assert text.returncode == 0 and text.stdout.startswith("terse: ") and "MRR" in text.stdout


def test_eval_rejects_an_unknown_set_and_a_bad_file(tmp_path):
    done = _gridsage("knowledge", "eval", "--set", "nope")
    assert done.returncode == 2 and "nope" in done.stderr
    bad = tmp_path / "q.yaml"
    bad.write_text("- {question: 'what is the voltage band'}\n")
    done = _gridsage("knowledge", "eval", "--questions", str(bad))
    assert done.returncode == 2 and "questions[0].relevant" in " ".join(done.stderr.split())
