"""No-solution diagnosis: loadability by bisection against plain pandapower, capacity sums by hand, plain words."""

from __future__ import annotations

import copy

import numpy as np
import pandapower as pp
import pandapower.networks as pn
import pytest

from gridsage.errors import InputError
from gridsage.tools.grid._loadability import no_solution_diagnosis, plain_diagnostic

STEPS = 12
TOL = 2.0 ** -STEPS


def _solves(net, factor: float = 1.0, **kwargs) -> bool:
    """Plain pandapower: does the case solve with every load (p and q) times ``factor``?"""
    n = copy.deepcopy(net)
    n.load["p_mw"] *= factor
    n.load["q_mvar"] *= factor
    try:
        pp.runpp(n, numba=False, **{"enforce_q_lims": True, **kwargs})
        return True
    except pp.LoadflowNotConverged:
        return False


def _bisect(net, steps: int = STEPS) -> float:
    """The oracle's own bisection on a uniform load factor, plain pandapower only."""
    lo, hi = 0.0, 1.0
    for _ in range(steps):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _solves(net, mid) else (lo, mid)
    return lo


@pytest.fixture(scope="module")
def case9_x4():
    net = pn.case9()
    net.load["p_mw"] *= 4  # 1,260 MW against 820 MW of capacity: pandapower's case9 stops solving between x2 and x2.5
    net.load["q_mvar"] *= 4
    assert not _solves(net)
    return net


def _limited_grid():
    """Four 110 kV buses; demand (320 MW, 175 Mvar) above capacity (200 MW, 125 Mvar), counted by hand below."""
    net = pp.create_empty_network()
    b = [pp.create_bus(net, vn_kv=110.0) for _ in range(4)]
    pp.create_ext_grid(net, b[0], vm_pu=1.0, max_p_mw=50.0, min_p_mw=0.0, max_q_mvar=30.0, min_q_mvar=-30.0)
    pp.create_gen(net, b[1], p_mw=40.0, vm_pu=1.0, max_p_mw=100.0, min_q_mvar=-60.0, max_q_mvar=60.0)
    pp.create_gen(net, b[2], p_mw=30.0, vm_pu=1.0, min_q_mvar=-20.0, max_q_mvar=20.0)  # no max_p_mw: p_mw counts
    pp.create_gen(net, b[1], p_mw=0.0, vm_pu=1.0, max_p_mw=500.0, min_q_mvar=-300.0, max_q_mvar=300.0, in_service=False)
    pp.create_sgen(net, b[3], p_mw=20.0, q_mvar=5.0)
    pp.create_load(net, b[3], p_mw=200.0, q_mvar=150.0)
    pp.create_load(net, b[2], p_mw=100.0, q_mvar=20.0)
    pp.create_load(net, b[1], p_mw=40.0, q_mvar=10.0, scaling=0.5)  # counts 20 MW, 5 Mvar
    pp.create_load(net, b[3], p_mw=500.0, q_mvar=100.0, in_service=False)
    pp.create_shunt(net, b[3], q_mvar=-10.0, p_mw=0.0)  # a 10 Mvar capacitor at 1 pu
    for f, t in ((0, 1), (1, 2), (2, 3), (0, 3)):
        pp.create_line(net, b[f], b[t], length_km=100.0, std_type="149-AL1/24-ST1A 110.0")
    return net


def test_case9_loadability_matches_plain_pandapower(case9_x4):
    before = case9_x4.load[["p_mw", "q_mvar"]].copy()
    d = no_solution_diagnosis(case9_x4, max_steps=STEPS)
    lam = d.load_factor
    assert d.converges is False and d.data_problem is False and lam is not None
    assert d.load_factor_tolerance == TOL
    # the limit is bracketed by plain runpp: solves at lambda, fails one tolerance above
    assert _solves(case9_x4, lam) and not _solves(case9_x4, lam + TOL)
    assert lam == pytest.approx(_bisect(case9_x4), abs=TOL)
    assert 2.0 <= 4 * lam < 2.5  # x2 of case9 solves, x2.5 does not (plain sweep)
    demand = 4 * (90.0 + 100.0 + 125.0)  # case9 loads [MW]
    assert d.load_p_mw == pytest.approx(demand) and d.load_q_mvar == pytest.approx(4 * (30.0 + 35.0 + 50.0))
    assert d.served_p_mw == pytest.approx(lam * demand, abs=1e-3)
    assert d.min_shed_p_mw == pytest.approx((1 - lam) * demand, abs=1e-3)
    # capacity by hand: gen max_p_mw 300 + 270, ext_grid max_p_mw 250
    assert (d.capacity_p_mw, d.capacity_p_unlimited, d.shortfall_p_mw) == (820.0, False, pytest.approx(demand - 820.0))
    assert d.solves_without_q_lims == _solves(case9_x4, enforce_q_lims=False)
    assert d.solves_from_dc_init == _solves(case9_x4, init="dc")
    assert d.ac_solves <= STEPS + 3
    assert f"{demand - 820.0:,.1f} MW short" in d.findings[0] and "uniformly" in " ".join(d.findings)
    assert case9_x4.load[["p_mw", "q_mvar"]].equals(before)


