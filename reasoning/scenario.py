"""The scenario format: a YAML file validated by a pydantic schema.

A scenario names a grid, a load/generation scaling, the events to study, an
optional operator question and an optional ``expect:`` block for the
evaluation harness.  A telemetry scenario names readings (or a telemetry
simulation) instead of a grid.  A ``cascade:`` block studies the cascade the
scenario's outage events (or ``cascade.outages``) set off.  A ``cyber:`` block triages security and OT logs (or a
simulated OT network's), with an optional grid to state what their commands do.  :func:`scenario_json_schema`
exports the schema.

Example
-------
.. code-block:: yaml

    name: ieee118-summer-line-trip
    grid: {source: pglib_opf_case118_ieee}
    scaling: {load: 1.05, generation: 1.05}
    events:
      - {type: line_outage, line: 34}
    question: Which lines are overloaded after the trip, and what do we do first?
"""

from __future__ import annotations

import importlib.resources
import json
import os
from pathlib import Path
from typing import Annotated, Literal

from gridsage.errors import InputError, ScenarioError
from gridsage.tools.base import MaxLoadingPercent, VmMaxPu, VmMinPu
from gridsage.tools.equipment.transformer_thermal import AmbientC, Cooling, HotSpotRise, LoadingType, TopOilRise
from gridsage.tools.forecast.load_forecast import CsvDecimal, CsvSep, CsvThousands, DayFirst
from gridsage.tools.grid import Event
from gridsage.tools.paths import readable_file, shipped_root, validation_error_without_values
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .assessment import Verdict

#: bound on a scenario file's size [bytes]
MAX_SCENARIO_BYTES = 1_000_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GridReference(_Strict):
    source: str = Field(min_length=1, description="Built-in name, PGLib-OPF name, or path (relative to the scenario file).")
    base_dispatch: Literal["auto", "file", "opf"] = Field(default="auto", description="See load_grid.")
    opf_max_loading_percent: float = Field(default=85.0, gt=10, le=100, allow_inf_nan=False, description="[% of rating]")


class Scaling(_Strict):
    load: float = Field(default=1.0, gt=0, le=10, allow_inf_nan=False, description="Factor on all loads [-].")
    generation: float = Field(default=1.0, ge=0, le=10, allow_inf_nan=False, description="Factor on gen/sgen set-points [-].")


class Limits(_Strict):
    vm_min_pu: VmMinPu = None
    vm_max_pu: VmMaxPu = None
    max_loading_percent: MaxLoadingPercent = None


class PeakForecast(_Strict):
    """The "tomorrow's peak" playbook: forecast the load, then study the grid at the P50 and P90 peaks."""

    csv: str = Field(min_length=1, description="Load history CSV (path relative to the scenario file): time, load [MW], optional temperature [°C].")
    time_col: str | None = None
    load_col: str | None = None
    temp_col: str | None = None
    tz: str | None = Field(default=None, description="IANA zone of the site, e.g. 'Australia/Melbourne'.")
    sep: CsvSep = None
    decimal: CsvDecimal = None
    thousands: CsvThousands = None
    dayfirst: DayFirst = None
    country: str | None = Field(default=None, description="Holiday calendar country, e.g. 'AU'.")
    subdiv: str | None = None
    horizon_h: float = Field(default=48, gt=0, le=168, description="Hours ahead searched for the peak [h].")
    reference_mw: float | None = Field(default=None, gt=0, allow_inf_nan=False, description=(
        "Load of the series [MW] that the grid's base case represents; default the median daily peak of the last "
        "28 days of history. The grid's loads are scaled by forecast peak / reference."))


