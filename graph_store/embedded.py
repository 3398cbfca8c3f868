"""The engine of the graph server: ArcadeDB in the calling process, speaking Bolt on 127.0.0.1.

The ``arcadedb-embedded`` package bundles a JRE; its server runs inside the
Python process that calls :meth:`EmbeddedArcadeDB.start` (through JPype) with
the Bolt plugin, and the official ``neo4j`` driver talks Cypher to it like to
any Neo4j 5 server. That process is the shared graph server,
:mod:`gridsage.graph_store.server`: GridSage's own processes never start the
JVM. Nothing happens at import or construction: the JVM starts on the first
:meth:`EmbeddedArcadeDB.start`.
"""

from __future__ import annotations

import atexit
import os
import secrets
import socket
import threading
from pathlib import Path

from gridsage.errors import GraphUnavailableError

HOST = "127.0.0.1"
USER = "root"
#: the root password, generated on first start; ArcadeDB itself keeps only a hash of it
PASSWORD_FILE = "gridsage-root-password"
#: the first try and 3 retries with fresh ports
PORT_ATTEMPTS = 4

_LOGGING = """\
handlers = java.util.logging.ConsoleHandler, java.util.logging.FileHandler
.level = INFO
io.undertow.level = WARNING
org.xnio.level = WARNING
org.jboss.level = WARNING
# "no languages found": GridSage runs no polyglot scripts
com.arcadedb.query.polyglot.GraalPolyglotEngine.level = SEVERE
java.util.logging.ConsoleHandler.level = SEVERE
java.util.logging.ConsoleHandler.formatter = java.util.logging.SimpleFormatter
java.util.logging.SimpleFormatter.format = %1$tF %1$tT %4$s [%3$s] %5$s%6$s%n
java.util.logging.FileHandler.level = INFO
java.util.logging.FileHandler.pattern = {pattern}
java.util.logging.FileHandler.formatter = com.arcadedb.log.LogFormatter
java.util.logging.FileHandler.limit = 10000000
java.util.logging.FileHandler.count = 3
"""


