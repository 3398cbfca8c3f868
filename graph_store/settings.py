"""Where the topology graph lives: an external Neo4j server, or the shared embedded-ArcadeDB graph server."""

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
        ``neo4j://host:7687``). ``None``: the shared graph server of
        ``data_dir`` (:mod:`gridsage.graph_store.server`), started on first use.
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
        Folder of the graph server (databases, configuration, logs, its state
        file). Unused with an external server.
    idle_timeout_s : float, default 900
        A graph server started by this process stops after this long without
        a client call [s]; 0 or less: never. A running server keeps the value
        it was started with.
    start_timeout_s : float, default 90
        Longest wait for the graph server to start [s].
    """

    uri: str | None
    user: str
    password: str | None
    database: str
    data_dir: Path
    idle_timeout_s: float = 900.0
    start_timeout_s: float = 90.0

    @classmethod
    def from_env(cls) -> GraphSettings:
        """Read the settings from the environment.

        Returns
        -------
        GraphSettings
            Built from these variables:

            ================================= ========================================================
            ``NEO4J_URI``                     external server; unset or empty: embedded
            ``NEO4J_USER``                    default ``neo4j``
            ``NEO4J_PASSWORD``                default none
            ``NEO4J_DATABASE``                default ``gridsage`` (embedded), ``neo4j`` (external)
            ``GRIDSAGE_GRAPH_DIR``            default ``platformdirs.user_data_path("gridsage") / "graph"``
            ``GRIDSAGE_GRAPH_IDLE_TIMEOUT``   seconds, default 900 (0: the server never stops by itself)
            ``GRIDSAGE_GRAPH_START_TIMEOUT``  seconds, default 90
            ================================= ========================================================

        Raises
        ------
        InputError
            If a timeout variable is not a number (or the start timeout is not positive).
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
            idle_timeout_s=_seconds("GRIDSAGE_GRAPH_IDLE_TIMEOUT", 900.0, positive=False),
            start_timeout_s=_seconds("GRIDSAGE_GRAPH_START_TIMEOUT", 90.0, positive=True),
        )


def _seconds(name: str, default: float, positive: bool) -> float:
    """A duration [s] from the environment variable ``name``, ``default`` when unset or empty."""
    from gridsage.errors import InputError

    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if value != value or value in (float("inf"), float("-inf")) or (positive and value <= 0):
        raise InputError(f"{name}={text!r} is not a {'positive ' if positive else ''}number of seconds", field=name,
                         fix=f"set {name} to e.g. {default:g}, or unset it for the default ({default:g} s)"
                             + ("" if positive else "; 0 means never"))
    return value
