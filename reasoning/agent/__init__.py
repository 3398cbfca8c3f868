"""The chat agent: a pydantic-ai agent over GridSage's toolset, its models, a local LLM server, history and grounding.

- :mod:`~gridsage.reasoning.agent.session`: :class:`ChatSession` and :func:`ask` (one question, tool calls
  shown live, an evidence-backed answer; the deterministic playbooks answer when no model is configured);
- :mod:`~gridsage.reasoning.agent.models`: model specs (``ollama:``, ``openai-compatible:``, ``local-gguf:``);
- :mod:`~gridsage.reasoning.agent.local_llm`: llama.cpp's OpenAI-compatible server in process, for a GGUF file;
- :mod:`~gridsage.reasoning.agent.history`: saved chat sessions;
- :mod:`~gridsage.reasoning.agent.grounding`: every number of an answer checked against the tool results.

Nothing heavy is imported here: pydantic-ai loads on the first question.
"""

from gridsage.reasoning.agent.grounding import GroundingReport, check_grounding
from gridsage.reasoning.agent.history import ChatHistory
from gridsage.reasoning.agent.models import build_model, parse_model_spec
from gridsage.reasoning.agent.session import MAX_BLOCKED, AgentAnswer, ChatSession, Turn, ask

__all__ = ["AgentAnswer", "ChatHistory", "ChatSession", "GroundingReport", "MAX_BLOCKED", "Turn", "ask", "build_model",
           "check_grounding", "parse_model_spec"]
