"""A picture of telemetry anomalies: one stream's readings over time, each anomaly on it shaded and labelled by type.

The readings are those :func:`gridsage.tools.telemetry.read_telemetry` accepts from the
report's file (canonical units); the anomalies are the report's.  Nothing is scored here.
Needs matplotlib (``pip install 'gridsage[plot]'``), imported only when a plot is drawn.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from gridsage.errors import InputError
from gridsage.plotting import pyplot_for

#: shading colour of each anomaly type
COLOURS = {"spike": "tab:red", "step": "tab:orange", "drift": "tab:purple", "oscillation": "tab:green",
           "dropout": "tab:grey", "flatline": "tab:brown", "stale": "tab:olive", "multivariate": "tab:cyan"}
#: above this many readings the line is drawn as per-bucket min and max (spikes stay visible)
MAX_POINTS = 50_000


def pick_stream(anomalies, streams: list[tuple[str, str]], device: str | None = None,
                sensor: str | None = None) -> tuple[str, str]:
    """The (device_id, sensor_type) to draw: the one given, else the one with the most anomalies.

    Parameters
    ----------
    anomalies : list of gridsage.tools.anomaly.Anomaly
    streams : list of (str, str)
        The streams present in the data.
    device, sensor : str, optional
        Restrict the choice to this device and/or sensor type.

    Returns
    -------
    (str, str)

    Raises
    ------
    InputError
        If no stream of the data matches ``device`` / ``sensor``.
    """
    present = [s for s in streams if (device is None or s[0] == device) and (sensor is None or s[1] == sensor)]
    if not present:
        listed = ", ".join(f"{d}/{s}" for d, s in streams[:20]) + (", ..." if len(streams) > 20 else "")
        asked = "/".join(x for x in (device, sensor) if x)
        raise InputError(f"no stream {asked!r} in the file (streams: {listed})",
                         field="--device" if device and all(d != device for d, _ in streams) else "--sensor",
                         fix="give --device and --sensor of one of the streams listed, or leave them out to draw the "
                             "stream with the most anomalies.")
    counts = Counter((a.device_id, s) for a in anomalies for s in a.sensors)
    ranked = [(k, n) for k, n in counts.most_common() if k in present]
    return ranked[0][0] if ranked else present[0]


def plot_anomalies(report, path: str | Path, device: str | None = None, sensor: str | None = None) -> Path:
    """Draw one stream of ``report.path`` with its anomalies shaded to ``path`` (.png, .svg or .pdf).

    Parameters
    ----------
    report : gridsage.tools.anomaly.AnomalyReport
        The tool result: the file scored and the anomalies listed.
    path : str or pathlib.Path
    device, sensor : str, optional
        The stream to draw (device_id, sensor_type); default: the stream with the most listed anomalies.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    InputError
        If matplotlib is missing, the suffix is not .png, .svg or .pdf, or the stream is not in the file.

    Notes
    -----
    An anomaly shorter than 1/400 of the plotted span is widened to that, centred on it, so that a
    one-reading spike stays visible; its label gives the type (and the frequency of an oscillation).
    """
    path, plt = pyplot_for(path, "--plot")
    from matplotlib.patches import Patch

    import numpy as np
    import pandas as pd

    from gridsage.tools.telemetry import read_telemetry

    frame = read_telemetry(report.path).accepted
    streams = sorted({(str(d), str(s)) for d, s in zip(frame["device_id"], frame["sensor_type"])})
    dev, sen = pick_stream(report.anomalies, streams, device, sensor)
    part = frame[(frame["device_id"] == dev) & (frame["sensor_type"] == sen)].sort_values("timestamp", kind="stable")
    unit = str(part["unit"].iloc[0])
    t = pd.DatetimeIndex(part["timestamp"]).tz_convert("UTC").tz_localize(None).to_numpy()
    x = part["value"].to_numpy(dtype=float)
    fig, ax = plt.subplots(figsize=(11, 4.8), layout="constrained")
    if len(x) > MAX_POINTS:  # min and max of each bucket, in turn: the envelope, spikes included
        edges = np.linspace(0, len(x), MAX_POINTS // 2 + 1).astype(int)
        lo, hi = np.minimum.reduceat(x, edges[:-1]), np.maximum.reduceat(x, edges[:-1])
        t, x = np.repeat(t[edges[:-1]], 2), np.column_stack([lo, hi]).ravel()
        label = f"{sen} (min/max per {len(part) // (MAX_POINTS // 2)} readings)"
    else:
        label = sen
    ax.plot(t, x, color="black", lw=0.7, label=label)
    mine = [a for a in report.anomalies if a.device_id == dev and sen in a.sensors]
    t0, t1 = pd.Timestamp(t[0]), pd.Timestamp(t[-1])
    least = (t1 - t0) / 400
    char = (t1 - t0) / 170  # width of one label character at fontsize 8 on this figure, roughly
    rows: list = []  # end of the last label on each label row
    for a in mine:
        start = pd.Timestamp(a.start).tz_convert("UTC").tz_localize(None)
        end = pd.Timestamp(a.end).tz_convert("UTC").tz_localize(None)
        if end - start < least:
            middle = start + (end - start) / 2
            start, end = middle - least / 2, middle + least / 2
        colour = COLOURS.get(a.type, "tab:blue")
        ax.axvspan(start, end, color=colour, alpha=0.25, lw=0)
        text = a.type + (f" {a.frequency_hz:.3g} Hz" if a.frequency_hz else "")
        row = next((r for r, last in enumerate(rows) if last < start), len(rows))  # the top row with room
        rows[row:row + 1] = [start + char * (len(text) + 1)]
        ax.annotate(text, (start, 1 - 0.06 * (row % 12)), xycoords=("data", "axes fraction"), xytext=(2, -2),
                    textcoords="offset points", va="top", fontsize=8, color=colour, rotation=0)
    kinds = list(dict.fromkeys(a.type for a in mine))
    handles = ax.get_legend_handles_labels()[0] + [Patch(color=COLOURS.get(k, "tab:blue"), alpha=0.35, label=k)
                                                   for k in kinds]
    ax.legend(handles=handles, loc="lower left", fontsize=8, ncols=min(5, len(handles)))
    ax.set_xlabel("time [UTC]")
    ax.set_ylabel(f"{sen} [{unit}]")
    shown = f"{len(mine)} anomal{'y' if len(mine) == 1 else 'ies'}" + (" (of the listed)" if report.truncated else "")
    ax.set_title(f"{dev} {sen}: {shown}, {len(part):,} readings [{report.evidence_id}]", fontsize=10)
    ax.grid(alpha=0.3)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