def test_capacity_sums_by_hand():
    net = _limited_grid()
    d = no_solution_diagnosis(net)
    assert (d.load_p_mw, d.load_q_mvar) == (pytest.approx(200 + 100 + 20), pytest.approx(150 + 20 + 5))
    assert d.capacity_p_mw == pytest.approx(50 + 100 + 30 + 20) and d.shortfall_p_mw == pytest.approx(120.0)
    assert d.capacity_q_mvar == pytest.approx(30 + 60 + 20 + 5 + 10) and d.shortfall_q_mvar == pytest.approx(50.0)
    assert not d.capacity_p_unlimited and not d.capacity_q_unlimited
    assert "Demand is 320.0 MW against 200.0 MW of generating capacity: 120.0 MW short." in d.findings
    assert not d.converges and not _solves(net)
    assert _solves(net, d.load_factor) and not _solves(net, d.load_factor + d.load_factor_tolerance)
    assert d.min_shed_p_mw == pytest.approx((1 - d.load_factor) * 320.0, abs=1e-3)

    net.ext_grid["max_p_mw"] = np.nan  # now an unlimited upstream supply
    open_ended = no_solution_diagnosis(net, max_steps=4)
    assert open_ended.capacity_p_unlimited and open_ended.capacity_p_mw == pytest.approx(150.0)
    assert open_ended.shortfall_p_mw == 0.0 and "unlimited upstream supply" in open_ended.findings[0]


def test_reactive_limits_named_as_the_cause():
    net = pn.case9()
    net.gen[["min_q_mvar", "max_q_mvar"]] = [-20.0, 20.0]
    net.load[["p_mw", "q_mvar"]] *= 1.5
    assert not _solves(net) and _solves(net, enforce_q_lims=False)  # the oracle: Q limits make the difference
    d = no_solution_diagnosis(net)
    assert d.solves_without_q_lims is True and d.load_factor is not None and d.load_factor < 1
    assert _solves(net, d.load_factor) and not _solves(net, d.load_factor + d.load_factor_tolerance)
    assert any("reactive capability, not active power, is the binding limit" in f for f in d.findings)


def test_data_problems_and_plain_words(case9_x4, capfd):
    no_source = pn.case9()
    no_source.ext_grid["in_service"] = False
    d = no_solution_diagnosis(no_source)
    assert d.data_problem and d.load_factor is None and d.min_shed_p_mw is None and d.ac_solves == 1
    assert "data need a check" in d.findings[-1]

    weak = pn.case9()
    weak.line["x_ohm_per_km"] *= 1e4  # fails even with the load near zero
    assert not _solves(weak, TOL)
    w = no_solution_diagnosis(weak)
    assert w.data_problem and w.load_factor is None and any("data problem" in f for f in w.findings)

    split = pn.case9()
    split.line.loc[[2, 5], "in_service"] = False  # buses 2, 5, 6 lose their path to the ext_grid
    split.line.loc[1, "length_km"] = 0.0
    words = plain_diagnostic(split) + plain_diagnostic(case9_x4)
    assert any("no path to an ext_grid" in s and "buses 2, 5, 6" in s for s in words)
    assert any("length_km 0 >0" in s for s in words)
    findings = d.findings + w.findings + no_solution_diagnosis(case9_x4, max_steps=3).findings + words
    for sentence in findings:
        assert "np.float64" not in sentence and "{" not in sentence and "}" not in sentence, sentence
    assert no_source.ext_grid.in_service.tolist() == [False] and split.line.length_km[1] == 0.0
    assert capfd.readouterr().out == ""  # nothing reaches stdout (MCP stdio)


def test_converging_case_and_bad_input():
    net = pn.case9()
    d = no_solution_diagnosis(net)
    assert d.converges and d.load_factor == 1.0 and d.min_shed_p_mw == 0.0 and d.ac_solves == 1
    assert net.res_bus.empty  # the caller's net was never solved
    with pytest.raises(InputError, match="max_steps"):
        no_solution_diagnosis(net, max_steps=0)
