"""Telemetry anomaly scoring: each detector on a clean noisy sine with one injected anomaly, the clean series, a
correlation break across sensors, streaming against batch, the file tool and its input errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from gridsage.errors import InputError
from gridsage.tools.telemetry.anomaly import COLUMNS, StreamingScorer, score_frame, score_telemetry

T0 = pd.Timestamp("2024-01-01", tz="UTC")
AT = 3600  # injection time [s after T0]


def sine(n: int = 7200, seed: int = 0, device: str = "d1", sensor: str = "voltage", noise: float = 0.3) -> pd.DataFrame:
    """A 1 s stream: 100 + 5 sin(2 pi t / 6 h) plus white noise of sd ``noise``."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    x = 100 + 5 * np.sin(2 * np.pi * t / 21600) + rng.normal(0, noise, n)
    return pd.DataFrame({"device_id": device, "sensor_type": sensor, "value": x, "unit": "V",
                         "timestamp": T0 + pd.to_timedelta(t, "s"), "quality": "good"})


def inject(frame: pd.DataFrame, kind: str, at: int = AT) -> pd.DataFrame:
    """One anomaly of ``kind`` at reading ``at`` (1 s readings)."""
    f = frame.copy()
    x, rng = f["value"].to_numpy(), np.random.default_rng(1)
    if kind == "spike":
        x[at:at + 2] *= 1.06
    elif kind == "step":
        x[at:at + 300] *= 0.97
    elif kind == "drift":
        x[at:at + 400] *= 1 + 0.04 * np.arange(1, 401) / 400
        x[at + 400:] *= 1.04
    elif kind == "oscillation":
        x[at:at + 300] += 1.5 * np.sin(2 * np.pi * 0.2 * np.arange(300))
    elif kind == "flatline":
        x[at:at + 60] = x[at]
    f["value"] = x
    if kind == "dropout":
        keep = np.ones(len(f), bool)
        keep[at:at + 120] = rng.random(120) >= 0.6
        f = f[keep]
    if kind == "stale":
        stamps = f["timestamp"].to_numpy().copy()
        stamps[at:at + 5] = stamps[at]
        f["timestamp"] = pd.DatetimeIndex(stamps)
    return f.reset_index(drop=True)


#: type: how far the reported start may be from the injection [s]
TOLERANCE = {"spike": 1, "step": 3, "drift": 120, "oscillation": 64, "dropout": 2, "flatline": 1, "stale": 1}


def test_a_clean_noisy_sine_has_no_anomaly():
    assert score_frame(sine()) == []
    assert score_frame(pd.concat([sine(), sine(seed=1, sensor="current")])) == []


@pytest.mark.parametrize("kind", list(TOLERANCE))
def test_each_detector_finds_its_anomaly_at_the_right_time(kind):
    found = score_frame(inject(sine(), kind))
    assert {a.type for a in found} == {kind}, [(a.type, a.start, a.evidence) for a in found]
    a = found[0]
    assert abs((pd.Timestamp(a.start) - T0).total_seconds() - AT) <= TOLERANCE[kind]
    assert a.device_id == "d1" and a.sensors == ["voltage"] and 0.5 <= a.score <= 1 and 0 <= a.confidence <= 1
    assert a.start <= a.end and a.evidence["threshold"] > 0
    if kind == "oscillation":
        assert a.frequency_hz == pytest.approx(0.2, abs=0.005)
        assert a.evidence["amplitude"] == pytest.approx(1.5, rel=0.25)
    if kind == "step":
        assert a.evidence["shift_pct"] == pytest.approx(-3, abs=0.5)
    if kind == "dropout":
        assert a.evidence["missing_readings"] > 40 and a.confidence == 1


