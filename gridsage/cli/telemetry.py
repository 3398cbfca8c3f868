"""``gridsage telemetry``: validate, score, monitor and simulate sensor telemetry, from the shell.

A thin adapter over :func:`gridsage.tools.telemetry.ingest.ingest_telemetry`,
:func:`gridsage.tools.telemetry.anomaly.score_telemetry`,
:func:`gridsage.tools.telemetry.monitor.monitor_telemetry` and
:func:`gridsage.tools.telemetry.simulator.simulate_telemetry`: it calls the
tools and prints their results.  ``score --plot`` draws one stream with its
anomalies (:func:`gridsage.plotting.plot_anomalies`; needs matplotlib, imported only
when a plot is drawn).

References
----------
.. [1] Page, E. S. (1954). Continuous inspection schemes. Biometrika 41(1/2), 100-115 (CUSUM steps).
.. [2] ANSI C84.1-2020, Table 1 (Ranges A and B) and Annex D (voltage unbalance).
.. [3] Regulation (EU) 2017/1485 (SO GL), Annex III; Regulation (EU) 2016/631 (RfG), Table 2; NERC PRC-006-5.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Column, Table

from gridsage.cli._shared import OutputFormat as Format, err, fail, out
from gridsage.errors import GridSageError, InputError

#: the order anomaly types are counted in
ANOMALY_TYPES = ("spike", "step", "drift", "oscillation", "dropout", "flatline", "stale", "multivariate")
#: severities, most severe first
SEVERITY_COLOUR = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan"}


class NominalFrequency(str, Enum):
    hz50 = "50"
    hz60 = "60"


FileArgument = Annotated[Path, typer.Argument(help=escape("Telemetry file, one reading per row: CSV with a header row, or JSON lines (.jsonl/.ndjson/.json). Columns: device_id, sensor_type, value, unit, timestamp (ISO 8601 with a UTC offset), [quality]."), metavar="FILE", show_default=False)]
TzOption = Annotated[Optional[str], typer.Option("--tz", help=escape("IANA zone of timestamps without a UTC offset, e.g. Europe/Paris (default: such rows are rejected)."))]
FormatOption = Annotated[Format, typer.Option("--format", "-f", help=escape("`text`, or `json`: the tool result."))]

telemetry_app = typer.Typer(
    name="telemetry",
    help=(
        "Sensor telemetry (voltage, current, frequency, power, temperature, ...; one reading per row): validate it, "
        "find anomalies, check it against cited limits, or simulate labelled test data.\n\n"
        "`ingest`: every row is accepted (converted to the canonical unit of its sensor type, e.g. kV -> V, kW -> MW) "
        "or rejected with its row number, the field at fault and the reason; nothing is dropped silently.\n\n"
        "`score`: per stream (device, sensor), a robust baseline (median and MAD of the previous block) gives each "
        "reading a robust z; spikes are |z| >= 7 clusters, steps a Page CUSUM confirmed by a median shift, drifts a "
        "change of the block-median slope, oscillations a periodogram peak (Welch frames) far above the noise floor, "
        "and dropouts, flatlines and stale timestamps are read from the data; a device's streams are also scored "
        "jointly (robust Mahalanobis distance against a chi-square quantile) to find one sensor breaking from the "
        "others. Each anomaly has a score (0.5 at the threshold), a confidence and its evidence.\n\n"
        "`monitor`: runs of readings outside the voltage band (ANSI C84.1 Ranges A and B), the frequency bands "
        "(EU SO GL and RfG at 50 Hz; at 60 Hz ERCOT's normal band and frequency-event band, and NERC PRC-006's UFLS design band), voltage unbalance (ANSI C84.1 Annex D), thermal loading "
        "(100 % of rating, NERC TPL-001) and, with your limit, power factor; each with the standard and clause.\n\n"
        "`simulate`: real demand-shaped streams (AEMO Victoria, January 2014 heatwave) with injected spikes, steps, "
        "drifts, oscillations and dropouts, written with their ground truth.\n\n"
        "Example: `gridsage telemetry simulate feeder_voltage_sag_oscillation --out sim`, then "
        "`gridsage telemetry score sim/telemetry.csv --plot anomalies.png` and "
        "`gridsage telemetry monitor sim/telemetry.csv --nominal-voltage 11000`."
    ),
    no_args_is_help=True,
)


# ---------------------------------------------------------------- helpers


def _t(ts: datetime | None) -> str:
    """A UTC time, to the second (to the microsecond when it has a fraction)."""
    if ts is None:
        return "-"
    return ts.strftime("%Y-%m-%d %H:%M:%S.%f" if ts.microsecond else "%Y-%m-%d %H:%M:%S")


def _time(name: str) -> Column:
    return Column(f"{name} [UTC]", no_wrap=True)


def _unit(unit: str) -> str:
    return "" if unit in ("", "-") else f" {unit}"


def _num(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return "(" + " ".join(f"{k}={_num(v)}" for k, v in value.items()) + ")"
    return str(value)


def _evidence(a, items: int = 4) -> str:
    """The first statistics of an anomaly's evidence (the one that fired and its threshold lead), compactly."""
    shown = [f"{k}={_num(v)}" for k, v in list(a.evidence.items())[:items]]
    if a.frequency_hz is not None:
        shown.insert(0, f"f={a.frequency_hz:.4g} Hz")
    return " ".join(shown)