class TransformerStudy(_Strict):
    """The "transformer overheating" playbook: time to the hot-spot limit of one transformer, and a load transfer.

    The transformer's loading in the study grid's power flow is the peak of a daily load cycle (from
    ``load_profile_csv`` or the playbook's default shape), grown by ``load_growth_pct_per_day`` over
    ``horizon_days``; the IEEE C57.91 Clause 7 model gives the time to the loading type's limit.
    """

    trafo: int = Field(ge=0, description="pandapower trafo index of the transformer studied.")
    load_profile_csv: str | None = Field(default=None, min_length=1, description=(
        "CSV of one load cycle (path relative to the scenario file): one row per interval_min, the load in the last "
        "column [pu or MW], normalised to its maximum; default: the playbook's daily cycle (see reasoning/playbooks/transformer_overheating.py)."))
    load_growth_pct_per_day: float = Field(default=0.0, ge=-10, le=10, allow_inf_nan=False,
                                           description="Load growth, compounded [%/day].")
    ambient_c: AmbientC | Annotated[list[AmbientC], Field(min_length=1)] = Field(default=30.0, description=(
        "Ambient temperature [°C]: one value, or one per interval of the load cycle (repeated each cycle)."))
    interval_min: float = Field(default=30.0, gt=0, le=1440, allow_inf_nan=False, description="Interval of the cycle [min].")
    horizon_days: float = Field(default=30.0, gt=0, le=365, allow_inf_nan=False, description="Projection horizon [days].")
    cooling: Cooling = "ONAN"
    loading_type: LoadingType = Field(default="normal", description="IEEE C57.91 loading type: sets the limits.")
    rated_top_oil_rise_k: TopOilRise | None = Field(default=None, description="[K]; default the thermal tool's 55 K.")
    rated_hot_spot_rise_k: HotSpotRise = None


class TelemetryStudy(_Strict):
    """The "telemetry triage" playbook: measured readings checked against cited limits and scored for anomalies,
    each anomaly attributed to the grid or to the sensor (see reasoning/playbooks/telemetry_triage.py)."""

    readings: str | None = Field(default=None, min_length=1, description=(
        "CSV or JSON-lines readings (path relative to the scenario file): device_id, sensor_type, value, unit, "
        "timestamp (ISO 8601 with offset), quality."))
    simulation: str | None = Field(default=None, min_length=1, description=(
        "Telemetry simulator scenario JSON (path relative to the scenario file): its labelled readings are generated "
        "with `seed` and studied; the ground truth is not read."))
    seed: int = Field(default=0, ge=0, description="Seed of the simulation.")
    nominal_frequency_hz: Literal[50, 60] = Field(default=50, description="System frequency [Hz]: picks the bands.")
    nominal_voltage_v: float | None = Field(default=None, gt=0, allow_inf_nan=False, description="Nominal voltage of voltage readings [V].")
    nominal_voltage_by_device: dict[str, Annotated[float, Field(gt=0, allow_inf_nan=False)]] = Field(
        default_factory=dict, description="Nominal voltage per device_id [V], e.g. {feeder-F12: 11000}.")
    min_power_factor: float | None = Field(default=None, gt=0, le=1, description="Minimum |power factor| [-] (tariff).")
    max_current_unbalance_percent: float | None = Field(default=None, gt=0, le=100, description="[%]")

    @model_validator(mode="after")
    def _one_source(self):
        if (self.readings is None) == (self.simulation is None):
            raise ValueError("give exactly one of telemetry.readings (a readings file) and telemetry.simulation "
                             "(a simulator scenario JSON)")
        return self


#: an initiating outage of a cascade, ``'<kind>:<index>'`` (kinds: line, trafo, trafo3w, impedance, gen, sgen, ext_grid)
OutageRef = Annotated[str, Field(min_length=3, max_length=40, pattern=r"^\s*(line|trafo|trafo3w|impedance|gen|sgen|ext_grid)\s*:\s*\d+\s*$")]
#: the events that are outages (the initiators of a cascade when ``cascade.outages`` is not given)
OUTAGE_EVENTS = ("line_outage", "trafo_outage", "branch_outage", "gen_trip")