def test_a_stream_that_breaks_its_correlation_is_flagged_by_the_multivariate_score():
    rng = np.random.default_rng(3)
    n, common = 7200, rng.normal(0, 1, 7200)  # a shared fast component: the streams' residuals move together
    other = common.copy()
    other[AT:AT + 300] = rng.normal(0, 1, 300)  # the current stops following it; its own statistics do not change
    frame = pd.concat([sine(n, noise=0.2, sensor="voltage").assign(value=lambda f: f["value"] + common),
                       sine(n, seed=1, noise=0.2, sensor="current").assign(value=lambda f: f["value"] + other)])
    found = score_frame(frame)
    multi = [a for a in found if a.type == "multivariate"]
    assert multi and all(AT - 30 <= (pd.Timestamp(a.start) - T0).total_seconds() <= AT + 300 for a in multi)
    assert {a.type for a in found} == {"multivariate"}  # no single stream looks anomalous
    assert multi[0].evidence["mahalanobis_d2"] > multi[0].evidence["threshold"]
    assert score_frame(frame, multivariate=False) == []


def test_streaming_reports_what_batch_reports_for_the_same_data():
    streams = [inject(inject(sine(14400, seed=s, device=f"d{s}"), "spike", 2000), "step", 5000 + 300 * s) for s in range(3)]
    streams[1] = inject(streams[1], "dropout", 9000)
    streams[2] = inject(streams[2], "oscillation", 10000)
    frame = pd.concat(streams).sort_values("timestamp", kind="stable").reset_index(drop=True)
    batch = score_frame(frame, multivariate=False)
    assert {a.type for a in batch} >= {"spike", "step", "dropout", "oscillation"}
    scorer, streamed, rng, i = StreamingScorer(), [], np.random.default_rng(0), 0
    while i < len(frame):
        size = int(rng.integers(1, 1500))
        streamed += scorer.update(frame.iloc[i:i + size])
        i += size
    streamed += scorer.flush()
    key = lambda a: (a.type, a.device_id, a.start, a.end, a.detected_at, str(a.evidence))  # noqa: E731
    assert sorted(map(key, streamed)) == sorted(map(key, batch))


def test_the_file_tool_reads_csv_and_json_lines(tmp_path):
    frame = inject(sine(), "spike")
    frame.to_csv(tmp_path / "t.csv", index=False)
    frame.assign(timestamp=frame["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")).to_json(
        tmp_path / "t.jsonl", orient="records", lines=True)
    for name in ("t.csv", "t.jsonl"):
        report = score_telemetry(str(tmp_path / name))
        assert report.status == "ok" and report.evidence_id.startswith("ev-")
        assert report.counts == {"spike": 1} and report.readings == 7200 and report.streams == 1
        assert report.anomalies[0].type == "spike" and not report.truncated


def test_missing_columns_and_bad_options_are_input_errors(tmp_path):
    frame = sine()
    frame.drop(columns="value").to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(InputError) as err:
        score_telemetry(str(tmp_path / "t.csv"))
    assert err.value.field == "value"
    with pytest.raises(InputError) as err:
        score_frame(frame.drop(columns="timestamp"))
    assert err.value.field == "timestamp"
    with pytest.raises(InputError) as err:
        score_frame(frame.assign(timestamp="yesterday"))
    assert err.value.field == "timestamp"
    with pytest.raises(InputError) as err:
        score_frame(frame, spike_z=-1)
    assert err.value.field == "spike_z"
    with pytest.raises(InputError) as err:
        score_telemetry(str(tmp_path / "missing.csv"))
    assert err.value.field == "path"
    assert list(COLUMNS) == list(frame.columns)


def test_importing_the_modules_loads_no_heavy_library():
    code = ("import sys, gridsage.tools.telemetry.anomaly, gridsage.tools.telemetry.simulator; "
            "print(sorted(m for m in ('numpy', 'pandas', 'scipy', 'sklearn') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


def test_the_tool_scores_valid_rows_and_counts_the_rejected(tmp_path):
    frame = sine().astype({"value": object})
    frame.loc[10, "value"] = "n/a"
    frame.to_csv(tmp_path / "t.csv", index=False)
    report = score_telemetry(str(tmp_path / "t.csv"))
    assert report.rows_rejected == 1 and report.readings == len(frame) - 1 and report.evidence_id.startswith("ev-")
