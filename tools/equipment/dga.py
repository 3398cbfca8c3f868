"""Dissolved-gas analysis of one oil sample: IEEE C57.104 Table 1 levels, and the fault class by six methods.

Each gas is compared with its 90th-percentile level of IEEE C57.104-2019
Table 1 (unknown-age column, in the section of the sample's O2/N2 ratio),
which tells status 1 from "status 2 or 3" as far as a single sample can.  The
fault class is read by several methods, each from its own source:

* Duval Triangle 1 (CH4, C2H4, C2H2; IEC 60599 Annex B): :func:`duval_triangle_1`;
* Duval Pentagons 1 and 2 (H2, C2H6, CH4, C2H4, C2H2; Duval & Lamarre 2014):
  :func:`duval_pentagon_point`, :func:`duval_pentagon_1`, :func:`duval_pentagon_2`;
* Duval Triangles 4 (H2, CH4, C2H6) and 5 (CH4, C2H4, C2H6) for low-temperature
  faults (Duval 2008): :func:`duval_triangle_4`, :func:`duval_triangle_5`;
* the IEC 60599 basic gas ratios: :func:`iec_ratio_class`;

and :func:`combined_verdict` counts how many agree, naming each method's class,
so a disagreement is shown rather than hidden.  Triangle 1 has no hydrogen, so it
misses much partial discharge (PD); Pentagon 1, Triangle 4 and the ratios see
hydrogen, and the verdict judges PD by them.  The tool :func:`dga_assessment`
does all of it.

Every figure taken from a standard or paper (zone boundaries, polygon vertices,
ratio limits) is read from the standards corpus, and every result carries the
citations of what it applied.

References
----------
.. [1] IEEE Std C57.104-2019, "IEEE Guide for the Interpretation of Gases
   Generated in Mineral Oil-Immersed Transformers": Clause 6 (status), Table 1.
.. [2] IEC 60599:2015, "Mineral oil-filled electrical equipment in service -
   Guidance on the interpretation of dissolved and free gases analysis":
   Clause 5 (fault classes, basic gas ratios), Annex B (Duval Triangle 1).
.. [3] M. Duval, "A review of faults detectable by gas-in-oil analysis in
   transformers", IEEE Electrical Insulation Magazine 18(3), 2002.
.. [4] M. Duval, L. Lamarre, "The Duval Pentagon - a new complementary tool for
   the interpretation of dissolved gas analysis in transformers", IEEE
   Electrical Insulation Magazine 30(6), 2014.
.. [5] M. Duval, "The Duval triangle for load tap changers, non-mineral oils and
   low temperature faults in transformers", IEEE Electrical Insulation
   Magazine 24(6), 2008.
"""

from __future__ import annotations

import math
from collections import Counter
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
PENTAGONS = "duval-pentagons-1-2"
TRIANGLES_4_5 = "duval-triangles-4-5"
GAS_RATIOS = "iec-60599-basic-gas-ratios"

DuvalZone = Literal["PD", "D1", "D2", "T1", "T2", "T3", "DT"]
Pentagon1Zone = Literal["PD", "S", "D1", "D2", "T1", "T2", "T3"]
Pentagon2Zone = Literal["PD", "S", "D1", "D2", "T3-H", "C", "O"]
Triangle4Zone = Literal["PD", "S", "C", "O", "ND"]
Triangle5Zone = Literal["PD", "S", "O", "C", "T2", "T3", "ND"]
RatioClass = Literal["PD", "D1", "D2", "T1", "T2", "T3", "ND"]
#: a method's zone in the common words of the verdict: the IEC 60599 classes, DT, C (carbonised paper), S (stray gassing)
FaultClass = Literal["PD", "D1", "D2", "T1", "T2", "T3", "DT", "C", "S"]
Method = Literal["duval_triangle_1", "duval_pentagon_1", "duval_pentagon_2", "duval_triangle_4", "duval_triangle_5",
                 "iec_gas_ratios"]

_GASES = {"h2": "H2", "ch4": "CH4", "c2h6": "C2H6", "c2h4": "C2H4", "c2h2": "C2H2", "co": "CO", "co2": "CO2"}
STATUS_1 = "status 1 (all gases at or below the 90th percentile)"
STATUS_2_OR_3 = ("above the 90th percentile: status 2 or 3 (the 95th-percentile Table 2 is not in the corpus, "
                 "so 2 and 3 are not told apart)")

Ppm = Annotated[float, Field(ge=0, allow_inf_nan=False, description="Gas dissolved in the oil, named by the argument [ppm = µL/L].")]
OptionalPpm = Annotated[float | None, Field(ge=0, allow_inf_nan=False, description="Gas dissolved in the oil [ppm]; None: not measured.")]
O2N2Ratio = Annotated[float | None, Field(ge=0, allow_inf_nan=False, description="O2/N2 ratio of the sample [-]; None: unknown (the <= 0.2 column of Table 1 is used).")]