class CascadeStudy(_Strict):
    """The "cascade" playbook: the cascade an N-k outage sets off, the stage-0 action that would have held the load
    lost below a threshold, and the restoration plan (see reasoning/playbooks/cascade.py).

    The initiating outages are ``outages`` when given (every event of the scenario is then applied first, e.g. a line
    already out for maintenance); otherwise the scenario's outage events (line_outage, trafo_outage, branch_outage,
    gen_trip), applied after its other events (load changes, rating changes).
    """

    outages: list[OutageRef] | None = Field(default=None, min_length=1, max_length=50, description=(
        "Initiating outages, '<kind>:<index>', e.g. ['line:29', 'gen:2']; default the scenario's outage events."))
    curve: Literal["moderately_inverse", "very_inverse", "extremely_inverse"] = Field(
        default="very_inverse", description="IEEE C37.112 curve of the branch relays.")
    time_dial: float = Field(default=1.0, gt=0, le=100, allow_inf_nan=False, description="Relay time dial TD [-].")
    pickup_percent: float = Field(default=100.0, gt=0, le=500, allow_inf_nan=False, description="Relay pickup [% of rating].")
    uvls: bool = Field(default=True, description="Model under-voltage load shedding (NERC PRC-010).")
    ufls: bool = Field(default=True, description="Model under-frequency load shedding in islands short of generation (NERC PRC-006).")
    max_stages: int = Field(default=100, ge=1, le=1000, description="Stage limit of the cascade model [-].")
    loss_threshold_percent: float = Field(default=1.0, ge=0, le=100, allow_inf_nan=False, description=(
        "A stage-0 action is reported when its cascade keeps the load lost below this [% of the pre-event load]."))
    max_actions: int = Field(default=4, ge=0, le=8, description=(
        "Remedial candidates re-simulated at most in the stage-0 search (each is one cascade run) [-]; 0 skips it."))
    restore: bool = Field(default=True, description="Plan the restoration of the load lost (NERC EOP-005).")
    black_start_units: list[Annotated[str, Field(pattern=r"^\s*(gen|ext_grid)\s*:\s*\d+\s*$")]] | None = Field(
        default=None, max_length=200, description=(
            "Restoration: black-start units, 'gen:<i>' or 'ext_grid:<i>'; default gens marked black_start and every ext_grid."))
    critical_loads: list[Annotated[str, Field(pattern=r"^\s*load\s*:\s*\d+\s*$")]] | None = Field(
        default=None, max_length=500, description="Restoration: critical loads, 'load:<i>', highest priority first.")
    max_pickup_percent: float | None = Field(default=None, gt=0, le=100, allow_inf_nan=False, description=(
        "Restoration: largest load block per step [% of the island's online unit capacity]; default the planner's."))
    ensemble: str | None = Field(default=None, pattern=r"^(n1|n2:\d+|n1\+n2:\d+)$", description=(
        "Also run an ensemble of initiators: 'n1' (every single branch), 'n2:N' (N sampled branch pairs) or "
        "'n1+n2:N'; the distribution of load lost [%] is reported."))
    seed: int = Field(default=0, ge=0, description="Seed of the ensemble's sampling.")


#: an ATT&CK for ICS technique id, e.g. 'T0855'
TechniqueId = Annotated[str, Field(pattern=r"^T0\d{3}$")]


class CyberSimulation(_Strict):
    """A labelled OT log simulation (``gridsage.tools.cyber.simulate.simulate_ot_logs``): normal SCADA traffic of a
    control centre and its outstations, with one attack chain per technique in ``attacks``."""

    seed: int = Field(default=0, ge=0, description="Seed of the simulation.")
    hours: float = Field(default=24.0, ge=0.25, le=168, allow_inf_nan=False, description="Span simulated [h].")
    start: str = Field(default="2026-06-01T00:00:00Z", max_length=40, description="First instant, ISO 8601.")
    attacks: list[TechniqueId] = Field(default_factory=list, max_length=16, description=(
        "ATT&CK for ICS techniques injected, one chain each (T0846, T0855, T0836, T0843, T0814, T0815, T0859, "
        "T0848); empty: routine traffic only."))
    rtus: int = Field(default=6, ge=1, le=200, description="Outstations [-].")
    poll_s: float = Field(default=2.0, ge=0.1, le=600, allow_inf_nan=False, description="Polling cycle [s].")
    hostile_text: bool = Field(default=True, description=(
        "Add log lines whose text tries to instruct an automated reader (prompt injection), as routine data."))