def _notices(notices: list[str]) -> None:
    for notice in notices:
        out.print(f"[yellow]notice[/] {escape(notice)}", highlight=False)


def shipped_scenarios() -> dict[str, Path]:
    """Name -> path of the telemetry scenarios shipped in ``gridsage.scenarios/telemetry``."""
    from importlib.resources import files

    folder = files("gridsage.scenarios") / "telemetry"
    return {Path(entry.name).stem: Path(str(entry)) for entry in sorted(folder.iterdir(), key=lambda e: e.name)
            if entry.name.endswith(".json")}


def resolve_scenario(scenario: str) -> Path:
    """A scenario file: ``scenario`` itself if it is a file, else the shipped scenario of that name.

    Raises
    ------
    InputError
        If it is neither, listing the shipped names.
    """
    path = Path(scenario).expanduser()
    if path.is_file():
        return path
    shipped = shipped_scenarios()
    name = path.name.removesuffix(".json")
    if name in shipped and path.parent == Path("."):
        return shipped[name]
    raise InputError(f"no scenario {scenario!r}: it is neither a file nor a shipped scenario", field="SCENARIO",
                     fix=f"give the path of a scenario JSON file, or one of the shipped scenarios: {', '.join(shipped)}.")


# ---------------------------------------------------------------- commands


