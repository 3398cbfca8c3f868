"""GridSage tools: typed functions that compute every number GridSage reports.

Each tool takes plain typed arguments (validated by pydantic), works on a grid
held in a :class:`~gridsage.tools.workspace.Workspace` under a ``grid_id``, and
returns a pydantic result with a ``status`` and an ``evidence_id``.  Tools know
nothing about MCP, agents or the CLI; those are thin adapters in ``gridsage/``.

Heavy libraries (pandapower, lightsim2grid) are imported inside the functions
that need them, so importing this package stays fast.
"""
