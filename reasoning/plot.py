"""A picture of the assessment: branch loading before, after the events, after the plan; N-1 risks.

Every bar is a value from the assessment's evidence ledger (power-flow and
N-1 tool results); nothing is computed here.  Needs matplotlib
(``pip install 'gridsage[plot]'``), imported only when a plot is drawn.
"""

from __future__ import annotations

from pathlib import Path

from gridsage.errors import InputError

from .assessment import Assessment


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


def plot_assessment(a: Assessment, path: Path) -> Path:
    """Draw the assessment's branch loadings and N-1 risks to an image file.

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
        If matplotlib is not installed.

    Notes
    -----
    Left: every branch overloaded after the events, its loading [% of rating]
    before the events, after them, and after the whole action plan, against
    the thermal limit (NERC TPL-001-5.1 Table 1).  Right: the worst single
    outages of the post-event grid, by highest branch loading [%].
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise InputError("plotting needs matplotlib", field="plot", fix="pip install 'gridsage[plot]'") from None

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
