"""Causal graphs of a transformer's feeders: nodes are data columns, edges run from cause to effect.

A :class:`CausalGraph` is a directed acyclic graph (DAG) whose nodes are the columns of a time series (weather,
feeder loads, generation, switching transfers, the transformer's flow and its temperatures).  It comes either from
the user (:func:`graph_from_edges`, ``source='given'``) or from physics and the grid's topology
(:func:`feeder_causal_graph`, ``source='topology'``): ambient temperature drives loads and top-oil temperature,
irradiance drives PV output, the feeder loads less generation plus any load transferred in through a tie switch
make up the transformer's power flow, and the flow heats the oil and the winding hot spot.

Each interval is treated as a steady state: the graph is not unrolled in time, so the thermal time constants
(top oil about 3 h for ONAN) are assumed short against the variations studied, or the temperatures are read as
the ultimate (steady-state) values of IEEE C57.91-2011 Clause 7.

References
----------
.. [1] J. Pearl, *Causality: Models, Reasoning and Inference*, 2nd ed., Cambridge University Press, 2009,
   ch. 1.4 (structural causal models) and ch. 3.3 (back-door criterion).
.. [2] IEEE C57.91-2011, *Guide for Loading Mineral-Oil-Immersed Transformers and Step-Voltage Regulators*,
   Clause 7 (ultimate top-oil rise and hot-spot rise over top oil as functions of the load ratio K).
.. [3] D. Janzing, K. Budhathoki, L. Minorics, P. Blöbaum, "Causal structure based root cause analysis of
   outliers", arXiv:1912.02724, 2019 (root causes as noise terms of a causal DAG).
.. [5] T. Verma, J. Pearl, "Equivalence and synthesis of causal models", UAI 1990 (latent projection of a DAG
   onto its observed variables).
.. [4] pandapower documentation, "Topological Searches" (``pandapower.topology.create_nxgraph``,
   ``respect_switches``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, Literal

from pydantic import BaseModel, Field, model_validator

from gridsage.errors import InputError
from gridsage.tools.grid import ElementRef, element_name

if TYPE_CHECKING:  # pragma: no cover
    import networkx

__all__ = ["CausalGraph", "CausalNode", "FeederArea", "MAX_NODES", "MAX_NAME_CHARS", "NodeRole", "feeder_area",
           "feeder_causal_graph", "marginalise",
           "graph_from_edges", "guess_role", "guess_unit"]

NodeRole = Literal["weather", "load", "generation", "switching", "flow", "thermal", "reading"]
_ROLES = ("weather", "load", "generation", "switching", "flow", "thermal", "reading")

#: most nodes of one causal graph (DoWhy's Shapley attribution grows with the number of nodes)
MAX_NODES = 60
#: longest node (column) name accepted
MAX_NAME_CHARS = 64
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")

#: (suffix, unit), longest suffix first
_UNITS = (("_w_m2", "W/m²"), ("_mvar", "Mvar"), ("_mva", "MVA"), ("_mw", "MW"), ("_kw", "kW"), ("_kv", "kV"),
          ("_ka", "kA"), ("_pu", "p.u."), ("_percent", "%"), ("_pct", "%"), ("_c", "°C"), ("_k", "K"))

STEADY_STATE = ("Steady state per interval: the graph is not unrolled in time; temperatures are read as the ultimate "
                "(steady-state) values for each interval's load (IEEE C57.91-2011 Clause 7).")
ACYCLIC = "The causes form a directed acyclic graph (no feedback within one interval)."


class CausalNode(BaseModel):
    """One variable of the causal graph: a data column."""

    name: str = Field(description="The data column, e.g. 'ambient_c', 'feeder_0_load_p_mw', 'trafo_0_theta_h_c'.")
    role: NodeRole = Field(description="What the variable is: weather, load, generation, switching, flow, thermal, "
                                       "reading.")
    unit: str = Field(description="Unit of the column, e.g. '°C', 'MW', 'W/m²' ('' when unknown).")
    description: str = Field(description="What the column measures, e.g. 'Load of the feeder leaving bus 1 through "
                                         "line 0 [MW]'.")
    element: ElementRef | None = Field(default=None, description="The grid element the variable describes, if any.")


class CausalGraph(BaseModel):
    """A causal DAG over data columns: nodes, (cause, effect) edges, where it came from and what it assumes."""

    nodes: list[CausalNode] = Field(description="The variables, in topological order when built here.")
    edges: list[tuple[str, str]] = Field(description="(cause, effect) pairs of node names.")
    source: Literal["topology", "given"] = Field(description="'topology': built from physics and the grid; "
                                                             "'given': by the user.")
    assumptions: list[str] = Field(default_factory=list, description="What the graph assumes, in words.")

    @model_validator(mode="after")
    def _edges_known(self) -> "CausalGraph":
        names = [n.name for n in self.nodes]
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"duplicate node names: {', '.join(dup[:10])}")
        known = set(names)
        unknown = sorted({x for e in self.edges for x in e if x not in known})
        if unknown:
            raise ValueError(f"edges name nodes that are not in the graph: {', '.join(unknown[:10])}")
        return self

    @property
    def names(self) -> list[str]:
        """The node names, in the order of :attr:`nodes`."""
        return [n.name for n in self.nodes]

    def to_networkx(self) -> "networkx.DiGraph":
        """The graph as a ``networkx.DiGraph`` (node attributes: role, unit, description), e.g. for ``dowhy.gcm``."""
        import networkx as nx

        g = nx.DiGraph()
        for n in self.nodes:
            g.add_node(n.name, role=n.role, unit=n.unit, description=n.description)
        g.add_edges_from(self.edges)
        return g

    def node(self, name: str, field: str = "target") -> CausalNode:
        """The node called ``name``.

        Parameters
        ----------
        name : str
            A node (column) name.
        field : str, default 'target'
            The argument named in the error.

        Raises
        ------
        InputError
            If the graph has no such node (the error lists the valid names).
        """
        for n in self.nodes:
            if n.name == name:
                return n
        valid = self.names
        shown = ", ".join(valid[:20]) + (f" (and {len(valid) - 20} more)" if len(valid) > 20 else "")
        raise InputError(f"'{_safe(name)}' is not a node of the causal graph.", field=field,
                         fix=f"use one of: {shown}")

    def parents(self, name: str) -> list[str]:
        """Direct causes of ``name``, in node order."""
        self.node(name)
        causes = {c for c, e in self.edges if e == name}
        return [n for n in self.names if n in causes]

    def children(self, name: str) -> list[str]:
        """Direct effects of ``name``, in node order."""
        self.node(name)
        effects = {e for c, e in self.edges if c == name}
        return [n for n in self.names if n in effects]

    def upstream(self, name: str) -> list[str]:
        """All ancestors of ``name`` (its direct and indirect causes), topologically sorted (causes first).

        Raises
        ------
        InputError
            If the graph has no such node.
        """
        self.node(name)
        parents: dict[str, set[str]] = {}
        for c, e in self.edges:
            parents.setdefault(e, set()).add(c)
        seen, stack = set(), [name]
        while stack:
            for p in parents.get(stack.pop(), ()):
                if p not in seen:
                    seen.add(p)
                    stack.append(p)
        return [n for n in _topological_order(self.names, self.edges) if n in seen]

    def topological_order(self) -> list[str]:
        """Every node name, causes before effects (ties kept in node order)."""
        return _topological_order(self.names, self.edges)


def _safe(name: object) -> str:
    """A name fit to echo in an error: shortened, printable."""
    text = "".join(ch if ch.isprintable() else "?" for ch in str(name))
    return text if len(text) <= MAX_NAME_CHARS else text[:MAX_NAME_CHARS] + "…"


def _topological_order(names: list[str], edges: Iterable[tuple[str, str]]) -> list[str]:
    """Kahn's algorithm, stable in the order of ``names``; nodes on a cycle are left out."""
    indeg = {n: 0 for n in names}
    out: dict[str, list[str]] = {n: [] for n in names}
    for c, e in set(edges):
        out[c].append(e)
        indeg[e] += 1
    rank = {n: i for i, n in enumerate(names)}
    ready = sorted((n for n in names if indeg[n] == 0), key=rank.get)
    order = []
    while ready:
        n = ready.pop(0)
        order.append(n)
        for e in out[n]:
            indeg[e] -= 1
            if indeg[e] == 0:
                ready.append(e)
        ready.sort(key=rank.get)
    return order


