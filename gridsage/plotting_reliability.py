"""The reliability plot: SAIDI by month (Major Event Days apart) and SAIDI by cause, from a reliability result.

Every value drawn comes from the result of :func:`gridsage.tools.reliability.reliability_indices` (or its dict from
the evidence ledger); nothing is computed here.  matplotlib is imported only when a plot is drawn
(:func:`gridsage.plotting.pyplot_for`).
"""

from __future__ import annotations

from pathlib import Path

from gridsage.plotting import _get, pyplot_for  # _get: a result field, model or dict

__all__ = ["plot_reliability"]


def _rows(items) -> list[dict]:
    return [i if isinstance(i, dict) else i.model_dump() for i in (items or [])]


def plot_reliability(result, path: str | Path) -> Path:
    """Draw a reliability result to ``path`` (.png, .svg or .pdf): SAIDI by month and SAIDI by cause.

    Parameters
    ----------
    result : gridsage.tools.reliability.ReliabilityResult or dict
        From the tool, :func:`~gridsage.tools.reliability.reliability_frame` or the evidence ledger.
    path : str or pathlib.Path

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
    Left: SAIDI per month [min/customer], the part on Major Event Days hatched on top of the rest (IEEE 1366 reports
    MEDs apart).  Right: SAIDI per cause [min/customer], largest first, as horizontal bars with the MED part
    hatched.  The title carries SAIFI, SAIDI and CAIDI for all days and without MEDs, and T_MED.
    """
    path, plt = pyplot_for(path, "--plot")
    months = _rows(_get(result, "by_month"))
    causes = _rows(_get(result, "by_cause"))
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8), gridspec_kw={"width_ratios": [3, 2]})
    labels = [m["key"][-2:] for m in months]
    normal = [m["saidi_min"] - m["saidi_med_min"] for m in months]
    med = [m["saidi_med_min"] for m in months]
    left.bar(labels, normal, color="#1565c0", edgecolor="black", linewidth=0.4, label="days other than MEDs")
    if any(v > 0 for v in med):
        left.bar(labels, med, bottom=normal, color="#ef9a9a", hatch="//", edgecolor="#c62828", linewidth=0.4,
                 label="Major Event Days")
    left.set_xlabel(f"month of {_get(result, 'year')}")
    left.set_ylabel("SAIDI [min]")
    left.set_title("SAIDI by month")
    left.grid(axis="y", alpha=0.3)
    left.legend(fontsize=8)
    if causes:
        names = [c["key"] for c in causes]
        base = [c["saidi_min"] - c["saidi_med_min"] for c in causes]
        right.barh(names, base, color="#1565c0", edgecolor="black", linewidth=0.4)
        right.barh(names, [c["saidi_med_min"] for c in causes], left=base, color="#ef9a9a", hatch="//",
                   edgecolor="#c62828", linewidth=0.4)
        right.invert_yaxis()
    else:
        right.text(0.5, 0.5, "no interruption", ha="center", va="center", transform=right.transAxes)
    right.set_xlabel("SAIDI [min]")
    right.set_title("SAIDI by cause")
    right.grid(axis="x", alpha=0.3)
    fig.suptitle(_title(result), fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _title(result) -> str:
    def line(s) -> str:
        s = s if isinstance(s, dict) else s.model_dump()
        caidi = "n/a" if s.get("caidi_min") is None else f"{s['caidi_min']:.1f} min"
        return f"SAIFI {s['saifi']:.3f}, SAIDI {s['saidi_min']:.1f} min, CAIDI {caidi}"

    text = f"IEEE 1366 indices {_get(result, 'year')} [{_get(result, 'evidence_id') or 'not recorded'}]: " \
           f"{line(_get(result, 'indices'))} (all days)"
    without = _get(result, "indices_excluding_meds")
    med = _get(result, "med")
    threshold = med.get("threshold") if isinstance(med, dict) else getattr(med, "threshold", None)
    if without is not None and threshold is not None:
        t = threshold["t_med_min"] if isinstance(threshold, dict) else threshold.t_med_min
        text += f"\nexcluding Major Event Days (T_MED {t:.1f} min): {line(without)}"
    else:
        text += "\nMajor Event Days not identified (see the result's med.reason)"
    return text
