"""``gridsage health``: transformer hot-spot and ageing, dissolved-gas analysis and a health index, from the shell.

A thin adapter over :func:`gridsage.tools.equipment.transformer_thermal.transformer_thermal`,
:func:`gridsage.tools.equipment.dga.dga_assessment` and
:func:`gridsage.tools.equipment.transformer_health.transformer_health`: it reads the
load profile (a list or a CSV column), calls the tools and prints their
results.  ``--plot`` draws the temperatures the tool computes (needs
matplotlib, imported only when a plot is drawn).

References
----------
.. [1] IEEE Std C57.91-2011, Clauses 5 and 7, suggested temperature limits by loading type.
.. [2] IEC 60076-7:2018, recommended thermal time constants.
.. [3] IEEE Std C57.104-2019, Clause 6 and Table 1.
.. [4] IEC 60599:2015, Clause 5 and Annex B (Duval Triangle 1).
"""

from __future__ import annotations

import math
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from gridsage.cli._shared import OutputFormat as Format, err, fail, out
from gridsage.errors import GridSageError, InputError


#: ambient when none is given [°C]: the 30 °C average of the rating basis (corpus entry ieee-c57-91-rated-hot-spot-temperature)
DEFAULT_AMBIENT_C = 30.0
#: column names tried, in order, when --load-col / --ambient-col is not given
LOAD_COLUMNS = ("load_pu", "load", "k", "pu")
#: the gases the health index needs, as (option, tool argument)
REQUIRED_GASES = (("--h2", "h2_ppm"), ("--ch4", "ch4_ppm"), ("--c2h6", "c2h6_ppm"), ("--c2h4", "c2h4_ppm"),
                  ("--c2h2", "c2h2_ppm"))


class Cooling(str, Enum):
    ONAN = "ONAN"
    ONAF = "ONAF"
    OFAF = "OFAF"
    ODAF = "ODAF"


class ThermalMethod(str, Enum):
    ieee_c57_91 = "ieee_c57_91"
    iec_60076_7 = "iec_60076_7"


class LoadingType(str, Enum):
    normal = "normal"
    planned = "planned"
    long_time_emergency = "long_time_emergency"
    short_time_emergency = "short_time_emergency"


def _gas(flag: str, name: str):
    return typer.Option(flag, help=escape(f"{name} dissolved in the oil [ppm = µL/L]."), rich_help_panel="Dissolved gases")


O2N2Option = Annotated[Optional[float], typer.Option("--o2-n2-ratio", help=escape("O2/N2 ratio of the sample [-]: picks the IEEE C57.104 Table 1 section (<= 0.2 or > 0.2); unknown: the <= 0.2 section, with a note."), rich_help_panel="Dissolved gases")]
FormatOption = Annotated[Format, typer.Option("--format", "-f", help=escape("`text`, or `json`: the tool result (for `transformer`: {\"thermal\": ..., \"health\": ... or null})."))]

health_app = typer.Typer(
    name="health",
    help=(
        "Transformer condition from its load profile and an oil sample, by the standards: hot-spot temperature, "
        "insulation ageing, dissolved-gas analysis and a 0-100 health index.\n\n"
        "`transformer`: top-oil and winding hot-spot temperatures over a per-unit load profile by the IEEE C57.91-2011 "
        "Clause 7 exponential model (IEC 60076-7:2018 time constants by default), the Clause 5 ageing acceleration "
        "F_AA, equivalent ageing F_EQA and loss of life, checked against the C57.91 hot-spot and top-oil limits of "
        "the loading type, with the time to the first limit over an optional projected load. Given an oil sample, "
        "also the health index (GridSage's own weighting of thermal, DGA and age scores, not a standard), a "
        "failure-risk band and the lowest-load maintenance window.\n\n"
        "`dga`: each gas against its IEEE C57.104-2019 Table 1 90th-percentile level, the status one sample allows, "
        "and the IEC 60599:2015 Duval Triangle 1 zone with its meaning.\n\n"
        "Example: `gridsage health transformer --load 0.7,0.8,1.0,1.3,1.3,1.1,0.9 --interval-min 60 --ambient 30 "
        "--h2 400 --ch4 40 --c2h6 10 --c2h4 60 --c2h2 60 --age-years 25 --plot thermal.png`; "
        "`gridsage health dga --h2 400 --ch4 40 --c2h6 10 --c2h4 60 --c2h2 60`."
    ),
    no_args_is_help=True,
)