def _one_cycle(names: list[str], edges: list[tuple[str, str]]) -> list[str]:
    """The nodes of one directed cycle, in order (empty if the graph is acyclic)."""
    out: dict[str, list[str]] = {n: [] for n in names}
    for c, e in edges:
        out[c].append(e)
    state: dict[str, int] = {}
    for root in names:
        if state.get(root):
            continue
        path, stack = [], [(root, iter(out[root]))]
        state[root] = 1
        path.append(root)
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt):]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append((nxt, iter(out[nxt])))
    return []


def guess_role(name: str) -> str:
    """The role of a column guessed from its name.

    ``ambient``/``irradiance``/``temperature_air`` -> weather, ``*_load_p_mw`` -> load, ``*sgen*``/``*pv*`` ->
    generation, ``*transfer*`` -> switching, ``*theta*``/``*oil*``/``*hot_spot*`` -> thermal, otherwise flow
    (e.g. ``trafo_0_p_mw``, ``line_3_p_mw``).
    """
    low = name.lower()
    if "ambient" in low or "irradiance" in low or low.startswith(("weather_", "ghi")):
        return "weather"
    if low.endswith("_load_p_mw") or low.endswith("_load_mw"):
        return "load"
    if "sgen" in low or low.startswith("pv_") or "_pv_" in low:
        return "generation"
    if "transfer" in low:
        return "switching"
    if "theta" in low or "oil" in low or "hot_spot" in low or "hotspot" in low:
        return "thermal"
    return "flow"


