"""A scenario's study object: the grid loaded as the scenario says, then its scaling, peak forecast and events
applied; or, for a telemetry scenario, its readings file.

Shared by the playbooks and the chat agent's ``load_study`` tool, so both study exactly the same grid or readings.

The "tomorrow's peak" study grid: the grid's base case stands for a reference load of the series (by default the
median daily peak of the last 28 days of history, from the forecast result); the study grids are the base case with
every load scaled by forecast peak / reference, at the P50 and at the P90 peak.  The forecast is a tool call, so its
numbers are evidence.

References
----------
.. [1] NERC TOP-002-5, R1: next-day Operational Planning Analysis against the
   expected conditions, here the forecast daily peak.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

from gridsage.errors import InputError
from gridsage.reasoning.scenario import PeakForecast, Scenario
from gridsage.tools.forecast import ForecastResult, forecast_load
from gridsage.tools.grid import DerivedGridResult, GridLoadResult, apply_events, load_grid
from gridsage.tools.paths import output_root, readable_file, writable_dir, writable_file

#: the quantiles studied: the median and the high case
LEVELS = (0.1, 0.5, 0.9)


@dataclass
class PeakStudy:
    """The forecast and the load-scaling factors derived from it.

    Attributes
    ----------
    forecast : ForecastResult
    reference_mw : float
        Series load the grid's base case represents [MW].
    p50_mw, p90_mw : float
        Forecast peak, median and 90 % quantile [MW].
    """

    forecast: ForecastResult
    reference_mw: float

    @property
    def p50_mw(self) -> float:
        return max(p.quantiles_mw["p50"] for p in self.forecast.points)

    @property
    def p90_mw(self) -> float:
        return max(p.quantiles_mw["p90"] for p in self.forecast.points)

    def factor(self, level: str) -> float:
        """Load-scaling factor [-] for ``'p50'`` or ``'p90'``: peak / reference."""
        return (self.p50_mw if level == "p50" else self.p90_mw) / self.reference_mw


def forecast_peak(spec: PeakForecast, base_dir: Path | None = None) -> PeakStudy:
    """Run the forecast tool for a scenario's ``forecast:`` block and fix the reference load.

    Parameters
    ----------
    spec : PeakForecast
    base_dir : pathlib.Path, optional
        Folder relative CSV paths are resolved against.

    Returns
    -------
    PeakStudy

    Raises
    ------
    InputError
        If the CSV cannot be used (see :func:`gridsage.tools.forecast.load_forecast.forecast_load`).
    """
    path = Path(spec.csv)
    if base_dir is not None and not path.is_absolute():
        path = base_dir / path
    result = forecast_load(csv_path=str(path), time_col=spec.time_col, load_col=spec.load_col, temp_col=spec.temp_col,
                           tz=spec.tz, sep=spec.sep, decimal=spec.decimal, thousands=spec.thousands,
                           dayfirst=spec.dayfirst, country=spec.country, subdiv=spec.subdiv, horizon_h=spec.horizon_h,
                           quantiles=list(LEVELS))
    return PeakStudy(forecast=result, reference_mw=spec.reference_mw or result.recent_peaks.median_mw)


def load_scenario_grid(scenario: Scenario, base_dir: Path | None = None) -> GridLoadResult:
    """Load the scenario's grid under the scenario's name (a relative path is resolved against ``base_dir``).

    Raises
    ------
    InputError
        If the grid cannot be found or read.
    """
    source = scenario.grid.source
    if base_dir is not None and (base_dir / source).is_file():
        source = str(base_dir / source)
    return load_grid(source, grid_id=scenario.name, base_dispatch=scenario.grid.base_dispatch,
                     opf_max_loading_percent=scenario.grid.opf_max_loading_percent)


def apply_scenario(scenario: Scenario, grid_id: str, base_dir: Path | None = None) -> tuple[DerivedGridResult, PeakStudy | None]:
    """Apply the scenario's scaling and events (at the forecast P90 peak when it has a ``forecast:`` block).

    Returns
    -------
    post : DerivedGridResult
        The study grid, ``<name>:post-event`` (or ``<name>:p90-peak``).
    peak : PeakStudy or None

    Raises
    ------
    InputError
        If an event names a missing element, or the forecast data cannot be used (field ``forecast.<name>``).
    """
    peak = None
    if scenario.forecast:
        try:
            peak = forecast_peak(scenario.forecast, base_dir)
        except InputError as exc:
            raise InputError(exc.message, field=f"forecast.{exc.field}", fix=exc.fix) from None
    post = apply_events(grid_id, events=scenario.events,
                        load_scale=scenario.scaling.load * (peak.factor("p90") if peak else 1.0),
                        gen_scale=scenario.scaling.generation,
                        new_grid_id=f"{grid_id}:{'p90-peak' if peak else 'post-event'}")
    return post, peak


def simulation_dir(scenario: Scenario) -> Path:
    """Folder a telemetry scenario's simulation is written to: ``<output folder>/telemetry/<name>-seed<seed>``.

    The output folder is ``GRIDSAGE_OUTPUT_DIR`` (default ``./gridsage-output``, see
    :func:`gridsage.tools.paths.output_root`); files there can be read back by the telemetry tools.  Not created here.
    """
    return output_root() / "telemetry" / f"{scenario.name}-seed{scenario.telemetry.seed}"


def telemetry_source(scenario: Scenario, base_dir: Path | None = None) -> Path:
    """A telemetry scenario's ``readings`` or ``simulation`` file, resolved against ``base_dir`` when relative
    (not checked here: :func:`telemetry_readings` checks it against the data roots)."""
    relative = Path(scenario.telemetry.readings or scenario.telemetry.simulation)
    return base_dir / relative if base_dir is not None and not relative.is_absolute() else relative


def telemetry_readings(scenario: Scenario, base_dir: Path | None = None) -> Path:
    """The readings file of a telemetry scenario: its ``readings``, or its ``simulation`` generated with its seed.

    A simulation is written to ``telemetry.csv`` in :func:`simulation_dir` (under the output folder), rewritten on
    every call, without the simulator's per-reading ``label`` column and without its ground truth: the readings a
    study (or a model) reads carry no answer key.

    Parameters
    ----------
    scenario : Scenario
        A scenario with a ``telemetry:`` block.
    base_dir : pathlib.Path, optional
        Folder relative ``readings`` / ``simulation`` paths are resolved against (the scenario's own).

    Returns
    -------
    pathlib.Path
        The readings file, resolved, under a data root or the output folder.

    Raises
    ------
    InputError
        If the file or simulation scenario is outside the data roots, missing or unreadable (field
        ``telemetry.readings`` or ``telemetry.simulation``); no message quotes a file.
    """
    from gridsage.tools.telemetry.simulator import load_simulation, simulate, write_csv

    spec = scenario.telemetry
    field = "telemetry.readings" if spec.readings else "telemetry.simulation"
    path = resolve_file(str(telemetry_source(scenario, base_dir)), None, field,
                        suffixes=None if spec.readings else (".json",))
    if spec.readings:
        return path
    try:
        simulation = load_simulation(path)
        frame, _ = simulate(simulation, spec.seed)
        out = writable_dir(simulation_dir(scenario), field)
        (out / "truth.csv").unlink(missing_ok=True)  # left by an earlier version
        return write_csv(frame.drop(columns="label"), writable_file(out, "telemetry.csv", field),
                         simulation.base.interval_seconds)
    except InputError as exc:
        raise InputError(f"{path.name}: {exc.message}", field=field, fix=exc.fix) from None


def cyber_logs(scenario: Scenario, base_dir: Path | None = None) -> list[Path]:
    """The log files of a cyber scenario: its ``logs``, or its ``simulation`` written with its seed.

    A simulation is written in the formats GridSage ingests (protocol-record CSV per protocol, Windows events CSV,
    RFC 5424 syslog, Zeek conn.log) to ``<output folder>/cyber/<name>-seed<seed>``, rewritten on every call, without
    the simulator's ``labels.csv``: the logs a study (or a model) reads carry no answer key.

    Parameters
    ----------
    scenario : Scenario
        A scenario with a ``cyber:`` block.
    base_dir : pathlib.Path, optional
        Folder relative ``logs`` paths are resolved against (the scenario's own).

    Returns
    -------
    list of pathlib.Path
        The log files, resolved, under a data root or the output folder.

    Raises
    ------
    InputError
        If a file is outside the data roots, missing or unreadable (field ``cyber.logs[i]``), or the simulation's
        arguments are out of range (field ``cyber.simulation.<name>``); no message quotes a file.
    """
    from gridsage.tools.cyber.simulate import simulate_ot_logs, write_simulation

    spec = scenario.cyber
    if spec.logs:
        return [resolve_file(p, base_dir, f"cyber.logs[{i}]") for i, p in enumerate(spec.logs)]
    sim = spec.simulation
    try:
        logs = simulate_ot_logs(seed=sim.seed, hours=sim.hours, start=sim.start, attacks=list(sim.attacks),
                                rtus=sim.rtus, poll_s=sim.poll_s, hostile_text=sim.hostile_text)
    except InputError as exc:
        raise InputError(exc.message, field=f"cyber.simulation.{exc.field}", fix=exc.fix) from None
    folder = writable_dir(output_root() / "cyber" / f"{scenario.name}-seed{sim.seed}", "cyber.simulation")
    paths = write_simulation(logs, folder)
    paths.pop("labels").unlink(missing_ok=True)
    return sorted(paths.values())


def resolve_file(path: str, base_dir: Path | None, field: str, suffixes: tuple[str, ...] | None = None) -> Path:
    """A scenario's file ``path``, resolved against ``base_dir`` when relative and checked against the data roots
    (and, when given, its ``suffixes``).

    Raises
    ------
    InputError
        If it is outside the data roots, missing or unreadable (``field`` named; the fix says where paths are read).
    """
    relative = Path(path)
    full = base_dir / relative if base_dir is not None and not relative.is_absolute() else relative
    try:
        return readable_file(full, field, suffixes=suffixes)
    except InputError as exc:
        raise InputError(exc.message, field=field,
                         fix=f"give a path relative to the scenario file, inside a data root. {exc.fix}") from None


def thermal_history(scenario: Scenario, net, base_dir: Path | None = None) -> Path:
    """The history file of a transformer scenario: its ``history.csv``, or its ``history.simulation`` written.

    A simulation runs the physics-based structural simulator
    (:func:`gridsage.tools.causal.simulate_feeder_history`) on ``net`` (the study grid) with the scenario's seed and
    planted causes, and is written to ``<output folder>/causal/<name>-seed<seed>/history.csv`` (a ``time`` column and
    one column per causal-graph node), rewritten on every call, without the planted causes or the noise: the file a
    study (or a model) reads carries no answer key.

    Parameters
    ----------
    scenario : Scenario
        A scenario whose ``transformer:`` block has a ``history:``.
    net : pandapowerNet
        The study grid the simulation runs on.
    base_dir : pathlib.Path, optional
        Folder a relative ``history.csv`` is resolved against (the scenario's own).

    Returns
    -------
    pathlib.Path
        The history CSV, resolved, under a data root or the output folder.

    Raises
    ------
    InputError
        If the file is outside the data roots or missing (field ``transformer.history.csv``), or a planted node is not
        a node of the transformer's causal graph (field ``transformer.history.simulation.planted``).
    """
    from gridsage.tools.causal import PlantedCause, simulate_feeder_history

    spec = scenario.transformer
    if spec.history.csv:
        return history_path(scenario, base_dir)
    sim = spec.history.simulation
    try:
        simulated = simulate_feeder_history(
            net, spec.trafo, days=sim.days, interval_min=sim.interval_min, seed=sim.seed,
            ambient_mean_c=sim.ambient_mean_c, cooling=spec.cooling,
            planted=[PlantedCause(node=c.node, shift=c.shift) for c in sim.planted])
    except InputError as exc:
        raise InputError(exc.message, field=f"transformer.history.simulation.{exc.field}", fix=exc.fix) from None
    field = "transformer.history.simulation"
    return write_history(simulated.data, writable_dir(history_path(scenario, base_dir).parent, field), field)


def history_path(scenario: Scenario, base_dir: Path | None = None) -> Path:
    """Where a transformer scenario's history is: its ``history.csv`` resolved and checked, or the file
    :func:`thermal_history` writes its simulation to (``<output folder>/causal/<name>-seed<seed>/history.csv``).

    Raises
    ------
    InputError
        If the CSV is outside the data roots or missing (field ``transformer.history.csv``).
    """
    history = scenario.transformer.history
    if history.csv:
        return resolve_file(history.csv, base_dir, "transformer.history.csv", suffixes=(".csv",))
    return output_root() / "causal" / f"{scenario.name}-seed{history.simulation.seed}" / "history.csv"


def write_history(data, folder: Path, field: str) -> Path:
    """Write a history frame (``time`` [UTC] and one column per causal-graph node) to ``folder/history.csv``.

    Parameters
    ----------
    data : pandas.DataFrame
        ``SimulatedHistory.data``: a datetime ``time`` column and float columns.
    folder : pathlib.Path
        From :func:`gridsage.tools.paths.writable_dir`.
    field : str
        The argument the folder came from, for errors.

    Returns
    -------
    pathlib.Path
        The CSV written: ISO 8601 UTC times, values to 4 decimals.

    Raises
    ------
    InputError
        If ``history.csv`` there exists and is not a regular file.
    """
    path = writable_file(folder, "history.csv", field)
    frame = data.copy()
    frame["time"] = frame["time"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    frame.to_csv(path, index=False, float_format="%.4f")
    return path


def measurement_files(scenario: Scenario, net, base_dir: Path | None = None) -> tuple[Path, Path]:
    """The measurement and mapping files of a state-estimation scenario: its ``measurements`` and ``mapping``, or its
    ``simulation`` generated from ``net`` (the study grid after the events: the true state).

    A simulation measures ``net`` with its loads scaled by ``simulation.load_scale`` (the real grid against the
    model) and is written to ``readings.csv`` and ``mapping.csv`` in
    ``<output folder>/estimation/<name>-seed<seed>``, rewritten on every call, without the planted gross errors, the
    missing meters or the true state: the files a study (or a model) reads carry no answer key.

    Parameters
    ----------
    scenario : Scenario
        A scenario with an ``estimation:`` block.
    net : pandapowerNet
        The study grid (the simulation solves a copy of it).
    base_dir : pathlib.Path, optional
        Folder relative paths are resolved against (the scenario's own).

    Returns
    -------
    (pathlib.Path, pathlib.Path)
        The readings file and the mapping file, under a data root or the output folder.

    Raises
    ------
    InputError
        If a file is outside the data roots or missing (field ``estimation.measurements`` / ``estimation.mapping``), or
        the simulation cannot run (field ``estimation.simulation...``).
    """
    from gridsage.tools.estimation import GrossError, simulate_measurement_set

    spec = scenario.estimation
    if spec.simulation is None:
        return (resolve_file(spec.measurements, base_dir, "estimation.measurements"),
                resolve_file(spec.mapping, base_dir, "estimation.mapping", suffixes=(".csv",)))
    sim = spec.simulation
    if sim.load_scale != 1.0:  # the grid the meters measure carries another load than the model assumes
        net = copy.deepcopy(net)
        net.load[["p_mw", "q_mvar"]] *= sim.load_scale
    try:
        simulated = simulate_measurement_set(
            net, redundancy=sim.redundancy, pmu_buses=sim.pmu_buses, missing=sim.missing, seed=sim.seed,
            gross_errors=[GrossError(device_id=g.device_id, sensor_type=g.sensor_type, size_sigma=g.size_sigma)
                          for g in sim.gross_errors])
    except InputError as exc:
        raise InputError(exc.message, field=f"estimation.simulation.{exc.field}", fix=exc.fix) from None
    field = "estimation.simulation"
    folder = writable_dir(output_root() / "estimation" / f"{scenario.name}-seed{sim.seed}", field)
    return simulated.write(folder)


def outage_record(scenario: Scenario, base_dir: Path | None = None) -> Path:
    """The outage record of a reliability scenario: its ``outages`` CSV, or its ``simulation`` written to
    ``<output folder>/reliability/<name>-seed<seed>/outages.csv`` (rewritten on every call; the planted storms are
    not in it).

    Raises
    ------
    InputError
        If the CSV is outside the data roots or missing (field ``reliability.outages``).
    """
    from gridsage.tools.reliability import simulate_outage_record

    spec = scenario.reliability
    if spec.simulation is None:
        return resolve_file(spec.outages, base_dir, "reliability.outages", suffixes=(".csv",))
    sim = spec.simulation
    try:
        record = simulate_outage_record(years=sim.years, start_year=sim.end_year - sim.years + 1,
                                        customers_served=spec.customers_served, feeders=sim.feeders, seed=sim.seed,
                                        major_events=sim.storms, storm_customers_share=sim.storm_customer_share)
    except InputError as exc:
        raise InputError(exc.message, field=f"reliability.simulation.{exc.field}", fix=exc.fix) from None
    field = "reliability.simulation"
    path = writable_file(writable_dir(output_root() / "reliability" / f"{scenario.name}-seed{sim.seed}", field),
                         "outages.csv", field)
    record.to_csv(path, index=False, date_format="%Y-%m-%dT%H:%M:%SZ")
    return path
