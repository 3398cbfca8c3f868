"""Open-Meteo temperature: real FlatBuffers answers from a local server, disk cache, failures."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from datetime import timedelta

import diskcache
import numpy as np
import pandas as pd
import pytest
from gridsage.tools.forecast._weather import (
    CACHE_DIR_ENV,
    WEATHER_URL_ENV,
    WeatherUnavailable,
    fetch_temperature,
)
from openmeteo_stub import BERLIN, expected

from gridsage.errors import InputError


def test_forecast_range_values_and_utc_index(open_meteo):
    now = pd.Timestamp.now(tz="UTC")
    start = (now.floor("h") + pd.Timedelta(days=1)).tz_convert("Etc/GMT-2")  # given at UTC+2, returned in UTC
    end = start + pd.Timedelta(hours=36)
    series = fetch_temperature(*BERLIN, start, end.to_pydatetime())

    assert series.name == "temperature_c" and series.dtype == float
    assert str(series.index.tz) == "UTC"
    assert series.index[0] == start and series.index[-1] == end and len(series) == 37
    assert (np.diff(series.index.asi8) == 3600 * 10**9).all()
    assert series.tolist() == [expected(t, "/v1/forecast") for t in series.index]

    [(path, params)] = open_meteo.requests
    assert path == "/v1/forecast"
    assert float(params["latitude"]) == BERLIN[0] and float(params["longitude"]) == BERLIN[1]
    assert params["hourly"] == "temperature_2m" and params["format"] == "flatbuffers" and params["timezone"] == "GMT"
    assert params["start_date"] == start.tz_convert("UTC").date().isoformat()
    assert params["end_date"] == end.tz_convert("UTC").date().isoformat()


def test_history_and_recent_days_are_joined_without_gaps(open_meteo):
    now = pd.Timestamp.now(tz="UTC")
    cutoff = (now - pd.Timedelta(days=5)).date()  # days before this come from the archive
    start = (now - pd.Timedelta(days=10)).floor("D") + pd.Timedelta(hours=6)
    end = now.floor("h") + pd.Timedelta(days=1)
    series = fetch_temperature(*BERLIN, start, end)

    requests = dict(open_meteo.requests)
    assert sorted(requests) == ["/v1/archive", "/v1/forecast"]
    assert requests["/v1/archive"]["start_date"] == start.date().isoformat()
    assert requests["/v1/archive"]["end_date"] == (cutoff - timedelta(days=1)).isoformat()
    assert requests["/v1/forecast"]["start_date"] == cutoff.isoformat()
    assert requests["/v1/forecast"]["end_date"] == end.date().isoformat()

    assert series.index.is_unique and series.index.is_monotonic_increasing
    assert series.index[0] == start and series.index[-1] == end
    assert len(series) == (end - start) / pd.Timedelta(hours=1) + 1  # hourly, no gap
    assert series.tolist() == [expected(t, "/v1/archive" if t.date() < cutoff else "/v1/forecast") for t in series.index]


def test_second_call_is_served_from_the_disk_cache(open_meteo, cache_dir, tmp_path, monkeypatch):
    now = pd.Timestamp.now(tz="UTC")
    start, end = (now - pd.Timedelta(days=8)).floor("D"), now.floor("h")
    first = fetch_temperature(*BERLIN, start, end)
    assert len(open_meteo.requests) == 2

    again = fetch_temperature(*BERLIN, start, end)
    assert len(open_meteo.requests) == 2
    pd.testing.assert_series_equal(first, again)

    with diskcache.Cache(str(cache_dir)) as cache:  # history is kept for good, a forecast for an hour
        expiry = {key[0].rsplit("/", 1)[1]: cache.get(key, expire_time=True)[1] for key in cache.iterkeys()}
    assert expiry["archive"] is None
    assert 3500 < expiry["forecast"] - time.time() <= 3600

    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "other-cache"))
    fetch_temperature(*BERLIN, start, end)
    assert len(open_meteo.requests) == 4


def test_refused_port_fails_fast(monkeypatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1/forecast"
    monkeypatch.setenv(WEATHER_URL_ENV, url)
    now = pd.Timestamp.now(tz="UTC")

    began = time.monotonic()
    with pytest.raises(WeatherUnavailable) as caught:
        fetch_temperature(*BERLIN, now, now + pd.Timedelta(hours=6), timeout_s=4)
    assert time.monotonic() - began < 5
    assert caught.value.field == "weather" and url in caught.value.message
    assert caught.value.fix and WEATHER_URL_ENV in caught.value.fix


def test_api_error_reason_is_reported(open_meteo):
    open_meteo.error = "Latitude must be in range of -90 to 90°. Given: 91.0."
    now = pd.Timestamp.now(tz="UTC")
    with pytest.raises(WeatherUnavailable) as caught:
        fetch_temperature(*BERLIN, now, now + pd.Timedelta(hours=6))
    assert open_meteo.error in caught.value.message
    assert "/v1/forecast" in caught.value.message


def test_invalid_input_is_rejected_before_any_request(open_meteo):
    now = pd.Timestamp.now(tz="UTC")
    with pytest.raises(InputError) as caught:
        fetch_temperature(91.0, 13.4, now, now + pd.Timedelta(hours=1))
    assert caught.value.field == "latitude"
    with pytest.raises(InputError) as caught:
        fetch_temperature(52.5, 13.4, now, now + pd.Timedelta(days=20))
    assert caught.value.field == "end" and "end" in caught.value.message
    with pytest.raises(InputError) as caught:
        fetch_temperature(52.5, 13.4, now, now - pd.Timedelta(hours=1))
    assert caught.value.field == "start"
    assert open_meteo.requests == []


def test_import_loads_nothing_heavy():
    code = ("import sys, gridsage.tools.forecast._weather; "
            "print(sorted(m for m in ('pandas', 'numpy', 'niquests', 'openmeteo_requests', 'diskcache', 'platformdirs') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