def guess_unit(name: str) -> str:
    """The unit of a column guessed from its suffix (``_c`` °C, ``_p_mw`` MW, ``_w_m2`` W/m², ...), else ''."""
    low = name.lower()
    for suffix, unit in _UNITS:
        if low.endswith(suffix):
            return unit
    return ""


def graph_from_edges(edges, roles: dict[str, str] | None = None, units: dict[str, str] | None = None) -> CausalGraph:
    """A causal graph given as (cause, effect) pairs of column names.

    Parameters
    ----------
    edges : list of [cause, effect]
        Column names, e.g. ``[["ambient_c", "trafo_0_theta_to_c"], ["trafo_0_p_mw", "trafo_0_theta_to_c"]]``.
    roles : dict, optional
        Role per node (see :data:`NodeRole`); missing ones are guessed from the name (:func:`guess_role`).
    units : dict, optional
        Unit per node; missing ones are guessed from the suffix (:func:`guess_unit`).

    Returns
    -------
    CausalGraph
        ``source='given'``, nodes in topological order.

    Raises
    ------
    InputError
        ``field='edges'`` if there are no edges, a pair is not two names, a name is not an identifier-like column
        name of at most 64 characters, an edge is a self-loop, the edges close a cycle (its nodes are named), or
        there are more than :data:`MAX_NODES` nodes; ``field='roles'`` for an unknown role.
    """
    fix = "give edges as [[cause, effect], ...] of column names, e.g. [[\"ambient_c\", \"trafo_0_theta_to_c\"]]"
    if edges is None or isinstance(edges, (str, bytes)) or not len(edges):
        raise InputError("No edges given.", field="edges", fix=fix)
    pairs: list[tuple[str, str]] = []
    for i, pair in enumerate(edges):
        if isinstance(pair, (str, bytes)) or len(pair) != 2:
            raise InputError("Each edge must be a pair [cause, effect].", field=f"edges[{i}]", fix=fix)
        for name in pair:
            if not isinstance(name, str) or len(name) > MAX_NAME_CHARS or not _NAME.match(name):
                raise InputError(f"'{_safe(name)}' is not a column name (letters, digits, '_', at most "
                                 f"{MAX_NAME_CHARS} characters, not starting with a digit).",
                                 field=f"edges[{i}]", fix=fix)
        if pair[0] == pair[1]:
            raise InputError(f"Edge {i} is a self-loop on '{pair[0]}'.", field=f"edges[{i}]",
                             fix="remove it: a variable cannot cause itself within one interval")
        if (pair[0], pair[1]) not in pairs:
            pairs.append((pair[0], pair[1]))
    names = list(dict.fromkeys(x for p in pairs for x in p))
    if len(names) > MAX_NODES:
        raise InputError(f"The edges name {len(names)} nodes; at most {MAX_NODES} are supported.", field="edges",
                         fix="aggregate columns (e.g. small feeders) or study a smaller part of the grid")
    cycle = _one_cycle(names, pairs)
    if cycle:
        raise InputError(f"The edges form a cycle: {' -> '.join(cycle + [cycle[0]])}.", field="edges",
                         fix="a causal graph must be acyclic: remove or reverse one edge of the cycle")
    roles, units = dict(roles or {}), dict(units or {})
    for name, role in roles.items():
        if role not in _ROLES:
            raise InputError(f"Unknown role for '{_safe(name)}'.", field="roles",
                             fix=f"use one of: {', '.join(_ROLES)}")
    order = _topological_order(names, pairs)
    nodes = [CausalNode(name=n, role=roles.get(n) or guess_role(n), unit=units.get(n, guess_unit(n)),
                        description=f"Column '{n}' (given)") for n in order]
    return CausalGraph(nodes=nodes, edges=pairs, source="given",
                       assumptions=[ACYCLIC, "The given edges are complete: no hidden common cause of two nodes.",
                                    STEADY_STATE])