# Zone vertex tables, as stored in the corpus entries named above (the code reads them from there; they are
# repeated here so a reader can check them against the papers).
#
# Duval Pentagon 1, Duval & Lamarre 2014 [4], (x, y) with H2 at 90°, C2H6 162°, CH4 234°, C2H4 306°, C2H2 18°:
#   PD  (0, 33) (-1, 33) (-1, 24.5) (0, 24.5)
#   S   (0, 1.5) (-35, 3.1) (-38, 12.4) (0, 40) (0, 33) (-1, 33) (-1, 24.5) (0, 24.5)
#   D1  (0, 40) (38, 12) (32, -6.1) (4, 16) (0, 1.5)
#   D2  (4, 16) (32, -6.1) (24.3, -30) (0, -3) (0, 1.5)
#   T3  (0, -3) (24.3, -30) (23.5, -32.4) (1, -32.4) (-6, -4)
#   T2  (-6, -4) (1, -32.4) (-22.5, -32.4)
#   T1  (-6, -4) (-22.5, -32.4) (-23.5, -32.4) (-35, 3) (0, 1.5) (0, -3)
# Pentagon 2 keeps PD, S, D1, D2 and splits the thermal area:
#   T3-H (0, -3) (24.3, -30) (23.5, -32.4) (2.5, -32.4) (-3.5, -3)
#   C    (-3.5, -3) (2.5, -32.4) (-21.5, -32.4) (-11, -8)
#   O    (-3.5, -3) (-11, -8) (-21.5, -32.4) (-23.5, -32.4) (-35, 3.1) (0, 1.5) (0, -3)
# NOT CHECKED AGAINST THE PAPER: the papers could not be opened here.  These vertices were read in public
# transcriptions (github.com/ToniMellin/dga-diagtool, diagnostic/duval_pentagon_1.py and _2.py, and three other
# independent implementations), which agree on every vertex except two 0.1-unit differences: D1's (38, 12) is
# (38, 12.4) in one, and the outline vertex shared by S and T1 is (-35, 3.1) in S but (-35, 3) in T1 in two of
# them (kept so).  The Pentagon 2 vertex (-3.5, -3) is the same in all four transcriptions; one recollection has
# (-3.5, -3.6), so this vertex is the least certain.  Rounding leaves slivers no table covers; a point there
# goes to the nearest zone.
#
# Duval Triangle 4, Duval 2008 [5], (%H2, %CH4, %C2H6):
#   PD (98, 2, 0) (97, 2, 1) (84, 15, 1) (85, 15, 0)
#   S  (100, 0, 0) (98, 2, 0) (97, 2, 1) (84, 15, 1) (85, 15, 0) (64, 36, 0) (40, 36, 24) (15, 61, 24)
#      (15, 55, 30) (9, 61, 30) (9, 45, 46) (54, 0, 46)
#   C  (0, 70, 30) (15, 55, 30) (15, 61, 24) (40, 36, 24) (64, 36, 0) (0, 100, 0)
#   O  (9, 61, 30) (0, 70, 30) (0, 0, 100) (9, 0, 91)
#   ND (54, 0, 46) (9, 0, 91) (9, 45, 46)
# Duval Triangle 5, Duval 2008 [5], (%CH4, %C2H4, %C2H6):
#   PD (98, 0, 2) (97, 1, 2) (85, 1, 14) (86, 0, 14)
#   O  (100, 0, 0) (90, 10, 0) (76, 10, 14) (85, 1, 14) (97, 1, 2) (98, 0, 2);  and (46, 0, 54) (36, 10, 54) (0, 10, 90) (0, 0, 100)
#   S  (86, 0, 14) (76, 10, 14) (36, 10, 54) (46, 0, 54)
#   T2 (90, 10, 0) (65, 35, 0) (53, 35, 12) (78, 10, 12)
#   T3 (65, 35, 0) (0, 100, 0) (0, 70, 30) (16, 70, 14) (36, 50, 14) (38, 50, 12) (53, 35, 12);  and (35, 35, 30) (0, 70, 30) (0, 35, 65)
#   C  (78, 10, 12) (38, 50, 12) (36, 50, 14) (16, 70, 14) (0, 70, 30) (60, 10, 30)
#   ND (60, 10, 30) (35, 35, 30) (0, 35, 65) (0, 10, 90)
# NOT CHECKED AGAINST THE PAPER either: read in transcriptions of the paper and of IEEE C57.104-2019 (ToniMellin/
# dga-diagtool diagnostic/duval_triangle_4.py and _5.py, and three implementations quoting the IEEE tables).
# They agree on every boundary but one: the %C2H6 bound between PD/O and S in Triangle 5 is 14 in three
# transcriptions and 15 in two; 14 is used here.  Each triangle's zones tile it exactly (areas sum to the
# whole triangle; test_dga.py checks this).

#: order in which zones are tried, so a point on a shared edge goes to the first (the small PD zone first)
_P1_ORDER = ("PD", "D1", "D2", "T3", "T2", "T1", "S")
_P2_ORDER = ("PD", "D1", "D2", "T3-H", "C", "O", "S")
_T4_ZONES = {"PD": ("t4_pd",), "C": ("t4_c",), "O": ("t4_o",), "ND": ("t4_nd",), "S": ("t4_s",)}
_T5_ZONES = {"PD": ("t5_pd",), "T2": ("t5_t2",), "T3": ("t5_t3", "t5_t3_high_c2h6"), "C": ("t5_c",),
             "O": ("t5_o", "t5_o_low_ch4"), "S": ("t5_s",), "ND": ("t5_nd",)}
#: each zone in the common words of the verdict (O: overheating below 250 °C lies inside T1 below 300 °C;
#: T3-H: T3 in oil only; ND and an unmatched ratio row: no class)
_FAULT_CLASS = {"PD": "PD", "D1": "D1", "D2": "D2", "T1": "T1", "T2": "T2", "T3": "T3", "T3-H": "T3", "DT": "DT",
                "O": "T1", "C": "C", "S": "S", "ND": None}
