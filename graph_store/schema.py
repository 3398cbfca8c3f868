"""The graph schema: node labels, relationship types, constraints and indexes.

Nodes carry ``grid_id`` (grids coexist, separated by it), the pandapower
``index`` and ``name``, and ``in_service``.  Element nodes hang off buses by
``(:Line|:Trafo|:Gen|:SGen|:Load|:ExtGrid)-[:AT {side}]->(:Bus)``; bus-to-bus
connectivity is stored ahead of time as
``(:Bus)-[:CONNECTED {via, element_id, in_service, x_pu, r_ohm_per_km, rating_mva}]->(:Bus)``
so that no query needs a multi-hop join through element nodes; buses with a
zone hang off ``(:Zone)`` by ``[:IN_ZONE]``.  The DDL is Neo4j 5 dialect and
idempotent (``IF NOT EXISTS``).
"""

from __future__ import annotations

#: pandapower table -> node label
LABELS: dict[str, str] = {
    "bus": "Bus", "line": "Line", "trafo": "Trafo", "gen": "Gen", "sgen": "SGen", "load": "Load", "ext_grid": "ExtGrid",
}
#: labels of elements that sit at one bus
INJECTIONS = ("gen", "sgen", "load", "ext_grid")


def ddl() -> list[str]:
    """Constraints and indexes, one statement each, safe to run again."""
    statements = [
        f"CREATE CONSTRAINT {label.lower()}_key IF NOT EXISTS FOR (n:{label}) REQUIRE (n.grid_id, n.index) IS UNIQUE"
        for label in LABELS.values()
    ]
    statements.append("CREATE CONSTRAINT zone_key IF NOT EXISTS FOR (z:Zone) REQUIRE (z.grid_id, z.name) IS UNIQUE")
    statements += [f"CREATE INDEX {label.lower()}_grid IF NOT EXISTS FOR (n:{label}) ON (n.grid_id)" for label in LABELS.values()]
    return statements


def ensure_schema(store) -> None:
    """Create every constraint and index that is missing."""
    for statement in ddl():
        store.write(statement)
