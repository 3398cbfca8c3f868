"""Where the topology graph lives: an external Neo4j server, or the embedded ArcadeDB."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class GraphSettings:
    """Connection settings of the topology graph.

    Parameters
    ----------
    uri : str or None
        Bolt URI of an external Neo4j 5 server (e.g. ``bolt://host:7687`` or
        ``neo4j://host:7687``). ``None`` starts the embedded ArcadeDB server.
    user : str
        User name for an external server. The embedded server always uses
        ``root``.
    password : str or None
        Password for an external server. The embedded server ignores it and uses
        a password generated once and kept in ``data_dir`` (see
        :class:`~gridsage.graph_store.embedded.EmbeddedArcadeDB`).
    database : str
        Database name on the server.
    data_dir : pathlib.Path
        Folder of the embedded server (databases, configuration, logs). Unused
        with an external server.
    """

    uri: str | None
    user: str
    password: str | None
    database: str
    data_dir: Path

    @classmethod
    def from_env(cls) -> GraphSettings:
        """Read the settings from the environment.

        Returns
        -------
        GraphSettings
            Built from these variables:

            ============================ ==============================================
            ``NEO4J_URI``                external server; unset or empty: embedded
            ``NEO4J_USER``               default ``neo4j``
            ``NEO4J_PASSWORD``           default none
            ``NEO4J_DATABASE``           default ``gridsage`` (embedded), ``neo4j`` (external)
            ``GRIDSAGE_GRAPH_DIR``       default ``platformdirs.user_data_path("gridsage") / "graph"``
            ============================ ==============================================
        """
        uri = os.environ.get("NEO4J_URI") or None
        graph_dir = os.environ.get("GRIDSAGE_GRAPH_DIR")
        if graph_dir:
            data_dir = Path(graph_dir).expanduser()
        else:
            import platformdirs

            data_dir = platformdirs.user_data_path("gridsage") / "graph"
        return cls(
            uri=uri,
            user=os.environ.get("NEO4J_USER") or "neo4j",
            password=os.environ.get("NEO4J_PASSWORD") or None,
            database=os.environ.get("NEO4J_DATABASE") or ("neo4j" if uri else "gridsage"),
            data_dir=data_dir,
        )
