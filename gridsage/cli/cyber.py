"""``gridsage cyber``: triage security and OT logs into MITRE ATT&CK for ICS detections, and simulate labelled OT logs.

A thin adapter over :func:`gridsage.tools.cyber.triage.triage_logs` (ingestion, baselines, rules, ATT&CK mapping,
the grid impact of commands) and :func:`gridsage.tools.cyber.simulate.simulate_ot_logs`.  ``triage --plot`` draws
the detections on a timeline (:func:`gridsage.plotting.plot_detections`; needs matplotlib, imported only when a plot
is drawn).  Log content is data: every log field printed here went through
:func:`gridsage.tools.cyber._untrusted.shown` in the tool, and is escaped again for the terminal.

References
----------
.. [1] MITRE ATT&CK for ICS, version 16.1. © The MITRE Corporation. This work is reproduced and distributed with the
   permission of The MITRE Corporation.
.. [2] NERC CIP-007-6 R4 (security event monitoring), CIP-008-6 R4 (incident reporting).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from gridsage.cli._shared import Dispatch, OutputFormat as Format, err, fail, load_grid_id, out
from gridsage.errors import GridSageError, InputError

#: severities, most severe first, and their colours
SEVERITY_COLOUR = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan"}
#: log formats the triage reads ('auto' detects each file's)
LOG_FORMATS = ("auto", "syslog", "zeek", "suricata", "windows_csv", "windows_json", "protocol_csv")

cyber_app = typer.Typer(
    name="cyber",
    help=(
        "Security and OT (SCADA) logs: triage them into MITRE ATT&CK for ICS detections with their grid impact, or "
        "simulate a labelled OT network's logs to try it on.\n\n"
        "`triage`: reads syslog (RFC 5424/3164), Zeek (conn, modbus, dnp3, ...; TSV or JSON), Suricata EVE JSON, "
        "Windows event exports (CSV/JSON) and protocol-record CSV (Modbus/TCP, DNP3, IEC 60870-5-104, IEC 61850 MMS); "
        "every bad row is listed by file, line and field, good rows are kept. It learns the routine (per source-"
        "destination pair and function code) from `--baseline` logs of a quiet period, or from the logs themselves, "
        "and reports discovery scans, unauthorised commands, parameter changes, program downloads, denial of service "
        "or view, brute-force logons and rogue masters, each with its ATT&CK for ICS technique, tactic and data "
        "source. With `--grid` and `--point-map` it says what each commanded breaker does to the grid (load cut "
        "off, AC power flow and N-1 afterwards); with `--telemetry` whether it actually opened.\n\n"
        "`simulate`: a small SCADA system's logs (polling, operators' routine) with injected attack chains and a "
        "label per line (labels.csv).\n\n"
        "Files are read only under the data roots (GRIDSAGE_DATA_DIRS, default ./data) and written only under the "
        "output folder (GRIDSAGE_OUTPUT_DIR, default ./gridsage-output). Log text is never printed: fields that do "
        "not read as identifiers show as `<untrusted text: N chars, sha256 ...>`.\n\n"
        "Example: `gridsage cyber simulate --out ot --attacks T0846,T0855` (writes to ./gridsage-output/ot), then "
        "`gridsage cyber triage gridsage-output/ot/*.csv gridsage-output/ot/*.log --plot detections.png`."
    ),
    no_args_is_help=True,
)


def _split(text: str | None) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


@cyber_app.command("triage")
def triage(
    files: Annotated[list[Path], typer.Argument(help=escape("Log files under a data root; the format of each is detected from its content (or --log-format)."), metavar="FILE...", show_default=False)],
    log_format: Annotated[str, typer.Option("--log-format", help=escape(f"Format of every FILE: {', '.join(LOG_FORMATS)}."))] = "auto",
    tz: Annotated[Optional[str], typer.Option("--tz", help=escape("IANA zone of times without a UTC offset (RFC 3164 syslog, naive Windows times), e.g. Europe/Paris; default such rows are rejected."))] = None,
    baseline: Annotated[Optional[list[Path]], typer.Option("--baseline", help=escape("Logs of a known-good period to learn the routine from (repeat the option per file); default the routine is learnt from FILE... themselves."))] = None,
    grid: Annotated[Optional[str], typer.Option("--grid", "-g", help=escape("Grid the commanded points belong to: a built-in name (`gridsage grids`), PGLib-OPF name, or a .m / .mat / pandapower .json file. Needs --point-map."))] = None,
    point_map: Annotated[Optional[Path], typer.Option("--point-map", help=escape("CSV destination,object,element[,description]: which grid element (e.g. switch:3, line:5) each outstation point operates."))] = None,
    telemetry: Annotated[Optional[Path], typer.Option("--telemetry", help=escape("Telemetry readings (device_id naming the element, e.g. line:5) to confirm whether a commanded branch actually opened."))] = None,
    max_detections: Annotated[int, typer.Option("--max", min=1, max=500, help=escape("Detections listed, most severe first (all are counted) [1-500]."))] = 50,
    plot: Annotated[Optional[Path], typer.Option("--plot", help=escape("Draw the detections on a timeline, one row per technique, to this .png/.svg/.pdf (needs `pip install 'gridsage[plot]'`)."))] = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help=escape("`text`, or `json`: the tool result."))] = Format.text,
) -> None:
    """Triage logs into ATT&CK for ICS detections, with the grid impact of the commands they carry.

    The verdict is fixed by rule, never by a model: `attack_suspected` when a detection has high or critical
    severity (commands, parameter changes, program downloads, denial of control), `suspicious` for lower-severity
    detections only, `no_findings` otherwise. Exit code 0 either way; 2 on a usage error. Example:
    `gridsage cyber triage logs/modbus.csv logs/conn.log --baseline quiet/modbus.csv --grid mv_oberrhein
    --point-map points.csv`.
    """
    from gridsage.tools.cyber.triage import triage_logs

    try:
        if log_format not in LOG_FORMATS:
            raise InputError(f"unknown log format {log_format[:40]!r}", field="--log-format",
                             fix=f"use one of {', '.join(LOG_FORMATS)}.")
        if (grid is None) != (point_map is None):
            raise InputError("the grid impact needs both the grid and the point map", field="--point-map" if grid else "--grid",
                             fix="give --grid and --point-map together, or neither (then the impact is not assessed).")
        grid_id = load_grid_id(grid, Dispatch.auto) if grid else None
        with err.status(f"triaging {len(files)} file(s) ..."):
            result = triage_logs(paths=[str(f) for f in files], format=log_format, tz=tz,
                                 baseline_paths=[str(b) for b in baseline] if baseline else None, grid=grid_id,
                                 point_map=str(point_map) if point_map else None,
                                 telemetry=str(telemetry) if telemetry else None, max_detections=max_detections)
        if plot:
            from gridsage.plotting import plot_detections

            with err.status("drawing ..."):
                written = plot_detections(result, plot)
            err.print(f"plot written to {written}")
    except GridSageError as exc:
        fail(exc)
    if fmt is Format.json:
        out.print_json(result.model_dump_json())
        return
    _print_triage(result)


def _print_triage(result) -> None:
    colour = {"attack_suspected": "bold red", "suspicious": "yellow", "no_findings": "green"}[result.verdict]
    out.print(f"[bold]Cyber triage[/]: [{colour}]{result.verdict}[/] \\[{result.evidence_id}]", highlight=False)
    out.print(escape(result.summary), highlight=False)
    files = Table("file", "format", "read", "accepted", "rejected", title="Logs read", title_justify="left")
    for c in result.files:
        files.add_row(escape(c.file), c.format, f"{c.read:,}", f"{c.accepted:,}", f"{c.rejected:,}")
    out.print(files)
    if result.detections:
        table = Table("id", "severity", "technique", "tactic", "source", "records", "first [UTC]", "last [UTC]", "why",
                      title=f"Detections ({len(result.detections)} listed, {result.detections_omitted} more in the evidence)",
                      title_justify="left")
        for d in result.detections:
            table.add_row(d.id, f"[{SEVERITY_COLOUR.get(d.severity, '')}]{d.severity}[/]",
                          escape(f"{d.technique_id} {d.technique}"), escape(", ".join(d.tactics)),
                          escape(d.source or "-"), f"{d.records:,}", f"{d.first_utc:%Y-%m-%d %H:%M:%S}",
                          f"{d.last_utc:%H:%M:%S}", escape(d.reason))
        out.print(table)
    for i in result.impacts:
        out.print(f"[bold]grid impact[/] {escape(i.consequence)}", highlight=False)
    for note in result.not_checked:
        out.print(f"[yellow]not checked[/] {escape(note)}", highlight=False)
    if result.citations:
        out.print("standards: " + ", ".join(escape(c) for c in result.citations) + " (`gridsage knowledge show ID`)",
                  highlight=False)
    out.print(f"[dim]{escape(result.attribution)}[/]", highlight=False)


@cyber_app.command("simulate")
def simulate(
    out_dir: Annotated[Path, typer.Option("--out", help=escape("Folder for the logs and labels.csv; a relative path is taken under the output folder (GRIDSAGE_OUTPUT_DIR, default ./gridsage-output); created if missing."), show_default=False)],
    seed: Annotated[int, typer.Option("--seed", min=0, help=escape("Seed of every random draw [-]."))] = 0,
    hours: Annotated[float, typer.Option("--hours", min=0.25, max=744, help=escape("Span simulated [h]; each attack chain needs at least 5 min."))] = 24.0,
    attacks: Annotated[Optional[str], typer.Option("--attacks", help=escape("ATT&CK for ICS techniques to inject, comma-separated, one chain each: T0846, T0855, T0836, T0843, T0814, T0815, T0859, T0848 (default all; 'none' for routine traffic only)."))] = None,
    rtus: Annotated[int, typer.Option("--rtus", min=1, max=200, help=escape("Outstations [-]; their protocols cycle through Modbus/TCP, DNP3, IEC 104 and MMS."))] = 6,
    poll_s: Annotated[float, typer.Option("--poll-s", min=0.1, max=600, help=escape("Polling cycle of the SCADA master [s]."))] = 2.0,
    fmt: Annotated[Format, typer.Option("--format", "-f", help=escape("`text`, or `json`: files and chains."))] = Format.text,
) -> None:
    """Simulate a small SCADA system's logs with labelled ATT&CK for ICS attack chains.

    Writes modbus.csv, dnp3.csv, iec104.csv, mms.csv (protocol records), windows_events.csv, syslog.log (RFC 5424),
    conn.log (Zeek) and labels.csv (file, line, technique_id, chain_id). Example:
    `gridsage cyber simulate --out ot --hours 6 --attacks T0855,T0836 --seed 7`.
    """
    import json

    from gridsage.tools.cyber.simulate import simulate_ot_logs, write_simulation
    from gridsage.tools.paths import writable_dir

    try:
        chosen = None if attacks is None else ([] if attacks.strip().lower() == "none" else _split(attacks))
        folder = writable_dir(out_dir, "--out")
        with err.status("simulating ..."):
            try:
                sim = simulate_ot_logs(seed=seed, hours=hours, attacks=chosen, rtus=rtus, poll_s=poll_s)
            except InputError as exc:
                field = exc.field or ""
                raise InputError(exc.message, field="--attacks" if field.startswith("attacks") else f"--{field.replace('_', '-')}",
                                 fix=exc.fix) from None
            paths = write_simulation(sim, folder)
    except GridSageError as exc:
        fail(exc)
    chains = sim.chains.assign(start=sim.chains["start"].astype(str), end=sim.chains["end"].astype(str))
    if fmt is Format.json:
        out.print_json(json.dumps({"seed": seed, "lines": len(sim.records), "files": {k: str(v) for k, v in paths.items()},
                                   "chains": chains.to_dict(orient="records")}))
        return
    out.print(f"[bold]Simulated OT logs[/], seed {seed}: {len(sim.records):,} lines in {len(paths) - 1} files", highlight=False)
    for key, path in paths.items():
        out.print(f"  {key:<10} {escape(str(path))}", highlight=False)
    if len(chains):
        table = Table("chain", "technique", "start [UTC]", "end [UTC]", "source", "lines", title="Attack chains (ground truth)",
                      title_justify="left")
        for row in chains.itertuples():
            table.add_row(row.chain_id, escape(f"{row.technique_id} {row.technique}"), row.start[:19], row.end[11:19],
                          escape(str(row.source)), f"{row.lines:,}")
        out.print(table)
    logs = " ".join(escape(str(p)) for k, p in paths.items() if k != "labels")
    out.print(f"next: `gridsage cyber triage {logs}`", highlight=False)
