"""Sync a pandapower network into the graph: idempotent (MERGE), batched, with progress, skipped when unchanged.

Running it again on the same ``grid_id`` updates properties (``in_service``
after a what-if, for example) and deletes nodes and CONNECTED relations of
elements that are gone.

Every branch kind pandapower has becomes a CONNECTED bus pair: ``line``,
``trafo``, ``trafo3w`` (one pair per winding pair: hv-mv, hv-lv, mv-lv, as in
pandapower's ``create_nxgraph``), ``impedance`` (what pandapower's MATPOWER
converter makes of a transformer branch with TAP = 1 between kV levels, and of
series reactors) and ``dcline``; bus-bus switches too.

The sync hashes what it writes (sha256 over a canonical JSON of every node,
AT and CONNECTED row, the schema DDL and :data:`SYNC_VERSION`) and stores that
hash on the grid's ``(:Grid {grid_id})`` node once the sync completes. When the
stored hash equals the new one, nothing is written: the graph already holds
this content, whichever process wrote it (the embedded graph folder persists
on disk between processes).

References
----------
.. [1] pandapower element tables (bus, line, trafo, trafo3w, impedance, dcline,
   gen, sgen, load, ext_grid, switch), pandapower documentation "Datastructure
   and Elements".
.. [2] pandapower documentation, "Impedance", Electric Model:
   :math:`z_{ft} = (rft\\_pu + j \\cdot xft\\_pu) \\cdot S_N / sn`, the per-unit
   values referring to the element's own ``sn_mva``
   (``build_branch._calc_impedance_parameters_from_dataframe``).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import time
from datetime import datetime, timezone
from typing import Callable, Mapping, Sequence

import numpy as np
from pydantic import BaseModel, Field

from .schema import BRANCH_ENDS, GRID_LABEL, INJECTIONS, LABELS, ddl, ensure_schema

BATCH_ROWS = 1000
#: bump when the sync writes differently for the same rows (new statements, relations or labels)
SYNC_VERSION = 2


class SyncReport(BaseModel):
    """What one sync wrote, or found already in the graph."""

    grid_id: str
    nodes: dict[str, int] = Field(description="Nodes per label (merged, or already there when skipped).")
    connected: int = Field(description="CONNECTED bus-bus relationships (merged, or already there when skipped).")
    removed: int = Field(description="Stale nodes deleted (elements no longer in the grid).")
    removed_connected: int = Field(default=0, description="Stale CONNECTED relationships deleted.")
    zones: int
    skipped_unchanged: bool = Field(default=False, description="True when the graph already held this exact content "
                                                               "(same content hash) and nothing was written.")
    content_sha256: str = Field(default="", description="sha256 of the rows this sync writes (hex).")
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


def _flag(value, default: bool) -> bool:
    """A boolean column value; ``default`` where missing (None or NaN)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return default
    return bool(value)


def _column(table, name: str, convert: Callable, default=None) -> list:
    """One column as a list of plain Python values, ``default`` for every row when the column is absent."""
    if name not in table:
        return [default] * len(table)
    return [convert(v) for v in table[name].tolist()]


