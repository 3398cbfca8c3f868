"""Sync a pandapower network into the graph: idempotent (MERGE), batched, with progress.

Running it again on the same ``grid_id`` updates properties (``in_service``
after a what-if, for example) and deletes nodes of elements that are gone.

References
----------
.. [1] pandapower element tables (bus, line, trafo, gen, sgen, load, ext_grid).
"""

from __future__ import annotations

import math
import time
from typing import Callable, Mapping, Sequence

from pydantic import BaseModel, Field

from .schema import INJECTIONS, LABELS, ensure_schema

BATCH_ROWS = 1000


class SyncReport(BaseModel):
    """What one sync wrote."""

    grid_id: str
    nodes: dict[str, int] = Field(description="Nodes merged per label.")
    connected: int = Field(description="CONNECTED bus-bus relationships merged.")
    removed: int = Field(description="Stale nodes deleted (elements no longer in the grid).")
    zones: int
    time_s: float = Field(description="Wall time [s].")


def _num(value) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) or math.isinf(x) else x


def _name(value) -> str | None:
    return value if isinstance(value, str) and value and value != "None" else None


def _zone(value) -> str | None:
    """A bus zone as text ('1' for 1.0), None when absent."""
    number = _num(value)
    if number is not None:
        return str(int(number)) if number == int(number) else str(number)
    return _name(value)


def branch_x_pu(net, element: str) -> list[float]:
    """Series reactance of each line or trafo on the system base ``net.sn_mva`` [pu].

    Notes
    -----
    Line: :math:`x = x' \\\\ell / n_{par} / (V_n^2 / S_{base})`; trafo:
    :math:`x = \\\\sqrt{v_k^2 - v_{kr}^2} / 100 \\\\cdot S_{base} / S_n / n_{par}`
    (pandapower's element models).
    """
    table = net[element]
    if element == "line":
        vn = net.bus.vn_kv.loc[table.from_bus].to_numpy()
        z_base = vn**2 / net.sn_mva
        return list(table.x_ohm_per_km.to_numpy() * table.length_km.to_numpy() / table.parallel.to_numpy() / z_base)
    vk, vkr = table.vk_percent.to_numpy(), table.vkr_percent.to_numpy()
    return list(((vk**2 - vkr**2).clip(min=0) ** 0.5) / 100 * net.sn_mva / table.sn_mva.to_numpy() / table.parallel.to_numpy())


def node_rows(net, grid_id: str, element: str) -> list[dict]:
    """One row per element of a pandapower table, ready for MERGE."""
    table = net[element]
    rows = []
    for index, row in table.iterrows():
        props = {"name": _name(row.get("name")), "in_service": bool(row.get("in_service", True))}
        if element == "bus":
            props.update(vn_kv=_num(row.vn_kv), zone=_zone(row.get("zone")))
        elif element in INJECTIONS:
            props.update(bus=int(row.bus), p_mw=_num(row.get("p_mw")), q_mvar=_num(row.get("q_mvar")),
                         max_p_mw=_num(row.get("max_p_mw")), slack=bool(row.get("slack", element == "ext_grid")))
        rows.append({"grid_id": grid_id, "index": int(index), "props": props})
    return rows


def open_switched(net, element: str) -> set[int]:
    """Indices of lines (``'line'``) or trafos (``'trafo'``) cut off by an open switch at either end."""
    if "switch" not in net or not len(net.switch):
        return set()
    et = {"line": "l", "trafo": "t"}[element]
    sw = net.switch
    return {int(i) for i in sw.element[(sw.et == et) & ~sw.closed.astype(bool)]}


def connected_rows(net, grid_id: str, rating_mva: Mapping[str, Sequence[float]] | None = None) -> list[dict]:
    """One CONNECTED row per line, trafo and bus-bus switch (from/hv bus -> to/lv bus).

    ``rating_mva`` gives each branch table's thermal ratings [MVA] in table order
    (stored as ``rating_mva``; null where not given).

    A branch behind an open switch is stored with ``in_service`` false (its
    ``switch_open`` is true), as it carries no power; a bus-bus switch is a
    zero-impedance connection, in service when closed.
    """
    rows = []
    for element, (f, t) in (("line", ("from_bus", "to_bus")), ("trafo", ("hv_bus", "lv_bus"))):
        table = net[element]
        if not len(table):
            continue
        x_pu, opened = branch_x_pu(net, element), open_switched(net, element)
        rating = (rating_mva or {}).get(element, [None] * len(table))
        for pos, (index, row) in enumerate(table.iterrows()):
            rows.append({"grid_id": grid_id, "from": int(row[f]), "to": int(row[t]), "element_id": f"{element}:{int(index)}",
                         "props": {"via": element, "index": int(index), "in_service": bool(row.in_service) and int(index) not in opened,
                                   "switch_open": int(index) in opened,
                                   "x_pu": _num(x_pu[pos]), "rating_mva": _num(rating[pos]),
                                   "r_ohm_per_km": _num(row.r_ohm_per_km) if element == "line" else None,
                                   "length_km": _num(row.length_km) if element == "line" else None}})
    if "switch" in net and len(net.switch):
        for index, row in net.switch[net.switch.et == "b"].iterrows():
            rows.append({"grid_id": grid_id, "from": int(row.bus), "to": int(row.element), "element_id": f"switch:{int(index)}",
                         "props": {"via": "switch", "index": int(index), "in_service": bool(row.closed), "switch_open": not bool(row.closed),
                                   "x_pu": 0.0, "rating_mva": None, "r_ohm_per_km": None, "length_km": None}})
    return rows


