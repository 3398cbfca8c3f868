"""The topology graph: Cypher (Neo4j 5 dialect) over Bolt through the official neo4j driver.

By default an embedded ArcadeDB server is started in-process on 127.0.0.1;
set ``NEO4J_URI`` (with ``NEO4J_USER`` and ``NEO4J_PASSWORD``) to use a Neo4j
server instead.
"""
