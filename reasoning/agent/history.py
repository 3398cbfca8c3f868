"""Chat history in SQLite: each session's turns and model messages, so a conversation resumes.

The database is ``GRIDSAGE_CHAT_DB`` (default: ``chat.sqlite3`` in the user data
folder).  A session row keeps its study context (scenario file or grid) and
model; each turn keeps the question, the :class:`~gridsage.reasoning.agent.Turn`
as JSON, and the model messages after it (pydantic-ai's own JSON format), so a
resumed session gives the model its whole conversation back.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from datetime import datetime, timezone
from pathlib import Path

from pydantic import BaseModel

from gridsage.reasoning.agent.session import Turn

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, created_utc TEXT NOT NULL, model TEXT, scenario TEXT, grid TEXT);
CREATE TABLE IF NOT EXISTS turns (session_id TEXT NOT NULL REFERENCES sessions(id), seq INTEGER NOT NULL,
    question TEXT NOT NULL, turn_json TEXT NOT NULL, messages_json TEXT, created_utc TEXT NOT NULL,
    PRIMARY KEY (session_id, seq));
"""


class SessionInfo(BaseModel):
    """A stored session: id, when, model and study context, turns so far."""

    id: str
    created_utc: str
    model: str | None
    scenario: str | None
    grid: str | None
    turns: int


def default_path() -> Path:
    """``$GRIDSAGE_CHAT_DB``, else ``<user data folder>/gridsage/chat.sqlite3``."""
    if os.environ.get("GRIDSAGE_CHAT_DB"):
        return Path(os.environ["GRIDSAGE_CHAT_DB"]).expanduser()
    import platformdirs

    return platformdirs.user_data_path("gridsage") / "chat.sqlite3"


class ChatHistory:
    """Sessions and turns in one SQLite file.

    Parameters
    ----------
    path : pathlib.Path, optional
        Default :func:`default_path`.
    """

    def __init__(self, path: Path | None = None):
        self.path = path or default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path)

    def new_session(self, model: str | None = None, scenario: str | None = None, grid: str | None = None) -> str:
        """Start a session; returns its id (8 hex digits)."""
        session_id = uuid.uuid4().hex[:8]
        with self._connect() as db:
            db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?)",
                       (session_id, datetime.now(timezone.utc).isoformat(timespec="seconds"), model, scenario, grid))
        return session_id

    def set_context(self, session_id: str, scenario: str | None, grid: str | None) -> None:
        """Record the session's current study context."""
        with self._connect() as db:
            db.execute("UPDATE sessions SET scenario = ?, grid = ? WHERE id = ?", (scenario, grid, session_id))

    def add_turn(self, session_id: str, turn: Turn, messages_json: bytes | None) -> None:
        """Append a turn, with the model messages after it (``None`` when the planner answered)."""
        with self._connect() as db:
            (seq,) = db.execute("SELECT COUNT(*) FROM turns WHERE session_id = ?", (session_id,)).fetchone()
            db.execute("INSERT INTO turns VALUES (?, ?, ?, ?, ?, ?)",
                       (session_id, seq, turn.question, turn.model_dump_json(),
                        messages_json.decode() if messages_json else None,
                        datetime.now(timezone.utc).isoformat(timespec="seconds")))

    def session(self, session_id: str) -> SessionInfo:
        """One session's row.

        Raises
        ------
        InputError
            If there is no such session.
        """
        from gridsage.errors import InputError

        with self._connect() as db:
            row = db.execute("SELECT s.id, s.created_utc, s.model, s.scenario, s.grid, COUNT(t.seq) FROM sessions s "
                             "LEFT JOIN turns t ON t.session_id = s.id WHERE s.id = ? GROUP BY s.id", (session_id,)).fetchone()
        if row is None:
            raise InputError(f"no chat session {session_id!r} in {self.path}", field="session",
                             fix="list sessions with `gridsage chat --list`, or start a new one without --session.")
        return SessionInfo(id=row[0], created_utc=row[1], model=row[2], scenario=row[3], grid=row[4], turns=row[5])

    def sessions(self, limit: int = 20) -> list[SessionInfo]:
        """The newest sessions first."""
        with self._connect() as db:
            rows = db.execute("SELECT s.id, s.created_utc, s.model, s.scenario, s.grid, COUNT(t.seq) FROM sessions s "
                              "LEFT JOIN turns t ON t.session_id = s.id GROUP BY s.id ORDER BY s.created_utc DESC "
                              "LIMIT ?", (limit,)).fetchall()
        return [SessionInfo(id=r[0], created_utc=r[1], model=r[2], scenario=r[3], grid=r[4], turns=r[5]) for r in rows]

    def turns(self, session_id: str) -> list[Turn]:
        """The session's turns, in order."""
        with self._connect() as db:
            rows = db.execute("SELECT turn_json FROM turns WHERE session_id = ? ORDER BY seq", (session_id,)).fetchall()
        return [Turn.model_validate_json(r[0]) for r in rows]

    def messages(self, session_id: str) -> list:
        """The model messages after the last model turn (pydantic-ai ``ModelMessage`` list)."""
        from pydantic_ai import ModelMessagesTypeAdapter

        with self._connect() as db:
            row = db.execute("SELECT messages_json FROM turns WHERE session_id = ? AND messages_json IS NOT NULL "
                             "ORDER BY seq DESC LIMIT 1", (session_id,)).fetchone()
        return list(ModelMessagesTypeAdapter.validate_json(row[0])) if row else []
