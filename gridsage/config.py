"""GridSage settings: names and defaults shared by the entry points.

Only constants live here, so that importing this module is free.  Secrets are
never stored in code or files: the MCP bearer token is read from the
environment variable named by :data:`TOKEN_ENV`.
"""

from __future__ import annotations

#: Environment variable holding the bearer token for the MCP HTTP transport.
#: When it is set, HTTP requests without ``Authorization: Bearer <token>`` get 401.
TOKEN_ENV = "GRIDSAGE_MCP_TOKEN"

#: Name the MCP server reports to clients.
MCP_SERVER_NAME = "gridsage"

#: Interface the MCP HTTP transport binds to by default (loopback only).
MCP_HTTP_HOST = "127.0.0.1"

#: TCP port of the MCP HTTP transport by default.
MCP_HTTP_PORT = 8765

#: URL path of the streamable HTTP endpoint.
MCP_HTTP_PATH = "/mcp"

#: Hosts the HTTP transport may bind to without a bearer token.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")

#: Session workspaces the MCP HTTP transport holds at once (each with up to 32 grids and its evidence ledger); the
#: SDK refuses a session beyond it (HTTP 503) and the oldest idle workspace is evicted if one outlives its session.
#: 128 so that the 100-client load benchmark (benchmarks/mcp_load.py) fits.
MCP_MAX_SESSIONS = 128

#: An MCP HTTP session (and its workspace) unused for this long [s] is closed and dropped.
MCP_SESSION_IDLE_S = 30 * 60

#: Longest string argument a tool takes unless its schema says less [characters] (paths, names, timestamps).
MCP_MAX_STRING_CHARS = 4096

#: Longest id argument (``grid_id``, ``new_grid_id``, ``evidence_id``, ``entry_id``) [characters].
MCP_MAX_ID_CHARS = 128

#: Longest string anywhere in a tool's arguments, whatever its schema [characters]; object keys are shorter still.
MCP_MAX_TEXT_CHARS = 65_536
MCP_MAX_KEY_CHARS = 256

#: Deepest nesting of arrays and objects in a tool's arguments.
MCP_MAX_DEPTH = 32

#: Largest magnitude of any number in a tool's arguments (2**53: integers beyond it lose precision as JSON numbers).
MCP_MAX_NUMBER = 2**53

#: Worker threads for quick tools (list_grids, grid_summary, ...); solves get one thread per usable CPU.
MCP_QUICK_WORKERS = 4

#: Python's thread switch interval while serving HTTP [s] (default 0.005): a busy worker thread hands the GIL back
#: to the event loop sooner, so requests keep flowing while tools compute.
MCP_SWITCH_INTERVAL_S = 0.001

#: Longest error text a tool call returns [characters]; a longer one is cut in the middle, keeping its fix.
MCP_MAX_ERROR_CHARS = 1000