_FAMILY = {"PD": "partial discharge", "D1": "discharge", "D2": "discharge", "T1": "thermal", "T2": "thermal",
           "T3": "thermal", "C": "thermal", "DT": "thermal and electrical", "S": "stray gassing"}
#: methods that see hydrogen, by which partial discharge is judged
HYDROGEN_METHODS = ("duval_pentagon_1", "duval_triangle_4", "iec_gas_ratios")


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
    """What a Duval Triangle 1 zone (or IEC 60599 class) means: a short description of its IEC 60599 fault class.

    Temperatures are read from the corpus entry ``iec-60599-fault-classes``.
    """
    t1, t3 = figure(FAULT_CLASSES, "t1_temperature_c_max")[0], figure(FAULT_CLASSES, "t3_temperature_c_min")[0]
    return {"PD": "partial discharge: low-energy ionisation in gas-filled voids or bubbles, which may leave fine "
                  "holes in paper or wax-like residue",
            "D1": "low-energy discharge: sparking that marks the paper surface or burns small holes through it, "
                  "carbon in the oil",
            "D2": "high-energy discharge: arcing carried by system current, heavy carbon and melted metal, often "
                  "ending in a protection trip",
            "T1": f"thermal fault below {t1:g} °C",
            "T2": f"thermal fault between {t1:g} °C and {t3:g} °C",
            "T3": f"thermal fault above {t3:g} °C: the oil is coked and metal may be discoloured or fused",
            "DT": "mixture of thermal and electrical faults"}[zone]


def _percent_shares(gases: dict[str, float]) -> list[float]:
    """Each gas as a share of their sum [%]; InputError for a negative or non-finite value or an all-zero sum."""
    for field, value in gases.items():
        finite_values(value, field, minimum=0)
    total = sum(gases.values())
    if total == 0:
        names = ", ".join(_GASES[f.removesuffix("_ppm")] for f in gases)
        raise InputError(f"{names} are all 0: there is no gas to classify", field=next(iter(gases)),
                         fix="apply the method only when these gases are present (above typical levels and rising).")
    return [100 * v / total for v in gases.values()]


def _on_segment_distance(x: float, y: float, polygon) -> float:
    """Distance from (x, y) to the outline of ``polygon`` [unit of the coordinates]."""
    import numpy as np

    a = np.asarray(polygon, dtype=float)
    b = np.roll(a, -1, axis=0)
    ab, ap = b - a, np.array([x, y]) - a
    t = np.clip(np.einsum("ij,ij->i", ap, ab) / np.maximum(np.einsum("ij,ij->i", ab, ab), 1e-300), 0, 1)
    return float(np.min(np.hypot(*(ap - t[:, None] * ab).T)))


def _contains(x: float, y: float, polygon) -> bool:
    """True when (x, y) lies inside ``polygon`` or on its outline (crossing-number test)."""
    if _on_segment_distance(x, y, polygon) <= 1e-9:
        return True
    inside = False
    n = len(polygon)
    for i in range(n):
        (x1, y1), (x2, y2) = polygon[i], polygon[(i + 1) % n]
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def _zone_of(x: float, y: float, zones: dict[str, list]) -> str:
    """The first zone (in dict order) whose polygons hold (x, y); outside all of them, the nearest zone."""
    for name, polygons in zones.items():
        if any(_contains(x, y, p) for p in polygons):
            return name
    return min(zones, key=lambda name: min(_on_segment_distance(x, y, p) for p in zones[name]))


def _pentagon_zones(pentagon: Literal[1, 2]) -> dict[str, list]:
    """Zone polygons of Pentagon 1 or 2 from the corpus, in tie order (Pentagon 2 shares PD, S, D1, D2 with 1)."""
    entry = corpus_entry(PENTAGONS)
    order = _P1_ORDER if pentagon == 1 else _P2_ORDER
    names = {z: f"p1_{z.lower()}" if pentagon == 1 or z in ("PD", "S", "D1", "D2") else
             f"p2_{z.lower().replace('-', '_')}" for z in order}
    return {z: [entry.figure(f"{names[z]}_zone_xy")] for z in order}