@telemetry_app.command("score")
def score(
    file: FileArgument,
    interval_s: Annotated[Optional[float], typer.Option("--interval-s", help=escape("Expected interval between readings [s]; a longer gap (> 1.5 x) is a dropout. Default: each stream's median interval."))] = None,
    spike_z: Annotated[float, typer.Option("--spike-z", help=escape("Robust z a spike must reach [robust sd]; lower finds smaller spikes and more false alarms (|z| >= 7 has p = 3e-12 per reading under Gaussian noise)."))] = 7.0,
    step_shift_z: Annotated[float, typer.Option("--step-shift-z", help=escape("Trend-corrected level shift a step must reach [robust sd]."))] = 4.0,
    drift_z: Annotated[float, typer.Option("--drift-z", help=escape("Trend-change statistic a drift must reach [-]."))] = 6.5,
    osc_ratio: Annotated[float, typer.Option("--osc-ratio", help=escape("Spectral peak over the mean noise power an oscillation needs in 3 consecutive frames [-]."))] = 12.0,
    osc_min_hz: Annotated[Optional[float], typer.Option("--osc-min-hz", min=0, max=1000, help=escape("Lowest frequency an oscillation may have [Hz]; default 1/3600 (a 1-h period), so daily and weekly cycles never are. Electromechanical modes are 0.1-2 Hz."))] = None,
    seasonal: Annotated[bool, typer.Option("--seasonal/--no-seasonal", help=escape("Remove each stream's daily profile (weekly from 3 weeks of data) before the spike, step, drift and oscillation tests, so a regular cycle is not an anomaly."))] = True,
    multivariate: Annotated[bool, typer.Option("--multivariate/--no-multivariate", help=escape("Also score each device's streams jointly (robust Mahalanobis distance): finds one sensor breaking from the others."))] = True,
    max_anomalies: Annotated[int, typer.Option("--max", min=1, max=500, help=escape("Anomalies listed, the highest scores (all are counted) [1-500]."))] = 100,
    plot: Annotated[Optional[Path], typer.Option("--plot", help=escape("Draw one stream with its anomalies shaded to this .png/.svg/.pdf (needs `pip install 'gridsage[plot]'`)."))] = None,
    device: Annotated[Optional[str], typer.Option("--device", help=escape("device_id of the stream to --plot (default: the stream with the most anomalies)."))] = None,
    sensor: Annotated[Optional[str], typer.Option("--sensor", help=escape("sensor_type of the stream to --plot, e.g. voltage."))] = None,
    fmt: FormatOption = Format.text,
) -> None:
    """Find spikes, steps, drifts, oscillations, dropouts, flatlines, stale streams and cross-sensor breaks.

    Rows that fail validation are not scored (their number is shown; `gridsage telemetry ingest FILE` lists why).
    Times are UTC. Example: `gridsage telemetry score sim/telemetry.csv --no-multivariate --plot f12.png
    --device feeder-F12 --sensor voltage`.
    """
    from gridsage.tools.telemetry import score_telemetry

    try:
        if (device or sensor) and plot is None:
            raise InputError("--device and --sensor choose the stream of the plot", field="--plot",
                             fix="add --plot anomalies.png, or drop --device/--sensor.")
        with err.status("scoring telemetry ..."):
            result = score_telemetry(str(file), interval_s=interval_s, spike_z=spike_z, step_shift_z=step_shift_z,
                                     drift_z=drift_z, osc_ratio=osc_ratio, seasonal=seasonal,
                                     **({} if osc_min_hz is None else {"osc_min_hz": osc_min_hz}),
                                     multivariate=multivariate, max_anomalies=max_anomalies)
        if plot:
            from gridsage.plotting import plot_anomalies

            with err.status("drawing ..."):
                written = plot_anomalies(result, plot, device=device, sensor=sensor)
            err.print(f"plot written to {written}")
    except GridSageError as exc:
        fail(exc)
    if fmt is Format.json:
        out.print_json(result.model_dump_json())
        return
    out.print(f"[bold]Telemetry anomalies[/] in {escape(str(file))}: {result.readings:,} readings in {result.streams} "
              f"streams, {_t(result.start)} .. {_t(result.end)} UTC \\[{result.evidence_id}]", highlight=False)
    if result.rows_rejected:
        out.print(f"[yellow]rows rejected[/] {result.rows_rejected:,} (not scored): run `gridsage telemetry ingest "
                  f"{escape(str(file))}` for the reasons", highlight=False)
    if not result.counts:
        out.print("[green]no anomalies found[/]")
        return
    order = [k for k in ANOMALY_TYPES if k in result.counts] + [k for k in result.counts if k not in ANOMALY_TYPES]
    out.print("[bold]By type[/]: " + ", ".join(f"{k} {result.counts[k]}" for k in order), highlight=False)
    total = sum(result.counts.values())
    title = "Anomalies, by start" + (f" (the {len(result.anomalies)} highest-scoring of {total})" if result.truncated else "")
    table = Table("type", "device", "sensors", _time("start"), _time("end"), "score", "confidence", "key evidence",
                  title=title, title_justify="left")
    for a in result.anomalies:
        table.add_row(a.type, escape(a.device_id), escape(", ".join(a.sensors)), _t(a.start), _t(a.end),
                      f"{a.score:.3f}", f"{a.confidence:.2f}", escape(_evidence(a)))
    out.print(table)
    if result.truncated:
        out.print("more anomalies were found than listed: raise --max (up to 500)", highlight=False)
    out.print("score: statistic / (statistic + threshold), 0.5 at the threshold; confidence: 1 for observed data "
              "faults, else (statistic - threshold) / threshold, capped at 1", style="dim", highlight=False)


