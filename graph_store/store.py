"""The graph store: Cypher reads and writes over Bolt, one transaction per call.

:class:`GraphStore` connects lazily on first use, to ``NEO4J_URI`` when it is
set and otherwise to the shared graph server of its folder
(:mod:`gridsage.graph_store.server`, an ArcadeDB process of its own, started
if none runs). No JVM ever runs in the calling process. Driver errors come
out as :class:`~gridsage.errors.GraphUnavailableError` (cannot connect)
or :class:`~gridsage.errors.GraphQueryError` (a statement failed; its
transaction was rolled back). The process-wide store is :func:`get_store`;
:func:`use_store` makes another one current (a test, a planner run).
"""

from __future__ import annotations

import atexit
import contextlib
import contextvars
import threading
from collections.abc import Callable, Iterator
from typing import Any, Literal

from gridsage.errors import GraphQueryError, GraphUnavailableError, GridSageError, InputError
from .settings import GraphSettings

#: seconds: TCP connect to an external server, and the retry budget of a transaction
CONNECTION_TIMEOUT_S = 5.0
RETRY_TIME_S = 5.0
BOLT_SCHEMES = ("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc")


class GraphStore:
    """Cypher (Neo4j 5 dialect) over Bolt through the official ``neo4j`` driver.

    Parameters
    ----------
    settings : GraphSettings
        Where the graph lives; see :meth:`GraphSettings.from_env`.

    Notes
    -----
    Nothing connects until the first query. Methods are thread-safe (the
    driver is; each call opens its own session). :meth:`close` is also
    registered with ``atexit``.

    With the embedded graph, each call marks client activity for the
    server's idle clock, and a server that has stopped meanwhile (idle, or
    ``gridsage graph stop``) is started again by the next call.
    """

    def __init__(self, settings: GraphSettings):
        self.settings = settings
        self._driver = None
        self._server = None  # the ServerState the driver is connected to (embedded graph)
        self._lock = threading.Lock()
        self._atexit = False

    @property
    def backend(self) -> Literal["embedded-arcadedb", "external"]:
        """``'external'`` when ``settings.uri`` is set, else ``'embedded-arcadedb'``."""
        return "external" if self.settings.uri else "embedded-arcadedb"

    @property
    def server_agent(self) -> str:
        """The server's agent string, e.g. ``'Neo4j/5.26.0 compatible (ArcadeDB 26.10.2)'``."""
        return self._connect().get_server_info().agent

    def read(self, cypher: str, /, **params: Any) -> list[dict]:
        """Run a read query in a read transaction.

        Parameters
        ----------
        cypher : str
            One Cypher statement, parameters as ``$name``.
        **params
            Query parameters.

        Returns
        -------
        list of dict
            One ``record.data()`` per row (nodes become property dicts).

        Raises
        ------
        GraphQueryError
            If the statement fails.
        GraphUnavailableError
            If the server cannot be reached.
        """
        return self._execute("read", lambda tx: [r.data() for r in tx.run(cypher, params)])

    def write(self, cypher: str, /, **params: Any) -> None:
        """Run one statement in a write transaction (all of it or nothing).

        Raises
        ------
        GraphQueryError
            If the statement fails; nothing of it is written.
        GraphUnavailableError
            If the server cannot be reached.
        """
        self._execute("write", lambda tx: tx.run(cypher, params).consume())

    def write_batches(self, cypher: str, rows: list[dict], batch_size: int = 1000,
                      progress: Callable[[int], None] | None = None) -> int:
        """Write ``rows`` in batches, each batch in its own transaction.

        Parameters
        ----------
        cypher : str
            Statement taking the batch as ``$rows``, e.g. ``UNWIND $rows AS r MERGE ...``.
        rows : list of dict
            All rows.
        batch_size : int, default 1000
            Rows per transaction [rows].
        progress : callable, optional
            Called after each committed batch with the number of rows in it.

        Returns
        -------
        int
            Rows written.

        Raises
        ------
        GraphQueryError
            If a batch fails: it is rolled back, earlier batches stay committed
            (run the same idempotent ``MERGE`` again to complete the write).
        InputError
            If ``batch_size`` is below 1.
        """
        if batch_size < 1:
            raise InputError(f"batch_size must be at least 1 (got {batch_size})", field="batch_size",
                             fix="pass a positive number of rows per transaction, e.g. 1000")
        written = 0
        for first in range(0, len(rows), batch_size):
            batch = rows[first:first + batch_size]
            try:
                self._execute("write", lambda tx, batch=batch: tx.run(cypher, rows=batch).consume())
            except GraphQueryError as exc:
                last = first + len(batch) - 1
                raise GraphQueryError(
                    f"the batch of rows {first}..{last} failed and was rolled back; rows 0..{first - 1} "
                    f"({first} rows) were committed in earlier batches: {exc.message}" if first else
                    f"the batch of rows {first}..{last} failed and was rolled back; no earlier batch: {exc.message}",
                    field=f"rows[{first}:{last + 1}]",
                    fix="correct those rows or the statement and write again (MERGE makes the rerun idempotent)") from exc
            written += len(batch)
            if progress is not None:
                progress(len(batch))
        return written

    def run_in_transaction(self, fn: Callable[[Any], Any]) -> Any:
        """Run ``fn(tx)`` in one write transaction: all its statements commit together or not at all.

        Parameters
        ----------
        fn : callable
            Takes a ``neo4j.ManagedTransaction``; must consume its results
            inside. May be retried on transient errors, so keep it free of
            side effects outside the graph.

        Returns
        -------
        object
            What ``fn`` returns.

        Raises
        ------
        GraphQueryError
            If a statement fails (everything rolled back). Other exceptions
            raised by ``fn`` roll back too and pass through unchanged.
        """
        return self._execute("write", fn)

    def prestart(self) -> None:
        """Connect in the background, starting the graph server if none runs; return at once.

        For a process that will need the graph later (``gridsage analyze``):
        the server's start-up (JVM, ArcadeDB, Bolt: seconds when cold) then
        overlaps the work before the first graph call, which waits for it if
        it is not done. Errors are not raised here: the first call meets them.
        Nothing happens with an external server or when already connected.
        """
        if self.settings.uri or self._driver is not None:
            return
        threading.Thread(target=self._prestart, name="gridsage-graph-prestart", daemon=True).start()

    def _prestart(self) -> None:
        from .server import ensure_server

        s = self.settings
        with contextlib.suppress(GridSageError):  # not self._connect(): close() at exit must not wait for this thread
            ensure_server(s.data_dir, s.database, idle_timeout_s=s.idle_timeout_s, start_timeout_s=s.start_timeout_s)
            import neo4j  # noqa: F401  (the first call's import, done meanwhile)

    def close(self) -> None:
        """Close the driver. Safe to call twice; the store reconnects if used again.

        The shared graph server keeps running for other processes (it stops
        when idle, or with :func:`~gridsage.graph_store.server.stop_server`).
        """
        with self._lock:
            driver, self._driver, self._server = self._driver, None, None
            if driver is not None:
                driver.close()

    # -- internals --------------------------------------------------------

    def _where(self) -> str:
        return self.settings.uri or f"the graph server of {self.settings.data_dir}"

    def _execute(self, mode: Literal["read", "write"], fn: Callable[[Any], Any]) -> Any:
        from neo4j.exceptions import AuthError, DriverError, Neo4jError, ServiceUnavailable, SessionExpired

        driver = self._connect()
        try:
            try:
                with driver.session(database=self.settings.database) as session:
                    return (session.execute_write if mode == "write" else session.execute_read)(fn)
            except (ServiceUnavailable, SessionExpired, AuthError):
                if self.settings.uri:
                    raise
                # the shared server went away (killed, or stopped between our check and the call), or invalidated
                # this driver's connections (AuthError): once more, on fresh connections to a server started again if
                # need be (the transaction did not run: the driver has given up on it, or the server refused it)
                self._drop(driver)
                with self._connect().session(database=self.settings.database) as session:
                    return (session.execute_write if mode == "write" else session.execute_read)(fn)
        except (ServiceUnavailable, SessionExpired) as exc:
            raise GraphUnavailableError(
                f"lost the connection to the graph ({self._where()}): {exc}",
                field="NEO4J_URI" if self.settings.uri else "GRIDSAGE_GRAPH_DIR",
                fix="check that the graph server is running, then retry" if self.settings.uri else
                    "retry (a new graph server starts); `gridsage graph status` names its log") from exc
        except (Neo4jError, DriverError) as exc:
            code = getattr(exc, "code", None)
            text = getattr(exc, "message", None) or str(exc)
            raise GraphQueryError(
                f"Cypher {mode} failed ({code}): {text}" if code else f"Cypher {mode} failed: {text}",
                field="cypher", fix="correct the statement or its parameters; the transaction was rolled back, "
                                    "nothing of it was written") from exc

    def _connect(self):
        driver, server = self._driver, self._server
        if driver is not None and (server is None or server.is_current()):
            if server is not None:
                server.touch()
            return driver
        with self._lock:
            if self._driver is not None and self._server is not None and not self._server.is_current():
                stale, self._driver, self._server = self._driver, None, None  # that server stopped or was replaced
                stale.close()
            if self._driver is None:
                self._driver = self._open_external() if self.settings.uri else self._open_embedded()
                if not self._atexit:
                    atexit.register(self.close)
                    self._atexit = True
            return self._driver

    def _drop(self, driver) -> None:
        """Forget ``driver`` (if still current) so that the next call reconnects."""
        with self._lock:
            if self._driver is driver:
                self._driver, self._server = None, None
                driver.close()

    def _open_external(self):
        from neo4j import GraphDatabase

        s = self.settings
        if s.uri.partition("://")[0] not in BOLT_SCHEMES:
            raise GraphUnavailableError(f"{s.uri!r} is not a Bolt URI", field="NEO4J_URI",
                                        fix="use bolt://host:7687 or neo4j://host:7687 (or their +s/+ssc variants), "
                                            "or unset NEO4J_URI to use the embedded graph")
        try:
            driver = GraphDatabase.driver(s.uri, auth=(s.user, s.password or ""), connection_timeout=CONNECTION_TIMEOUT_S,
                                          max_transaction_retry_time=RETRY_TIME_S)
        except Exception as exc:  # malformed URI, e.g. a bad port
            raise GraphUnavailableError(f"{s.uri!r} is not a usable Bolt URI: {exc}", field="NEO4J_URI",
                                        fix="use bolt://host:7687 or neo4j://host:7687, or unset NEO4J_URI to use "
                                            "the embedded graph") from exc
        self._verify(driver, unreachable=lambda exc: GraphUnavailableError(
            f"cannot reach the graph server at {s.uri}: {exc}", field="NEO4J_URI",
            fix="start the server or unset NEO4J_URI to use the embedded graph"), bad_auth=lambda exc: GraphUnavailableError(
            f"the graph server at {s.uri} rejected user {s.user!r}: {exc}", field="NEO4J_PASSWORD",
            fix="set NEO4J_USER and NEO4J_PASSWORD to a valid account"))
        return driver

    def _open_embedded(self):
        from neo4j import GraphDatabase

        from .server import ensure_server

        s = self.settings
        for attempt in range(2):
            server = ensure_server(s.data_dir, s.database, idle_timeout_s=s.idle_timeout_s,
                                   start_timeout_s=s.start_timeout_s)
            uri = server.uri
            driver = GraphDatabase.driver(uri, auth=server.auth, connection_timeout=CONNECTION_TIMEOUT_S,
                                          max_transaction_retry_time=RETRY_TIME_S)
            try:
                self._verify(driver, unreachable=lambda exc: GraphUnavailableError(
                    f"the graph server of {s.data_dir} (pid {server.pid}) is up at {uri} but does not answer: {exc}; "
                    f"its log is {server.log_file}", field="GRIDSAGE_GRAPH_DIR",
                    fix="read that log; `gridsage graph stop` ends it (the next call starts a new one), or set "
                        "NEO4J_URI to a Neo4j server"),
                    bad_auth=lambda exc: GraphUnavailableError(
                    f"the graph server of {s.data_dir} rejected the stored root password: {exc}",
                    field="GRIDSAGE_GRAPH_DIR", fix="set GRIDSAGE_GRAPH_DIR to a new folder (grids are synced into it again)"))
            except GraphUnavailableError:
                if attempt == 0 and not server.is_current():  # it began stopping (idle) just then: start another
                    continue
                raise
            self._server = server
            return driver

    @staticmethod
    def _verify(driver, *, unreachable: Callable[[Exception], GridSageError],
                bad_auth: Callable[[Exception], GridSageError]) -> None:
        """Check the server answers and accepts the credentials; close ``driver`` and raise if not."""
        from neo4j.exceptions import AuthError

        try:
            driver.verify_connectivity()
        except AuthError as exc:
            driver.close()
            raise bad_auth(exc) from exc
        except Exception as exc:  # ServiceUnavailable, OSError, protocol errors
            driver.close()
            raise unreachable(exc) from exc


_default: GraphStore | None = None
_default_lock = threading.Lock()
_current: contextvars.ContextVar[GraphStore | None] = contextvars.ContextVar("gridsage_graph_store", default=None)


def get_store() -> GraphStore:
    """The current graph store: the one set by :func:`use_store`, else the process-wide one from the environment.

    Returns
    -------
    GraphStore
        Not yet connected if never used.
    """
    store = _current.get()
    if store is not None:
        return store
    global _default
    with _default_lock:
        if _default is None:
            _default = GraphStore(GraphSettings.from_env())
        return _default


@contextlib.contextmanager
def use_store(store: GraphStore) -> Iterator[GraphStore]:
    """Make ``store`` current for the ``with`` block (this thread or task only); it is not closed on exit."""
    token = _current.set(store)
    try:
        yield store
    finally:
        _current.reset(token)