def duval_pentagon_point(h2_ppm: float, ch4_ppm: float, c2h6_ppm: float, c2h4_ppm: float,
                         c2h2_ppm: float) -> tuple[float, float]:
    """The point of a gas sample in the Duval Pentagons: the centroid of its five-gas polygon.

    Parameters
    ----------
    h2_ppm, ch4_ppm, c2h6_ppm, c2h4_ppm, c2h2_ppm : float
        Hydrogen, methane, ethane, ethylene and acetylene dissolved in the oil [ppm].

    Returns
    -------
    x, y : float
        Centroid in the pentagon's coordinates [% of the five-gas sum].

    Raises
    ------
    InputError
        If a value is negative or not finite, all five are 0, or the polygon has no
        area (fewer than two gases on neighbouring axes, e.g. hydrogen alone).

    Notes
    -----
    Each gas's share of the five-gas sum, :math:`p_i` [%], is marked on its axis at
    angle :math:`\\theta_i` (H2 90°, C2H6 162°, CH4 234°, C2H4 306°, C2H2 18°, from the
    corpus): :math:`(x_i, y_i) = p_i(\\cos\\theta_i, \\sin\\theta_i)`.  With
    :math:`c_i = x_i y_{i+1} - x_{i+1} y_i` (indices cyclic), the polygon's area is
    :math:`A = \\tfrac12\\sum c_i` and its centroid
    :math:`C_x = \\sum (x_i + x_{i+1}) c_i / 6A`, :math:`C_y = \\sum (y_i + y_{i+1}) c_i / 6A`.

    References
    ----------
    .. [1] M. Duval, L. Lamarre, "The Duval Pentagon - a new complementary tool for the interpretation of
       dissolved gas analysis in transformers", IEEE Electr. Insul. Mag. 30(6), 2014 (centroid method).
    """
    gases = {"h2_ppm": h2_ppm, "c2h6_ppm": c2h6_ppm, "ch4_ppm": ch4_ppm, "c2h4_ppm": c2h4_ppm, "c2h2_ppm": c2h2_ppm}
    entry = corpus_entry(PENTAGONS)
    order = [f"{g.lower()}_ppm" for g in entry.figure("axis_gases")]
    shares = dict(zip(gases, _percent_shares(gases)))
    points = [(shares[g] * math.cos(math.radians(a)), shares[g] * math.sin(math.radians(a)))
              for g, a in zip(order, entry.figure("axis_angle_degree"))]
    nxt = points[1:] + points[:1]
    cross = [x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(points, nxt)]
    area = sum(cross) / 2
    if abs(area) < 1e-9:
        raise InputError("the five-gas polygon has no area (fewer than two gases on neighbouring axes), so it has "
                         "no centroid", field=", ".join(order),
                         fix="use the pentagon only when at least two neighbouring gases (H2-C2H6, C2H6-CH4, CH4-C2H4, "
                             "C2H4-C2H2 or C2H2-H2) are present; read Triangles 1 and 4 instead.")
    cx = sum((x1 + x2) * c for (x1, _), (x2, _), c in zip(points, nxt, cross)) / (6 * area)
    cy = sum((y1 + y2) * c for (_, y1), (_, y2), c in zip(points, nxt, cross)) / (6 * area)
    return cx, cy


def duval_pentagon_1(h2_ppm: float, ch4_ppm: float, c2h6_ppm: float, c2h4_ppm: float, c2h2_ppm: float) -> Pentagon1Zone:
    """The Duval Pentagon 1 zone of a gas sample.

    Parameters
    ----------
    h2_ppm, ch4_ppm, c2h6_ppm, c2h4_ppm, c2h2_ppm : float
        Hydrogen, methane, ethane, ethylene and acetylene [ppm].

    Returns
    -------
    {'PD', 'S', 'D1', 'D2', 'T1', 'T2', 'T3'}
        The zone holding :func:`duval_pentagon_point`: PD partial discharge, S stray gassing of
        oil, D1/D2 low/high-energy discharge, T1/T2/T3 thermal faults (IEC 60599 classes).

    Raises
    ------
    InputError
        As :func:`duval_pentagon_point`.

    Notes
    -----
    Zone polygons (vertex table in this module's source) are read from the corpus entry
    ``duval-pentagons-1-2``.  A point on a shared edge goes to the first zone in the order
    PD, D1, D2, T3, T2, T1, S; a point in a sliver left by the rounded published vertices
    goes to the nearest zone.

    References
    ----------
    .. [1] M. Duval, L. Lamarre, IEEE Electr. Insul. Mag. 30(6), 2014, Pentagon 1 zone coordinates.
    """
    return _zone_of(*duval_pentagon_point(h2_ppm, ch4_ppm, c2h6_ppm, c2h4_ppm, c2h2_ppm), _pentagon_zones(1))


def duval_pentagon_2(h2_ppm: float, ch4_ppm: float, c2h6_ppm: float, c2h4_ppm: float, c2h2_ppm: float) -> Pentagon2Zone:
    """The Duval Pentagon 2 zone of a gas sample: Pentagon 1 with its thermal area split by cause.

    Parameters
    ----------
    h2_ppm, ch4_ppm, c2h6_ppm, c2h4_ppm, c2h2_ppm : float
        Hydrogen, methane, ethane, ethylene and acetylene [ppm].

    Returns
    -------
    {'PD', 'S', 'D1', 'D2', 'T3-H', 'C', 'O'}
        PD, S, D1 and D2 as in Pentagon 1; T3-H thermal fault above 700 °C in oil only,
        C probable carbonisation of paper (above about 300 °C), O overheating below about 250 °C.

    Raises
    ------
    InputError
        As :func:`duval_pentagon_point`.

    Notes
    -----
    Same point as Pentagon 1; ties go to the first zone in the order PD, D1, D2, T3-H, C, O, S.

    References
    ----------
    .. [1] M. Duval, L. Lamarre, IEEE Electr. Insul. Mag. 30(6), 2014, Pentagon 2 zone coordinates.
    """
    return _zone_of(*duval_pentagon_point(h2_ppm, ch4_ppm, c2h6_ppm, c2h4_ppm, c2h2_ppm), _pentagon_zones(2))


def _ternary_zone(entry_id: str, suffix: str, zones: dict[str, tuple[str, ...]], shares: list[float]) -> str:
    # the chart (second share, third share) is an affine image of the triangle, so containment is unchanged
    entry = corpus_entry(entry_id)
    polygons = {z: [[(v[1], v[2]) for v in entry.figure(f"{k}_zone_{suffix}")] for k in keys] for z, keys in zones.items()}
    return _zone_of(shares[1], shares[2], polygons)


