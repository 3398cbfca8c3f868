"""``gridsage cascade`` through typer's CliRunner on a four-bus grid whose cascades are worked out by hand.

The grid (as in tests/tools/cascade/test_cascade.py): 90 MW of load at buses 1 (80 MW) and 3 (10 MW), gen 0 at bus 1
gives 20 MW (Pmax 100 MW), the other 70 MW come from bus 0 over path A (line 0, 20 km, 60 MVA) and path B (line 1,
10 km, 50 MVA, then line 2, 10 km, 60 MVA), equal impedance, 35 MW each; line 3 feeds bus 3.

Hand oracle, IEEE C37.112 very inverse, TD 1: t = 19.61 / (M^2 - 1) + 0.491 s; ERCOT UFLS 5 % + 10 % + 10 %; droop 5 %.

* line 0 out: 70 MW over path B, line 1 at 140 % trips first (about 20.9 s); buses 1-3 island with gen 0, 70 MW short
  of 100 MW rated: UFLS sheds 4.5 + 9 + 9 = 22.5 MW = 25 % (estimate 58.575 Hz >= 58.5 Hz after stage 3).
* line 1 or line 2 out: 70 MW over path A, line 0 at 117 % trips (after about 54.8 s): the same island, the same
  22.5 MW = 25 %.
* line 3 out: bus 3 has no unit and goes dark, 10 MW = 11.11 %; the other 60 MW split 30/30, nothing overloaded.

So the N-1 ensemble loses [25, 25, 25, 11.11] %: mean 21.53 %, max 25 %, P(> 20 %) = 3/4.
"""

from __future__ import annotations

import json
import math

import pandapower as pp
import pytest
from typer.testing import CliRunner

from gridsage.cli import app

runner = CliRunner()
SQRT3 = math.sqrt(3)
LINE = dict(r_ohm_per_km=0.05, x_ohm_per_km=0.4, c_nf_per_km=0.0)


def very_inverse(m: float) -> float:
    return 19.61 / (m * m - 1.0) + 0.491


@pytest.fixture(scope="module")
def grid_file(tmp_path_factory):
    net = pp.create_empty_network()
    b = [pp.create_bus(net, 110.0) for _ in range(4)]
    pp.create_ext_grid(net, b[0], vm_pu=1.0)
    pp.create_load(net, b[1], p_mw=80.0, q_mvar=0.0)
    pp.create_load(net, b[3], p_mw=10.0, q_mvar=0.0)
    pp.create_gen(net, b[1], p_mw=20.0, vm_pu=1.0, max_p_mw=100.0, min_p_mw=0.0, max_q_mvar=100.0, min_q_mvar=-100.0)
    for a, z, km, mva in ((0, 1, 20.0, 60), (0, 2, 10.0, 50), (2, 1, 10.0, 60), (1, 3, 10.0, 60)):
        pp.create_line_from_parameters(net, b[a], b[z], km, max_i_ka=mva / (SQRT3 * 110.0), **LINE)
    path = tmp_path_factory.mktemp("cli-cascade") / "two_path.json"
    pp.to_json(net, str(path))
    return str(path)


def cascade(*args: str):
    return runner.invoke(app, ["cascade", *args])


def test_text_report_has_the_timeline_totals_and_restoration(grid_file):
    done = cascade("--grid", grid_file, "--outage", "line:0")
    assert done.exit_code == 0, done.output
    out = done.stdout
    assert "Timeline (5 events)" in out and "overload_trip" in out and "line 1" in out
    assert "load lost 22.5 MW (25.00 % of 90.0 MW)" in out  # 4.5 + 9 + 9 MW of UFLS, by hand
    assert "1 branch trip(s)" in out
    assert "Restoration sequence" in out and "Restored 22.5 of 22.5 MW lost" in out


def test_json_carries_the_tool_results(grid_file):
    done = cascade("-g", grid_file, "-o", "line:0", "--no-restore", "--format", "json")
    assert done.exit_code == 0, done.output
    data = json.loads(done.stdout)
    assert data["restoration"] is None and data["ensemble"] is None
    result = data["cascade"]
    trips = [e for e in result["events"] if e["cause"] == "overload_trip"]
    assert [(e["element"]["element"], e["element"]["index"]) for e in trips] == [("line", 1)]
    assert trips[0]["loading_percent"] == pytest.approx(140.0, abs=3.0)
    assert trips[0]["time_s"] == pytest.approx(very_inverse(trips[0]["loading_percent"] / 100), rel=1e-3)
    assert result["load_lost_mw"] == pytest.approx(22.5, abs=0.01) and result["evidence_id"].startswith("ev-")


