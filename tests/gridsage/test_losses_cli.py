"""``gridsage losses`` in process (typer's CliRunner on the root app): text and JSON reports, the plot, and usage
errors exiting 2.  The expected energy comes from a plain pandapower runpp loop written here (the oracle)."""

from __future__ import annotations

import json
import warnings

import pandas as pd
import pandapower as pp
import pandapower.networks as pn
import pytest
from typer.testing import CliRunner

import gridsage.cli.losses  # noqa: F401  (registers the command)
from gridsage.cli._shared import app

runner = CliRunner()
SCALING = [0.6, 0.55, 0.7, 0.9, 1.0, 1.1, 0.95, 0.8]


@pytest.fixture(scope="module")
def profile(tmp_path_factory):
    path = tmp_path_factory.mktemp("losses") / "profile.csv"
    times = [t.isoformat() for t in pd.date_range("2026-07-01T00:00:00+02:00", periods=len(SCALING), freq="h")]
    rows = pd.DataFrame({"timestamp": times, "load_scaling": SCALING})
    rows.loc[len(rows)] = ["2026-07-01T09:00:00+02:00", -1.0]  # rejected: negative
    rows.to_csv(path, index=False)
    return path


def oracle_mwh() -> float:
    net = pn.mv_oberrhein()
    p0, q0, total = net.load.p_mw.copy(), net.load.q_mvar.copy(), 0.0
    for s in SCALING:
        net.load["p_mw"], net.load["q_mvar"] = p0 * s, q0 * s
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pp.runpp(net, lightsim2grid=False, numba=False)
        total += float(net.res_line.pl_mw.sum() + net.res_trafo.pl_mw.sum())  # 1 h each (the last as the one before)
    return total


def test_json_report_equals_the_runpp_loop(profile):
    done = runner.invoke(app, ["losses", "--grid", "mv_oberrhein", "--profile", str(profile), "--format", "json"])
    assert done.exit_code == 0, done.output
    result = json.loads(done.stdout)
    assert result["status"] == "ok" and result["intervals_solved"] == len(SCALING)
    assert result["energy_loss_mwh"] == pytest.approx(oracle_mwh(), rel=1e-6)
    assert result["rows_rejected"] == 1 and result["rejected_rows"][0]["row"] == len(SCALING) + 1
    assert len(result["top_branches"]) == 10


def test_text_report_and_plot(profile, tmp_path):
    plot = tmp_path / "losses.png"
    done = runner.invoke(app, ["losses", "--grid", "mv_oberrhein", "--profile", str(profile), "--plot", str(plot),
                               "--max-branches", "3"])
    assert done.exit_code == 0, done.output
    text = done.stdout
    assert "energy lost [MWh]" in text and "peak loss [MW]" in text and "branches by energy loss" in text
    assert f"{oracle_mwh():.6g}" in text
    assert "1 profile rows rejected" in text and "negative" in text
    assert plot.stat().st_size > 5_000


def test_usage_errors_exit_2_naming_the_field(profile, tmp_path):
    done = runner.invoke(app, ["losses", "--grid", "mv_oberrhein", "--profile", str(tmp_path / "none.csv")])
    assert done.exit_code == 2 and "profile" in done.output and "no file" in done.output
    done = runner.invoke(app, ["losses", "--grid", "mv_oberrhein", "--profile", str(profile), "--plot", "x.gif"])
    assert done.exit_code == 2 and "--plot" in done.output
