"""The playbook interface: a deterministic study of one kind of scenario, with no LLM.

A playbook says which scenarios it handles, the steps it reports as progress,
and turns a scenario into an :class:`~gridsage.reasoning.assessment.Assessment`
by calling tools, so that every figure in it is evidence in the ledger.
Register a new one with :func:`gridsage.reasoning.playbooks.register`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Callable, ClassVar

from gridsage.reasoning.assessment import Assessment, AssessmentKind
from gridsage.reasoning.scenario import Scenario
from gridsage.tools.workspace import Workspace

#: called with a short message at each step of a playbook (a name of :attr:`Playbook.steps` when it is one)
Progress = Callable[[str], None]


class Playbook(ABC):
    """A study of one kind of scenario.

    Attributes
    ----------
    name : str
        Registered name, e.g. ``'grid_study'``; the Assessment's ``playbook``.
    kind : {'grid', 'telemetry'}
        What the Assessment studies; renderers and plots read it from ``Assessment.kind``.
    steps : tuple of str
        The steps :meth:`assess` reports through ``progress``, in order (for progress bars).
    """

    name: ClassVar[str]
    kind: ClassVar[AssessmentKind]
    steps: ClassVar[tuple[str, ...]]

    @abstractmethod
    def handles(self, scenario: Scenario) -> bool:
        """Whether this playbook studies ``scenario``."""

    @abstractmethod
    def assess(self, scenario: Scenario, base_dir: Path | None = None, *, top: int = 10,
               workspace: Workspace | None = None, progress: Progress | None = None, graph: bool = True) -> Assessment:
        """Study ``scenario`` and return the Assessment.

        Parameters
        ----------
        scenario : Scenario
        base_dir : pathlib.Path, optional
            Folder that the scenario's relative file paths are resolved against.
        top : int, default 10
            N-1 risks to report (grid studies).
        workspace : Workspace, optional
            Workspace to use; default a fresh one (so the evidence is this run's only).
        progress : callable, optional
            Called with a short message at each step.
        graph : bool, default True
            Add topology context from the graph where the playbook uses it; when the
            graph is unavailable the assessment says so and goes on without it.

        Returns
        -------
        Assessment
            With ``kind`` and ``playbook`` set from this playbook.

        Raises
        ------
        ScenarioError
            If the scenario names an element, grid or file that does not exist
            (the field is given as ``scenario.<path>``).
        """
