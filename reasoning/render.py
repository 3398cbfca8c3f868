"""Renderers: the Assessment as a terminal report, markdown, or JSON.

The text report reads like an experienced engineer's short note: what
happened, what is at risk, what to do first and why, each number followed by
the evidence id that produced it.
"""

from __future__ import annotations

import textwrap
from typing import Literal

from .assessment import Assessment

Format = Literal["text", "markdown", "json"]
_MARK = {"critical": "!!! ", "high": "!!  ", "medium": "!   ", "low": ".   ", "info": "    "}
#: findings listed in the text report (markdown and JSON list all)
FINDINGS_SHOWN = 12
#: timeline events listed in the text report (markdown and JSON list all)
TIMELINE_SHOWN = 20


def _ids(ids: list[str]) -> str:
    return "[" + ", ".join(ids) + "]"


def _effects(step, limit: int = 4) -> str:
    parts = [f"{e.element.name.split(' (')[0]} {e.before:g}->{'n/a' if e.after is None else f'{e.after:g}'} {e.unit}"
             for e in step.effects[:limit]]
    more = f", +{len(step.effects) - limit} more" if len(step.effects) > limit else ""
    return "; ".join(parts) + more


def _wrap(text: str, indent: str = "  ") -> str:
    return textwrap.fill(text, width=100, initial_indent=indent, subsequent_indent=indent)


def _cites(citations) -> str:
    return "; ".join(c.brief() for c in citations)


def _interval(c) -> str:
    """``' (interval +1.20..+3.40 °C)'`` of a cause's bootstrap interval, or ``''``."""
    return "" if c.ci_low is None or c.ci_high is None else f" (interval {c.ci_low:+.2f}..{c.ci_high:+.2f} {c.unit})"


def render_text(a: Assessment) -> str:
    """The Assessment as a plain-text engineer's report (about 40 lines)."""
    studied = {"grid": f"Grid {a.source} -> {a.grid_id}", "cyber": f"Logs {a.source}",
               "reliability": f"Outage record {a.source}"}.get(a.kind, f"Telemetry {a.source}")
    out = [f"GridSage assessment: {a.title or a.scenario}", f"{studied} | verdict: {a.verdict} | planner: {a.planner}"]
    if a.question:
        out += ["", _wrap(f"Question: {a.question}", "")]
    out += ["", "WHAT HAPPENED", _wrap(a.situation)]
    out += ["", f"FINDINGS ({len(a.findings)})"]
    for f in a.findings[:FINDINGS_SHOWN]:
        cite = f" ({_cites(f.citations)})" if f.citations else ""
        out.append(f"  {_MARK[f.severity]}{f.severity.upper():<8} {f.title}{cite} {_ids(f.evidence_ids)}")
        if f.context:
            out.append(_wrap(f"where: {f.context}", "               "))
    if len(a.findings) > FINDINGS_SHOWN:
        out.append(f"  ... and {len(a.findings) - FINDINGS_SHOWN} more of lower or equal severity (--format markdown or json lists all)")
    if a.causes:
        out += ["", "WHY (causal attribution of the deviation; shares of the excess)"]
        out += [f"  {c.share_percent:>6.1f} %  {c.node:<28} {c.contribution:+.2f} {c.unit}{_interval(c)}  "
                f"{c.description or ''} {_ids(c.evidence_ids)}".rstrip() for c in a.causes]
    if a.timeline:
        out += ["", f"TIMELINE ({len(a.timeline)} events)", "  time [s]  event          element       loading %  MW lost  cumulative MW"]
        for t in a.timeline[:TIMELINE_SHOWN]:
            out.append(f"  {t.time_s:>8.2f}  {t.event:<14} {t.element or '':<13} "
                       f"{'' if t.loading_percent is None else f'{t.loading_percent:.1f}':>9}  {t.load_lost_mw:>7.1f}  "
                       f"{t.cumulative_load_lost_mw:>13.1f} {_ids(t.evidence_ids)}")
        if len(a.timeline) > TIMELINE_SHOWN:
            out.append(f"  ... and {len(a.timeline) - TIMELINE_SHOWN} more (--format markdown or json lists all)")
    out += ["", "AT RISK NEXT", _wrap(a.contingency_summary)]
    for r in a.contingency_risks[:5]:
        worst = f"{r.max_loading_element.name.split(' (')[0]} at {r.max_loading_percent:.1f} %" if r.max_loading_element else "n/a"
        island = (f", islands {len(r.islanded_buses)} bus(es), {r.lost_load_mw:g} MW of load, {r.lost_generation_mw:g} MW of "
                  "generation" if r.islanded_buses else "")
        out.append(f"  {r.rank:>2}. loss of {r.outage.name}: {worst}, {r.violation_count} violation(s){island} {_ids(r.evidence_ids)}")
    out += ["", "WHAT TO DO FIRST (proposals validated by AC power flow; GridSage operates nothing)" if a.kind == "grid" else
            "WHAT TO DO FIRST (advice; GridSage operates nothing)"]
    if not a.action_plan and a.kind == "grid":
        out.append("  No action proposed.")
    for s in a.action_plan:
        out.append(f"  {s.order}. {s.description} {_ids(s.evidence_ids)}")
        out.append(_wrap(f"Effect: {_effects(s)}. {s.rationale}", "     "))
        if s.context:
            out.append(_wrap(f"Where: {s.context}", "     "))
        for c in s.citations:
            out.append(_wrap(f"Note: {c.note} ({c.brief()})", "     "))
    out += [_wrap(a.plan_outcome)]
    if a.restoration_plan:
        out += ["", "RESTORATION (proposals; GridSage operates nothing)"]
        out += [_wrap(f"{r.order}. {r.description}: {r.restored_mw:.1f} MW" + ("" if r.cumulative_percent is None else
                      f"; load served {r.cumulative_percent:.1f} % of pre-event") + f" {_ids(r.evidence_ids)}", "  ")
                for r in a.restoration_plan]
    out += ["", f"CONFIDENCE: {a.confidence} ({a.confidence_reason})", "ASSUMPTIONS"]
    out += [_wrap(f"- {x}", "  ") for x in a.assumptions]
    out += ["", "STANDARDS APPLIED (gridsage knowledge show ID)"]
    out += [_wrap(f"{c.short()} [{c.entry_id}]: {c.note or ''}".rstrip(": "), "  ") for c in a.citations]
    out += ["", "EVIDENCE  " + "  ".join(f"{k}={v.tool}" for k, v in a.evidence.items())]
    return "\n".join(out) + "\n"


