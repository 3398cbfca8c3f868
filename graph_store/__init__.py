"""The topology graph: Cypher (Neo4j 5 dialect) over Bolt through the official neo4j driver.

By default GridSage uses one ArcadeDB graph server per graph folder, shared by
every GridSage process and run as a process of its own on 127.0.0.1
(:mod:`gridsage.graph_store.server`; started on first use, stopped when idle or
by ``gridsage graph stop``); set ``NEO4J_URI`` (with ``NEO4J_USER`` and
``NEO4J_PASSWORD``) to use a Neo4j server instead.
"""