# ------------------------------------------------------------------------------------------- topology (feeders)

@dataclass
class _Feeder:
    """One feeder (or the busbar itself): its load and generation nodes and the elements behind them."""

    load_node: str
    sgen_node: str | None
    lines: list[int]
    buses: set[int]
    loads: list[int]
    sgens: list[int]
    p_nom_mw: float
    sgen_installed_mw: float
    description: str
    element: ElementRef | None


@dataclass
class _Tie:
    """An open switch whose closing joins the transformer's area to another transformer's area."""

    switch: int
    node: str
    near_bus: int
    far_bus: int
    other_trafo: int
    element: ElementRef | None
    description: str


@dataclass
class FeederArea:
    """The area a transformer feeds, split into feeders: what :func:`feeder_causal_graph` and the simulator share.

    ``feeders`` holds the busbar pseudo-feeder (loads directly on the LV busbar) first when it has loads or sgens.
    """

    trafo: int
    lv_bus: int
    sn_mva: float
    busbar: set[int]
    buses: set[int]
    feeders: list[_Feeder]
    ties: list[_Tie]
    assumptions: list[str] = field(default_factory=list)

    @property
    def names(self) -> dict[str, str]:
        """The node names of the transformer: p, theta_to, theta_h."""
        t = self.trafo
        return {"p": f"trafo_{t}_p_mw", "theta_to": f"trafo_{t}_theta_to_c", "theta_h": f"trafo_{t}_theta_h_c"}

    @property
    def has_sgen(self) -> bool:
        return any(f.sgen_node for f in self.feeders)


def _check_trafo(net, trafo) -> int:
    """``trafo`` as an int index of an in-service two-winding transformer of ``net``."""
    table = net.trafo
    valid = [int(i) for i in table.index[table.in_service.astype(bool)]]
    shown = ", ".join(map(str, valid[:30])) + (" ..." if len(valid) > 30 else "") or "none"
    try:
        t = int(trafo)
        ok = t == trafo and not isinstance(trafo, bool)
    except (TypeError, ValueError, OverflowError):
        ok, t = False, -1
    if not ok or t not in table.index:
        raise InputError(f"No transformer {_safe(trafo)} in this grid.", field="trafo",
                         fix=f"use the index of an in-service row of net.trafo: {shown}")
    if not bool(table.at[t, "in_service"]):
        raise InputError(f"Transformer {t} is out of service.", field="trafo",
                         fix=f"use the index of an in-service row of net.trafo: {shown}")
    return t


def _p_nom(net, loads: list[int]) -> float:
    if not loads:
        return 0.0
    rows = net.load.loc[loads]
    scaling = rows["scaling"] if "scaling" in rows else 1.0
    return float((rows.p_mw * scaling).sum())


def _installed(net, sgens: list[int]) -> float:
    if not sgens:
        return 0.0
    rows = net.sgen.loc[sgens]
    sn = rows["sn_mva"] if "sn_mva" in rows else rows.p_mw
    sn = sn.where(sn.notna() & (sn > 0), rows.p_mw.abs())
    return float(sn.fillna(0.0).sum())


