"""``gridsage console``: the chat agent in a local web page.

A small Starlette app served by uvicorn on the loopback interface.  The page
(``gridsage/web/console.html``) ships inside the package and loads nothing
from the network, so the console works offline.  It shows the conversation,
each tool call with its status and evidence id, the answer (verdict,
evidence-backed claims, proposed actions, standards, grounding flags) and a
chart of branch loading before and after the proposed actions.

Endpoints
---------
``GET /``
    The page.
``GET /api/scenarios``
    The shipped scenarios, the preselected one and the model label.
``POST /api/ask``
    ``{question, scenario?, grid?, session_id?}`` (``scenario``: a shipped
    scenario's name, never a path; see :meth:`ConsoleState.check_scenario`): answers with
    :func:`gridsage.reasoning.agent.ask` and returns the turn, its tool calls
    and the chart data, all read from the session's evidence ledger.

Each browser session (a ``session_id`` the server issues on the first
question) has its own :class:`~gridsage.reasoning.agent.ChatSession`, kept in
memory only.  Questions are answered one at a time.
"""

from __future__ import annotations

import importlib.resources
import json
import logging
import os
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from gridsage.errors import GridSageError, InputError
from gridsage.tools.toolset import TOOLS_ENV, check_profile

#: Interface the console binds to by default (loopback only).
CONSOLE_HOST = "127.0.0.1"
#: TCP port of the console by default (the MCP HTTP transport uses 8765).
CONSOLE_PORT = 8766
#: Browser sessions kept in memory; past it the least recently used is dropped.
MAX_SESSIONS = 32
#: Longest question accepted [characters].
MAX_QUESTION_CHARS = 4000
#: Largest request body accepted [bytes].
MAX_BODY_BYTES = 64_000
#: Branches drawn in the loading chart at most.
CHART_BRANCHES = 10
#: Host names the page may be reached by when the console is bound to loopback.
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]", "::1")


def page_html() -> str:
    """The console page, read from the package (``gridsage/web/console.html``)."""
    return importlib.resources.files("gridsage").joinpath("web/console.html").read_text(encoding="utf-8")


def tool_calls(turn, records: list) -> list[dict[str, Any]]:
    """The tool calls of one turn, as the page lists them.

    Parameters
    ----------
    turn : gridsage.reasoning.agent.Turn
    records : list of gridsage.tools.evidence.EvidenceRecord
        The evidence recorded during the turn, oldest first.

    Returns
    -------
    list of dict
        ``{tool, args, status, evidence_id, message}`` per call: the model's
        calls when a model answered, else the planner's, read from the
        evidence ledger (the planner calls the tools directly).
    """
    if turn.tool_calls:
        return [call.model_dump(mode="json") for call in turn.tool_calls]
    return [{"tool": r.tool, "args": r.inputs, "status": str(r.result.get("status", "ok")),
             "evidence_id": r.evidence_id, "message": None} for r in records]


def _thermal_limit(flow) -> tuple[float | None, str | None]:
    """The thermal limit [%] a power flow applied, and its citation."""
    for limit in flow.result.get("limits", []):
        if limit.get("unit") == "%" and limit.get("upper") is not None:
            c = limit.get("citation") or {}
            cited = f"{c.get('standard', '')}-{c.get('edition', '')} {c.get('clause', '')}".strip("- ") if c else None
            return limit["upper"], cited or None
    return None, None


def _stages(records: list) -> tuple[str, list[tuple[str, Any]], str | None] | None:
    """Which power flows to compare: (title, [(label, flow record)], note), or None without any."""
    flows = {r.inputs.get("grid_id"): r for r in records
             if r.tool == "run_power_flow" and r.result.get("status") == "converged"}
    if not flows:
        return None
    derived = {r.result.get("grid_id"): r for r in records
               if r.tool in ("apply_events", "apply_actions") and r.result.get("status") == "applied"}
    for record in reversed(records):  # the last applied actions whose grid was solved
        if record.tool == "apply_actions" and record.result.get("grid_id") in flows:
            root = record.result.get("parent_id")
            steps = 1
            while root in derived and derived[root].tool == "apply_actions":  # walk back to the grid before any action
                root, steps = derived[root].result.get("parent_id"), steps + 1
            if root in flows:
                return ("Branch loading before and after the proposed actions",
                        [("before actions", flows[root]), ("after actions", flows[record.result["grid_id"]])],
                        f"{steps} action step(s) applied to {root}, then re-solved by AC power flow.")
    for record in reversed(records):
        if record.tool == "apply_events" and record.result.get("grid_id") in flows and record.result.get("parent_id") in flows:
            return ("Branch loading before and after the events",
                    [("before events", flows[record.result["parent_id"]]), ("after events", flows[record.result["grid_id"]])],
                    "No action was applied and re-solved in this turn.")
    last = next(r for r in reversed(records) if r.tool == "run_power_flow" and r.result.get("status") == "converged")
    return "Branch loading", [("loading", last)], None