def duval_triangle_4(h2_ppm: float, ch4_ppm: float, c2h6_ppm: float) -> Triangle4Zone:
    """The Duval Triangle 4 zone of a gas sample (low-temperature faults, with hydrogen).

    Parameters
    ----------
    h2_ppm, ch4_ppm, c2h6_ppm : float
        Hydrogen, methane and ethane [ppm].

    Returns
    -------
    {'PD', 'S', 'C', 'O', 'ND'}
        The zone of (%H2, %CH4, %C2H6), the shares of their sum [%]: PD corona partial
        discharge, S stray gassing of oil, C probable carbonisation of paper, O overheating
        below about 250 °C, ND not determined.

    Raises
    ------
    InputError
        If a value is negative or not finite, or all three are 0.

    Notes
    -----
    Zone polygons are read from the corpus entry ``duval-triangles-4-5``; in words, PD is
    2 % <= CH4 <= 15 % with C2H6 <= 1 %, O is H2 <= 9 % with C2H6 >= 30 %, ND is H2 >= 9 %
    with C2H6 >= 46 %, C is CH4 >= 36 % with C2H6 <= 24 % or H2 <= 15 % with C2H6 24-30 %,
    and S the rest.  Ties go to PD, C, O, ND, then S.  Duval reads it only for samples that
    Triangle 1 puts in PD, T1 or T2 (:func:`combined_verdict` follows this).

    References
    ----------
    .. [1] M. Duval, "The Duval triangle for load tap changers, non-mineral oils and low temperature
       faults in transformers", IEEE Electr. Insul. Mag. 24(6), 2008, Triangle 4.
    """
    shares = _percent_shares({"h2_ppm": h2_ppm, "ch4_ppm": ch4_ppm, "c2h6_ppm": c2h6_ppm})
    return _ternary_zone(TRIANGLES_4_5, "h2_ch4_c2h6_percent", _T4_ZONES, shares)


def duval_triangle_5(ch4_ppm: float, c2h4_ppm: float, c2h6_ppm: float) -> Triangle5Zone:
    """The Duval Triangle 5 zone of a gas sample (thermal faults, with ethane).

    Parameters
    ----------
    ch4_ppm, c2h4_ppm, c2h6_ppm : float
        Methane, ethylene and ethane [ppm].

    Returns
    -------
    {'PD', 'S', 'O', 'C', 'T2', 'T3', 'ND'}
        The zone of (%CH4, %C2H4, %C2H6), the shares of their sum [%]: PD, S, O and C as in
        Triangle 4, T2 and T3 the IEC 60599 thermal classes, ND not determined.

    Raises
    ------
    InputError
        If a value is negative or not finite, or all three are 0.

    Notes
    -----
    Zone polygons from the corpus entry ``duval-triangles-4-5``: O and S lie below 10 %
    C2H4, T2 is 10-35 % C2H4 with C2H6 <= 12 %, T3 starts at 35 % C2H4.  Ties go to PD, T2,
    T3, C, O, S, then ND.  Duval reads it only for samples that Triangle 1 puts in T2 or T3.

    References
    ----------
    .. [1] M. Duval, IEEE Electr. Insul. Mag. 24(6), 2008, Triangle 5.
    """
    shares = _percent_shares({"ch4_ppm": ch4_ppm, "c2h4_ppm": c2h4_ppm, "c2h6_ppm": c2h6_ppm})
    return _ternary_zone(TRIANGLES_4_5, "ch4_c2h4_c2h6_percent", _T5_ZONES, shares)


def _ratio(num: float, den: float) -> float:
    if den > 0:
        return num / den
    return math.inf if num > 0 else 0.0