def feeder_area(net, trafo: int) -> FeederArea:
    """Split the area one transformer feeds into its feeders, and find the tie switches to other transformers.

    Parameters
    ----------
    net : pandapower.pandapowerNet
    trafo : int
        Index in ``net.trafo`` (in service).

    Returns
    -------
    FeederArea
        The LV busbar (the LV bus and the buses joined to it by closed bus-bus switches), one feeder per group of
        lines leaving the busbar (lines whose downstream parts meet are one feeder, named after its lowest line),
        the busbar's own loads and sgens, and every open line or bus-bus switch whose closing joins the area to
        another transformer's area.

    Raises
    ------
    InputError
        ``field='trafo'`` for an unknown or out-of-service transformer (valid indices named).

    References
    ----------
    .. [1] pandapower documentation, "Topological Searches": ``create_nxgraph(net, respect_switches=True,
       include_trafos=False)``; areas as in :mod:`gridsage.reasoning.playbooks.transformer_overheating`.
    """
    import networkx as nx
    from pandapower.topology import create_nxgraph

    t = _check_trafo(net, trafo)
    g = create_nxgraph(net, respect_switches=True, include_trafos=False, include_trafo3ws=False)
    lv = int(net.trafo.at[t, "lv_bus"])
    if lv not in g:
        raise InputError(f"The LV bus {lv} of transformer {t} is out of service.", field="trafo",
                         fix="choose a transformer whose LV bus is in service")
    areas = {int(o): {int(b) for b in nx.node_connected_component(g, int(row.lv_bus))}
             for o, row in net.trafo[net.trafo.in_service.astype(bool)].iterrows() if int(row.lv_bus) in g}
    area = areas[t]
    # the busbar: the LV bus and every bus joined to it by closed bus-bus switches
    busbar = {lv}
    closed_bb = net.switch[(net.switch.et == "b") & net.switch.closed.astype(bool)] if len(net.switch) else net.switch
    grew = True
    while grew:
        grew = False
        for _, sw in closed_bb.iterrows():
            a, b = int(sw.bus), int(sw.element)
            if (a in busbar) != (b in busbar):
                busbar |= {a, b}
                grew = True
    rest = g.subgraph(area - busbar)
    groups: dict[frozenset, list[int]] = {}
    other_busbar: set[int] = set()  # buses reached from the busbar through a non-line branch (impedance, dcline)
    for b in sorted(busbar):
        for nb, keys in g[b].items():
            nb = int(nb)
            if nb in busbar:
                continue
            comp = frozenset(int(x) for x in nx.node_connected_component(rest, nb))
            lines = [int(k[1]) for k in keys if k[0] == "line"]
            if lines:
                groups.setdefault(comp, []).extend(lines)
            else:
                other_busbar |= comp
    assumptions: list[str] = []
    load_in = net.load[net.load.in_service.astype(bool)] if len(net.load) else net.load
    sgen_in = net.sgen[net.sgen.in_service.astype(bool)] if len(net.sgen) else net.sgen
    feeders: list[_Feeder] = []
    bar = busbar | {b for b in other_busbar if not any(b in c for c in groups)}
    if other_busbar:
        assumptions.append("Buses reached from the LV busbar only through non-line branches (impedance, DC line) are "
                           "counted with the busbar's own load.")
    bar_loads = [int(i) for i in load_in.index[load_in.bus.isin(bar)]]
    bar_sgens = [int(i) for i in sgen_in.index[sgen_in.bus.isin(bar)]]
    bus_ref = ElementRef(element="bus", index=lv, name=element_name(net, "bus", lv))
    if bar_loads or bar_sgens:
        feeders.append(_Feeder(
            load_node=f"busbar_{lv}_load_p_mw", sgen_node=f"busbar_{lv}_sgen_p_mw" if bar_sgens else None, lines=[],
            buses=bar, loads=bar_loads, sgens=bar_sgens, p_nom_mw=_p_nom(net, bar_loads),
            sgen_installed_mw=_installed(net, bar_sgens),
            description=f"Load connected directly to the LV busbar of trafo {t} ({bus_ref.name})", element=bus_ref))
    for comp, lines in sorted(groups.items(), key=lambda kv: min(kv[1])):
        lines = sorted(set(lines))
        loads = [int(i) for i in load_in.index[load_in.bus.isin(comp)]]
        sgens = [int(i) for i in sgen_in.index[sgen_in.bus.isin(comp)]]
        l0 = lines[0]
        ref = ElementRef(element="line", index=l0, name=element_name(net, "line", l0))
        via = f"line {l0}" if len(lines) == 1 else f"lines {', '.join(map(str, lines))} (joined downstream)"
        if len(lines) > 1:
            assumptions.append(f"Lines {', '.join(map(str, lines))} leaving the busbar of trafo {t} meet downstream; "
                               f"their load is one feeder node feeder_{l0}_load_p_mw.")
        feeders.append(_Feeder(
            load_node=f"feeder_{l0}_load_p_mw", sgen_node=f"feeder_{l0}_sgen_p_mw" if sgens else None, lines=lines,
            buses=set(comp), loads=loads, sgens=sgens, p_nom_mw=_p_nom(net, loads),
            sgen_installed_mw=_installed(net, sgens),
            description=f"Load of the feeder leaving bus {lv} through {via}: {len(comp)} buses, {len(loads)} loads",
            element=ref))
    # cap: aggregate the smallest feeders into feeder_other (keep the busbar node)
    feeders = _cap_feeders(feeders, assumptions, t)
    ties = _ties(net, areas, t)
    return FeederArea(trafo=t, lv_bus=lv, sn_mva=float(net.trafo.at[t, "sn_mva"]), busbar=busbar, buses=area,
                      feeders=feeders, ties=ties, assumptions=assumptions)