def loading_chart(records: list, branches: int = CHART_BRANCHES) -> dict[str, Any] | None:
    """Chart data: branch loading [%] before and after the proposed actions, from evidence records.

    Parameters
    ----------
    records : list of gridsage.tools.evidence.EvidenceRecord
        Evidence, oldest first (one turn's, or a whole session's).
    branches : int, default :data:`CHART_BRANCHES`
        Most branches to draw.

    Returns
    -------
    dict or None
        ``{title, note, series: [{label, evidence_id, grid_id}], limit: {value,
        citation}, bars: [{element, index, name, values}]}``, ``values`` in
        series order [% of rating] (``None`` where a power flow omitted the
        branch); ``None`` when no power flow converged.

    Notes
    -----
    The series are the converged ``run_power_flow`` results of:

    1. the grid the last chain of ``apply_actions`` started from, and the grid
       it ended on ("before actions", "after actions");
    2. failing that, the grids before and after ``apply_events``;
    3. failing that, the latest power flow alone.

    The bars are the branches most loaded in the first series, plus any branch
    over the thermal limit in another one.  Every value is copied from a
    power-flow result's ``branches`` rows, unchanged; nothing is computed.
    """
    chosen = _stages(records)
    if chosen is None:
        return None
    title, stages, note = chosen
    rows = [{(b["element"], b["index"]): b for b in flow.result.get("branches", []) if b.get("loading_percent") is not None}
            for _, flow in stages]
    limit, citation = _thermal_limit(stages[-1][1])
    keys = list(rows[0])[:branches]
    for other in rows[1:]:
        keys += [k for k, b in other.items() if limit is not None and b["loading_percent"] > limit and k not in keys]
    keys = keys[:branches]
    bars = [{"element": k[0], "index": k[1], "name": next(r[k]["name"] for r in rows if k in r),
             "values": [r[k]["loading_percent"] if k in r else None for r in rows]} for k in keys]
    return {"title": title, "note": note,
            "series": [{"label": label, "evidence_id": flow.evidence_id, "grid_id": flow.inputs.get("grid_id")}
                       for label, flow in stages],
            "limit": {"value": limit, "citation": citation}, "bars": bars}