def branch_x_pu(net, element: str) -> dict[tuple[str, str], np.ndarray]:
    """Series reactance between each pair of a branch's ends on the system base ``net.sn_mva`` [pu].

    Parameters
    ----------
    net : pandapower.pandapowerNet
    element : {'line', 'trafo', 'trafo3w', 'impedance', 'dcline'}

    Returns
    -------
    dict
        ``{(side, side): array}``, one array in table order per pair of ends,
        e.g. ``('from', 'to')``, ``('hv', 'lv')``; a ``trafo3w`` has
        ``('hv', 'mv')``, ``('hv', 'lv')`` and ``('mv', 'lv')``. NaN for a
        ``dcline`` (no AC series reactance).

    Notes
    -----
    With :math:`S_{base}` = ``net.sn_mva``:

    - line: :math:`x = x' \\ell / n_{par} / (V_n^2 / S_{base})`, :math:`V_n` of the from bus;
    - trafo: :math:`x = \\sqrt{v_k^2 - v_{kr}^2} / 100 \\cdot S_{base} / S_n / n_{par}`;
    - trafo3w, winding pair *ab*: the same with that pair's short-circuit
      voltages (``vk_hv_percent``: hv-mv, ``vk_mv_percent``: mv-lv,
      ``vk_lv_percent``: hv-lv) on :math:`\\min(S_a, S_b)`, as pandapower
      reads them; this is the star equivalent's :math:`x_a + x_b`;
    - impedance: :math:`x = x_{ft} \\cdot S_{base} / S_n`: pandapower's
      ``xft_pu`` is on the element's own ``sn_mva`` (module reference [2]; the MATPOWER
      converter scales BR_X by RATE_A / baseMVA to put it there);
    - dcline: none (pandapower's ``create_nxgraph`` weighs it as infinite).

    Taps are ignored (rated ratio).
    """
    table, s_base = net[element], float(net.sn_mva)
    if element == "line":
        vn = net.bus.vn_kv.loc[table.from_bus].to_numpy(dtype=float)
        z_base = vn**2 / s_base
        x = table.x_ohm_per_km.to_numpy(dtype=float) * table.length_km.to_numpy(dtype=float) / table.parallel.to_numpy(dtype=float)
        return {("from", "to"): x / z_base}
    if element == "trafo":
        vk, vkr = table.vk_percent.to_numpy(dtype=float), table.vkr_percent.to_numpy(dtype=float)
        return {("hv", "lv"): np.sqrt((vk**2 - vkr**2).clip(min=0)) / 100 * s_base / table.sn_mva.to_numpy(dtype=float)
                / table.parallel.to_numpy(dtype=float)}
    if element == "trafo3w":
        sn = {side: table[f"sn_{side}_mva"].to_numpy(dtype=float) for side in ("hv", "mv", "lv")}
        pairs = {}
        for (a, b), column in ((("hv", "mv"), "hv"), (("hv", "lv"), "lv"), (("mv", "lv"), "mv")):
            vk, vkr = table[f"vk_{column}_percent"].to_numpy(dtype=float), table[f"vkr_{column}_percent"].to_numpy(dtype=float)
            pairs[(a, b)] = np.sqrt((vk**2 - vkr**2).clip(min=0)) / 100 * s_base / np.minimum(sn[a], sn[b])
        return pairs
    if element == "impedance":
        return {("from", "to"): table.xft_pu.to_numpy(dtype=float) * s_base / table.sn_mva.to_numpy(dtype=float)}
    return {("from", "to"): np.full(len(table), np.nan)}


def node_rows(net, grid_id: str, element: str) -> list[dict]:
    """One row per element of a pandapower table, ready for MERGE."""
    table = net[element]
    columns = {"name": _column(table, "name", _name), "in_service": _column(table, "in_service", lambda v: _flag(v, True), True)}
    if element == "bus":
        columns.update(vn_kv=_column(table, "vn_kv", _num), zone=_column(table, "zone", _zone))
    elif element in INJECTIONS:
        columns.update(bus=_column(table, "bus", int), p_mw=_column(table, "p_mw", _num), q_mvar=_column(table, "q_mvar", _num),
                       max_p_mw=_column(table, "max_p_mw", _num),
                       slack=_column(table, "slack", lambda v: _flag(v, False), element == "ext_grid"))
    keys = list(columns)
    return [{"grid_id": grid_id, "index": int(index), "props": dict(zip(keys, values))}
            for index, *values in zip(table.index.tolist(), *columns.values())]


def open_switched(net, element: str) -> set[tuple[int, int]]:
    """``(index, bus)`` of each open switch on a branch of table ``element`` (none for impedance and dcline).

    A line or trafo with an open switch at either end carries nothing; a
    ``trafo3w`` loses the winding at the switch's bus.
    """
    et = {"line": "l", "trafo": "t", "trafo3w": "t3"}.get(element)
    if et is None or "switch" not in net or not len(net.switch):
        return set()
    sw = net.switch
    opened = sw[(sw.et == et) & ~sw.closed.astype(bool)]
    return {(int(i), int(b)) for i, b in zip(opened.element.tolist(), opened.bus.tolist())}