def _node_count(feeders: list[_Feeder], n_ties: int = 0) -> int:
    weather = 1 + any(f.sgen_node for f in feeders)
    return weather + len(feeders) + sum(bool(f.sgen_node) for f in feeders) + n_ties + 3


def _cap_feeders(feeders: list[_Feeder], assumptions: list[str], t: int, budget: int = MAX_NODES - 6) -> list[_Feeder]:
    """Merge the smallest feeders (by nominal load) into ``feeder_other`` until the feeder nodes fit ``budget``."""
    def cost(fs):
        return len(fs) + sum(bool(f.sgen_node) for f in fs)

    if cost(feeders) <= budget:
        return feeders
    bar = [f for f in feeders if not f.lines]
    lines = sorted((f for f in feeders if f.lines), key=lambda f: -abs(f.p_nom_mw))
    keep, other = list(lines), []
    while keep and cost(bar + keep) + 2 > budget:
        other.append(keep.pop())
    loads = [i for f in other for i in f.loads]
    sgens = [i for f in other for i in f.sgens]
    merged = _Feeder(load_node="feeder_other_load_p_mw", sgen_node="feeder_other_sgen_p_mw" if sgens else None,
                     lines=sorted(i for f in other for i in f.lines), buses=set().union(*(f.buses for f in other)),
                     loads=loads, sgens=sgens, p_nom_mw=sum(f.p_nom_mw for f in other),
                     sgen_installed_mw=sum(f.sgen_installed_mw for f in other),
                     description=f"Load of the {len(other)} smallest feeders of trafo {t}, aggregated", element=None)
    assumptions.append(f"The {len(other)} smallest feeders of trafo {t} (lines "
                       f"{', '.join(str(f.lines[0]) for f in other[:20])}{' ...' if len(other) > 20 else ''}) are "
                       f"aggregated into feeder_other_load_p_mw to keep the graph within {MAX_NODES} nodes.")
    keep.sort(key=lambda f: f.lines[0])
    return bar + keep + [merged]


def _ties(net, areas: dict[int, set[int]], t: int) -> list[_Tie]:
    """Open line and bus-bus switches whose closing joins transformer ``t``'s area to another transformer's area."""
    ties = []
    if not len(net.switch):
        return ties
    for s, row in net.switch[~net.switch.closed.astype(bool)].iterrows():
        if row.et == "l" and int(row.element) in net.line.index and bool(net.line.at[int(row.element), "in_service"]):
            ends = (int(net.line.at[int(row.element), "from_bus"]), int(net.line.at[int(row.element), "to_bus"]))
            ref = ElementRef(element="line", index=int(row.element), name=element_name(net, "line", int(row.element)))
        elif row.et == "b":
            ends, ref = (int(row.bus), int(row.element)), None
        else:
            continue
        inside = [b for b in ends if b in areas[t]]
        if len(inside) != 1:
            continue
        far = ends[1 - ends.index(inside[0])]
        other = next((o for o, buses in sorted(areas.items()) if o != t and far in buses and buses != areas[t]), None)
        if other is None:
            continue
        ties.append(_Tie(switch=int(s), node=f"switch_{int(s)}_transfer_p_mw", near_bus=inside[0], far_bus=far,
                         other_trafo=other, element=ref,
                         description=f"Load carried into trafo {t}'s area from trafo {other}'s area through "
                                     f"{element_name(net, 'switch', int(s))} (normally open; 0 while open) [MW]"))
    return ties


