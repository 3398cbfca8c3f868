"""The shared graph server: one ArcadeDB per graph folder, in a detached process of its own, over Bolt.

GridSage processes never host the JVM. The first one that needs the embedded
graph starts ``python -m gridsage.graph_store.server --data-dir DIR`` in a new
session (stdin closed, stdout and stderr appended to ``DIR/server.log``); every
GridSage process on the machine using the same folder then talks to that
server through the official ``neo4j`` driver, the same Bolt path a real Neo4j
takes. The server stops after an idle time without client activity, on
``SIGTERM`` / ``SIGINT`` / ``SIGHUP``, or with ``gridsage graph stop``.

Files in the graph folder
-------------------------
============================ =======================================================
``server.lock``              held (``flock``, exclusive) by the running server: one per folder
``server.json``              its state, replaced atomically: ``status`` (``starting``,
                             ``ready``, ``failed``, ``stopping``), ``pid``, ``uri``,
                             ``database``, ``password_file``, ``log``, ``idle_timeout_s``
``server-start.lock``        held by a client while it starts a server (no two start at once)
``server.heartbeat``         its mtime is the last client activity (clients touch it per call)
``server.log``               the server's stdout and stderr (JVM messages included)
``log/``                     ArcadeDB's own log and any JVM fatal-error file (``hs_err_pid*.log``)
``gridsage-root-password``   the Bolt password of user ``root`` (mode 0600)
============================ =======================================================

Notes
-----
POSIX only (``fcntl.flock``, sessions). Idle means no client call: a client
process that keeps its driver open but makes no call for the idle time finds
the server gone on its next call and starts it again
(:class:`~gridsage.graph_store.store.GraphStore` does that transparently).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from gridsage.errors import GraphUnavailableError

from .embedded import PASSWORD_FILE, USER

STATE_FILE = "server.json"
LOCK_FILE = "server.lock"
START_LOCK_FILE = "server-start.lock"
HEARTBEAT_FILE = "server.heartbeat"
LOG_FILE = "server.log"
#: seconds without a client call before the server stops itself (0 or less: never)
DEFAULT_IDLE_TIMEOUT_S = 900.0
#: seconds a client waits for a server to start (JVM, ArcadeDB, Bolt) before giving up
DEFAULT_START_TIMEOUT_S = 90.0
#: seconds ``stop_server`` waits after SIGTERM before SIGKILL
STOP_TIMEOUT_S = 30.0
#: the server log is rotated (to ``server.log.1``) when a client starts a server and it is larger [bytes]
LOG_ROTATE_BYTES = 5_000_000
_POLL_S = 0.05
#: seconds a starting server retries its lock (a client's liveness probe holds it for microseconds)
_LOCK_RETRY_S = 2.0
_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
#: servers this process started: polled so that an exited one is reaped (no zombie)
_children: list[subprocess.Popen] = []


@dataclass(frozen=True)
class ServerState:
    """A running graph server, as its state file describes it.

    Attributes
    ----------
    pid : int
        Process id of the server.
    uri : str
        Bolt URI, ``bolt://127.0.0.1:<port>``.
    database : str
        The database it serves.
    data_dir : pathlib.Path
        Its graph folder.
    idle_timeout_s : float
        It stops after this long without a client call [s]; 0 or less: never.
    started_at : str
        ISO 8601 UTC time it became ready.
    stamp : tuple of int
        ``(st_ino, st_mtime_ns)`` of the state file when read; see :meth:`is_current`.
    """

    pid: int
    uri: str
    database: str
    data_dir: Path
    idle_timeout_s: float
    started_at: str
    stamp: tuple[int, int]

    @property
    def auth(self) -> tuple[str, str]:
        """``(user, password)`` for the Bolt driver."""
        return USER, (self.data_dir / PASSWORD_FILE).read_text(encoding="utf-8").strip()

    @property
    def log_file(self) -> Path:
        return self.data_dir / LOG_FILE

    def is_current(self) -> bool:
        """True while the state file is the one read (the server has not begun stopping, nor been replaced).

        One ``stat`` call; a server killed with SIGKILL leaves its file behind,
        which this cannot see (the next Bolt call fails instead).
        """
        try:
            st = os.stat(self.data_dir / STATE_FILE)
        except OSError:
            return False
        return (st.st_ino, st.st_mtime_ns) == self.stamp

    def touch(self) -> None:
        """Mark client activity now (see :func:`touch_heartbeat`)."""
        touch_heartbeat(self.data_dir)

    def last_activity(self) -> float:
        """Epoch time of the last client call (the heartbeat file's mtime) [s]."""
        return _last_activity(self.data_dir)


# -- shared helpers ---------------------------------------------------------


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _read_state(data_dir: Path) -> tuple[dict, tuple[int, int]] | None:
    """The state file's content and stamp, or None if there is none (or it is unreadable)."""
    try:
        with open(data_dir / STATE_FILE, encoding="utf-8") as f:
            st = os.fstat(f.fileno())
            return json.load(f), (st.st_ino, st.st_mtime_ns)
    except (OSError, ValueError):
        return None


def _write_state(data_dir: Path, state: dict) -> None:
    """Replace the state file atomically (readers see the old or the new one, never a part)."""
    tmp = data_dir / f".{STATE_FILE}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(state, f, indent=1)
    os.replace(tmp, data_dir / STATE_FILE)


def _lock_held(path: Path) -> bool:
    """True when some process holds ``path`` locked (probed with a shared lock, released at once)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing releases the probe's lock
    return False


def _last_activity(data_dir: Path) -> float:
    try:
        return os.stat(data_dir / HEARTBEAT_FILE).st_mtime
    except OSError:
        return 0.0


def touch_heartbeat(data_dir: Path) -> None:
    """Mark client activity now (the server's idle clock restarts). One ``utime`` call."""
    path = Path(data_dir) / HEARTBEAT_FILE
    try:
        os.utime(path)
    except FileNotFoundError:
        with contextlib.suppress(OSError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    except OSError:
        pass


def _log_tail(data_dir: Path, lines: int = 12) -> str:
    try:
        text = (data_dir / LOG_FILE).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    tail = [line for line in text.splitlines() if line.strip()][-lines:]
    return (" Last lines of the log: " + " | ".join(tail)) if tail else ""


def _is_server_process(pid: int) -> bool:
    """True when ``pid`` is alive and (where /proc tells) runs this module."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # another user's process: not ours to signal
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True
    return b"gridsage.graph_store.server" in cmdline


# -- client side ------------------------------------------------------------


def running_server(data_dir: Path) -> ServerState | None:
    """The server serving ``data_dir`` now, or None (none, still starting, or stopping).

    Parameters
    ----------
    data_dir : pathlib.Path
        The graph folder.

    Returns
    -------
    ServerState or None
        Only a server whose state is ``ready`` and which holds the folder's lock.
    """
    data_dir = Path(data_dir).expanduser().absolute()
    found = _read_state(data_dir)
    if found is None:
        return None
    raw, stamp = found
    if raw.get("status") != "ready" or not _lock_held(data_dir / LOCK_FILE):
        return None
    return ServerState(pid=int(raw["pid"]), uri=raw["uri"], database=raw["database"], data_dir=data_dir,
                       idle_timeout_s=float(raw.get("idle_timeout_s", DEFAULT_IDLE_TIMEOUT_S)),
                       started_at=raw.get("started_at", ""), stamp=stamp)


@contextlib.contextmanager
def _exclusive(path: Path, deadline: float, data_dir: Path, timeout_s: float) -> Iterator[None]:
    """Hold ``path`` locked (exclusive) until the block ends; GraphUnavailableError after ``deadline``."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise GraphUnavailableError(
                        f"another process has been starting the graph server in {data_dir} for over {timeout_s:g} s; "
                        f"its log is {data_dir / LOG_FILE}", field="GRIDSAGE_GRAPH_DIR",
                        fix="read that log, run `gridsage graph stop` and retry, or raise GRIDSAGE_GRAPH_START_TIMEOUT") from None
                time.sleep(_POLL_S)
        yield
    finally:
        os.close(fd)


def _spawn(data_dir: Path, database: str, idle_timeout_s: float) -> subprocess.Popen:
    """Start a server process, detached: own session, stdin closed, output appended to the log."""
    log = data_dir / LOG_FILE
    with contextlib.suppress(OSError):
        if log.stat().st_size > LOG_ROTATE_BYTES:
            os.replace(log, log.with_name(LOG_FILE + ".1"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONFAULTHANDLER"}
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "gridsage.graph_store.server", "--data-dir", str(data_dir), "--database", database,
             "--idle-timeout", repr(float(idle_timeout_s))],
            stdin=subprocess.DEVNULL, stdout=out, stderr=out, cwd=data_dir, env=env, start_new_session=True, close_fds=True)


def ensure_server(data_dir: Path, database: str = "gridsage", *, idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S,
                  start_timeout_s: float = DEFAULT_START_TIMEOUT_S) -> ServerState:
    """The folder's running server, started (and waited for) if there is none.

    Parameters
    ----------
    data_dir : pathlib.Path
        The graph folder; created (mode 0700) if missing.
    database : str, default 'gridsage'
        Database the server opens (created on its first start).
    idle_timeout_s : float, default 900
        Idle time after which a server started here stops itself [s]; 0 or
        less: never. A server already running keeps its own.
    start_timeout_s : float, default 90
        Longest wait for a server to start [s].

    Returns
    -------
    ServerState
        Ready: its Bolt port listens. The heartbeat is touched.

    Raises
    ------
    GraphUnavailableError
        If the server failed to start (its own message), exited before it was
        ready, or did not become ready within ``start_timeout_s`` (the
        message names ``server.log``); or if the running server serves
        another database.

    Notes
    -----
    Processes racing to start a server take ``server-start.lock`` in turn:
    the first starts it, the others find it running.
    """
    data_dir = Path(data_dir).expanduser().absolute()
    _children[:] = [p for p in _children if p.poll() is None]
    state = running_server(data_dir)
    if state is None:
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        deadline = time.monotonic() + start_timeout_s
        with _exclusive(data_dir / START_LOCK_FILE, deadline, data_dir, start_timeout_s):
            state = _start_and_wait(data_dir, database, idle_timeout_s, deadline, start_timeout_s)
    if state.database != database:
        raise GraphUnavailableError(
            f"the graph server in {data_dir} (pid {state.pid}) serves database {state.database!r}, not {database!r}",
            field="NEO4J_DATABASE", fix=f"unset NEO4J_DATABASE (or set it to {state.database!r}), or stop that server "
                                        "with `gridsage graph stop` so the next one opens yours")
    touch_heartbeat(data_dir)
    return state


def _start_and_wait(data_dir: Path, database: str, idle_timeout_s: float, deadline: float,
                    start_timeout_s: float) -> ServerState:
    log = data_dir / LOG_FILE
    proc: subprocess.Popen | None = None
    while True:
        state = running_server(data_dir)
        if state is not None:
            return state
        held = _lock_held(data_dir / LOCK_FILE)
        if proc is None:
            if not held:  # none running (a stopping one has let go of the folder): start one
                proc = _spawn(data_dir, database, idle_timeout_s)
                _children.append(proc)
        else:
            found = _read_state(data_dir)
            raw = found[0] if found else {}
            if raw.get("pid") == proc.pid and raw.get("status") == "failed":
                raise GraphUnavailableError(f"{raw.get('error', 'the graph server failed to start')} (log: {log})",
                                            field=raw.get("field") or "GRIDSAGE_GRAPH_DIR",
                                            fix=raw.get("fix") or f"read {log}")
            code = proc.poll()
            if code is not None and not held:
                raise GraphUnavailableError(
                    f"the graph server for {data_dir} exited (code {code}) before it was ready; its log is {log}."
                    + _log_tail(data_dir), field="GRIDSAGE_GRAPH_DIR",
                    fix="read that log; point GRIDSAGE_GRAPH_DIR at a new folder, or set NEO4J_URI to a Neo4j server")
        if time.monotonic() > deadline:
            raise GraphUnavailableError(
                f"the graph server for {data_dir} was not ready within {start_timeout_s:g} s; its log is {log}."
                + _log_tail(data_dir), field="GRIDSAGE_GRAPH_START_TIMEOUT",
                fix="read that log; on a slow or busy machine raise GRIDSAGE_GRAPH_START_TIMEOUT [s]; "
                    "`gridsage graph stop` ends a stuck server")
        time.sleep(_POLL_S)


def server_status(data_dir: Path) -> dict:
    """What runs in ``data_dir``: a dict for ``gridsage graph status``.

    Returns
    -------
    dict
        ``running`` (bool), ``data_dir``, ``log``, and when a state file
        exists: ``status``, ``pid``, ``uri``, ``database``, ``idle_timeout_s``,
        ``started_at``, ``idle_s`` (seconds since the last client call).
    """
    data_dir = Path(data_dir).expanduser().absolute()
    found = _read_state(data_dir)
    raw = dict(found[0]) if found else {}
    held = _lock_held(data_dir / LOCK_FILE)
    info = {"running": held and raw.get("status") == "ready", "data_dir": str(data_dir), "log": str(data_dir / LOG_FILE)}
    if raw and held:
        info.update({k: raw.get(k) for k in ("status", "pid", "uri", "database", "idle_timeout_s", "started_at")})
        last = _last_activity(data_dir)
        info["idle_s"] = round(time.time() - last, 1) if last else None
    elif raw.get("status") == "failed":
        info.update(status="failed", error=raw.get("error"))
    return info


def stop_server(data_dir: Path, timeout_s: float = STOP_TIMEOUT_S) -> int | None:
    """Stop the folder's server: SIGTERM, then SIGKILL if it has not let go of the folder after ``timeout_s``.

    Parameters
    ----------
    data_dir : pathlib.Path
    timeout_s : float, default 30
        Wait for a clean stop [s].

    Returns
    -------
    int or None
        The pid stopped, or None when no server was running.
    """
    data_dir = Path(data_dir).expanduser().absolute()
    lock = data_dir / LOCK_FILE
    deadline = time.monotonic() + 5.0
    pid = None
    while _lock_held(lock):  # a server that is still writing its first state: wait for its pid
        found = _read_state(data_dir)
        if found and _is_server_process(int(found[0].get("pid", -1))):
            pid = int(found[0]["pid"])
            break
        if time.monotonic() > deadline:
            break
        time.sleep(_POLL_S)
    if pid is None:
        return None
    for sig, wait in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, 10.0)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        end = time.monotonic() + wait
        while _lock_held(lock) and time.monotonic() < end:
            _children[:] = [p for p in _children if p.poll() is None]
            time.sleep(_POLL_S)
        if not _lock_held(lock):
            break
    found = _read_state(data_dir)
    if found and found[0].get("pid") == pid:  # killed: its state file stayed behind
        with contextlib.suppress(OSError):
            (data_dir / STATE_FILE).unlink()
    _children[:] = [p for p in _children if p.poll() is None]
    return pid


# -- server side --------------------------------------------------------------


def _say(text: str) -> None:
    print(f"{_now()} gridsage graph server [{os.getpid()}]: {text}", file=sys.stderr, flush=True)


def _first_login(data_dir: Path, uri: str, database: str):
    """Log in over Bolt once, before any client: a GraphStore on ``uri``, or None (with the reason in the log).

    ArcadeDB 26.10.2 invalidates the Bolt connections opened before the first
    login after a start ("The credentials of this connection are no longer
    valid", measured: a client's pooled connection failed after the warm-up's
    login), so the server makes that login itself before it is ready.
    """
    try:
        from .settings import GraphSettings
        from .store import GraphStore

        password = (data_dir / PASSWORD_FILE).read_text(encoding="utf-8").strip()
        store = GraphStore(GraphSettings(uri=uri, user=USER, password=password, database=database, data_dir=data_dir))
        store.read("RETURN 1 AS ok")
        return store
    except Exception as exc:  # the clients' own calls will meet and report whatever this is
        _say(f"first Bolt login failed: {exc!r}")
        return None


def _warm_up(store, rounds: int = 3) -> None:
    """Run the graph tools' query shapes over Bolt a few times on the latest synced grid, so the JVM has compiled them.

    Runs in a background thread once the server is ready: the first client's queries otherwise pay the JIT
    (measured on IEEE-118 ``gridsage analyze``: 28 reads took 5.3 s on a fresh server, 0.8 s on a warm one). It is
    not client activity (no heartbeat); failures only go to the log.
    """
    start = time.monotonic()
    try:
        from . import queries
        from .sync import stored_hash

        try:
            grids = [r["g"] for r in store.read("MATCH (g:Grid) WHERE g.content_sha256 IS NOT NULL "
                                                "RETURN g.grid_id AS g, g.synced_at AS at ORDER BY at DESC LIMIT 1")]
            for _ in range(rounds):
                for grid_id in grids:
                    stored_hash(store, grid_id)
                    bus = store.read("MATCH (b:Bus {grid_id: $g}) RETURN b.index AS i ORDER BY i LIMIT 1", g=grid_id)[0]["i"]
                    queries.bus_exists(store, grid_id, bus)
                    near = queries.neighbourhood(store, grid_id, bus, 2)
                    queries.bus_context(store, grid_id, [bus] + [r["bus"] for r in near])
                    queries.elements_at_bus(store, grid_id, bus)
                    queries.snapshot(store, grid_id)
        finally:
            store.close()
        _say(f"warmed up on {len(grids)} grid(s) in {time.monotonic() - start:.2f} s")
    except Exception as exc:  # a warm-up is an optimisation: never a reason to fail
        _say(f"warm-up stopped: {exc!r}")


def serve(data_dir: Path, database: str = "gridsage", idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S) -> int:
    """Run the graph server for ``data_dir`` until idle or signalled (the body of ``python -m ...server``).

    Parameters
    ----------
    data_dir : pathlib.Path
    database : str, default 'gridsage'
    idle_timeout_s : float, default 900
        Stop after this long without a client call [s]; 0 or less: never.

    Returns
    -------
    int
        3 when another server holds the folder, 1 when the engine failed to
        start (the reason is in the state file and the log). After a start it
        does not return: the process ends with ``os._exit(0)`` once ArcadeDB
        has stopped (a Bolt client still connected would otherwise keep the
        JVM from exiting).
    """
    import faulthandler

    faulthandler.disable()  # the JVM uses SIGSEGV internally; Python must not report it
    data_dir = Path(data_dir).expanduser().absolute()
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    lock_fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    end = time.monotonic() + _LOCK_RETRY_S
    while True:
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() > end:
                _say(f"another graph server holds {data_dir}; exiting")
                return 3
            time.sleep(_POLL_S)

    stop = threading.Event()
    reason = ["signal"]

    def on_signal(signum, _frame):
        reason[0] = signal.Signals(signum).name
        stop.set()

    for sig in _SIGNALS:
        signal.signal(sig, on_signal)
    base = {"pid": os.getpid(), "database": database, "data_dir": str(data_dir), "log": str(data_dir / LOG_FILE),
            "password_file": str(data_dir / PASSWORD_FILE), "idle_timeout_s": idle_timeout_s}
    _write_state(data_dir, {**base, "status": "starting"})
    _say(f"starting ArcadeDB in {data_dir} (idle timeout {idle_timeout_s:g} s)")
    t0 = time.monotonic()

    from .embedded import EmbeddedArcadeDB

    db = EmbeddedArcadeDB(data_dir, database)
    # JVM threads inherit this mask: the shutdown signals then reach Python's main thread only
    signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        uri = db.start()
    except Exception as exc:  # GraphUnavailableError with the engine's reason; anything else as it came
        _write_state(data_dir, {**base, "status": "failed", "error": getattr(exc, "message", None) or repr(exc),
                                "field": getattr(exc, "field", None), "fix": getattr(exc, "fix", None)})
        _say(f"failed to start: {exc}")
        os._exit(1)  # a half-started JVM may hold non-daemon threads
    finally:
        for sig in _SIGNALS:  # JPype may have installed its own handlers
            signal.signal(sig, on_signal)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
    login = _first_login(data_dir, uri, database)
    started = time.time()
    touch_heartbeat(data_dir)
    _write_state(data_dir, {**base, "status": "ready", "uri": uri, "bolt_port": int(uri.rpartition(":")[2]),
                            "started_at": _now(), "start_s": round(time.monotonic() - t0, 2)})
    _say(f"ready at {uri} after {time.monotonic() - t0:.2f} s")
    if login is not None:
        threading.Thread(target=_warm_up, args=(login,), name="warm-up", daemon=True).start()

    poll = 1.0 if idle_timeout_s <= 0 else min(1.0, max(0.05, idle_timeout_s / 20))
    while not stop.wait(poll):
        if idle_timeout_s > 0 and time.time() - max(_last_activity(data_dir), started) > idle_timeout_s:
            reason[0] = f"idle for {idle_timeout_s:g} s"
            break
    _write_state(data_dir, {**base, "status": "stopping", "uri": uri})
    _say(f"stopping ({reason[0]})")
    try:
        db.stop()
    except Exception as exc:  # report and exit regardless: the data is in ArcadeDB's WAL
        _say(f"ArcadeDB stop failed: {exc!r}")
    with contextlib.suppress(OSError):
        (data_dir / STATE_FILE).unlink()
    _say("stopped")
    sys.stdout.flush()
    os._exit(0)


def main(argv: list[str] | None = None) -> int:
    """``python -m gridsage.graph_store.server --data-dir DIR [--database NAME] [--idle-timeout S]``."""
    parser = argparse.ArgumentParser(prog="python -m gridsage.graph_store.server",
                                     description="GridSage's shared graph server (ArcadeDB over Bolt) for one graph folder.")
    parser.add_argument("--data-dir", required=True, type=Path, help="graph folder (GRIDSAGE_GRAPH_DIR)")
    parser.add_argument("--database", default="gridsage", help="database to open or create (default gridsage)")
    parser.add_argument("--idle-timeout", type=float, default=DEFAULT_IDLE_TIMEOUT_S,
                        help=f"stop after this many seconds without a client call; 0: never (default {DEFAULT_IDLE_TIMEOUT_S:g})")
    args = parser.parse_args(argv)
    return serve(args.data_dir, args.database, args.idle_timeout)


if __name__ == "__main__":
    sys.exit(main())
