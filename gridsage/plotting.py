"""Every plot GridSage draws, behind one output-file check; matplotlib is imported only when a plot is drawn.

- :func:`plot_assessment`: a grid assessment's branch loadings before/after the events and the plan, and its N-1 risks;
- :func:`plot_anomalies`: one telemetry stream with each anomaly marked;
- :func:`plot_forecast`: a load forecast with its quantile bands and the capacity;
- :func:`plot_thermal`: a transformer's hot-spot and top-oil temperatures against their limits;
- :func:`plot_cascade`: a cascade's timeline (load lost and served against time, each trip marked), its
  restoration steps, and an ensemble's histogram of load lost;
- :func:`plot_detections`: a cyber triage's detections on a timeline;
- :func:`plot_attribution`: a causal attribution's contribution per cause with its interval (an assessment with
  ``causes`` draws this one).

Every value drawn comes from a tool result or the assessment's evidence ledger; nothing is computed here
but what the tools themselves compute for the same inputs.  Needs matplotlib (``pip install 'gridsage[plot]'``).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from gridsage.errors import InputError

if TYPE_CHECKING:  # annotations only: importing this module stays light
    from gridsage.reasoning.assessment import Assessment

SUFFIXES = (".png", ".svg", ".pdf")


def pyplot_for(path: str | Path, field: str = "plot"):
    """Check ``path`` and return ``(path, matplotlib.pyplot)`` with the non-interactive Agg backend.

    Raises
    ------
    InputError
        If the suffix is not .png, .svg or .pdf, or matplotlib is not installed.
    """
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise InputError(f"cannot draw to {path.name!r}", field=field, fix="name a .png, .svg or .pdf file.")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise InputError("plots need matplotlib", field=field, fix="pip install 'gridsage[plot]'") from None
    return path, plt


# ------------------------------------------------------------------ grid assessment


def _loadings(a: Assessment, evidence_id: str | None) -> dict[str, float]:
    """Branch label -> loading [%] from a power-flow evidence record (empty if absent)."""
    record = a.evidence.get(evidence_id) if evidence_id else None
    if record is None or record.tool != "run_power_flow":
        return {}
    return {row["name"].split(" (")[0]: row["loading_percent"] for row in record.result.get("branches", [])
            if row["loading_percent"] is not None}


def _power_flows(a: Assessment) -> list[str]:
    return [k for k, r in a.evidence.items() if r.tool == "run_power_flow"]


def loading_table(a: Assessment) -> dict[str, dict[str, float]]:
    """The numbers the plot draws, read from the evidence ledger.

    Returns
    -------
    dict
        Branch label (e.g. ``'line 29'``) -> ``{'before events', 'after events',
        'after plan'}`` -> loading [% of rating], for every branch overloaded
        after the events (a stage is missing when its evidence is).
    """
    flows = _power_flows(a)  # in order: base, post-event, [after plan]
    stages = {"before events": _loadings(a, flows[0] if flows else None),
              "after events": _loadings(a, flows[1] if len(flows) > 1 else None),
              "after plan": _loadings(a, flows[-1]) if a.action_plan and len(flows) > 2 else {}}
    names = [f.elements[0].name.split(" (")[0] for f in a.findings if f.unit == "%" and f.elements and "post-event" in f.title]
    return {n: {stage: values[n] for stage, values in stages.items() if n in values} for n in names}


def plot_assessment(a: Assessment, path: str | Path) -> Path:
    """Draw an assessment to an image file: a grid study's branch loadings and N-1 risks, or, for a telemetry
    study, the stream with the most anomalies, each marked (:func:`plot_anomalies`); for a cyber triage its
    detections, for a cascade its timeline, for an assessment with causes its attribution, and for a reliability
    report SAIDI by month and by cause.

    Parameters
    ----------
    a : Assessment
    path : pathlib.Path
        Output file; the suffix picks the format (``.png``, ``.svg``, ``.pdf``).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    InputError
        If matplotlib is missing or the suffix is not .png, .svg or .pdf.

    Notes
    -----
    Left: every branch overloaded after the events, its loading [% of rating]
    before the events, after them, and after the whole action plan, against
    the thermal limit (NERC TPL-001-5.1 Table 1).  Right: the worst single
    outages of the post-event grid, by highest branch loading [%].
    """
    if a.playbook == "cascade":
        return plot_cascade(*cascade_records(a), path=path)
    if a.causes:
        return plot_attribution(next(r for r in a.evidence.values() if r.tool == "attribute_anomaly").result, path)
    if a.kind == "reliability":
        from gridsage.plotting_reliability import plot_reliability
        from gridsage.tools.reliability import ReliabilityResult

        record = next(r for r in a.evidence.values() if r.tool == "reliability_indices")
        return plot_reliability(ReliabilityResult.model_validate(record.result), path)
    if a.kind == "cyber":
        return plot_detections(next(r for r in a.evidence.values() if r.tool == "triage_logs").result, path)
    if a.kind == "telemetry":
        from gridsage.tools.telemetry import AnomalyReport

        scored = next(r for r in a.evidence.values() if r.tool == "score_telemetry")
        return plot_anomalies(AnomalyReport.model_validate(scored.result), path)
    path, plt = pyplot_for(path)

    table = loading_table(a)
    names = list(table)
    limit = next((f.limit for f in a.findings if f.unit == "%" and f.limit), 100.0)

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, max(3.5, 0.45 * max(len(names), len(a.contingency_risks)) + 1.5)))
    rows = range(len(names))
    series = [("before events", "#9e9e9e"), ("after events", "#d62728"), ("after plan", "#2ca02c")]
    height = 0.8 / len(series)
    for k, (stage, colour) in enumerate(series):
        if any(stage in table[n] for n in names):
            left.barh([r + (k - 1) * height for r in rows], [table[n].get(stage, 0.0) for n in names], height,
                      label=stage, color=colour)
    left.axvline(limit, color="black", linestyle="--", linewidth=1, label=f"limit {limit:g} % (NERC TPL-001-5.1)")
    left.set_yticks(list(rows), names)
    left.invert_yaxis()
    left.set_xlabel("loading [% of rating]")
    left.set_title("Overloaded branches" if names else "No branch overloaded after the events")
    if names:
        left.legend(loc="lower right", fontsize=8)

    risks = a.contingency_risks
    right.barh(range(len(risks)), [r.max_loading_percent or 0.0 for r in risks], color="#ff7f0e")
    right.set_yticks(list(range(len(risks))), [f"loss of {r.outage.name.split(' (')[0]}" for r in risks])
    right.invert_yaxis()
    right.axvline(limit, color="black", linestyle="--", linewidth=1)
    right.set_xlabel("highest branch loading after the outage [%]")
    right.set_title("N-1 risks of the post-event grid")
    fig.suptitle(f"{a.title or a.scenario}  (evidence: {', '.join(_power_flows(a) + [r.evidence_ids[0] for r in risks[:1]])})", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# ------------------------------------------------------------------ telemetry

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
    anomalies : list of gridsage.tools.telemetry.anomaly.Anomaly
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
    report : gridsage.tools.telemetry.anomaly.AnomalyReport
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

    from gridsage.tools.telemetry.ingest import read_telemetry

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


# ------------------------------------------------------------------ load forecast


def plot_forecast(result, path: str | Path) -> Path:
    """Draw ``result`` to ``path`` (.png, .svg or .pdf) and return the path.

    Parameters
    ----------
    result : gridsage.tools.forecast.load_forecast.ForecastResult
    path : str or pathlib.Path

    Returns
    -------
    pathlib.Path

    Raises
    ------
    InputError
        If matplotlib is missing or the suffix is not .png, .svg or .pdf.
    """
    path, plt = pyplot_for(path)
    import pandas as pd

    tz = result.quality.time_zone
    hist_t = pd.DatetimeIndex([r.time_utc for r in result.recent]).tz_convert(tz)
    t = pd.DatetimeIndex([p.time_utc for p in result.points]).tz_convert(tz)
    labels = list(result.points[0].quantiles_mw)
    fig, ax = plt.subplots(figsize=(10, 4.5), layout="constrained")
    ax.plot(hist_t, [r.load_mw for r in result.recent], color="black", lw=1.2, label="observed load")
    for i in range(len(labels) // 2):  # outer pair first, lighter
        lo, hi = labels[i], labels[-1 - i]
        ax.fill_between(t, [p.quantiles_mw[lo] for p in result.points], [p.quantiles_mw[hi] for p in result.points],
                        color="tab:blue", alpha=0.15 + 0.15 * i, lw=0, label=f"{lo.upper()}-{hi.upper()}")
    ax.plot(t, [p.load_mw for p in result.points], color="tab:blue", lw=1.6, label=f"forecast ({result.method})")
    if result.capacity_mw:
        ax.axhline(result.capacity_mw, color="tab:red", ls="--", lw=1, label=f"capacity {result.capacity_mw:g} MW")
    peak = pd.Timestamp(result.peak.time_utc).tz_convert(tz)
    ax.annotate(f"peak {result.peak.load_mw:.0f} MW", (peak, result.peak.load_mw), textcoords="offset points",
                xytext=(0, 12), ha="center", fontsize=9)
    ax.axvline(hist_t[-1], color="grey", lw=0.8, ls=":")
    ax.set_ylabel("load [MW]")
    ax.set_xlabel(f"local time ({tz})")
    ax.set_title(f"Load forecast, {result.horizon_h:g} h ahead [{result.evidence_id}]; weather: {result.weather}",
                 fontsize=10)
    ax.legend(loc="upper left", fontsize=8, ncols=2)
    ax.grid(alpha=0.3)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


# ------------------------------------------------------------------ transformer thermal


def plot_thermal(result, load_pu: list[float], ambient_c: list[float] | float, projected_pu: list[float],
                 path: str | Path) -> Path:
    """Draw hot-spot and top-oil temperatures over time with the limit lines to ``path`` (.png, .svg or .pdf).

    Parameters
    ----------
    result : gridsage.tools.equipment.transformer_thermal.TransformerThermalResult
        The tool result: its resolved rating, limits and time to limit.
    load_pu, ambient_c, projected_pu
        The inputs the tool was called with [pu], [°C], [pu].
    path : str or pathlib.Path

    Returns
    -------
    pathlib.Path

    Raises
    ------
    InputError
        If matplotlib is missing or the suffix is not .png, .svg or .pdf.

    Notes
    -----
    The curves are :func:`~gridsage.tools.equipment.transformer_thermal.thermal_response`
    of the same inputs and the rating the result reports (defaults resolved),
    i.e. the temperatures the tool computed, at the end of each interval.
    """
    path, plt = pyplot_for(path, "--plot")
    from gridsage.tools.equipment.transformer_thermal import thermal_response

    series = list(load_pu) + list(projected_pu)
    ambient = ambient_c + [ambient_c[-1]] * len(projected_pu) if isinstance(ambient_c, list) else ambient_c
    dt_h = result.duration_h / result.intervals
    profile = thermal_response(series, ambient, dt_h * 60, result.rating)
    t = [(i + 1) * dt_h for i in range(len(series))]
    hot, oil = result.limits
    fig, ax = plt.subplots(figsize=(10, 4.8), layout="constrained")
    ax.plot(t, profile.theta_h_c, color="tab:red", lw=1.6, label="hot-spot θ_H")
    ax.plot(t, profile.theta_to_c, color="tab:orange", lw=1.6, label="top oil θ_TO")
    ax.plot(t, profile.theta_to_c - profile.top_oil_rise_k, color="tab:blue", lw=0.8, alpha=0.7, label="ambient θ_A")
    ax.axhline(hot.upper, color="tab:red", ls="--", lw=1, label=f"hot-spot limit {hot.upper:g} °C")
    ax.axhline(oil.upper, color="tab:orange", ls="--", lw=1, label=f"top-oil limit {oil.upper:g} °C")
    if projected_pu:
        ax.axvspan(result.duration_h, t[-1], color="grey", alpha=0.12, lw=0, label="projection")
    if result.time_to_limit_h is not None:
        ax.axvline(result.time_to_limit_h, color="black", ls=":", lw=1,
                   label=f"{result.limit_reached} at {result.time_to_limit_h:g} h")
    load_ax = ax.twinx()
    load_ax.step([0.0] + t, [series[0]] + series, where="pre", color="grey", lw=1, alpha=0.6, label="load K [pu]")
    load_ax.set_ylabel("load K [pu]", color="grey")
    load_ax.set_ylim(0, max(1.5, 1.1 * max(series)))
    ax.set_xlabel("time from the start of the profile [h]")
    ax.set_ylabel("temperature [°C]")
    kind = hot.name.removeprefix("hot_spot_").replace("_", "-")
    ax.set_title(f"Transformer thermal, IEEE C57.91 Clause 7, {result.rating.cooling}, {kind} loading limits "
                 f"[{result.evidence_id}]; F_EQA {result.feqa:.3g}, loss of life {result.loss_of_life_percent:.3g} %",
                 fontsize=10)
    handles = ax.get_legend_handles_labels()[0] + load_ax.get_legend_handles_labels()[0]
    fig.legend(handles=handles, loc="outside lower center", fontsize=8, ncols=4)
    ax.grid(alpha=0.3)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


# ------------------------------------------------------------------ cascade


def cascade_records(a: Assessment) -> tuple:
    """The first cascade, restoration and ensemble results of a cascade assessment's evidence ledger.

    Returns
    -------
    (dict, dict or None, list of float or None)
        The ``simulate_cascade`` result, the ``plan_restoration`` result, and the ensemble's load lost per cascade
        [% of the pre-event load] (from ``cascade_risk``'s outcomes).

    Raises
    ------
    InputError
        If the ledger holds no cascade simulation.
    """
    first = {}
    for record in a.evidence.values():
        first.setdefault(record.tool, record.result)
    if "simulate_cascade" not in first:
        raise InputError("the assessment holds no cascade simulation to draw", field="plot",
                         fix="draw a cascade scenario's assessment, or use `gridsage cascade --plot`.")
    risk = first.get("cascade_risk")
    losses = [o["load_lost_percent"] for o in risk.get("outcomes", [])] if risk else None
    return first["simulate_cascade"], first.get("plan_restoration"), losses


def _get(obj, name: str, default=None):
    """A field of a tool result given as a pydantic model or as its dict."""
    return obj.get(name, default) if isinstance(obj, dict) else getattr(obj, name, default)


def cascade_series(result) -> dict:
    """The numbers the timeline panel draws, from a ``simulate_cascade`` result (model or dict).

    Returns
    -------
    dict
        ``time_s`` [s], ``lost_mw`` and ``served_mw`` [MW] as step series (one point before the first event and one
        per event: served = pre-event load - cumulative load lost), and ``trips``: (time [s], element label,
        loading [%]) of each overload trip.
    """
    events = [e if isinstance(e, dict) else e.model_dump() for e in _get(result, "events", [])]
    pre = float(_get(result, "pre_event_load_mw"))
    t, lost = [0.0], [0.0]
    for e in events:
        t.append(float(e["time_s"]))
        lost.append(float(e["cumulative_load_lost_mw"]))
    trips = [(float(e["time_s"]), f"{e['element']['element']} {e['element']['index']}", e.get("loading_percent"))
             for e in events if e["cause"] == "overload_trip" and e.get("element")]
    return {"time_s": t, "lost_mw": lost, "served_mw": [pre - x for x in lost], "trips": trips}


def restoration_series(result) -> dict:
    """MW restored per step and the load served after it [% of the pre-event load], from a ``plan_restoration``
    result (model or dict): the steps' own ``load_restored_mw`` and ``cumulative_percent``."""
    steps = [s if isinstance(s, dict) else s.model_dump() for s in _get(result, "steps", []) or []]
    return {"restored_mw": [float(s["load_restored_mw"]) for s in steps],
            "cumulative_percent": [float(s["cumulative_percent"]) for s in steps],
            "action": [str(s["action"]) for s in steps]}


def plot_cascade(result, restoration=None, losses_percent: list[float] | None = None, *, path: str | Path) -> Path:
    """Draw a cascade to ``path`` (.png, .svg or .pdf): its timeline, its restoration and an ensemble's histogram.

    Parameters
    ----------
    result : CascadeResult or dict
        The ``simulate_cascade`` result.
    restoration : RestorationResult or dict, optional
        The ``plan_restoration`` result: a panel of MW restored per step and the cumulative share [%].
    losses_percent : list of float, optional
        Load lost of each cascade of an ensemble [% of the pre-event load]: a histogram panel.
    path : str or pathlib.Path

    Returns
    -------
    pathlib.Path

    Raises
    ------
    InputError
        If matplotlib is missing or the suffix is not .png, .svg or .pdf.

    Notes
    -----
    Timeline: load served :math:`P_0 - L(t)` and cumulative load lost :math:`L(t)` [MW] as steps against time
    after the initiating outages [s]; each overload trip is a dotted line labelled with the branch and its loading
    [% of rating] when its IEEE C37.112 relay operated.  Every value is the tool result's own.
    """
    path, plt = pyplot_for(path, "--plot")
    series = cascade_series(result)
    panels = 1 + (restoration is not None and bool(_get(restoration, "steps"))) + bool(losses_percent)
    fig, axes = plt.subplots(1, panels, figsize=(6.5 * panels, 4.8), layout="constrained", squeeze=False)
    ax = axes[0][0]
    t = series["time_s"]
    end = max(t[-1] * 1.15, t[-1] + 2.0)
    ax.step(t + [end], series["served_mw"] + series["served_mw"][-1:], where="post", color="tab:blue", lw=1.6,
            label="load served [MW]")
    ax.step(t + [end], series["lost_mw"] + series["lost_mw"][-1:], where="post", color="tab:red", lw=1.6,
            label="load lost, cumulative [MW]")
    for k, (when, label, loading) in enumerate(series["trips"]):
        ax.axvline(when, color="grey", ls=":", lw=1)
        text = label + ("" if loading is None else f" {loading:.0f} %")
        ax.annotate(text, (when, 1 - 0.07 * (k % 10)), xycoords=("data", "axes fraction"), xytext=(3, -3),
                    textcoords="offset points", va="top", fontsize=8, color="dimgrey")
    ax.set_xlim(0, end)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("time after the initiating outages [s]")
    ax.set_ylabel("[MW]")
    lost, pct = _get(result, "load_lost_mw"), _get(result, "load_lost_percent")
    ax.set_title(f"Cascade ({_get(result, 'status')}): {len(series['trips'])} trip(s), {lost:.1f} MW ({pct:.1f} %) lost "
                 f"[{_get(result, 'evidence_id')}]", fontsize=10)
    ax.legend(loc="center right", fontsize=8)
    ax.grid(alpha=0.3)
    col = 1
    if panels > 1 and restoration is not None and _get(restoration, "steps"):
        rs = restoration_series(restoration)
        bx = axes[0][col]
        steps = list(range(1, len(rs["restored_mw"]) + 1))
        bx.bar(steps, rs["restored_mw"], color="tab:green", label="restored in the step [MW]")
        bx.set_xlabel("restoration step")
        bx.set_ylabel("load restored [MW]")
        share = bx.twinx()
        share.plot(steps, rs["cumulative_percent"], color="black", marker="o", lw=1.2, label="load served after it [%]")
        share.set_ylim(0, 105)
        share.set_ylabel("load served [% of the pre-event load]")
        bx.set_xticks(steps if len(steps) <= 20 else steps[::max(1, len(steps) // 20)])
        bx.set_title(f"Restoration, {len(steps)} step(s) [{_get(restoration, 'evidence_id')}]", fontsize=10)
        handles = bx.get_legend_handles_labels()[0] + share.get_legend_handles_labels()[0]
        bx.legend(handles=handles, loc="lower right", fontsize=8)
        bx.grid(alpha=0.3)
        col += 1
    if losses_percent:
        hx = axes[0][col]
        hx.hist(losses_percent, bins=20, range=(0, max(1.0, max(losses_percent))), color="tab:orange")
        hx.set_xlabel("load lost [% of the pre-event load]")
        hx.set_ylabel("cascades")
        hx.set_title(f"Ensemble of {len(losses_percent)} cascades", fontsize=10)
        hx.grid(alpha=0.3)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# ------------------------------------------------------------------ cyber triage

#: colour per detection severity
SEVERITY_COLOURS = {"critical": "#7f0000", "high": "#d62728", "medium": "#ff7f0e", "low": "#1f77b4", "info": "#9e9e9e"}


def plot_detections(result, path: str | Path) -> Path:
    """Draw a cyber triage's detections on a timeline to ``path`` (.png, .svg or .pdf): one row per ATT&CK for ICS
    technique, one bar per detection from its first to its last record, coloured by severity.

    Parameters
    ----------
    result : gridsage.tools.cyber.triage.CyberTriageResult or dict
        The ``triage_logs`` result (a model, or its dict from the evidence ledger).
    path : str or pathlib.Path

    Returns
    -------
    pathlib.Path

    Raises
    ------
    InputError
        If matplotlib is missing or the suffix is not .png, .svg or .pdf.

    Notes
    -----
    A detection shorter than 1/300 of the plotted span is widened to that, so a burst of a few seconds stays
    visible; each bar is labelled with its records and source (identifiers only, as the tool shows them).
    """
    import pandas as pd

    path, plt = pyplot_for(path, "--plot")
    from matplotlib.patches import Patch

    detections = [d if isinstance(d, dict) else d.model_dump() for d in (_get(result, "detections") or [])]
    rows = sorted({f"{d['technique_id']} {d['technique']}" for d in detections})
    fig, ax = plt.subplots(figsize=(12, max(2.5, 0.55 * len(rows) + 1.6)))
    if detections:
        first = [pd.Timestamp(d["first_utc"]).tz_convert("UTC").tz_localize(None) for d in detections]
        last = [pd.Timestamp(d["last_utc"]).tz_convert("UTC").tz_localize(None) for d in detections]
        span = max(last) - min(first)
        least = max(span / 300, pd.Timedelta(seconds=1))
        for d, a, b in zip(detections, first, last):
            y = rows.index(f"{d['technique_id']} {d['technique']}")
            width = max(b - a, least)
            ax.barh(y, width, left=a - (width - (b - a)) / 2, height=0.6,
                    color=SEVERITY_COLOURS.get(d["severity"], "#9e9e9e"), edgecolor="black", linewidth=0.4)
            ax.annotate(f"{d['records']:,} from {d.get('source') or '?'}", (a + width, y), xytext=(3, 0),
                        textcoords="offset points", va="center", fontsize=7)
        ax.set_yticks(range(len(rows)), rows, fontsize=8)
        ax.set_ylim(-0.7, len(rows) - 0.3)
        ax.invert_yaxis()
        present = [s for s in SEVERITY_COLOURS if any(d["severity"] == s for d in detections)]
        ax.legend(handles=[Patch(color=SEVERITY_COLOURS[s], label=s) for s in present], loc="lower right", fontsize=8)
    else:
        ax.text(0.5, 0.5, "no detections", ha="center", va="center", transform=ax.transAxes)
        ax.set_yticks([])
    ax.set_xlabel("time [UTC]")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(f"Cyber triage: {_get(result, 'verdict')}, {len(detections)} detection(s) listed "
                 f"[{_get(result, 'evidence_id')}]", fontsize=10)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_attribution(result, path: str | Path) -> Path:
    """Draw a causal attribution (``attribute_anomaly`` or ``explain_change``) as a bar per cause to ``path``
    (.png, .svg or .pdf): each cause's contribution [target's unit] with its bootstrap interval, largest first.

    Parameters
    ----------
    result : gridsage.tools.causal.AnomalyAttributionResult or DistributionChangeResult, or its dict
        From the evidence ledger or the tool.
    path : str or pathlib.Path

    Returns
    -------
    pathlib.Path

    Raises
    ------
    InputError
        If matplotlib is missing or the suffix is not .png, .svg or .pdf.
    """
    path, plt = pyplot_for(path, "--plot")
    rows = [c if isinstance(c, dict) else c.model_dump() for c in (_get(result, "contributions") or [])]
    unit = _get(result, "unit") or ""
    fig, ax = plt.subplots(figsize=(9, max(2.5, 0.45 * len(rows) + 1.6)))
    if rows:
        values = [r["contribution"] for r in rows]
        # the point estimate comes from the fit on every row, the interval from refits on subsets: it may lie outside
        low = [max(0.0, r["contribution"] - r["ci_low"]) if r.get("ci_low") is not None else 0.0 for r in rows]
        high = [max(0.0, r["ci_high"] - r["contribution"]) if r.get("ci_high") is not None else 0.0 for r in rows]
        colours = ["#c62828" if v > 0 else "#1565c0" for v in values]
        ax.barh(range(len(rows)), values, xerr=[low, high], color=colours, edgecolor="black", linewidth=0.4,
                capsize=3)
        ax.set_yticks(range(len(rows)), [f"{r['node']} ({r['share_percent']:.0f} %)" for r in rows], fontsize=8)
        ax.invert_yaxis()
        ax.axvline(0, color="black", linewidth=0.6)
    else:
        ax.text(0.5, 0.5, "nothing attributed", ha="center", va="center", transform=ax.transAxes)
        ax.set_yticks([])
    ax.set_xlabel(f"contribution [{unit}]")
    ax.grid(axis="x", alpha=0.3)
    what = _get(result, "anomaly_time")
    title = (f"Why {_get(result, 'target')} read {_get(result, 'value'):.1f} {unit} at {what}" if what else
             f"Why the mean of {_get(result, 'target')} changed by {_get(result, 'change'):+.2f} {unit}")
    cycle = _get(result, "daily_cycle")
    cycle = f"\nthe normal daily cycle's {cycle:+.1f} {unit} is not a cause and is not drawn" if cycle is not None else ""
    ax.set_title(f"{title} [{_get(result, 'evidence_id')}]{cycle}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