class CyberStudy(_Strict):
    """The "cyber triage" playbook: security and OT logs triaged into ATT&CK for ICS detections, with the grid impact
    of the commands they carry (see reasoning/playbooks/cyber_triage.py).  Give ``logs`` or ``simulation``."""

    logs: list[Annotated[str, Field(min_length=1)]] | None = Field(default=None, min_length=1, max_length=50, description=(
        "Log files (paths relative to the scenario file): syslog, Zeek, Suricata EVE, Windows event exports or "
        "protocol-record CSV; the format of each is detected from its content."))
    simulation: CyberSimulation | None = Field(default=None, description="Simulated logs instead of files.")
    tz: str | None = Field(default=None, max_length=64, description="IANA zone of log times without an offset.")
    baseline: list[Annotated[str, Field(min_length=1)]] | None = Field(default=None, max_length=50, description=(
        "Logs of a known-good period to learn the baseline from (paths relative to the scenario file); default the "
        "baseline is learnt from the logs themselves."))
    point_map: str | None = Field(default=None, min_length=1, description=(
        "CSV mapping outstation points to grid elements (destination,object,element[,description]), relative to "
        "the scenario file; with the scenario's grid: it lets triage state what a command does to the grid."))
    telemetry: str | None = Field(default=None, min_length=1, description=(
        "Telemetry readings (relative path) to confirm whether a commanded breaker actually opened."))

    @model_validator(mode="after")
    def _one_source(self):
        if (self.logs is None) == (self.simulation is None):
            raise ValueError("give exactly one of cyber.logs (log files) and cyber.simulation (a simulated OT network)")
        return self


class ExpectedEvent(_Strict):
    """A telemetry anomaly a correct answer must report, with the right origin."""

    device_id: str
    sensor_type: str
    type: str | None = Field(default=None, description="Anomaly type, e.g. 'oscillation'; None matches any type.")


class Expect(_Strict):
    """What a correct assessment must contain (read by the evaluation harness)."""

    verdict: Verdict | None = Field(
        default=None, description="Overall state of what is studied: 'violations' (a limit is broken), 'at_risk' (none is "
                                  "broken now, but a projection passes one or a grid disturbance is under way), "
                                  "'secure' (neither), or 'no_solution' (the AC power flow has no solution). An answer "
                                  "calling a 'violations', 'at_risk' or 'no_solution' case safe is a false-safe verdict.")
    overloaded: list[str] = Field(default_factory=list, description="Branches that must be found overloaded, e.g. 'line 29'.")
    undervoltage: list[str] = Field(default_factory=list, description="Buses that must be found low, e.g. 'bus 117'.")
    overvoltage: list[str] = Field(default_factory=list, description="Buses that must be found high, e.g. 'bus 4'.")
    at_risk: list[str] = Field(default_factory=list, description="Elements that must be named at risk, e.g. 'trafo 0' "
                                                                  "(a projected hot-spot limit); a plan must relieve them.")
    grid_events: list[ExpectedEvent] = Field(default_factory=list, description="Telemetry anomalies to report as grid events.")
    sensor_faults: list[ExpectedEvent] = Field(default_factory=list, description=(
        "Telemetry anomalies to report as sensor faults; reporting one as a grid event is a false alarm."))
    citations: list[str] = Field(default_factory=list, description="Corpus entries the answer must cite, beyond those "
                                                                    "the expected violations call for.")
    min_findings: int | None = Field(default=None, ge=0)
    top_risk: str | None = Field(default=None, description="Outage expected first in the N-1 ranking, e.g. 'line 96'.")
    plan_clears: bool | None = Field(default=None, description="Whether the action plan must clear every violation.")
    techniques: list[TechniqueId] = Field(default_factory=list, description=(
        "Cyber scenarios: ATT&CK for ICS techniques the answer must report, e.g. ['T0846', 'T0855']."))
    first_trip: str | None = Field(default=None, description=(
        "Cascade scenarios: the branch protection trips first, e.g. 'line 31' (the most loaded after the initiating "
        "outages, so the shortest inverse-time relay time)."))


