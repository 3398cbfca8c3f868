"""Transformer health index: thermal duty, dissolved gases and age in one 0-100 score, with a maintenance window.

:func:`transformer_health` runs the IEEE C57.91 thermal model
(:func:`~gridsage.tools.equipment.transformer_thermal.transformer_thermal`) and the DGA
screen (:func:`~gridsage.tools.equipment.dga.dga_assessment`), scores each, and
optionally the service age, and combines them by GridSage's own weighting
(not a standard: the standards govern only the inputs) into a health index,
a failure-risk band and, on request, the lowest-load window for an outage.
Every component names the evidence it rests on, and the result carries the
citations of both inputs.

References
----------
.. [1] IEEE Std C57.91-2011, "IEEE Guide for Loading Mineral-Oil-Immersed
   Transformers and Step-Voltage Regulators": Clauses 5 and 7, suggested
   temperature limits by loading type (thermal component, normal insulation
   life of the age component).
.. [2] IEEE Std C57.104-2019, "IEEE Guide for the Interpretation of Gases
   Generated in Mineral Oil-Immersed Transformers": Table 1 (DGA component).
.. [3] IEC 60599:2015, "Mineral oil-filled electrical equipment in service -
   Guidance on the interpretation of dissolved and free gases analysis":
   Clause 5 and Annex B (Duval zone of the DGA component).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from gridsage.errors import InputError
from gridsage.knowledge.citation import Citation
from gridsage.tools.base import ToolResult, tool
from gridsage.tools.equipment.dga import DgaResult, O2N2Ratio, OptionalPpm, Ppm, dga_assessment
from gridsage.tools.equipment.transformer_thermal import (
    Ambient,
    IntervalMin,
    LoadingTypeArg,
    LoadProfile,
    Projection,
    TransformerRating,
    TransformerThermalResult,
    transformer_thermal,
)

# ---- GridSage's own health-index convention (not from a standard) ----
#: component weights; renormalised over the components present
WEIGHTS = {"thermal": 0.4, "dga": 0.4, "age": 0.2}
#: DGA score when some gas is above Table 1, by Duval zone (IEC 60599: D2 and T3 urgent, PD and T1 monitor)
ZONE_SCORES = {"PD": 50, "T1": 50, "T2": 30, "D1": 30, "DT": 20, "T3": 10, "D2": 10}
#: DGA score above Table 1 without a Duval zone (no CH4, C2H4 or C2H2)
ABOVE_TABLE_1_SCORE = 60
#: the index is at most the worst component score plus this, so one failing component is not averaged away
WORST_COMPONENT_MARGIN = 25
#: (lowest index, band) from best to worst
RISK_BANDS = [(80, "low: routine maintenance"), (60, "moderate: shorten inspection and sampling intervals"),
              (40, "elevated: plan investigation and consider limiting load"),
              (20, "high: investigate promptly, limit load, prepare contingency"),
              (0, "very high: consider removing from service after specialist review")]


class HealthComponent(BaseModel):
    """One input to the health index."""

    name: Literal["thermal", "dga", "age"]
    score: float = Field(ge=0, le=100, description="0 worst .. 100 best.")
    weight: float = Field(description="Weight in the index [-], after renormalising over the components present.")
    basis: str = Field(description="What the score rests on.")
    evidence: str | None = Field(default=None, description="Evidence id of the tool result it rests on.")


class MaintenanceWindow(BaseModel):
    """The lowest-load contiguous window of the requested length."""

    start_h: float = Field(description="Start [h from the start of load_pu].")
    end_h: float = Field(description="End [h from the start of load_pu].")
    mean_load_pu: float = Field(description="Mean load over the window [pu].")
    searched: Literal["load_pu", "projected_load_pu"] = Field(description="Series searched.")


class TransformerHealthResult(ToolResult):
    """A 0-100 health index with its components, a failure-risk band and an optional maintenance window."""

    health_index: float = Field(ge=0, le=100, description="0 worst .. 100 best (GridSage convention).")
    failure_risk: str = Field(description="Risk band and what to do.")
    components: list[HealthComponent]
    maintenance_window: MaintenanceWindow | None = None
    notes: list[str] = Field(default_factory=list)
    citations: list[Citation]


def _thermal_score(thermal: TransformerThermalResult) -> tuple[float, str]:
    import numpy as np

    life = float(np.clip(100 - 30 * np.log2(max(thermal.feqa, 1e-12)), 0, 100))
    hot_limit, oil_limit = thermal.limits
    margin = min(hot_limit.upper - thermal.peak_hot_spot_c, oil_limit.upper - thermal.peak_top_oil_c)
    headroom = 0.0 if margin < 0 else float(np.interp(margin, [0, 10], [30, 100]))
    score = min(life, headroom)
    basis = (f"F_EQA {thermal.feqa:.3g} over {thermal.duration_h:g} h (ageing score {life:.0f}); peak hot-spot "
             f"{thermal.peak_hot_spot_c:.1f}/{hot_limit.upper:g} °C, top oil {thermal.peak_top_oil_c:.1f}/"
             f"{oil_limit.upper:g} °C, margin {margin:.1f} K (margin score {headroom:.0f})")
    if thermal.time_to_limit_h is not None and margin >= 0:
        score = min(score, 50.0)
        basis += f"; the projection exceeds {thermal.limit_reached} after {thermal.time_to_limit_h:g} h (capped at 50)"
    return score, basis


def _dga_score(dga: DgaResult) -> tuple[float, str]:
    if dga.status == "ok":
        return 100.0, f"IEEE C57.104 {dga.ieee_status}"
    above = ", ".join(g.gas for g in dga.gases if g.above)
    score = ZONE_SCORES[dga.duval_zone] if dga.duval_zone else ABOVE_TABLE_1_SCORE
    zone = f"Duval zone {dga.duval_zone} ({dga.duval_meaning})" if dga.duval_zone else "no Duval zone"
    return float(score), f"{above} above Table 1 ({dga.ieee_status}); {zone}"


def _maintenance_window(series: list[float], hours: float, interval_min: float, offset: int,
                        searched: str) -> MaintenanceWindow:
    import numpy as np

    width = round(hours * 60 / interval_min)
    if not 1 <= width <= len(series):
        raise InputError(f"a {hours:g} h window is {width} intervals of {interval_min:g} min, but {searched} has "
                         f"{len(series)}", field="maintenance_hours",
                         fix=f"ask for at least one interval and at most {len(series) * interval_min / 60:g} h.")
    means = np.convolve(np.asarray(series, dtype=float), np.ones(width) / width, mode="valid")
    start = int(np.argmin(means))
    return MaintenanceWindow(start_h=(offset + start) * interval_min / 60, end_h=(offset + start + width) * interval_min / 60,
                             mean_load_pu=round(float(means[start]), 4), searched=searched)


@tool
def transformer_health(
    load_pu: LoadProfile,
    ambient_c: Ambient,
    interval_min: IntervalMin,
    h2_ppm: Ppm,
    ch4_ppm: Ppm,
    c2h6_ppm: Ppm,
    c2h4_ppm: Ppm,
    c2h2_ppm: Ppm,
    co_ppm: OptionalPpm = None,
    co2_ppm: OptionalPpm = None,
    o2_n2_ratio: O2N2Ratio = None,
    rating: Annotated[TransformerRating | None, Field(description="Thermal data; default typical 65 °C-rise ONAN values.")] = None,
    loading_type: LoadingTypeArg = "normal",
    projected_load_pu: Projection = None,
    age_years: Annotated[float | None, Field(ge=0, le=150, description="Service age [years]; None leaves age out.")] = None,
    maintenance_hours: Annotated[float | None, Field(gt=0, description="Length of a maintenance outage to place [h].")] = None,
) -> TransformerHealthResult:
    """Health index 0-100 of a transformer from its thermal duty, one DGA sample and optionally its age.

    Parameters
    ----------
    load_pu, ambient_c, interval_min, loading_type, projected_load_pu
        As for :func:`transformer_thermal`.
    h2_ppm, ch4_ppm, c2h6_ppm, c2h4_ppm, c2h2_ppm, co_ppm, co2_ppm, o2_n2_ratio
        As for :func:`dga_assessment`.
    rating : TransformerRating, optional
        Cooling, rated rises [K], loss ratio [-], time constants [min].
    age_years : float, optional
        Service age [years].
    maintenance_hours : float, optional
        Outage length [h]; adds the lowest-load window of that length in the
        projection (or, without one, in the profile).

    Returns
    -------
    TransformerHealthResult
        The index, each component's score, weight, basis and evidence id, the
        failure-risk band, the maintenance window, notes and citations.

    Notes
    -----
    The weighting is GridSage's own convention, not a standard; the standards
    govern only the inputs.  Thermal score: the lower of an ageing score
    100 − 30·log2(F_EQA) and a margin score (30 at the limit to 100 at 10 K
    below the tighter of the hot-spot and top-oil limits; 0 above a limit),
    capped at 50 when only the projection exceeds a limit.  DGA score: 100 at
    or below Table 1, else by Duval zone (:data:`ZONE_SCORES`).  Age score:
    100 − 50·age/normal life (the 180 000 h basis, about 20.5 years, is an
    ageing yardstick, not a service-life prediction).  Weights
    (:data:`WEIGHTS`) are renormalised over the components present, and the
    index is at most the worst score plus :data:`WORST_COMPONENT_MARGIN`.

    References
    ----------
    .. [1] IEEE C57.91-2011, Clauses 5 and 7, temperature limits by loading type (thermal).
    .. [2] IEEE C57.104-2019, Table 1; IEC 60599:2015, Clause 5 and Annex B (DGA).
    """
    import numpy as np

    rating = rating or TransformerRating()
    thermal = transformer_thermal(load_pu, ambient_c, interval_min, **rating.model_dump(), loading_type=loading_type,
                                  projected_load_pu=projected_load_pu)
    dga = dga_assessment(h2_ppm, ch4_ppm, c2h6_ppm, c2h4_ppm, c2h2_ppm, co_ppm, co2_ppm, o2_n2_ratio)
    scored = [("thermal", *_thermal_score(thermal), thermal.evidence_id), ("dga", *_dga_score(dga), dga.evidence_id)]
    if age_years is not None:
        life_y = thermal.normal_life_h / 8760
        scored.append(("age", float(np.clip(100 - 50 * age_years / life_y, 0, 100)),
                       (f"{age_years:g} years against the {thermal.normal_life_h:g} h ({life_y:.1f} y) normal "
                        "insulation life basis, an ageing yardstick rather than a life prediction"), None))
    total = sum(WEIGHTS[name] for name, *_ in scored)
    components = [HealthComponent(name=name, score=round(score, 1), weight=round(WEIGHTS[name] / total, 4), basis=basis,
                                  evidence=evidence) for name, score, basis, evidence in scored]
    mean = sum(c.score * c.weight for c in components)
    index = round(min(mean, min(c.score for c in components) + WORST_COMPONENT_MARGIN), 1)
    window = None
    if maintenance_hours is not None:
        series, offset, searched = ((projected_load_pu, len(load_pu), "projected_load_pu") if projected_load_pu
                                    else (load_pu, 0, "load_pu"))
        window = _maintenance_window(series, maintenance_hours, interval_min, offset, searched)
    notes = ["Weights and scores are GridSage's convention, not a standard; the standards cited govern the inputs."]
    if age_years is None:
        notes.append("Age not given: the index rests on the thermal and DGA components only.")
    citations = list({c.entry_id: c for c in thermal.citations + dga.citations}.values())
    return TransformerHealthResult(status="ok", health_index=index,
                                   failure_risk=next(band for low, band in RISK_BANDS if index >= low),
                                   components=components, maintenance_window=window, notes=notes, citations=citations)