@dataclass
class BrowserSession:
    """One browser session: its chat session, what it studies, and a lock."""

    chat: Any
    scenario: str | None = None
    grid: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class ConsoleState:
    """The console's sessions and settings.

    Parameters
    ----------
    model_spec : str, optional
        ``ollama:<name>``, ``openai-compatible:<name>``, ``local-gguf:<path>``
        or ``none``; default ``$GRIDSAGE_MODEL``.
    scenario : str, optional
        Scenario preselected on the page: a shipped name, or a YAML file under
        a data root (the operator's choice; a browser may only pick shipped names).
    tools : str, optional
        Tool profile the model sees; default ``$GRIDSAGE_TOOLS`` or ``'all'``.

    Raises
    ------
    GridSageError
        For a bad model spec, an unknown scenario or tool profile.
    """

    def __init__(self, model_spec: str | None = None, scenario: str | None = None, tools: str | None = None):
        from gridsage.reasoning.agent import build_model, parse_model_spec
        from gridsage.reasoning.scenario import load_scenario

        spec = parse_model_spec(model_spec)
        self.model = build_model(spec) if spec else None
        self.model_label = spec.label if spec else None
        if scenario:
            load_scenario(scenario)  # fail now, not at the first question
        self.scenario = scenario
        self.tools = tools or os.environ.get(TOOLS_ENV, "all")
        check_profile(self.tools)
        self.sessions: OrderedDict[str, BrowserSession] = OrderedDict()
        self._sessions_lock = threading.Lock()
        self._answer_lock = threading.Lock()  # the numeric libraries are not shared between threads

    def scenarios(self) -> dict[str, Any]:
        """The shipped scenarios (name, title, grid), the preselected one and the model label."""
        from gridsage.reasoning.scenario import library, parse_scenario

        listed = []
        for name, text in sorted(library().items()):
            s = parse_scenario(text, name)
            listed.append({"name": name, "title": s.title or "", "grid": s.subject()})
        return {"scenarios": listed, "default": self.scenario, "model": self.model_label}

    def check_scenario(self, scenario: str) -> None:
        """Refuse a scenario a browser may not choose: anything but a shipped scenario's name or the preselected one.

        Parameters
        ----------
        scenario : str
            As sent by the page.

        Raises
        ------
        InputError
            ``field='scenario'``, for a path or an unknown name; the message
            never repeats the request nor reads any file.
        """
        from gridsage.reasoning.scenario import library, shipped_name

        if scenario == self.scenario or shipped_name(scenario) is not None:
            return
        raise InputError("not the name of a shipped scenario: the console studies shipped scenarios only, by name "
                         "(never a file path)", field="scenario",
                         fix=f"pick one of: {', '.join(sorted(library()))} (GET /api/scenarios lists them).")

    def session(self, session_id: str | None) -> tuple[str, BrowserSession]:
        """The session for ``session_id``, or a new one (with a new id) when it is unknown or missing."""
        from gridsage.reasoning.agent import ChatSession

        with self._sessions_lock:
            if session_id and session_id in self.sessions:
                self.sessions.move_to_end(session_id)
                return session_id, self.sessions[session_id]
            session_id = secrets.token_urlsafe(12)
            entry = BrowserSession(chat=ChatSession(model=self.model, model_label=self.model_label, tools=self.tools))
            self.sessions[session_id] = entry
            while len(self.sessions) > MAX_SESSIONS:
                self.sessions.popitem(last=False)
            return session_id, entry

    def ask(self, question: str, scenario: str | None = None, grid: str | None = None,
            session_id: str | None = None) -> dict[str, Any]:
        """Answer one question in a browser session; blocking.

        Parameters
        ----------
        question : str
        scenario, grid : str, optional
            What to study; a change resets nothing but the study (the
            conversation and its evidence stay).  Neither: keep the current
            study, or the preselected scenario for a new session.  A scenario
            is a shipped scenario's name (or the preselected one), never a
            path (:meth:`check_scenario`); a grid is a name or a grid file
            under a data root (see ``load_grid``).
        session_id : str, optional
            The browser session; a new one is made when missing or unknown.

        Returns
        -------
        dict
            ``{session_id, study, turn, tool_calls, chart, evidence_count}``:
            ``turn`` is the :class:`~gridsage.reasoning.agent.Turn` as JSON,
            ``chart`` as :func:`loading_chart` returns it (from this turn's
            evidence, else the session's).

        Raises
        ------
        GridSageError
            For an empty or too long question, or a scenario that is not a
            shipped name (a path is refused without reading it).
        """
        from gridsage.reasoning.agent import ask
        from gridsage.reasoning.scenario import load_scenario

        question = (question or "").strip()
        if not question:
            raise InputError("the question is empty", field="question", fix="type a question, e.g. 'what is overloaded?'.")
        if len(question) > MAX_QUESTION_CHARS:
            raise InputError(f"the question is longer than {MAX_QUESTION_CHARS} characters", field="question",
                             fix="ask a shorter question.")
        if scenario:
            self.check_scenario(scenario)
        session_id, entry = self.session(session_id)
        with entry.lock, self._answer_lock:
            chat = entry.chat
            if scenario and scenario != entry.scenario:
                chat.scenario, chat.scenario_dir = load_scenario(scenario)
                chat.grid, entry.scenario, entry.grid = None, scenario, None
            elif grid and not scenario and grid != entry.grid:
                chat.scenario, chat.scenario_dir, chat.grid = None, None, grid
                entry.scenario, entry.grid = None, grid
            elif not scenario and not grid and entry.scenario is None and entry.grid is None and self.scenario:
                chat.scenario, chat.scenario_dir = load_scenario(self.scenario)
                entry.scenario = self.scenario
            ledger = chat.workspace.ledger
            before = ledger.last_id()
            turn = ask(chat, question)
            records = ledger.since(before) if before else ledger.since(None)
            chart = loading_chart(records) or loading_chart(ledger.since(None))
            return {"session_id": session_id,
                    "study": {"scenario": entry.scenario, "grid": entry.grid,
                              "title": chat.scenario.title if chat.scenario is not None else None},
                    "turn": turn.model_dump(mode="json"), "tool_calls": tool_calls(turn, records),
                    "chart": chart, "evidence_count": len(ledger)}


