"""The assessment plot: its numbers are the evidence's, and it is drawn."""

from __future__ import annotations

import pytest

from gridsage.reasoning.playbooks import assess
from gridsage.plotting import loading_table, plot_assessment
from gridsage.reasoning.scenario import load_scenario


@pytest.fixture(scope="module")
def assessment():
    return assess(*load_scenario("ieee118_summer_line_trip"), graph=False)


def test_plotted_numbers_come_from_the_evidence(assessment):
    table = loading_table(assessment)
    assert set(table) == {"line 29", "line 30", "line 37", "line 98"}
    post = next(f for f in assessment.findings if f.elements and f.elements[0].name.startswith("line 29"))
    assert table["line 29"]["after events"] == post.value
    assert table["line 29"]["before events"] <= 85.0 + 1e-3  # the OPF base case's margin
    assert all(row["after plan"] <= 100.0 for row in table.values())  # the plan clears every overload


def test_png_is_written(assessment, tmp_path):
    path = plot_assessment(assessment, tmp_path / "loading.png")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