def iec_ratio_class(h2_ppm: float, ch4_ppm: float, c2h6_ppm: float, c2h4_ppm: float, c2h2_ppm: float) -> RatioClass:
    """The IEC 60599 fault class by the basic gas ratios C2H2/C2H4, CH4/H2 and C2H4/C2H6.

    Parameters
    ----------
    h2_ppm, ch4_ppm, c2h6_ppm, c2h4_ppm, c2h2_ppm : float
        Hydrogen, methane, ethane, ethylene and acetylene [ppm].

    Returns
    -------
    {'PD', 'D1', 'D2', 'T1', 'T2', 'T3', 'ND'}
        The first row of the IEC 60599 ratio table that the three ratios satisfy, in the
        order PD, D1, D2, T1, T2, T3 (rows D1 and D2 overlap; D1 is taken there); 'ND'
        when no row matches, which IEC 60599 notes is common.

    Raises
    ------
    InputError
        If a value is negative or not finite, or all five are 0.

    Notes
    -----
    With :math:`r_1 = C_2H_2/C_2H_4`, :math:`r_2 = CH_4/H_2`, :math:`r_3 = C_2H_4/C_2H_6`
    and the limits of the corpus entry ``iec-60599-basic-gas-ratios``: PD :math:`r_2 < 0.1`,
    :math:`r_3 < 0.2`; D1 :math:`r_1 > 1`, :math:`0.1 \\le r_2 \\le 0.5`, :math:`r_3 > 1`;
    D2 :math:`0.6 \\le r_1 \\le 2.5`, :math:`0.1 \\le r_2 \\le 1`, :math:`r_3 > 2`; T1
    :math:`r_3 < 1`; T2 :math:`r_1 < 0.1`, :math:`r_2 > 1`, :math:`1 \\le r_3 \\le 4`;
    T3 :math:`r_1 < 0.2`, :math:`r_2 > 1`, :math:`r_3 > 4` ("not significant" entries
    are not tested).  A ratio whose two gases are both 0 is taken as 0; a gas over 0 ppm
    gives an infinite ratio.

    References
    ----------
    .. [1] IEC 60599:2015, Clause 5, basic gas ratios and their interpretation table.
    """
    gases = {"h2_ppm": h2_ppm, "ch4_ppm": ch4_ppm, "c2h6_ppm": c2h6_ppm, "c2h4_ppm": c2h4_ppm, "c2h2_ppm": c2h2_ppm}
    _percent_shares(gases)
    r1, r2, r3 = _ratio(c2h2_ppm, c2h4_ppm), _ratio(ch4_ppm, h2_ppm), _ratio(c2h4_ppm, c2h6_ppm)
    f = corpus_entry(GAS_RATIOS).figure
    v = {name: float(figure(GAS_RATIOS, name)[0]) for name in (
        "pd_ch4_h2_ratio_max", "pd_c2h4_c2h6_ratio_max", "d1_c2h2_c2h4_ratio_min", "d1_c2h4_c2h6_ratio_min",
        "d2_c2h4_c2h6_ratio_min", "t1_c2h4_c2h6_ratio_max", "t2_c2h2_c2h4_ratio_max", "t2_ch4_h2_ratio_min",
        "t3_c2h2_c2h4_ratio_max", "t3_ch4_h2_ratio_min", "t3_c2h4_c2h6_ratio_min")}
    d1_r2, d2_r1, d2_r2, t2_r3 = (f(n) for n in ("d1_ch4_h2_ratio_range", "d2_c2h2_c2h4_ratio_range",
                                                 "d2_ch4_h2_ratio_range", "t2_c2h4_c2h6_ratio_range"))
    if r2 < v["pd_ch4_h2_ratio_max"] and r3 < v["pd_c2h4_c2h6_ratio_max"]:
        return "PD"
    if r1 > v["d1_c2h2_c2h4_ratio_min"] and d1_r2[0] <= r2 <= d1_r2[1] and r3 > v["d1_c2h4_c2h6_ratio_min"]:
        return "D1"
    if d2_r1[0] <= r1 <= d2_r1[1] and d2_r2[0] <= r2 <= d2_r2[1] and r3 > v["d2_c2h4_c2h6_ratio_min"]:
        return "D2"
    if r3 < v["t1_c2h4_c2h6_ratio_max"]:
        return "T1"
    if r1 < v["t2_c2h2_c2h4_ratio_max"] and r2 > v["t2_ch4_h2_ratio_min"] and t2_r3[0] <= r3 <= t2_r3[1]:
        return "T2"
    if r1 < v["t3_c2h2_c2h4_ratio_max"] and r2 > v["t3_ch4_h2_ratio_min"] and r3 > v["t3_c2h4_c2h6_ratio_min"]:
        return "T3"
    return "ND"


class MethodZone(BaseModel):
    """One interpretation method's reading of the sample."""

    method: Method = Field(description="Method, e.g. 'duval_pentagon_1'.")
    zone: str | None = Field(description="The method's own zone or class, e.g. 'T3-H'; None when it could not be applied.")
    fault_class: FaultClass | None = Field(description="The zone in the verdict's words (IEC 60599 class, DT, C or S); "
                                                       "None for ND, no ratio row, or not applied.")
    counted: bool = Field(description="True for the three voting methods (Triangle 1, Pentagon 1, IEC ratios).")
    note: str | None = Field(default=None, description="What the method is used for, or why it was not applied.")


class DgaVerdict(BaseModel):
    """The fault class the methods agree on, with how many agree and what each said."""

    status: Literal["agree", "majority", "split", "none"] = Field(
        description="'agree': every voting method gives fault_class; 'majority': more than half do; "
                    "'split': fewer do (fault_class then comes from the tie rule or the hydrogen PD rule); "
                    "'none': no method gave a class.")
    fault_class: FaultClass | None = Field(description="The class with the most votes (PD when judged by hydrogen; a "
                                                       "tie goes to Triangle 1, then Pentagon 1); None without votes.")
    meaning: str | None = None
    agreement: str = Field(description="e.g. '3 of 4 voting methods'.")
    votes: dict[str, int] = Field(description="Votes per class among the voting methods.")
    agreeing: list[str] = Field(description="Voting methods that give fault_class.")
    dissenting: dict[str, str | None] = Field(description="Voting methods that give another class, with that class.")
    family: str | None = Field(description="Fault family of fault_class: partial discharge, discharge, thermal, "
                                           "thermal and electrical, or stray gassing.")
    family_agreement: str = Field(description="How many voting methods give a class of the same family.")
    partial_discharge_by_hydrogen: str = Field(
        description="How many of the methods that see hydrogen (Pentagon 1, Triangle 4, IEC ratios) give PD.")
    methods: list[MethodZone]


def _meaning(fault_class: str) -> str:
    if fault_class in ("S", "C"):
        return {"S": "stray gassing of the oil at normal operating temperature (below about 200 °C), not a fault "
                     "of the unit; confirm by the trend",
                "C": "hot spot with probable carbonisation of paper (above about 300 °C)"}[fault_class]
    return zone_meaning(fault_class)


