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