def feeder_causal_graph(net, trafo: int, columns: Iterable[str] | None = None) -> CausalGraph:
    """The causal graph of one transformer's thermal state, built from physics and the grid's topology.

    Nodes and edges (t = ``trafo``, l = a line leaving the LV busbar, s = a tie switch)::

        ambient_c               -> every load node, trafo_t_theta_to_c
        irradiance_w_m2         -> every sgen node            (only when the area has in-service sgens)
        feeder_l_load_p_mw      -> trafo_t_p_mw               (one per feeder; busbar_<bus>_load_p_mw for the
        feeder_l_sgen_p_mw      -> trafo_t_p_mw                busbar's own loads, busbar_<bus>_sgen_p_mw likewise)
        switch_s_transfer_p_mw  -> trafo_t_p_mw               (one per open tie switch to another transformer)
        trafo_t_p_mw            -> trafo_t_theta_to_c, trafo_t_theta_h_c
        trafo_t_theta_to_c      -> trafo_t_theta_h_c

    Parameters
    ----------
    net : pandapower.pandapowerNet
        The grid; in-service elements and switch states as they stand.
    trafo : int
        Index in ``net.trafo`` of an in-service transformer.
    columns : iterable of str, optional
        The data columns available.  Nodes not among them are marginalised: each removed node's parents are
        linked to its children, and the removal is written in ``assumptions``.  Other columns are ignored.

    Returns
    -------
    CausalGraph
        ``source='topology'``, nodes in topological order, at most :data:`MAX_NODES` nodes (the smallest feeders
        aggregated into ``feeder_other_load_p_mw`` when needed, said in ``assumptions``).

    Raises
    ------
    InputError
        ``field='trafo'`` for an unknown or out-of-service transformer (valid indices named);
        ``field='columns'`` if ``columns`` lacks ``trafo_t_p_mw`` or both thermal nodes.

    References
    ----------
    .. [1] IEEE C57.91-2011, Clause 7: the ultimate top-oil rise depends on the load ratio K and the ambient, the
       hot-spot rise over top oil on K.
    .. [2] pandapower documentation, "Topological Searches" (``create_nxgraph``, ``respect_switches``).
    .. [3] Janzing et al., arXiv:1912.02724, 2019 (root causes on a causal DAG).
    """
    area = feeder_area(net, trafo)
    nodes, edges = _area_nodes(net, area)
    assumptions = [ACYCLIC, STEADY_STATE,
                   "No hidden common cause of feeder loads other than ambient temperature (and of PV output other "
                   "than irradiance).",
                   "Unity power factor: the load ratio is K = P / S_rated with P the transformer's active power.",
                   "Every sgen's output follows irradiance (treated as PV).",
                   "Topology as the net's switch states stand; a normally-open tie carries no load (0 MW) while open.",
                   *area.assumptions]
    graph = CausalGraph(nodes=nodes, edges=edges, source="topology", assumptions=assumptions)
    if columns is not None:
        graph = marginalise(graph, columns, required=area.names)
    return graph


