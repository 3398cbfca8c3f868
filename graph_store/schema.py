"""The graph schema: node labels, relationship types, constraints and indexes.

Nodes carry ``grid_id`` (grids coexist, separated by it), the pandapower
``index`` and ``name``, and ``in_service``.  Element nodes hang off buses by
``(:Line|:Trafo|:Trafo3w|:Impedance|:DCLine|:Gen|:SGen|:Load|:ExtGrid)-[:AT {side}]->(:Bus)``;
bus-to-bus connectivity is stored ahead of time as
``(:Bus)-[:CONNECTED {via, index, element_id, in_service, switch_open, x_pu, rating_mva, r_ohm_per_km, length_km}]->(:Bus)``
(one per two-ended branch, one per winding pair of a ``trafo3w``) so that no
query needs a multi-hop join through element nodes; buses with a zone hang off
``(:Zone)`` by ``[:IN_ZONE]``.  One ``(:Grid {grid_id, content_sha256,
synced_at, sync_version})`` node per grid records the content hash of its last
complete sync.  The DDL is Neo4j 5 dialect and idempotent (``IF NOT EXISTS``).
"""

from __future__ import annotations

#: pandapower table -> node label
LABELS: dict[str, str] = {
    "bus": "Bus", "line": "Line", "trafo": "Trafo", "trafo3w": "Trafo3w", "impedance": "Impedance", "dcline": "DCLine",
    "gen": "Gen", "sgen": "SGen", "load": "Load", "ext_grid": "ExtGrid",
}
#: labels of elements that sit at one bus
INJECTIONS = ("gen", "sgen", "load", "ext_grid")
#: branch tables -> their bus columns and the AT side of each, in pandapower's order (from/hv first)
BRANCH_ENDS: dict[str, tuple[tuple[str, str], ...]] = {
    "line": (("from_bus", "from"), ("to_bus", "to")),
    "trafo": (("hv_bus", "hv"), ("lv_bus", "lv")),
    "trafo3w": (("hv_bus", "hv"), ("mv_bus", "mv"), ("lv_bus", "lv")),
    "impedance": (("from_bus", "from"), ("to_bus", "to")),
    "dcline": (("from_bus", "from"), ("to_bus", "to")),
}
#: the per-grid node that holds the content hash of the grid's last complete sync
GRID_LABEL = "Grid"


def ddl() -> list[str]:
    """Constraints and indexes, one statement each, safe to run again."""
    statements = [
        f"CREATE CONSTRAINT {label.lower()}_key IF NOT EXISTS FOR (n:{label}) REQUIRE (n.grid_id, n.index) IS UNIQUE"
        for label in LABELS.values()
    ]
    statements.append("CREATE CONSTRAINT zone_key IF NOT EXISTS FOR (z:Zone) REQUIRE (z.grid_id, z.name) IS UNIQUE")
    statements.append(f"CREATE CONSTRAINT grid_key IF NOT EXISTS FOR (g:{GRID_LABEL}) REQUIRE g.grid_id IS UNIQUE")
    statements += [f"CREATE INDEX {label.lower()}_grid IF NOT EXISTS FOR (n:{label}) ON (n.grid_id)" for label in LABELS.values()]
    return statements


def ensure_schema(store) -> None:
    """Create every constraint and index that is missing."""
    for statement in ddl():
        store.write(statement)