@telemetry_app.command("ingest")
def ingest(
    file: FileArgument,
    tz: TzOption = None,
    max_rejected: Annotated[int, typer.Option("--max-rejected", min=0, max=10_000, help=escape("Rejected rows to list (all are counted) [0-10000]."))] = 100,
    fmt: FormatOption = Format.text,
) -> None:
    """Validate a telemetry file: the readings kept, per stream, and every rejected row with its field and reason.

    Units are converted to the canonical unit of each sensor type (V or pu, A, Hz, MW, Mvar, °C, %, ppm); values
    must be physically possible (e.g. |power factor| <= 1), and times must increase within a stream. Example:
    `gridsage telemetry ingest meters.csv --tz Europe/Paris`.
    """
    from gridsage.tools.telemetry import ingest_telemetry

    try:
        result = ingest_telemetry(str(file), tz=tz, max_rejected=max_rejected)
    except GridSageError as exc:
        fail(exc)
    if fmt is Format.json:
        out.print_json(result.model_dump_json())
        return
    c = result.counts
    colour = {"ok": "green", "rows_rejected": "yellow"}.get(result.status, "bold red")
    out.print(f"[bold]Telemetry ingest[/] {escape(c.source)} \\[{result.evidence_id}]: [{colour}]{escape(result.status)}[/]")
    out.print(f"{c.rows_read:,} rows read: {c.accepted:,} accepted in {c.streams:,} streams, {c.rejected:,} rejected"
              + (" (" + ", ".join(f"{k}: {v:,}" for k, v in c.rejected_by_field.items()) + ")" if c.rejected else ""),
              highlight=False)
    if result.ignored_columns:
        out.print(f"ignored columns: {escape(', '.join(result.ignored_columns))}", highlight=False)
    if result.streams:
        title = "Streams" + (f" (the first {len(result.streams)} of {c.streams})" if c.streams > len(result.streams) else "")
        table = Table("device", "sensor type", "unit", "readings", _time("first"), _time("last"), title=title,
                      title_justify="left")
        for s in result.streams:
            table.add_row(escape(s.device_id), s.sensor_type, escape(s.unit), f"{s.n:,}", _t(s.first_utc), _t(s.last_utc))
        out.print(table)
    if result.rejected_rows:
        csv = c.source.lower().rsplit(".", 1)[-1] not in ("jsonl", "ndjson", "json")
        title = "Rejected rows" + (f" (the first {len(result.rejected_rows)} of {c.rejected:,})"
                                   if c.rejected > len(result.rejected_rows) else "")
        table = Table("row", "file line", "field", "reason", title=title, title_justify="left")
        for r in result.rejected_rows:
            table.add_row(str(r.row), str(r.row + 1 if csv else r.row), escape(r.field), escape(r.reason))
        out.print(table)
        out.print("row: the record number, header excluded" + ("; file line = row + 1 (the header is line 1)" if csv else ""),
                  style="dim", highlight=False)
    elif c.rejected:
        out.print(f"{c.rejected:,} rows rejected; raise --max-rejected to list them", highlight=False)


@telemetry_app.command("monitor")
def monitor(
    file: FileArgument,
    nominal_frequency: Annotated[NominalFrequency, typer.Option("--nominal-frequency", help=escape("System frequency [Hz]: 50 checks the EU SO GL and RfG bands, 60 ERCOT's 59.97-60.03 Hz normal band, its +/-0.10 Hz frequency-event band and NERC PRC-006's 59.3-60.7 Hz UFLS design band."))] = NominalFrequency.hz50,
    nominal_voltage: Annotated[Optional[float], typer.Option("--nominal-voltage", help=escape("Nominal voltage of readings in V or kV [V], e.g. 11000, same basis (phase-neutral or phase-phase); without it they are not checked (readings in pu always are)."))] = None,
    min_power_factor: Annotated[Optional[float], typer.Option("--min-power-factor", help=escape("Minimum |power factor| [-] from your tariff or contract, e.g. 0.9; no standard sets one (IEEE 1459), so without it power factor is not checked."))] = None,
    tz: TzOption = None,
    fmt: FormatOption = Format.text,
) -> None:
    """Check telemetry against cited limits: runs of readings outside the voltage and frequency bands, voltage unbalance, loading, power factor.

    One finding per run of consecutive readings of a stream outside the normal band; its severity is that of the
    outermost band broken, with that band's limit and the standard and clause it comes from. Voltage: ANSI C84.1
    Range A (medium) and Range B (high); 50 Hz: SO GL standard range, steady-state and instantaneous deviations, RfG
    unlimited-operation range (critical); 60 Hz: ERCOT's normal band 59.97-60.03 Hz (low), a +/-0.10 Hz frequency
    event (medium) and NERC PRC-006's UFLS design band 59.3-60.7 Hz (critical); voltage unbalance: ANSI C84.1 Annex D
    3 %; loading: 100 % (NERC TPL-001). Example: `gridsage telemetry monitor feeder.csv --nominal-voltage 11000
    --min-power-factor 0.9`.
    """
    from gridsage.tools.telemetry import monitor_telemetry

    try:
        with err.status("checking telemetry ..."):
            result = monitor_telemetry(path=str(file), tz=tz, nominal_frequency_hz=int(nominal_frequency.value),
                                       nominal_voltage_v=nominal_voltage, min_power_factor=min_power_factor)
    except GridSageError as exc:
        fail(exc)
    if fmt is Format.json:
        out.print_json(result.model_dump_json())
        return
    c = result.counts
    colour = "green" if result.status == "ok" else "bold red"
    out.print(f"[bold]Telemetry monitor[/] {escape(c.source) if c else escape(str(file))}, "
              f"{nominal_frequency.value} Hz system \\[{result.evidence_id}]: [{colour}]{escape(result.status)}[/]")
    if c is not None:
        out.print(f"{c.accepted:,} of {c.rows_read:,} rows accepted in {c.streams:,} streams", highlight=False)
    if result.checked:
        out.print("checked: " + ", ".join(f"{k} {v:,} readings" for k, v in result.checked.items()), highlight=False)
    if result.findings:
        title = "Findings, most severe first" + (f" (the first {len(result.findings)} of {result.findings_total})"
                                                 if result.findings_total > len(result.findings) else "")
        table = Table("severity", "check", "device", _time("start"), _time("end"), "readings", "worst", "limit",
                      "limit from (standard, clause)", title=title, title_justify="left")
        for f in result.findings:
            sign = "<" if f.direction == "below" else ">"
            table.add_row(f"[{SEVERITY_COLOUR.get(f.severity, 'white')}]{f.severity}[/]", f.check, escape(f.device_id),
                          _t(f.start_utc), _t(f.end_utc), str(f.n), escape(f"{f.worst_value:.4g}{_unit(f.unit)}"),
                          escape(f"{sign} {f.limit:.4g}{_unit(f.limit_unit)}"), escape(f.citation.short()))
        out.print(table)
        out.print("[bold]By check[/]: " + ", ".join(f"{k} {v}" for k, v in result.findings_by_check.items()),
                  highlight=False)
        cited = {}
        for f in result.findings:
            cited.setdefault((f.citation.short(), f.citation.note), f.citation)
        out.print("[bold]Limits cited[/]")
        for (short, note), citation in cited.items():
            entry = f" ({citation.entry_id})" if citation.entry_id else ""
            out.print(f"  {escape(short)}{escape(entry)}" + (f": {escape(note)}" if note else ""), highlight=False)
    else:
        out.print("[green]no reading outside the limits checked[/]")
    _notices(result.notices)


