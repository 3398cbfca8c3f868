"""Why a reading deviates: the causal tools' attribution and effect estimate, turned into findings and advice.

Playbooks call :func:`explain_reading` with a history file (a ``time`` column and one column per node of the
transformer's causal graph, :func:`gridsage.tools.causal.feeder_causal_graph`).  It

1. attributes the deviation of the reading at the anomaly to its upstream causes (``attribute_anomaly``: DoWhy GCM
   anomaly attribution with bootstrap intervals);
2. classifies the largest cause by the role of its node, the way an engineer reads it:

   - ``sensor``: the reading's own term (the sensor or its channel; an unmodelled cause looks the same);
   - ``cooling``: the top-oil reading's own term (top oil rose with no matching ambient or load: fans, pumps,
     radiators or oil level);
   - ``load``: a feeder load, a switching transfer, the transformer's flow or a generation change;
   - ``ambient``: the weather;

3. estimates what the lever is worth (``estimate_effect`` with refuters): for load, the hot-spot change per MW
   moved off the largest load cause; for ambient, per +5 K of ambient;
4. writes the findings, the shares (:class:`~gridsage.reasoning.assessment.CauseShare`), the advice that changes
   the plan (a sensor fault is checked, never switched for), the assumptions, and whether a refuter failed.

These rules are GridSage's operating judgement on top of the estimates, stated as assumptions in every assessment.

References
----------
.. [1] Janzing, D., Budhathoki, K., Minorics, L., Bloebaum, P. (2019). Causal structure based root cause analysis of
   outliers. arXiv:1912.02724 (the attribution ``attribute_anomaly`` runs).
.. [2] Sharma, A., Kiciman, E. (2020). DoWhy: An end-to-end library for causal inference. arXiv:2011.04216
   (identification, estimation and refutation in ``estimate_effect``).
.. [3] IEEE Std C57.91-2011, Clause 7: top oil rises with ambient and with load; the hot spot with top oil and load.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, NamedTuple

from gridsage.reasoning.assessment import CauseShare, Finding

CauseKind = Literal["sensor", "cooling", "load", "ambient", "none"]
#: node roles read as a load-driven cause
LOAD_ROLES = ("load", "switching", "flow", "generation")
#: ambient step of the effect estimate when the weather drives the reading [K]
AMBIENT_STEP_K = 5.0
#: load moved off per effect estimate [MW]
LOAD_STEP_MW = -1.0
#: causes listed in the finding's title
TITLE_CAUSES = 3


class RootCause(NamedTuple):
    """What :func:`explain_reading` found."""

    kind: CauseKind
    node: str
    attribution: object          # gridsage.tools.causal.AnomalyAttributionResult
    effect: object | None        # gridsage.tools.causal.CausalEffectResult
    causes: list[CauseShare]
    findings: list[Finding]
    advice: str
    assumptions: list[str]
    refuted: list[str]           # refuters that failed, e.g. ['placebo_treatment_refuter']


def _kind(node: str, role: str | None, target: str) -> CauseKind:
    if node == target or role == "reading":
        return "sensor"
    if role == "thermal":
        return "cooling"
    return "load" if role in LOAD_ROLES else "ambient"


def _label(c) -> str:
    return f"{c.node} {c.share_percent:.0f} %"


def _shares(att) -> list[CauseShare]:
    """The attribution's contributions as the assessment's causes (shares of the excess beyond the daily cycle)."""
    return [CauseShare(node=c.node, role=c.role, description=c.description, contribution=c.contribution, unit=att.unit,
                       share_percent=c.share_percent, ci_low=c.ci_low, ci_high=c.ci_high, evidence_ids=[att.evidence_id])
            for c in att.contributions]


def explain_reading(history: Path, grid_id: str, trafo: int, target: str, anomaly_time: str | None = None,
                    name: str | None = None) -> RootCause:
    """The root cause of a transformer reading's deviation, with its estimated lever, as findings and advice.

    Parameters
    ----------
    history : pathlib.Path
        History CSV under a data root or the output folder (``time`` and one column per causal-graph node).
    grid_id : str
        Workspace grid the causal graph is built from (its topology around ``trafo``).
    trafo : int
        pandapower trafo index.
    target : str
        The reading explained, e.g. ``'trafo_0_theta_h_c'`` (hot spot) [°C].
    anomaly_time : str, optional
        ISO 8601 time of the reading; default the latest (the reading that raised the alarm).
    name : str, optional
        The transformer's label for the text, e.g. ``'trafo 0 "Trafo 0-1"'``.

    Returns
    -------
    RootCause
        Kind ``'none'``, with one info finding and no advice, when the reading is not anomalous or the history does
        not vary (the attribution's status says which).

    Raises
    ------
    InputError
        From the tools: a file outside the data roots, missing columns, a malformed history.
    """
    from gridsage.tools.causal import attribute_anomaly, estimate_effect

    label = name or f"trafo {trafo}"
    att = attribute_anomaly(data_csv=str(history), target=target, anomaly_time=anomaly_time or "latest",
                            grid_id=grid_id, trafo=trafo)
    if att.status != "ok" or att.root_cause is None:
        usual = Finding(severity="info", evidence_ids=[att.evidence_id], value=att.value, unit=att.unit,
                        title=f"No root cause to name: {target} = {att.value:.1f} {att.unit} at {att.anomaly_time} "
                              f"({label}) is within its usual range ({att.status.replace('_', ' ')})")
        return RootCause("none", target, att, None, [], [usual], "", [], [])
    unit, causes = att.unit, _shares(att)
    top = causes[0]
    kind = _kind(top.node, top.role, target)
    shares = "; ".join(_label(c) for c in causes[:TITLE_CAUSES])
    normal = f", {att.daily_cycle:+.1f} {unit} of it the normal daily cycle" if att.daily_cycle is not None else ""
    what = {"sensor": "the reading itself (its sensor or channel)", "cooling": "the top-oil temperature's own rise (cooling)",
            "load": top.description or "load", "ambient": top.description or "ambient temperature"}[kind]
    findings = [Finding(
        severity="medium" if kind in ("sensor", "cooling") else "high" if att.value > att.expected else "info",
        title=f"Root cause: {top.node} ({what}), {top.share_percent:.0f} % of the excess beyond the daily cycle of "
              f"{target} = {att.value:.1f} {unit} at {att.anomaly_time} ({label}; {att.excess:+.1f} {unit} from its "
              f"mean {att.expected:.1f} {unit}{normal}); shares {shares}",
        elements=[], value=att.value, unit=unit, evidence_ids=[att.evidence_id],
        context=f"{att.method}; {att.rows_used} intervals of history")]

    effect, refuted = None, []
    treatment = top.node if kind == "load" else "ambient_c" if kind == "ambient" else None
    if treatment is not None:
        delta = LOAD_STEP_MW if kind == "load" else AMBIENT_STEP_K
        effect = estimate_effect(data_csv=str(history), treatment=treatment, outcome=target, treatment_delta=delta,
                                 grid_id=grid_id, trafo=trafo)
        refuted = [r.refuter for r in effect.refutations if not r.passed]
        if effect.status in ("ok", "refuted"):
            checks = f"{sum(r.passed for r in effect.refutations)} of {len(effect.refutations)} refuters passed"
            findings.append(Finding(
                severity="info", value=effect.estimate, unit=unit, evidence_ids=[effect.evidence_id],
                title=f"Estimated effect on {target}: {effect.estimate:+.2f} {unit} for {delta:+g} "
                      f"{'MW' if kind == 'load' else 'K'} of {treatment} ({checks}"
                      + (f"; failed: {', '.join(refuted)}" if refuted else "") + ")",
                context=f"{effect.method}; {effect.estimand}"))
    if kind == "sensor":
        advice = (f"Check {label}'s hot-spot sensor (probe, transducer and RTU channel) against its top-oil reading and "
                  f"the IEEE C57.91 calculation before any switching: {top.share_percent:.0f} % of the excess beyond "
                  f"the daily cycle is the reading's own [{att.evidence_id}], which no load transfer or shedding would "
                  "correct.")
    elif kind == "cooling":
        advice = (f"Inspect {label}'s cooling (fans, pumps, radiators, oil level): its top oil rose beyond what ambient "
                  f"and load explain ({top.share_percent:.0f} % [{att.evidence_id}]); hold its loading down until cooling "
                  "is restored.")
    elif kind == "load":
        lever = (f"; each MW moved off changes the hot spot by {effect.estimate:+.2f} {unit} [{effect.evidence_id}]"
                 if effect is not None and effect.status in ("ok", "refuted") else "")
        advice = (f"Load-driven: {top.description or top.node} carries {top.share_percent:.0f} % of the excess "
                  f"[{att.evidence_id}]{lever}; relieve {label} by moving load off it.")
    else:
        lever = (f"; +{AMBIENT_STEP_K:g} K of ambient changes it by {effect.estimate:+.2f} {unit} [{effect.evidence_id}]"
                 if effect is not None and effect.status in ("ok", "refuted") else "")
        advice = (f"Ambient-driven: the weather carries {top.share_percent:.0f} % of the excess [{att.evidence_id}]"
                  f"{lever}; it passes with the heat, so run the forced cooling ahead of the afternoon peak and keep "
                  f"{label}'s loading within its emergency rating rather than moving load for good.")
    assumptions = [f"Causal graph from physics and topology: {'; '.join(att.assumptions)}" if att.assumptions else
                   "Causal graph from physics and topology.",
                   "Root-cause rules (GridSage's judgement): the largest share names the cause; the reading's own share "
                   "is its sensor, the top oil's own share its cooling, a load, switching or flow node the load, a "
                   "weather node the ambient."]
    return RootCause(kind, top.node, att, effect, causes, findings, advice, assumptions, refuted)


# ----------------------------------------------------------------------------------------------------- telemetry
#: the physics linking one device's measured quantities: cause sensor type -> the types it drives.  Ambient
#: temperature drives demand and oil temperature; power drives current; current drops the voltage (I·Z) and heats
#: the oil and windings (I²R); top oil sets the hot spot (IEEE C57.91-2011 Clause 7).
TELEMETRY_PHYSICS = {
    "temperature": ("active_power", "current", "top_oil_temperature"),
    "active_power": ("current", "loading"),
    "reactive_power": ("current", "voltage"),
    "current": ("voltage", "top_oil_temperature", "hot_spot_temperature", "loading"),
    "top_oil_temperature": ("hot_spot_temperature",),
}
#: rows of a device's aligned history at most (the causal tools' bound)
MAX_TELEMETRY_ROWS = 200_000


class EventCause(NamedTuple):
    """The upstream cause of one telemetry grid event (:func:`explain_telemetry_events`)."""

    device_id: str
    sensor_type: str
    node: str                    # the sensor type carrying the largest share (the event's own: from outside)
    share_percent: float
    text: str
    evidence_id: str


def telemetry_edges(sensor_types) -> list[list[str]]:
    """The :data:`TELEMETRY_PHYSICS` edges among one device's measured sensor types, e.g. ``[['current', 'voltage']]``."""
    present = set(sensor_types)
    return [[cause, effect] for cause, effects in TELEMETRY_PHYSICS.items() if cause in present
            for effect in effects if effect in present]


def explain_telemetry_events(readings, events, folder: Path) -> list[EventCause]:
    """Attribute each telemetry grid event to its upstream cause among its device's other measurements.

    Parameters
    ----------
    readings : pandas.DataFrame
        Accepted readings (``read_telemetry(...).accepted``): device_id, sensor_type, value, timestamp.
    events : list of ObservedEvent
        The grid events to explain; an event whose sensor has no measured cause on its device is skipped.
    folder : pathlib.Path
        A folder under the output root (:func:`gridsage.tools.paths.writable_dir`) for the aligned histories the
        ``attribute_anomaly`` tool reads, one CSV per device.

    Returns
    -------
    list of EventCause
        One per explained event: its largest cause, or its own term when the device's measurements do not explain
        it (the cause lies outside what the device measures, e.g. upstream of a feeder head).

    An event whose device history the tool cannot use (too few aligned rows, a stream that never varies) is
    skipped: the causal step adds to the triage and never stops it.
    """
    import pandas as pd

    from gridsage.errors import InputError
    from gridsage.tools.causal import attribute_anomaly
    from gridsage.tools.paths import writable_file

    out, written = [], {}
    for event in events:
        device = readings[readings.device_id == event.device_id]
        edges = telemetry_edges(device.sensor_type.astype(str).unique())
        sensor = event.sensor_type.split(", ")[0]
        if not any(effect == sensor for _, effect in edges):
            continue
        if event.device_id not in written:
            step = device.groupby("sensor_type", observed=True).timestamp.apply(lambda t: t.diff().median()).max()
            if pd.isna(step):  # one reading per stream: nothing to learn from
                continue
            wide = (device.assign(time=device.timestamp.dt.round(step))
                    .pivot_table(index="time", columns="sensor_type", values="value", aggfunc="mean", observed=True)
                    .dropna().tail(MAX_TELEMETRY_ROWS))
            wide.columns = [str(c) for c in wide.columns]
            path = writable_file(folder, f"device-{len(written)}.csv", "telemetry")
            wide.reset_index().assign(time=lambda f: f.time.dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")).to_csv(path, index=False)
            written[event.device_id] = (path, wide)
        path, wide = written[event.device_id]
        window = wide.loc[event.start_utc:event.end_utc, sensor] if sensor in wide else wide.iloc[:0, :0]
        if window.empty:
            continue
        at = (window - wide[sensor].median()).abs().idxmax()
        try:
            att = attribute_anomaly(data_csv=str(path), target=sensor, anomaly_time=at.isoformat(), edges=edges)
        except InputError:  # too few aligned rows, or a stream that never varies: the triage stands without it
            continue
        if att.status != "ok" or att.root_cause is None:
            continue
        top = att.contributions[0]
        shares = ", ".join(_label(c) for c in att.contributions[:TITLE_CAUSES])
        text = (f"not explained by {event.device_id}'s other measurements ({top.share_percent:.0f} % its own): its cause "
                f"lies outside what the device measures (upstream of it)" if top.node == sensor else
                f"driven by {event.device_id}'s {top.node} ({top.share_percent:.0f} %)") + f"; shares {shares}"
        out.append(EventCause(event.device_id, sensor, top.node, top.share_percent, text, att.evidence_id))
    return out
