"""GridSage tools: typed functions that compute every number GridSage reports.

Each tool takes plain typed arguments (validated by pydantic), works on a grid
held in a :class:`~gridsage.tools.workspace.Workspace` under a ``grid_id`` (or
on a file or inline data), and returns a pydantic result with a ``status`` and
an ``evidence_id``.  Tools know nothing about MCP, agents or the CLI; those are
thin adapters in ``gridsage/`` that read :func:`gridsage.tools.toolset.toolset`.

Layout, by what the tools compute:

- here: the ``@tool`` decorator and result base (:mod:`.base`), the evidence ledger
  (:mod:`.evidence`) and its reader (:mod:`.evidence_reader`, the tool ``read_evidence``),
  the compact views adapters send (:mod:`.views`), the workspace (:mod:`.workspace`),
  the toolset (:mod:`.toolset`) and the standards lookup (:mod:`.standards`);
- :mod:`.grid`: grids, events, power flow, N-1, remedial actions, topology queries;
- :mod:`.forecast`: load forecasting with weather;
- :mod:`.telemetry`: ingestion, limit checks, anomaly scoring, simulation;
- :mod:`.equipment`: transformer thermal ageing, dissolved gases, health index.

Each package re-exports its public tools with ``__all__``; ``_``-prefixed
modules are its own helpers.  Heavy libraries (pandapower, lightsim2grid,
scikit-learn) are imported inside the functions that need them, so importing
this package stays fast.
"""
