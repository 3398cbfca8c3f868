"""The deterministic planner: playbooks behind one interface, and the registry that picks one per scenario.

Built in, in the order they are tried:

- ``cyber_triage`` (a ``cyber:`` block): security and OT logs triaged into ATT&CK for ICS detections, with the grid
  impact of the commands they carry and a response plan;
- ``reliability_report`` (a ``reliability:`` block): IEEE 1366 indices of an outage record with and without Major
  Event Days, judged against targets;
- ``cascade`` (a ``cascade:`` block): the cascade an N-k outage sets off (timeline, load lost), the stage-0 action
  that would have held it, the restoration plan;
- ``transformer_overheating`` (a ``transformer:`` block): time to the hot-spot limit, a validated load transfer;
- ``telemetry_triage`` (a ``telemetry:`` block): limit checks and anomalies, each attributed to grid or sensor;
- ``state_estimation`` (an ``estimation:`` block): the grid study on the state estimated from measurements, bad data
  named and removed;
- ``next_day_peak`` (a ``forecast:`` block): the grid study at tomorrow's forecast P50 and P90 peaks;
- ``grid_study`` (any other grid scenario): power flow, events, N-1, a validated action plan.

Adding a playbook is one module with a :class:`Playbook` subclass plus one :func:`register` call.
"""

from __future__ import annotations

from pathlib import Path

from gridsage.errors import ScenarioError
from gridsage.reasoning.assessment import Assessment
from gridsage.reasoning.playbooks.base import Playbook, Progress
from gridsage.reasoning.playbooks.cascade import CascadePlaybook
from gridsage.reasoning.playbooks.cyber_triage import CyberTriage
from gridsage.reasoning.playbooks.grid_study import GridStudy, NextDayPeak
from gridsage.reasoning.playbooks.reliability_report import ReliabilityReport
from gridsage.reasoning.playbooks.state_estimation import StateEstimation
from gridsage.reasoning.playbooks.telemetry_triage import TelemetryTriage
from gridsage.reasoning.playbooks.transformer_overheating import TransformerOverheating
from gridsage.reasoning.scenario import Scenario
from gridsage.tools.workspace import Workspace

__all__ = ["Playbook", "Progress", "assess", "playbook_for", "playbooks", "register", "unregister"]

_registry: list[Playbook] = [CyberTriage(), ReliabilityReport(), CascadePlaybook(), TransformerOverheating(), TelemetryTriage(),
                             StateEstimation(), NextDayPeak(), GridStudy()]


def register(playbook: Playbook) -> Playbook:
    """Add ``playbook``, tried before every playbook registered earlier (a new one is the more specific).

    Raises
    ------
    ValueError
        If a playbook of that name is registered already.
    """
    if any(p.name == playbook.name for p in _registry):
        raise ValueError(f"a playbook named {playbook.name!r} is registered already")
    _registry.insert(0, playbook)
    return playbook


def unregister(name: str) -> None:
    """Remove the playbook registered as ``name`` (no error if there is none)."""
    _registry[:] = [p for p in _registry if p.name != name]


def playbooks() -> list[Playbook]:
    """The registered playbooks, in the order they are tried."""
    return list(_registry)


def playbook_for(scenario: Scenario) -> Playbook:
    """The first registered playbook that handles ``scenario``.

    Raises
    ------
    ScenarioError
        If none does.
    """
    for playbook in _registry:
        if playbook.handles(scenario):
            return playbook
    raise ScenarioError(f"no playbook studies scenario {scenario.name!r}", field="scenario",
                        fix=f"give it a grid:, telemetry:, cyber: or reliability: block (playbooks: {', '.join(p.name for p in _registry)}).")


def assess(scenario: Scenario, base_dir: Path | None = None, top: int = 10, workspace: Workspace | None = None,
           progress: Progress | None = None, graph: bool = True) -> Assessment:
    """Study ``scenario`` with the playbook that handles it (see :meth:`Playbook.assess` for the parameters)."""
    return playbook_for(scenario).assess(scenario, base_dir, top=top, workspace=workspace, progress=progress, graph=graph)