def sync_network(store, net, grid_id: str, progress: Callable[[int, int], None] | None = None,
                 rating_mva: Mapping[str, Sequence[float]] | None = None) -> SyncReport:
    """Write ``net`` into the graph under ``grid_id`` (idempotent).

    Parameters
    ----------
    store : GraphStore
    net : pandapower.pandapowerNet
    grid_id : str
    progress : callable, optional
        Called as ``progress(rows_done, rows_total)`` after each batch.
    rating_mva : mapping, optional
        ``{'line': [...], 'trafo': [...]}``: each branch's thermal rating [MVA] in table order, stored on its
        CONNECTED relation (the graph does not derive ratings: the grid tools own that formula).

    Returns
    -------
    SyncReport

    Raises
    ------
    GraphQueryError
        If a batch fails; that batch is rolled back, earlier ones are kept,
        and running the sync again completes it.
    """
    start = time.perf_counter()
    ensure_schema(store)
    tables = [e for e in LABELS if e in net and len(net[e])]
    nodes = {e: node_rows(net, grid_id, e) for e in tables}
    branch_ends = []
    for element, (f, t), sides in (("line", ("from_bus", "to_bus"), ("from", "to")), ("trafo", ("hv_bus", "lv_bus"), ("hv", "lv"))):
        if element in nodes:
            for index, row in net[element].iterrows():
                branch_ends += [{"element": element, "grid_id": grid_id, "index": int(index), "bus": int(row[f]), "side": sides[0]},
                                {"element": element, "grid_id": grid_id, "index": int(index), "bus": int(row[t]), "side": sides[1]}]
    connected = connected_rows(net, grid_id, rating_mva)
    zones = sorted({r["props"]["zone"] for r in nodes.get("bus", []) if r["props"]["zone"]})
    total = sum(map(len, nodes.values())) + sum(len(nodes[e]) for e in INJECTIONS if e in nodes) + len(branch_ends) + len(connected)
    done = 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, total)

    for element, rows in nodes.items():
        label = LABELS[element]
        store.write_batches(f"UNWIND $rows AS r MERGE (n:{label} {{grid_id: r.grid_id, index: r.index}}) SET n += r.props",
                            rows, BATCH_ROWS, step)
    for element in INJECTIONS:
        if element not in nodes:
            continue
        rows = [{"grid_id": grid_id, "index": r["index"], "bus": r["props"]["bus"]} for r in nodes[element]]
        store.write_batches(f"UNWIND $rows AS r MATCH (e:{LABELS[element]} {{grid_id: r.grid_id, index: r.index}}) "
                            "MATCH (b:Bus {grid_id: r.grid_id, index: r.bus}) MERGE (e)-[:AT {side: 'at'}]->(b)",
                            rows, BATCH_ROWS, step)
    for element in ("line", "trafo"):
        rows = [r for r in branch_ends if r["element"] == element]
        if rows:
            store.write_batches(f"UNWIND $rows AS r MATCH (e:{LABELS[element]} {{grid_id: r.grid_id, index: r.index}}) "
                                "MATCH (b:Bus {grid_id: r.grid_id, index: r.bus}) MERGE (e)-[:AT {side: r.side}]->(b)",
                                rows, BATCH_ROWS, step)
    store.write_batches("UNWIND $rows AS r MATCH (a:Bus {grid_id: r.grid_id, index: r.from}) "
                        "MATCH (b:Bus {grid_id: r.grid_id, index: r.to}) "
                        "MERGE (a)-[c:CONNECTED {element_id: r.element_id}]->(b) SET c += r.props",
                        connected, BATCH_ROWS, step)
    if zones:
        store.write_batches("UNWIND $rows AS r MERGE (z:Zone {grid_id: r.grid_id, name: r.zone}) WITH z, r "
                            "MATCH (b:Bus {grid_id: r.grid_id, index: r.index}) MERGE (b)-[:IN_ZONE]->(z)",
                            [{"grid_id": grid_id, "index": r["index"], "zone": r["props"]["zone"]} for r in nodes["bus"] if r["props"]["zone"]],
                            BATCH_ROWS)
    removed = 0
    for element, label in LABELS.items():
        keep = [r["index"] for r in nodes.get(element, [])]
        gone = store.read(f"MATCH (n:{label} {{grid_id: $grid_id}}) WHERE NOT n.index IN $keep RETURN count(n) AS n",
                          grid_id=grid_id, keep=keep)[0]["n"]
        if gone:
            store.write(f"MATCH (n:{label} {{grid_id: $grid_id}}) WHERE NOT n.index IN $keep DETACH DELETE n", grid_id=grid_id, keep=keep)
            removed += gone
    return SyncReport(grid_id=grid_id, nodes={LABELS[e]: len(r) for e, r in nodes.items()}, connected=len(connected),
                      removed=removed, zones=len(zones), time_s=round(time.perf_counter() - start, 3))
