"""Dissolved-gas analysis: IEEE C57.104 Table 1 levels by O2/N2 section, the IEC 60599 Duval Triangle 1 zones,
and input errors."""

from __future__ import annotations

import pytest

from gridsage.errors import InputError
from gridsage.tools.dga import STATUS_1, STATUS_2_OR_3, dga_assessment, duval_triangle_1

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
