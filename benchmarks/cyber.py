"""Cyber log triage throughput: parse the simulator's log files and score them, against issue 19's 50,000 lines/s.

One simulation (``--seed``, default 2026, 24 h, 6 outstations, 2 s polling: about 265,000 lines) is written in
the input formats GridSage ingests (:func:`gridsage.tools.cyber.simulate.write_simulation`: four protocol-record
CSVs, Windows CSV, RFC 5424 syslog, Zeek conn.log) to a temporary folder, then the whole path is timed
``--repeats`` times: :func:`~gridsage.tools.cyber.ingest.read_logs` of every file, then
:func:`~gridsage.tools.cyber.detect.detect_threats` over all records together (self baseline, the mode of
``gridsage cyber triage FILE``).  It prints each format's parse rate, the detection rate and the total lines/s
(medians of the repeats) and the ratio to issue 19's goal of 50,000 lines/s.  It also checks that the records read
from the files score the same as the simulator's own records (labels joined by file and line from labels.csv).

``--report`` adds the per-technique precision/recall table (line level) on unseen seeds (default 1000-1019, never
used for tuning; tuning used seeds 0-9), pooled, in both baseline modes: (a) a baseline learned from a normal-only
simulation of another seed (seed + 50000), (b) the self baseline.  Keep ``OMP_NUM_THREADS=1``.  Run from the
repository root::

    OMP_NUM_THREADS=1 python benchmarks/cyber.py                    # throughput, about 30 s
    OMP_NUM_THREADS=1 python benchmarks/cyber.py --report           # + P/R on 20 unseen seeds, about 3 min
    OMP_NUM_THREADS=1 python benchmarks/cyber.py --report --seeds 2000-2019 --rtus 12 --poll-s 1
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import warnings

#: issue 19's goal: log lines parsed and scored per second on the project's machine (2 cores)
GOAL_LINES_PER_S = 50_000


def seeds_arg(text: str) -> list[int]:
    """'1000-1019' or '1,5,9' -> list of seeds."""
    if "-" in text:
        a, b = text.split("-", 1)
        return list(range(int(a), int(b) + 1))
    return [int(x) for x in text.split(",") if x.strip()]


def read_files(paths: dict) -> tuple[dict, "object"]:
    """Read every log file; per-file (lines, seconds) and all records concatenated (labels.csv excluded)."""
    import pandas as pd

    from gridsage.tools.cyber.ingest import read_logs

    timings, frames = {}, []
    for key, path in paths.items():
        if key == "labels":
            continue
        began = time.perf_counter()
        batch = read_logs(str(path))
        timings[key] = (len(batch.records), time.perf_counter() - began)
        frames.append(batch.records)
    return timings, pd.concat(frames, ignore_index=True)


def score_simulations(seeds, mode: str, hours: float, rtus: int, poll_s: float):
    """Pooled line-level scores of ``seeds`` in baseline mode 'a' (known-good) or 'b' (self), and chain recall."""
    import numpy as np

    from gridsage.tools.cyber.detect import detect_threats, learn_baseline
    from gridsage.tools.cyber.evaluate import score_by_technique, score_chains
    from gridsage.tools.cyber.simulate import simulate_ot_logs

    kw = dict(hours=hours, rtus=rtus, poll_s=poll_s)
    predicted, truth, chains = [], [], []
    for seed in seeds:
        sim = simulate_ot_logs(seed, **kw)
        base = learn_baseline(simulate_ot_logs(seed + 50000, attacks=[], **kw).records) if mode == "a" else None
        report = detect_threats(sim.records, base)
        predicted.append(report.record_technique)
        truth.append(sim.records["technique_id"].to_numpy())
        chains.append(score_chains(report.record_technique, sim.records["technique_id"], sim.records["chain_id"]))
        sys.stderr.write(f"\rmode {mode}: seed {seed} done")
        sys.stderr.flush()
    sys.stderr.write("\n")
    import pandas as pd

    table = score_by_technique(np.concatenate(predicted), np.concatenate(truth))
    ch = pd.concat(chains, ignore_index=True)
    table["chains"] = ch.groupby("technique_id").size()
    table["chains_detected"] = ch.groupby("technique_id")["detected"].sum()
    return table


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    parser.add_argument("--seed", type=int, default=2026, help="seed of the timed simulation (default 2026)")
    parser.add_argument("--hours", type=float, default=24.0, help="span simulated [h] (default 24)")
    parser.add_argument("--rtus", type=int, default=6, help="outstations (default 6)")
    parser.add_argument("--poll-s", type=float, default=2.0, help="polling cycle of the master [s] (default 2)")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats; medians are printed (default 3)")
    parser.add_argument("--report", action="store_true",
                        help="also print per-technique precision/recall on unseen seeds, both baseline modes")
    parser.add_argument("--seeds", type=seeds_arg, default=list(range(1000, 1020)),
                        help="unseen seeds of --report, e.g. 1000-1019 (default) or 1,2,3")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    if os.environ.get("OMP_NUM_THREADS") != "1":
        print("note: set OMP_NUM_THREADS=1 (shared machine)", file=sys.stderr)

    import numpy as np
    import pandas as pd

    from gridsage.tools.cyber.detect import detect_threats
    from gridsage.tools.cyber.evaluate import score_by_technique
    from gridsage.tools.cyber.simulate import simulate_ot_logs, write_simulation

    t_all = time.perf_counter()
    print(f"Python {platform.python_version()} | pandas {pd.__version__} | numpy {np.__version__} | "
          f"{os.cpu_count()} CPUs | OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '-')}")
    sim = simulate_ot_logs(args.seed, hours=args.hours, rtus=args.rtus, poll_s=args.poll_s)
    folder = tempfile.mkdtemp(prefix="gridsage-cyber-bench-")
    roots = os.environ.get("GRIDSAGE_DATA_DIRS", "")
    os.environ["GRIDSAGE_DATA_DIRS"] = os.pathsep.join([p for p in (roots, folder) if p])
    paths = write_simulation(sim, folder)
    print(f"simulation seed {args.seed}: {len(sim.records):,} lines, {args.hours:g} h, {args.rtus} outstations, "
          f"poll {args.poll_s:g} s, written to {folder} (removed at the end)")

    parse = {k: [] for k in paths if k != "labels"}
    detect_s, total_s, lines = [], [], 0
    records = report = None
    for _ in range(args.repeats):
        began = time.perf_counter()
        timings, records = read_files(paths)
        mid = time.perf_counter()
        report = detect_threats(records)
        end = time.perf_counter()
        for k, (n, s) in timings.items():
            parse[k].append((n, s))
        detect_s.append(end - mid)
        total_s.append(end - began)
        lines = len(records)

    print()
    print(f"{'stage':<34} {'lines':>9} {'median [s]':>11} {'lines/s':>11}")
    for k, runs in parse.items():
        n = runs[0][0]
        med = statistics.median(s for _, s in runs)
        print(f"{'read_logs ' + paths[k].name:<34} {n:>9,} {med:>11.3f} {n / med:>11,.0f}")
    parse_total = statistics.median(sum(runs[j][1] for runs in parse.values()) for j in range(args.repeats))
    print(f"{'read_logs, all files':<34} {lines:>9,} {parse_total:>11.3f} {lines / parse_total:>11,.0f}")
    med_detect = statistics.median(detect_s)
    print(f"{'detect_threats (self baseline)':<34} {lines:>9,} {med_detect:>11.3f} {lines / med_detect:>11,.0f}")
    med_total = statistics.median(total_s)
    rate = lines / med_total
    print(f"{'total: read + detect':<34} {lines:>9,} {med_total:>11.3f} {rate:>11,.0f}")
    print(f"Medians of {args.repeats} repeats.  Goal (issue 19): >= {GOAL_LINES_PER_S:,} lines/s parsed and scored; "
          f"measured {rate:,.0f} lines/s = {rate / GOAL_LINES_PER_S:.2f}x the goal: "
          f"{'MET' if rate >= GOAL_LINES_PER_S else 'NOT MET'}.")

    # the files score as the simulator's own records: labels joined by file and line
    labels = pd.read_csv(paths["labels"], dtype={"file": str, "line": int}, keep_default_na=False)
    key = pd.MultiIndex.from_arrays([records["file"].astype(str), records["line"].astype(int)])
    truth = labels.set_index(["file", "line"])["technique_id"].reindex(key).to_numpy()
    from_files = score_by_technique(report.record_technique, truth)
    own = score_by_technique(detect_threats(sim.records).record_technique, sim.records["technique_id"])
    same = from_files[["precision", "recall", "support"]].round(6).equals(own[["precision", "recall", "support"]]
                                                                          .round(6))
    print(f"records read from the files vs the simulator's records: {len(records):,} vs {len(sim.records):,} lines; "
          f"per-technique scores identical: {'YES' if same else 'NO'}")
    if not same:
        print(from_files.to_string())
        print(own.to_string())
    print(f"detections in the timed batch: {len(report.detections)}")

    if args.report:
        pd.set_option("display.width", 200)
        fmt = {"precision": "{:.4f}".format, "recall": "{:.4f}".format, "f1": "{:.4f}".format}
        for mode, name in (("a", "baseline from a normal-only simulation (seed + 50000)"),
                           ("b", "self baseline (learned from the batch)")):
            began = time.perf_counter()
            table = score_simulations(args.seeds, mode, args.hours, args.rtus, args.poll_s)
            print()
            print(f"Mode ({mode}) {name}: seeds {args.seeds[0]}..{args.seeds[-1]} ({len(args.seeds)}), "
                  f"{args.hours:g} h, {args.rtus} outstations, poll {args.poll_s:g} s, line level, pooled "
                  f"({time.perf_counter() - began:.0f} s)")
            print(table.to_string(formatters=fmt))
            ok = bool(((table["precision"] >= 0.9) & (table["recall"] >= 0.9)).all())
            print(f"every technique precision and recall >= 0.9: {'YES' if ok else 'NO'}")
    shutil.rmtree(folder, ignore_errors=True)
    print(f"Total benchmark time: {time.perf_counter() - t_all:.1f} s")


if __name__ == "__main__":
    main()