def test_n1_ensemble_matches_the_hand_outcomes(grid_file):
    done = cascade("-g", grid_file, "--ensemble", "n1", "--threshold", "20", "--format", "json")
    assert done.exit_code == 0, done.output
    stats = json.loads(done.stdout)["ensemble"]
    got = {tuple(o["outages"]): o["load_lost_percent"] for o in stats["outcomes"]}
    assert got == pytest.approx({("line:0",): 25.0, ("line:1",): 25.0, ("line:2",): 25.0, ("line:3",): 100 / 9},
                                abs=0.01)
    assert stats["loss"]["mean_percent"] == pytest.approx((75 + 100 / 9) / 4, abs=0.01)
    assert stats["loss"]["max_percent"] == pytest.approx(25.0, abs=0.01)
    assert stats["probability_above_threshold"] == pytest.approx(0.75) and stats["executed"] == "serial"


def test_plot_writes_a_png_with_timeline_restoration_and_histogram(grid_file, tmp_path):
    target = tmp_path / "cascade.png"
    done = cascade("-g", grid_file, "-o", "line:0", "--ensemble", "n1", "--plot", str(target))
    assert done.exit_code == 0, done.output
    assert "plot written to" in done.stderr and "Ensemble n1" in done.stdout
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and target.stat().st_size > 10_000


@pytest.mark.parametrize("outage, says", [
    ("line:0,lin:3", "item 2 ('lin:3')"),
    ("line:0,line:9", "line 9 does not exist"),
    ("line:0,line:0", "named twice"),
])
def test_a_bad_outage_is_an_error_naming_the_option(grid_file, outage, says):
    done = cascade("-g", grid_file, "--outage", outage)
    assert done.exit_code == 2
    assert "--outage" in done.stderr and says in done.stderr and "Fix:" in done.stderr
    assert "Traceback" not in done.output


def test_no_outage_and_no_ensemble_is_an_error(grid_file):
    done = cascade("-g", grid_file)
    assert done.exit_code == 2 and "--outage" in done.stderr


def test_a_malformed_ensemble_is_an_error_naming_the_option(grid_file):
    done = cascade("-g", grid_file, "--ensemble", "n3")
    assert done.exit_code == 2 and "--ensemble" in done.stderr


def test_help_teaches_with_an_example():
    done = runner.invoke(app, ["cascade", "--help"])
    assert done.exit_code == 0 and "Example" in done.stdout and "--outage" in done.stdout and "--scheduler" in done.stdout


def test_the_ensemble_runs_on_a_named_dask_scheduler_with_the_same_outcomes(grid_file):
    """An in-process LocalCluster (one worker thread) stands for a remote scheduler: --scheduler sends the cascades
    there, and each outcome is the hand one (the same as the serial run above)."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        done = cascade("-g", grid_file, "--ensemble", "n1", "--scheduler", address, "-f", "json")
    assert done.exit_code == 0, done.output
    stats = json.loads(done.stdout)["ensemble"]
    assert stats["executed"] == f"dask ({address})"
    got = {tuple(o["outages"]): o["load_lost_percent"] for o in stats["outcomes"]}
    assert got == pytest.approx({("line:0",): 25.0, ("line:1",): 25.0, ("line:2",): 25.0, ("line:3",): 100 / 9},
                                abs=0.01)


def test_a_plot_without_an_outage_or_with_a_bad_suffix_fails_before_any_run(grid_file, tmp_path):
    done = cascade("-g", grid_file, "--ensemble", "n1", "--plot", str(tmp_path / "x.png"))
    assert done.exit_code == 2 and "--plot" in done.stderr and "Ensemble" not in done.stdout
    done = cascade("-g", grid_file, "-o", "line:0", "--plot", str(tmp_path / "x.txt"))
    assert done.exit_code == 2 and "--plot" in done.stderr and "Timeline" not in done.stdout
