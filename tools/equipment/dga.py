"""Dissolved-gas analysis of one oil sample: IEEE C57.104 Table 1 levels and the IEC 60599 Duval Triangle 1.

Each gas is compared with its 90th-percentile level of IEEE C57.104-2019
Table 1 (unknown-age column, in the section of the sample's O2/N2 ratio),
which tells status 1 from "status 2 or 3" as far as a single sample can; the
shares of CH4, C2H4 and C2H2 place the sample in a Duval Triangle 1 zone
(:func:`duval_triangle_1`), read in the words of the IEC 60599 fault classes
(:func:`zone_meaning`).  The tool :func:`dga_assessment` does both.

Every figure taken from a standard is read from the standards corpus, and
every result carries the citations of the clauses it applies.

References
----------
.. [1] IEEE Std C57.104-2019, "IEEE Guide for the Interpretation of Gases
   Generated in Mineral Oil-Immersed Transformers": Clause 6 (status), Table 1.
.. [2] IEC 60599:2015, "Mineral oil-filled electrical equipment in service -
   Guidance on the interpretation of dissolved and free gases analysis":
   Clause 5 (fault classes), Annex B (Duval Triangle 1).
.. [3] M. Duval, "A review of faults detectable by gas-in-oil analysis in
   transformers", IEEE Electrical Insulation Magazine 18(3), 2002.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from gridsage.errors import InputError
from gridsage.knowledge.citation import Citation
from gridsage.knowledge.limits import cite, corpus_entry, figure
from gridsage.tools.base import ToolResult, finite_values, tool

#: corpus entries applied here
TABLE_1 = "ieee-c57-104-90th-percentile-gas-levels"
DGA_STATUS = "ieee-c57-104-dga-status-levels"
DUVAL = "iec-60599-duval-triangle-1"
FAULT_CLASSES = "iec-60599-fault-classes"

DuvalZone = Literal["PD", "D1", "D2", "T1", "T2", "T3", "DT"]

_GASES = {"h2": "H2", "ch4": "CH4", "c2h6": "C2H6", "c2h4": "C2H4", "c2h2": "C2H2", "co": "CO", "co2": "CO2"}
STATUS_1 = "status 1 (all gases at or below the 90th percentile)"
STATUS_2_OR_3 = ("above the 90th percentile: status 2 or 3 (the 95th-percentile Table 2 is not in the corpus, "
                 "so 2 and 3 are not told apart)")

Ppm = Annotated[float, Field(ge=0, allow_inf_nan=False, description="Gas dissolved in the oil, named by the argument [ppm = µL/L].")]
OptionalPpm = Annotated[float | None, Field(ge=0, allow_inf_nan=False, description="Gas dissolved in the oil [ppm]; None: not measured.")]
O2N2Ratio = Annotated[float | None, Field(ge=0, allow_inf_nan=False, description="O2/N2 ratio of the sample [-]; None: unknown (the <= 0.2 column of Table 1 is used).")]


def duval_triangle_1(ch4_ppm: float, c2h4_ppm: float, c2h2_ppm: float) -> DuvalZone:
    """The Duval Triangle 1 zone of a gas sample.

    Parameters
    ----------
    ch4_ppm, c2h4_ppm, c2h2_ppm : float
        Methane, ethylene and acetylene dissolved in the oil [ppm].

    Returns
    -------
    {'PD', 'D1', 'D2', 'T1', 'T2', 'T3', 'DT'}
        The zone of (%CH4, %C2H4, %C2H2), the shares of their sum [%].

    Raises
    ------
    InputError
        If a value is negative or not finite, or all three are 0.

    Notes
    -----
    Zones are tested in the order PD, T1, T2, T3, D1, D2, else DT.  On a
    shared boundary the bound stated as 'at least' or 'at most' in the corpus
    entry belongs to that zone (T1 takes C2H4 = 20 %, T3 takes C2H4 = 50 %,
    D1 takes C2H4 = 23 %).

    References
    ----------
    .. [1] IEC 60599:2015, Annex B (Duval Triangle 1); M. Duval, "A review of faults
       detectable by gas-in-oil analysis in transformers", IEEE Electr. Insul. Mag. 18(3), 2002.
    """
    gases = {"ch4_ppm": ch4_ppm, "c2h4_ppm": c2h4_ppm, "c2h2_ppm": c2h2_ppm}
    for field, value in gases.items():
        finite_values(value, field, minimum=0)
    total = sum(gases.values())
    if total == 0:
        raise InputError("CH4, C2H4 and C2H2 are all 0: there is no fault gas to classify", field="ch4_ppm",
                         fix="apply the triangle only when these gases are present (above typical levels and rising).")
    ch4, c2h4, c2h2 = (100 * v / total for v in gases.values())
    f = {name: figure(DUVAL, name)[0] for name in (
        "pd_ch4_percent_min", "t1_c2h2_percent_max", "t1_c2h4_percent_max", "t2_c2h2_percent_max",
        "t3_c2h4_percent_min", "t3_c2h2_percent_max", "d1_c2h2_percent_min", "d1_c2h4_percent_max",
        "d2_c2h2_percent_min", "d2_c2h2_percent_min_c2h4_above_40")}
    d2_c2h4_max = float(corpus_entry(DUVAL).figure("d2_c2h4_percent_range")[1])
    if ch4 >= f["pd_ch4_percent_min"]:
        return "PD"
    if c2h2 <= f["t1_c2h2_percent_max"] and c2h4 <= f["t1_c2h4_percent_max"]:
        return "T1"
    if c2h2 <= f["t2_c2h2_percent_max"] and c2h4 < f["t3_c2h4_percent_min"]:
        return "T2"
    if c2h4 >= f["t3_c2h4_percent_min"] and c2h2 <= f["t3_c2h2_percent_max"]:
        return "T3"
    if c2h2 >= f["d1_c2h2_percent_min"] and c2h4 <= f["d1_c2h4_percent_max"]:
        return "D1"
    if (c2h2 >= f["d2_c2h2_percent_min"] and c2h4 <= d2_c2h4_max) or c2h2 >= f["d2_c2h2_percent_min_c2h4_above_40"]:
        return "D2"
    return "DT"


def zone_meaning(zone: DuvalZone) -> str:
    """What a Duval zone means, in the words of the IEC 60599 fault classes (temperatures from the corpus)."""
    t1, t3 = figure(FAULT_CLASSES, "t1_temperature_c_max")[0], figure(FAULT_CLASSES, "t3_temperature_c_min")[0]
    return {"PD": "partial discharge: corona-type discharge in oil or small sparks pinholing the paper",
            "D1": "discharge of low energy: tracking or punctures in paper, carbon particles in oil",
            "D2": "discharge of high energy: power-follow arcing with carbonisation, metal fusion",
            "T1": f"thermal fault below {t1:g} °C",
            "T2": f"thermal fault between {t1:g} °C and {t3:g} °C",
            "T3": f"thermal fault above {t3:g} °C: carbonised oil, discoloured or melted metal",
            "DT": "mixture of thermal and electrical faults"}[zone]


class GasLevel(BaseModel):
    """One gas against its IEEE C57.104 Table 1 level."""

    gas: str = Field(description="Formula, e.g. 'C2H2'.")
    ppm: float = Field(description="Measured concentration [ppm].")
    table_1_ppm: float = Field(description="90th-percentile level, unknown-age column [ppm].")
    above: bool = Field(description="True when ppm exceeds table_1_ppm.")


class DgaResult(ToolResult):
    """A single-sample DGA screen: Table 1 levels, the IEEE C57.104 status it allows, and the Duval zone."""

    status: Literal["ok", "above_90th_percentile"] = Field(description="'ok' when every gas is at or below Table 1.")
    ieee_status: str = Field(description="IEEE C57.104-2019 status as far as one sample and Table 1 tell.")
    o2_n2_column: str = Field(description="Table 1 section applied, e.g. 'O2/N2 <= 0.2'.")
    gases: list[GasLevel]
    duval_zone: DuvalZone | None = Field(description="Duval Triangle 1 zone; None without CH4, C2H4 and C2H2.")
    duval_meaning: str | None = None
    duval_percent: dict[str, float] | None = Field(default=None, description="%CH4, %C2H4, %C2H2 [%].")
    notes: list[str] = Field(default_factory=list)
    citations: list[Citation]


@tool
def dga_assessment(
    h2_ppm: Ppm,
    ch4_ppm: Ppm,
    c2h6_ppm: Ppm,
    c2h4_ppm: Ppm,
    c2h2_ppm: Ppm,
    co_ppm: OptionalPpm = None,
    co2_ppm: OptionalPpm = None,
    o2_n2_ratio: O2N2Ratio = None,
) -> DgaResult:
    """Screen one oil sample: gas levels against IEEE C57.104 Table 1, and the IEC 60599 Duval Triangle 1 zone.

    Parameters
    ----------
    h2_ppm, ch4_ppm, c2h6_ppm, c2h4_ppm, c2h2_ppm : float
        Hydrogen, methane, ethane, ethylene and acetylene [ppm].
    co_ppm, co2_ppm : float, optional
        Carbon monoxide and dioxide [ppm].
    o2_n2_ratio : float, optional
        O2/N2 of the sample [-]; picks the Table 1 section (<= 0.2 or > 0.2).
        Unknown: the <= 0.2 section, and a note says so.

    Returns
    -------
    DgaResult
        Each gas with its 90th-percentile level and whether it exceeds it, the
        status text, the Duval zone with its meaning, notes and citations.

    Notes
    -----
    One sample cannot give the full status: the 95th-percentile Table 2 is
    not in the corpus, and the change and rate checks (Tables 3 and 4) need
    earlier samples.  So "status 1" here means every gas at or below Table 1,
    and above it the result is "status 2 or 3".

    References
    ----------
    .. [1] IEEE C57.104-2019, Clause 6 (status evaluation), Table 1 (unknown-age column).
    .. [2] IEC 60599:2015, Clause 5 (fault classes), Annex B (Duval Triangle 1).
    """
    measured = {"h2": h2_ppm, "ch4": ch4_ppm, "c2h6": c2h6_ppm, "c2h4": c2h4_ppm, "c2h2": c2h2_ppm,
                "co": co_ppm, "co2": co2_ppm}
    notes = [("Table 1 unknown-age column; a single sample, so the change and rate checks (Tables 3 and 4) "
              "are not made.")]
    split = figure(TABLE_1, "o2_n2_ratio_split")[0]
    if o2_n2_ratio is None:
        notes.append(f"O2/N2 ratio unknown: the O2/N2 <= {split:g} column of Table 1 is used; give o2_n2_ratio "
                     "to pick the right one.")
    high = o2_n2_ratio is not None and o2_n2_ratio > split
    column, suffix = (f"O2/N2 > {split:g}", "gt_0_2") if high else (f"O2/N2 <= {split:g}", "le_0_2")
    gases = []
    for key, ppm in measured.items():
        if ppm is not None:
            level = figure(TABLE_1, f"{key}_ppm_o2n2_{suffix}")[0]
            gases.append(GasLevel(gas=_GASES[key], ppm=ppm, table_1_ppm=level, above=ppm > level))
    above = [g.gas for g in gases if g.above]
    hydrocarbons = ch4_ppm + c2h4_ppm + c2h2_ppm
    zone = duval_triangle_1(ch4_ppm, c2h4_ppm, c2h2_ppm) if hydrocarbons > 0 else None
    if zone is None:
        notes.append("No CH4, C2H4 or C2H2: Duval Triangle 1 not applied.")
    elif not above:
        notes.append("All gases are at or below Table 1: the Duval zone of background gas is not a diagnosis.")
    citations = [cite(TABLE_1, f"90th-percentile levels, {column} section, unknown age."),
                 cite(DGA_STATUS, "Status from Table 1 only (no Table 2, no earlier samples).")]
    if zone:
        citations += [cite(DUVAL, "Zone from %CH4, %C2H4, %C2H2."), cite(FAULT_CLASSES, "Meaning of the zone.")]
    return DgaResult(
        status="above_90th_percentile" if above else "ok", ieee_status=STATUS_2_OR_3 if above else STATUS_1,
        o2_n2_column=column, gases=gases, duval_zone=zone, duval_meaning=None if zone is None else zone_meaning(zone),
        duval_percent=None if zone is None else {f"%{g}": round(100 * v / hydrocarbons, 2) for g, v in
                                                  (("CH4", ch4_ppm), ("C2H4", c2h4_ppm), ("C2H2", c2h2_ppm))},
        notes=notes + ([f"Above Table 1: {', '.join(above)}."] if above else []), citations=citations)