def _free_port() -> int:
    """A loopback port free right now (the OS picks it; another process may take it before we bind)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _java_reasons(exc: BaseException) -> str:
    """The messages of the Java exception chain behind an ``ArcadeDBError``."""
    reasons, cause = [str(exc)], exc.__cause__
    while cause is not None and hasattr(cause, "getCause"):
        reasons.append(f"{cause.getClass().getName()}: {cause.getMessage()}")
        cause = cause.getCause()
    return " <- ".join(reasons)


class EmbeddedArcadeDB:
    """An ArcadeDB server in this process, with Bolt on a free 127.0.0.1 port (the graph server's engine).

    Parameters
    ----------
    data_dir : pathlib.Path
        Server root: ``databases/``, ``config/`` (users, hashed), ``log/`` and
        the generated root password file (mode 0600). Created if missing; data
        persists across runs and processes.
    database : str, default 'gridsage'
        Database to open, created on first start.

    Notes
    -----
    - Only one process can hold a data folder: ArcadeDB locks each database
      (:mod:`gridsage.graph_store.server` runs one per folder and shares it).
    - The JVM starts once per process and cannot be restarted with other
      options; the server itself can be stopped and started again.
    - Every Bolt client must disconnect before :meth:`stop`: ArcadeDB 26.10.2
      keeps a non-daemon thread per open connection after the server stops,
      and the JVM then waits for it at exit, so the process would hang.
      The graph server ends its process with ``os._exit`` after :meth:`stop`.
    - Console logging is SEVERE, on stderr; the full log is in
      ``data_dir/log/arcadedb.log.0`` (when this server started the JVM).
    - The JVM runs with ``-Xrs`` (it leaves SIGTERM, SIGINT and SIGHUP to
      Python), and for a quick start with ``-XX:TieredStopAtLevel=1
      -XX:+UseSerialGC`` unless ``ARCADEDB_JVM_ARGS`` sets a compiler level or
      a GC, and writes any fatal-error file (``hs_err_pid*.log``) to
      ``data_dir/log``, never to the working directory.
    """

    def __init__(self, data_dir: Path, database: str = "gridsage"):
        self.data_dir = Path(data_dir).expanduser().absolute()
        self.database = database
        self._server = None
        self._uri: str | None = None
        self._lock = threading.Lock()
        self._atexit = False

    @property
    def uri(self) -> str | None:
        """The Bolt URI while running, else ``None``."""
        return self._uri

    @property
    def auth(self) -> tuple[str, str]:
        """``(user, password)`` for the Bolt driver (creates the password on first use)."""
        return USER, self._password()

    def start(self) -> str:
        """Start the server (once; later calls return at once).

        Returns
        -------
        str
            Bolt URI, ``bolt://127.0.0.1:<port>``.

        Raises
        ------
        GraphUnavailableError
            If another process holds ``data_dir``, if no loopback port could
            be bound in :data:`PORT_ATTEMPTS` tries, or if the server fails to
            start for another reason (the engine's message is included).
        """
        with self._lock:
            if self._server is not None:
                return self._uri
            self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            password = self._password()
            self._start_jvm()
            import arcadedb_embedded as adb

            for _ in range(PORT_ATTEMPTS):
                http_port, bolt_port = _free_port(), _free_port()
                server = adb.create_server(root_path=str(self.data_dir), root_password=password, config={
                    "host": HOST, "http_port": http_port,
                    "server_plugins": "Bolt:com.arcadedb.bolt.BoltProtocolPlugin", "bolt_port": bolt_port})
                try:
                    server.start()
                    break
                except adb.ArcadeDBError as exc:
                    reasons = _java_reasons(exc)
                    if "locked by another process" in reasons:
                        raise GraphUnavailableError(
                            f"the graph folder {self.data_dir} is in use by another process "
                            "(ArcadeDB locks its databases)", field="GRIDSAGE_GRAPH_DIR",
                            fix="stop the other process, or set GRIDSAGE_GRAPH_DIR to another folder") from exc
                    if "Unable to listen" not in reasons:
                        raise GraphUnavailableError(
                            f"the embedded graph server in {self.data_dir} failed to start: {reasons}",
                            field="GRIDSAGE_GRAPH_DIR",
                            fix="read the log in <GRIDSAGE_GRAPH_DIR>/log, point GRIDSAGE_GRAPH_DIR at a new "
                                "folder, or set NEO4J_URI to a Neo4j server") from exc
            else:
                raise GraphUnavailableError(
                    f"the embedded graph server could not listen on {HOST} in {PORT_ATTEMPTS} tries with fresh "
                    f"ports (last: bolt {bolt_port}, http {http_port}): {reasons}",
                    fix="free some loopback ports or allow binding 127.0.0.1, or set NEO4J_URI to a Neo4j server")
            try:
                if (self.data_dir / "databases" / self.database).is_dir():
                    server.get_database(self.database)
                else:
                    server.create_database(self.database)
            except adb.ArcadeDBError as exc:
                server.stop()
                raise GraphUnavailableError(
                    f"cannot open graph database {self.database!r} in {self.data_dir}: {_java_reasons(exc)}",
                    field="NEO4J_DATABASE", fix="use a plain name such as 'gridsage', or another GRIDSAGE_GRAPH_DIR") from exc
            self._server, self._uri = server, f"bolt://{HOST}:{bolt_port}"
            if not self._atexit:
                atexit.register(self.stop)
                self._atexit = True
            return self._uri

    def stop(self) -> None:
        """Stop the server; data is on disk. Safe to call twice. Close Bolt drivers first."""
        with self._lock:
            server, self._server, self._uri = self._server, None, None
        if server is not None:
            server.stop()

    def _password(self) -> str:
        """Read the root password, or generate and store it (0600) on first start of a fresh folder."""
        path = self.data_dir / PASSWORD_FILE
        if path.exists():
            return path.read_text(encoding="utf-8").strip()
        if (self.data_dir / "config" / "server-users.jsonl").exists():
            raise GraphUnavailableError(
                f"{self.data_dir} holds an ArcadeDB server but its root password file {PASSWORD_FILE} is missing",
                field="GRIDSAGE_GRAPH_DIR",
                fix="restore that file, or set GRIDSAGE_GRAPH_DIR to a new folder (grids are synced into it again)")
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f"{PASSWORD_FILE}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(secrets.token_urlsafe(24))
        try:
            os.link(tmp, path)  # atomic: if two processes race, the first one's password wins
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
        return path.read_text(encoding="utf-8").strip()

    def _start_jvm(self) -> None:
        """Start the JVM with ArcadeDB's log file under ``data_dir/log`` instead of ``./log``, signals left to Python."""
        try:
            import jpype
            from arcadedb_embedded import ArcadeDBError
            from arcadedb_embedded.jvm import start_jvm
        except ImportError as exc:
            raise GraphUnavailableError(f"the embedded graph needs the package arcadedb-embedded: {exc}",
                                        fix="pip install arcadedb-embedded, or set NEO4J_URI to a Neo4j server") from exc
        if jpype.isJVMStarted():
            return
        log_dir = self.data_dir / "log"
        log_dir.mkdir(parents=True, exist_ok=True)
        pattern = (log_dir / "arcadedb.log").as_posix().replace("%", "%%")
        config = self.data_dir / "config" / "gridsage-logging.properties"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(_LOGGING.format(pattern=pattern), encoding="utf-8")
        # the bundled start_jvm defaults the crash log to ./log; it reads the place from this variable
        os.environ["ARCADEDB_JVM_ERROR_FILE"] = str(log_dir / "hs_err_pid%p.log")
        # start-up over peak speed (a graph server starts cold when a GridSage process needs it): the C1 compiler
        # alone and the serial GC, unless ARCADEDB_JVM_ARGS chooses. Measured on 2 busy cores: ready in 3.8-4.7 s
        # instead of 7.3-8.0 s, and the 28 reads of an IEEE-118 `gridsage analyze` as fast once warm (0.36 s).
        chosen = os.environ.get("ARCADEDB_JVM_ARGS", "")
        fast_start = ([] if "TieredStopAtLevel" in chosen else ["-XX:TieredStopAtLevel=1"]) + \
                     ([] if "GC" in chosen else ["-XX:+UseSerialGC"])
        try:
            # -Xrs: SIGTERM/SIGINT/SIGHUP stay Python's (the server's clean stop), the JVM installs no handler for them
            start_jvm(jvm_args=[f"-Djava.util.logging.config.file={config}", "-Darcadedb.installCustomFormatter=false",
                                "-Xrs", "-XX:-CreateCoredumpOnCrash", *fast_start])
        except ArcadeDBError as exc:
            raise GraphUnavailableError(f"the Java runtime bundled with arcadedb-embedded did not start: {exc}",
                                        fix="reinstall arcadedb-embedded, or set NEO4J_URI to a Neo4j server") from exc