@telemetry_app.command("simulate")
def simulate(
    scenario: Annotated[str, typer.Argument(help=escape("Scenario JSON file (base CSV, streams, anomalies), or the name of a shipped one, e.g. feeder_voltage_sag_oscillation."), metavar="SCENARIO", show_default=False)],
    out_dir: Annotated[Path, typer.Option("--out", help=escape("Folder for telemetry.csv and truth.csv (created if missing)."), show_default=False)],
    seed: Annotated[int, typer.Option("--seed", min=0, help=escape("Seed of the sensor noise, the dropped readings and the oscillation phases [-]."))] = 0,
    fmt: FormatOption = Format.text,
) -> None:
    """Simulate labelled telemetry: real demand-shaped streams with injected anomalies, and the ground truth.

    Each stream is offset + scale x a column of the scenario's base CSV (PCHIP-interpolated to the sampling
    interval), plus white noise; spikes, steps, drifts and oscillations are added as a percentage of the clean value
    and dropouts remove readings. telemetry.csv has a `label` column (the injected type per reading); truth.csv lists
    each anomaly. Example: `gridsage telemetry simulate feeder_voltage_sag_oscillation --out sim --seed 3`.
    """
    from gridsage.tools.telemetry import simulate_telemetry

    try:
        path = resolve_scenario(scenario)
        with err.status("simulating ..."):
            result = simulate_telemetry(str(path), str(out_dir), seed=seed)
    except GridSageError as exc:
        fail(exc)
    if fmt is Format.json:
        out.print_json(result.model_dump_json())
        return
    out.print(f"[bold]Simulated telemetry[/] {escape(result.scenario)}, seed {result.seed} \\[{result.evidence_id}]")
    out.print(f"{result.readings:,} readings in {result.streams} streams ({result.lost_readings:,} lost to dropouts)",
              highlight=False)
    out.print(f"telemetry: {escape(result.telemetry_path)}", highlight=False)
    out.print(f"truth:     {escape(result.truth_path)}", highlight=False)
    out.print("[bold]Injected[/]: " + (", ".join(f"{k} {v}" for k, v in result.events.items()) or "nothing"),
              highlight=False)
    truth = _truth_rows(result.truth_path)
    if truth:
        table = Table("type", "device", "sensor", "start [UTC]", "end [UTC]", "amplitude [%]", escape("frequency [Hz]"),
                      "drop probability", title="Ground truth", title_justify="left")
        for row in truth:
            table.add_row(*(escape(row.get(k) or "") for k in ("type", "device_id", "sensor_type", "start", "end",
                                                                "amplitude_pct", "frequency_hz", "drop_probability")))
        out.print(table)
    out.print(f"next: `gridsage telemetry score {escape(result.telemetry_path)}`", highlight=False)


def _truth_rows(path: str) -> list[dict[str, str]]:
    """The rows of the truth.csv the simulator wrote (empty if it cannot be read)."""
    import csv

    try:
        with open(path, newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))
    except (OSError, csv.Error):
        return []
