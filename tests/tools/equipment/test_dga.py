"""Dissolved-gas analysis: IEEE C57.104 Table 1 levels by O2/N2 section, the IEC 60599 Duval Triangle 1 zones,
and input errors."""

from __future__ import annotations

import pytest

from gridsage.errors import InputError
from gridsage.tools.equipment.dga import STATUS_1, STATUS_2_OR_3, dga_assessment, duval_triangle_1

# Points constructed well inside each zone from the boundaries of the corpus entry iec-60599-duval-triangle-1
# (IEC 60599:2015 Annex B; M. Duval, IEEE Electr. Insul. Mag. 18(3), 2002), not published worked examples:
# we could not verify literature sample values here, so each point is placed at least 2 points of percentage
# away from every boundary.  (CH4, C2H4, C2H2) [ppm], summing to 100 so ppm = %.
DUVAL_CASES = [
    ((99, 0.5, 0.5), "PD"),   # CH4 >= 98 %
    ((90, 9, 1), "T1"),       # C2H2 <= 4 %, C2H4 <= 20 %
    ((65, 33, 2), "T2"),      # C2H2 <= 4 %, C2H4 20-50 %
    ((20, 75, 5), "T3"),      # C2H4 >= 50 %, C2H2 <= 15 %
    ((45, 10, 45), "D1"),     # C2H2 >= 13 %, C2H4 <= 23 %
    ((30, 30, 40), "D2"),     # C2H2 >= 13 %, C2H4 23-40 %
    ((10, 50, 40), "D2"),     # C2H2 >= 29 %, C2H4 > 40 %
    ((80, 12, 8), "DT"),      # C2H2 4-13 % below the T3 band
    ((20, 60, 20), "DT"),     # C2H4 > 50 % but C2H2 15-29 %
]


@pytest.mark.parametrize("gases, zone", DUVAL_CASES)
def test_duval_triangle_1_zones(gases, zone):
    assert duval_triangle_1(*gases) == zone
    assert duval_triangle_1(*(10 * g for g in gases)) == zone  # only the shares matter


def test_duval_triangle_1_rejects_no_gas_and_bad_values():
    with pytest.raises(InputError) as err:
        duval_triangle_1(0, 0, 0)
    assert err.value.fix
    with pytest.raises(InputError) as err:
        duval_triangle_1(10, float("nan"), 1)
    assert err.value.field == "c2h4_ppm"


def test_dga_status_by_o2_n2_column():
    # C57.104-2019 Table 1, unknown age: CH4 90 ppm (O2/N2 <= 0.2) but 20 ppm (> 0.2); C2H2 1 vs 2 ppm
    sample = {"h2_ppm": 30, "ch4_ppm": 50, "c2h6_ppm": 10, "c2h4_ppm": 10, "c2h2_ppm": 0, "co_ppm": 300, "co2_ppm": 3000}
    sealed = dga_assessment(**sample, o2_n2_ratio=0.05)
    assert sealed.status == "ok" and sealed.ieee_status == STATUS_1 and sealed.o2_n2_column == "O2/N2 <= 0.2"
    assert {g.gas: g.table_1_ppm for g in sealed.gases}["CH4"] == 90 and len(sealed.gases) == 7
    breathing = dga_assessment(**sample, o2_n2_ratio=0.5)
    assert breathing.status == "above_90th_percentile" and breathing.ieee_status == STATUS_2_OR_3
    assert breathing.o2_n2_column == "O2/N2 > 0.2"
    assert {g.gas for g in breathing.gases if g.above} == {"CH4"}
    assert not any("O2/N2 ratio unknown" in n for n in sealed.notes + breathing.notes)
    unknown = dga_assessment(**{**sample, "c2h2_ppm": 1.5})  # above 1 ppm of the <= 0.2 column
    assert unknown.o2_n2_column == "O2/N2 <= 0.2" and any("O2/N2 ratio unknown" in n for n in unknown.notes)
    assert [g.gas for g in unknown.gases if g.above] == ["C2H2"] and unknown.duval_zone == "T1"  # 81 % CH4, 16 % C2H4, 2 % C2H2
    assert {c.entry_id for c in unknown.citations} >= {"ieee-c57-104-90th-percentile-gas-levels", "iec-60599-duval-triangle-1"}


def test_dga_without_hydrocarbons_has_no_zone():
    result = dga_assessment(h2_ppm=500, ch4_ppm=0, c2h6_ppm=0, c2h4_ppm=0, c2h2_ppm=0)
    assert result.duval_zone is None and result.status == "above_90th_percentile"
    assert any("not applied" in n for n in result.notes) and len(result.gases) == 5