class Scenario(_Strict):
    """A study: grid, stress, events, question."""

    name: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")
    title: str | None = None
    description: str | None = None
    grid: GridReference | None = Field(default=None, description="The grid studied; required unless telemetry is given.")
    scaling: Scaling = Field(default_factory=Scaling)
    events: list[Event] = Field(default_factory=list, max_length=1000)
    limits: Limits = Field(default_factory=Limits)
    forecast: PeakForecast | None = Field(default=None, description="Study the grid at tomorrow's forecast peak (P50 and P90).")
    transformer: TransformerStudy | None = Field(default=None, description="Study one transformer's overheating and a load transfer.")
    telemetry: TelemetryStudy | None = Field(default=None, description="Study measured telemetry instead of a grid model.")
    cascade: CascadeStudy | None = Field(default=None, description=(
        "Study the cascade the outages set off: timeline, load lost, a stage-0 action, restoration."))
    cyber: CyberStudy | None = Field(default=None, description=(
        "Triage security/OT logs: ATT&CK for ICS detections and what their commands do to the grid (if grid: is given)."))
    question: str | None = Field(default=None, max_length=4000)
    expect: Expect | None = None

    def subject(self) -> str:
        """What the scenario studies, for listings: the grid source, or ``'telemetry <file>'``."""
        if self.cyber is not None:
            return f"cyber logs {', '.join(self.cyber.logs)}" if self.cyber.logs else "cyber simulation"
        return self.grid.source if self.grid else f"telemetry {self.telemetry.readings or self.telemetry.simulation}"

    @model_validator(mode="after")
    def _grid_or_telemetry(self):
        if self.telemetry is None and self.grid is None and self.cyber is None:
            raise ValueError("a scenario needs grid: (a grid to study), telemetry: (readings to study) or cyber: (logs "
                             "to triage)")
        if self.cyber is not None:
            extra = [k for k in ("forecast", "transformer", "cascade", "telemetry") if getattr(self, k) is not None] + \
                    (["events"] if self.events else [])
            if extra:
                raise ValueError(f"a cyber scenario triages logs (with an optional grid: for the impact of commands): "
                                 f"remove {', '.join(extra)}, or split it into another scenario")
            if self.cyber.point_map and self.grid is None:
                raise ValueError("cyber.point_map maps points to grid elements: give the grid: they belong to")
        if self.telemetry is not None:
            extra = [k for k in ("grid", "forecast", "transformer", "cascade") if getattr(self, k) is not None] + \
                    (["events"] if self.events else [])
            if extra:
                raise ValueError(f"a telemetry scenario studies measured readings, not a grid model: remove "
                                 f"{', '.join(extra)}, or split it into a grid scenario")
        if self.cascade is not None and not self.cascade.outages and not any(e.type in OUTAGE_EVENTS for e in self.events):
            raise ValueError("a cascade needs initiating outages: give cascade.outages (e.g. ['line:29']) or an outage "
                             "event (line_outage, trafo_outage, branch_outage, gen_trip)")
        return self


def library() -> dict[str, str]:
    """Scenario files shipped with GridSage: name -> YAML text."""
    folder = importlib.resources.files("gridsage.scenarios")
    return {p.name[:-5]: p.read_text() for p in folder.iterdir() if p.name.endswith(".yaml")}


def _yaml_problem(exc) -> str:
    """The YAML parser's complaint without what it quotes from the text (a quoted token longer than a character)."""
    import re

    problem = str(getattr(exc, "problem", None) or "malformed")
    return re.sub(r"'([^']*)'|\"([^\"]*)\"", lambda m: m.group(0) if len(m.group(1) or m.group(2) or "") <= 2
                  or (m.group(1) or "").startswith("<") else "a token", problem)[:200]