# ---------------------------------------------------------------- inputs


def _numbers(text: str, option: str) -> list[float]:
    """A comma-separated list of numbers; an InputError names the first item that is not one."""
    values = []
    for i, item in enumerate(text.strip().strip(",").split(",")):
        try:
            values.append(float(item))
        except ValueError:
            raise InputError(f"item {i} of the list, {item.strip()!r}, is not a number", field=option,
                             fix=f"give comma-separated numbers, e.g. {option} 0.8,0.9,1.1.") from None
    return values


def _read_csv(path: Path, option: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and (line number, cells) of the non-blank data rows of a CSV file under a data root
    (:func:`gridsage.tools.paths.readable_file`); errors quote nothing from the file."""
    import csv

    from gridsage.tools.paths import readable_file

    path = readable_file(path, option, suffixes=(".csv", ".txt"))
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = [name.strip() for name in next(reader, [])]
            rows = [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"cannot read {path.name} ({type(exc).__name__})", field=option,
                         fix="give a readable UTF-8 CSV file with a header row.") from None
    if not header or not rows:
        raise InputError(f"{path} has no header row or no data rows", field=option,
                         fix="give a CSV file with a header row and one row per interval.")
    return header, rows


def _column(path: Path, header: list[str], rows, column: str | None, option: str) -> list[float]:
    """The numbers of one column; ``column`` None: the first of :data:`LOAD_COLUMNS` present (any case)."""
    if column is None:
        lower = {name.lower(): name for name in header}
        column = next((lower[name] for name in LOAD_COLUMNS if name in lower), None)
        if column is None:
            raise InputError(f"{path.name} has none of the columns {', '.join(LOAD_COLUMNS)} ({len(header)} column(s))",
                             field=option, fix=f"name the load column [pu] with {option}.")
    if column not in header:
        raise InputError(f"{path.name} has no column {column!r} ({len(header)} column(s))", field=option,
                         fix=f"give the name of one of its columns, as in its header row, to {option}.")
    index = header.index(column)
    values = []
    for line, row in rows:
        cell = row[index].strip() if index < len(row) else ""
        try:
            value = float(cell)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise InputError(f"the value in column {column!r}, line {line} of {path.name}, is not a finite number",
                             field=option, fix="fill or drop the gap in the file first: nothing is interpolated.")
        values.append(value)
    return values


def _profile(load: str | None, load_csv: Path | None, load_col: str | None, ambient: float | None,
             ambient_col: str | None, projected: str | None, projected_csv: Path | None,
             projected_col: str | None) -> tuple[list[float], list[float] | float, list[float]]:
    """Load [pu], ambient [°C] (a list or one value) and projected load [pu] from the options."""
    if (load is None) == (load_csv is None):
        raise InputError("give the load profile once: either --load or --load-csv", field="--load",
                         fix="e.g. --load 0.8,0.9,1.1 (pu per interval), or --load-csv profile.csv --load-col load_pu.")
    if load_csv is None:
        if ambient_col:
            raise InputError("--ambient-col reads a column of --load-csv", field="--ambient-col",
                             fix="use --ambient for a constant ambient with --load, or give --load-csv.")
        loads = _numbers(load, "--load")
        ambient_c: list[float] | float = DEFAULT_AMBIENT_C if ambient is None else ambient
    else:
        header, rows = _read_csv(load_csv, "--load-csv")
        loads = _column(load_csv, header, rows, load_col, "--load-col")
        if ambient_col and ambient is not None:
            raise InputError("both --ambient-col and --ambient are given", field="--ambient",
                             fix="give one: a column of the CSV, or a constant.")
        ambient_c = (_column(load_csv, header, rows, ambient_col, "--ambient-col") if ambient_col
                     else DEFAULT_AMBIENT_C if ambient is None else ambient)
    if projected is not None and projected_csv is not None:
        raise InputError("give the projection once: either --projected or --projected-csv", field="--projected",
                         fix="drop one of them.")
    if projected_csv is not None:
        header, rows = _read_csv(projected_csv, "--projected-csv")
        future = _column(projected_csv, header, rows, projected_col or load_col, "--projected-col")
    else:
        future = [] if projected is None else _numbers(projected, "--projected")
    return loads, ambient_c, future


# ---------------------------------------------------------------- text output


def _print_citations(citations, skip: set[str] = frozenset()) -> None:
    shown = [c for c in citations if c.entry_id not in skip]
    if shown:
        out.print("[bold]Citations[/]")
        for c in shown:
            out.print(f"  {escape(c.short())}" + (f": {escape(c.note)}" if c.note else ""), highlight=False)


def _print_notes(notes: list[str]) -> None:
    for note in notes:
        out.print(f"[yellow]note[/] {escape(note)}", highlight=False)


def _print_thermal(r, projected: bool) -> None:
    dt_h = r.duration_h / r.intervals
    hot, oil = r.limits
    kind = hot.name.removeprefix("hot_spot_").replace("_", "-")
    model = "IEEE C57.91 Clause 7" if r.method == "ieee_c57_91" else "IEC 60076-7 (difference equations)"
    taus = r.tau_top_oil_range_min
    tau = (f"τ_TO {taus[0]:.0f}..{taus[1]:.0f} min with load" if taus and round(taus[0]) != round(taus[1]) else
           f"τ_TO {r.rating.tau_top_oil_min:g} min")
    out.print(f"[bold]Transformer thermal[/] {model}, {r.rating.cooling} (n = {r.n_exponent:g}, "
              f"m = {r.m_exponent:g}, {tau}, τ_W {r.rating.tau_winding_min:g} min), "
              f"{r.intervals} × {dt_h * 60:g} min = {r.duration_h:g} h, {kind} loading \\[{r.evidence_id}]")
    out.print("status: " + ("[green]within the limits[/]" if r.status == "ok" else "[bold red]limit exceeded[/]"))
    table = Table("", escape("peak [°C]"), escape("at [h]"), escape("limit [°C]"), escape("margin [K]"), "limit from",
                  title="Temperatures over the profile", title_justify="left")
    for label, peak, index, limit in (("hot-spot θ_H", r.peak_hot_spot_c, r.peak_hot_spot_index, hot),
                                      ("top oil θ_TO", r.peak_top_oil_c, r.peak_top_oil_index, oil)):
        margin = limit.upper - peak
        table.add_row(label, f"{peak:.1f}", f"{(index + 1) * dt_h:g}", f"{limit.upper:g}",
                      f"[{'red' if margin < 0 else 'green'}]{margin:+.1f}[/]", escape(limit.citation.short()))
    out.print(table)
    if r.peak_load_mva is not None:
        out.print(f"peak load {r.peak_load_mva:.1f} MVA")
    out.print(f"[bold]Ageing[/] F_EQA {r.feqa:.3g} (F_AA {r.faa_min:.3g} .. {r.faa_max:.3g}; {r.hours_faa_above_1:g} h "
              f"ageing faster than normal): loss of life {r.loss_of_life_percent:.3g} % over {r.duration_h:g} h, on the "
              f"{r.normal_life_h:g} h normal insulation life basis", highlight=False)
    if r.time_to_limit_h is None:
        out.print("[bold]Time to limit[/]: no limit exceeded in the profile" + (" or the projection" if projected else ""))
    else:
        where = "in the profile" if r.time_to_limit_h <= r.duration_h + 1e-9 else "in the projection"
        limit = next(lim for lim in r.limits if lim.name == r.limit_reached)
        out.print(f"[bold]Time to limit[/]: {r.time_to_limit_h:g} h from the start ({where}), where the "
                  f"{escape(limit.name)} limit of {limit.upper:g} °C is first exceeded", highlight=False)
    _print_notes(r.notes)
    _print_citations(r.citations)


def _print_health(h, shown: set[str]) -> None:
    colour = "green" if h.health_index >= 80 else "yellow" if h.health_index >= 40 else "red"
    out.print(f"[bold]Health index[/] [{colour}]{h.health_index:g} / 100[/] (GridSage convention) \\[{h.evidence_id}]")
    out.print(f"failure risk: {escape(h.failure_risk)}", highlight=False)
    table = Table("component", "score", "weight", "basis", title="Components (0 worst .. 100 best)",
                  title_justify="left")
    for c in h.components:
        table.add_row(c.name, f"{c.score:g}", f"{c.weight:.2f}", escape(c.basis))
    out.print(table)
    w = h.maintenance_window
    if w is not None:
        series = "projected load" if w.searched == "projected_load_pu" else "load profile"
        out.print(f"[bold]Maintenance window[/]: {w.start_h:g} h .. {w.end_h:g} h from the start, mean load "
                  f"{w.mean_load_pu:g} pu (lowest-load window of the {series})", highlight=False)
    _print_notes(h.notes)
    _print_citations(h.citations, skip=shown)


def _print_dga(d) -> None:
    out.print(f"[bold]DGA screen[/], one sample: IEEE C57.104-2019 Table 1, {escape(d.o2_n2_column)} section, "
              f"unknown age \\[{d.evidence_id}]", highlight=False)
    table = Table("gas", escape("measured [ppm]"), escape("Table 1 level [ppm]"), "", title_justify="left",
                  title="Gases against the 90th-percentile levels")
    for g in d.gases:
        table.add_row(g.gas, f"{g.ppm:g}", f"{g.table_1_ppm:g}", "[red]above[/]" if g.above else "[green]at or below[/]")
    out.print(table)
    out.print(f"status: {'[green]' if d.status == 'ok' else '[bold red]'}{escape(d.ieee_status)}[/]", highlight=False)
    if d.duval_zone is None:
        out.print("Duval Triangle 1 (IEC 60599 Annex B): not applied (no CH4, C2H4 or C2H2)")
    else:
        shares = ", ".join(f"{k} {v:g}" for k, v in (d.duval_percent or {}).items())
        out.print(f"Duval Triangle 1 (IEC 60599 Annex B): zone [bold]{d.duval_zone}[/], {escape(d.duval_meaning or '')} "
                  f"({shares})", highlight=False)
    v = d.verdict
    if v is not None:
        out.print(f"[bold]Combined verdict[/]: {escape(v.fault_class or 'no class')} ({v.status}: {escape(v.agreement)}"
                  + (f"; dissenting: {escape(', '.join(f'{k} {c}' for k, c in v.dissenting.items()))}" if v.dissenting
                     else "") + f"); partial discharge by hydrogen: {escape(v.partial_discharge_by_hydrogen)}",
                  highlight=False)
        table = Table("method", "zone", "class", "votes", title="Each method's reading", title_justify="left")
        for m in v.methods:
            table.add_row(m.method, escape(m.zone or "-"), escape(m.fault_class or "-"), "yes" if m.counted else "no")
        out.print(table)
    _print_notes(d.notes)
    _print_citations(d.citations)


# ---------------------------------------------------------------- commands


@health_app.command("transformer")
def transformer(
    interval_min: Annotated[float, typer.Option("--interval-min", help=escape("Length of each interval of the profile [min], e.g. 60 for hourly data."))],
    load: Annotated[Optional[str], typer.Option("--load", help=escape("Load profile K per interval, comma-separated [pu of rated], e.g. 0.8,0.9,1.1,1.3."))] = None,
    load_csv: Annotated[Optional[Path], typer.Option("--load-csv", help=escape("CSV file with a header row and one row per interval (instead of --load)."))] = None,
    load_col: Annotated[Optional[str], typer.Option("--load-col", help=escape(f"Load column of --load-csv [pu of rated] (default: the first of {', '.join(LOAD_COLUMNS)})."))] = None,
    ambient_col: Annotated[Optional[str], typer.Option("--ambient-col", help=escape("Ambient temperature column of --load-csv [°C]."))] = None,
    ambient: Annotated[Optional[float], typer.Option("--ambient", help=escape(f"Constant ambient temperature [°C] (default {DEFAULT_AMBIENT_C:g} °C, the average ambient of the IEEE C57.91 rating basis)."))] = None,
    cooling: Annotated[Cooling, typer.Option("--cooling", case_sensitive=False, help=escape("Cooling mode: sets the IEEE C57.91 exponents n, m and the IEC 60076-7 time constants."))] = Cooling.ONAN,
    loading_type: Annotated[LoadingType, typer.Option("--loading-type", help=escape("IEEE C57.91 loading type: sets the hot-spot and top-oil limits."))] = LoadingType.normal,
    projected: Annotated[Optional[str], typer.Option("--projected", help=escape("Projected load after the profile, comma-separated [pu], same interval: for the time to limit."))] = None,
    projected_csv: Annotated[Optional[Path], typer.Option("--projected-csv", help=escape("CSV of the projected load after the profile [pu], same interval (instead of --projected)."))] = None,
    projected_col: Annotated[Optional[str], typer.Option("--projected-col", help=escape("Column of --projected-csv [pu] (default: as --load-col)."))] = None,
    h2: Annotated[Optional[float], _gas("--h2", "Hydrogen H2")] = None,
    ch4: Annotated[Optional[float], _gas("--ch4", "Methane CH4")] = None,
    c2h6: Annotated[Optional[float], _gas("--c2h6", "Ethane C2H6")] = None,
    c2h4: Annotated[Optional[float], _gas("--c2h4", "Ethylene C2H4")] = None,
    c2h2: Annotated[Optional[float], _gas("--c2h2", "Acetylene C2H2")] = None,
    co: Annotated[Optional[float], _gas("--co", "Carbon monoxide CO (optional)")] = None,
    co2: Annotated[Optional[float], _gas("--co2", "Carbon dioxide CO2 (optional)")] = None,
    o2_n2_ratio: O2N2Option = None,
    age_years: Annotated[Optional[float], typer.Option("--age-years", help=escape("Service age [years]: adds the age component to the health index (needs the gases)."))] = None,
    maintenance_hours: Annotated[Optional[float], typer.Option("--maintenance-hours", help=escape("Outage length to place at the lowest load [h] (needs the gases)."))] = None,
    plot: Annotated[Optional[Path], typer.Option("--plot", help=escape("Draw hot-spot and top-oil temperatures with the limits to this .png/.svg/.pdf (needs `pip install 'gridsage[plot]'`)."))] = None,
    method: Annotated[ThermalMethod, typer.Option("--method", help=escape("Thermal model: `ieee_c57_91` (Clause 7 exponential steps, top-oil time constant by load) or `iec_60076_7` (the loading guide's difference-equation model, its k11/k21/k22 constants and limits)."))] = ThermalMethod.ieee_c57_91,
    fmt: FormatOption = Format.text,
) -> None:
    """Hot-spot and top-oil temperature, insulation ageing and time to limit over a load profile; with an oil sample, the health index.

    IEEE C57.91-2011 Clause 7 temperatures (or IEC 60076-7 with --method iec_60076_7) from the steady state at the first load, Clause 5 ageing (F_EQA, loss of
    life on the 180 000 h basis), the hot-spot and top-oil limits of the loading type. Given --h2 --ch4 --c2h6 --c2h4
    --c2h2, also the 0-100 health index (thermal, DGA and, with --age-years, age), its failure-risk band and, with
    --maintenance-hours, the lowest-load outage window. Example:
    `gridsage health transformer --load-csv day.csv --load-col load_pu --ambient-col temp_c --interval-min 15
    --projected-csv tomorrow.csv --h2 10 --ch4 5 --c2h6 5 --c2h4 3 --c2h2 0 --maintenance-hours 4 --plot day.png`.
    """
    from gridsage.tools.equipment import TransformerRating, transformer_thermal

    gases = {"h2_ppm": h2, "ch4_ppm": ch4, "c2h6_ppm": c2h6, "c2h4_ppm": c2h4, "c2h2_ppm": c2h2}
    try:
        loads, ambient_c, future = _profile(load, load_csv, load_col, ambient, ambient_col, projected, projected_csv,
                                            projected_col)
        missing = [flag for flag, name in REQUIRED_GASES if gases[name] is None]
        wanted = any(v is not None for v in (*gases.values(), co, co2, o2_n2_ratio, age_years, maintenance_hours))
        if wanted and missing:
            raise InputError(f"the health index needs H2, CH4, C2H6, C2H4 and C2H2; missing {', '.join(missing)}",
                             field=missing[0], fix="give --h2 --ch4 --c2h6 --c2h4 --c2h2 [ppm] from the oil sample, "
                                                   "or drop the DGA, age and maintenance options for the thermal study alone.")
        with err.status("computing temperatures and ageing ..."):
            thermal = transformer_thermal(loads, ambient_c, interval_min, cooling=cooling.value,
                                          loading_type=loading_type.value, projected_load_pu=future or None,
                                          method=method.value)
            health = None
            if not missing:
                from gridsage.tools.equipment import transformer_health

                health = transformer_health(loads, ambient_c, interval_min, **gases, co_ppm=co, co2_ppm=co2,
                                            o2_n2_ratio=o2_n2_ratio,
                                            rating=TransformerRating(cooling=cooling.value, method=method.value),
                                            loading_type=loading_type.value, projected_load_pu=future or None,
                                            age_years=age_years, maintenance_hours=maintenance_hours)
        if ambient is None and not ambient_col:
            err.print(f"no ambient given: {DEFAULT_AMBIENT_C:g} °C, the average ambient of the IEEE C57.91 rating basis")
        if plot:
            from gridsage.plotting import plot_thermal

            err.print(f"plot written to {plot_thermal(thermal, loads, ambient_c, future, plot)}")
    except GridSageError as exc:
        fail(exc)
    if fmt is Format.json:
        import json

        out.print_json(json.dumps({"thermal": thermal.model_dump(mode="json"),
                                   "health": None if health is None else health.model_dump(mode="json")}))
        return
    _print_thermal(thermal, projected=bool(future))
    if health is not None:
        out.print()
        _print_health(health, shown={c.entry_id for c in thermal.citations})


@health_app.command("dga")
def dga(
    h2: Annotated[float, _gas("--h2", "Hydrogen H2")],
    ch4: Annotated[float, _gas("--ch4", "Methane CH4")],
    c2h6: Annotated[float, _gas("--c2h6", "Ethane C2H6")],
    c2h4: Annotated[float, _gas("--c2h4", "Ethylene C2H4")],
    c2h2: Annotated[float, _gas("--c2h2", "Acetylene C2H2")],
    co: Annotated[Optional[float], _gas("--co", "Carbon monoxide CO (optional)")] = None,
    co2: Annotated[Optional[float], _gas("--co2", "Carbon dioxide CO2 (optional)")] = None,
    o2_n2_ratio: O2N2Option = None,
    fmt: FormatOption = Format.text,
) -> None:
    """Screen one oil sample: each gas against IEEE C57.104-2019 Table 1 and the IEC 60599 Duval Triangle 1 zone.

    One sample gives status 1 (every gas at or below its 90th-percentile level) or "status 2 or 3"; the change and
    rate checks need earlier samples. Example: `gridsage health dga --h2 400 --ch4 40 --c2h6 10 --c2h4 60 --c2h2 60
    --co 300 --co2 3000 --o2-n2-ratio 0.1`.
    """
    from gridsage.tools.equipment import dga_assessment

    try:
        result = dga_assessment(h2_ppm=h2, ch4_ppm=ch4, c2h6_ppm=c2h6, c2h4_ppm=c2h4, c2h2_ppm=c2h2, co_ppm=co,
                                co2_ppm=co2, o2_n2_ratio=o2_n2_ratio)
    except GridSageError as exc:
        fail(exc)
    if fmt is Format.json:
        out.print_json(result.model_dump_json())
        return
    _print_dga(result)
