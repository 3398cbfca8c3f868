"""``gridsage estimate``: the state of a grid estimated from SCADA/PMU readings, and the meters that look wrong.

A thin adapter over :func:`gridsage.tools.estimation.estimate_state` (weighted least squares with pandapower's
estimator, numerical observability check, chi-square and largest-normalised-residual bad-data tests).

References
----------
.. [1] A. Abur, A. G. Exposito, "Power System State Estimation: Theory and Implementation", 2004, ch. 4-5.
.. [2] F. C. Schweppe et al., IEEE Trans. PAS-89(1), 1970.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.markup import escape

from gridsage.cli._shared import Dispatch, DispatchOption, GridOption, OutputFormat, app, as_json, fail, load_grid_id, out
from gridsage.errors import GridSageError


@app.command(help=(
    "State estimation: the bus voltages, injections and branch loadings that best fit the meters (weighted least "
    "squares, pandapower), after a numerical observability check; the chi-square test and the largest normalised "
    "residual test name the meters that look wrong (Abur & Exposito 2004, ch. 5).\n\n"
    "`--measurements`: readings in the telemetry format (device_id, sensor_type, value, unit, timestamp, quality) "
    "with sensor types voltage (V or pu), voltage_angle (deg), active_power (MW), reactive_power (Mvar), current (A). "
    "`--mapping`: CSV device_id, sensor_type, element_type (bus|line|trafo), element (pandapower index), side "
    "(from|to, hv|lv, blank for a bus), std_dev (optional). Bus powers are net injections into the grid "
    "(generation positive); branch powers flow into the branch at that side.\n\n"
    "Example: `gridsage estimate --grid pglib_opf_case14_ieee --measurements data/readings.csv --mapping "
    "data/mapping.csv`; `gridsage estimate -g pglib_opf_case118_ieee --measurements r.csv --mapping m.csv "
    "--at 2026-01-15T12:00:00Z --format json`. A seeded test set with planted gross errors: the tool "
    "`simulate_measurements` (MCP or Python) writes readings.csv and mapping.csv."))
def estimate(
    grid: GridOption,
    measurements: Annotated[str, typer.Option("--measurements", "-m", help="Readings file (CSV or JSON lines, telemetry format) under a data root.")],
    mapping: Annotated[str, typer.Option("--mapping", help="Device-to-element mapping CSV under a data root.")],
    at: Annotated[Optional[str], typer.Option("--at", help="Use the latest readings at or before this ISO 8601 time with offset (default: the latest in the file).")] = None,
    max_age: Annotated[float, typer.Option("--max-age", min=1, help="Oldest reading used before --at [s].")] = 900.0,
    chi2_probability: Annotated[float, typer.Option("--chi2-probability", min=1e-9, max=0.49, help="False-alarm probability of the chi-square test [-].")] = 0.01,
    lnr_threshold: Annotated[float, typer.Option("--lnr-threshold", min=0.1, max=100, help="Normalised residual above which a meter is named bad [-].")] = 3.0,
    save_as: Annotated[Optional[str], typer.Option("--save-as", help="Also hold the estimated state as a grid with this id (in this process).")] = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f", help="`text` (a short report) or `json` (the tool result).")] = OutputFormat.text,
    base_dispatch: DispatchOption = Dispatch.auto,
) -> None:
    from gridsage.tools.estimation import estimate_state

    try:
        grid_id = load_grid_id(grid, base_dispatch)
        result = estimate_state(grid_id, measurements, mapping, at=at, max_age_s=max_age,
                                chi2_probability=chi2_probability, lnr_threshold=lnr_threshold, save_as=save_as)
    except GridSageError as exc:
        fail(exc)
        return
    if as_json(result, fmt):
        return
    print_report(grid, result)


def print_report(grid: str, r) -> None:
    """The engineer's short report of a :class:`~gridsage.tools.estimation.StateEstimationResult`."""
    c = r.counts
    out.print(f"[bold]{escape(grid)}[/] state estimation: [bold]{r.status}[/] \\[{r.evidence_id}]")
    out.print(f"Meters used m = {c.meters_used}, states n = {c.states}, redundancy m/n = {c.redundancy:.2f}; "
              f"{c.missing_meters} missing meter(s), {c.readings_without_mapping} reading stream(s) without mapping, "
              f"{c.mapping_rejected} mapping row(s) and {c.readings_rejected} reading(s) rejected.")
    if r.chi_square:
        x = r.chi_square
        out.print(f"Chi-square: J = {x.j:.1f} {'<=' if x.passed else '>'} {x.threshold:.1f} (dof {x.dof}, "
                  f"p {x.probability:g}): {'passed' if x.passed else 'bad data detected'}.")
    for s in r.suspects:
        pair = f"; cannot be told apart from {', '.join(s.ambiguous_with)}" if s.ambiguous_with else ""
        out.print(f"[red]suspect[/] {escape(s.device_id)}/{s.sensor_type} ({escape(s.label)}): measured "
                  f"{s.measured:.4g} {s.unit}, estimated {s.estimated:.4g} {s.unit}, normalised residual "
                  f"{s.normalised_residual:.1f}{' (removed)' if s.removed else ''}{escape(pair)}")
    if r.status == "unobservable":
        out.print(f"Unobservable buses: {', '.join(map(str, r.unobservable_buses[:30]))}"
                  + (" ..." if len(r.unobservable_buses) > 30 else ""))
        out.print("Missing measurements (add these to make it observable):")
        for m in r.missing_measurements:
            out.print(f"  - {escape(m.label)}")
    if r.vm_min and r.vm_max:
        out.print(f"Voltage: lowest bus {r.vm_min.bus} at {r.vm_min.vm_pu:.4f} pu, highest bus {r.vm_max.bus} at "
                  f"{r.vm_max.vm_pu:.4f} pu.")
    if r.max_loading and r.max_loading.loading_percent is not None:
        out.print(f"Loading: highest {r.max_loading.element} {r.max_loading.index} at "
                  f"{r.max_loading.loading_percent:.1f} % of rating.")
    if r.saved_grid_id:
        out.print(f"Estimated state held as grid {escape(r.saved_grid_id)}.")
    for row in r.mapping_rejected[:10]:
        out.print(f"[yellow]mapping row {row.row}[/] {row.field}: {escape(row.reason)}")
    for row in r.readings_rejected[:10]:
        out.print(f"[yellow]reading row {row.row}[/] {row.field}: {escape(row.reason)}")
    for note in r.notes:
        out.print(f"[yellow]note[/] {escape(note)}")