def render_markdown(a: Assessment) -> str:
    """The Assessment as markdown (headings, tables), for tickets and chat."""
    studied = {"grid": f"*Grid* `{a.source}` → `{a.grid_id}`", "cyber": f"*Logs* `{a.source}`",
               "reliability": f"*Outage record* `{a.source}`"}.get(
        a.kind, f"*Telemetry* `{a.source}`")
    out = [f"# {a.title or a.scenario}", "", f"{studied} · *verdict* **{a.verdict}** · *planner* {a.planner} · "
           f"*confidence* **{a.confidence}** ({a.confidence_reason})", ""]
    if a.question:
        out += [f"> {a.question}", ""]
    out += ["## What happened", "", a.situation, "", "## Findings", "", "| severity | finding | standard | evidence |", "|---|---|---|---|"]
    out += [f"| {f.severity} | {f.title}{'<br>' + f.context if f.context else ''} | {_cites(f.citations)} | "
            f"{', '.join(f.evidence_ids)} |" for f in a.findings]
    if a.causes:
        out += ["", "## Why (causal attribution)", "", "| share % | cause | contribution | interval | what | evidence |",
                "|---|---|---|---|---|---|"]
        out += [f"| {c.share_percent:.1f} | `{c.node}` | {c.contribution:+.2f} {c.unit} | {_interval(c).strip(' ()')} | "
                f"{c.description or ''} | {', '.join(c.evidence_ids)} |" for c in a.causes]
    if a.timeline:
        out += ["", "## Timeline", "", "| time [s] | event | element | loading % | MW lost | cumulative MW | evidence |",
                "|---|---|---|---|---|---|---|"]
        out += [f"| {t.time_s:.2f} | {t.event} | {t.element or ''} | "
                f"{'' if t.loading_percent is None else f'{t.loading_percent:.1f}'} | {t.load_lost_mw:.1f} | "
                f"{t.cumulative_load_lost_mw:.1f} | {', '.join(t.evidence_ids)} |" for t in a.timeline]
    out += ["", "## At risk next (N-1)", "", a.contingency_summary, "",
            "| rank | outage | worst branch | loading % | violations | islanded buses | evidence |", "|---|---|---|---|---|---|---|"]
    out += [f"| {r.rank} | {r.outage.name} | {r.max_loading_element.name if r.max_loading_element else ''} | "
            f"{'' if r.max_loading_percent is None else f'{r.max_loading_percent:.1f}'} | {r.violation_count} | "
            f"{len(r.islanded_buses)} | {', '.join(r.evidence_ids)} |" for r in a.contingency_risks]
    out += ["", "## What to do first", "", "_Proposals, each validated by an AC power flow on a copy; GridSage operates nothing._", ""]
    for s in a.action_plan:
        out.append(f"{s.order}. **{s.description}** ({s.outcome}; evidence {', '.join(s.evidence_ids)})  ")
        out.append(f"   {_effects(s, 8)}. {s.rationale}" + (f" Where: {s.context}." if s.context else ""))
    out += ["", a.plan_outcome]
    if a.restoration_plan:
        out += ["", "## Restoration", "", "| step | action | MW restored | load served % of pre-event | evidence |",
                "|---|---|---|---|---|"]
        out += [f"| {r.order} | {r.description} | {r.restored_mw:.1f} | "
                f"{'' if r.cumulative_percent is None else f'{r.cumulative_percent:.1f}'} | {', '.join(r.evidence_ids)} |"
                for r in a.restoration_plan]
    out += ["", "## Assumptions", ""] + [f"- {x}" for x in a.assumptions]
    out += ["", "## Standards applied", ""] + [f"- {c.short()} (`{c.entry_id}`): {c.note or ''}" for c in a.citations]
    out += ["", "## Evidence", "", "| id | tool |", "|---|---|"] + [f"| {k} | {v.tool} |" for k, v in a.evidence.items()]
    return "\n".join(out) + "\n"


def render(a: Assessment, fmt: Format = "text") -> str:
    """Render an Assessment as ``'text'``, ``'markdown'`` or ``'json'`` (with the evidence ledger)."""
    if fmt == "json":
        return a.model_dump_json(indent=2) + "\n"
    return render_markdown(a) if fmt == "markdown" else render_text(a)