# Published gas sets whose fault type the source states, each mapped to the Duval Triangle 1 zone of the same
# IEC 60599 fault class (PD, D1, D2, T1 < 300 °C, T2 300-700 °C, T3 > 700 °C).  (H2, CH4, C2H6, C2H4, C2H2) [ppm];
# a gas the source leaves blank (not detected or not reported) is 0 here.
#
# Where the numbers were read: the original papers could not be opened from here, so every set below was read in
# the transcription github.com/yhtang714/PICL-for-Risk-Aware-Transformer-Fault-Diagnosis-from-Dissolved-Gas-Analysis,
# file data/dga_provenance.csv, commit 5eb3b42fdef4f1618825e79eb809f4e564a72896; the case id given with each set is
# that file's `sample_id` (its own numbering, not the paper's table row).  Check against the papers when at hand.
#   "TC10-nnn": IEC TC 10 database of faults identified by inspection of equipment in service, published in
#     M. Duval, A. dePablo, "Interpretation of gas-in-oil analysis using new IEC publication 60599 and IEC TC 10
#     databases", IEEE Electr. Insul. Mag. 17(2), 2001.  Its classes PD, D1, D2 and T3 name one zone each; its
#     "thermal < 700 °C" class is T1 or T2 (the transcription's own T1/T2 split by C2H4/C2H6 is not used).
#   "Duval2002-X-n": M. Duval, "A review of faults detectable by gas-in-oil analysis in transformers", IEEE Electr.
#     Insul. Mag. 18(3), 2002, Table X (the original reference of each case in brackets).
# Cases with a share within about 2 points of a zone boundary are left out (the PD zone is only 2 points wide, so
# its cases are kept when CH4 >= 99.5 % with all three gases measured).  Cases where the inspected fault and the
# triangle disagree although the point is clear of every boundary are kept as strict xfails: the % shares put them
# in the zone duval_triangle_1 returns by the boundaries of iec-60599-duval-triangle-1, so the disagreement is the
# method's, not the code's.
PUBLISHED_DUVAL_CASES = [
    # PD
    pytest.param((36036, 4704, 554, 5, 10), ("PD",), id="TC10-006 X-wax deposits"),  # 99.68/0.11/0.21 %
    pytest.param((40280, 1069, 1060, 1, 1), ("PD",), id="TC10-008 X-wax deposits"),  # 99.81/0.09/0.09 %
    # D1
    pytest.param((543, 120, 41, 411, 1880), ("D1",),  # 4.98/17.05/77.98 %
                 id="TC10-013 continuous sparking between metal cups and earthed bolts in winding"),
    pytest.param((4230, 690, 5, 196, 1180), ("D1",), id="TC10-023 sparking from bushing to tank"),  # 33.40/9.49/57.12 %
    pytest.param((120, 25, 1, 8, 40), ("D1",), id="TC10-026 low energy in core"),  # 34.25/10.96/54.79 %
    pytest.param((890, 110, 3, 84, 700), ("D1",),  # 12.30/9.40/78.30 %
                 id="Duval2002-III-15 needle-to-sphere discharge in oil, laboratory (Rogers 1975)"),
    # D2 (C2H4 23-40 %, and C2H4 > 40 % with C2H2 >= 29 %)
    pytest.param((2850, 1115, 138, 1987, 3675), ("D2",),  # 16.45/29.32/54.23 %
                 id="TC10-038 short circuit in distribution windings"),
    pytest.param((13500, 6110, 212, 4510, 4040), ("D2",),  # 41.68/30.76/27.56 %
                 id="TC10-046 short circuit in windings"),
    pytest.param((8200, 3790, 250, 4620, 5830), ("D2",),  # 26.62/32.44/40.94 %
                 id="TC10-057 arcing from bushing to tank"),
    pytest.param((60, 5, 2, 21, 21), ("D2",), id="TC10-061 arcing in oil"),  # 10.64/44.68/44.68 %
    pytest.param((2320, 616, 72, 800, 822), ("D2",),  # 27.52/35.75/36.73 %
                 id="Duval2002-VII-D2 arcing in oil and wet paper (Dind 1971)"),
    # T1: laboratory hot spots at a known temperature below 300 °C
    pytest.param((219, 44, 3, 3, 0), ("T1",),  # 93.62/6.38/0 %
                 id="Duval2002-I-9 hot spot in paper/oil at 225 degC, laboratory (Rogers 1975)"),
    pytest.param((14, 62, 16, 3, 0), ("T1",),  # 95.38/4.62/0 %
                 id="Duval2002-I-12 hot spot in paper/oil at 140 degC, laboratory (Rogers 1975)"),
    pytest.param((55, 22, 0.5, 2.6, 0), ("T1",),  # 89.43/10.57/0 %
                 id="Duval2002-II-9 hot spot in oil at 140 degC, laboratory (Duval & dePablo 2001)"),
    # thermal < 700 °C: T1 or T2
    pytest.param((66, 60, 2, 7, 0), ("T1", "T2"),  # 89.55/10.45/0 %, in T1
                 id="TC10-091 circulating currents in magnetic tank shunt during heat run tests"),
    pytest.param((960, 4000, 1290, 1560, 6), ("T1", "T2"),  # 71.86/28.03/0.11 %, in T2
                 id="TC10-094 hot spot in paper"),
    pytest.param((1270, 3450, 520, 1390, 8), ("T1", "T2"),  # 71.16/28.67/0.17 %, in T2
                 id="TC10-084 high circulating currents between conductors with winding damage"),
    # T3 (C2H2 below 4 %, and between 4 and 15 %)
    pytest.param((6, 2990, 29990, 26076, 67), ("T3",),  # 10.26/89.51/0.23 %
                 id="TC10-109 ground wiring burnt and ruptured by circulating current"),
    pytest.param((300, 700, 280, 1700, 36), ("T3",),  # 28.74/69.79/1.48 %
                 id="TC10-116 high temperature in laminations"),
    pytest.param((1550, 2740, 816, 5450, 184), ("T3",),  # 32.72/65.08/2.20 %
                 id="TC10-112 bad contact in defective weld in windings"),
    pytest.param((1860, 4980, 0, 10700, 1600), ("T3",),  # 28.82/61.92/9.26 %
                 id="TC10-105 contacts of selector switch burnt"),
] + [  # inspected fault and triangle disagree, point clear of every boundary
    pytest.param(gases, zones, id=case, marks=pytest.mark.xfail(strict=True, reason=why))
    for case, gases, zones, why in [
        ("TC10-031 sparking from core to ground", (1330, 10, 20, 66, 182), ("D1",),
         "3.88/25.58/70.54 %: C2H4 > 23 % puts it in D2"),
        ("TC10-034 low energy arcing in bushing", (57, 24, 2, 27, 30), ("D1",),
         "29.63/33.33/37.04 %: C2H4 23-40 % with C2H2 >= 13 % is D2"),
        ("TC10-035 low energy discharge in oil", (1000, 500, 1, 400, 500), ("D1",),
         "35.71/28.57/35.71 %: C2H4 23-40 % with C2H2 >= 13 % is D2"),
        ("TC10-053 arcing on selector switch ring", (1084, 188, 8, 166, 769), ("D2",),
         "16.74/14.78/68.48 %: C2H4 <= 23 % with C2H2 >= 13 % is D1"),
        ("TC10-111 bad contact in windings", (290, 1260, 231, 820, 8), ("T3",),
         "60.34/39.27/0.38 %: C2H4 < 50 % with C2H2 <= 4 % is T2"),
        ("TC10-108 high contact resistance of winding terminal", (400, 940, 210, 820, 24), ("T3",),
         "52.69/45.96/1.35 %: C2H4 < 50 % with C2H2 <= 4 % is T2"),
        ("TC10-088 blackened area within windings, interturn fault", (3675, 6392, 2500, 7691, 5), ("T1", "T2"),
         "45.37/54.59/0.04 %: C2H4 >= 50 % is T3"),
        ("TC10-099 thermodielectric failure", (40000, 400, 70, 600, 6), ("T1", "T2"),
         "39.76/59.64/0.60 %: C2H4 >= 50 % is T3"),
        ("Duval2002-II-5 hot spot in oil at 225 degC, laboratory (Rogers 1975)", (130, 140, 24, 120, 0), ("T1",),
         "53.85/46.15/0 %: C2H4 20-50 % with C2H2 <= 4 % is T2"),
    ]
]


@pytest.mark.parametrize("gases, zones", PUBLISHED_DUVAL_CASES)
def test_duval_triangle_1_on_published_cases(gases, zones):
    _h2, ch4, _c2h6, c2h4, c2h2 = gases
    assert duval_triangle_1(ch4, c2h4, c2h2) in zones