def connected_rows(net, grid_id: str, rating_mva: Mapping[str, Sequence[float]] | None = None) -> list[dict]:
    """One CONNECTED row per two-ended branch, per trafo3w winding pair, and per bus-bus switch.

    Parameters
    ----------
    net : pandapower.pandapowerNet
    grid_id : str
    rating_mva : mapping, optional
        Each branch table's thermal ratings [MVA] in table order, e.g.
        ``{'line': [...], 'impedance': [...]}`` (stored as ``rating_mva``;
        null where not given). A trafo3w's rating goes on each of its pairs.

    Returns
    -------
    list of dict
        ``from``/``to`` bus (from/hv end first), ``element_id`` (``'line:7'``,
        ``'trafo3w:0'`` on all three pairs, ``'switch:3'``), and ``props``:
        ``via`` (table), ``index``, ``sides`` (e.g. ``'hv-mv'``),
        ``in_service``, ``switch_open``, ``x_pu`` [pu, system base; null for a
        dcline], ``rating_mva`` [MVA], ``r_ohm_per_km`` [ohm/km] and
        ``length_km`` [km] (lines only).

    Notes
    -----
    A branch behind an open switch is stored with ``in_service`` false (its
    ``switch_open`` is true), as it carries no power; a bus-bus switch is a
    zero-impedance connection, in service when closed.
    """
    rows = []
    for element, ends in BRANCH_ENDS.items():
        table = net[element] if element in net else None
        if table is None or not len(table):
            continue
        x_pu, opened = branch_x_pu(net, element), open_switched(net, element)
        opened_index = {i for i, _ in opened}
        rating = list((rating_mva or {}).get(element, [None] * len(table)))
        indices, live = table.index.tolist(), _column(table, "in_service", lambda v: _flag(v, True), True)
        buses = {side: table[column].tolist() for column, side in ends}
        line = element == "line"
        r_km = table.r_ohm_per_km.tolist() if line else None
        length = table.length_km.tolist() if line else None
        for (_, a), (_, b) in itertools.combinations(ends, 2):
            x = x_pu[(a, b)].tolist()
            for pos, index in enumerate(indices):
                f, t = int(buses[a][pos]), int(buses[b][pos])
                cut = (index in opened_index) if element != "trafo3w" else ((index, f) in opened or (index, t) in opened)
                rows.append({"grid_id": grid_id, "from": f, "to": t, "element_id": f"{element}:{int(index)}",
                             "props": {"via": element, "index": int(index), "sides": f"{a}-{b}", "in_service": live[pos] and not cut,
                                       "switch_open": cut, "x_pu": _num(x[pos]), "rating_mva": _num(rating[pos]),
                                       "r_ohm_per_km": _num(r_km[pos]) if line else None,
                                       "length_km": _num(length[pos]) if line else None}})
    if "switch" in net and len(net.switch):
        sw = net.switch[net.switch.et == "b"]
        for index, bus, other, closed in zip(sw.index.tolist(), sw.bus.tolist(), sw.element.tolist(), sw.closed.tolist()):
            rows.append({"grid_id": grid_id, "from": int(bus), "to": int(other), "element_id": f"switch:{int(index)}",
                         "props": {"via": "switch", "index": int(index), "sides": "bus-bus", "in_service": bool(closed),
                                   "switch_open": not bool(closed), "x_pu": 0.0, "rating_mva": None, "r_ohm_per_km": None,
                                   "length_km": None}})
    return rows


def branch_end_rows(net, grid_id: str) -> dict[str, list[dict]]:
    """The AT rows of every branch table: one per end, with its side (``from``/``to``, ``hv``/``mv``/``lv``)."""
    rows = {}
    for element, ends in BRANCH_ENDS.items():
        if element in net and len(net[element]):
            table = net[element]
            indices = table.index.tolist()
            rows[element] = [{"grid_id": grid_id, "index": int(index), "bus": int(bus), "side": side}
                             for column, side in ends for index, bus in zip(indices, table[column].tolist())]
    return rows


def content_hash(*parts) -> str:
    """sha256 (hex) of a canonical JSON of ``parts`` (sorted keys, no whitespace)."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), allow_nan=False,
                      default=lambda o: o.item() if hasattr(o, "item") else str(o))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def stored_hash(store, grid_id: str) -> str | None:
    """The content hash of the grid's last complete sync, or None (never synced, or a sync did not finish)."""
    rows = store.read(f"MATCH (g:{GRID_LABEL} {{grid_id: $g}}) RETURN g.content_sha256 AS h", g=grid_id)
    return rows[0]["h"] if rows else None