def _area_nodes(net, area: FeederArea) -> tuple[list[CausalNode], list[tuple[str, str]]]:
    t, names = area.trafo, area.names
    trafo_ref = ElementRef(element="trafo", index=t, name=element_name(net, "trafo", t))
    nodes = [CausalNode(name="ambient_c", role="weather", unit="°C", description="Ambient (air) temperature [°C]")]
    edges: list[tuple[str, str]] = []
    if area.has_sgen:
        nodes.append(CausalNode(name="irradiance_w_m2", role="weather", unit="W/m²",
                                description="Global horizontal irradiance [W/m²]"))
    for f in area.feeders:
        nodes.append(CausalNode(name=f.load_node, role="load", unit="MW", description=f"{f.description} [MW]",
                                element=f.element))
        edges += [("ambient_c", f.load_node), (f.load_node, names["p"])]
    for f in area.feeders:
        if f.sgen_node:
            nodes.append(CausalNode(name=f.sgen_node, role="generation", unit="MW", element=f.element,
                                    description=f"Output of the {len(f.sgens)} sgens ({f.sgen_installed_mw:.3g} MW "
                                                f"installed) of: {f.description[0].lower()}{f.description[1:]} [MW]"))
            edges += [("irradiance_w_m2", f.sgen_node), (f.sgen_node, names["p"])]
    for tie in area.ties:
        nodes.append(CausalNode(name=tie.node, role="switching", unit="MW", description=tie.description,
                                element=tie.element))
        edges.append((tie.node, names["p"]))
    nodes += [CausalNode(name=names["p"], role="flow", unit="MW", element=trafo_ref,
                         description=f"Active power through {trafo_ref.name}, HV to LV [MW]"),
              CausalNode(name=names["theta_to"], role="thermal", unit="°C", element=trafo_ref,
                         description=f"Top-oil temperature of {trafo_ref.name} [°C]"),
              CausalNode(name=names["theta_h"], role="reading", unit="°C", element=trafo_ref,
                         description=f"Winding hot-spot temperature reading of {trafo_ref.name} (WTI or fibre "
                                     f"optic; its own noise is the sensor's error) [°C]")]
    edges += [("ambient_c", names["theta_to"]), (names["p"], names["theta_to"]), (names["p"], names["theta_h"]),
              (names["theta_to"], names["theta_h"])]
    return nodes, edges


def marginalise(graph: CausalGraph, columns: Iterable[str], required: dict[str, str] | None = None) -> CausalGraph:
    """The graph restricted to ``columns``: each removed node's parents are linked to its children.

    Parameters
    ----------
    graph : CausalGraph
    columns : iterable of str
        The data columns available; names that are not nodes are ignored.
    required : dict, optional
        Node names that must stay, keyed 'p', 'theta_to', 'theta_h' (a transformer's flow and temperatures):
        the flow and at least one temperature are required.

    Raises
    ------
    InputError
        ``field='columns'`` if the flow or both temperatures are missing, or fewer than two nodes remain.

    References
    ----------
    .. [1] T. Verma, J. Pearl, "Equivalence and synthesis of causal models", UAI 1990 (latent projection: the
       removed node's causes become direct causes of its effects; a removed node with two or more effects
       leaves them a hidden common cause, which a DAG cannot show: said in ``assumptions``).
    """
    cols = {str(c) for c in columns}
    names = graph.names
    keep = [n for n in names if n in cols]
    if required:
        missing = [v for k, v in required.items() if k == "p" and v not in cols]
        if all(required[k] not in cols for k in ("theta_to", "theta_h") if k in required):
            missing += [required[k] for k in ("theta_to", "theta_h") if k in required]
        if missing:
            raise InputError(f"The data lack the column(s) {', '.join(missing)} needed to study the transformer.",
                             field="columns", fix=f"add {missing[0]} to the data (a column per graph node, see the "
                                                  f"node names of the graph)")
    if len(keep) < 2:
        raise InputError("Fewer than two graph nodes are among the data columns.", field="columns",
                         fix=f"name the columns after the graph's nodes: {', '.join(names[:20])}")
    dropped = [n for n in names if n not in cols]
    if not dropped:
        return graph
    edges = set(graph.edges)
    forks = []
    for n in dropped:  # latent projection, one node at a time
        parents = {c for c, e in edges if e == n}
        children = {e for c, e in edges if c == n}
        if len(children) > 1:
            forks.append(n)
        edges = {(c, e) for c, e in edges if n not in (c, e)} | {(p, ch) for p in parents for ch in children}
    order = [n for n in names if n in cols]
    edges_sorted = sorted(edges, key=lambda ce: (order.index(ce[0]), order.index(ce[1])))
    shown = ", ".join(dropped[:10]) + (f" and {len(dropped) - 10} more" if len(dropped) > 10 else "")
    notes = [f"Not in the data, marginalised (each one's causes linked to its effects, its noise folded into "
             f"theirs): {shown}."]
    if forks:
        notes.append(f"Marginalised nodes with several effects ({', '.join(forks[:10])}) leave those effects a hidden "
                     f"common cause that the graph cannot show; attributions among them are less reliable.")
    return CausalGraph(nodes=[graph.node(n) for n in order], edges=edges_sorted, source=graph.source,
                       assumptions=[*graph.assumptions, *notes])
