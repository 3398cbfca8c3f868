"""``gridsage losses``: energy losses of a grid over a load profile, one AC power flow per interval.

A thin adapter over :func:`gridsage.tools.reliability.losses.energy_losses`: totals, peak, loss and load factors, and
the branches that lose the most energy; ``--plot`` draws the losses [MW] and the load served [MW] over time (twin
axes) from the result's per-interval series.

References
----------
.. [1] W. H. Kersting, *Distribution System Modeling and Analysis*, 4th ed., CRC Press, 2017, Chapter 2 (load factor,
   loss factor).
.. [2] CEER, "2nd CEER Report on Power Losses", C17-EQS-80-03, 2017 (losses as a share of the energy entering the
   network).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from gridsage.cli._shared import Dispatch, DispatchOption, GridOption, OutputFormat, app, as_json, err, fail, load_grid_id, out
from gridsage.errors import GridSageError


@app.command(help=(
    "Energy losses over a load profile: one AC power flow per interval (lightsim2grid batch solver when installed, "
    "else pandapower). The profile is a CSV with `timestamp` (ISO 8601 with offset), `load_scaling` [-] and "
    "optionally `sgen_scaling` and `gen_scaling` [-]; bad rows are rejected and named, failed intervals named and left out of the "
    "totals. Example: `gridsage losses --grid mv_oberrhein --profile year.csv --plot losses.png`."))
def losses(
    grid: GridOption,
    profile: Annotated[str, typer.Option("--profile", "-p", help="Profile CSV under a data root (GRIDSAGE_DATA_DIRS): timestamp, load_scaling[, sgen_scaling][, gen_scaling].")],
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f", help="`text` tables or `json` (the tool result).")] = OutputFormat.text,
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Draw the losses [MW] and the load served [MW] over time to this .png/.svg/.pdf.")] = None,
    max_branches: Annotated[int, typer.Option("--max-branches", min=0, max=1000, help="Branches listed by energy loss.")] = 10,
    base_dispatch: DispatchOption = Dispatch.auto,
) -> None:
    from gridsage.tools.reliability.losses import MAX_PROFILE_ROWS, energy_losses

    try:
        if plot is not None:
            from gridsage.plotting import pyplot_for

            pyplot_for(plot, field="--plot")  # refuse a bad suffix before any work
        grid_id = load_grid_id(grid, base_dispatch)
        with err.status("solving one power flow per interval ..."):
            result = energy_losses(grid_id, profile, max_branches=max_branches,
                                   max_series=MAX_PROFILE_ROWS if plot is not None else 168)
        if plot is not None:
            err.print(f"plot written to {plot_losses(result, plot)}")
    except GridSageError as exc:
        fail(exc)
    if as_json(result, fmt):
        return
    print_losses(result)


def _fmt(value, spec: str = ".4g", unit: str = "") -> str:
    return "-" if value is None else f"{value:{spec}}{unit}"


def print_losses(r) -> None:
    """The result as text: totals, peak, factors, top branches, failed intervals and rejected rows."""
    colour = {"ok": "green", "partial": "yellow", "failed": "red"}[r.status]
    out.print(f"[bold]{escape(r.grid_id)}[/] energy losses over {escape(r.profile)} - [{colour}]{r.status}[/] "
              f"({r.method}, {r.elapsed_s:.2f} s) " + escape(f"[{r.evidence_id}]"), highlight=False)
    out.print(f"  {r.start} to {r.end}: {r.intervals_total} intervals, {r.intervals_solved} solved, "
              f"{r.intervals_failed} failed; {r.hours_solved:.6g} of {r.hours_total:.6g} h", highlight=False)
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("quantity")
    table.add_column("value", justify="right")
    rows = [("energy lost [MWh]", _fmt(r.energy_loss_mwh, ".6g")),
            ("load energy served [MWh]", _fmt(r.energy_load_mwh, ".6g")),
            ("losses / (load + losses) [%]", _fmt(r.loss_percent, ".3f")),
            ("peak loss [MW]", f"{_fmt(r.peak_loss_mw, '.4g')} at {r.peak_loss_time or '-'}"),
            ("mean loss [MW]", _fmt(r.mean_loss_mw, ".4g")),
            ("loss factor F_LS = mean / peak loss [-]", _fmt(r.loss_load_factor, ".3f")),
            ("load factor F_LD [-]", _fmt(r.load_factor, ".3f")),
            ("Kersting estimate 0.16 F_LD + 0.84 F_LD^2 [-]", _fmt(r.loss_factor_estimate, ".3f"))]
    if r.intervals_failed:
        rows.append(("load energy of failed intervals [MWh]", _fmt(r.energy_load_not_covered_mwh, ".6g")))
    if r.islanded_buses:
        rows.append((f"load energy at {r.islanded_buses} islanded buses [MWh]", _fmt(r.energy_load_unsupplied_mwh, ".6g")))
    for name, value in rows:
        table.add_row(name, value)
    out.print(table)
    if r.top_branches:
        top = Table(title="branches by energy loss", show_header=True, header_style="bold", box=None, pad_edge=False)
        for col, justify in (("branch", "left"), ("energy [MWh]", "right"), ("share [%]", "right"),
                             ("peak [MW]", "right")):
            top.add_column(col, justify=justify)
        for b in r.top_branches:
            top.add_row(escape(b.name), f"{b.energy_loss_mwh:.6g}", f"{b.share_percent:.2f}", f"{b.peak_loss_mw:.4g}")
        out.print(top)
        if r.branches_omitted:
            out.print(f"  ... and {r.branches_omitted} more branches with losses (--max-branches)")
    if r.intervals_failed:
        shown = ", ".join(r.failed_first)
        more = f" and {r.intervals_failed - len(r.failed_first)} more" if r.intervals_failed > len(r.failed_first) else ""
        out.print(f"[yellow]failed intervals[/] (left out of the totals): {escape(shown)}{more}", highlight=False)
    if r.rows_rejected:
        out.print(f"[yellow]{r.rows_rejected} profile rows rejected[/] of {r.rows_read}:", highlight=False)
        for row in r.rejected_rows[:10]:
            out.print(f"  row {row.row} {row.field}: {escape(row.reason)}", highlight=False)
    for note in r.notes:
        out.print(f"[dim]note[/] {escape(note)}", highlight=False)


def plot_losses(result, path: Path) -> Path:
    """Draw the losses [MW] (left axis) and the load served [MW] (right axis) over time; failed intervals marked."""
    import pandas as pd

    from gridsage.plotting import pyplot_for

    path, plt = pyplot_for(path, field="--plot")
    t = pd.to_datetime([s.timestamp for s in result.series], format="ISO8601", utc=True)
    loss = [s.loss_mw if s.solved else float("nan") for s in result.series]
    load = [s.load_mw if s.solved else float("nan") for s in result.series]
    fig, ax = plt.subplots(figsize=(10, 4.5), layout="constrained")
    ax.plot(t, loss, color="tab:red", lw=1.0, label="losses")
    ax.set_ylabel("losses [MW]", color="tab:red")
    ax2 = ax.twinx()
    ax2.plot(t, load, color="tab:blue", lw=0.8, alpha=0.7, label="load served")
    ax2.set_ylabel("load served [MW]", color="tab:blue")
    failed = [x for x, s in zip(t, result.series) if not s.solved]
    for x in failed[:200]:
        ax.axvline(x, color="grey", lw=0.6, ls=":")
    ax.set_xlabel("time (UTC)")
    share = f", {result.loss_percent:.2f} %" if result.loss_percent is not None else ""
    ax.set_title(f"{result.grid_id}: {result.energy_loss_mwh:.4g} MWh lost over {result.hours_solved:.4g} h{share}; "
                 f"{result.intervals_failed} failed intervals [{result.evidence_id}]", fontsize=10)
    ax.grid(alpha=0.3)
    lines = ax.get_lines()[:1] + ax2.get_lines()[:1]
    ax.legend(lines, [x.get_label() for x in lines], loc="upper left", fontsize=8)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