def sync_network(store, net, grid_id: str, progress: Callable[[int, int], None] | None = None,
                 rating_mva: Mapping[str, Sequence[float]] | None = None, force: bool = False) -> SyncReport:
    """Write ``net`` into the graph under ``grid_id`` (idempotent), unless the graph already holds it.

    Parameters
    ----------
    store : GraphStore
    net : pandapower.pandapowerNet
    grid_id : str
    progress : callable, optional
        Called as ``progress(rows_done, rows_total)`` after each batch.
    rating_mva : mapping, optional
        ``{'line': [...], 'trafo': [...], 'impedance': [...], ...}``: each branch's thermal rating [MVA] in table
        order, stored on its CONNECTED relations (the graph does not derive ratings: the grid tools own that formula).
    force : bool, default False
        Write even when the stored content hash equals this content's (e.g. after the graph was edited by hand).

    Returns
    -------
    SyncReport
        ``skipped_unchanged`` is true when nothing was written because the
        grid's stored hash matched.

    Raises
    ------
    GraphQueryError
        If a batch fails; that batch is rolled back, earlier ones are kept,
        the grid's stored hash stays cleared, and running the sync again
        completes it.

    Notes
    -----
    The stored hash is cleared before the first write and set after the last,
    so a sync that stops half-way is never taken for a complete one.
    """
    start = time.perf_counter()
    tables = [e for e in LABELS if e in net and len(net[e])]
    nodes = {e: node_rows(net, grid_id, e) for e in tables}
    branch_ends = branch_end_rows(net, grid_id)
    connected = connected_rows(net, grid_id, rating_mva)
    zone_rows = [{"grid_id": grid_id, "index": r["index"], "zone": r["props"]["zone"]}
                 for r in nodes.get("bus", []) if r["props"]["zone"]]
    zones = sorted({r["zone"] for r in zone_rows})
    digest = content_hash(SYNC_VERSION, ddl(), nodes, branch_ends, connected, zone_rows)
    counts = {LABELS[e]: len(r) for e, r in nodes.items()}
    if not force and stored_hash(store, grid_id) == digest:
        return SyncReport(grid_id=grid_id, nodes=counts, connected=len(connected), removed=0, zones=len(zones),
                          skipped_unchanged=True, content_sha256=digest, time_s=round(time.perf_counter() - start, 3))

    ensure_schema(store)
    store.write(f"MERGE (g:{GRID_LABEL} {{grid_id: $g}}) SET g.content_sha256 = null", g=grid_id)
    injection_rows = {e: [{"grid_id": grid_id, "index": r["index"], "bus": r["props"]["bus"]} for r in nodes[e]]
                      for e in INJECTIONS if e in nodes}
    total = (sum(map(len, nodes.values())) + sum(map(len, injection_rows.values())) + sum(map(len, branch_ends.values()))
             + len(connected))
    done = 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, total)

    for element, rows in nodes.items():
        store.write_batches(f"UNWIND $rows AS r MERGE (n:{LABELS[element]} {{grid_id: r.grid_id, index: r.index}}) SET n += r.props",
                            rows, BATCH_ROWS, step)
    for element, rows in injection_rows.items():
        store.write_batches(f"UNWIND $rows AS r MATCH (e:{LABELS[element]} {{grid_id: r.grid_id, index: r.index}}) "
                            "MATCH (b:Bus {grid_id: r.grid_id, index: r.bus}) MERGE (e)-[:AT {side: 'at'}]->(b)",
                            rows, BATCH_ROWS, step)
    for element, rows in branch_ends.items():
        store.write_batches(f"UNWIND $rows AS r MATCH (e:{LABELS[element]} {{grid_id: r.grid_id, index: r.index}}) "
                            "MATCH (b:Bus {grid_id: r.grid_id, index: r.bus}) MERGE (e)-[:AT {side: r.side}]->(b)",
                            rows, BATCH_ROWS, step)
    store.write_batches("UNWIND $rows AS r MATCH (a:Bus {grid_id: r.grid_id, index: r.from}) "
                        "MATCH (b:Bus {grid_id: r.grid_id, index: r.to}) "
                        "MERGE (a)-[c:CONNECTED {element_id: r.element_id}]->(b) SET c += r.props",
                        connected, BATCH_ROWS, step)
    if zone_rows:
        store.write_batches("UNWIND $rows AS r MERGE (z:Zone {grid_id: r.grid_id, name: r.zone}) WITH z, r "
                            "MATCH (b:Bus {grid_id: r.grid_id, index: r.index}) MERGE (b)-[:IN_ZONE]->(z)",
                            zone_rows, BATCH_ROWS)
    removed = 0
    for element, label in LABELS.items():  # stale sets found here, not in Cypher: `NOT x IN $keep` scans the list per row
        keep = {r["index"] for r in nodes.get(element, [])}
        gone = sorted({r["i"] for r in store.read(f"MATCH (n:{label} {{grid_id: $g}}) RETURN n.index AS i", g=grid_id)} - keep)
        if gone:
            store.write(f"MATCH (n:{label} {{grid_id: $g}}) WHERE n.index IN $gone DETACH DELETE n", g=grid_id, gone=gone)
            removed += len(gone)
    pair_key = "c.element_id + '@' + toString(a.index) + '>' + toString(b.index)"
    keep_pairs = {f"{r['element_id']}@{r['from']}>{r['to']}" for r in connected}
    stale = sorted({r["k"] for r in store.read(f"MATCH (a:Bus {{grid_id: $g}})-[c:CONNECTED]->(b:Bus) RETURN {pair_key} AS k",
                                               g=grid_id)} - keep_pairs)
    if stale:
        store.write(f"MATCH (a:Bus {{grid_id: $g}})-[c:CONNECTED]->(b:Bus) WHERE ({pair_key}) IN $stale DELETE c",
                    g=grid_id, stale=stale)
    removed_connected = len(stale)
    store.write(f"MATCH (g:{GRID_LABEL} {{grid_id: $g}}) SET g.content_sha256 = $h, g.sync_version = $v, g.synced_at = $at",
                g=grid_id, h=digest, v=SYNC_VERSION, at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    return SyncReport(grid_id=grid_id, nodes=counts, connected=len(connected), removed=removed,
                      removed_connected=removed_connected, zones=len(zones), content_sha256=digest,
                      time_s=round(time.perf_counter() - start, 3))