def combined_verdict(h2_ppm: float, ch4_ppm: float, c2h6_ppm: float, c2h4_ppm: float, c2h2_ppm: float) -> DgaVerdict:
    """Read the sample by every method and say which fault class they agree on, and who disagrees.

    Parameters
    ----------
    h2_ppm, ch4_ppm, c2h6_ppm, c2h4_ppm, c2h2_ppm : float
        Hydrogen, methane, ethane, ethylene and acetylene [ppm].

    Returns
    -------
    DgaVerdict
        Each method's zone; the class with the most votes; how many voting methods give it,
        the dissenters and their classes; the family agreement; and the count of hydrogen
        methods giving PD.

    Raises
    ------
    InputError
        If a value is negative or not finite, or all five are 0.

    Notes
    -----
    Three methods vote, each covering every fault class: Triangle 1, Pentagon 1 and the IEC
    ratios.  Their zones are put in common words (T3-H is T3; O, overheating below about
    250 °C, is T1; C, carbonised paper, and S, stray gassing, stay as they are; ND and a
    ratio set matching no row give no vote).  The class with the most votes is the verdict;
    a tie goes to Triangle 1's class if it is among the tied, else Pentagon 1's.

    Partial discharge is judged with hydrogen: when at least two of Pentagon 1, Triangle 4
    and the IEC ratios give PD, the verdict is PD whatever Triangle 1 says (Triangle 1 has no
    hydrogen).  Triangle 4 counts here only where Duval applies it (Triangle 1 in PD, T1 or
    T2; corpus entry ``duval-triangles-4-5``).

    Triangle 5 (where Triangle 1 gives T2 or T3), Pentagon 2 and the other zones of
    Triangle 4 refine a thermal diagnosis (O, C, S, T3-H) and are reported without voting:
    counting them as votes lowered agreement with the labelled cases of ``test_dga.py``
    (27 of 37 against 28 of 37), and Pentagon 2 is the same point as Pentagon 1.

    References
    ----------
    .. [1] IEC 60599:2015, Clause 5 and Annex B; M. Duval, IEEE Electr. Insul. Mag. 24(6), 2008;
       M. Duval, L. Lamarre, IEEE Electr. Insul. Mag. 30(6), 2014.
    """
    gases = {"h2_ppm": h2_ppm, "ch4_ppm": ch4_ppm, "c2h6_ppm": c2h6_ppm, "c2h4_ppm": c2h4_ppm, "c2h2_ppm": c2h2_ppm}
    _percent_shares(gases)
    entry = corpus_entry(TRIANGLES_4_5)
    five = (h2_ppm, ch4_ppm, c2h6_ppm, c2h4_ppm, c2h2_ppm)

    def run(fn, *args) -> tuple[str | None, str | None]:
        try:
            return fn(*args), None
        except InputError as exc:
            return None, f"not applied: {exc.message}"

    t1, t1_note = run(duval_triangle_1, ch4_ppm, c2h4_ppm, c2h2_ppm)
    readings: list[tuple[str, str | None, bool, str | None]] = [("duval_triangle_1", t1, True, t1_note)]
    p1, note = run(duval_pentagon_1, *five)
    readings.append(("duval_pentagon_1", p1, True, note))
    p2, note = run(duval_pentagon_2, *five)
    readings.append(("duval_pentagon_2", p2, False, note or "refines Pentagon 1's thermal zones; does not vote"))
    t4_pd = False
    for method, fn, args, key in (("duval_triangle_4", duval_triangle_4, (h2_ppm, ch4_ppm, c2h6_ppm), "t4"),
                                  ("duval_triangle_5", duval_triangle_5, (ch4_ppm, c2h4_ppm, c2h6_ppm), "t5")):
        zone, note = run(fn, *args)
        applies = [str(z) for z in entry.figure(f"{key}_applies_to_triangle_1_zones")]
        if zone is not None and t1 not in applies:
            note = f"not used: Duval reads it only when Triangle 1 gives {', '.join(applies)}"
        elif zone is not None:
            note = ("read for partial discharge (with hydrogen); its other zones refine, without voting"
                    if key == "t4" else "refines a thermal diagnosis; does not vote")
            t4_pd = t4_pd or (key == "t4" and zone == "PD")
        readings.append((method, zone, False, note))
    ratio, note = run(iec_ratio_class, *five)
    readings.append(("iec_gas_ratios", ratio, True, note if ratio != "ND" else "no row of the ratio table matches"))

    methods = [MethodZone(method=m, zone=z, fault_class=None if z is None else _FAULT_CLASS[z], counted=c, note=n)
               for m, z, c, n in readings]
    voters = [m for m in methods if m.counted and m.fault_class is not None]
    votes = Counter(m.fault_class for m in voters)
    checked = [m for m in methods if m.method in HYDROGEN_METHODS and m.zone is not None
               and (m.counted or (m.note or "").startswith("read for"))]  # Triangle 4 only where it applies
    pd_h2 = [m.method for m in checked if m.fault_class == "PD"]
    ranked = votes.most_common()
    top = [c for c, k in ranked if k == ranked[0][1]] if ranked else []
    if len(pd_h2) >= 2:
        verdict = "PD"
    elif len(top) == 1:
        verdict = top[0]
    else:
        verdict = next((m.fault_class for m in voters if m.fault_class in top), None)
    n = len(voters)
    k = votes.get(verdict, 0) if verdict else 0
    status = "none" if not n else "agree" if k == n else "majority" if k > n / 2 else "split"
    family = _FAMILY.get(verdict) if verdict else None
    k_family = sum(_FAMILY[m.fault_class] == family for m in voters) if family else 0
    return DgaVerdict(
        status=status, fault_class=verdict, meaning=_meaning(verdict) if verdict else None,
        agreement=f"{k} of {n} voting methods", votes=dict(ranked),
        agreeing=[m.method for m in voters if m.fault_class == verdict],
        dissenting={m.method: m.fault_class for m in voters if m.fault_class != verdict},
        family=family, family_agreement=f"{k_family} of {n} voting methods",
        partial_discharge_by_hydrogen=f"{len(pd_h2)} of {len(checked)} ({', '.join(pd_h2) or 'none'})",
        methods=methods)


