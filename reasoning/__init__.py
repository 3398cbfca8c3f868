"""GridSage reasoning: scenarios in, a typed, evidence-linked Assessment out.

- :mod:`.playbooks`: the deterministic planner, one :class:`~gridsage.reasoning.playbooks.Playbook` per kind of study;
- :mod:`.agent`: the chat agent (pydantic-ai) over the same tools;
- :mod:`.scenario`, :mod:`.study`, :mod:`.assessment`, :mod:`.render`: the scenario format, its study grid or
  readings, the Assessment and its text, markdown and JSON renderings.
"""