def create_app(state: ConsoleState, host: str = CONSOLE_HOST):
    """The Starlette application of the console.

    Parameters
    ----------
    state : ConsoleState
    host : str, default :data:`CONSOLE_HOST`
        The interface served; on loopback only requests naming a loopback host
        are accepted (a guard against DNS rebinding).

    Returns
    -------
    starlette.applications.Starlette
    """
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware
    from starlette.responses import HTMLResponse, JSONResponse
    from starlette.routing import Route

    html = page_html()
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
               "Content-Security-Policy": "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                                          "img-src 'self' data:; connect-src 'self'"}

    def error(status: int, exc: GridSageError) -> JSONResponse:
        return JSONResponse(exc.to_dict(), status_code=status)

    async def index(request):
        return HTMLResponse(html, headers=headers)

    async def scenarios(request):
        return JSONResponse(await run_in_threadpool(state.scenarios))

    async def ask(request):
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return error(415, InputError("send the question as JSON", field="content-type", fix="use application/json."))
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return error(413, InputError(f"the request is larger than {MAX_BODY_BYTES} bytes", field="body",
                                         fix="ask a shorter question."))
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return error(400, InputError("the body is not a JSON object", field="body",
                                         fix='send {"question": "...", "scenario": "..."}.'))
        values = {k: data.get(k) for k in ("question", "scenario", "grid", "session_id")}
        if any(v is not None and not isinstance(v, str) for v in values.values()):
            return error(400, InputError("question, scenario, grid and session_id must be strings", field="body",
                                         fix='send {"question": "...", "scenario": "..."}.'))
        try:
            return JSONResponse(await run_in_threadpool(state.ask, **values))
        except GridSageError as exc:
            return error(400, exc)
        except Exception as exc:  # a bug, not the user's input: say so on the page, keep the traceback in the log
            logging.getLogger("gridsage.console").exception("answering %r failed", values["question"])
            # the exception's text stays in the log: it may quote a file the page must not see
            return JSONResponse({"error": type(exc).__name__, "field": None,
                                 "message": f"internal error ({type(exc).__name__})",
                                 "fix": "see the console server's log; the session is kept."}, status_code=500)

    middleware = []
    if host in LOOPBACK_NAMES:
        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=["127.0.0.1", "localhost", "::1", "[::1]"]))
    routes = [Route("/", index), Route("/api/scenarios", scenarios), Route("/api/ask", ask, methods=["POST"])]
    return Starlette(routes=routes, middleware=middleware)


def serve(host: str = CONSOLE_HOST, port: int = CONSOLE_PORT, model_spec: str | None = None,
          scenario: str | None = None, announce=print, tools: str | None = None) -> None:
    """Serve the console until interrupted.

    Parameters
    ----------
    host : str, default :data:`CONSOLE_HOST`
    port : int, default :data:`CONSOLE_PORT`
    model_spec : str, optional
        As for :class:`ConsoleState`; default ``$GRIDSAGE_MODEL``.
    scenario : str, optional
        Scenario preselected on the page.
    tools : str, optional
        Tool profile the model sees (see :class:`ConsoleState`).
    announce : callable, default print
        Called with the URL line once the settings are checked.

    Raises
    ------
    GridSageError
        For a bad model spec or an unknown scenario (before anything is served).
    """
    import uvicorn

    app = create_app(ConsoleState(model_spec, scenario, tools), host)
    shown = f"[{host}]" if ":" in host else host
    announce(f"GridSage console on http://{shown}:{port}/ (Ctrl-C to stop)")
    uvicorn.run(app, host=host, port=port, log_level="warning")
