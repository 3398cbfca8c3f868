"""The ``gridsage`` command line: a thin adapter over the toolset and the playbooks.

Every command calls the same tool functions the MCP server and the agent use.
Reports go to stdout; progress and errors go to stderr.  One module per
command group; :mod:`gridsage.cli._shared` holds the root app and what they share.
"""

from __future__ import annotations

from gridsage.cli._shared import app

# importing a command module registers its commands on app, in this order (the order of `gridsage --help`)
from gridsage.cli import grid, study, cascade, estimate, reliability, losses, serve  # noqa: E402,F401,I001
from gridsage.cli import graph, knowledge, forecast, health, telemetry, cyber, causal  # noqa: E402,I001

#: the modules whose commands sit on app itself (imported for that)
COMMAND_MODULES = (grid, study, cascade, estimate, reliability, losses, serve)
app.add_typer(graph.graph_app)
app.add_typer(knowledge.knowledge_app)
app.add_typer(forecast.forecast_app)
app.add_typer(health.health_app)
app.add_typer(telemetry.telemetry_app)
app.add_typer(cyber.cyber_app)
app.add_typer(causal.causal_app)

__all__ = ["app", "main"]


def main() -> None:  # pragma: no cover - console entry point
    app()