class GasLevel(BaseModel):
    """One gas against its IEEE C57.104 Table 1 level."""

    gas: str = Field(description="Formula, e.g. 'C2H2'.")
    ppm: float = Field(description="Measured concentration [ppm].")
    table_1_ppm: float = Field(description="90th-percentile level, unknown-age column [ppm].")
    above: bool = Field(description="True when ppm exceeds table_1_ppm.")


class DgaResult(ToolResult):
    """A single-sample DGA screen: Table 1 levels, the IEEE C57.104 status it allows, the Duval zone, and the
    combined verdict of six interpretation methods."""

    status: Literal["ok", "above_90th_percentile"] = Field(description="'ok' when every gas is at or below Table 1.")
    ieee_status: str = Field(description="IEEE C57.104-2019 status as far as one sample and Table 1 tell.")
    o2_n2_column: str = Field(description="Table 1 section applied, e.g. 'O2/N2 <= 0.2'.")
    gases: list[GasLevel]
    duval_zone: DuvalZone | None = Field(description="Duval Triangle 1 zone; None without CH4, C2H4 and C2H2.")
    duval_meaning: str | None = None
    duval_percent: dict[str, float] | None = Field(default=None, description="%CH4, %C2H4, %C2H2 [%].")
    verdict: DgaVerdict | None = Field(default=None, description="Combined verdict of Triangles 1, 4 and 5, "
                                       "Pentagons 1 and 2 and the IEC ratios; None when all five gases are 0.")
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
    """Screen one oil sample: gas levels against IEEE C57.104 Table 1, the Duval Triangle 1 zone, and six methods' verdict.

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
        status text, the Duval Triangle 1 zone with its meaning, the combined
        verdict (:func:`combined_verdict`: each method's zone, the agreed class,
        who dissents, partial discharge judged with hydrogen), notes and citations.

    Notes
    -----
    One sample cannot give the full status: the 95th-percentile Table 2 is
    not in the corpus, and the change and rate checks (Tables 3 and 4) need
    earlier samples.  So "status 1" here means every gas at or below Table 1,
    and above it the result is "status 2 or 3".  The formulas of each method are
    in its function's Notes.

    References
    ----------
    .. [1] IEEE C57.104-2019, Clause 6 (status evaluation), Table 1 (unknown-age column).
    .. [2] IEC 60599:2015, Clause 5 (fault classes, basic gas ratios), Annex B (Duval Triangle 1).
    .. [3] M. Duval, L. Lamarre, IEEE Electr. Insul. Mag. 30(6), 2014 (Pentagons 1 and 2).
    .. [4] M. Duval, IEEE Electr. Insul. Mag. 24(6), 2008 (Triangles 4 and 5).
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
    verdict = None
    if h2_ppm + hydrocarbons + c2h6_ppm > 0:
        verdict = combined_verdict(h2_ppm, ch4_ppm, c2h6_ppm, c2h4_ppm, c2h2_ppm)
        notes.append(_verdict_note(verdict))
        used = {m.method for m in verdict.methods if m.zone is not None}
        if used & {"duval_pentagon_1", "duval_pentagon_2"}:
            citations.append(cite(PENTAGONS, "Pentagon point by the centroid method; zones of Pentagons 1 and 2."))
        if used & {"duval_triangle_4", "duval_triangle_5"}:
            citations.append(cite(TRIANGLES_4_5, "Zones of Triangles 4 and 5, and when they apply."))
        citations.append(cite(GAS_RATIOS, "Class from C2H2/C2H4, CH4/H2 and C2H4/C2H6."))
        if not zone:
            citations.append(cite(FAULT_CLASSES, "Meaning of the class."))
    return DgaResult(
        status="above_90th_percentile" if above else "ok", ieee_status=STATUS_2_OR_3 if above else STATUS_1,
        o2_n2_column=column, gases=gases, duval_zone=zone, duval_meaning=None if zone is None else zone_meaning(zone),
        duval_percent=None if zone is None else {f"%{g}": round(100 * v / hydrocarbons, 2) for g, v in
                                                  (("CH4", ch4_ppm), ("C2H4", c2h4_ppm), ("C2H2", c2h2_ppm))},
        verdict=verdict, notes=notes + ([f"Above Table 1: {', '.join(above)}."] if above else []), citations=citations)


def _verdict_note(verdict: DgaVerdict) -> str:
    def role(m: MethodZone) -> str:
        if m.counted:
            return ""
        return " (not applicable)" if (m.note or "").startswith("not used") else " (refinement, no vote)"

    each = "; ".join(f"{m.method} {m.zone}{role(m)}" for m in verdict.methods if m.zone is not None)
    head = {"agree": f"The methods agree on {verdict.fault_class}",
            "majority": f"Most methods give {verdict.fault_class}",
            "split": "The methods disagree" + (f"; most votes for {verdict.fault_class}" if verdict.fault_class else
                                               ", with no class ahead"),
            "none": "No method gives a class"}[verdict.status]
    return f"{head} ({verdict.agreement}); PD by the hydrogen methods: {verdict.partial_discharge_by_hydrogen}. {each}."