def parse_scenario(text: str, origin: str = "<scenario>") -> Scenario:
    """Validate YAML text as a :class:`Scenario`.

    Parameters
    ----------
    text : str
        The YAML document, at most :data:`MAX_SCENARIO_BYTES` bytes.
    origin : str, default '<scenario>'
        Name of the text in messages (a file name or a library name).

    Returns
    -------
    Scenario

    Raises
    ------
    ScenarioError
        Malformed YAML (with line and column), a non-mapping document, or a
        field that fails the schema (named, e.g. ``scenario.events[0].line``).
        No message quotes a value of the text: the text may come from a file
        the caller must not read.
    """
    import yaml

    if len(text.encode()) > MAX_SCENARIO_BYTES:
        raise ScenarioError(f"{origin} is larger than {MAX_SCENARIO_BYTES} bytes", field="scenario",
                            fix="split it into smaller scenarios.")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ScenarioError(f"{origin} is not valid YAML{where}: {_yaml_problem(exc)}", field="scenario",
                            fix="fix the YAML syntax (indentation, colons, quotes) at that place.") from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{origin} must be a YAML mapping with at least 'name' and 'grid'", field="scenario",
                            fix="start from a file in scenarios/ (gridsage scenarios lists them).")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        err = validation_error_without_values(exc, data, Scenario, prefix="scenario")
        raise ScenarioError(f"{origin}: {err.message}", field=err.field,
                            fix="correct that field; the schema is in scenarios/scenario.schema.json.") from None


#: suffixes of a scenario file
SCENARIO_SUFFIXES = (".yaml", ".yml")


def shipped_name(reference: str) -> str | None:
    """The library name ``reference`` stands for (``name`` or ``name.yaml``, no folder), or None.

    Parameters
    ----------
    reference : str

    Returns
    -------
    str or None
    """
    name = reference
    for suffix in SCENARIO_SUFFIXES:
        name = name.removesuffix(suffix)
    if not name or "/" in reference or "\\" in reference or "\x00" in reference:
        return None
    return name if name in library() else None


def load_scenario(reference: str) -> tuple[Scenario, Path | None]:
    """Load a scenario from a library name or a file under a data root.

    Parameters
    ----------
    reference : str or os.PathLike
        A shipped scenario's name (with or without ``.yaml``), or the path of
        a ``.yaml`` / ``.yml`` file under a data root
        (:func:`gridsage.tools.paths.readable_file`: absolute, or relative to
        a root; ``~`` is not expanded).

    Returns
    -------
    (Scenario, pathlib.Path or None)
        The scenario and its folder (to resolve relative grid and data paths; the library's own folder for
        library scenarios).

    Raises
    ------
    ScenarioError
        Unknown name, a file outside the data roots or missing, malformed
        YAML, or a schema failure (no message quotes the file).
    """
    if isinstance(reference, os.PathLike):
        reference = os.fspath(reference)
    shipped = library()
    name = shipped_name(reference) if isinstance(reference, str) else None
    if name is not None:
        return parse_scenario(shipped[name], name), shipped_root()
    if not isinstance(reference, str) or (reference and "/" not in reference and not reference.endswith(SCENARIO_SUFFIXES)):
        raise ScenarioError(f"no library scenario {str(reference)[:200]!r}", field="scenario",
                            fix=f"give a YAML path under a data root, or one of: {', '.join(sorted(shipped))}.")
    try:
        path = readable_file(reference, "scenario", suffixes=SCENARIO_SUFFIXES)
    except InputError as exc:
        raise ScenarioError(exc.message, field="scenario",
                            fix=f"{exc.fix} Or name a shipped scenario: {', '.join(sorted(shipped))}.") from None
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path.name} is not UTF-8 text (byte {exc.start})", field="scenario",
                            fix="save the scenario as UTF-8 YAML.") from None
    return parse_scenario(text, path.name), path.parent


def scenario_json_schema() -> str:
    """The scenario format as JSON Schema (draft 2020-12), pretty-printed."""
    return json.dumps(Scenario.model_json_schema(), indent=2) + "\n"
